"""Downloading a Whisper model from its Hugging Face repository, checked, into the models
folder (see ``whisper_models`` for where models live and when one counts as installed).

``huggingface_hub`` lists the repository and does the transfer (``http_get``, which resumes a
dropped connection with a Range request); this module adds the choice of files, resuming
across attempts, one progress figure for all of them, cancellation, the checksums and the
move into place.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .whisper_models import (
    HASH_BLOCK,
    MARKER,
    MODEL_FILE_PATTERNS,
    REQUIRED_FILES,
    STAGING,
    DownloadCanceled,
    ModelChecksumError,
    ModelDownloadError,
    ModelError,
    Progress,
    WhisperModelInfo,
    default_models_dir,
    downloaded_folder,
    file_sha256,
    model_info,
    model_lock,
    private_dir,
)

COMMIT_STAMP = ".commit"  # in the staging folder: the commit its parts come from


@dataclass(frozen=True)
class _RemoteFile:
    name: str
    size: int
    sha256: str | None  # git-LFS files
    blob_id: str | None  # git's sha1 of the blob, for the others


class _ByteCount:
    """The ``tqdm_class`` given to huggingface_hub's ``http_get``: adds the bytes written into
    one total for the caller's ``progress`` (subclassed per download with its ``tracker``).
    A negative ``n`` takes back bytes of a resumed request the server answered from the
    start."""

    tracker: _DownloadTracker

    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def __enter__(self) -> _ByteCount:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def update(self, n: float | None = 1) -> None:
        self.tracker.add(int(n or 0))

    def close(self) -> None:
        pass


class _DownloadTracker:
    def __init__(self, total: int, progress: Progress | None, cancel: threading.Event | None):
        self.total = total
        self.done = 0
        self._progress = progress
        self._cancel = cancel
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise DownloadCanceled("the download was canceled")
        with self._lock:
            self.done = max(0, self.done + n)
            done = min(self.done, self.total)
        if self._progress is not None:
            self._progress(done, self.total)

    def counter(self) -> type[_ByteCount]:
        return type("_TrackedByteCount", (_ByteCount,), {"tracker": self})

    def file_finished(self, done_before: int, size: int) -> None:
        """Count a file as complete, also one kept from an earlier attempt (no bytes came)."""
        self.add(done_before + size - self.done)


def _git_blob_sha1(path: Path) -> str:
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, remote: _RemoteFile) -> str:
    """The file's sha256 once it matches what the hub listed; raises ``ModelChecksumError``."""
    size = path.stat().st_size
    if size != remote.size:
        raise ModelChecksumError(
            f"{remote.name}: {size} bytes received, the hub lists {remote.size}"
        )
    sha256 = file_sha256(path)
    if remote.sha256 is not None and sha256 != remote.sha256:
        raise ModelChecksumError(
            f"{remote.name}: sha256 {sha256} does not match the hub's {remote.sha256}"
        )
    if remote.sha256 is None and remote.blob_id and _git_blob_sha1(path) != remote.blob_id:
        raise ModelChecksumError(f"{remote.name}: content does not match the hub's blob id")
    return sha256


def _is_model_file(name: str) -> bool:
    """One of the files faster-whisper needs, at the top of the repository (a listed name
    with a folder in it, ``vocabulary.x/../../elsewhere``, is never written)."""
    flat = "/" not in name and "\\" not in name and name not in (".", "..")
    return flat and any(fnmatch.fnmatch(name, p) for p in MODEL_FILE_PATTERNS)


def _remote_files(info: Any, repo_id: str) -> list[_RemoteFile]:
    wanted = [
        _RemoteFile(
            s.rfilename,
            int(s.lfs.size if s.lfs is not None else s.size or 0),
            s.lfs.sha256 if s.lfs is not None else None,
            s.blob_id,
        )
        for s in info.siblings or ()
        if _is_model_file(s.rfilename)
    ]
    missing = set(REQUIRED_FILES) - {f.name for f in wanted}
    if missing:
        raise ModelDownloadError(
            f"{repo_id} is not a CTranslate2 Whisper model (no {', '.join(sorted(missing))})"
        )
    return wanted


