"""`ecg-desktop process FILE...`: run videos through the whole pipeline from a terminal.

Each file is checked, uploaded, dispatched and awaited; a progress line per file is redrawn
at most a few times a second (plain lines when the output is not a terminal), then a summary
per file. ``--output`` writes the canonical result as JSON (one file: the result itself;
several: ``{"jobs": [{"file", "job_id", "status", "result" | "error_code", ...}]}``).

Exit codes: 0 when every file completed, 1 when any was refused or failed, 2 for bad
configuration or a service that cannot start, 130 when interrupted (jobs stay resumable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ecg_desktop.cli import CANNOT_DO, fail
from ecg_desktop.config import ConfigError, Settings
from ecg_desktop.domain import (
    Event,
    Job,
    JobChanged,
    JobStatus,
    Stage,
    Transcript,
    UploadProgress,
    to_canonical,
)

if TYPE_CHECKING:
    from ecg_desktop.bootstrap import Core

logger = logging.getLogger(__name__)

REDRAW_S = 0.3
LIVE_POLL_S = 60.0  # with live updates the store is read only as a last resort
BAR_WIDTH = 24


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "process",
        help="transcribe video files from the terminal (upload, analysis, result)",
        description="Run each FILE through upload, dispatch and analysis; print a summary.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", type=Path, help="video files")
    parser.add_argument("--language", "-l", help="language code or auto (default: settings)")
    parser.add_argument("--output", "-o", type=Path, help="write the result(s) as JSON here")
    parser.add_argument(
        "--transcript", type=Path, help="a text file with the known script (forced alignment)"
    )
    parser.add_argument("--min-speakers", type=int, help="at least this many speakers")
    parser.add_argument("--max-speakers", type=int, help="at most this many speakers")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = _load_settings()
        if args.language:
            try:
                settings = settings.with_changes(default_language=args.language)
            except ConfigError:
                raise ConfigError(
                    "--language", f"unknown language {args.language!r} (auto, en, ko, ja, zh, ...)"
                ) from None
        transcript = _read_text(args.transcript) if args.transcript else None
    except (ConfigError, OSError) as exc:
        return fail(str(exc), "process")
    from ecg_desktop.bootstrap import language_problem

    if problem := language_problem(settings, settings.default_language):
        return fail(f"{problem}; nothing was uploaded", "process", code=CANNOT_DO)
    try:
        return asyncio.run(process(settings, args, transcript=transcript))
    except KeyboardInterrupt:
        print("\ninterrupted: unfinished jobs resume the next time the app starts", file=sys.stderr)
        return 130


def _load_settings() -> Settings:
    from ecg_desktop.config.secrets import load_settings_with_secrets

    return load_settings_with_secrets()


def _read_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ConfigError("--transcript", f"{path} is empty")
    return text


@dataclass
class FileRun:
    path: Path
    job: Job | None = None
    refused: str | None = None
    bytes_done: int = 0
    bytes_total: int = 0
    speed_bps: float = 0.0
    transcript: Transcript | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.refused is not None or (self.job is not None and self.job.status.is_terminal)

    @property
    def ok(self) -> bool:
        return self.job is not None and self.job.status is JobStatus.COMPLETED


async def process(
    settings: Settings,
    args: argparse.Namespace,
    *,
    transcript: str | None = None,
    out: TextIO | None = None,
) -> int:
    from ecg_desktop.app.errors import PipelineError
    from ecg_desktop.app.ports import InvalidInputFile
    from ecg_desktop.app.team import missing_credentials
    from ecg_desktop.bootstrap import build_core

    problems = missing_credentials(settings)
    if problems:  # before anything is opened: no failed job left in a shared store
        return fail("cannot add a job yet: " + "; ".join(problems), "process")

    out = out or sys.stdout
    runs = [FileRun(path) for path in args.files]
    try:
        core = await build_core(settings)
    except ConfigError as exc:
        return fail(str(exc), "process")
    except Exception as exc:
        logger.debug("building the core failed", exc_info=True)
        return fail(f"cannot start: {exc}", "process")
    display = ProgressDisplay(runs, out)
    try:
        if not settings.fastapi_base_url or not settings.uses_s3:
            await core.start_server(host="127.0.0.1", port=0)
        if core.team is not None:  # the backend's writes arrive as live updates
            await core.team.start()
            try:
                await core.team.wait_connected()
            except TimeoutError:
                logger.warning("no live updates from the team's database yet; its jobs are "
                               "read again every few seconds until they come")
        unsubscribe = core.bus.subscribe(display.on_event)
        for file_run in runs:
            try:
                file_run.job = await core.pipeline.submit_file(
                    file_run.path,
                    settings.default_language,
                    transcript=transcript,
                    min_speakers=args.min_speakers,
                    max_speakers=args.max_speakers,
                )
            except (InvalidInputFile, PipelineError) as exc:
                file_run.refused = str(exc)
            display.redraw(force=True)
        ticker = asyncio.create_task(display.tick_forever())
        try:
            await asyncio.gather(*(_await_job(core, r) for r in runs if r.job is not None))
        finally:
            ticker.cancel()
            unsubscribe()
        display.redraw(force=True)
        display.finish()
        for file_run in runs:
            if file_run.ok and file_run.job is not None:
                file_run.transcript = await core.store.get_transcript(file_run.job.job_id)
        print_summary(runs, out)
        if args.output:
            await asyncio.to_thread(write_output, args.output, runs)
            print(f"results written to {args.output}", file=out)
    finally:
        await core.close()
    return 0 if all(r.ok for r in runs) else 1


async def _await_job(core: Core, file_run: FileRun) -> None:
    """Wait for the job, on events: the bus carries this process's own changes, and in a
    team the backend's too (team sync, LISTEN/NOTIFY), so the store is not read over and
    over. After ``callback_watchdog_s`` of silence ask the ML server, when this installation
    is the one that dispatched the job (in a team the backend's watchdog does)."""
    assert file_run.job is not None
    job_id: uuid.UUID = file_run.job.job_id
    watchdog_s = core.settings.callback_watchdog_s
    from ecg_desktop.app.team import CONNECTED

    live = core.team is not None and core.team.state == CONNECTED
    poll_s = LIVE_POLL_S if live else None
    while True:
        try:
            file_run.job = await core.pipeline.wait_for(job_id, timeout_s=watchdog_s,
                                                        poll_s=poll_s)
            return
        except TimeoutError:
            job = await core.store.get(job_id)
            if job.stage is Stage.ANALYZING and core.recovery.owns(job):
                await core.recovery.reconcile(job)


class ProgressDisplay:
    """One line per file. On a terminal the block is redrawn in place (at most every
    ``REDRAW_S``); otherwise a line is printed when a file's stage or status changes."""

    def __init__(self, runs: list[FileRun], out: TextIO) -> None:
        self._runs = runs
        self._by_job: dict[uuid.UUID, FileRun] = {}
        self._out = out
        self._tty = bool(getattr(out, "isatty", lambda: False)())
        self._drawn_lines = 0
        self._last_draw = 0.0
        self._printed: dict[int, str] = {}
        self._width = max((len(r.path.name) for r in runs), default=10)

    def on_event(self, event: Event) -> None:
        if isinstance(event, JobChanged):
            file_run = self._find(event.job)
            if file_run is not None:
                file_run.job = event.job
        elif isinstance(event, UploadProgress):
            file_run = self._by_job.get(event.job_id)
            if file_run is not None:
                file_run.bytes_done = event.bytes_done
                file_run.bytes_total = event.bytes_total
                file_run.speed_bps = event.speed_bps
        self.redraw()

    def _find(self, job: Job) -> FileRun | None:
        if job.job_id in self._by_job:
            return self._by_job[job.job_id]
        for file_run in self._runs:
            if (
                file_run.job is None
                and file_run.refused is None
                and job.local_path
                and Path(job.local_path) == file_run.path.expanduser().resolve()
            ):
                self._by_job[job.job_id] = file_run
                return file_run
            if file_run.job is not None and file_run.job.job_id == job.job_id:
                self._by_job[job.job_id] = file_run
                return file_run
        return None

    async def tick_forever(self) -> None:
        while True:
            await asyncio.sleep(REDRAW_S)
            self.redraw()

    def redraw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_S:
            return
        self._last_draw = now
        lines = [self.line(r) for r in self._runs]
        if self._tty:
            if self._drawn_lines:
                self._out.write(f"\x1b[{self._drawn_lines}F")
            for text in lines:
                self._out.write("\x1b[2K" + text + "\n")
            self._drawn_lines = len(lines)
        else:
            for index, text in enumerate(lines):
                state = _plain_state(self._runs[index])
                if self._printed.get(index) != state:
                    self._printed[index] = state
                    self._out.write(text + "\n")
        self._out.flush()

    def finish(self) -> None:
        self._out.write("\n")
        self._out.flush()

    def line(self, file_run: FileRun) -> str:
        name = file_run.path.name.ljust(self._width)
        if file_run.refused is not None:
            return f"{name}  refused: {file_run.refused}"
        job = file_run.job
        if job is None:
            return f"{name}  checking"
        fraction, detail = _progress_of(file_run, job)
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"{name}  [{bar}] {fraction * 100:3.0f}%  {detail}"


def _plain_state(file_run: FileRun) -> str:
    job = file_run.job
    if job is None:
        return file_run.refused or "checking"
    return f"{job.status}:{job.stage}:{job.progress // 25}"


def _progress_of(file_run: FileRun, job: Job) -> tuple[float, str]:
    if job.status is JobStatus.FAILED:
        return job.progress / 100, f"failed: {job.error_code}"
    if job.status is JobStatus.CANCELED:
        return job.progress / 100, "canceled"
    if job.status is JobStatus.COMPLETED:
        return 1.0, "completed"
    if job.stage in (Stage.QUEUED, Stage.UPLOADING):
        total = file_run.bytes_total or job.size_bytes or 0
        done = min(file_run.bytes_done, total)
        fraction = done / total if total else 0.0
        speed = f" {_megabytes(file_run.speed_bps)}/s" if file_run.speed_bps else ""
        return fraction, f"uploading {_megabytes(done)} of {_megabytes(total)}{speed}"
    if job.stage in (Stage.UPLOADED, Stage.DISPATCHING):
        return 0.0, "sending to the ML server"
    return job.progress / 100, f"analyzing: {job.message or '...'}"


def _megabytes(count: float) -> str:
    return f"{count / 1_000_000:.1f} MB"


def print_summary(runs: list[FileRun], out: TextIO) -> None:
    for file_run in runs:
        out.write(summary_line(file_run) + "\n")
    failed = sum(not r.ok for r in runs)
    out.write(f"{len(runs) - failed} of {len(runs)} file(s) completed\n")
    out.flush()


def summary_line(file_run: FileRun) -> str:
    name = file_run.path.name
    if file_run.refused is not None:
        return f"{name}: refused: {file_run.refused}"
    job = file_run.job
    if job is None:
        return f"{name}: not started"
    if job.status is JobStatus.COMPLETED and file_run.transcript is not None:
        transcript = file_run.transcript
        words = sum(len(s.words) for s in transcript.segments)
        return (
            f"{name}: completed: {len(transcript.speaker_ids)} speaker(s), "
            f"{len(transcript.segments)} segment(s), {words} word(s), "
            f"{transcript.duration:.1f} s"
        )
    if job.status is JobStatus.FAILED:
        return f"{name}: failed ({job.error_code}): {job.error_message}"
    return f"{name}: {job.status}"


def write_output(path: Path, runs: list[FileRun]) -> None:
    entries = [_entry(r) for r in runs]
    if len(runs) == 1 and runs[0].ok and runs[0].transcript is not None:
        document: Any = to_canonical(runs[0].transcript)
    else:
        document = {"jobs": entries}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def _entry(file_run: FileRun) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": str(file_run.path)}
    if file_run.refused is not None:
        entry.update(status="refused", error_message=file_run.refused)
        return entry
    job = file_run.job
    if job is None:
        entry["status"] = "not_started"
        return entry
    entry.update(job_id=str(job.job_id), status=job.status.value)
    if file_run.transcript is not None:
        entry["result"] = to_canonical(file_run.transcript)
    if job.status is JobStatus.FAILED:
        entry.update(error_code=str(job.error_code), error_message=job.error_message)
    return entry
