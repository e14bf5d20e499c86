"""The API's request bodies (PROTOCOL.md 1.1, 1.2), each declared once as a ``msgspec`` struct.

``decode_request`` validates a body by converting it into its struct, and ``/openapi.json``
describes the body from the same struct (``request_json_schemas``), so the two cannot drift
apart (``tests/server/test_wire_schemas.py`` checks that they agree). A struct's docstring
is its schema's description. Keys a struct does not name are ignored, as they always were.

A body that does not match its struct is answered 400 (PROTOCOL.md: "missing filename: 400")
with the seed's one-line ``detail`` for the field and the field's location in ``errors``, in
the format of the callback's 422.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

from ecg_desktop.app.callback_schema import (
    _field_error,
    may_hold_surrogates,
    without_surrogates,
)

# The patterns read the same in Python, ECMA-262 and Rust (the engines of msgspec, browsers and
# schema validators): hence the white space spelled out (their \s differ).
_SPACE = r" \t\n\r\x0b\x0c"
NOT_BLANK = f"[^{_SPACE}]"  # a character that is not white space (patterns are unanchored)
# "auto" or an ISO 639-1 code, any case, white space around it allowed; blank means "auto".
LANGUAGE = f"^[{_SPACE}]*([A-Za-z]{{2}}|[Aa][Uu][Tt][Oo])?[{_SPACE}]*$"
NOT_AN_OBJECT = "the body must be a JSON object"


class RequestRefused(Exception):
    """A request body that is not JSON or does not match its struct (answered 400)."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    def answer(self) -> dict[str, Any]:
        """The JSON error body: ``{"detail": ..., "errors": [{"loc": [...], "msg": ...}]}``."""
        return {"detail": self.detail} if self.errors is None else {
            "detail": self.detail, "errors": self.errors}


class GenerateUrlRequest(msgspec.Struct, frozen=True):
    """Ask for an upload URL (PROTOCOL.md 1.1)."""

    # The seed's answer for a body that fails on each field.
    REFUSALS: ClassVar[Mapping[str, str]] = {
        "filename": "filename is required",
        "content_type": "content_type must be a string",
    }

    filename: Annotated[str, msgspec.Meta(
        pattern=NOT_BLANK, examples=["video.mp4"],
        description="The video's file name; only its safe base name is used in the key")]
    content_type: Annotated[str, msgspec.Meta(examples=["video/mp4"])] | None = None


class ProcessRequest(msgspec.Struct, frozen=True):
    """Create a job for an uploaded video (PROTOCOL.md 1.2), or, with job_id, send a team
    desktop's job on. fileKey (or the seed's other spelling, file_key) is required unless
    job_id is given."""

    REFUSALS: ClassVar[Mapping[str, str]] = {
        "fileKey": "fileKey is required",
        "file_key": "fileKey is required",
        "language": "language must be auto or an ISO 639-1 code",
        "job_id": "job_id must be a UUID",
    }

    fileKey: Annotated[str, msgspec.Meta(pattern=NOT_BLANK)] | None = None  # the seed's spelling
    file_key: Annotated[str, msgspec.Meta(pattern=NOT_BLANK)] | None = None
    language: Annotated[str, msgspec.Meta(
        pattern=LANGUAGE, examples=["auto", "en"],
        description="auto (the default) or an ISO 639-1 code")] | None = None
    job_id: Annotated[uuid.UUID, msgspec.Meta(description=(
        "A team desktop's job, already in the shared store and uploaded: dispatch it (its "
        "owner's token only) instead of creating one"))] | None = None

    def __post_init__(self) -> None:
        if self.fileKey is None and self.file_key is None and self.job_id is None:
            raise ValueError("Object missing required field `fileKey`")

    @property
    def object_key(self) -> str | None:
        """The storage key the body names, in either spelling."""
        return self.fileKey if self.fileKey is not None else self.file_key

    @property
    def language_code(self) -> str:
        """``auto`` or the lower-case ISO 639-1 code."""
        return (self.language or "").strip().lower() or "auto"


# ProcessRequest.__post_init__'s rule, as JSON Schema: one of the three keys, not null.
_NAMES_ITS_JOB = {"anyOf": [{"required": [name], "properties": {name: {"type": "string"}}}
                            for name in ("fileKey", "file_key", "job_id")]}

REQUESTS: tuple[Any, ...] = (
    GenerateUrlRequest,
    Annotated[ProcessRequest, msgspec.Meta(extra_json_schema=_NAMES_ITS_JOB)],
)

Request = TypeVar("Request", GenerateUrlRequest, ProcessRequest)


def decode_request(raw: bytes, kind: type[Request]) -> Request:
    """The body ``raw`` as a ``kind``, or ``RequestRefused``.

    ``json`` reads the bytes (it finds UTF-8, -16 or -32 itself, as the API always has) and
    ``msgspec`` validates what it read, as ``callback_schema`` does for callbacks. Text no
    database can store (a lone surrogate, ``"\\udc80"``) becomes U+FFFD, as in callbacks.
    """
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can go
        raise RequestRefused("the body must be JSON") from None
    if may_hold_surrogates(raw):
        payload, _ = without_surrogates(payload)
    try:
        return msgspec.convert(payload, kind)
    except msgspec.ValidationError as exc:
        error = _field_error(str(exc))
        field = str(error["loc"][1]) if len(error["loc"]) > 1 else ""  # ["body"]: the whole
        raise RequestRefused(kind.REFUSALS.get(field, NOT_AN_OBJECT), [error]) from None


def request_json_schemas(ref_template: str) -> dict[str, Any]:
    """The JSON Schemas of the request structs, by struct name, for /openapi.json."""
    references, components = msgspec.json.schema_components(REQUESTS, ref_template=ref_template)
    for reference in references:  # a struct's own Meta lands on its reference: move it in
        name = reference.pop("$ref").rsplit("/", 1)[-1]
        components[name].update(reference)
    return components
