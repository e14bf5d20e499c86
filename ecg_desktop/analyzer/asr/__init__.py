"""Speech recognition behind one small interface.

- ``faster-whisper`` (``whisper.py``): the default, Whisper tiny.en bundled with the app;
  word times refined by forced alignment (``refine.py``).
- ``pocketsphinx`` (``sphinx.py``): forced alignment of a known transcript, English
  recognition when picked, and the aligner behind Whisper's word times.
- ``vosk`` (``vosk.py``): Korean when no multilingual Whisper model is installed.

``choose_backend`` (``choice.py``) turns a request's language and model into a backend and
says honestly which language will be reported.
"""

from .choice import (
    BACKENDS,
    POCKETSPHINX,
    VOSK,
    WHISPER,
    BackendChoice,
    BackendPaths,
    available_backends,
    choose_backend,
    default_model_label,
    language_problem,
    make_recognizer,
    whisper_model,
)
from .common import Progress, Recognition, RecognizedWord, Recognizer
from .sphinx import guess_phones
from .vosk import vosk_model_path
from .whisper import WhisperRuntime

__all__ = [
    "BACKENDS",
    "POCKETSPHINX",
    "VOSK",
    "WHISPER",
    "BackendChoice",
    "BackendPaths",
    "Progress",
    "Recognition",
    "RecognizedWord",
    "Recognizer",
    "WhisperRuntime",
    "available_backends",
    "choose_backend",
    "default_model_label",
    "guess_phones",
    "language_problem",
    "make_recognizer",
    "vosk_model_path",
    "whisper_model",
]
