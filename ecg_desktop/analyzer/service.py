"""The analyzer's job engine: admission, the per-job flow, progress and terminal callbacks.

Flow of one job: accepted -> (a free slot) download -> analysis in a worker process ->
completed or failed, stored on disk -> exactly one terminal callback, retried until the
backend gives a final answer. Progress callbacks are sent at most once per
``progress_interval_s`` and only ever rise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from ecg_desktop.domain import ErrorCode

from .asr import WHISPER, available_backends, default_model_label
from .callbacks import CallbackSender, callback_body, callback_url
from .config import AnalyzerConfig
from .download import download, redact
from .errors import AnalysisError
from .jobs import ACTIVE, AnalyzerJob, JobFiles
from .pipeline import AnalysisOptions
from .worker import AnalysisPool

logger = logging.getLogger(__name__)

DOWNLOAD_SPAN = (1.0, 10.0)
_FILE_KEY_PREFIX = re.compile(r"^\d{8}_\d{6}_[0-9a-f]{8}_")


class QueueFull(Exception):
    """No room for another job; ``retry_after_s`` is a fair guess of when there will be."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("the analysis queue is full")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class JobRequest:
    job_id: str
    video_url: str
    fastapi_base_url: str
    language: str = "auto"
    transcript: str | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    model: str | None = None  # a Whisper model name (an extension of the protocol)

    @property
    def filename(self) -> str:
        """The video's name, without the ``YYYYmmdd_HHMMSS_<8 hex>_`` of a backend file key."""
        name = unquote(Path(urlsplit(self.video_url).path).name)
        return _FILE_KEY_PREFIX.sub("", name) or name


class ProgressReporter:
    """Coalesces progress into at most one signed ``processing`` callback per interval."""

    def __init__(self, service: AnalyzerService, job: AnalyzerJob) -> None:
        self._service = service
        self._job = job
        self._dirty = False
        self._closed = False
        self._last_sent = 0.0
        self._sending = False
        self._task: asyncio.Task[None] | None = None

    def update(self, percent: float, message: str) -> None:
        job = self._job
        if self._closed or (percent <= job.progress and message == job.message):
            return
        job.progress = max(job.progress, round(min(percent, 99.0), 1))
        job.message = message
        job.status = "processing"
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        interval = self._service.config.progress_interval_s
        while self._dirty and not self._closed:
            wait = self._last_sent + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                if self._closed:
                    return
            self._dirty = False
            self._last_sent = time.monotonic()
            job = self._job
            body = callback_body(
                job.job_id, "processing", progress=job.progress, message=job.message
            )
            self._sending = True
            try:
                await self._service.sender.send_once(callback_url(job.fastapi_base_url), body)
            finally:
                self._sending = False

    async def close(self) -> None:
        """Stop; waits for a callback in flight so the terminal one is never overtaken."""
        self._closed = True
        task = self._task
        if task is None or task.done():
            return
        if not self._sending:
            task.cancel()  # it is only waiting for the next slot
        with contextlib.suppress(asyncio.CancelledError):
            await task