def download_model(
    model: str | WhisperModelInfo,
    models_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    revision: str = "main",
) -> Path:
    """Download ``model`` from its hub repository into ``<models_dir>/<name>``; blocking.

    A download stopped midway (a dropped connection, a cancel, a quit) goes on from where it
    stopped, with a Range request, as long as the repository's commit is the same. Every
    file is checked against the hub's listing before the model is moved into place; on a
    mismatch the staging folder is deleted and ``ModelChecksumError`` raised. ``endpoint``
    defaults to ``$HF_ENDPOINT`` (read now, not at import) or the public hub."""
    info = model if isinstance(model, WhisperModelInfo) else model_info(model)
    models_dir = models_dir or default_models_dir()
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    with model_lock(models_dir, info.name):
        done = downloaded_folder(info.name, models_dir)
        if done is not None:
            return done
        staging = private_dir(private_dir(models_dir / STAGING) / info.name)
        try:
            marker = _fetch_and_check(info, staging, endpoint, revision, progress, cancel)
        except ModelChecksumError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return _install(staging, models_dir / info.name, marker)


def _fetch_and_check(
    info: WhisperModelInfo,
    staging: Path,
    endpoint: str | None,
    revision: str,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> dict[str, Any]:
    from huggingface_hub import HfApi, hf_hub_url

    try:
        repo = HfApi(endpoint=endpoint).model_info(
            info.repo_id, revision=revision, files_metadata=True
        )
        files = _remote_files(repo, info.repo_id)
        _keep_only_commit(staging, str(repo.sha))
        tracker = _DownloadTracker(sum(f.size for f in files), progress, cancel)
        for remote in files:
            url = hf_hub_url(info.repo_id, remote.name, revision=repo.sha, endpoint=endpoint)
            _fetch_file(url, remote, staging, tracker)
    except ModelError:
        raise
    except Exception as exc:  # the hub client's errors (HTTP, connection, disk) at the boundary
        raise ModelDownloadError(f"cannot download {info.repo_id}: {exc}") from exc
    sha256 = {remote.name: _check_file(staging / remote.name, remote) for remote in files}
    return {"name": info.name, "repo_id": info.repo_id, "revision": repo.sha, "sha256": sha256}


def _keep_only_commit(staging: Path, commit: str) -> None:
    """Parts kept from an earlier attempt are resumed only for the same commit."""
    stamp = staging / COMMIT_STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() != commit:
        for path in staging.iterdir():
            path.unlink()
    stamp.write_text(commit, encoding="utf-8")


def _fetch_file(url: str, remote: _RemoteFile, staging: Path, tracker: _DownloadTracker) -> None:
    """``remote`` into the staging folder: appended to ``<name>.part`` from where an earlier
    attempt stopped (a Range request), renamed when complete.

    Written on huggingface_hub's ``http_get`` (which retries a dropped connection with a
    Range request itself) rather than ``hf_hub_download``, which deletes a partial file
    when it gives up, so a cancel or a quit would start a large model again from zero."""
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    target = staging / remote.name
    done_before = tracker.done
    if not target.is_file():
        part = staging / f"{remote.name}.part"
        kept = part.stat().st_size if part.is_file() else 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if kept > remote.size else 0)
        with os.fdopen(os.open(part, flags, 0o600), "ab") as fh:
            resume = fh.tell()
            tracker.add(resume)
            http_get(url, fh, resume_size=resume, headers=build_hf_headers(),
                     expected_size=remote.size, tqdm_class=tracker.counter())
        part.replace(target)
    tracker.file_finished(done_before, remote.size)


def _install(staging: Path, target: Path, marker: Mapping[str, Any]) -> Path:
    (staging / COMMIT_STAMP).unlink(missing_ok=True)
    for path in staging.iterdir():
        path.chmod(0o600)
    marker_path = staging / MARKER
    fd = os.open(marker_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=1)
    shutil.rmtree(target, ignore_errors=True)  # a broken earlier copy without its marker
    staging.replace(target)
    return target
