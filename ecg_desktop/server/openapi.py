"""The OpenAPI 3 description of the backend API (``GET /openapi.json``).

Every route and every status code a route can answer is listed, so a schema-driven fuzzer
can check the server against it. Each message's schema comes from its one declaration, the
struct that also validates or builds it: the callback's from ``app.callback_schema.Callback``,
the others' (the error body and the callback's answer too) from ``wire``. Written here: the
routes, their parameters and status codes.
"""

from __future__ import annotations

from typing import Any

from ecg_desktop import __version__
from ecg_desktop.app.callback_schema import callback_json_schema
from ecg_desktop.domain import JobStatus

from .wire import json_schemas

JSON = "application/json"
REF_TEMPLATE = "#/components/schemas/{name}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(name=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("ErrorBody"), description)


JOB_ID_PARAM = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The job's UUID; anything else is answered with 400.",
    "schema": {"type": "string"},
}

# Answers any route can give: refused by the access rules, or an unexpected failure.
_COMMON = {
    "401": _error("An API token is required (non-loopback bind)"),
    "403": _error("Host or Origin not allowed"),
    "500": _error("Unexpected server error"),
}


def _responses(**codes: dict[str, Any]) -> dict[str, Any]:
    return {**{code.removeprefix("r"): spec for code, spec in codes.items()}, **_COMMON}


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(schema_name)}}}


