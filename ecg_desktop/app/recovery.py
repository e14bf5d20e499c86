"""What keeps jobs alive through crashes, restarts and lost callbacks.

At start-up (``recover``), for every unfinished job this installation looks after (``owns``):

- queued or uploading, local file still there: the upload resumes from its recorded parts
  (the storage adapter checks them against the server) and the job goes on to dispatch;
- queued or uploading, local file gone: failed with ``UPLOAD_ERROR``, saying so;
- uploaded: dispatched;
- dispatching (the app died during the request, so the ML server may or may not have it):
  asked; a job the server knows is reconciled, an unknown one is dispatched again;
- analyzing: reconciled (below).

Reconciling asks the ML server for the job (PROTOCOL.md 2.3): ``completed`` with a result ->
stored exactly as the callback would have (normalised, in the same transaction that completes
the job; a big one by the callbacks' worker process, ``big_results.store_in_worker``);
``completed`` without a result, or no record at all -> ``CALLBACK_LOST``; ``failed``
-> failed with the server's code and reason; still working -> its progress is recorded, which
also restarts the watchdog's clock. When the server cannot be asked, nothing changes.

The watchdog reconciles any job that has had no callback for ``callback_watchdog_s``.
Reconciling asks the server that took the job (``Job.ml_server``). With several servers
(``mlclient.pool``), a job whose server does not answer the watchdog is sent to another one
(``_move``), and one caught dispatching at start-up is dispatched again.
No interrupted job is ever marked canceled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecg_desktop.app.big_results import store_in_worker
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callback_body import spill_folder
from ecg_desktop.app.callbacks import LARGE_BODY, Rejected, Stored, WorkerFailed
from ecg_desktop.app.pipeline import JobPipeline, os_user_name
from ecg_desktop.app.ports import (
    JobQuery,
    JobStore,
    MetricsSink,
    MLClient,
    MLError,
    NullMetrics,
    RemoteJobStatus,
    ResultRecord,
    RoutesJobs,
    WorkerProcess,
    result_json_text,
)
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import (
    ErrorCode,
    IllegalTransition,
    InvalidResult,
    Job,
    JobChanged,
    JobNotFound,
    JobStatus,
    Stage,
    normalize,
)

logger = logging.getLogger(__name__)

PAGE = 500
WITHDRAW_EVERY_S = 5.0  # how often servers a job moved away from are asked to drop it


@dataclass
class RecoveryReport:
    resumed: list[uuid.UUID] = field(default_factory=list)
    reconciled: dict[uuid.UUID, str] = field(default_factory=dict)  # job -> what happened
    failed: list[uuid.UUID] = field(default_factory=list)
    unreachable: list[uuid.UUID] = field(default_factory=list)


class Recovery(ReadsSettings):
    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        ml_client: MLClient,
        pipeline: JobPipeline,
        bus: EventBus,
        metrics: MetricsSink | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        result_worker: WorkerProcess | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._ml = ml_client
        self._pipeline = pipeline
        self._bus = bus
        self._metrics: MetricsSink = metrics or NullMetrics()
        self._now = now
        self._worker = result_worker  # stores big results, as for big callbacks
        self._watchdog: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._left_servers: dict[uuid.UUID, set[str]] = {}  # moved jobs: their earlier servers
        self._tasks: set[asyncio.Task[None]] = set()
        self._withdrawer: asyncio.Task[None] | None = None
        bus.subscribe(self._on_event)


    # -- start-up --------------------------------------------------------------------------

    async def recover(self) -> RecoveryReport:
        report = RecoveryReport()
        async with self._lock:
            for job in await self._open_jobs():
                await self._recover_one(job, report)
        if report.resumed or report.reconciled or report.failed:
            logger.info(
                "recovery: %d resumed, %d reconciled, %d failed, %d not reachable",
                len(report.resumed),
                len(report.reconciled),
                len(report.failed),
                len(report.unreachable),
            )
        return report

    async def _recover_one(self, job: Job, report: RecoveryReport) -> None:
        if self._pipeline.is_running(job.job_id):
            return
        if job.stage in (Stage.QUEUED, Stage.UPLOADING):
            if await _is_file(job.local_path):
                self._pipeline.resume(job.job_id)
                report.resumed.append(job.job_id)
            else:
                reason = (
                    f"the upload was interrupted and the local file {job.local_path} is gone; "
                    "add the file again"
                )
                if await self._fail(job.job_id, ErrorCode.UPLOAD_ERROR, reason):
                    report.failed.append(job.job_id)
        elif job.stage is Stage.UPLOADED:
            self._pipeline.resume(job.job_id)
            report.resumed.append(job.job_id)
        elif job.stage is Stage.DISPATCHING:
            outcome = await self.reconcile(job, unknown_means_lost=False)
            if outcome == "unknown" or (outcome == "unreachable" and self._can_move(job)):
                self._pipeline.resume(job.job_id)
                report.resumed.append(job.job_id)
            else:
                _note(report, job.job_id, outcome)
        else:
            _note(report, job.job_id, await self.reconcile(job))

    # -- reconciliation --------------------------------------------------------------------

    async def reconcile(self, job: Job, *, unknown_means_lost: bool = True) -> str:
        """Bring ``job`` in line with what the ML server says; returns what happened
        (``completed``, ``failed``, ``lost``, ``working``, ``unknown``, ``unreachable``)."""
        try:
            remote = await self._remote_status(job)
        except MLError as exc:
            logger.warning("job %s: cannot ask the ML server (%s); unchanged", job.job_id, exc)
            return "unreachable"
        if remote is None:
            if not unknown_means_lost:
                return "unknown"
            await self._fail(
                job.job_id,
                ErrorCode.CALLBACK_LOST,
                "no result arrived and the ML server has no record of this job "
                "(it may have restarted); retry the job",
            )
            return "lost"
        if remote.status == "completed":
            if remote.result is None:
                await self._fail(
                    job.job_id,
                    ErrorCode.CALLBACK_LOST,
                    "the ML server reports this job completed, but its result never arrived "
                    "and the server does not offer it; retry the job",
                )
                return "lost"
            return await self._store_result(job.job_id, remote.result, remote.message)
        if remote.status == "canceled":  # the reference analyzer's cancel, sent by no one here
            await self._fail(
                job.job_id, ErrorCode.PROCESSING_ERROR,
                "the ML server canceled this job (not this app); retry the job",
            )
            return "failed"
        if remote.status == "failed":
            code = _error_code(remote.error_code)
            reason = remote.error_message or remote.message or "the ML server reports a failure"
            await self._fail(job.job_id, code, reason)
            return "failed"
        await self._record_progress(job.job_id, remote.progress, remote.message)
        return "working"

    async def _remote_status(self, job: Job) -> RemoteJobStatus | None:
        """What the server that took ``job`` says of it (any server, when not known)."""
        if job.ml_server and isinstance(self._ml, RoutesJobs):
            return await self._ml.job_status_on(job.ml_server, job.job_id)
        return await self._ml.job_status(job.job_id)

    def _can_move(self, job: Job) -> bool:
        """Whether another ML server may take ``job`` (a pool of several)."""
        return isinstance(self._ml, RoutesJobs) and self._ml.can_move_from(job.ml_server)

    async def _move(self, job: Job, why: str) -> str:
        """Send ``job`` to another server: its object is still in storage, so it is only
        dispatched again (the pool avoids the server that stopped answering). A late
        result from the first server still counts, once (first terminal wins); then the
        other server is asked to stop (``_stop_others``)."""
        if self._pipeline.is_running(job.job_id):
            return "working"
        logger.warning("job %s: %s; sending it to another ML server", job.job_id, why)
        if job.ml_server:
            self._left_servers.setdefault(job.job_id, set()).add(job.ml_server)
            if self._withdrawer is None or self._withdrawer.done():
                self._withdrawer = asyncio.create_task(
                    self._withdraw_from_left_servers(), name="withdraw-moved-jobs")
        self._pipeline.resume(job.job_id)
        return "moved"

    def _on_event(self, event: object) -> None:
        """A moved job that ended: the servers still working on it are asked to stop."""
        if not isinstance(event, JobChanged) or not event.job.status.is_terminal:
            return
        left = self._left_servers.pop(event.job.job_id, None)
        if left:
            servers = left | {event.job.ml_server} - {""}
            task = asyncio.create_task(self._stop_others(event.job.job_id, servers))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _withdraw_from_left_servers(self) -> None:
        """Until each server a job moved away from answers, ask it every few seconds to drop
        the job: a reference analyzer that comes back reports the jobs it was running as
        failed (after ``ECG_ANALYZER_INTERRUPTED_DELAY``, 30 s), which would end a job now
        running elsewhere (first terminal wins)."""
        assert isinstance(self._ml, RoutesJobs)
        while self._left_servers:
            for job_id, servers in list(self._left_servers.items()):
                try:
                    current = (await self._store.get(job_id)).ml_server
                except JobNotFound:
                    current = None
                if current is None:  # deleted
                    self._left_servers.pop(job_id, None)
                    continue
                for server in sorted(servers):
                    if server == current:  # not moved yet, or moved back: never stop it there
                        continue
                    with contextlib.suppress(MLError):  # not back yet: ask again later
                        await self._ml.cancel_on(server, job_id)
                        servers.discard(server)
                        logger.info("job %s: %s was told to drop it", job_id, server)
                if not servers:
                    self._left_servers.pop(job_id, None)
            await asyncio.sleep(WITHDRAW_EVERY_S)

    async def _stop_others(self, job_id: uuid.UUID, servers: set[str]) -> None:
        for server in sorted(servers):  # one that delivered the result has nothing to stop
            await self._pipeline.stop_on_server(job_id, server)

    async def _store_result(
        self, job_id: uuid.UUID, raw: Mapping[str, Any], message: str | None
    ) -> str:
        result_json = None
        if self._worker is not None:
            result_json = await asyncio.to_thread(result_json_text, raw)
            if len(result_json) > LARGE_BODY:
                return await self._store_in_worker(job_id, result_json, message)
        try:
            transcript = await asyncio.to_thread(normalize, raw)
        except InvalidResult as exc:
            return await self._reject_result(job_id, str(exc))
        record = ResultRecord(raw=raw, transcript=transcript, raw_json=result_json)

        def change(job: Job) -> None:
            if job.status is JobStatus.PENDING:
                job.report_progress(job.progress)
            job.complete(speakers=len(transcript.speaker_ids), message=message or "Completed")

        try:
            job = await self._store.update(job_id, change, result=record)
        except (IllegalTransition, JobNotFound):
            return "unchanged"
        return self._completed(job)

    async def _store_in_worker(
        self, job_id: uuid.UUID, result_json: str, message: str | None
    ) -> str:
        """A big result goes the way of a big callback's: validated, normalised and stored by
        the worker process, so the loop's process neither does that work nor collects it."""
        assert self._worker is not None
        outcome = await store_in_worker(self._worker, spill_folder(self._settings.data_dir),
                                        job_id, result_json, message)
        if isinstance(outcome, Stored):
            self._bus.publish(JobChanged(outcome.job))
            return self._completed(outcome.job, published=True)
        if isinstance(outcome, Rejected):
            detail = "; ".join(str(e.get("msg")) for e in outcome.errors or []) or outcome.detail
            return await self._reject_result(job_id, detail)
        if isinstance(outcome, WorkerFailed):
            logger.error("job %s: the fetched result was not stored (%s); asking again later",
                         job_id, outcome.reason)
        return "unchanged"  # Missing, Ended: nothing to do

    async def _reject_result(self, job_id: uuid.UUID, detail: str) -> str:
        await self._fail(
            job_id, ErrorCode.PROCESSING_ERROR, f"the ML server's result is invalid: {detail}"
        )
        return "failed"

    def _completed(self, job: Job, *, published: bool = False) -> str:
        if not published:
            self._publish(job)
        self._metrics.inc("jobs_total", outcome="completed", error_code="")
        if job.dispatched_at and job.completed_at:
            seconds = (job.completed_at - job.dispatched_at).total_seconds()
            self._metrics.observe("job_processing_seconds", seconds)
        logger.info("job %s: result fetched from the ML server", job.job_id)
        return "completed"

    async def _record_progress(
        self, job_id: uuid.UUID, progress: int | None, message: str | None
    ) -> None:
        def change(job: Job) -> None:
            value = job.progress if progress is None else max(0, min(100, progress))
            job.report_progress(value, message)

        with contextlib.suppress(IllegalTransition, JobNotFound):
            self._publish(await self._store.update(job_id, change))

    async def _fail(self, job_id: uuid.UUID, code: ErrorCode, message: str) -> bool:
        try:
            job = await self._store.update(job_id, lambda j: j.fail(code, message))
        except (IllegalTransition, JobNotFound):
            return False
        logger.warning("job %s failed (%s): %s", job_id, code, message)
        self._publish(job)
        self._metrics.inc("jobs_total", outcome="failed", error_code=code.value)
        return True

    def _publish(self, job: Job) -> None:
        self._bus.publish(JobChanged(dataclasses.replace(job)))

    # -- watchdog --------------------------------------------------------------------------

    def start_watchdog(self, interval_s: float | None = None) -> None:
        if self._watchdog is None or self._watchdog.done():
            period = interval_s or min(60.0, max(1.0, self._settings.callback_watchdog_s / 4))
            self._watchdog = asyncio.create_task(self._watch(period), name="callback-watchdog")

    async def stop_watchdog(self) -> None:
        for task in (self._watchdog, self._withdrawer):
            if task is not None:
                task.cancel()
                await asyncio.wait({task})
        self._watchdog = self._withdrawer = None

    async def _watch(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await self.check_silent_jobs()
            except Exception:
                logger.exception("callback watchdog round failed")

    async def check_silent_jobs(self) -> dict[uuid.UUID, str]:
        """Reconcile every analyzing job this installation looks after that has been silent
        for ``callback_watchdog_s``; and take up, as at start-up, a job in any earlier stage
        that has not moved for as long while no pipeline of this process works on it (a job
        store blip can leave one "uploading")."""
        limit = timedelta(seconds=self._settings.callback_watchdog_s)
        outcomes: dict[uuid.UUID, str] = {}
        async with self._lock:
            for job in await self._open_jobs():
                if job.status is not JobStatus.PROCESSING or job.stage is not Stage.ANALYZING:
                    if (not self._pipeline.is_running(job.job_id)
                            and self._now() - job.updated_at >= limit):
                        outcomes[job.job_id] = await self._take_up_stalled(job)
                    continue
                last = job.last_callback_at or job.dispatched_at or job.updated_at
                if self._now() - last >= limit:
                    logger.info(
                        "job %s: no callback since %s; asking the ML server",
                        job.job_id,
                        last.isoformat(),
                    )
                    outcome = await self.reconcile(job)
                    if outcome == "unreachable" and self._can_move(job):
                        outcome = await self._move(job, f"{job.ml_server} does not answer")
                    outcomes[job.job_id] = outcome
        return outcomes

    async def _take_up_stalled(self, job: Job) -> str:
        logger.info("job %s: stalled at %s since %s; taking it up again", job.job_id,
                    job.stage.value, job.updated_at.isoformat())
        report = RecoveryReport()
        await self._recover_one(job, report)
        if report.resumed:
            return "resumed"
        if report.failed:
            return "failed"
        return "unreachable" if report.unreachable else report.reconciled.get(job.job_id, "")

    def owns(self, job: Job) -> bool:
        """Whether this installation looks after ``job`` (app/installation.py): the one
        working on it; while its video is still only on a computer, also only for the user
        who added it. Jobs from before installation ids: by host name, as then."""
        pipeline = self._pipeline
        if not job.installation:
            return job.host in ("", pipeline.host)
        if job.installation != pipeline.installation:
            return False
        if job.stage in (Stage.QUEUED, Stage.UPLOADING):
            return job.owner in ("", self._settings.user_name or os_user_name())
        return True

    async def _open_jobs(self) -> list[Job]:
        jobs: list[Job] = []
        for status in (JobStatus.PENDING, JobStatus.PROCESSING):
            offset = 0
            while True:
                page = await self._store.list(JobQuery(status=status, limit=PAGE, offset=offset))
                jobs.extend(j for j in page if self.owns(j))
                if len(page) < PAGE:
                    break
                offset += PAGE
        return jobs


async def _is_file(path: str | None) -> bool:
    return bool(path) and await asyncio.to_thread(Path(path or "").is_file)


def _note(report: RecoveryReport, job_id: uuid.UUID, outcome: str) -> None:
    if outcome == "unreachable":
        report.unreachable.append(job_id)
    else:
        report.reconciled[job_id] = outcome


def _error_code(value: str | None) -> ErrorCode:
    try:
        return ErrorCode(value or ErrorCode.PROCESSING_ERROR)
    except ValueError:
        return ErrorCode.PROCESSING_ERROR
