"""The S3 adapter's errors, and the translation of boto3's and httpx's into them."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Awaitable
from http import HTTPStatus
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ecg_desktop.app.ports import StorageError

_ERROR_BODY_LIMIT = 64 * 1024


class S3Error(StorageError):
    """A request the S3 server refused; ``code`` is its error code (``AccessDenied``, ...)."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        return self.http_status is not None and self.http_status >= 500


class S3Unreachable(StorageError):
    """The S3 endpoint did not answer (connection refused, reset, timed out)."""


def error_reason(status: int, body: bytes) -> tuple[str, str]:
    """``(code, "Code: Message (HTTP status)")`` from an S3 error response."""
    code = message = ""
    with contextlib.suppress(ET.ParseError):
        root = ET.fromstring(body[:_ERROR_BODY_LIMIT])
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    if code:
        return code, f"{code}: {message} (HTTP {status})" if message else f"{code} (HTTP {status})"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return "", f"HTTP {status} {phrase}"


async def translated(what: str, call: Awaitable[Any]) -> Any:
    """Await a boto3 call, turning its errors into ``StorageError`` with the server's reason."""
    try:
        return await call
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.get("Code", ""))
        message = str(error.get("Message", ""))
        if code.isdigit():  # a HEAD answer has no body: botocore puts the status there
            reason = f"HTTP {code} {message}".strip()
        else:
            reason = f"{code}: {message}" if message else code
            reason += f" (HTTP {status})" if status else ""
        raise S3Error(f"{what} failed: {reason}", code=code, http_status=status) from None
    except (BotoConnectionError, HTTPClientError) as exc:
        raise S3Unreachable(f"{what} failed: {exc}") from None
    except BotoCoreError as exc:  # e.g. no or partial credentials
        raise S3Error(f"{what} failed: {exc}") from None


def first_error(group: ExceptionGroup[Exception]) -> Exception:
    """The error to show for a failed batch of parts: a storage error if there is one."""
    leaves: list[Exception] = []
    for error in group.exceptions:
        leaves.extend(error.exceptions if isinstance(error, ExceptionGroup) else [error])
    return next((e for e in leaves if isinstance(e, StorageError)), leaves[0])


def refused_upload(response: httpx.Response) -> S3Error:
    code, reason = error_reason(response.status_code, response.content)
    return S3Error(
        f"the S3 server refused the upload: {reason}", code=code, http_status=response.status_code
    )


def retryable(exc: Exception) -> bool:
    return isinstance(exc, S3Unreachable) or (isinstance(exc, S3Error) and exc.retryable)


def transport_error_text(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
