"""Structural edits stored on both job-store back ends: beside the untouched raw result,
read back exactly, undone by their inverse, and used by every export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pysubs2

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.exports import to_csv, to_json, to_srt, to_txt, to_vtt
from ecg_desktop.app.review import TranscriptEditor
from ecg_desktop.domain import Job, Transcript
from ecg_desktop.domain.editing import (
    SegmentsEdit,
    join_segments,
    reassign_word,
    retext_segment,
    retime_segment,
    speaker_rows,
    split_segment,
)
from ecg_desktop.store import SqlJobStore, open_store
from tests.store.helpers import completed_job, make_result


async def _loaded(store: SqlJobStore, job: Job) -> Transcript:
    transcript = await store.get_transcript(job.job_id)
    assert transcript is not None
    return transcript


async def test_structural_edits_round_trip_and_undo(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        editor = TranscriptEditor(store, EventBus())
        job_id = await completed_job(store, make_result(segments=6, speakers=2))
        job = await store.get(job_id)
        raw = await store.get_raw_result(job_id)
        original = await _loaded(store, job)
        await editor.set_word_text(job_id, 4, 1, "corrected")  # a correction of before

        edits: list[SegmentsEdit] = []
        makers: list[Callable[[Transcript], SegmentsEdit]] = [
            lambda t: split_segment(t, 1, 2),
            lambda t: retext_segment(t, 0, "word0_0 brand new word0_3 word0_4"),
            lambda t: join_segments(t, 3),
            lambda t: reassign_word(t, 5, 1, "SPEAKER_07"),
            lambda t: retime_segment(t, 6, t.segments[6].start + 0.1, t.segments[6].end),
        ]
        for make in makers:
            before = await _loaded(store, job)
            edit = make(before)
            await editor.apply(job_id, edit)
            after = await _loaded(store, job)
            assert after == edit.apply(before)  # what the pane shows is what was stored
            edits.append(edit)

        edited = await _loaded(store, job)
        assert [s.text for s in edited.segments[1:3]] == [
            "word1_0 word1_1", "word1_2 word1_3 word1_4"]
        assert [w.edited for w in edited.segments[0].words] == [False, True, True, False, False]
        assert "corrected" in edited.segments[4].text  # the earlier correction survived the shifts
        assert [s.speaker_id for s in edited.segments[5:8]] == [
            "SPEAKER_01", "SPEAKER_07", "SPEAKER_01"]
        assert await store.get_raw_result(job_id) == raw  # the raw result is untouched
        assert (await store.word_edits(job_id))[(0, 1)] == ("", "brand")

        for edit in reversed(edits):
            await editor.apply(job_id, edit.inverse())
        undone = await _loaded(store, job)
        assert [s.text for s in undone.segments] == [
            s.text.replace("word4_1", "corrected") for s in original.segments]
        assert [(s.start, s.end, s.speaker_id) for s in undone.segments] == [
            (s.start, s.end, s.speaker_id) for s in original.segments]
    finally:
        await store.close()


async def test_every_export_shows_the_edits(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        editor = TranscriptEditor(store, EventBus())
        job_id = await completed_job(store, make_result(segments=3, speakers=1))
        job = await store.get(job_id)
        await editor.apply(job_id, retext_segment(await _loaded(store, job), 1, "Hello Busan"))
        await editor.apply(job_id, split_segment(await _loaded(store, job), 1, 1))
        transcript = await _loaded(store, job)

        document = json.loads(to_json(transcript, job))
        assert [s["text"] for s in document["segments"][1:3]] == ["Hello", "Busan"]
        assert document["segments"][1]["words"][0]["edited"] is True
        rows = list(csv.DictReader(io.StringIO(to_csv(transcript, job))))
        assert [r["word"] for r in rows if r["segment"] in ("1", "2")] == ["Hello", "Busan"]
        for text in (to_srt(transcript, job), to_vtt(transcript, job)):
            cues = pysubs2.SSAFile.from_string(text).events
            assert any(c.plaintext.endswith("Busan") for c in cues)
        assert "Hello" in to_txt(transcript, job)
    finally:
        await store.close()


async def test_an_undone_merge_gives_the_speaker_back_their_segments_and_name(
    database_url: str,
) -> None:
    store = await open_store(database_url)
    try:
        editor = TranscriptEditor(store, EventBus())
        job_id = await completed_job(store, make_result(segments=5, speakers=2))
        job = await store.get(job_id)
        await editor.rename_speaker(job_id, "SPEAKER_01", "Ben")
        before = await _loaded(store, job)
        rows = speaker_rows(before, "SPEAKER_01")
        await editor.merge_speakers(job_id, "SPEAKER_01", "SPEAKER_00")
        assert (await _loaded(store, job)).speaker_ids == ["SPEAKER_00"]
        await editor.unmerge_speakers(job_id, "SPEAKER_01", rows, "Ben")
        assert await _loaded(store, job) == before
    finally:
        await store.close()
