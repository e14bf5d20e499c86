"""Results and transcripts: stored in the same transaction as the job, edits beside originals."""

from __future__ import annotations

import copy
import uuid

import pytest

from ecg_desktop.domain import Job, normalize
from ecg_desktop.store import NotInTranscript, SqlJobStore
from tests.store.helpers import completed_job, make_result


async def test_a_big_transcript_round_trips_exactly(store: SqlJobStore) -> None:
    raw = make_result(segments=2000, words_per_segment=20, speakers=3)  # 40,000 words
    raw["segments"][5]["words"][0]["word"] = "tab\there\\back\nslash 'quote' 한국어"
    job_id = await completed_job(store, raw)
    transcript = await store.get_transcript(job_id)
    assert transcript == normalize(raw)
    assert sum(1 for _ in transcript.words()) == 40_000
    assert await store.get_raw_result(job_id) == raw
    assert (await store.get(job_id)).progress == 100


async def test_placeholder_features_stay_flagged(store: SqlJobStore) -> None:
    raw = make_result(segments=2)
    for segment in raw["segments"]:
        for word in segment["words"]:
            word.update(volume_db=-20.0, pitch_hz=150.0, spectral_centroid=1500.0)
    transcript = await store.get_transcript(await completed_job(store, raw))
    assert transcript is not None and transcript.features_measured is False
    assert all(w.pitch_hz is None for _, w in transcript.words())


async def test_a_job_without_result_has_no_transcript(store: SqlJobStore) -> None:
    job = Job.new(filename="a.mp4")
    await store.add(job)
    assert await store.get_transcript(job.job_id) is None
    with pytest.raises(NotInTranscript):
        await store.rename_speaker(job.job_id, "SPEAKER_00", "Ana")


async def test_renaming_a_speaker_names_every_segment_and_keeps_the_raw_result(
    store: SqlJobStore,
) -> None:
    raw = make_result(segments=6, speakers=2)
    original = copy.deepcopy(raw)
    job_id = await completed_job(store, raw)
    await store.rename_speaker(job_id, "SPEAKER_01", "  Ben  ")
    transcript = await store.get_transcript(job_id)
    assert transcript is not None
    assert transcript.display_name("SPEAKER_01") == "Ben"
    assert transcript.display_name("SPEAKER_00") == "SPEAKER_00"
    assert [s.speaker_id for s in transcript.segments] == [
        s.speaker_id for s in normalize(raw).segments
    ]
    assert await store.get_raw_result(job_id) == original

    await store.rename_speaker(job_id, "SPEAKER_01", "")  # back to the id
    transcript = await store.get_transcript(job_id)
    assert transcript is not None and transcript.display_name("SPEAKER_01") == "SPEAKER_01"


async def test_merging_speakers_moves_every_segment(store: SqlJobStore) -> None:
    job_id = await completed_job(store, make_result(segments=6, speakers=3))
    await store.rename_speaker(job_id, "SPEAKER_00", "Ana")
    await store.merge_speakers(job_id, "SPEAKER_02", "SPEAKER_00")
    transcript = await store.get_transcript(job_id)
    assert transcript is not None
    assert transcript.speaker_ids == ["SPEAKER_00", "SPEAKER_01"]
    merged = ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"] * 2
    assert [s.speaker_id for s in transcript.segments] == merged
    assert transcript.display_name("SPEAKER_00") == "Ana"
    with pytest.raises(NotInTranscript):
        await store.merge_speakers(job_id, "SPEAKER_02", "SPEAKER_00")  # already gone
    with pytest.raises(NotInTranscript):
        await store.merge_speakers(job_id, "SPEAKER_01", "SPEAKER_09")


async def test_correcting_a_word_keeps_the_original_beside_it(store: SqlJobStore) -> None:
    raw = make_result(segments=3, words_per_segment=4)
    original = copy.deepcopy(raw)
    job_id = await completed_job(store, raw)
    await store.set_word_text(job_id, 1, 2, " musical ")
    await store.set_word_text(job_id, 1, 2, "musicals")
    transcript = await store.get_transcript(job_id)
    assert transcript is not None
    segment = transcript.segments[1]
    assert segment.words[2].text == "musicals"
    assert segment.text == "word1_0 word1_1 musicals word1_3"
    assert segment.words[2].start == normalize(raw).segments[1].words[2].start
    assert await store.word_edits(job_id) == {(1, 2): ("word1_2", "musicals")}
    assert await store.get_raw_result(job_id) == original
    with pytest.raises(NotInTranscript):
        await store.set_word_text(job_id, 1, 99, "x")
    with pytest.raises(ValueError, match="empty"):
        await store.set_word_text(job_id, 1, 2, "   ")


async def test_reassigning_a_segment_to_a_new_speaker(store: SqlJobStore) -> None:
    job_id = await completed_job(store, make_result(segments=4, speakers=2))
    await store.write_segment_speaker(job_id, 3, "SPEAKER_07")
    await store.rename_speaker(job_id, "SPEAKER_07", "Guest")
    transcript = await store.get_transcript(job_id)
    assert transcript is not None
    assert transcript.segments[3].speaker_id == "SPEAKER_07"
    assert transcript.display_name("SPEAKER_07") == "Guest"
    with pytest.raises(NotInTranscript):
        await store.write_segment_speaker(job_id, 4, "SPEAKER_00")


async def test_edits_on_an_unknown_job_raise_job_not_found(store: SqlJobStore) -> None:
    from ecg_desktop.domain import JobNotFound

    with pytest.raises(JobNotFound):
        await store.rename_speaker(uuid.uuid4(), "SPEAKER_00", "Ana")
