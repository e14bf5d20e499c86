"""Whisper tiny.en, the default recogniser, really loaded and run over the HTTP protocol on a
generated two-voice video: the words against the script (word error rate), punctuation and
casing, measured confidences, and word times against espeak-ng's own."""

from __future__ import annotations

import asyncio
import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ecg_desktop.analyzer.asr import BackendPaths
from ecg_desktop.analyzer.pipeline import AnalysisOptions, analyse_file
from tests.analyzer.espeak_words import WordTime, word_times
from tests.analyzer.harness import (
    CallbackReceiver,
    MediaServer,
    Parties,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.analyzer.sounds import tones, write_audio
from tests.analyzer.test_two_speakers import TURNS
from tests.analyzer.wer import normalized, word_error_rate
from tests.media import SpeechTruth, make_silent_video, make_speech_video

ONSET_S = 0.02


@dataclass
class Run:
    truth: SpeechTruth
    result: dict[str, Any]
    health: dict[str, Any]

    @property
    def words(self) -> list[dict[str, Any]]:
        return [w for segment in self.result["segments"] for w in segment["words"]]


async def _scenario(folder: Path) -> Run:
    truth = make_speech_video(folder / "media" / "talk.mp4", TURNS)
    media = MediaServer(folder / "media")
    receiver = CallbackReceiver()
    await media.start()
    await receiver.start()
    parties = Parties(media, receiver, aiohttp.ClientSession())
    try:
        analyzer = await start_analyzer(analyzer_config(folder / "analyzer"))
        parties.analyzers.append(analyzer)
        async with parties.session.get(analyzer.url + "/health") as response:
            health = await response.json()
        payload = job_payload(media.url("talk.mp4"), receiver.base_url)
        status, _, _ = await dispatch(parties.session, analyzer.url, payload)
        assert status == 202
        terminal = await receiver.wait_terminal(payload["job_id"])
        assert terminal.body["status"] == "completed", terminal.body
        return Run(truth, terminal.body["result"], health)
    finally:
        await parties.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("whisper")
    (folder / "media").mkdir()
    yield asyncio.run(_scenario(folder))


def test_word_error_rate_against_the_script_is_at_most_a_tenth(run: Run) -> None:
    reference = normalized(" ".join(turn.text for turn in run.truth.turns))
    hypothesis = normalized(" ".join(w["word"] for w in run.words))
    assert word_error_rate(reference, hypothesis) <= 0.10, hypothesis
    assert word_error_rate(reference, reference[5:]) > 0.05  # the measure can fail


def test_whisper_tiny_en_ran_and_says_so(run: Run) -> None:
    meta = run.result["metadata"]
    assert meta["backend"] == "faster-whisper"
    assert meta["model"] == "tiny.en"
    assert "faster-whisper tiny.en" in meta["model_version"]
    assert (meta["device"], meta["compute_type"]) == ("cpu", "int8")
    assert meta["word_times"] == "aligned by pocketsphinx"
    assert meta["language_detected"] == "en"
    assert any("only English Whisper models" in note for note in meta["notes"])
    assert (run.health["backend"], run.health["model"]) == ("faster-whisper", "tiny.en")
    assert "pocketsphinx" in run.health["backends"]


def test_punctuation_and_casing_are_kept(run: Run) -> None:
    texts = [segment["text"] for segment in run.result["segments"]]
    assert all(text[0].isupper() for text in texts), texts
    assert all(text.rstrip()[-1] in ".?!" for text in texts), texts
    words = [w["word"] for w in run.words]
    assert any(w.endswith(",") for w in words)
    assert "I" in words


def test_confidences_are_whispers_word_probabilities(run: Run) -> None:
    confidences = [w["confidence"] for w in run.words]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert len(set(confidences)) > len(confidences) / 2
    assert min(confidences) < 0.9 < max(confidences)


def _matched(run: Run) -> list[tuple[dict[str, Any], WordTime, float]]:
    """(result word, espeak's word, start of the espeak word's turn) for the words Whisper
    got right, matched in order."""
    spoken = [(w, turn.start) for turn in run.truth.turns for w in word_times(turn)]
    words = run.words
    matcher = difflib.SequenceMatcher(
        a=[" ".join(normalized(w["word"])) for w in words],
        b=[" ".join(normalized(w.word)) for w, _ in spoken],
        autojunk=False,
    )
    return [
        (words[block.a + k], *spoken[block.b + k])
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]


def test_word_starts_within_150_ms_of_espeak_never_before_the_speech_nor_overlapping(
    run: Run,
) -> None:
    matched = _matched(run)
    assert len(matched) >= 0.9 * sum(len(turn.text.split()) for turn in run.truth.turns)
    errors = sorted(((abs(w["start"] - e.start), w["word"]) for w, e, _ in matched), reverse=True)
    assert errors[0][0] <= 0.15, errors[:5]
    # The speech detector works in 10 ms frames: a start up to two frames early is the onset.
    early = [(w["word"], w["start"], t) for w, _, t in matched if w["start"] < t - ONSET_S]
    assert not early
    pairs = itertools.pairwise(run.words)
    assert not [(a["word"], b["word"]) for a, b in pairs if a["end"] > b["start"]]


def _analyse(path: Path, **options: Any) -> dict[str, Any]:
    return analyse_file(path, AnalysisOptions(**options), lambda percent, message: None)


def test_silence_and_music_give_no_invented_words(tmp_path: Path) -> None:
    silent = _analyse(make_silent_video(tmp_path / "silent.mp4", 4.0))
    music = _analyse(write_audio(tmp_path / "music.wav", tones(8.0), 16_000))
    for result in (silent, music):
        assert result["segments"] == []
        assert result["metadata"]["backend"] == "faster-whisper"


def test_auto_detects_the_language_with_a_multilingual_model(
    multilingual_models_dir: Path, tmp_path: Path
) -> None:
    text = "Guten Morgen, wie geht es Ihnen heute? Das Wetter ist sehr schön."
    truth = make_speech_video(tmp_path / "de.mp4", [("de", text, 0.0)])
    paths = BackendPaths(models_dir=str(multilingual_models_dir))
    result = _analyse(truth.path, paths=paths)
    meta = result["metadata"]
    assert (meta["language_detected"], meta["model"]) == ("de", "base")
    assert meta["language_probability"] > 0.5
    assert meta["word_times"] == "whisper"  # the English aligner cannot follow German
    words = [w for segment in result["segments"] for w in segment["words"]]
    assert "Morgen," in [w["word"] for w in words]
    turn = truth.turns[0]
    assert all(turn.start - ONSET_S <= w["start"] <= w["end"] <= turn.end + 0.1 for w in words)
