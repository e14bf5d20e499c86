"""The API's messages (PROTOCOL.md 1.1-1.6), each declared once as a ``msgspec`` struct.

Requests: ``decode_request`` validates a body by converting it into its struct, and
``/openapi.json`` describes the body from the same struct (``json_schemas``), so the two cannot
drift apart (``tests/server/test_wire_schemas.py`` checks that they agree). Keys a struct does
not name are ignored, as they always were. Answers: the handlers build them as structs and
send them (``json_answer``), and ``/openapi.json`` describes them from the same structs. A
struct's docstring is its schema's description.

A body that does not match its struct is answered 400 (PROTOCOL.md: "missing filename: 400")
with the seed's one-line ``detail`` for the field and the field's location in ``errors``, in
the format of the callback's 422.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

import msgspec
from aiohttp import web

from ecg_desktop.app.callback_schema import (
    field_error,
    may_hold_surrogates,
    without_surrogates,
)
from ecg_desktop.domain import Job, JobStatus, Stage

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

    def answer(self) -> ErrorBody:
        """The error body: ``detail`` and, per field, ``errors``."""
        return msgspec.convert({"detail": self.detail, "errors": self.errors}, ErrorBody)


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
        error = field_error(str(exc))
        field = str(error["loc"][1]) if len(error["loc"]) > 1 else ""  # ["body"]: the whole
        raise RequestRefused(kind.REFUSALS.get(field, NOT_AN_OBJECT), [error]) from None


# -- answers ------------------------------------------------------------------------------------


class GenerateUrlResponse(msgspec.Struct, frozen=True):
    """A PUT URL to upload the video to, and its key (each under the seed's two names)."""

    presigned_url: str
    file_key: str
    expires_in: int
    url: str
    fileKey: str  # the seed's spelling


PROCESSING_STARTED = "Video processing started."  # the seed's message


class ProcessResponse(msgspec.Struct, frozen=True):
    """The job was created (or, with job_id, sent on)."""

    message: str
    job_id: uuid.UUID


Progress = Annotated[int, msgspec.Meta(ge=0, le=100)]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]  # written in UTC, "Z"


class JobSummary(msgspec.Struct, frozen=True):
    """A job as listed."""

    job_id: uuid.UUID
    status: JobStatus
    stage: Stage
    progress: Progress
    message: str
    filename: str
    file_key: str | None
    language: str
    error_code: str | None
    error_message: str | None
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, job: Job, **more: Any) -> Self:
        return cls(
            job_id=job.job_id, status=job.status, stage=job.stage, progress=job.progress,
            message=job.message, filename=job.filename, file_key=job.file_key,
            language=job.language, error_code=job.error_code.value if job.error_code else None,
            error_message=job.error_message, created_at=job.created_at.astimezone(UTC),
            updated_at=job.updated_at.astimezone(UTC), **more,
        )


class JobDetail(JobSummary, frozen=True):
    """A job's status, and its raw result once completed (else null)."""

    result: dict[str, Any] | None


class JobList(msgspec.Struct, frozen=True):
    """A page of jobs, newest first."""

    jobs: list[JobSummary]
    total: Annotated[int, msgspec.Meta(ge=0)]
    limit: int
    offset: int


class Deleted(msgspec.Struct, frozen=True):
    """The job is deleted."""

    status: Literal["deleted"]
    job_id: uuid.UUID


class MLServerState(msgspec.Struct, frozen=True):
    """One ML server of several."""

    url: str
    status: str
    queue_length: int | None
    response_time_ms: float | None
    reason: str | None


class MLHealth(msgspec.Struct, frozen=True, omit_defaults=True):
    """Whether the ML server answers its /health; each one's state when there are several."""

    status: Literal["healthy", "unhealthy", "unreachable"]
    ml_server_url: str
    response_time_ms: float | None
    http_status: int | None
    response: Any
    reason: str | None = None
    servers: list[MLServerState] = []


class StoreHealth(msgspec.Struct, frozen=True):
    reachable: bool
    where: str
    reason: str | None


class StorageHealth(msgspec.Struct, frozen=True):
    mode: Literal["s3", "local"]
    where: str


class Health(msgspec.Struct, frozen=True):
    """The backend's own health: job store, storage, callback policy."""

    status: Literal["ok", "degraded"]
    store: StoreHealth
    storage: StorageHealth
    unsigned_callbacks_allowed: bool
    version: str


class FieldError(msgspec.Struct, frozen=True):
    """Where a body is wrong: ``loc`` the path to the field, ``msg`` what is wrong there."""

    loc: list[str | int]
    msg: str


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """Every refusal: ``detail`` in one line; a callback's also its ``reason`` (a metric
    label); ``errors`` the fields at fault; ``retry_after`` seconds when busy; a front end
    that posts to the callback route gets the route it meant (``correct_endpoint``)."""

    detail: str
    reason: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None
    error: str | None = None
    correct_endpoint: str | None = None
    wrong_endpoint: str | None = None


class CallbackAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A callback taken (PROTOCOL.md 1.3): new, a duplicate, or for a job already final."""

    status: Literal["received", "duplicate", "already_completed", "already_failed",
                    "already_canceled"]


def error_answer(status: int, payload: Mapping[str, Any]) -> web.Response:
    """An error body built by its declaration (a key it does not name is a bug: it raises)."""
    return json_answer(msgspec.convert(payload, ErrorBody), status)


def callback_answer(status: int, payload: Mapping[str, Any]) -> web.Response:
    """What the callback route answers: ``CallbackAnswer`` or ``ErrorBody``, as declared."""
    if status >= 300:
        response = error_answer(status, payload)
        if "retry_after" in payload:
            response.headers["Retry-After"] = str(payload["retry_after"])
        return response
    return json_answer(msgspec.convert(payload, CallbackAnswer), status)


def json_answer(answer: msgspec.Struct, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(answer), status=status,
                        content_type="application/json")


def as_builtins(answer: msgspec.Struct) -> dict[str, Any]:
    """``answer`` as JSON-ready Python values (for an encoder other than msgspec's)."""
    return dict(msgspec.to_builtins(answer))


MESSAGES: tuple[Any, ...] = (
    GenerateUrlRequest,
    Annotated[ProcessRequest, msgspec.Meta(extra_json_schema=_NAMES_ITS_JOB)],
    GenerateUrlResponse, ProcessResponse, JobDetail, JobList, Deleted, MLHealth, Health,
    ErrorBody, CallbackAnswer,
)


def json_schemas(ref_template: str) -> dict[str, Any]:
    """The JSON Schemas of the messages (and of the types they use), by name, for
    /openapi.json."""
    references, components = msgspec.json.schema_components(MESSAGES, ref_template=ref_template)
    for reference in references:  # a struct's own Meta lands on its reference: move it in
        name = reference.pop("$ref").rsplit("/", 1)[-1]
        components[name].update(reference)
    return components
