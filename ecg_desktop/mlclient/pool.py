"""Several ML servers behind the ``MLClient`` port (``MODEL_SERVER_URL`` naming a list).

Each server is health-checked (``/health``: its queue and running jobs, and how fast it
answers). A dispatch goes to the least-loaded healthy server: fewest jobs per analysis slot
(queued and running, from ``/health``, plus the jobs this pool sent it since that check),
then the fastest to answer. It tries the servers in that order, once each: a 503 (whose
``Retry-After`` keeps the server out of the choice until then), a connection error or a
timeout moves the job to the next server at once; a 4xx fails it, as with one server. When
no server takes it, ``MLServersBusy`` says why for each and how long to wait, and the
pipeline offers the job again then (the job is not failed).

The answer names the server that took the job (``DISPATCHED_TO``); it is stored with the job,
and status questions and cancels for that job go to that server (``RoutesJobs``).

Hand-written because a standard HTTP load balancer cannot do this: it spreads connections
(round robin, least connections), but does not read an analyzer's queue from ``/health``,
and a status question through it may reach a server that never saw the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ecg_desktop.app.ports import HealthReport, MLError, MLServersBusy, RemoteJobStatus
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import ErrorCode

from .http import HEALTH_TIMEOUT_S, HttpMLClient, Retryable

logger = logging.getLogger(__name__)

FRESH_FOR_S = 2.0  # a dispatch re-checks the servers' load when the last check is older
CHECK_TIMEOUT_S = HEALTH_TIMEOUT_S - 2  # one slow server must not hold up the others' reports
DEFAULT_WAIT_S = 5.0

T = TypeVar("T")


@dataclass
class PoolMember:
    url: str
    client: HttpMLClient
    report: HealthReport | None = None
    checked_at: float = -math.inf
    sent_since_check: int = 0  # jobs this pool gave it that its last report does not count
    busy_until: float = 0.0  # a 503's Retry-After

    @property
    def healthy(self) -> bool:
        """Healthy by its last report; a server never checked counts as healthy."""
        return self.report is None or self.report.healthy

    @property
    def load(self) -> float:
        """Jobs per analysis slot: waiting and running, by its report and by this pool."""
        body = self.report.response if self.report is not None else None
        body = body if isinstance(body, dict) else {}
        queued = _count(body.get("queue_length")) + _count(body.get("active_jobs"))
        slots = max(1, _count(body.get("concurrency")))
        return (queued + self.sent_since_check) / slots

    def rank(self, now: float) -> tuple[bool, float, float]:
        available = self.healthy and self.busy_until <= now
        report = self.report
        answer_ms = report.response_time_ms if report and report.response_time_ms else 0.0
        return (not available, self.load, answer_ms)

    def remember(self, report: HealthReport, now: float) -> None:
        self.report = report
        self.checked_at = now
        self.sent_since_check = 0


class MLServerPool(ReadsSettings):
    """The ``MLClient`` (and ``RoutesJobs``) of a list of ML servers."""

    def __init__(
        self,
        settings: Settings,
        urls: tuple[str, ...] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._clock = clock
        self._members: list[PoolMember] = []
        self._retired: list[HttpMLClient] = []
        self._check_lock = asyncio.Lock()
        self._set_urls(urls if urls is not None else settings.model_server_urls)

    # -- servers ---------------------------------------------------------------------------

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(m.url for m in self._members)

    @property
    def base_url(self) -> str:
        """The list, as ``MODEL_SERVER_URL`` gives it (for messages)."""
        return ", ".join(self.urls)

    @property
    def members(self) -> tuple[PoolMember, ...]:
        return tuple(self._members)

    def use_settings(self, settings: Settings) -> None:
        """A changed list keeps the servers still in it (and what is known of them)."""
        super().use_settings(settings)
        self._set_urls(settings.model_server_urls)
        for member in self._members:
            member.client.use_settings(settings)
            member.client.set_base_url(member.url)

    def _set_urls(self, urls: tuple[str, ...]) -> None:
        if not urls:
            raise ValueError("an ML server pool needs at least one URL")
        known = {m.url: m for m in self._members}
        self._members = [known.pop(url) if url in known else self._member(url) for url in urls]
        self._retired.extend(m.client for m in known.values())

    def _member(self, url: str) -> PoolMember:
        client = HttpMLClient(self._settings, base_url=url, transport=self._transport)
        return PoolMember(url, client)

    def _find(self, server: str) -> PoolMember | None:
        wanted = server.rstrip("/")
        return next((m for m in self._members if m.url.rstrip("/") == wanted), None)

    # -- health ----------------------------------------------------------------------------

    async def health(self) -> HealthReport:
        """Every server checked at once; healthy when one is (the others are in
        ``servers``, one report each, in the order of the list)."""
        await self._check(max_age_s=0.0)
        reports = tuple(m.report for m in self._members if m.report is not None)
        healthy = [r for r in reports if r.healthy]
        times = [r.response_time_ms for r in healthy if r.response_time_ms is not None]
        if healthy:
            status, reason = "healthy", None
        else:
            status = "unhealthy" if any(r.status == "unhealthy" for r in reports) else "unreachable"
            reason = "; ".join(f"{r.url}: {r.reason}" for r in reports)
        return HealthReport(
            bool(healthy),
            status,
            self.base_url,
            min(times) if times else None,
            response={r.url: r.response for r in reports},
            reason=reason,
            servers=reports,
        )

    async def _check(self, max_age_s: float) -> None:
        """Check the servers whose last report is older than ``max_age_s`` (one round at a
        time: a dispatch arriving meanwhile uses that round's reports)."""
        async with self._check_lock:
            now = self._clock()
            stale = [m for m in self._members if now - m.checked_at >= max_age_s]
            if stale:
                await asyncio.gather(*(self._check_one(m) for m in stale))

    async def _check_one(self, member: PoolMember) -> None:
        try:
            report = await asyncio.wait_for(member.client.health(), CHECK_TIMEOUT_S)
        except TimeoutError:
            report = HealthReport(
                False, "unreachable", member.url, None,
                reason=f"no answer within {CHECK_TIMEOUT_S:g} s",
            )
        member.remember(report, self._clock())

    # -- dispatch --------------------------------------------------------------------------

    async def dispatch(
        self,
        job_id: uuid.UUID,
        video_url: str,
        callback_base_url: str,
        language: str,
        **extra: Any,
    ) -> Mapping[str, Any]:
        await self._check(max_age_s=FRESH_FOR_S)
        body, headers = self._members[0].client.dispatch_request(
            job_id, video_url, callback_base_url, language, **extra
        )
        refusals: list[tuple[PoolMember, Retryable]] = []
        for member in self._in_order():
            member.sent_since_check += 1  # counted now, so dispatches meanwhile spread out
            try:
                answer = await member.client.post_dispatch(body, headers)
            except Retryable as refused:
                logger.warning("job %s: %s did not take it: %s", job_id, member.url, refused.error)
                member.sent_since_check = max(0, member.sent_since_check - 1)
                self._note_refusal(member, refused)
                refusals.append((member, refused))
                continue
            except MLError:
                member.sent_since_check = max(0, member.sent_since_check - 1)
                raise
            logger.info("job %s dispatched to %s", job_id, member.url)
            return answer
        raise self._busy(refusals)

    def _in_order(self) -> list[PoolMember]:
        now = self._clock()
        return sorted(self._members, key=lambda m: m.rank(now))

    def _note_refusal(self, member: PoolMember, refused: Retryable) -> None:
        now = self._clock()
        if refused.retry_after_s is not None:
            member.busy_until = now + refused.retry_after_s
            return
        member.remember(
            HealthReport(False, "unreachable", member.url, None, reason=str(refused.error)), now
        )

    def _busy(self, refusals: list[tuple[PoolMember, Retryable]]) -> MLServersBusy:
        fallback = self._settings.ml_retry_delays[-1] if self._settings.ml_retry_delays else None
        waits = [
            r.retry_after_s if r.retry_after_s is not None else (fallback or DEFAULT_WAIT_S)
            for _, r in refusals
        ]
        reasons = "; ".join(_refusal_text(m, r) for m, r in refusals)
        count = len(self._members)
        servers = "the ML server" if count == 1 else f"all {count} ML servers"
        return MLServersBusy(
            refusals[-1][1].error.code if refusals else ErrorCode.CONNECTION_ERROR.value,
            f"{servers} refused or could not be reached ({reasons})",
            retry_after_s=min(waits) if waits else DEFAULT_WAIT_S,
        )

    # -- the server that took a job ----------------------------------------------------------

    async def job_status(self, job_id: uuid.UUID) -> RemoteJobStatus | None:
        """Every server is asked (the job's server is not known here): the first record."""
        return await self._on_any(lambda m: m.client.job_status(job_id))

    async def job_status_on(self, server: str, job_id: uuid.UUID) -> RemoteJobStatus | None:
        member = self._find(server)
        if member is None:  # the list changed since: whoever has it
            return await self.job_status(job_id)
        return await self._asking(member, member.client.job_status(job_id))

    async def cancel_on(self, server: str, job_id: uuid.UUID) -> bool:
        member = self._find(server)
        if member is None:
            return bool(await self._on_any(lambda m: _true_or_none(m.client.cancel(job_id))))
        return await self._asking(member, member.client.cancel(job_id))

    def can_move_from(self, server: str) -> bool:
        return any(m.url.rstrip("/") != server.rstrip("/") for m in self._members)

    async def _asking(self, member: PoolMember, question: Awaitable[T]) -> T:
        """``question``'s answer; a server that cannot be asked is marked unreachable."""
        try:
            return await question
        except MLError as exc:
            if exc.http_status is None:
                member.remember(
                    HealthReport(False, "unreachable", member.url, None, reason=str(exc)),
                    self._clock(),
                )
            raise

    async def _on_any(
        self, ask: Callable[[PoolMember], Awaitable[T | None]]
    ) -> T | None:
        """The first answer that is not ``None``, asking the servers in list order; raises
        the last ``MLError`` when no server answered and one could not be asked."""
        failure: MLError | None = None
        for member in self._members:
            try:
                answer = await self._asking(member, ask(member))
            except MLError as exc:
                failure = exc
                continue
            if answer is not None:
                return answer
        if failure is not None:
            raise failure
        return None

    async def close(self) -> None:
        for client in [*(m.client for m in self._members), *self._retired]:
            with contextlib.suppress(Exception):
                await client.close()


async def _true_or_none(canceled: Awaitable[bool]) -> bool | None:
    return True if await canceled else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _refusal_text(member: PoolMember, refused: Retryable) -> str:
    if refused.retry_after_s is not None:
        return f"{member.url} busy, retry after {refused.retry_after_s:g} s"
    return f"{member.url}: {refused.error}"
