"""Signed ``/storage/{key}`` routes of the local object store (no S3 bucket configured).

``PUT`` stores a body (whole, or one ``Content-Range`` of a resumable upload), ``GET``/``HEAD``
serve a finished object (with ``Range``), ``DELETE`` removes it. Every request needs a URL
signed by the local store (``storage/localfs.py``, through the ``LocalFiles`` port) for its
method (a GET URL also allows HEAD).

Resumable uploads, as ``ecg_desktop.storage.LocalStorage`` uses them:

- ``PUT`` with ``Content-Range: bytes START-END/TOTAL`` writes that range; ``START`` 0 begins
  a new upload, a later range continues it. ``202`` with ``Upload-Id`` and ``Upload-Offset``
  until the last byte, then ``201`` with the object's size and sha256.
- ``PUT`` with ``Content-Range: bytes */TOTAL`` and no body asks where the unfinished upload
  stands: ``200`` with ``Upload-Id`` and ``Upload-Offset``, or ``404`` if there is none.
- A range that does not continue the upload: ``409`` with ``Upload-Offset``.

Status codes: ``400`` an unsafe key (``..``, absolute, NUL) or a malformed range, ``403`` an
unsigned, tampered or expired URL, ``404`` no such object, ``411`` no ``Content-Length``,
``413`` over the size limit, ``416`` an unsatisfiable ``Range``, ``423`` another upload of the
same key in progress (try again), ``500`` a disk that refuses the write, ``507`` a full disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from aiohttp import ClientPayloadError, web

from ecg_desktop.app.ports import LocalFiles, LocalStoreError, RangeWriter, StoredObject
from ecg_desktop.domain.filekeys import is_safe_key

from .connections import read_body_chunks

logger = logging.getLogger(__name__)

FILESTORE = web.AppKey("ecg_local_filestore", LocalFiles)
_BUSY_KEYS = web.AppKey("ecg_local_storage_busy_keys", set[str])
ROUTE = r"/storage/{key:[\s\S]*}"  # any character: a key with a newline gets a 400, not 404
_WRITE_BATCH = 1024 * 1024  # bytes gathered from the socket before one write in a thread
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_STATUS_QUERY = re.compile(r"bytes \*/(\d+)")


def add_storage_routes(app: web.Application, filestore: LocalFiles) -> None:
    """Serve ``filestore`` under ``/storage/`` on ``app`` (before the app starts)."""
    app[FILESTORE] = filestore
    app[_BUSY_KEYS] = set()
    app.router.add_put(ROUTE, put_object, name="storage-put")
    app.router.add_get(ROUTE, get_object, name="storage-get")  # HEAD too
    app.router.add_delete(ROUTE, delete_object, name="storage-delete")


def is_storage_path(path: str) -> bool:
    """Whether a request path is one of these routes (signed, so no API token is needed)."""
    return path.startswith("/storage/")


async def get_object(request: web.Request) -> web.StreamResponse:
    filestore, key = _authorized(request, "GET")
    stored = await asyncio.to_thread(filestore.stat, key)
    if stored is None:
        return _problem(404, "no such object")
    headers = {"Content-Type": stored.content_type, "Cache-Control": "no-store"}
    if stored.sha256:
        headers["X-Content-SHA256"] = stored.sha256
    return web.FileResponse(stored.path, headers=headers)


async def delete_object(request: web.Request) -> web.Response:
    filestore, key = _authorized(request, "DELETE")
    if key in request.app[_BUSY_KEYS]:
        return _problem(423, "an upload of this key is in progress")
    await asyncio.to_thread(filestore.delete, key)
    return web.Response(status=204)


async def put_object(request: web.Request) -> web.Response:
    filestore, key = _authorized(request, "PUT")
    content_range = request.headers.get("Content-Range", "").strip()
    if query := _STATUS_QUERY.fullmatch(content_range):
        return await _upload_status(filestore, key, int(query.group(1)))
    length = request.content_length
    if length is None:
        return _problem(411, "a Content-Length is required")
    try:
        start, end, total = _declared_range(content_range, length)
    except ValueError as exc:
        return _problem(400, str(exc))
    busy = request.app[_BUSY_KEYS]
    if key in busy:  # e.g. a client retrying while its first attempt is still being written
        return _problem(423, "another upload of this key is in progress; try again shortly")
    busy.add(key)
    try:
        return await _store_range(request, filestore, key, start, end, total)
    finally:
        busy.discard(key)


async def _store_range(
    request: web.Request, filestore: LocalFiles, key: str, start: int, end: int, total: int
) -> web.Response:
    content_type = request.headers.get("Content-Type") or "application/octet-stream"
    try:
        writer = await asyncio.to_thread(
            filestore.write_range, key, start, end, total, content_type
        )
    except LocalStoreError as exc:
        return _refusal(exc)
    try:
        stored = await _receive(request, writer)
    except LocalStoreError as exc:
        if exc.status >= 500:
            logger.error("Storing %s failed: %s", key, exc)
        return _refusal(exc)
    except (OSError, ClientPayloadError) as exc:  # the client went away mid-body
        logger.info("Upload of %s cut short at byte %d: %s", key, writer.position, exc)
        return _problem(400, "the body was cut short", offset=writer.position)
    if stored is not None:
        body = {"key": key, "size": stored.size, "sha256": stored.sha256}
        headers = {**_stored_headers(stored), "Upload-Id": writer.upload_id}
        return web.json_response(body, status=201, headers=headers)
    return web.json_response(
        {"upload_id": writer.upload_id, "offset": writer.position, "total": total},
        status=202,
        headers=_progress_headers(writer.upload_id, writer.position),
    )


async def _receive(request: web.Request, writer: RangeWriter) -> StoredObject | None:
    """Stream the body into ``writer`` in batches; a body cut short keeps what arrived.

    Raises ``LocalStoreError`` for a disk that refuses the bytes, and the connection's own
    error for a client that goes away.
    """
    batch: list[bytes] = []
    batched = 0
    try:
        # No minimum rate: an upload may be slow, and it resumes from what arrived.
        async for data in read_body_chunks(request.content, min_rate=0):
            batch.append(data)
            batched += len(data)
            if batched >= _WRITE_BATCH:
                await _write(writer, batch)
                batch, batched = [], 0
        if batch:
            await _write(writer, batch)
    except BaseException:
        # Keep every byte that arrived, so the client can resume from there. Done inline
        # (at most one batch): a cancelled handler cannot wait for a thread.
        with contextlib.suppress(OSError, LocalStoreError):
            writer.write(batch)
        with contextlib.suppress(OSError, LocalStoreError):
            writer.close()
        raise
    stored = await asyncio.to_thread(writer.close)
    if stored is None and writer.position != writer.end:
        raise LocalStoreError("the body ended before its declared length", offset=writer.position)
    return stored


async def _write(writer: RangeWriter, batch: list[bytes]) -> None:
    await asyncio.to_thread(writer.write, batch)


async def _upload_status(filestore: LocalFiles, key: str, total: int) -> web.Response:
    partial = await asyncio.to_thread(filestore.partial, key)
    if partial is None or partial.total != total:
        return _problem(404, "there is no unfinished upload of this key", offset=0)
    return web.json_response(
        {"upload_id": partial.upload_id, "offset": partial.offset, "total": partial.total},
        headers=_progress_headers(partial.upload_id, partial.offset),
    )


def _authorized(request: web.Request, method: str) -> tuple[LocalFiles, str]:
    key = request.match_info["key"]
    if not is_safe_key(key):
        raise _http_error(400, "the storage key is not a safe relative path")
    filestore = request.app[FILESTORE]
    refusal = filestore.verify(method, key, request.query)
    if refusal is not None:
        logger.info("Refused %s /storage/%s: %s", request.method, key, refusal)
        raise _http_error(403, refusal)
    return filestore, key


def _declared_range(content_range: str, length: int) -> tuple[int, int, int]:
    """``(start, end, total)`` with ``end`` exclusive, from ``Content-Range`` and the length."""
    if not content_range:
        return 0, length, length
    match = _CONTENT_RANGE.fullmatch(content_range)
    if match is None:
        raise ValueError(f"malformed Content-Range {content_range!r}")
    first, last, total = (int(g) for g in match.groups())
    if last < first or last >= total or last - first + 1 != length:
        raise ValueError(f"Content-Range {content_range!r} does not match a {length}-byte body")
    return first, last + 1, total


def _refusal(exc: LocalStoreError) -> web.Response:
    return _problem(exc.status, str(exc), offset=exc.offset)


def _problem(status: int, detail: str, *, offset: int | None = None) -> web.Response:
    body: dict[str, Any] = {"detail": detail}
    headers: dict[str, str] = {}
    if offset is not None:
        body["offset"] = offset
        headers["Upload-Offset"] = str(offset)
    return web.json_response(body, status=status, headers=headers)


def _http_error(status: int, detail: str) -> web.HTTPException:
    error_class = {400: web.HTTPBadRequest, 403: web.HTTPForbidden}[status]
    return error_class(text=json.dumps({"detail": detail}), content_type="application/json")


def _progress_headers(upload_id: str, offset: int) -> dict[str, str]:
    return {"Upload-Id": upload_id, "Upload-Offset": str(offset)}


def _stored_headers(stored: StoredObject) -> dict[str, str]:
    return {"X-Content-SHA256": stored.sha256 or "", "ETag": f'"{stored.sha256}"'}


def _json_response_schema(properties: dict[str, str]) -> dict[str, Any]:
    return {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {name: {"type": kind} for name, kind in properties.items()},
                }
            }
        }
    }


_SIGNED_QUERY = [
    {"name": "expires", "in": "query", "required": True, "schema": {"type": "integer"}},
    {"name": "signature", "in": "query", "required": True, "schema": {"type": "string"}},
    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
]
_PROBLEM = _json_response_schema({"detail": "string"})

OPENAPI_PATHS: dict[str, Any] = {
    "/storage/{key}": {
        "parameters": _SIGNED_QUERY,
        "get": {
            "summary": "Download a stored object (signed URL; Range supported)",
            "responses": {
                "200": {"description": "The object"},
                "206": {"description": "The requested range"},
                "400": {"description": "Unsafe key", **_PROBLEM},
                "403": {"description": "Unsigned, tampered or expired URL", **_PROBLEM},
                "404": {"description": "No such object", **_PROBLEM},
                "416": {"description": "Range not satisfiable"},
            },
        },
        "put": {
            "summary": "Upload an object, whole or one Content-Range of a resumable upload",
            "requestBody": {"content": {"application/octet-stream": {"schema": {
                "type": "string", "format": "binary"}}}},
            "responses": {
                "200": {"description": "Where the unfinished upload stands",
                        **_json_response_schema({"upload_id": "string", "offset": "integer",
                                                 "total": "integer"})},
                "201": {"description": "Stored",
                        **_json_response_schema({"key": "string", "size": "integer",
                                                 "sha256": "string"})},
                "202": {"description": "Range received; the upload continues",
                        **_json_response_schema({"upload_id": "string", "offset": "integer",
                                                 "total": "integer"})},
                "400": {"description": "Unsafe key or malformed range", **_PROBLEM},
                "403": {"description": "Unsigned, tampered or expired URL", **_PROBLEM},
                "404": {"description": "No unfinished upload (status query)", **_PROBLEM},
                "409": {"description": "The range does not continue the upload", **_PROBLEM},
                "411": {"description": "Content-Length required", **_PROBLEM},
                "423": {"description": "Another upload of this key is in progress", **_PROBLEM},
                "413": {"description": "Over the size limit", **_PROBLEM},
                "500": {"description": "The disk refused the write", **_PROBLEM},
                "507": {"description": "Not enough disk space", **_PROBLEM},
            },
        },
        "delete": {
            "summary": "Delete an object and any unfinished upload of it",
            "responses": {
                "204": {"description": "Deleted"},
                "400": {"description": "Unsafe key", **_PROBLEM},
                "403": {"description": "Unsigned, tampered or expired URL", **_PROBLEM},
                "423": {"description": "An upload of this key is in progress", **_PROBLEM},
            },
        },
    }
}
