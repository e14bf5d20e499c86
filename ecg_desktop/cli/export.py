"""`ecg-desktop export JOB_ID... --format json|csv|srt|vtt|txt [--output PATH]`.

Job ids may be shortened to a unique start (see ``cli.job_ids``). Without ``--output`` the
export goes to standard output. With a folder (an existing one, or a path ending in ``/``,
created when missing), one file per job; with a file name, one combined file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from ecg_desktop.app.exports import (
    ExportError,
    ExportFormat,
    export_jobs,
    load_for_export,
    render_many,
)
from ecg_desktop.app.ports import JobStore
from ecg_desktop.cli import CANNOT_DO, fail
from ecg_desktop.cli.job_ids import JobIdError, resolve_job_ids
from ecg_desktop.domain import JobNotFound

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export transcripts (json, csv, srt, vtt, txt)",
        description="Export the reviewed transcripts of completed jobs, with the user's edits.",
    )
    parser.add_argument("job_ids", nargs="+", metavar="JOB_ID",
                        help="job id (or a unique start of one, as `jobs list` shows)")
    parser.add_argument(
        "--format", "-f", dest="fmt", required=True, choices=[f.value for f in ExportFormat]
    )
    parser.add_argument(
        "--output", "-o", default=None,
        help="a file, or a folder for one file per job: an existing folder or a path ending "
             "in / (created when missing); default: standard output",
    )
    parser.add_argument(
        "--timestamps", action="store_true", help="txt: start each segment with its time range"
    )
    parser.set_defaults(handler=run)


def output_target(text: str) -> tuple[Path, bool]:
    """``--output`` as typed: the path, and whether it names a folder (one that exists, or
    any path ending in a separator: ``Path`` would drop that slash, so the text decides)."""
    path = Path(text).expanduser()
    return path, text.endswith(("/", "\\")) or path.is_dir()


async def _open_store(url: str) -> JobStore:
    from ecg_desktop.bootstrap import open_job_store

    return await open_job_store(url)


async def _export(args: argparse.Namespace) -> int:
    from ecg_desktop.config import load_settings

    settings = load_settings()  # the job store's URL is not a keyring secret
    store = await _open_store(settings.effective_database_url)
    try:
        job_ids = await resolve_job_ids(store, args.job_ids)
        if args.output is None:
            items = await load_for_export(store, job_ids)
            text = await asyncio.to_thread(
                render_many, args.fmt, items, timestamps=args.timestamps
            )
            sys.stdout.write(text)
            return 0
        output, is_folder = output_target(args.output)
        if is_folder:
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
    from ecg_desktop.app.ports import JobStoreError as StoreError
    from ecg_desktop.config import ConfigError

    try:
        return asyncio.run(_export(args))
    except (ConfigError, StoreError) as error:
        return fail(str(error), "export")
    except (ExportError, JobNotFound, JobIdError) as error:
        return fail(str(error), "export", code=CANNOT_DO)
    except OSError as error:
        return fail(f"cannot write: {error}", "export", code=CANNOT_DO)
