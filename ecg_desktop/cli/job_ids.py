"""Job ids as typed in a terminal: a whole UUID, or a unique start of one (as git takes a
short commit hash). ``jobs list`` prints the first 8 characters, and every command that takes
a job id (``export``, ``jobs show``, ``jobs delete``) resolves what was typed here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

from ecg_desktop.app.ports import JobQuery, JobStore
from ecg_desktop.domain import Job, JobNotFound

MIN_PREFIX = 4  # shorter prefixes match too much to be a deliberate choice
PAGE = 1000
SHOWN_MATCHES = 10


class JobIdError(LookupError):
    """What was typed names no job, or several; the message says which and lists them."""


async def resolve_job(store: JobStore, text: str) -> Job:
    """The job ``text`` names: its whole id, or the start of exactly one job's id
    (dashes and case ignored). Raises ``JobIdError`` otherwise."""
    typed = text.strip()
    try:
        return await store.get(uuid.UUID(typed))
    except ValueError:
        pass  # not a whole UUID: a prefix
    except JobNotFound:
        raise JobIdError(f"job {typed} not found") from None
    prefix = typed.lower().replace("-", "")
    if len(prefix) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
        raise JobIdError(
            f"{typed!r} is not a job id: give a UUID or at least its first {MIN_PREFIX} "
            "hex digits (as `jobs list` shows them)")
    matches = [job async for job in _jobs(store) if job.job_id.hex.startswith(prefix)]
    if not matches:
        raise JobIdError(f"job {typed} not found: no job id starts with it")
    if len(matches) > 1:
        raise JobIdError(f"{typed} is ambiguous: {len(matches)} jobs start with it:\n"
                         + _listing(matches))
    return matches[0]


async def resolve_job_ids(store: JobStore, texts: Sequence[str]) -> list[uuid.UUID]:
    """``resolve_job`` for each of ``texts``, in order."""
    return [(await resolve_job(store, text)).job_id for text in texts]


async def _jobs(store: JobStore) -> AsyncIterator[Job]:
    offset = 0
    while True:
        page = await store.list(JobQuery(limit=PAGE, offset=offset))
        for job in page:
            yield job
        if len(page) < PAGE:
            return
        offset += len(page)


def _listing(jobs: Sequence[Job]) -> str:
    lines = [f"  {job.job_id}  {job.status.value:<10} {job.filename or job.file_key or ''}"
             for job in jobs[:SHOWN_MATCHES]]
    if len(jobs) > SHOWN_MATCHES:
        lines.append(f"  ... and {len(jobs) - SHOWN_MATCHES} more")
    return "\n".join(lines)
