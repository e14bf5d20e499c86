"""`ecg-desktop jobs list|show|delete`: the job store from a terminal.

Exit codes: 0 done, 1 no such job or deletion declined, 2 bad configuration or a store
that cannot be reached or is damaged (one line on stderr says which).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ecg_desktop.app.ports import JobQuery, JobStoreError
from ecg_desktop.app.team import shown_to, viewer
from ecg_desktop.config import ConfigError
from ecg_desktop.domain import Job, JobStatus, Transcript
from ecg_desktop.store import SqlJobStore
from ecg_desktop.store.rows import plain_job_fields

from . import CANNOT_DO, fail
from .db import database_url
from .job_ids import JobIdError, resolve_job


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "jobs",
        help="list, show or delete jobs in the job store",
        description="Jobs in the job store (DATABASE_URL, or SQLite in the data folder).",
    )
    parser.add_argument("--database-url", help="job store URL (default: DATABASE_URL or SQLite)")
    actions = parser.add_subparsers(dest="jobs_action", metavar="ACTION")

    listing = actions.add_parser("list", help="jobs, newest first")
    listing.add_argument("--status", choices=[s.value for s in JobStatus])
    listing.add_argument("--owner", help="only this user's jobs")
    listing.add_argument("--search", help="text in the file name or storage key")
    listing.add_argument("--limit", type=_positive, default=50, help="at most N jobs (50)")
    listing.add_argument("--offset", type=_not_negative, default=0, help="skip N jobs")
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = actions.add_parser("show", help="one job in detail")
    show.add_argument("job_id", help="job id (or a unique start of one)")
    show.add_argument("--json", action="store_true", help="print JSON")

    delete = actions.add_parser("delete", help="delete a job and its transcript")
    delete.add_argument("job_id", help="job id (or a unique start of one)")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask")
    parser.set_defaults(handler=run, jobs_action="list", status=None, owner=None, search=None,
                        limit=50, offset=0, json=False)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        url = database_url(args)
        return asyncio.run(_run(args, url))
    except (ConfigError, JobStoreError) as exc:
        return fail(str(exc))


async def _run(args: argparse.Namespace, url: str) -> int:
    from ecg_desktop.bootstrap import open_job_store  # the adapters only when they are used

    store = await open_job_store(url)
    try:
        if args.jobs_action == "list":
            return await _list(store, args)
        try:
            job = await resolve_job(store, args.job_id)
        except JobIdError as exc:
            return fail(str(exc), code=CANNOT_DO)
        if args.jobs_action == "show":
            return await _show(store, shown_to(job, viewer()), as_json=args.json)
        return await _delete(store, job, assume_yes=args.yes)
    finally:
        await store.close()


# -- list ----------------------------------------------------------------------------------


async def _list(store: SqlJobStore, args: argparse.Namespace) -> int:
    query = JobQuery(
        status=JobStatus(args.status) if args.status else None,
        owner=args.owner,
        text=args.search,
        limit=args.limit,
        offset=args.offset,
    )
    me = viewer()
    jobs = [shown_to(job, me) for job in await store.list(query)]
    if args.json:
        print(json.dumps([job_json(j) for j in jobs], indent=2, ensure_ascii=False))
        return 0
    total = await store.count(query)
    print(render_table(
        ["ID", "STATUS", "STAGE", "PROGRESS", "CREATED", "OWNER", "FILE"],
        [[str(j.job_id)[:8], j.status.value, j.stage.value, f"{j.progress}%",
          _local(j.created_at), j.owner, j.filename or (j.file_key or "")] for j in jobs],
    ))
    shown = f"{len(jobs)} of {total} jobs" if total != len(jobs) else f"{total} jobs"
    print(f"{shown} in {store.describe()}")
    return 0


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def job_json(job: Job) -> dict[str, Any]:
    upload = job.upload
    return {
        "job_id": str(job.job_id),
        "status": job.status.value,
        "stage": job.stage.value,
        "progress": job.progress,
        "message": job.message,
        **plain_job_fields(job),
        "error_code": job.error_code.value if job.error_code else None,
        "error_message": job.error_message,
        "upload": None if upload is None else {
            "upload_id": upload.upload_id, "part_size": upload.part_size,
            "file_size": upload.file_size, "parts_done": len(upload.parts),
            "bytes_done": upload.bytes_done,
        },
        "retry_of": str(job.retry_of) if job.retry_of else None,
        "ml_server": job.ml_server or None,  # the ML server that took it
        **{name: (value.isoformat() if value else None) for name, value in (
            ("created_at", job.created_at), ("updated_at", job.updated_at),
            ("dispatched_at", job.dispatched_at), ("completed_at", job.completed_at),
            ("last_callback_at", job.last_callback_at),
        )},
    }


# -- show ----------------------------------------------------------------------------------


def _transcript_summary(transcript: Transcript) -> dict[str, Any]:
    return {
        "duration_s": round(transcript.duration, 3),
        "segments": len(transcript.segments),
        "words": sum(len(s.words) for s in transcript.segments),
        "features_measured": transcript.features_measured,
        "speakers": [
            {"speaker_id": s.speaker_id, "name": s.name, "speaking_time_s": s.speaking_time,
             "segments": s.segment_count, "words": s.word_count}
            for s in transcript.speaker_stats()
        ],
    }


async def _show(store: SqlJobStore, job: Job, *, as_json: bool) -> int:
    transcript = await store.get_transcript(job.job_id)
    summary = _transcript_summary(transcript) if transcript else None
    if as_json:
        print(json.dumps({**job_json(job), "transcript": summary}, indent=2, ensure_ascii=False))
        return 0
    fields = job_json(job)
    upload = fields.pop("upload")
    rows = [[name, "" if value is None else str(value)] for name, value in fields.items()]
    if upload:
        rows.append(["upload", f"{upload['parts_done']} parts, {upload['bytes_done']} of "
                               f"{upload['file_size']} bytes"])
    print(render_table(["FIELD", "VALUE"], rows))
    if summary:
        print()
        print(f"Transcript: {summary['segments']} segments, {summary['words']} words, "
              f"{summary['duration_s']:.1f} s"
              + ("" if summary["features_measured"] else " (features not measured)"))
        print(render_table(
            ["SPEAKER", "NAME", "SPEAKING", "SEGMENTS", "WORDS"],
            [[s["speaker_id"], s["name"], f"{s['speaking_time_s']:.1f} s", str(s["segments"]),
              str(s["words"])] for s in summary["speakers"]],
        ))
    return 0


# -- delete --------------------------------------------------------------------------------


async def _delete(store: SqlJobStore, job: Job, *, assume_yes: bool) -> int:
    label = f"{job.job_id} ({job.filename or job.file_key or 'no file'}, {job.status.value})"
    if not assume_yes:
        if not sys.stdin.isatty():
            return fail(f"not deleting {label} without --yes", code=CANNOT_DO)
        answer = await asyncio.to_thread(input, f"Delete job {label} and its transcript? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Not deleted.")
            return 1
    await store.delete(job.job_id)
    print(f"Deleted job {label}.")
    return 0
