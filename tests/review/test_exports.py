"""Exports read back with real parsers (json, csv, pysubs2) match the stored transcript,
edits and speaker names included, for both result shapes; many jobs; the export command."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pysubs2
import pytest

from ecg_desktop.app.exports import (
    CSV_COLUMNS,
    MAX_LINE_CHARS,
    ExportError,
    export_jobs,
    to_csv,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
)
from ecg_desktop.cli import main
from ecg_desktop.domain import Job, Transcript, normalize
from ecg_desktop.store import SqlJobStore

from .conftest import Runner, add_completed, stored_transcript
from .factory import analyzer_result, whisperx_result

SHAPES = {"analyzer": analyzer_result, "whisperx": whisperx_result}


@pytest.fixture(params=sorted(SHAPES))
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _stored(run: Runner, store: SqlJobStore, shape: str) -> tuple[Job, Transcript]:
    job = run(add_completed(store, SHAPES[shape](14)))
    return job, stored_transcript(run, store, job.job_id)


def test_json_is_the_canonical_result_with_edits(run: Runner, store: SqlJobStore,
                                                 shape: str) -> None:
    job, _ = _stored(run, store, shape)
    run(store.set_word_text(job.job_id, 2, 1, "corrected"))
    run(store.rename_speaker(job.job_id, "SPEAKER_01", "Mina"))
    transcript = stored_transcript(run, store, job.job_id)
    parsed = json.loads(to_json(transcript, job))
    assert parsed["metadata"]["job_id"] == str(job.job_id)
    assert parsed["segments"][2]["words"][1]["word"] == "corrected"
    assert parsed["speakers"]["SPEAKER_01"]["name"] == "Mina"
    # the export is itself a valid result: normalising it gives the same transcript
    again = normalize(parsed)
    assert again.segments == transcript.segments
    assert again.speaker_names == transcript.speaker_names
    assert again.features_measured == transcript.features_measured
    raw = run(store.get_raw_result(job.job_id))
    assert "corrected" not in json.dumps(raw)  # the original result is untouched


def test_csv_has_one_row_per_word_with_features(run: Runner, store: SqlJobStore,
                                                shape: str) -> None:
    job, transcript = _stored(run, store, shape)
    rows = list(csv.DictReader(io.StringIO(to_csv(transcript, job))))
    words = [(i, w) for i, w in transcript.words()]
    assert len(rows) == len(words)
    assert tuple(rows[0]) == CSV_COLUMNS
    for row, (segment_index, word) in zip(rows, words, strict=True):
        assert row["job"] == str(job.job_id)
        assert int(row["segment"]) == segment_index
        assert row["word"] == word.text
        assert float(row["start"]) == pytest.approx(word.start, abs=5e-4)
        assert float(row["end"]) == pytest.approx(word.end, abs=5e-4)
        segment = transcript.segments[segment_index]
        assert row["speaker"] == transcript.display_name(segment.speaker_id)
        for key in ("volume_db", "pitch_hz", "spectral_centroid"):
            value = getattr(word, key)
            if value is None:
                assert row[key] == ""  # not measured / unvoiced: no made-up number
            else:
                assert float(row[key]) == pytest.approx(value, abs=0.05)
    if shape == "whisperx":  # the original server's constants are not data
        assert all(r["pitch_hz"] == r["volume_db"] == "" for r in rows)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_parse_back_with_speakers_and_short_lines(
    run: Runner, store: SqlJobStore, shape: str, fmt: str
) -> None:
    job, transcript = _stored(run, store, shape)
    text = (to_srt if fmt == "srt" else to_vtt)(transcript, job)
    subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    assert len(subs) >= len(transcript.segments)
    spoken = []
    for event in subs:
        lines = event.plaintext.split("\n")
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in lines)
        assert event.end > event.start
        speaker, _, said = event.plaintext.replace("\n", " ").partition(": ")
        assert speaker in {transcript.display_name(s) for s in transcript.speaker_ids}
        spoken.extend(said.split())
    assert spoken == [w.text for _, w in transcript.words()]  # every word, in order
    starts = [e.start for e in subs]
    assert starts == sorted(starts)
    first_word = transcript.segments[0].words[0]
    assert subs[0].start == round(first_word.start * 1000)


def test_subtitles_keep_braces_backslashes_and_markup_characters_as_text(
    run: Runner, store: SqlJobStore
) -> None:
    job, _ = _stored(run, store, "analyzer")
    said = ["{laughs}", "R&D", "<3", "a\\b"]
    for index, text in enumerate(said):
        run(store.set_word_text(job.job_id, 0, index, text))
    transcript = stored_transcript(run, store, job.job_id)

    srt = to_srt(transcript, job)
    vtt = to_vtt(transcript, job)

    assert all(text in srt for text in said)
    assert all(text in vtt for text in ["{laughs}", "R&amp;D", "&lt;3", "a\\b"])
    assert "<" not in vtt.replace("-->", "")
    first_cue = pysubs2.SSAFile.from_string(vtt, format_="vtt")[0]
    assert first_cue.start == round(transcript.segments[0].words[0].start * 1000)


def test_text_has_speakers_and_optional_timestamps(run: Runner, store: SqlJobStore,
                                                   shape: str) -> None:
    job, transcript = _stored(run, store, shape)
    plain = to_txt(transcript, job)
    timed = to_txt(transcript, job, timestamps=True).splitlines()
    assert len(timed) == len(transcript.segments)
    first = transcript.segments[0]
    assert timed[0].startswith("[00:00:00.500 - ")
    assert f"{transcript.display_name(first.speaker_id)}: " in timed[0]
    assert " ".join(w.text for w in first.words) in plain
    assert "[SILENCE]" not in plain


def test_renaming_a_speaker_changes_every_export(run: Runner, store: SqlJobStore) -> None:
    job, _ = _stored(run, store, "analyzer")
    run(store.rename_speaker(job.job_id, "SPEAKER_00", "김민지"))
    transcript = stored_transcript(run, store, job.job_id)
    for export in (to_json, to_csv, to_srt, to_vtt, to_txt):
        text = export(transcript, job)
        assert "김민지" in text, export.__name__
    rows = list(csv.DictReader(io.StringIO(to_csv(transcript, job))))
    assert {r["speaker"] for r in rows if r["speaker_id"] == "SPEAKER_00"} == {"김민지"}


def test_many_jobs_to_a_folder_and_to_one_file(run: Runner, store: SqlJobStore,
                                               tmp_path: Path) -> None:
    first = run(add_completed(store, analyzer_result(5), filename="a.mp4"))
    second = run(add_completed(store, whisperx_result(4), filename="b.mov"))
    ids = [first.job_id, second.job_id]
    folder = tmp_path / "out"
    folder.mkdir()
    written = run(export_jobs(store, ids, "srt", folder))
    assert sorted(p.name for p in written) == sorted(
        [f"a-{str(first.job_id)[:8]}.srt", f"b-{str(second.job_id)[:8]}.srt"])
    assert all(len(pysubs2.load(str(p))) > 0 for p in written)

    combined = tmp_path / "all.csv"
    run(export_jobs(store, ids, "csv", combined))
    rows = list(csv.DictReader(combined.open(encoding="utf-8-sig")))
    assert {r["job"] for r in rows} == {str(first.job_id), str(second.job_id)}
    both = json.loads(run(_json_of(store, ids, tmp_path)))
    assert [r["metadata"]["job_id"] for r in both["results"]] == [str(i) for i in ids]

    with pytest.raises(ExportError, match="directory"):
        run(export_jobs(store, ids, "vtt", tmp_path / "one.vtt"))


async def _json_of(store: SqlJobStore, ids: list[uuid.UUID], tmp_path: Path) -> str:
    path = tmp_path / "all.json"
    await export_jobs(store, ids, "json", path)
    return path.read_text(encoding="utf-8")


def test_a_job_without_a_transcript_is_refused_clearly(run: Runner, store: SqlJobStore,
                                                       tmp_path: Path) -> None:
    pending = Job.new(filename="waiting.mp4")
    run(store.add(pending))
    with pytest.raises(ExportError, match="no transcript"):
        run(export_jobs(store, [pending.job_id], "txt", tmp_path / "x.txt"))
    assert not (tmp_path / "x.txt").exists()


def test_export_command(run: Runner, store: SqlJobStore, store_url: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                        ) -> None:
    first = run(add_completed(store, analyzer_result(6), filename="talk one.mp4"))
    second = run(add_completed(store, whisperx_result(3), filename="talk two.mp4"))
    run(store.rename_speaker(first.job_id, "SPEAKER_01", "Ana"))
    monkeypatch.setenv("DATABASE_URL", store_url)

    assert main(["export", str(first.job_id), "--format", "vtt"]) == 0
    subs = pysubs2.SSAFile.from_string(capsys.readouterr().out, format_="vtt")
    assert any(e.plaintext.startswith("Ana: ") for e in subs)

    out = tmp_path / "exports"
    out.mkdir()
    assert main(["export", str(first.job_id), str(second.job_id), "-f", "json",
                 "--output", str(out)]) == 0
    files = sorted(out.iterdir())
    assert len(files) == 2
    assert {json.loads(f.read_text())["metadata"]["job_id"] for f in files} == {
        str(first.job_id), str(second.job_id)}
    capsys.readouterr()

    assert main(["export", "not-a-uuid", "--format", "csv"]) == 1
    assert "not a job id" in capsys.readouterr().err
    assert main(["export", "00000000-0000-0000-0000-000000000000", "--format", "csv"]) == 1
