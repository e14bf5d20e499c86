"""Team mode: every desktop sees every job change, live, through the shared PostgreSQL store.

Each committed job change sends ``pg_notify('ecg_jobs', job_id)`` (see ``store/notify.py``).
``TeamSync`` consumes a listener of those notices, reads each job that changed and publishes
``JobChanged`` on this process's bus (``JobDeleted`` when the job is gone), so the queue of
every desktop follows changes made by other desktops and by the ``serve`` instance without
polling. Notices for one job that arrive while its read is pending are merged into one read.

Anything the listener yields that is not a job id means notices may have been missed (the
connection dropped and came back): the jobs changed since the newest change seen (minus a
margin for clock skew between writers) are read again, and every job this desktop knows of
that is no longer in the store is announced as deleted, so no stale row stays on screen.

The link's state is published as ``TeamConnectionChanged`` (``"connected"`` /
``"reconnecting"``) for the status bar; ``state`` holds the current one.

Another member's job is published without the paths of their computer (``shown_to``).

A desktop's own changes come back as notices too; a job whose row ``version`` is not newer
than the one last published on this bus is not published again. The version, raised by one
with each committed change, orders changes: ``updated_at`` comes from each writer's clock,
and a desktop whose clock is behind would make the others skip its changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import ObjectStorage, StorageError
from ecg_desktop.config import ConfigError, Settings
from ecg_desktop.domain import Event, Job, JobChanged, JobDeleted, JobNotFound
from ecg_desktop.domain.events import TeamConnectionChanged

logger = logging.getLogger(__name__)

CONNECTED = "connected"
RECONNECTING = "reconnecting"
CATCH_UP_PAGE = 1000
_LISTENER_STATES = {"listening": CONNECTED, "reconnecting": RECONNECTING}


class ChangeReader(Protocol):
    """What ``TeamSync`` reads (``SqlJobStore`` satisfies it)."""

    async def get(self, job_id: uuid.UUID) -> Job: ...

    async def changed_since(self, since: datetime, limit: int = 1000) -> list[Job]: ...


class TeamSync:
    """Turns job-change notices into bus events; see the module docstring.

    ``listener`` yields job ids (``uuid.UUID``) and, after a reconnection, a marker (any
    other value). ``known_ids`` (settable later, e.g. by the window) adds job ids shown on
    screen that this bus never carried (a queue loaded straight from the store), so their
    deletion is noticed after a reconnection too.
    """

    def __init__(
        self,
        store: ChangeReader,
        bus: EventBus,
        listener: AsyncIterable[object],
        *,
        known_ids: Callable[[], Iterable[uuid.UUID]] | None = None,
        clock_margin_s: float = 2.0,
        retry_delay_s: float = 0.5,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        viewer: str = "",
    ) -> None:
        self._store = store
        self._viewer = viewer  # who this desktop shows jobs to: others' local paths are cut
        self._bus = bus
        self._listener = listener
        self.known_ids = known_ids
        self._margin = timedelta(seconds=clock_margin_s)
        self._retry_delay_s = retry_delay_s
        self._now = now
        self._published: dict[uuid.UUID, int] = {}  # job -> row version last on the bus
        self._deleted: set[uuid.UUID] = set()
        self._last_seen: datetime | None = None
        self._pending: dict[uuid.UUID, None] = {}  # ordered set of jobs to read
        self._catch_up_due = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self.state = "connecting"
        self._connected = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        self._last_seen = self._now()
        self._unsubscribe = self._bus.subscribe(self._observe)
        self._tasks = [
            asyncio.create_task(self._consume(), name="team-sync-listen"),
            asyncio.create_task(self._read_loop(), name="team-sync-read"),
        ]

    async def stop(self) -> None:
        close = getattr(self._listener, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks = []
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def wait_connected(self, timeout_s: float = 10.0) -> None:
        """Until notices are being received (changes committed after this are not missed)."""
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    def on_listener_state(self, state: str) -> None:
        """The listener's ``on_state`` (``"listening"``/``"reconnecting"``)."""
        self._set_state(_LISTENER_STATES.get(state, state))

    # -- what this bus already carries -----------------------------------------------------

    def _observe(self, event: Event) -> None:
        if isinstance(event, JobChanged):
            job = event.job
            self._deleted.discard(job.job_id)
            previous = self._published.get(job.job_id)
            if previous is None or job.version > previous:
                self._published[job.job_id] = job.version
            if self._last_seen is None or job.updated_at > self._last_seen:
                self._last_seen = job.updated_at
        elif isinstance(event, JobDeleted):
            self._published.pop(event.job_id, None)
            self._deleted.add(event.job_id)

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if state == CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        logger.info("team link: %s", state)
        self._bus.publish(TeamConnectionChanged(state))

    # -- the two loops ---------------------------------------------------------------------

    async def _consume(self) -> None:
        async for change in self._listener:
            if isinstance(change, uuid.UUID):
                self._pending[change] = None
            else:
                self._catch_up_due = True
            self._wake.set()

    async def _read_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The store is away (a restart): keep what is pending, try again shortly.
                logger.warning("team sync cannot read the store (%s); retrying", exc)
                self._set_state(RECONNECTING)
                await asyncio.sleep(self._retry_delay_s)
                self._wake.set()

    async def _drain(self) -> None:
        if self._catch_up_due:
            self._catch_up_due = False
            try:
                await self._catch_up()
            except BaseException:
                self._catch_up_due = True
                raise
        while self._pending:
            # Taken off before the read: a notice that comes during the read queues it again.
            job_id = next(iter(self._pending))
            del self._pending[job_id]
            try:
                await self._refresh(job_id)
            except BaseException:
                self._pending[job_id] = None
                raise
        if self.state == RECONNECTING and self._listener_is_up():
            self._set_state(CONNECTED)

    def _listener_is_up(self) -> bool:
        listening = getattr(self._listener, "listening", None)
        return bool(listening.is_set()) if isinstance(listening, asyncio.Event) else True

    async def _refresh(self, job_id: uuid.UUID) -> None:
        try:
            job = await self._store.get(job_id)
        except JobNotFound:
            if job_id not in self._deleted:
                self._bus.publish(JobDeleted(job_id))
            return
        self._publish(job)

    async def _catch_up(self) -> None:
        """Read what changed while notices could not arrive; drop rows that are gone."""
        since = (self._last_seen or self._now()) - self._margin
        present: set[uuid.UUID] = set()
        while True:
            jobs = await self._store.changed_since(since, limit=CATCH_UP_PAGE)
            for job in jobs:
                present.add(job.job_id)
                self._publish(job)
            if len(jobs) < CATCH_UP_PAGE or jobs[-1].updated_at <= since:
                break
            since = jobs[-1].updated_at
        known = set(self._published)
        if self.known_ids is not None:
            known.update(self.known_ids())
        missing = known - present - self._deleted
        for job_id in missing:
            try:
                await self._store.get(job_id)
            except JobNotFound:
                logger.info("job %s was deleted while the team link was down", job_id)
                self._bus.publish(JobDeleted(job_id))
        logger.info("team link: caught up (%d changed, %d checked)", len(present), len(missing))

    def _publish(self, job: Job) -> None:
        previous = self._published.get(job.job_id)
        if previous is not None and job.version <= previous:
            return  # already on this bus (this desktop's own change, or a repeated notice)
        self._bus.publish(JobChanged(dataclasses.replace(shown_to(job, self._viewer))))



