"""The job pipeline: check -> upload -> dispatch -> (callbacks arrive through the server).

Each job runs as one asyncio task. Uploads and dispatches each have their own limit
(``max_parallel_uploads``, ``max_parallel_dispatches``), so a queue of big files does not
delay the dispatch of a job whose upload is done. Every change goes through
``JobStore.update`` (one transaction, the domain's state machine) and is then published on the
bus as ``JobChanged``; upload progress is published as ``UploadProgress`` at most every 250 ms.

Cancel and shutdown are told apart: ``cancel`` aborts the upload in flight and marks the job
canceled; ``close`` only stops the tasks, leaving each job as it was (with its upload state),
so the next start resumes it. An interrupted job is never silently marked canceled.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import getpass
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any, Protocol

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import (
    DISPATCHED_TO,
    InspectsMedia,
    JobLocks,
    JobQuery,
    JobStore,
    JobStoreUnavailable,
    MLClient,
    MLError,
    MLServersBusy,
    ObjectStorage,
    RoutesJobs,
    StorageError,
)
from ecg_desktop.app.team import missing_credentials
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
    UploadProgress,
    UploadState,
)
from ecg_desktop.domain.filekeys import make_file_key

logger = logging.getLogger(__name__)

# After a job store blip in a job's run, the run starts again from the stored stage after
# each of these delays (an upload resumes where its stored parts end).
STORE_RETRY_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)

PROGRESS_INTERVAL_S = 0.25
SPEED_WINDOW_S = 5.0
WAIT_POLL_S = 2.0
MAX_RETRIES_OF_ONE_JOB = 100


def retry_job_id(job: Job, attempt: int) -> uuid.UUID:
    """The id of the ``attempt``-th retry of ``job``. Every desktop derives the same one,
    so two desktops retrying one job together insert one job: the second insert hits the
    key and the second desktop takes the first one's retry instead of dispatching again.

    The old job's ``updated_at`` is part of it, and deleting a retry touches the old job, so
    an id is never used twice (an ML server would take a reused id for the deleted job)."""
    return uuid.uuid5(job.job_id, f"retry/{job.updated_at.isoformat()}/{attempt}")


class MetricsSink(Protocol):
    """What the pipeline counts (``app.metrics.Metrics`` satisfies it)."""

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None: ...

    def observe(self, name: str, value: float, **labels: object) -> None: ...


class NullMetrics:
    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None:
        pass

    def observe(self, name: str, value: float, **labels: object) -> None:
        pass


class PipelineError(Exception):
    """A request the pipeline cannot carry out; the message is meant for the user."""


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
        self._callback_base_url = callback_base_url_provider
        self._inspect_media = inspect_media
        self._clock = clock
        self.host = host if host is not None else socket.gethostname()
        self.installation = installation
        self._upload_slots = asyncio.Semaphore(settings.max_parallel_uploads)
        self._dispatch_slots = asyncio.Semaphore(settings.max_parallel_dispatches)
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._stopped: set[uuid.UUID] = set()  # canceled jobs whose ML server was asked to stop
        self._locks = locks
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
            await self._update(job_id, _taken_over_by(self.installation))
        self.resume(job_id)
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)  # a caller that goes away does not stop the dispatch
        return await self._store.get(job_id)

    async def _add_and_start(self, job: Job) -> Job:
        await self._store.add(job)
        return self._begin(job)

    def _begin(self, job: Job) -> Job:
        self._publish(job)
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
                uploaded = await self._upload(job)
                if uploaded is None:
                    return
                job = uploaded
            await self._dispatch(job)
        except asyncio.CancelledError:
            raise
        except (IllegalTransition, JobNotFound) as exc:
            # Canceled or deleted elsewhere (another window, the server's DELETE) meanwhile.
            logger.info("job %s stopped: %s", job_id, exc)
        except JobStoreUnavailable:
            raise  # a blip, not the job's fault: _run tries again from the stored stage
        except Exception as exc:
            logger.exception("job %s: unexpected failure", job_id)
            await self._fail(job_id, ErrorCode.UNKNOWN_ERROR, f"unexpected error: {exc!r}")

    async def _upload(self, job: Job) -> Job | None:
        job_id = job.job_id
        path = Path(job.local_path or "")
        stat = await _stat_file(job.local_path)
        if stat is None:
            await self._fail(
                job_id, ErrorCode.UPLOAD_ERROR, f"the local file {path} is no longer there"
            )
            return None
        async with self._upload_slots:
            key = job.file_key or make_file_key(job.filename, user=job.owner, now=_utcnow())
            resume = (
                job.upload if job.upload and (job.upload.upload_id or job.upload.parts) else None
            )
            start_state = resume or UploadState(
                upload_id=None,
                part_size=self._settings.upload_part_size,
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
            )
            await self._update(job_id, _uploading(key, start_state, "Uploading"))
            reporter = UploadProgressReporter(job_id, self._bus.publish, self._clock)

            async def persist(state: UploadState) -> None:
                await self._update(job_id, _uploading(key, state, None))

            def restarted(reason: str) -> None:
                logger.warning("job %s: upload starts over: %s", job_id, reason)
                self._spawn(self._note(job_id, f"Upload restarted: {reason}"))

            try:
                await self._storage.upload(
                    key,
                    path,
                    job.content_type or "application/octet-stream",
                    resume=resume,
                    on_progress=reporter,
                    on_part=persist,
                    on_restart=restarted,
                )
            except StorageError as exc:
                await self._fail(job_id, ErrorCode.UPLOAD_ERROR, f"upload failed: {exc}")
                return None
            reporter.finish()
        return await self._update(job_id, _uploaded(key))

    async def _dispatch(self, job: Job) -> None:
        job_id = job.job_id
        key = job.file_key
        if key is None:
            await self._fail(job_id, ErrorCode.UPLOAD_ERROR, "the job has no stored video")
            return
        async with self._dispatch_slots:
            await self._update(job_id, _dispatching)
            while True:
                try:
                    callback_base = self._callback_base_url()
                    video_url = await self._storage.presign_get(
                        key, self._settings.s3_presigned_url_expire
                    )
                except (StorageError, RuntimeError) as exc:
                    await self._fail(
                        job_id, ErrorCode.UNKNOWN_ERROR, f"cannot prepare the dispatch: {exc}"
                    )
                    return
                try:
                    answer = await self._ml.dispatch(
                        job_id, video_url, callback_base, job.language,
                        **job.options.request_fields(),
                    )
                    break
                except MLServersBusy as busy:  # a pool of servers: wait for one, do not fail
                    await self._note(job_id, f"Waiting for an ML server: {busy}")
                    await asyncio.sleep(busy.retry_after_s)
                except MLError as exc:
                    self._metrics.inc("ml_requests_total", outcome="failed", error_code=exc.code)
                    await self._fail(job_id, _error_code(exc.code), str(exc))
                    return
            self._metrics.inc("ml_requests_total", outcome="accepted", error_code="")
        message = str(answer.get("message") or "Analyzing")
        server = str(answer.get(DISPATCHED_TO) or "")
        # A fast ML server's terminal callback may overtake this write: then nothing to do.
        with contextlib.suppress(IllegalTransition):
            await self._update(job_id, _dispatched(message, server))

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
        if job.stage is Stage.UPLOADING:
            await self._abort_upload(job_id)
        try:
            job = await self._update(job_id, Job.cancel)
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
            await self._abort_upload(job_id)

    async def _abort_upload(self, job_id: uuid.UUID) -> None:
        """Abort the upload of a job that never finished it, and remove the object when the
        final request (S3's CompleteMultipartUpload, run in a thread) completed it anyway
        while the cancel stopped the task: the job does not own that object."""
        job = await self._store.get(job_id)
        if job.file_key is None or job.stage is not Stage.UPLOADING:
            return
        try:
            await self._storage.abort(job.file_key, job.upload)
            if await self._storage.exists(job.file_key):
                logger.info("job %s: its upload finished as it was canceled; removing it", job_id)
                await self._storage.delete(job.file_key)
        except StorageError as exc:
            logger.warning("job %s: aborting the upload failed: %s", job_id, exc)

    async def retry(
        self,
        job_id: uuid.UUID,
        *,
        language: str | None = None,
        options: DispatchOptions | None = None,
    ) -> Job:
        """A new job that redoes a failed or canceled one from the step that failed.

        The stored object is reused when it is still there (no second upload); an unfinished
        multipart upload is resumed, except after a cancel, which aborted it. ``language``
        and ``options`` ("Analyse again with...") replace the old attempt's; with them a
        completed job may be analysed again too.
        """
        old = await self._store.get(job_id)
        try:
            new = old.retry(completed_too=language is not None or options is not None)
        except IllegalTransition as exc:
            raise PipelineError(str(exc)) from None
        attempt, running = await self._next_retry_slot(old)
        if running is not None:
            logger.info("job %s is already being retried as %s", job_id, running.job_id)
            return running
        # This installation does the work of the retry (its upload, its recovery).
        new = dataclasses.replace(new, job_id=retry_job_id(old, attempt), host=self.host,
                                  installation=self.installation)
        if language is not None:
            new = dataclasses.replace(new, language=language)
        if options is not None:
            new = dataclasses.replace(new, options=options)
        if old.status is JobStatus.CANCELED and new.stage is not Stage.UPLOADED:
            new = dataclasses.replace(new, upload=None, file_key=None)
        if (
            new.stage is Stage.UPLOADED
            and new.file_key is not None
            and not await self._storage.exists(new.file_key)
        ):
            logger.info("job %s: %s is gone from storage; uploading again", job_id, new.file_key)
            new = dataclasses.replace(new, stage=Stage.QUEUED, file_key=None, upload=None)
        if new.stage is not Stage.UPLOADED and await _stat_file(new.local_path) is None:
            raise PipelineError(
                f"{old.filename}: the video is neither in storage nor at "
                f"{old.local_path or 'a local path'}; add the file again"
            )
        new.message = "Retry: sending again" if new.stage is Stage.UPLOADED else "Retry: uploading"
        try:
            await self._store.add(new)
        except Exception:
            # Another desktop added the same retry (same derived id) a moment earlier.
            with contextlib.suppress(JobNotFound):
                winner = await self._store.get(new.job_id)
                logger.info("job %s was retried elsewhere at the same moment", job_id)
                return winner
            raise
        return self._begin(new)

    async def _next_retry_slot(self, old: Job) -> tuple[int, Job | None]:
        """The number of the next retry of ``old``, or the retry still running."""
        for attempt in range(MAX_RETRIES_OF_ONE_JOB):
            try:
                earlier = await self._store.get(retry_job_id(old, attempt))
            except JobNotFound:
                return attempt, None
            if not earlier.status.is_terminal:
                return attempt, earlier
        raise PipelineError("this job was retried too often; retry its newest attempt instead")

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
                await self._update(job.retry_of, _touch)
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

    async def _update(self, job_id: uuid.UUID, change: Callable[[Job], None]) -> Job:
        job = await self._store.update(job_id, change)
        self._publish(job)
        return job

    def _publish(self, job: Job) -> None:
        self._bus.publish(JobChanged(dataclasses.replace(job)))

    async def _fail(self, job_id: uuid.UUID, code: ErrorCode, message: str) -> None:
        logger.warning("job %s failed (%s): %s", job_id, code, message)
        try:
            await self._update(job_id, lambda job: job.fail(code, message))
        except (IllegalTransition, JobNotFound):
            return
        self._metrics.inc("jobs_total", outcome="failed", error_code=code.value)

    async def _note(self, job_id: uuid.UUID, message: str) -> None:
        def change(job: Job) -> None:
            if not job.status.is_terminal:
                job.message = message

        with contextlib.suppress(JobNotFound):
            await self._update(job_id, change)

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


async def _stat_file(path: str | None) -> os.stat_result | None:
    """The file's stat, or None when it is not a regular file any more."""
    if not path:
        return None

    def stat() -> os.stat_result | None:
        try:
            result = Path(path).stat()
        except OSError:
            return None
        return result if S_ISREG(result.st_mode) else None

    return await asyncio.to_thread(stat)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _error_code(value: str) -> ErrorCode:
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.UNKNOWN_ERROR


# Changes applied inside JobStore.update (under the row lock).


def _uploading(key: str, state: UploadState, message: str | None) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        job.start_upload(key, state)
        if message is not None:
            job.message = message

    return change


def _uploaded(key: str) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        job.mark_uploaded(key)
        job.message = "Uploaded"

    return change


def _touch(job: Job) -> None:
    """No change: the store's write still moves ``updated_at``."""


def _dispatching(job: Job) -> None:
    job.start_dispatch()
    job.message = "Sending to the ML server"


def _taken_over_by(installation: str) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        job.installation = installation

    return change


def _dispatched(message: str, server: str) -> Callable[[Job], None]:
    # No download link is stored: it is a credential for an hour, and the job store may be
    # shared by a team. One is made when needed (``ObjectStorage.presign_get``).
    def change(job: Job) -> None:
        callbacks_came_first = job.progress > 0 or job.stage is Stage.ANALYZING
        job.mark_dispatched()
        job.ml_server = server or job.ml_server
        if not callbacks_came_first:
            job.message = message

    return change


class UploadProgressReporter:
    """Turns the storage adapter's ``(bytes_done, bytes_total)`` calls into ``UploadProgress``
    events, at most one per ``interval`` (the last one, 100 %, always goes out). Speed is
    measured over the last few seconds, so a resumed upload does not count the parts it
    skipped."""

    def __init__(
        self,
        job_id: uuid.UUID,
        publish: Callable[[UploadProgress], None],
        clock: Callable[[], float],
        interval: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._job_id = job_id
        self._publish = publish
        self._clock = clock
        self._interval = interval
        self._last_sent: float | None = None
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._latest: tuple[int, int] | None = None
        self._sent_final = False

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        self._latest = (done, total)
        final = total > 0 and done >= total
        if final and self._sent_final:
            return
        if not final and self._last_sent is not None and now - self._last_sent < self._interval:
            return
        self._send(now, done, total)
        self._sent_final = final

    def finish(self) -> None:
        if self._latest is not None and not self._sent_final:
            _, total = self._latest
            self._send(self._clock(), total, total)
            self._sent_final = True

    def _send(self, now: float, done: int, total: int) -> None:
        self._last_sent = now
        first_t, first_done = self._samples[0]
        elapsed = now - first_t
        speed = (done - first_done) / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / speed if speed > 0 else None
        self._publish(UploadProgress(self._job_id, done, total, max(speed, 0.0), eta))
