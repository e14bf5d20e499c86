"""The local object store: files under a folder, reached through signed, expiring URLs.

Used when no S3 bucket is configured. The embedded server serves it (see
``ecg_desktop.server.storage_routes``); this module is the file side and the URL signing, with
no HTTP and no event loop (the routes call it in a worker thread).

Layout under ``root`` (``<h>`` is the sha256 of the key, ``<h2>`` its first two characters)::

    objects/<h2>/<h>          finished objects, only ever created by an atomic rename
    meta/<h2>/<h>.json        their key, size, sha256 and content type
    partial/<h>.data/.json    an unfinished upload: the bytes so far, the total, the upload id

Files are named by the key's hash, not the key: a key is valid whatever its length or
script (a Korean file name of 150 characters is over 255 bytes, too long for one path
component on most file systems), its case, or the names Windows reserves, and no key can
lead out of the folder.

An upload is written to ``partial/`` in byte ranges (``write_range``); a range that starts at 0
begins a new upload, a later one continues it (it may start anywhere up to the bytes already
there, so a client can send a range again). Only when the last byte arrives is the file
renamed into ``objects/``, so a reader never sees half an object.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ecg_desktop.app.ports import LocalStoreError, PartialUpload, StoredObject

__all__ = [
    "InsufficientStorage", "LocalFileStore", "LocalStoreError", "PartialUpload", "RangeConflict",
    "RangeWriter", "StoreFailure", "StoredObject", "TooLarge", "UnsafeKey", "disk_error",
]
from ecg_desktop.config.private_files import private_folder
from ecg_desktop.domain.filekeys import is_safe_key

logger = logging.getLogger(__name__)

KEY_FILE = ".signing-key"
DEFAULT_MAX_OBJECT_BYTES = 1024**4  # 1 TiB: a guard against a runaway upload, not a quota
_HASH_CHUNK = 4 * 1024 * 1024
_FREE_SPACE_MARGIN = 64 * 1024 * 1024


class UnsafeKey(LocalStoreError):
    status = 400


class RangeConflict(LocalStoreError):
    """The range does not continue the unfinished upload; ``offset`` is where it stands."""

    status = 409


class TooLarge(LocalStoreError):
    status = 413


class InsufficientStorage(LocalStoreError):
    status = 507


class StoreFailure(LocalStoreError):
    """The disk refused a write (other than being full)."""

    status = 500


def disk_error(exc: OSError, *, offset: int | None = None) -> LocalStoreError:
    """The refusal to answer for a failed file operation."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return InsufficientStorage("the disk of the local store is full", offset=offset)
    return StoreFailure(f"the local store cannot write: {exc.strerror or exc}", offset=offset)


