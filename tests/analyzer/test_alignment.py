"""Forced alignment of a known script (the request's ``transcript``) against espeak-ng's own
word timings, over the real HTTP protocol."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.analyzer.espeak_words import word_times
from tests.analyzer.harness import Parties, analyzer_config, dispatch, job_payload, start_analyzer
from tests.media import TurnTruth, make_speech_video

SCRIPT = [
    ("en-us", "Please read the numbers on the second page before the meeting starts.", 0.0),
    ("en-us+f3", "I already checked them twice, and everything looks correct to me.", -3.0),
    ("en-us", "Good, then we can send the report to the director this afternoon.", 0.0),
]


def _expected(turns: Sequence[TurnTruth]) -> dict[int, float]:
    """espeak's start time by the word's index in the whole script."""
    expected: dict[int, float] = {}
    offset = 0
    for turn in turns:
        for word in word_times(turn):
            expected[offset + word.index] = word.start
        offset += len(turn.text.split())
    return expected


async def test_word_starts_within_150_ms_of_espeak(parties: Parties, tmp_path: Path) -> None:
    truth = make_speech_video(parties.media.folder / "script.mp4", SCRIPT)
    expected = _expected(truth.turns)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    text = " ".join(turn.text for turn in truth.turns)
    payload = job_payload(
        parties.media.url("script.mp4"), parties.receiver.base_url, transcript=text, language="en"
    )
    status, _, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=90)
    result = arrival.body["result"]
    assert result["metadata"]["mode"] == "alignment"
    words = [w for segment in result["segments"] for w in segment["words"]]
    assert [w["word"] for w in words] == text.split()
    errors = {index: abs(words[index]["start"] - start) for index, start in expected.items()}
    assert len(errors) >= len(words) * 0.8
    assert max(errors.values()) <= 0.15, sorted(errors.items(), key=lambda e: -e[1])[:5]
    assert result["metadata"]["unique_speakers"] == 2
    assert all(w["pitch_hz"] is None or 60 <= w["pitch_hz"] <= 420 for w in words)


async def test_words_missing_from_the_dictionary_keep_their_place(
    parties: Parties, tmp_path: Path
) -> None:
    script = [("en-us", "The zorblax device measures twelve volts at noon.", 0.0)]
    truth = make_speech_video(parties.media.folder / "odd.mp4", script)
    expected = _expected(truth.turns)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    payload = job_payload(
        parties.media.url("odd.mp4"), parties.receiver.base_url, transcript=script[0][1]
    )
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    result = arrival.body["result"]
    words = [w for segment in result["segments"] for w in segment["words"]]
    assert [w["word"] for w in words] == script[0][1].split()
    assert any("zorblax" in note for note in result["metadata"]["notes"])
    starts = [w["start"] for w in words]
    assert starts == sorted(starts)
    for index, start in expected.items():
        if words[index]["word"] != "zorblax":
            assert abs(words[index]["start"] - start) <= 0.15, (words[index], start)