# -- what a team desktop needs, and what it shows of others' jobs ---------------------------


def is_team_desktop(settings: Settings) -> bool:
    """Settings of a desktop working in a team (docs/team.md): a shared PostgreSQL store and
    the team backend's address. Such a desktop dispatches through the backend, with its own
    API token (``team_token``), and never holds the team's webhook secret."""
    return _is_postgresql(settings.database_url) and bool(settings.fastapi_base_url)


def missing_credentials(settings: Settings) -> list[str]:
    """What keeps this desktop from creating a job that can succeed, for the user (empty:
    nothing). A job is refused rather than left failed in a store the whole team sees."""
    problems = []
    if settings.uses_s3 and bool(settings.aws_access_key_id) != bool(
        settings.aws_secret_access_key
    ):
        problems.append(
            "the S3 secret key is missing (`ecg-desktop secrets set aws_secret_access_key`, "
            "the settings dialog, or AWS_SECRET_ACCESS_KEY)"
            if settings.aws_access_key_id
            else "the S3 access key id is missing (AWS_ACCESS_KEY_ID)"
        )
    if is_team_desktop(settings) and not settings.team_token:
        problems.append(
            "no API token for the team backend (`ecg-desktop secrets set team_token`, "
            "or ECG_TEAM_TOKEN)"
        )
    return problems


