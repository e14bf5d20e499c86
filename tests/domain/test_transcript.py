"""``normalize()``: every result variant of PROTOCOL.md 3.2 into one canonical transcript."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecg_desktop.domain import InvalidResult, Transcript, normalize, to_canonical
from ecg_desktop.domain.transcript import DEFAULT_SPEAKER, word_starts

CANONICAL: dict[str, Any] = {
    "metadata": {"filename": "video.mp4", "duration": 143.39, "language_detected": "en"},
    "speakers": {"SPEAKER_01": {"total_duration": 3.8, "segment_count": 1}},
    "segments": [{
        "start": 4.908, "end": 8.754, "speaker": {"speaker_id": "SPEAKER_01"},
        "text": "You know, we should all do.",
        "words": [
            {"word": "You", "start": 4.908, "end": 4.988, "volume_db": -19.87,
             "pitch_hz": 851.09, "spectral_centroid": 1502.1, "confidence": 0.93},
            {"word": "know,", "start": 5.0, "end": 5.3, "volume_db": -21.0, "pitch_hz": None,
             "spectral_centroid": 1400.0, "confidence": 0.88},
        ],
    }],
}

# The original WhisperX server: start_time/end_time, features nested in acoustic_features
# with the same made-up constants on every word, silence fillers, a plain-string speaker,
# top-level text/language/duration and word_segments, no metadata.
ORIGINAL_SERVER: dict[str, Any] = {
    "text": "Hello there. Fine thanks.",
    "language": "en",
    "duration": 12.5,
    "segments": [
        {
            "start_time": 0.5, "end_time": 2.0, "speaker": "SPEAKER_00",
            "text": "Hello [SILENCE] there.",
            "words": [
                {"word": "Hello", "start_time": 0.5, "end_time": 0.9, "score": 0.8,
                 "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                       "spectral_centroid": 1500.0}},
                {"word": " ", "start_time": 0.9, "end_time": 1.2,
                 "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                       "spectral_centroid": 1500.0}},
                {"word": "there.", "start_time": 1.2, "end_time": 2.0, "score": 0.7,
                 "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                       "spectral_centroid": 1500.0}},
            ],
        },
        {
            "start_time": 2.5, "end_time": 4.0, "speaker": "SPEAKER_01",
            "text": "Fine thanks.",
            "words": [
                {"word": "Fine", "start_time": 2.5, "end_time": 3.0, "score": 0.9,
                 "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                       "spectral_centroid": 1500.0}},
                {"word": "thanks.", "start_time": 3.1, "end_time": 4.0, "score": 0.9,
                 "acoustic_features": {"volume_db": -20.0, "pitch_hz": 150.0,
                                       "spectral_centroid": 1500.0}},
            ],
        },
        {"start_time": 4.0, "end_time": 6.0, "speaker": "SPEAKER_00", "text": "[SILENCE]",
         "words": []},
    ],
    "word_segments": [
        {"word": "Hello", "start": 0.5, "end": 0.9, "speaker_id": "SPEAKER_00", "confidence": 0.8},
    ],
}


def test_the_canonical_form_is_read_as_is() -> None:
    transcript = normalize(CANONICAL)
    (segment,) = transcript.segments
    assert (segment.start, segment.end, segment.speaker_id) == (4.908, 8.754, "SPEAKER_01")
    assert [w.text for w in segment.words] == ["You", "know,"]
    first = segment.words[0]
    assert (first.volume_db, first.pitch_hz, first.spectral_centroid, first.confidence) == (
        -19.87, 851.09, 1502.1, 0.93)
    assert segment.words[1].pitch_hz is None  # unvoiced: no pitch, not a made-up one
    assert transcript.features_measured is True
    assert transcript.metadata["duration"] == 143.39
    assert transcript.metadata["total_segments"] == 1
    assert transcript.metadata["unique_speakers"] == 1


def test_the_original_servers_payload() -> None:
    transcript = normalize(ORIGINAL_SERVER)
    assert [s.speaker_id for s in transcript.segments] == ["SPEAKER_00", "SPEAKER_01"]
    assert [s.text for s in transcript.segments] == ["Hello there.", "Fine thanks."]
    assert [w.text for _, w in transcript.words()] == ["Hello", "there.", "Fine", "thanks."]
    assert [(w.start, w.end) for _, w in transcript.words()][:2] == [(0.5, 0.9), (1.2, 2.0)]
    assert [w.confidence for _, w in transcript.words()] == [0.8, 0.7, 0.9, 0.9]
    # The constants are placeholders: flagged, and no feature is reported as measured.
    assert transcript.features_measured is False
    assert transcript.metadata["features_measured"] is False
    assert all(
        (w.volume_db, w.pitch_hz, w.spectral_centroid) == (None, None, None)
        for _, w in transcript.words()
    )
    assert transcript.metadata["duration"] == 12.5
    assert transcript.metadata["language_detected"] == "en"


@pytest.mark.parametrize(
    "speaker",
    [{"speaker": {"speaker_id": "S1"}}, {"speaker": "S1"}, {"speaker_id": "S1"},
     {"speaker": {"id": "S1"}}],
)
def test_every_speaker_form(speaker: dict[str, Any]) -> None:
    raw = {"segments": [{"start": 0, "end": 1, "text": "hi", **speaker}]}
    assert normalize(raw).segments[0].speaker_id == "S1"


@pytest.mark.parametrize("speaker", [{}, {"speaker": None}, {"speaker": ""}])
def test_a_missing_speaker_is_the_default_one(speaker: dict[str, Any]) -> None:
    raw = {"segments": [{"start": 0, "end": 1, "text": "hi", **speaker}]}
    assert normalize(raw).segments[0].speaker_id == DEFAULT_SPEAKER


def test_flat_and_nested_features_are_the_same() -> None:
    features = {"volume_db": -30.5, "pitch_hz": 210.0, "spectral_centroid": 2100.0}
    flat = {"segments": [{"start": 0, "end": 1, "text": "a",
                          "words": [{"word": "a", "start": 0, "end": 1, **features}]}]}
    nested = {"segments": [{"start_time": 0, "end_time": 1, "text": "a",
                            "words": [{"word": "a", "start_time": 0, "end_time": 1,
                                       "acoustic_features": features}]}]}
    assert normalize(flat) == normalize(nested)
    assert normalize(flat).features_measured is True


def test_one_real_measurement_among_placeholders_is_kept() -> None:
    words = [{"word": "a", "start": 0, "end": 0.5, "volume_db": -20.0, "pitch_hz": 150.0,
              "spectral_centroid": 1500.0},
             {"word": "b", "start": 0.5, "end": 1, "volume_db": -31.2, "pitch_hz": 98.0,
              "spectral_centroid": 900.0}]
    transcript = normalize({"segments": [{"start": 0, "end": 1, "text": "a b", "words": words}]})
    assert transcript.features_measured is True
    assert [w.pitch_hz for _, w in transcript.words()] == [150.0, 98.0]


def test_metadata_saying_unmeasured_drops_features() -> None:
    raw = {"metadata": {"features_measured": False},
           "segments": [{"start": 0, "end": 1, "text": "a",
                         "words": [{"word": "a", "start": 0, "end": 1, "pitch_hz": 120.0}]}]}
    transcript = normalize(raw)
    assert not transcript.features_measured
    assert next(iter(transcript.words()))[1].pitch_hz is None


def test_words_without_times_are_placed_between_neighbours() -> None:
    raw = {"segments": [{"start": 1.0, "end": 3.0, "text": "in 1999 ok", "words": [
        {"word": "in", "start": 1.0, "end": 1.4},
        {"word": "1999"},
        {"word": "ok", "start": 2.5, "end": 3.0},
    ]}]}
    words = [w for _, w in normalize(raw).words()]
    assert [w.text for w in words] == ["in", "1999", "ok"]
    assert words[1].start == 1.4 and words[1].end <= 3.0


def test_word_times_are_kept_inside_their_segment() -> None:
    raw = {"segments": [{"start": 1.0, "end": 2.0, "text": "a",
                         "words": [{"word": "a", "start": 0.8, "end": 2.4}]}]}
    word = next(iter(normalize(raw).words()))[1]
    assert (word.start, word.end) == (1.0, 2.0)


def test_segments_come_out_in_time_order() -> None:
    raw = {"segments": [{"start": 5, "end": 6, "text": "second"},
                        {"start": 1, "end": 2, "text": "first"}]}
    assert [s.text for s in normalize(raw).segments] == ["first", "second"]


def test_speaker_names_from_the_result() -> None:
    raw = {"speakers": {"S1": {"name": "Ana"}, "GONE": {"name": "Nobody"}},
           "segments": [{"start": 0, "end": 1, "text": "hi", "speaker": "S1"}]}
    transcript = normalize(raw)
    assert transcript.display_name("S1") == "Ana"
    assert transcript.speaker_names == {"S1": "Ana"}  # only speakers that speak


def test_a_top_level_language_does_not_override_the_metadata() -> None:
    raw = {"language": "ko", "metadata": {"language_detected": "en"},
           "segments": [{"start": 0, "end": 1, "text": "hi"}]}
    assert normalize(raw).metadata["language_detected"] == "en"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ([], []),
        ({"segments": "nope"}, ["segments"]),
        ({"segments": [{"start": 0, "text": "x"}]}, ["segments", 0]),
        ({"segments": [{"start": 2, "end": 1, "text": "x"}]}, ["segments", 0]),
        ({"segments": [{"start": -1, "end": 1, "text": "x"}]}, ["segments", 0]),
        ({"segments": [{"start": 0, "end": 1, "words": [{"start": 0}]}]},
         ["segments", 0, "words", 0]),
        ({"segments": [{"start": 0, "end": 1, "words": [{"word": "a", "start": 1, "end": 0}]}]},
         ["segments", 0, "words", 0]),
        ({"segments": [{"start": 0, "end": 1, "words": "x"}]}, ["segments", 0, "words"]),
        ({"segments": [{"start": float("nan"), "end": 1, "text": "x"}]}, ["segments", 0]),
    ],
)
def test_invalid_results_say_where(raw: Any, where: list[Any]) -> None:
    with pytest.raises(InvalidResult) as caught:
        normalize(raw)
    assert caught.value.errors[0]["loc"] == where


def test_a_long_transcript_has_bisectable_word_starts() -> None:
    raw = {"segments": [{"start": i, "end": i + 1, "text": f"w{i}",
                         "words": [{"word": f"w{i}", "start": i, "end": i + 0.5}]}
                        for i in range(100)]}
    starts = word_starts(normalize(raw))
    assert starts == sorted(starts) and len(starts) == 100


# -- properties ------------------------------------------------------------------------

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
SILENCE = st.sampled_from([" ", "", "[SILENCE]", "<sil>", "  "])
SPOKEN = st.text(
    alphabet=st.characters(blacklist_categories=SURROGATES, blacklist_characters="\x00"),
    min_size=1, max_size=12,
).filter(lambda t: t.strip() not in ("", "[SILENCE]", "[silence]", "<sil>"))
TIME = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
FEATURE = st.one_of(st.none(), st.floats(-100, 0), st.just(-20.0))


@st.composite
def raw_word(draw: st.DrawFn, start: float, end: float) -> dict[str, Any]:
    text = draw(st.one_of(SPOKEN, SILENCE))
    word: dict[str, Any] = {"word" if draw(st.booleans()) else "text": text}
    if draw(st.integers(0, 5)):  # usually timed
        a = draw(st.floats(start, end))
        b = draw(st.floats(a, end))
        names = ("start", "end") if draw(st.booleans()) else ("start_time", "end_time")
        word[names[0]], word[names[1]] = a, b
    features = {"volume_db": draw(FEATURE), "pitch_hz": draw(st.one_of(st.none(), st.just(150.0),
                                                                       st.floats(50, 500))),
                "spectral_centroid": draw(st.one_of(st.none(), st.just(1500.0),
                                                    st.floats(100, 8000)))}
    if draw(st.booleans()):
        word["acoustic_features"] = features
    else:
        word.update(features)
    if draw(st.booleans()):
        word["score" if draw(st.booleans()) else "confidence"] = draw(st.floats(0, 1))
    return word


@st.composite
def raw_segment(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(TIME)
    end = draw(st.floats(start, start + 30))
    segment: dict[str, Any] = {}
    if draw(st.booleans()):
        segment["start"], segment["end"] = start, end
    else:
        segment["start_time"], segment["end_time"] = start, end
    speaker = draw(st.sampled_from(["SPEAKER_00", "SPEAKER_01", "B"]))
    form = draw(st.integers(0, 3))
    if form == 0:
        segment["speaker"] = {"speaker_id": speaker}
    elif form == 1:
        segment["speaker"] = speaker
    elif form == 2:
        segment["speaker_id"] = speaker
    words = draw(st.lists(raw_word(start, end), max_size=6))
    segment["words"] = words
    if draw(st.booleans()):
        parts = [w.get("word", w.get("text", "")) for w in words]
        segment["text"] = " ".join(parts + draw(st.lists(SILENCE, max_size=1)))
    return segment


@st.composite
def raw_result(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {"segments": draw(st.lists(raw_segment(), max_size=6))}
    if draw(st.booleans()):
        raw["metadata"] = {"filename": "v.mp4"}
        if draw(st.booleans()):
            raw["metadata"]["duration"] = draw(TIME)
    if draw(st.booleans()):
        raw["duration"] = draw(TIME)
        raw["language"] = "en"
    if draw(st.booleans()):
        raw["speakers"] = {draw(st.sampled_from(["SPEAKER_00", "X"])): {"name": "Ana"}}
    return raw


def _spoken_words(raw: dict[str, Any]) -> Counter[str]:
    words: Counter[str] = Counter()
    for segment in raw["segments"]:
        for word in segment["words"]:
            text = word.get("word", word.get("text"))
            if text.strip() not in ("", "[SILENCE]", "[silence]", "<sil>"):
                words[text.strip()] += 1
    return words


@settings(max_examples=150, deadline=None)
@given(raw_result())
def test_normalize_is_idempotent(raw: dict[str, Any]) -> None:
    once = normalize(raw)
    canonical = to_canonical(once)
    json.dumps(canonical)  # the canonical form is plain JSON
    assert normalize(canonical) == once


@settings(max_examples=150, deadline=None)
@given(raw_result())
def test_normalize_never_loses_a_spoken_word(raw: dict[str, Any]) -> None:
    transcript = normalize(raw)
    assert Counter(w.text for _, w in transcript.words()) == _spoken_words(raw)


@settings(max_examples=150, deadline=None)
@given(raw_result())
def test_normalize_keeps_times_ordered(raw: dict[str, Any]) -> None:
    transcript: Transcript = normalize(raw)
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    for segment in transcript.segments:
        assert 0 <= segment.start <= segment.end
        word_times = [w.start for w in segment.words]
        assert word_times == sorted(word_times)
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
    assert transcript.duration >= max((s.end for s in transcript.segments), default=0)