class AnalyzerService:
    def __init__(self, config: AnalyzerConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session
        self.sender = CallbackSender(
            session,
            config.webhook_secret,
            retry_for_s=config.callback_retry_for_s,
            first_delay_s=config.callback_first_delay_s,
            max_delay_s=config.callback_max_delay_s,
            timeout_s=config.callback_timeout_s,
        )
        self.backends = available_backends(config.backend_paths)
        self.model = (
            default_model_label(config.backend_paths) if self.backends[0] == WHISPER else "en-us"
        )
        self.files = JobFiles(config.results_dir / "jobs")
        self._tmp = config.results_dir / "downloads"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, AnalyzerJob] = {}
        self._slots = asyncio.Semaphore(config.concurrency)
        self._running = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runs: dict[str, asyncio.Task[Any]] = {}  # each job's run, for cancel
        self._pool = AnalysisPool(config.concurrency)
        self._recent_times: list[float] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        stored = await asyncio.to_thread(self.files.load_all, self.config.result_ttl_s)
        for job in stored:
            self._jobs[job.job_id] = job
            if job.status in ACTIVE:
                job.status, job.error_code = "failed", ErrorCode.PROCESSING_ERROR.value
                job.error_message = "the analyzer stopped while processing this job; send it again"
                job.message = "Interrupted"
                job.callback_state = "pending"
                job.interrupted = True
                job.touch()
                await self._save(job)
                # Reported after a while: a backend that sent the job to another server
                # meanwhile withdraws the report with a cancel (docs/analyzer.md, "Cancel").
                self._spawn(self._deliver_terminal(job, self.config.interrupted_report_delay_s))
            elif job.callback_state == "pending":
                self._spawn(self._deliver_terminal(job))
        if stored:
            logger.info("loaded %d stored jobs", len(stored))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self._pool.close)

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _save(self, job: AnalyzerJob) -> None:
        try:
            await asyncio.to_thread(self.files.save, job)
        except OSError:
            logger.exception("cannot store job %s", job.job_id)

    async def _save_result(self, job: AnalyzerJob) -> None:
        assert job.result is not None
        try:
            await asyncio.to_thread(self.files.save_result, job.job_id, job.result)
        except OSError as exc:
            # The callback still carries it; only a status query after a restart would miss it.
            logger.error("cannot store the result of job %s: %s", job.job_id, exc)

    async def _result_of(self, job: AnalyzerJob) -> dict[str, Any] | None:
        """A completed job's result: in memory until its callback is settled, then on disk."""
        if job.result is not None or job.status != "completed":
            return job.result
        try:
            return await asyncio.to_thread(self.files.load_result, job.job_id)
        except (OSError, ValueError) as exc:
            logger.error("cannot read the stored result of job %s: %s", job.job_id, exc)
            return None

    async def status_with_result(self, job: AnalyzerJob) -> str:
        """The status route's answer as JSON text, the result read from disk when it is no
        longer held in memory (serialised in a thread: a result can be megabytes)."""
        view = job.status_view(with_result=True)
        if job.status == "completed":
            view["result"] = await self._result_of(job)
        return await asyncio.to_thread(json.dumps, view)

    # -- queries -------------------------------------------------------------------------

    @property
    def queue_length(self) -> int:
        return sum(1 for j in self._jobs.values() if j.status in ACTIVE) - self._running

    @property
    def running(self) -> int:
        return self._running

    def jobs_ahead_of(self, job_id: str) -> int:
        active = [j for j in self._jobs.values() if j.status in ACTIVE]
        ids = [j.job_id for j in active]
        return ids.index(job_id) if job_id in ids else 0

    def get(self, job_id: str) -> AnalyzerJob | None:
        return self._jobs.get(job_id)

    def estimated_time_s(self, ahead: int | None = None) -> int:
        """Seconds until a job finishes with ``ahead`` jobs before it (default: all active)."""
        typical = sum(self._recent_times) / len(self._recent_times) if self._recent_times else 60.0
        if ahead is None:
            ahead = self.queue_length + self._running
        waves = ahead // self.config.concurrency + 1
        return round(typical * waves)

    # -- submission ----------------------------------------------------------------------

    def submit(self, request: JobRequest) -> tuple[AnalyzerJob, bool]:
        """The job for ``request`` and whether it is new (a repeated job_id is not rerun)."""
        self._forget_expired()
        existing = self._jobs.get(request.job_id)
        if existing is not None:
            return existing, False
        active = sum(1 for j in self._jobs.values() if j.status in ACTIVE)
        if active >= self.config.concurrency + self.config.queue_size:
            raise QueueFull(max(5, self.estimated_time_s() // 2))
        job = AnalyzerJob(
            request.job_id, request.fastapi_base_url, request.language, request.filename
        )
        self._jobs[job.job_id] = job
        run = self._runs[job.job_id] = self._spawn(self._run(job, request))
        run.add_done_callback(lambda _: self._runs.pop(job.job_id, None))
        logger.info(
            "job %s accepted (%s, language %s)",
            job.job_id,
            redact(request.video_url),
            request.language,
        )
        return job, True

    def _forget_expired(self) -> None:
        """Drop finished jobs older than the result TTL, from memory and from disk."""
        cutoff = time.time() - self.config.result_ttl_s
        expired = [
            job_id
            for job_id, job in self._jobs.items()
            if job.status not in ACTIVE
            and job.callback_state != "pending"
            and job.updated_ts < cutoff
        ]
        for job_id in expired:
            del self._jobs[job_id]
            self._spawn(asyncio.to_thread(self.files.delete, job_id))

    async def _run(self, job: AnalyzerJob, request: JobRequest) -> None:
        # Queue for a slot before the first await, so jobs start in the order they were
        # accepted; the job's file is written meanwhile (saves finish in any order).
        saved = self._spawn(self._save(job))
        reporter = ProgressReporter(self, job)
        try:
            async with self._slots:
                await saved
                self._running += 1
                try:
                    job.result = await self._analyse(job, request, reporter)
                    job.status, job.progress, job.message = "completed", 100.0, "Analysis complete"
                    self._remember_time(job.result)
                finally:
                    self._running -= 1
        except AnalysisError as exc:
            logger.warning("job %s failed: %s", job.job_id, exc)
            job.status, job.error_code, job.error_message = "failed", exc.code.value, exc.message
            job.message = "Analysis failed"
        except Exception as exc:  # anything unforeseen still ends in one failed callback
            logger.exception("job %s failed unexpectedly", job.job_id)
            job.status, job.error_code = "failed", ErrorCode.PROCESSING_ERROR.value
            job.error_message = f"{type(exc).__name__}: {exc}"
            job.message = "Analysis failed"
        except asyncio.CancelledError:
            if job.status != "canceled":
                raise  # the analyzer is stopping
        await reporter.close()
        job.touch()
        if job.result is not None:
            await self._save_result(job)
        await self._save(job)
        if job.status != "canceled":  # the backend canceled it: it wants no callback
            await self._deliver_terminal(job)

    def cancel(self, job_id: str) -> bool:
        """Stop an accepted or running job (docs/analyzer.md, "Cancel"): its download or
        analysis stops within a second, its slot is free at once, and no callback follows.
        An interrupted job whose failure is not reported yet is withdrawn the same way.
        False when the job is unknown or has ended."""
        job = self._jobs.get(job_id)
        withdrawn = job is not None and job.interrupted and job.callback_state == "pending"
        if job is None or (job.status not in ACTIVE and not withdrawn):
            return False
        job.status, job.message, job.callback_state = "canceled", "Canceled", "not_needed"
        job.touch()
        if withdrawn:
            self._spawn(self._save(job))  # no run of it saves it
        self._pool.cancel(job_id)
        run = self._runs.get(job_id)
        if run is not None:
            run.cancel()
        logger.info("job %s canceled", job_id)
        return True

    async def _analyse(
        self, job: AnalyzerJob, request: JobRequest, reporter: ProgressReporter
    ) -> dict[str, Any]:
        low, high = DOWNLOAD_SPAN
        reporter.update(low, "Downloading the video")
        suffix = Path(request.filename).suffix[:10] or ".media"
        with tempfile.TemporaryDirectory(dir=self._tmp) as folder:
            target = Path(folder) / f"video{suffix}"
            await download(
                self.session,
                request.video_url,
                target,
                max_bytes=self.config.max_download_bytes,
                timeout_s=self.config.download_timeout_s,
                progress=lambda f: reporter.update(low + (high - low) * f, "Downloading the video"),
            )
            options = AnalysisOptions(
                language=request.language,
                transcript=request.transcript,
                min_speakers=request.min_speakers,
                max_speakers=request.max_speakers,
                filename=request.filename,
                paths=self.config.backend_paths,
                runtime=self.config.whisper_runtime,
                model=request.model,
            )
            return await self._pool.analyse(job.job_id, target, options, reporter.update)

    def _remember_time(self, result: Mapping[str, Any]) -> None:
        seconds = result.get("metadata", {}).get("processing_time")
        if isinstance(seconds, int | float):
            self._recent_times = [*self._recent_times[-9:], float(seconds)]

    async def _deliver_terminal(self, job: AnalyzerJob, after_s: float = 0.0) -> None:
        if after_s > 0:
            await asyncio.sleep(after_s)
            if job.callback_state != "pending":
                return  # withdrawn by a cancel meanwhile
        result = await self._result_of(job)
        body = callback_body(
            job.job_id,
            job.status,
            progress=job.progress,
            message=job.message,
            result=result,
            error_code=job.error_code,
            error_message=job.error_message,
        )
        started = time.monotonic()
        accepted = await self.sender.deliver(
            callback_url(job.fastapi_base_url), body, msg_id=job.callback_msg_id
        )
        if accepted:
            job.callback_state = "delivered"
        elif time.monotonic() - started >= self.config.callback_retry_for_s:
            job.callback_state = "given_up"
        else:
            job.callback_state = "refused"
        job.result = None  # settled: from now on it is read from disk when asked for
        await self._save(job)
