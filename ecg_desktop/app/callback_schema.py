"""The callback message (PROTOCOL.md 1.3): its schema check and the front-end misuse test."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecg_desktop.domain import InvalidResult

CALLBACK_STATUSES = ("processing", "completed", "failed")
# A lone surrogate is valid JSON ("\\udc80") but no database can store it. In a body it is
# either such an escape or (json decodes bytes with "surrogatepass") its raw UTF-8-like form.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")
STATUS_ENDPOINT = "GET /api/upload-video/status/{job_id}"


@dataclass(frozen=True, slots=True)
class CallbackMessage:
    """A callback body that passed the schema (rule 3)."""

    job_id: uuid.UUID
    status: str
    progress: int | None
    message: str | None
    result: Mapping[str, Any] | None
    error_code: str | None
    error_message: str | None


def validate_message(payload: Any) -> tuple[CallbackMessage | None, list[dict[str, Any]]]:
    """The message, or the field errors (``[{"loc": [...], "msg": ...}]``) that forbid it."""
    if not isinstance(payload, Mapping):
        return None, [{"loc": [], "msg": "the body must be a JSON object"}]
    errors: list[dict[str, Any]] = []

    def error(field: str, msg: str) -> None:
        errors.append({"loc": ["body", field], "msg": msg})

    job_id = _job_id(payload.get("job_id"), error)
    status = payload.get("status")
    if status is None:
        error("status", "field required")
    elif status not in CALLBACK_STATUSES:
        error("status", f"must be one of {', '.join(CALLBACK_STATUSES)}")
    progress = _progress(payload.get("progress"), error)
    texts: dict[str, str | None] = {}
    for name in ("message", "error_code", "error_message"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            error(name, "must be a string or null")
            value = None
        texts[name] = value
    result = payload.get("result")
    if result is not None and not isinstance(result, Mapping):
        error("result", "must be an object or null")
    elif result is None and status == "completed":
        error("result", "required when status is completed")
    if errors or job_id is None or not isinstance(status, str):
        return None, errors
    return (
        CallbackMessage(
            job_id=job_id,
            status=status,
            progress=progress,
            message=texts["message"],
            result=result,
            error_code=texts["error_code"],
            error_message=texts["error_message"],
        ),
        [],
    )


def _job_id(value: Any, error: Callable[[str, str], None]) -> uuid.UUID | None:
    if value is None:
        error("job_id", "field required")
        return None
    if not isinstance(value, str):
        error("job_id", "must be a string")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        error("job_id", "not a UUID")
        return None


def _progress(value: Any, error: Callable[[str, str], None]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        error("progress", "must be a number from 0 to 100")
        return None
    if not 0 <= value <= 100:
        error("progress", f"{value} is outside 0-100")
        return None
    return int(value)


def looks_like_front_end(headers: Mapping[str, str], payload: Any) -> bool:
    """The seed's "front-end misuse" test: a node or browser client, or a body with no status."""
    agent = header_value(headers, "User-Agent").lower()
    if agent == "node" or agent.startswith(("node-fetch", "node/", "axios")):
        return True
    if "mozilla/" in agent or header_value(headers, "Origin"):
        return True
    return isinstance(payload, Mapping) and "status" not in payload


MISUSE_HINT = {
    "error": "Wrong endpoint: this one is for the ML server's callbacks only.",
    "correct_endpoint": STATUS_ENDPOINT,
    "wrong_endpoint": "POST /api/upload-video/result (ML server webhook only)",
}


def header_value(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), "")
    return value


def invalid_result_errors(invalid: InvalidResult) -> list[dict[str, Any]]:
    """A result's validation errors, located under ``body.result`` as a 422 reports them."""
    return [{**e, "loc": ["body", "result", *e["loc"]]} for e in invalid.errors[:50]]


def may_hold_surrogates(body: bytes) -> bool:
    """Whether decoding ``body`` may give lone surrogates (a quick scan of the bytes: false
    for nearly every body, so ``without_surrogates`` need not walk it)."""
    return _MAYBE_SURROGATE.search(body) is not None


def without_surrogates(payload: Any) -> tuple[Any, bool]:
    """``payload`` with every lone surrogate in its strings (keys too) replaced by U+FFFD,
    and whether there was one. Walked with a stack: JSON can nest deeper than recursion."""
    changed = False

    def clean(text: str) -> str:
        nonlocal changed
        cleaned = _SURROGATE.sub("\ufffd", text)
        changed = changed or cleaned != text
        return cleaned

    def cleaned_value(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            pending.append((value, copy))
            return copy
        if isinstance(value, list):
            items: list[Any] = []
            pending.append((value, items))
            return items
        return value

    pending: list[tuple[Any, Any]] = []
    root = cleaned_value(payload)
    while pending:
        source, target = pending.pop()
        if isinstance(source, dict):
            for key, value in source.items():
                target[clean(key)] = cleaned_value(value)
        else:
            target.extend(cleaned_value(value) for value in source)
    return root, changed
