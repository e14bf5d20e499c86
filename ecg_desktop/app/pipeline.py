"""The job pipeline: check -> upload -> dispatch -> (callbacks arrive through the server).

Each job runs as one asyncio task through its steps: ``UploadStep`` (``app.upload_step``)
and ``DispatchStep`` (``app.dispatch_step``), each with its own limit
(``max_parallel_uploads``, ``max_parallel_dispatches``), so a queue of big files does not
delay the dispatch of a job whose upload is done. Every change goes through
``JobStore.update`` (one transaction, the domain's state machine) and is then published on the
bus as ``JobChanged`` (``app.job_changes``); upload progress is published as
``UploadProgress`` at most every 250 ms (``app.upload_progress``). Retries are
``app.retries``.

Cancel and shutdown are told apart: ``cancel`` aborts the upload in flight and marks the job
canceled; ``close`` only stops the tasks, leaving each job as it was (with its upload state),
so the next start resumes it. An interrupted job is never silently marked canceled.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.dispatch_step import DispatchStep
from ecg_desktop.app.errors import PipelineError
from ecg_desktop.app.job_changes import JobUpdates, taken_over_by, touch
from ecg_desktop.app.ports import (
    InspectsMedia,
    JobLocks,
    JobQuery,
    JobStore,
    JobStoreUnavailable,
    MetricsSink,
    MLClient,
    MLError,
    NullMetrics,
    ObjectStorage,
    RoutesJobs,
    StorageError,
)
from ecg_desktop.app.retries import add_retry
from ecg_desktop.app.team import missing_credentials
from ecg_desktop.app.upload_step import UploadStep
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import (
    DispatchOptions,
    ErrorCode,
    IllegalTransition,
    Job,
    JobChanged,
    JobDeleted,
    JobNotFound,
    JobStatus,
    Stage,
)

logger = logging.getLogger(__name__)

# After a job store blip in a job's run, the run starts again from the stored stage after
# each of these delays (an upload resumes where its stored parts end).
STORE_RETRY_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)

WAIT_POLL_S = 2.0


class JobPipeline(ReadsSettings):
    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        storage: ObjectStorage,
        ml_client: MLClient,
        bus: EventBus,
        metrics: MetricsSink | None = None,
        *,
        callback_base_url_provider: Callable[[], str],
        inspect_media: InspectsMedia,
        locks: JobLocks,
        installation: str,
        clock: Callable[[], float] = time.monotonic,
        host: str | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._storage = storage
        self._ml = ml_client
        self._bus = bus
        self._metrics: MetricsSink = metrics or NullMetrics()
        self._inspect_media = inspect_media
        self.host = host if host is not None else socket.gethostname()
        self.installation = installation
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._stopped: set[uuid.UUID] = set()  # canceled jobs whose ML server was asked to stop
        self._locks = locks
        self._updates = JobUpdates(store, bus, self._metrics)
        self._uploads = UploadStep(
            storage, self._updates, lambda: self._settings,
            slots=settings.max_parallel_uploads, publish_progress=bus.publish, clock=clock,
            spawn=self._spawn,
        )
        self._dispatches = DispatchStep(
            storage, ml_client, self._updates, self._metrics, lambda: self._settings,
            callback_base_url_provider, slots=settings.max_parallel_dispatches,
        )
        bus.subscribe(self._on_event)

    # -- starting jobs ---------------------------------------------------------------------

    async def submit_file(
        self,
        path: str | Path,
        language: str | None = None,
        *,
        transcript: str | None = None,
        owner: str = "",
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> Job:
        """Check ``path`` (raises ``InvalidInputFile`` before anything is stored), create the
        job and start its upload and dispatch in the background."""
        problems = missing_credentials(self._settings)
        if problems:
            raise PipelineError("cannot add a job yet: " + "; ".join(problems))
        info = await self._inspect_media(Path(path))
        job = Job.new(
            filename=info.path.name,
            local_path=str(info.path.resolve()),
            size_bytes=info.size_bytes,
            content_type=info.content_type,
            duration_s=info.duration_s,
            language=language or self._settings.default_language,
            owner=owner or self._settings.user_name or os_user_name(),
            host=self.host,
            installation=self.installation,
            message="Waiting to upload",
            options=DispatchOptions(transcript, min_speakers, max_speakers),
        )
        return await self._add_and_start(job)

    async def submit_object(
        self, file_key: str, language: str, *, filename: str | None = None, owner: str = ""
    ) -> Job:
        """A job for an object already in storage (the backend's request-process): dispatch
        only. The caller has checked that the object exists."""
        job = Job.new(
            file_key=file_key,
            stage=Stage.UPLOADED,
            filename=filename or file_key.rsplit("/", 1)[-1],
            language=language or self._settings.default_language,
            owner=owner,
            host=self.host,
            installation=self.installation,
            message="Waiting to be sent to the ML server",
        )
        return await self._add_and_start(job)

    async def adopt(self, job_id: uuid.UUID) -> Job:
        """Dispatch a job that another installation created and uploaded (a team desktop
        asking the backend through request-process): this installation takes it over, so
        its watchdog and recovery look after it. Waits for the dispatch and returns the job
        as it stands then (failed when the ML server refused it); one already dispatched is
        returned as it is."""
        job = await self._store.get(job_id)
        if job.status.is_terminal or job.stage is Stage.ANALYZING:
            return job
        if job.stage not in (Stage.UPLOADED, Stage.DISPATCHING):
            raise PipelineError(f"job {job_id} has not finished its upload ({job.stage})")
        if job.installation != self.installation:
            await self._updates.apply(job_id, taken_over_by(self.installation))
        self.resume(job_id)
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)  # a caller that goes away does not stop the dispatch
        return await self._store.get(job_id)

    async def _add_and_start(self, job: Job) -> Job:
        await self._store.add(job)
        return self._begin(job)

    def _begin(self, job: Job) -> Job:
        self._updates.publish(job)
        self._start(job.job_id)
        return job

    def resume(self, job_id: uuid.UUID) -> bool:
        """Continue a stored job from its stage (used by recovery). False if already running."""
        if self.is_running(job_id):
            return False
        self._start(job_id)
        return True

    def is_running(self, job_id: uuid.UUID) -> bool:
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    def _start(self, job_id: uuid.UUID) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
        self._tasks[job_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(job_id) is done:
                del self._tasks[job_id]

        task.add_done_callback(forget)

    # -- one job's run ---------------------------------------------------------------------

    async def _run(self, job_id: uuid.UUID) -> None:
        if not self._locks.acquire(job_id):
            logger.info("job %s is being worked on by another process; leaving it", job_id)
            return
        try:
            for delay_s in (*STORE_RETRY_DELAYS_S, None):
                try:
                    await self._run_locked(job_id)
                    return
                except JobStoreUnavailable as exc:
                    if delay_s is None:  # still away: recovery's watchdog takes it up later
                        logger.warning("job %s: the job store stays unavailable (%s); left "
                                       "as it is", job_id, exc)
                        return
                    logger.warning("job %s: the job store is unavailable (%s); trying "
                                   "again in %.0f s", job_id, exc, delay_s)
                    await asyncio.sleep(delay_s)
        finally:
            self._locks.release(job_id)

    async def _run_locked(self, job_id: uuid.UUID) -> None:
        try:
            job = await self._store.get(job_id)
            if job.status.is_terminal:
                return
            if job.stage in (Stage.QUEUED, Stage.UPLOADING):
                uploaded = await self._uploads.run(job)
                if uploaded is None:
                    return
                job = uploaded
            await self._dispatches.run(job)
        except asyncio.CancelledError:
            raise
        except (IllegalTransition, JobNotFound) as exc:
            # Canceled or deleted elsewhere (another window, the server's DELETE) meanwhile.
            logger.info("job %s stopped: %s", job_id, exc)
        except JobStoreUnavailable:
            raise  # a blip, not the job's fault: _run tries again from the stored stage
        except Exception as exc:
            logger.exception("job %s: unexpected failure", job_id)
            await self._updates.fail(job_id, ErrorCode.UNKNOWN_ERROR, f"unexpected error: {exc!r}")

    # -- user actions ----------------------------------------------------------------------

    async def cancel(self, job_id: uuid.UUID) -> Job:
        """Cancel at any stage: stops the task, aborts an upload in flight, marks canceled.

        A dispatched job's server is asked to stop (``stop_on_server``); whatever it sends
        later is answered ``already_canceled``. A job that already ended is returned unchanged.
        """
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        job = await self._store.get(job_id)
        if job.status.is_terminal:
            return job
        await self._uploads.abort(job)
        try:
            job = await self._updates.apply(job_id, Job.cancel)
        except IllegalTransition:
            # It ended meanwhile: canceled on another desktop, or its result came in.
            return await self._store.get(job_id)
        self._metrics.inc("jobs_total", outcome="canceled", error_code="")
        if job.stage in (Stage.DISPATCHING, Stage.ANALYZING) and job_id not in self._stopped:
            self._stopped.add(job_id)  # (``_on_event`` may have asked already)
            self._spawn(self.stop_on_server(job_id, job.ml_server))
        return job

    async def stop_on_server(self, job_id: uuid.UUID, server: str) -> bool:
        """Ask the ML server that has the job to stop its work (the reference analyzer can;
        a server without a cancel goes on, and its later callbacks are ignored)."""
        if not isinstance(self._ml, RoutesJobs):
            return False
        try:
            stopped = await self._ml.cancel_on(server, job_id)
        except MLError as exc:
            logger.info("job %s: could not ask %s to stop: %s", job_id, server or "the server", exc)
            return False
        logger.info("job %s: %s %s", job_id, server or "the ML server",
                    "stopped its work" if stopped else "had no work to stop")
        return stopped

    def _on_event(self, event: object) -> None:
        """A job canceled elsewhere (another desktop, seen through team sync) stops here; and
        when this installation dispatched it (a team backend sending a desktop's job on), its
        ML server is asked to stop: the desktop cannot ask it."""
        if not isinstance(event, JobChanged) or event.job.status is not JobStatus.CANCELED:
            return
        job = event.job
        if (
            job.installation == self.installation
            and job.stage in (Stage.DISPATCHING, Stage.ANALYZING)
            and job.job_id not in self._stopped
        ):
            self._stopped.add(job.job_id)
            self._spawn(self.stop_on_server(job.job_id, job.ml_server))
        task = self._tasks.get(event.job.job_id)
        if task is None or task.done() or task is asyncio.current_task():
            return
        self._spawn(self._stop_canceled(event.job.job_id, task))

    async def _stop_canceled(self, job_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        logger.info("job %s was canceled elsewhere; stopping its work here", job_id)
        task.cancel()
        await asyncio.wait({task})
        with contextlib.suppress(JobNotFound):
            await self._uploads.abort(await self._store.get(job_id))

    async def retry(
        self,
        job_id: uuid.UUID,
        *,
        language: str | None = None,
        options: DispatchOptions | None = None,
    ) -> Job:
        """A new job that redoes a failed or canceled one from the step that failed, done by
        this installation (``app.retries.add_retry``: the stored video is reused when it is
        still there; ``language`` and ``options`` replace the old attempt's)."""
        job, added = await add_retry(
            self._store, self._storage, job_id, host=self.host, installation=self.installation,
            language=language, options=options,
        )
        return self._begin(job) if added else job

    async def delete(self, job_id: uuid.UUID, *, delete_object: bool = False) -> None:
        """Remove the job (canceling it first if it is still going), and its stored video
        when asked and no other job (a retry) still refers to it."""
        job = await self._store.get(job_id)
        if not job.status.is_terminal:
            job = await self.cancel(job_id)
        await self._store.delete(job_id)
        self._bus.publish(JobDeleted(job_id))
        if job.retry_of is not None:
            # A new family of retry ids for the old job: this one's is never used again.
            with contextlib.suppress(JobNotFound):
                await self._updates.apply(job.retry_of, touch)
        if delete_object and job.file_key and job.upload is None:
            others = await self._store.list(JobQuery(text=job.file_key, limit=10))
            if any(o.file_key == job.file_key for o in others):
                logger.info("keeping %s: another job still uses it", job.file_key)
                return
            try:
                await self._storage.delete(job.file_key)
            except StorageError as exc:
                raise PipelineError(f"the job was deleted but its video was not: {exc}") from exc

    async def wait_for(
        self, job_id: uuid.UUID, timeout_s: float | None = None, *, poll_s: float | None = None
    ) -> Job:
        """The job once it is terminal (events, with a slow poll of the store every
        ``poll_s``, default ``WAIT_POLL_S``, as a safety net for changes made by another
        process sharing the store; longer when team sync brings those as events)."""
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[Job] = loop.create_future()

        def on_event(event: object) -> None:
            if ended.done():
                return
            if (
                isinstance(event, JobChanged)
                and event.job.job_id == job_id
                and event.job.status.is_terminal
            ):
                ended.set_result(event.job)
            elif isinstance(event, JobDeleted) and event.job_id == job_id:
                ended.set_exception(JobNotFound(job_id))

        unsubscribe = self._bus.subscribe(on_event)
        deadline = None if timeout_s is None else loop.time() + timeout_s
        try:
            while True:
                job = await self._store.get(job_id)
                if job.status.is_terminal:
                    return job
                wait_s = WAIT_POLL_S if poll_s is None else poll_s
                if deadline is not None:
                    wait_s = min(wait_s, deadline - loop.time())
                    if wait_s <= 0:
                        raise TimeoutError(f"job {job_id} still {job.status} after {timeout_s} s")
                await asyncio.wait({ended}, timeout=wait_s)
                if ended.done():
                    return ended.result()
        finally:
            unsubscribe()
            if not ended.done():
                ended.cancel()

    async def close(self) -> None:
        """Stop every task without changing any job: the next start resumes them."""
        tasks = [*self._tasks.values(), *self._side_tasks]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- helpers ---------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)


def os_user_name() -> str:
    """Who is logged in, for a job's owner when no user name is configured."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (a bare container)
        return ""