class LocalFileStore:
    """Objects under ``root``; URL signatures made with ``secret`` (HMAC-SHA256)."""

    def __init__(
        self, root: Path, secret: str, *, max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    ) -> None:
        if not secret:
            raise ValueError("the local store needs a signing secret")
        self.root = Path(root)
        self.max_object_bytes = max_object_bytes
        self._secret = secret.encode()
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._partial = self.root / "partial"
        for folder in (self.root, self._objects, self._meta, self._partial):
            private_folder(folder)  # 0700: the videos are the users' data
        # sha256 of an unfinished upload, kept while this process lives so a finished upload
        # need not be read again; after a restart the whole file is hashed once at the end.
        self._hashers: dict[str, tuple[str, int, Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, root: Path, **options: Any) -> LocalFileStore:
        """The store in ``root``, with the signing key kept there (made on first use)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, _signing_key(root / KEY_FILE), **options)

    def __repr__(self) -> str:
        return f"LocalFileStore(root={str(self.root)!r})"

    # -- signed URLs ----------------------------------------------------------------------

    def sign_url(
        self, method: str, key: str, expires_s: int, *, base_url: str, now: float | None = None
    ) -> str:
        self._check_key(key)
        expires = int((time.time() if now is None else now) + expires_s)
        query = urlencode({"expires": expires, "signature": self._signature(method, key, expires)})
        return f"{base_url.rstrip('/')}/storage/{quote(key, safe='/')}?{query}"

    def verify(
        self, method: str, key: str, query: Mapping[str, str], *, now: float | None = None
    ) -> str | None:
        """Why a request to ``key`` with this query is refused, or ``None`` if it is allowed.

        A GET URL also allows HEAD.
        """
        method = "GET" if method.upper() == "HEAD" else method.upper()
        signature, expires_text = query.get("signature"), query.get("expires")
        if not signature or not expires_text:
            return "the URL is not signed"
        try:
            expires = int(expires_text)
        except ValueError:
            return "the URL's expiry is malformed"
        expected = self._signature(method, key, expires).encode()
        if not hmac.compare_digest(signature.encode(), expected):  # bytes: any text compares
            return "the URL's signature does not match"
        if (time.time() if now is None else now) > expires:
            return "the URL has expired"
        return None

    def _signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method.upper()}\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    # -- finished objects -----------------------------------------------------------------

    def object_path(self, key: str) -> Path:
        name = _hashed(key)
        return self._objects / name[:2] / name

    def stat(self, key: str) -> StoredObject | None:
        path = self.object_path(key)
        try:
            size = path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        meta = _read_json(self._meta_path(key))
        if (meta.get("key"), meta.get("size")) != (key, size):
            meta = {}
        content_type = str(meta.get("content_type") or "application/octet-stream")
        return StoredObject(
            key, path, size, meta.get("sha256"), content_type, str(meta.get("upload_id", ""))
        )

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> None:
        """Remove the object, its metadata and any unfinished upload of ``key``."""
        self.abort(key)
        for path in (self.object_path(key), self._meta_path(key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- unfinished uploads ---------------------------------------------------------------

    def partial(self, key: str) -> PartialUpload | None:
        data, info = self._partial_paths(key)
        meta = _read_json(info)
        if not meta or meta.get("key") != key:
            return None
        try:
            offset = data.stat().st_size
        except FileNotFoundError:
            return None
        return PartialUpload(
            key=key,
            upload_id=str(meta["upload_id"]),
            offset=offset,
            total=int(meta["total"]),
            content_type=str(meta.get("content_type") or "application/octet-stream"),
        )

    def abort(self, key: str) -> None:
        """Forget the unfinished upload of ``key`` (a finished object stays)."""
        data, info = self._partial_paths(key)
        with self._lock:
            self._hashers.pop(key, None)
        for path in (info, data):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def write_range(
        self, key: str, start: int, end: int, total: int, content_type: str
    ) -> RangeWriter:
        """A writer for bytes ``[start, end)`` of a ``total``-byte object at ``key``.

        ``start == 0`` begins a new upload (dropping any unfinished one); otherwise ``start``
        must not be beyond the bytes already received (``RangeConflict`` says where they end).
        A disk that refuses is a ``LocalStoreError`` too (``disk_error``).
        """
        try:
            return self._open_range(key, start, end, total, content_type)
        except OSError as exc:
            raise disk_error(exc) from exc

    def _open_range(
        self, key: str, start: int, end: int, total: int, content_type: str
    ) -> RangeWriter:
        self._check_key(key)
        if not 0 <= start <= end <= total:
            raise LocalStoreError(f"bytes {start}-{end} do not fit in an object of {total} bytes")
        if total > self.max_object_bytes:
            raise TooLarge(f"{total} bytes is over the local store's limit of "
                           f"{self.max_object_bytes} bytes")
        self._check_free_space(end - start)
        data, info = self._partial_paths(key)
        handle: Any
        if start == 0:
            self._take_hasher(key, "", -1)  # drop what was kept for an older upload
            upload_id = secrets.token_hex(8)
            _write_json(info, {"key": key, "upload_id": upload_id, "total": total,
                               "content_type": content_type})
            # 0600 from its creation; it is renamed into objects/ when complete.
            descriptor = os.open(data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            handle = os.fdopen(descriptor, "wb")  # closed by the RangeWriter
            hasher = hashlib.sha256()
        else:
            current = self.partial(key)
            if current is None:
                raise RangeConflict("there is no unfinished upload of this key", offset=0)
            if current.total != total:
                raise RangeConflict(
                    f"the unfinished upload is of {current.total} bytes, not {total}",
                    offset=current.offset,
                )
            if start > current.offset:
                raise RangeConflict(
                    f"the upload stands at byte {current.offset}; cannot continue at {start}",
                    offset=current.offset,
                )
            upload_id = current.upload_id
            handle = data.open("r+b")
            handle.truncate(start)
            handle.seek(start)
            hasher = self._take_hasher(key, upload_id, start)
        return RangeWriter(self, key, upload_id, handle, start, end, total, content_type, hasher)

    def _take_hasher(self, key: str, upload_id: str, offset: int) -> Any:
        with self._lock:
            saved = self._hashers.pop(key, None)
        if saved and saved[0] == upload_id and saved[1] == offset:
            return saved[2]
        return None

    def _keep_hasher(self, key: str, upload_id: str, offset: int, hasher: Any) -> None:
        if hasher is not None:
            with self._lock:
                self._hashers[key] = (upload_id, offset, hasher)

    def _finish(
        self, key: str, upload_id: str, content_type: str, hasher: Any
    ) -> StoredObject:
        data, info = self._partial_paths(key)
        digest = hasher.hexdigest() if hasher is not None else _sha256_of(data)
        target = self.object_path(key)
        meta_path = self._meta_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            meta_path.unlink()  # never let an old object's metadata describe the new one
        size = data.stat().st_size
        os.replace(data, target)
        _write_json(meta_path, {"key": key, "size": size, "sha256": digest,
                                "content_type": content_type, "upload_id": upload_id,
                                "stored_at": time.time()})
        with contextlib.suppress(FileNotFoundError):
            info.unlink()
        logger.info("Stored %s (%d bytes)", key, size)
        return StoredObject(key, target, size, digest, content_type, upload_id)

    # -- paths ----------------------------------------------------------------------------

    def _check_key(self, key: str) -> None:
        if not is_safe_key(key):
            raise UnsafeKey("the storage key is not a safe relative path")

    def _meta_path(self, key: str) -> Path:
        name = _hashed(key)
        return self._meta / name[:2] / f"{name}.json"

    def _partial_paths(self, key: str) -> tuple[Path, Path]:
        name = _hashed(key)
        return self._partial / f"{name}.data", self._partial / f"{name}.json"

    def _check_free_space(self, needed: int) -> None:
        free = shutil.disk_usage(self.root).free
        if free < needed + _FREE_SPACE_MARGIN:
            raise InsufficientStorage(
                f"not enough free disk space for the upload ({free} bytes free, {needed} needed)"
            )


class RangeWriter:
    """Writes one byte range of an upload; used from a worker thread, one call at a time."""

    def __init__(
        self,
        store: LocalFileStore,
        key: str,
        upload_id: str,
        handle: Any,
        start: int,
        end: int,
        total: int,
        content_type: str,
        hasher: Any,
    ) -> None:
        self.key = key
        self.upload_id = upload_id
        self.position = start
        self.end = end
        self.total = total
        self._store = store
        self._handle = handle
        self._content_type = content_type
        self._hasher = hasher

    def write(self, chunks: Iterable[bytes]) -> None:
        try:
            self._write(chunks)
        except OSError as exc:
            raise disk_error(exc, offset=self.position) from exc

    def _write(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            if self.position + len(chunk) > self.end:
                raise LocalStoreError("the body is longer than its declared range")
            self._handle.write(chunk)
            if self._hasher is not None:
                self._hasher.update(chunk)
            self.position += len(chunk)

    def close(self) -> StoredObject | None:
        """Close the range: the finished object if it was the last one, else ``None``.

        A range that was cut short keeps what arrived, so the client can continue from there.
        """
        try:
            return self._close()
        except OSError as exc:
            raise disk_error(exc, offset=self.position) from exc

    def _close(self) -> StoredObject | None:
        complete = self.position == self.end
        if complete and self.end == self.total:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            return self._store._finish(
                self.key, self.upload_id, self._content_type, self._hasher
            )
        self._handle.close()
        self._store._keep_hasher(self.key, self.upload_id, self.position, self._hasher)
        return None


def _signing_key(key_file: Path) -> str:
    """The key in ``key_file``, made (readable by its owner only) if there is none yet.

    Written to a temporary file and linked into place, so two processes starting together
    (the app and ``serve`` on one data folder) end up with the same key, never a torn one.
    """
    with contextlib.suppress(FileNotFoundError):
        if secret := key_file.read_text(encoding="ascii").strip():
            return secret
    candidate = key_file.with_name(f"{key_file.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(candidate, key_file)  # fails if another process made its key first
    except FileExistsError:
        pass
    except OSError:  # a file system without hard links: a plain rename, racy but rare
        if not key_file.exists():
            os.replace(candidate, key_file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
    return key_file.read_text(encoding="ascii").strip()


def _hashed(key: str) -> str:
    """The file name of ``key``'s object; refuses a key that is not a safe relative path."""
    if not is_safe_key(key):
        raise UnsafeKey("the storage key is not a safe relative path")
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)
