"""Which speech backend a request's language picks (the policy, not the models: no Whisper or
Korean model can be present on the build machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecg_desktop.analyzer import asr
from ecg_desktop.analyzer.asr import BackendPaths, choose_backend
from ecg_desktop.analyzer.errors import AnalysisError
from ecg_desktop.domain import ErrorCode


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    modules: set[str] = set()
    monkeypatch.setattr(asr, "_installed", lambda name: name in modules)
    return modules


def test_only_pocketsphinx_reports_english_honestly(installed: set[str]) -> None:
    choice = choose_backend("auto", BackendPaths())
    assert (choice.name, choice.language) == ("pocketsphinx", "en")
    assert "only the English model" in choice.notes[0]
    assert choose_backend("en", BackendPaths()).notes == ()
    assert asr.available_backends(BackendPaths()) == ["pocketsphinx"]


def test_whisper_needs_the_package_and_a_model_on_disk(installed: set[str], tmp_path: Path) -> None:
    model = tmp_path / "whisper-small"
    assert choose_backend("auto", BackendPaths(whisper_model=str(model))).name == "pocketsphinx"
    model.mkdir()
    assert choose_backend("auto", BackendPaths(whisper_model=str(model))).name == "pocketsphinx"
    installed.add("faster_whisper")
    paths = BackendPaths(whisper_model=str(model))
    auto = choose_backend("auto", paths)
    assert (auto.name, auto.language) == ("faster-whisper", None)  # it detects the language
    assert choose_backend("ja", paths).language == "ja"
    assert asr.available_backends(paths)[0] == "faster-whisper"


def test_korean_uses_vosk_when_installed(installed: set[str], tmp_path: Path) -> None:
    with pytest.raises(AnalysisError) as missing:
        choose_backend("ko", BackendPaths())
    assert missing.value.code is ErrorCode.TRANSCRIPTION_ERROR
    installed.add("vosk")
    (tmp_path / "ko" / "am").mkdir(parents=True)
    choice = choose_backend("ko", BackendPaths(vosk_model=str(tmp_path / "ko")))
    assert (choice.name, choice.language) == ("vosk", "ko")


def test_a_transcript_in_english_is_aligned_by_pocketsphinx(
    installed: set[str], tmp_path: Path
) -> None:
    installed.add("faster_whisper")
    (tmp_path / "m").mkdir()
    paths = BackendPaths(whisper_model=str(tmp_path / "m"))
    assert choose_backend("auto", paths, aligning=True).name == "pocketsphinx"
    assert choose_backend("en", paths, aligning=True).name == "pocketsphinx"


def test_guessed_pronunciations_use_the_dictionary_phone_set() -> None:
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    phones = asr.guess_phones("zorblax")
    assert phones == "Z AA R B L AE K S"
    decoder.add_word("zorblax", phones, True)
    assert decoder.lookup_word("zorblax") == phones
