"""Signed callbacks to the backend, with retries for the terminal one.

Every callback is signed with both schemes of PROTOCOL section 4. A terminal callback keeps
its ``webhook-id`` across retries so the receiver can recognise a repeat; it is retried with
exponential back-off on connection errors, timeouts, 5xx, 408 and 429 until
``retry_for_s`` has passed, and any other answer ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import aiohttp

from ecg_desktop import __version__
from ecg_desktop.domain.signatures import sign_headers

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/upload-video/result"
RETRY_STATUSES = frozenset({408, 429})


def callback_url(base_url: str) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH


def callback_body(
    job_id: str,
    status: str,
    *,
    progress: float = 0,
    message: str = "",
    result: Mapping[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> dict[str, Any]:
    """All seven keys, nulls included, as receivers of the original server expect."""
    return {
        "job_id": job_id,
        "status": status,
        "progress": round(progress, 1),
        "message": message,
        "result": result,
        "error_code": error_code,
        "error_message": error_message,
    }


class CallbackSender:
    """Posts callbacks over one shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        secret: str,
        *,
        retry_for_s: float,
        first_delay_s: float,
        max_delay_s: float,
        timeout_s: float,
    ) -> None:
        self._session = session
        self._secret = secret
        self._retry_for_s = retry_for_s
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _headers(self, body: bytes, msg_id: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": f"ecg-analyzer/{__version__}"}
        if self._secret:
            headers.update(
                sign_headers(self._secret, body, msg_id=msg_id, timestamp=int(time.time()))
            )
        return headers

    async def _post(self, url: str, body: bytes, msg_id: str) -> int | None:
        """The answer's status, or None on a connection error or timeout."""
        try:
            async with self._session.post(
                url, data=body, headers=self._headers(body, msg_id), timeout=self._timeout
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info("callback to %s failed: %s", url, exc or type(exc).__name__)
            return None

    async def send_once(self, url: str, payload: Mapping[str, Any]) -> int | None:
        """One attempt (progress callbacks: a newer one will follow)."""
        body = json.dumps(payload).encode()
        return await self._post(url, body, f"msg_{uuid.uuid4().hex}")

    async def deliver(
        self, url: str, payload: Mapping[str, Any], msg_id: str | None = None
    ) -> bool:
        """Send until the receiver gives a final answer; True when it accepted (2xx)."""
        body = json.dumps(payload).encode()
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        deadline = time.monotonic() + self._retry_for_s
        delay = self._first_delay_s
        attempt = 0
        while True:
            attempt += 1
            status = await self._post(url, body, msg_id)
            if status is not None and 200 <= status < 300:
                logger.info(
                    "callback %s for job %s accepted (attempt %d)",
                    payload.get("status"),
                    payload.get("job_id"),
                    attempt,
                )
                return True
            retryable = status is None or status >= 500 or status in RETRY_STATUSES
            if not retryable:
                logger.warning(
                    "callback for job %s refused with HTTP %s; not retried",
                    payload.get("job_id"),
                    status,
                )
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.error(
                    "callback for job %s given up after %d attempts", payload.get("job_id"), attempt
                )
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, self._max_delay_s)
