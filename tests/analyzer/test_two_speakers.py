"""End to end over loopback HTTP: a generated two-voice video through the analyzer, the
result checked against what the test wrote (turns, pitch, loudness), and the protocol
checked on the receiving side (signatures, progress, one terminal callback, /health)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

import aiohttp
import pytest

from ecg_desktop.domain import normalize
from ecg_desktop.domain.signatures import Verdict, verify
from tests.analyzer.harness import (
    SECRET,
    Arrival,
    CallbackReceiver,
    MediaServer,
    Parties,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.media import SpeechTruth, make_speech_video

QUIET, LOUD = -10.0, 0.0
TURNS = [
    (
        "en-us",
        "The quick brown fox jumps over the lazy dog. We should all go and see a musical.",
        QUIET,
    ),
    ("en-us+f3", "I would rather stay home and read a good book by the fire tonight.", QUIET),
    ("en-us", "That sounds boring to me, but I understand why you like it so much.", LOUD),
    ("en-us+f3", "Maybe next week we can do something together in the city.", QUIET),
]


@dataclass
class Run:
    truth: SpeechTruth
    result: dict[str, Any]
    arrivals: list[Arrival]
    health_while_running: list[tuple[float, dict[str, Any]]]  # (seconds to answer, body)
    accepted: dict[str, Any]


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
        payload = job_payload(media.url("talk.mp4"), receiver.base_url)
        status, accepted, _ = await dispatch(parties.session, analyzer.url, payload)
        assert status == 202, accepted
        health: list[tuple[float, dict[str, Any]]] = []
        waiting = asyncio.create_task(receiver.wait_terminal(payload["job_id"]))
        while not waiting.done():
            started = time.perf_counter()
            async with parties.session.get(analyzer.url + "/health") as response:
                body = await response.json()
            if body["active_jobs"]:
                health.append((time.perf_counter() - started, body))
            await asyncio.sleep(0.2)
        terminal = await waiting
        return Run(truth, terminal.body["result"], receiver.of(payload["job_id"]), health, accepted)
    finally:
        await parties.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("two-speakers")
    (folder / "media").mkdir()
    yield asyncio.run(_scenario(folder))


def _speaker_runs(result: dict[str, Any]) -> list[tuple[str, float, float]]:
    """Consecutive segments of one speaker merged: the speaker turns as the result sees them."""
    runs: list[tuple[str, float, float]] = []
    for segment in result["segments"]:
        speaker = segment["speaker"]["speaker_id"]
        if runs and runs[-1][0] == speaker:
            runs[-1] = (speaker, runs[-1][1], segment["end"])
        else:
            runs.append((speaker, segment["start"], segment["end"]))
    return runs


def _mapping(run: Run) -> dict[str, str]:
    """Truth speaker -> result speaker, from the first word of each truth turn."""
    mapping: dict[str, str] = {}
    for turn in run.truth.turns:
        for segment in run.result["segments"]:
            if segment["start"] <= turn.start + 0.5 and segment["end"] >= turn.start:
                mapping.setdefault(turn.speaker, segment["speaker"]["speaker_id"])
                break
    return mapping


def test_finds_two_speakers_with_turns_within_half_a_second(run: Run) -> None:
    assert run.result["metadata"]["unique_speakers"] == 2
    assert set(run.result["speakers"]) == {"SPEAKER_00", "SPEAKER_01"}
    runs = _speaker_runs(run.result)
    assert len(runs) == len(run.truth.turns), runs
    mapping = _mapping(run)
    assert sorted(mapping.values()) == ["SPEAKER_00", "SPEAKER_01"]
    for (speaker, start, end), turn in zip(runs, run.truth.turns, strict=True):
        assert speaker == mapping[turn.speaker]
        assert abs(start - turn.start) <= 0.5, (start, turn)
        assert abs(end - turn.end) <= 0.5, (end, turn)


def test_female_voice_measures_higher_pitch_than_male(run: Run) -> None:
    mapping = _mapping(run)
    male = run.result["speakers"][mapping["SPEAKER_00"]]
    female = run.result["speakers"][mapping["SPEAKER_01"]]
    assert 70 <= male["mean_pitch_hz"] <= 160
    assert 150 <= female["mean_pitch_hz"] <= 320
    assert female["mean_pitch_hz"] > male["mean_pitch_hz"] + 40
    low, high = male["pitch_range_hz"]
    assert low <= male["mean_pitch_hz"] <= high
    assert male["speaking_time"] > 0 and female["speaking_time"] > 0


def test_louder_sentence_measures_at_least_6_db_up(run: Run) -> None:
    def mean_volume(turn_index: int) -> float:
        turn = run.truth.turns[turn_index]
        volumes = [
            word["volume_db"]
            for segment in run.result["segments"]
            for word in segment["words"]
            if turn.start <= (word["start"] + word["end"]) / 2 <= turn.end
        ]
        assert volumes, f"no words in turn {turn_index}"
        return fmean(volumes)

    assert mean_volume(2) - mean_volume(0) >= 6.0


def test_every_word_lies_in_its_segment_and_in_speech(run: Run) -> None:
    words = 0
    for segment in run.result["segments"]:
        assert segment["start"] <= segment["end"]
        for word in segment["words"]:
            words += 1
            assert segment["start"] <= word["start"] <= word["end"] <= segment["end"]
            inside = [
                t
                for t in run.truth.turns
                if t.start - 0.1 <= word["start"] and word["end"] <= t.end + 0.1
            ]
            assert inside, f"{word} is not inside speech"
    assert words >= 20


def test_word_features_are_measured_not_constants(run: Run) -> None:
    words = [w for s in run.result["segments"] for w in s["words"]]
    assert all(-100 <= w["volume_db"] <= 0 for w in words)
    assert all(w["spectral_centroid"] and w["spectral_centroid"] > 0 for w in words)
    assert sum(w["pitch_hz"] is not None for w in words) >= len(words) * 0.8
    assert len({w["volume_db"] for w in words}) > len(words) / 2
    assert run.result["metadata"]["features_measured"] is True
    transcript = normalize(run.result)
    assert transcript.features_measured
    assert len(transcript.segments) == len(run.result["segments"])


def test_metadata_reports_language_and_model_honestly(run: Run) -> None:
    meta = run.result["metadata"]
    assert meta["language_requested"] == "auto"
    assert meta["language_detected"] == "en"
    assert "faster-whisper tiny.en" in meta["model_version"]
    assert any("English" in note for note in meta["notes"])
    assert meta["filename"] == "talk.mp4"
    assert abs(meta["duration"] - run.truth.duration) < 0.1
    assert meta["processing_time"] > 0


def test_callbacks_are_signed_rising_throttled_and_end_once(run: Run) -> None:
    assert all(a.verdict is Verdict.VALID for a in run.arrivals)
    for arrival in run.arrivals:  # each scheme on its own verifies too
        compat_only = {"X-Signature-256": arrival.headers["X-Signature-256"]}
        webhook_only = {k: v for k, v in arrival.headers.items() if k.startswith("webhook-")}
        for headers in (compat_only, webhook_only):
            assert verify([SECRET], arrival.raw, headers, now=time.time())[0] is Verdict.VALID
    terminal = [a for a in run.arrivals if a.body["status"] != "processing"]
    assert [a.body["status"] for a in terminal] == ["completed"]
    assert run.arrivals[-1] is terminal[0]
    progress = [a for a in run.arrivals if a.body["status"] == "processing"]
    values = [a.body["progress"] for a in progress]
    assert values == sorted(values)
    recognising = [
        v
        for a, v in zip(progress, values, strict=True)
        if a.body["message"] == "Recognising speech"
    ]
    # It moves while the audio is consumed (Whisper takes about 2 s here: a value or two
    # between the stage's bounds, 15 and 80, at one callback a second).
    assert any(15.0 < value < 80.0 for value in recognising), recognising
    for a, b in itertools.pairwise(progress):  # each callback says something new
        assert (a.body["progress"], a.body["message"]) != (b.body["progress"], b.body["message"])
    gaps = [b.at - a.at for a, b in itertools.pairwise(progress)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    messages = {a.body["message"] for a in progress}
    assert "Recognising speech" in messages
    assert "Downloading the video" in messages
    for arrival in run.arrivals:
        assert set(arrival.body) == {
            "job_id",
            "status",
            "progress",
            "message",
            "result",
            "error_code",
            "error_message",
        }


def test_health_answers_quickly_while_a_job_runs(run: Run) -> None:
    assert run.accepted["status"] == "accepted"
    assert run.accepted["status_url"].endswith(run.accepted["job_id"])
    assert len(run.health_while_running) >= 3
    assert max(seconds for seconds, _ in run.health_while_running) < 0.5
    assert all(body["status"] == "healthy" for _, body in run.health_while_running)
    assert all(body["backend"] == "faster-whisper" for _, body in run.health_while_running)


async def test_speaker_bounds_from_the_request_are_honoured(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "pair.mp4", TURNS[:2])
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.url("pair.mp4"), parties.receiver.base_url, max_speakers=1)
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    assert arrival.body["result"]["metadata"]["unique_speakers"] == 1