PATHS: dict[str, Any] = {
    "/api/upload-video/generate-url": {
        "post": {
            "summary": "An upload URL and the file key to upload a video to",
            "operationId": "generateUrl",
            "requestBody": _body("GenerateUrlRequest"),
            "responses": _responses(
                r200=_json(_ref("GenerateUrlResponse"), "A PUT URL and the file key"),
                r400=_error("Missing filename, not a video, or not JSON"),
                r413=_error("Body too large"),
                r502=_error("The object storage failed"),
            ),
        }
    },
    "/api/upload-video/request-process": {
        "post": {
            "summary": "Create a job for an uploaded video and dispatch it to the ML server",
            "operationId": "requestProcess",
            "requestBody": _body("ProcessRequest"),
            "responses": _responses(
                r200=_json(_ref("ProcessResponse"), "The job was created"),
                r400=_error("Missing or unsafe fileKey, unknown language, or not JSON"),
                r403=_error("job_id: the job is another member's, or the token has no name"),
                r404=_error("No such object in storage, or no job job_id"),
                r409=_error("job_id: the job is not uploaded yet, or canceled"),
                r413=_error("Body too large"),
                r429={
                    **_error("Over the rate limit"),
                    "headers": {"Retry-After": {"schema": {"type": "string"}}},
                },
                r502=_error("The object storage failed"),
                r503=_error("The job store is unavailable"),
            ),
        }
    },
    "/api/upload-video/result": {
        "post": {
            "summary": "The ML server's callback (signed)",
            "operationId": "receiveResult",
            "requestBody": _body("Callback"),
            "parameters": [
                {"name": "X-Signature-256", "in": "header", "required": False,
                 "schema": {"type": "string"}},
                {"name": "webhook-id", "in": "header", "required": False,
                 "schema": {"type": "string"}},
                {"name": "webhook-timestamp", "in": "header", "required": False,
                 "schema": {"type": "string"}},
                {"name": "webhook-signature", "in": "header", "required": False,
                 "schema": {"type": "string"}},
            ],
            "responses": _responses(
                r200=_json(_ref("CallbackAnswer"), "Received, a duplicate, or already final"),
                r400=_error("Not JSON"),
                r404=_error("Unknown job"),
                r413=_error("Body over the limit"),
                r422=_error("Invalid callback or result"),
                r503=_error("The job store is unavailable, a big result was not stored now, "
                            "or too many large callbacks arrived at once (see Retry-After)"),
            ),
        }
    },
    "/api/upload-video/status/{job_id}": {
        "get": {
            "summary": "A job's status (and result once completed)",
            "operationId": "getStatus",
            "parameters": [JOB_ID_PARAM],
            "responses": _responses(
                r200=_json(_ref("JobDetail"), "The job"),
                r400=_error("Not a UUID"),
                r404=_error("Unknown job"),
                r503=_error("The job store is unavailable"),
            ),
        }
    },
    "/api/upload-video/ml-server/health": {
        "get": {
            "summary": "Whether the ML server answers its /health (10 s timeout)",
            "operationId": "mlServerHealth",
            "responses": _responses(
                r200=_json(_ref("MLHealth"), "Healthy"),
                r503=_json(_ref("MLHealth"), "Unhealthy or unreachable"),
            ),
        }
    },
    "/api/upload-video/jobs": {
        "get": {
            "summary": "Jobs, newest first",
            "operationId": "listJobs",
            "parameters": [
                {"name": "status", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": [s.value for s in JobStatus]}},
                {"name": "q", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                {"name": "offset", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": _responses(
                r200=_json(_ref("JobList"), "A page of jobs"),
                r400=_error("Bad status, limit or offset"),
                r503=_error("The job store is unavailable"),
            ),
        }
    },
    "/api/upload-video/jobs/{job_id}": {
        "delete": {
            "summary": "Delete a job (canceling it first when it is running)",
            "operationId": "deleteJob",
            "parameters": [
                JOB_ID_PARAM,
                {"name": "delete_object", "in": "query", "required": False,
                 "schema": {"type": "boolean", "default": False}},
            ],
            "responses": _responses(
                r200=_json(_ref("Deleted"), "Deleted"),
                r400=_error("Not a UUID, or a bad delete_object value"),
                r404=_error("Unknown job"),
                r502=_error("The object storage failed"),
                r503=_error("The job store is unavailable"),
            ),
        }
    },
    "/health": {
        "get": {
            "summary": "The backend's own health: job store, storage, callback policy",
            "operationId": "health",
            "security": [],
            "responses": {
                "200": _json(_ref("Health"), "Healthy"),
                "403": _error("Host not allowed"),
                "500": _error("Unexpected server error"),
                "503": _json(_ref("Health"), "The job store is unreachable"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "operationId": "metrics",
            "responses": _responses(
                r200={"description": "Prometheus text format 0.0.4",
                      "content": {"text/plain": {"schema": {"type": "string"}}}},
            ),
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "operationId": "openapi",
            "responses": _responses(
                r200=_json({"type": "object"}, "The OpenAPI document"),
            ),
        }
    },
}


def _declared_schemas() -> dict[str, Any]:
    """The messages' schemas, from the structs that validate or build them."""
    _, callback = callback_json_schema(REF_TEMPLATE)
    return {**json_schemas(REF_TEMPLATE), **callback}


def openapi_document(*, with_storage_routes: bool) -> dict[str, Any]:
    paths = dict(PATHS)
    if with_storage_routes:
        paths.update(_storage_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ECG Desktop backend",
            "version": __version__,
            "description": (
                "Upload URLs, jobs, ML server callbacks and status. Bound to loopback the API "
                "is open to the local user; bound elsewhere it needs a bearer token (except the "
                "signed callback, /health and signed storage URLs)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _declared_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
    }


def _storage_paths() -> dict[str, Any]:
    """The local store's routes, as ``storage_routes`` describes them (plus the 500 answer)."""
    import copy

    from ecg_desktop.server.storage_routes import OPENAPI_PATHS

    paths: dict[str, Any] = copy.deepcopy(OPENAPI_PATHS)
    for item in paths.values():
        for method, operation in item.items():
            if method in ("get", "put", "delete", "head", "post") and isinstance(operation, dict):
                operation.setdefault("security", [])
                operation["responses"].setdefault("500", _error("Unexpected server error"))
    return paths
