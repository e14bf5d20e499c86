"""Which recogniser and model a job gets, from what is really installed: the bundled tiny.en,
the multilingual Whisper base of the test extra in a models folder, a damaged model copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecg_desktop.analyzer import asr, whisper_models
from ecg_desktop.analyzer.asr import BackendPaths, WhisperRuntime, choose_backend, language_problem
from ecg_desktop.analyzer.config import AnalyzerConfig, AnalyzerConfigError
from ecg_desktop.analyzer.errors import AnalysisError
from ecg_desktop.analyzer.pipeline import AnalysisOptions, analyse_file
from ecg_desktop.domain import ErrorCode
from tests.analyzer.harness import Parties, analyzer_config, dispatch, job_payload, start_analyzer
from tests.media import make_speech_video


@pytest.fixture
def english_only(tmp_path: Path) -> BackendPaths:
    """Nothing downloaded: only the bundled tiny.en."""
    return BackendPaths(models_dir=str(tmp_path / "models"))


def test_tiny_en_is_the_default_and_auto_says_it_heard_english(english_only: BackendPaths) -> None:
    auto = choose_backend("auto", english_only)
    assert (auto.name, auto.language) == ("faster-whisper", "en")
    assert auto.model is not None and auto.model.name == "tiny.en"
    assert not auto.model.multilingual
    assert "only English Whisper models are installed" in auto.notes[0]
    english = choose_backend("en", english_only)
    assert (english.name, english.notes) == ("faster-whisper", ())
    assert asr.available_backends(english_only)[:2] == ["faster-whisper", "pocketsphinx"]
    assert asr.default_model_label(english_only) == "tiny.en"


def test_a_language_no_installed_model_covers_fails_before_any_work(
    english_only: BackendPaths,
) -> None:
    with pytest.raises(AnalysisError) as missing:
        choose_backend("de", english_only)
    assert missing.value.code is ErrorCode.TRANSCRIPTION_ERROR
    assert "ecg-desktop models download base" in missing.value.message
    assert language_problem("de", english_only) == missing.value.message
    assert language_problem("en", english_only) is None
    assert language_problem("auto", english_only) is None
    with pytest.raises(AnalysisError, match="does not recognise the language 'xx'"):
        choose_backend("xx", english_only)


def test_a_model_the_request_names_must_be_installed(english_only: BackendPaths) -> None:
    with pytest.raises(AnalysisError, match=r"ecg-desktop models download small\.en"):
        choose_backend("en", english_only, model="small.en")
    with pytest.raises(AnalysisError, match="unknown Whisper model 'huge'"):
        choose_backend("en", english_only, model="huge")


def test_a_multilingual_model_detects_and_recognises_other_languages(
    multilingual_models_dir: Path,
) -> None:
    paths = BackendPaths(models_dir=str(multilingual_models_dir))
    auto = choose_backend("auto", paths)
    assert auto.language is None  # Whisper detects it
    assert auto.model is not None and auto.model.name == "base" and auto.model.multilingual
    assert "the multilingual base model was used" in auto.notes[0]
    korean = choose_backend("ko", paths)
    assert (korean.name, korean.language, korean.model) == ("faster-whisper", "ko", auto.model)
    assert choose_backend("en", paths).model.name == "tiny.en"  # type: ignore[union-attr]
    based = choose_backend("auto", BackendPaths(whisper_name="base", models_dir=paths.models_dir))
    assert based.notes == ()
    assert language_problem("de", paths) is None


def test_korean_without_a_multilingual_model_uses_vosk(
    english_only: BackendPaths, tmp_path: Path
) -> None:
    if not asr.vosk.installed("vosk"):
        pytest.skip("the 'korean' extra (vosk) is not installed")
    (tmp_path / "ko" / "am").mkdir(parents=True)
    paths = BackendPaths(vosk_model=str(tmp_path / "ko"), models_dir=english_only.models_dir)
    choice = choose_backend("ko", paths)
    assert (choice.name, choice.language) == ("vosk", "ko")


def test_pocketsphinx_is_a_backend_to_pick_and_the_aligner(english_only: BackendPaths) -> None:
    picked = BackendPaths(backend="pocketsphinx", models_dir=english_only.models_dir)
    auto = choose_backend("auto", picked)
    assert (auto.name, auto.language) == ("pocketsphinx", "en")
    assert "English only" in auto.notes[0]
    assert asr.available_backends(picked)[:2] == ["pocketsphinx", "faster-whisper"]
    assert choose_backend("en", picked, model="tiny.en").name == "faster-whisper"
    for language in ("auto", "en"):
        assert choose_backend(language, english_only, aligning=True).name == "pocketsphinx"


def test_a_model_folder_given_by_path(multilingual_models_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="no Whisper model"):
        choose_backend("en", BackendPaths(whisper_model=str(tmp_path)))
    folder = BackendPaths(whisper_model=str(multilingual_models_dir / "base"))
    auto = choose_backend("auto", folder)
    assert auto.language is None and auto.model is not None and auto.model.multilingual


def test_a_damaged_bundled_model_fails_the_job_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = whisper_models.bundled_model_path()
    assert original is not None
    copy = Path(shutil.copytree(original, tmp_path / "model"))
    with (copy / "model.bin").open("r+b") as model:
        model.seek(4096)
        model.write(b"\xff" * 64)
    monkeypatch.setattr(whisper_models, "bundled_model_path", lambda: copy)
    video = make_speech_video(tmp_path / "v.mp4", [("en-us", "Hello there.", 0.0)]).path
    with pytest.raises(AnalysisError) as failed:
        analyse_file(video, AnalysisOptions(), lambda percent, message: None)
    assert failed.value.code is ErrorCode.TRANSCRIPTION_ERROR
    assert "damaged" in failed.value.message
    assert whisper_models.BUNDLED_SHA256 in failed.value.message


def test_speech_settings_from_the_environment() -> None:
    config = AnalyzerConfig.from_env(
        {
            "ECG_ANALYZER_BACKEND": "pocketsphinx",
            "ECG_ANALYZER_WHISPER_MODEL": "base",
            "ECG_ANALYZER_DEVICE": "cpu",
            "ECG_ANALYZER_THREADS": "3",
        }
    )
    assert config.backend_paths.backend == "pocketsphinx"
    assert config.backend_paths.whisper_name == "base"
    assert config.whisper_runtime.resolved() == ("cpu", "int8", 3)
    assert WhisperRuntime(device="cuda").resolved()[:2] == ("cuda", "float16")
    assert WhisperRuntime(device="cuda", compute_type="int8_float16").resolved()[1] == (
        "int8_float16"
    )
    expected = "cuda" if asr.whisper.cuda_device_count() else "cpu"
    assert WhisperRuntime().resolved()[0] == expected
    for variable, value in (
        ("ECG_ANALYZER_BACKEND", "whisperx"),
        ("ECG_ANALYZER_WHISPER_MODEL", "huge"),
        ("ECG_ANALYZER_DEVICE", "tpu"),
        ("ECG_ANALYZER_THREADS", "-1"),
    ):
        with pytest.raises(AnalyzerConfigError, match=variable):
            AnalyzerConfig.from_env({variable: value})


def test_guessed_pronunciations_use_the_dictionary_phone_set() -> None:
    from pocketsphinx import Decoder

    decoder = Decoder(loglevel="FATAL")
    phones = asr.guess_phones("zorblax")
    assert phones == "Z AA R B L AE K S"
    decoder.add_word("zorblax", phones, True)
    assert decoder.lookup_word("zorblax") == phones


def test_pocketsphinx_picked_by_the_user_really_recognises(
    english_only: BackendPaths, tmp_path: Path
) -> None:
    video = make_speech_video(tmp_path / "v.mp4", [("en-us", "Please read the numbers.", 0.0)])
    picked = BackendPaths(backend="pocketsphinx", models_dir=english_only.models_dir)
    result = analyse_file(video.path, AnalysisOptions(paths=picked), lambda p, m: None)
    meta = result["metadata"]
    assert (meta["backend"], meta["model"], meta["language_detected"]) == (
        "pocketsphinx",
        "en-us",
        "en",
    )
    assert "pocketsphinx" in meta["model_version"] and "word_times" not in meta
    assert [w for s in result["segments"] for w in s["words"]]


async def test_the_request_may_name_the_model_and_a_missing_one_fails_the_job(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "v.mp4", [("en-us", "Hello there.", 0.0)])
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    url, callbacks = parties.media.url("v.mp4"), parties.receiver.base_url
    status, body, _ = await dispatch(
        parties.session, analyzer.url, job_payload(url, callbacks, model=7)
    )
    assert status == 422 and body["detail"][0]["loc"] == ["model"]
    missing = job_payload(url, callbacks, model="small.en")
    assert (await dispatch(parties.session, analyzer.url, missing))[0] == 202
    failed = await parties.receiver.wait_terminal(missing["job_id"], within_s=60)
    assert failed.body["error_code"] == ErrorCode.TRANSCRIPTION_ERROR
    assert "ecg-desktop models download small.en" in failed.body["error_message"]
    named = job_payload(url, callbacks, model="tiny.en", language="en")
    await dispatch(parties.session, analyzer.url, named)
    done = await parties.receiver.wait_terminal(named["job_id"], within_s=60)
    assert done.body["result"]["metadata"]["model"] == "tiny.en"
