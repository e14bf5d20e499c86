"""Streaming the video to a temporary file, with a size limit and a timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from ecg_desktop.domain import ErrorCode

from .errors import AnalysisError

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


def redact(url: str) -> str:
    """The URL without its query (a presigned URL's query is a credential)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def download(
    session: aiohttp.ClientSession,
    url: str,
    target: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    progress: Callable[[float], None],
) -> int:
    """Stream ``url`` into ``target``; the number of bytes. Raises ``AnalysisError``."""
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=30, sock_read=120)
    try:
        async with session.get(url, timeout=timeout) as response:
            if response.status != 200:
                body = (await response.content.read(300)).decode("utf-8", "replace").strip()
                raise AnalysisError(
                    ErrorCode.DOWNLOAD_ERROR,
                    f"HTTP {response.status} {response.reason or ''} from {redact(url)}"
                    + (f": {body}" if body else ""),
                )
            expected = response.content_length
            if expected is not None and expected > max_bytes:
                raise AnalysisError(
                    ErrorCode.DOWNLOAD_ERROR,
                    f"the video is {expected} bytes, over the limit of {max_bytes}",
                )
            received = 0
            with target.open("wb") as sink:
                buffer = bytearray()
                async for piece in response.content.iter_chunked(64 * 1024):
                    received += len(piece)
                    if received > max_bytes:
                        raise AnalysisError(
                            ErrorCode.DOWNLOAD_ERROR,
                            f"the video is over the limit of {max_bytes} bytes",
                        )
                    buffer += piece
                    if len(buffer) >= CHUNK:
                        await asyncio.to_thread(sink.write, bytes(buffer))
                        buffer.clear()
                    if expected:
                        progress(received / expected)
                if buffer:
                    await asyncio.to_thread(sink.write, bytes(buffer))
            if expected is not None and received < expected:
                raise AnalysisError(
                    ErrorCode.DOWNLOAD_ERROR,
                    f"the download stopped after {received} of {expected} bytes",
                )
            return received
    except TimeoutError as exc:
        raise AnalysisError(
            ErrorCode.DOWNLOAD_ERROR, f"the download of {redact(url)} timed out"
        ) from exc
    except aiohttp.ClientError as exc:
        reason = str(exc).replace(url, redact(url)) or type(exc).__name__
        raise AnalysisError(
            ErrorCode.DOWNLOAD_ERROR, f"cannot download {redact(url)}: {reason}"
        ) from exc
