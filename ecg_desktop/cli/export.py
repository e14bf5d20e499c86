"""`ecg-desktop export JOB_ID... --format json|csv|srt|vtt|txt [--output PATH]`.

Without ``--output`` the export goes to standard output. With a directory (an existing one, or
a path ending in ``/``), one file per job; with a file name, one combined file.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from ecg_desktop.app.exports import (
    ExportError,
    ExportFormat,
    export_jobs,
    load_for_export,
    render_many,
)
from ecg_desktop.cli import CANNOT_DO, fail
from ecg_desktop.domain import JobNotFound

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export transcripts (json, csv, srt, vtt, txt)",
        description="Export the reviewed transcripts of completed jobs, with the user's edits.",
    )
    parser.add_argument("job_ids", nargs="+", metavar="JOB_ID", help="job id (UUID)")
    parser.add_argument(
        "--format", "-f", dest="fmt", required=True, choices=[f.value for f in ExportFormat]
    )
    parser.add_argument(
        "--output", "-o", type=Path, default=None,
        help="a file, or a directory for one file per job (default: standard output)",
    )
    parser.add_argument(
        "--timestamps", action="store_true", help="txt: start each segment with its time range"
    )
    parser.set_defaults(handler=run)


def _parse_ids(raw: list[str]) -> list[uuid.UUID]:
    ids = []
    for text in raw:
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            raise ExportError(f"{text!r} is not a job id (expected a UUID)") from None
    return ids


async def _open_store(url: str) -> Any:
    from ecg_desktop.store import open_store  # the store adapter, picked at the entry point

    store = open_store(url)
    return await store if inspect.isawaitable(store) else store


async def _export(args: argparse.Namespace) -> int:
    from ecg_desktop.config import load_settings

    job_ids = _parse_ids(args.job_ids)
    settings = load_settings()  # the job store's URL is not a keyring secret
    store = await _open_store(settings.effective_database_url)
    try:
        output: Path | None = args.output
        if output is None:
            items = await load_for_export(store, job_ids)
            text = await asyncio.to_thread(
                render_many, args.fmt, items, timestamps=args.timestamps
            )
            sys.stdout.write(text)
            return 0
        if str(args.output).endswith(("/", "\\")):
            await asyncio.to_thread(output.mkdir, parents=True, exist_ok=True)
        written = await export_jobs(
            store, job_ids, args.fmt, output, timestamps=args.timestamps
        )
        for path in written:
            print(path)
        return 0
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    from ecg_desktop.config import ConfigError
    from ecg_desktop.store import StoreError

    try:
        return asyncio.run(_export(args))
    except (ConfigError, StoreError) as error:
        return fail(str(error), "export")
    except (ExportError, JobNotFound) as error:
        return fail(str(error), "export", code=CANNOT_DO)
    except OSError as error:
        return fail(f"cannot write: {error}", "export", code=CANNOT_DO)
