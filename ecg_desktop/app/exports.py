"""Exports of reviewed transcripts: JSON, CSV, SRT, WebVTT and plain text.

Every exporter takes the transcript as the store returns it, i.e. with the user's edits and
speaker names applied, and renders speaker labels itself (segments carry only speaker ids).

``export_jobs`` writes one or many jobs: to a directory, one file per job; to a file, one
combined file (a ``{"results": [...]}`` object for JSON, one header for CSV, a section per job
for text). Subtitles of several jobs cannot share a file and need a directory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ecg_desktop.app.ports import JobStore
from ecg_desktop.domain import Job, Segment, Transcript, Word, to_canonical
from ecg_desktop.domain.filekeys import safe_filename

logger = logging.getLogger(__name__)

CSV_COLUMNS = (
    "job",
    "segment",
    "speaker",
    "word",
    "start",
    "end",
    "volume_db",
    "pitch_hz",
    "spectral_centroid",
    "speaker_id",
)
MAX_LINE_CHARS = 42  # the usual subtitle line length (BBC, Netflix guidelines)
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    SRT = "srt"
    VTT = "vtt"
    TXT = "txt"

    @property
    def extension(self) -> str:
        return f".{self.value}"


class ExportError(Exception):
    """An export that cannot be made (no transcript, subtitles of many jobs in one file)."""


# -- one transcript ----------------------------------------------------------------------


def to_json(transcript: Transcript, job: Job | None = None, *, indent: int | None = 2) -> str:
    """The canonical result (PROTOCOL.md 3.1) with edits and speaker names."""
    return json.dumps(_canonical(transcript, job), ensure_ascii=False, indent=indent)


def _canonical(transcript: Transcript, job: Job | None) -> dict[str, Any]:
    result = to_canonical(transcript)
    if job is not None:
        result["metadata"]["job_id"] = str(job.job_id)
        if job.filename and not result["metadata"].get("filename"):
            result["metadata"]["filename"] = job.filename
    return result


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{round(value, digits):g}"


def _csv_rows(transcript: Transcript, job: Job | None) -> Iterable[list[str]]:
    job_label = str(job.job_id) if job is not None else ""
    for index, segment in enumerate(transcript.segments):
        speaker = transcript.display_name(segment.speaker_id)
        for word in segment.words:
            yield [
                job_label,
                str(index),
                speaker,
                word.text,
                f"{word.start:.3f}",
                f"{word.end:.3f}",
                _number(word.volume_db, 2),
                _number(word.pitch_hz, 2),
                _number(word.spectral_centroid, 1),
                segment.speaker_id,
            ]


def _write_csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def to_csv(transcript: Transcript, job: Job | None = None) -> str:
    """One row per word; features the server did not measure are empty cells."""
    return _write_csv(_csv_rows(transcript, job))


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    speaker: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _wrap(words: Sequence[str], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _timed_words(segment: Segment) -> list[Word]:
    if segment.words:
        return list(segment.words)
    # A segment without word timings: spread its text evenly over the segment.
    tokens = segment.text.split()
    step = (segment.end - segment.start) / max(len(tokens), 1)
    return [
        Word(t, segment.start + i * step, segment.start + (i + 1) * step)
        for i, t in enumerate(tokens)
    ]


def subtitle_cues(
    transcript: Transcript,
    *,
    max_line_chars: int = MAX_LINE_CHARS,
    max_lines: int = MAX_LINES,
    max_seconds: float = MAX_CUE_SECONDS,
) -> list[Cue]:
    """Cues of at most ``max_lines`` lines of ``max_line_chars``, split at word times.

    Each cue starts with its speaker's name ("Ana: ..."), which counts toward the first line.
    """
    cues: list[Cue] = []
    for segment in transcript.segments:
        speaker = transcript.display_name(segment.speaker_id)
        prefix = [f"{speaker}:"]
        pending: list[Word] = []
        for word in _timed_words(segment):
            trial = [*prefix, *(w.text for w in pending), word.text]
            too_long = len(_wrap(trial, max_line_chars)) > max_lines
            too_slow = bool(pending) and word.end - pending[0].start > max_seconds
            if pending and (too_long or too_slow):
                cues.append(_cue(speaker, pending, max_line_chars))
                pending = []
            pending.append(word)
        if pending:
            cues.append(_cue(speaker, pending, max_line_chars))
    return cues


def _cue(speaker: str, words: Sequence[Word], width: int) -> Cue:
    lines = _wrap([f"{speaker}:", *(w.text for w in words)], width)
    end = max(words[-1].end, words[0].start + 0.001)
    return Cue(words[0].start, end, speaker, tuple(lines))


def _vtt_text(line: str) -> str:
    # WebVTT cue text treats & and < as markup; a transcript's words are plain text.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_blocks(cues: Sequence[Cue], separator: str, escape: Callable[[str], str]) -> str:
    blocks = [
        f"{number}\n{format_timestamp(cue.start, separator)} --> "
        f"{format_timestamp(cue.end, separator)}\n" + "\n".join(escape(li) for li in cue.lines)
        for number, cue in enumerate(cues, start=1)
    ]
    return "".join(f"{block}\n\n" for block in blocks)


def to_srt(transcript: Transcript, job: Job | None = None, **options: Any) -> str:
    """SubRip subtitles, one cue per speaker turn or part of it, names in the text."""
    return _cue_blocks(subtitle_cues(transcript, **options), ",", str)


def to_vtt(transcript: Transcript, job: Job | None = None, **options: Any) -> str:
    """WebVTT subtitles, cut like ``to_srt``."""
    return "WEBVTT\n\n" + _cue_blocks(subtitle_cues(transcript, **options), ".", _vtt_text)


def format_timestamp(seconds: float, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (SubRip wants a comma before the milliseconds)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_txt(transcript: Transcript, job: Job | None = None, *, timestamps: bool = False) -> str:
    """Readable text: a paragraph per speaker turn, with ``[start - end]`` when asked."""
    lines: list[str] = []
    if timestamps:
        for segment in transcript.segments:
            span = f"[{format_timestamp(segment.start)} - {format_timestamp(segment.end)}]"
            name = transcript.display_name(segment.speaker_id)
            lines.append(f"{span} {name}: {_segment_text(segment)}")
    else:
        speaker: str | None = None
        for segment in transcript.segments:
            text = _segment_text(segment)
            if segment.speaker_id == speaker and lines:
                lines[-1] = f"{lines[-1]} {text}"
            else:
                if lines:
                    lines.append("")
                lines.append(f"{transcript.display_name(segment.speaker_id)}: {text}")
                speaker = segment.speaker_id
    return "\n".join(lines) + "\n"


def _segment_text(segment: Segment) -> str:
    """The words as corrected; the segment's own text only where it has no words."""
    return " ".join(w.text for w in segment.words) if segment.words else segment.text