def shown_to(job: Job, viewer: str) -> Job:
    """``job`` as ``viewer`` may see it: another member's job without the paths of their
    computer (the store keeps them for the owner's recovery)."""
    if not job.owner or job.owner == viewer:
        return job
    return dataclasses.replace(job, local_path=None)


PLAYBACK_LINK_S = 3600


async def playable_source(job: Job, storage: ObjectStorage) -> str | None:
    """Where to play ``job``'s video from when it is not on this computer (another member's
    job): a short-lived link to the stored video, made when needed, since the shared store
    keeps none."""
    if not job.file_key:
        return None
    try:
        return await storage.presign_get(job.file_key, PLAYBACK_LINK_S)
    except (StorageError, RuntimeError) as exc:  # RuntimeError: an adapter closed meanwhile
        logger.warning("no link to the video of job %s: %s", job.job_id, exc)
        return None


def viewer_of(settings: Settings) -> str:
    """Who a process with ``settings`` shows jobs to: the user name, else the login name."""
    from ecg_desktop.app.pipeline import os_user_name

    return settings.user_name or os_user_name()


def viewer() -> str:
    """``viewer_of`` this user's settings (for the commands that load no core)."""
    from ecg_desktop.config import load_settings

    return viewer_of(load_settings())


def _is_postgresql(url: str) -> bool:
    return urlsplit(url).scheme.split("+", 1)[0] in ("postgresql", "postgres")


# -- the team preset -------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamPreset:
    """What a desktop needs to join a team (docs/team.md); empty optional fields keep the
    current setting."""

    database_url: str
    bucket: str
    callback_url: str
    user_name: str = ""
    s3_endpoint_url: str = ""
    aws_region: str = ""
    aws_access_key_id: str = ""
    model_server_url: str = ""


def apply_team_preset(settings: Settings, preset: TeamPreset) -> tuple[Settings, list[str]]:
    """``settings`` joined to the team, and warnings for the user; ``ConfigError`` when the
    preset cannot work (not PostgreSQL, no bucket, no callback address)."""
    if not _is_postgresql(preset.database_url):
        raise ConfigError(
            "DATABASE_URL", "team mode shares a PostgreSQL database: postgresql://user@host/db"
        )
    if not preset.bucket.strip():
        raise ConfigError("S3_BUCKET_NAME", "team mode shares one S3 bucket: name it")
    if not preset.callback_url.strip():
        raise ConfigError("FASTAPI_BASE_URL", "the team backend's address is required")
    changes: dict[str, str] = {
        "database_url": preset.database_url.strip(),
        "s3_bucket_name": preset.bucket.strip(),
        "fastapi_base_url": preset.callback_url.strip().rstrip("/"),
    }
    optional = {
        "user_name": preset.user_name,
        "s3_endpoint_url": preset.s3_endpoint_url,
        "aws_region": preset.aws_region,
        "aws_access_key_id": preset.aws_access_key_id,
        "model_server_url": preset.model_server_url,
    }
    changes.update({name: value.strip() for name, value in optional.items() if value.strip()})
    joined = settings.with_changes(**changes)
    return joined, _preset_warnings(joined)


def _preset_warnings(settings: Settings) -> list[str]:
    warnings = []
    host = urlsplit(settings.fastapi_base_url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        warnings.append(
            f"the callback address {settings.fastapi_base_url} is loopback: only an ML server "
            "on the same machine as the team backend can reach it"
        )
    if urlsplit(settings.database_url).password:
        warnings.append(
            "the database URL carries a password: a ~/.pgpass entry (or PGPASSFILE) keeps it "
            "out of the app's settings, and every program using the database reads it"
        )
    if not settings.user_name:
        warnings.append("no user name: jobs are recorded under the login name")
    return warnings
