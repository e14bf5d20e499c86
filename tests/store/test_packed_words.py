"""Transcripts load from their packed words (one value) with the user's corrections laid over
them, and from their rows when the value is missing or does not fit."""

from __future__ import annotations

import logging
import uuid

import pytest
import sqlalchemy as sa

from ecg_desktop.domain import Segment, Word, normalize
from ecg_desktop.store import SqlJobStore
from ecg_desktop.store import schema as t
from ecg_desktop.store.packed import PackedWordsError, pack_words, segments_of, unpack_words
from tests.store.helpers import completed_job, make_result


def test_packing_keeps_every_value_none_and_text() -> None:
    segments = (
        Segment(0.0, 1.0, "A", "ünïcode 한국어", (
            Word("ünïcode", 0.0, 0.4, -20.5, None, 1500.0, 0.9),
            Word('tab\t"quote"\\ \x00nul', 0.4, 1.0, None, 120.25, None, None),
        )),
        Segment(1.0, 2.0, "B", "no words here"),
        Segment(2.0, 3.0, "A", "x", (Word("x", 2.0, 3.0),)),
    )
    counts, words = unpack_words(pack_words(segments))
    assert counts == [2, 0, 1]
    assert words == [w for s in segments for w in s.words]
    rows = [(i, s.start, s.end, s.speaker_id, s.text) for i, s in enumerate(segments)]
    assert segments_of(rows, counts, words) == segments


def test_an_empty_transcript_packs() -> None:
    assert unpack_words(pack_words(())) == ([], [])


@pytest.mark.parametrize("damage", [b"", b"XXXX" + bytes(20), "cut"])
def test_a_damaged_value_is_refused(damage: object) -> None:
    packed = pack_words((Segment(0.0, 1.0, "A", "a b", (Word("a", 0, 0.5), Word("b", 0.5, 1))),))
    value = packed[:-5] if damage == "cut" else damage
    with pytest.raises(PackedWordsError):
        unpack_words(value)  # type: ignore[arg-type]


async def _set_packed(store: SqlJobStore, job_id: uuid.UUID, value: bytes | None) -> None:
    engine = store._engine  # the test reaches under the store to damage or drop the value
    async with engine.begin() as conn:
        await conn.execute(
            t.transcripts.update().where(t.transcripts.c.job_id == job_id)
            .values(words_packed=value)
        )


async def test_the_stored_value_holds_the_words(store: SqlJobStore) -> None:
    raw = make_result(segments=30, words_per_segment=7, speakers=3)
    job_id = await completed_job(store, raw)
    async with store._engine.connect() as conn:
        packed = (await conn.execute(
            sa.select(t.transcripts.c.words_packed).where(t.transcripts.c.job_id == job_id)
        )).scalar_one()
    _, words = unpack_words(packed)
    assert words == [w for _, w in normalize(raw).words()]


async def test_corrections_and_speaker_edits_show_over_the_packed_words(
    store: SqlJobStore,
) -> None:
    raw = make_result(segments=5, words_per_segment=4, speakers=2)
    job_id = await completed_job(store, raw)
    await store.set_word_text(job_id, 0, 0, "first")
    await store.set_word_text(job_id, 3, 3, "last")
    await store.set_word_text(job_id, 3, 1, "middle")
    await store.write_segment_speaker(job_id, 2, "SPEAKER_05")
    await store.rename_speaker(job_id, "SPEAKER_00", "Ana")
    edited = await store.get_transcript(job_id)

    await _set_packed(store, job_id, None)  # the same transcript, read from its rows
    from_rows = await store.get_transcript(job_id)
    assert edited == from_rows
    assert edited is not None
    assert [w.text for w in edited.segments[3].words] == ["word3_0", "middle", "word3_2", "last"]
    assert edited.segments[3].text == "word3_0 middle word3_2 last"
    assert edited.segments[0].words[0].text == "first"
    assert edited.segments[2].speaker_id == "SPEAKER_05"
    assert edited.display_name("SPEAKER_00") == "Ana"
    original = normalize(raw)
    assert [w.start for _, w in edited.words()] == [w.start for _, w in original.words()]


async def test_a_transcript_without_packed_words_loads_from_its_rows(
    store: SqlJobStore,
) -> None:
    raw = make_result(segments=12, words_per_segment=6)
    job_id = await completed_job(store, raw)
    await _set_packed(store, job_id, None)  # as stored before revision 0003
    assert await store.get_transcript(job_id) == normalize(raw)


async def test_packed_words_that_do_not_fit_the_rows_are_passed_over(
    store: SqlJobStore, caplog: pytest.LogCaptureFixture
) -> None:
    raw = make_result(segments=6, words_per_segment=3)
    job_id = await completed_job(store, raw)
    other = pack_words(normalize(make_result(segments=4, words_per_segment=3)).segments)
    for value in (b"not packed words", other):
        await _set_packed(store, job_id, value)
        with caplog.at_level(logging.WARNING, logger="ecg_desktop.store.transcripts"):
            assert await store.get_transcript(job_id) == normalize(raw)
        assert "reading the rows" in caplog.text
        caplog.clear()