# -- many jobs ---------------------------------------------------------------------------


def render(fmt: ExportFormat | str, transcript: Transcript, job: Job | None = None,
           *, timestamps: bool = False, subtitles: Mapping[str, Any] | None = None) -> str:
    """``subtitles``: ``subtitle_cues``'s keyword arguments for SRT and WebVTT (the user's
    line length, lines per cue and longest cue)."""
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.JSON:
        return to_json(transcript, job)
    if fmt is ExportFormat.CSV:
        return to_csv(transcript, job)
    if fmt is ExportFormat.SRT:
        return to_srt(transcript, job, **(subtitles or {}))
    if fmt is ExportFormat.VTT:
        return to_vtt(transcript, job, **(subtitles or {}))
    return to_txt(transcript, job, timestamps=timestamps)


def render_many(fmt: ExportFormat | str, items: Sequence[tuple[Job, Transcript]],
                *, timestamps: bool = False, subtitles: Mapping[str, Any] | None = None) -> str:
    """One document for several jobs (JSON, CSV, text); subtitles need one file per job."""
    fmt = ExportFormat(fmt)
    if len(items) == 1:
        job, transcript = items[0]
        return render(fmt, transcript, job, timestamps=timestamps, subtitles=subtitles)
    if fmt is ExportFormat.JSON:
        results = [_canonical(t, j) for j, t in items]
        return json.dumps({"results": results}, ensure_ascii=False, indent=2)
    if fmt is ExportFormat.CSV:
        return _write_csv(row for j, t in items for row in _csv_rows(t, j))
    if fmt is ExportFormat.TXT:
        parts = [
            f"# {job.filename or job.job_id}\n\n{to_txt(t, job, timestamps=timestamps)}"
            for job, t in items
        ]
        return "\n".join(parts)
    raise ExportError(f"{fmt.value.upper()} subtitles of several jobs need an output directory")


def file_name_for(job: Job, fmt: ExportFormat | str) -> str:
    stem = Path(safe_filename(job.filename)).stem if job.filename else ""
    stem = stem or "transcript"
    return f"{stem}-{str(job.job_id)[:8]}{ExportFormat(fmt).extension}"


async def load_for_export(
    store: JobStore, job_ids: Sequence[uuid.UUID]
) -> list[tuple[Job, Transcript]]:
    """Each job with its edited transcript; ``ExportError`` names a job without one."""
    items: list[tuple[Job, Transcript]] = []
    for job_id in job_ids:
        job = await store.get(job_id)
        transcript = await store.get_transcript(job_id)
        if transcript is None:
            raise ExportError(
                f"job {job_id} ({job.filename or 'no file'}) has no transcript: it is {job.status}"
            )
        items.append((job, transcript))
    return items


def _write_text(path: Path, text: str, fmt: ExportFormat) -> None:
    # A BOM lets spreadsheet programs read UTF-8 CSV (names in Korean, say) correctly.
    encoding = "utf-8-sig" if fmt is ExportFormat.CSV else "utf-8"
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text, encoding=encoding, newline="")
    os.replace(temporary, path)


def _write_all(
    items: Sequence[tuple[Job, Transcript]], fmt: ExportFormat, output: Path, timestamps: bool,
    subtitles: Mapping[str, Any] | None = None,
) -> list[Path]:
    if output.is_dir():
        written = []
        for job, transcript in items:
            path = output / file_name_for(job, fmt)
            text = render(fmt, transcript, job, timestamps=timestamps, subtitles=subtitles)
            _write_text(path, text, fmt)
            written.append(path)
        return written
    if not output.parent.is_dir():
        raise ExportError(f"folder {output.parent} does not exist")
    _write_text(output, render_many(fmt, items, timestamps=timestamps, subtitles=subtitles),
                fmt)
    return [output]


async def export_jobs(
    store: JobStore,
    job_ids: Sequence[uuid.UUID],
    fmt: ExportFormat | str,
    output_path: Path | str,
    *,
    timestamps: bool = False,
    subtitles: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the jobs' transcripts; returns the files written.

    ``output_path`` a directory: one file per job, named after its video. A file: one
    combined document. Formatting and writing run in a worker thread.
    """
    fmt = ExportFormat(fmt)
    if not job_ids:
        raise ExportError("no jobs to export")
    items = await load_for_export(store, job_ids)
    written = await asyncio.to_thread(
        _write_all, items, fmt, Path(output_path), timestamps, subtitles
    )
    logger.info("exported %d job(s) as %s to %s", len(items), fmt.value, output_path)
    return written
