"""The review use cases (app/review.py) on both job-store back ends: each edit is stored
beside the untouched raw result, announced with ``TranscriptChanged``, and used by exports.
And the pane refreshes when a transcript is edited elsewhere."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pysubs2
import pytest
from pytestqt.qtbot import QtBot

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.exports import to_csv, to_json, to_srt
from ecg_desktop.app.review import TranscriptEditor
from ecg_desktop.domain import Event, JobDeleted, TranscriptChanged
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.qt_segment_model import Column
from ecg_desktop.store import NotInTranscript, SqlJobStore, open_store

from .conftest import Runner, add_completed
from .factory import analyzer_result, whisperx_result


@pytest.mark.parametrize("make", [analyzer_result, whisperx_result],
                         ids=["analyzer", "whisperx"])
def test_edits_are_stored_announced_and_exported(
    run: Runner, database_url: str, make: Callable[[int], dict[str, Any]]
) -> None:
    store = run(open_store(database_url))
    try:
        bus = EventBus()
        events: list[Event] = []
        bus.subscribe(events.append)
        editor = TranscriptEditor(store, bus)
        job = run(add_completed(store, make(8)))
        original = json.dumps(run(store.get_raw_result(job.job_id)), sort_keys=True)

        run(editor.set_word_text(job.job_id, 1, 0, "  Busan "))
        run(editor.rename_speaker(job.job_id, "SPEAKER_00", "Jiwoo"))
        run(editor.save_segment_speaker(job.job_id, 2, "SPEAKER_00"))
        assert events == [TranscriptChanged(job.job_id)] * 3

        transcript = run(editor.load(job.job_id))
        assert transcript is not None
        assert transcript.segments[1].words[0].text == "Busan"
        assert transcript.segments[2].speaker_id == "SPEAKER_00"
        assert transcript.display_name("SPEAKER_00") == "Jiwoo"
        rows = list(csv.DictReader(io.StringIO(to_csv(transcript, job))))
        assert rows[len(transcript.segments[0].words)]["word"] == "Busan"
        assert {r["speaker"] for r in rows if r["segment"] == "2"} == {"Jiwoo"}
        subs = pysubs2.SSAFile.from_string(to_srt(transcript, job), format_="srt")
        assert any(e.plaintext.startswith("Jiwoo: ") for e in subs)
        assert json.loads(to_json(transcript, job))["speakers"]["SPEAKER_00"]["name"] == "Jiwoo"

        run(editor.merge_speakers(job.job_id, "SPEAKER_01", "SPEAKER_00"))
        merged = run(editor.load(job.job_id))
        assert merged is not None and merged.speaker_ids == ["SPEAKER_00"]
        # the raw result is exactly as received
        assert json.dumps(run(store.get_raw_result(job.job_id)), sort_keys=True) == original

        with pytest.raises(ValueError):
            run(editor.rename_speaker(job.job_id, "SPEAKER_00", "   "))
        with pytest.raises(ValueError):
            run(editor.merge_speakers(job.job_id, "SPEAKER_00", "SPEAKER_00"))
        with pytest.raises(NotInTranscript):
            run(editor.set_word_text(job.job_id, 99, 0, "x"))
        assert len(events) == 4  # refused edits announce nothing
    finally:
        run(store.close())


def test_the_pane_follows_edits_made_elsewhere(run: Runner, store: SqlJobStore,
                                               qtbot: QtBot) -> None:
    bus = EventBus()
    pane = ReviewPane(SimpleNamespace(store=store, bus=bus))
    qtbot.addWidget(pane)
    job = run(add_completed(store, analyzer_result(6)))
    run(pane.show_job(job))
    other_window = TranscriptEditor(store, bus)
    run(other_window.set_word_text(job.job_id, 0, 0, "Incheon"))
    run.until(lambda: pane.model.segment(0).words[0].text == "Incheon")
    run(other_window.rename_speaker(job.job_id, "SPEAKER_01", "Hana"))
    run.until(lambda: pane.model.index(1, Column.SPEAKER).data() == "Hana")
    assert "Hana" in pane.plots.legend_names()

    bus.publish(JobDeleted(job.job_id))
    assert pane.job is None and pane.model.rowCount() == 0
