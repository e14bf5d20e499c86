"""The callback message (PROTOCOL.md 1.3): its schema check and the front-end misuse test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from ecg_desktop.domain import InvalidResult

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


# The callback body, declared once: validate_message checks a body against it, and
# /openapi.json describes the body from it (callback_json_schema). The docstring is the
# schema's description.
class Callback(msgspec.Struct, frozen=True):
    """An ML server's callback (PROTOCOL.md 1.3); keys not named here are ignored."""

    job_id: uuid.UUID
    status: Literal["processing", "completed", "failed"]
    progress: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    message: str | None = None
    result: dict[str, Any] | None = None
    error_message: str | None = None
    error_code: str | None = None


def validate_message(payload: Any) -> tuple[CallbackMessage | None, list[dict[str, Any]]]:
    """The message, or the field errors (``[{"loc": [...], "msg": ...}]``) that forbid it."""
    if not isinstance(payload, Mapping):
        return None, [{"loc": [], "msg": "the body must be a JSON object"}]
    try:
        wire = msgspec.convert(payload, Callback)
    except msgspec.ValidationError as exc:
        return None, [field_error(str(exc))]
    if wire.status == "completed" and wire.result is None:
        return None, [{"loc": ["body", "result"], "msg": "required when status is completed"}]
    progress = None if wire.progress is None else int(wire.progress)
    return CallbackMessage(wire.job_id, wire.status, progress, wire.message, wire.result,
                           wire.error_code, wire.error_message), []


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


def field_error(text: str) -> dict[str, Any]:
    """msgspec's ``Expected `str | null`, got `int` - at `$.message``` as a located error."""
    match = _AT.match(text)
    assert match is not None  # the pattern matches any text
    path = [part for part in re.split(r"[.\[\]]", match["path"] or "") if part]
    missing = _MISSING.search(match["msg"])
    if missing:
        path.append(missing["field"])
    return {"loc": ["body", *path], "msg": match["msg"]}


def callback_json_schema(ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schema of ``Callback`` for /openapi.json: (its reference, the components)."""
    (reference,), components = msgspec.json.schema_components(
        [Callback], ref_template=ref_template)
    return reference, components


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
