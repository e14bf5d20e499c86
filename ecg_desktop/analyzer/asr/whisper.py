"""faster-whisper (CTranslate2): the default recogniser.

Runs int8 on CPU and float16 on CUDA when a CUDA device is present (``device=auto``), with
word timestamps and Whisper's own per-word probability as ``confidence``; punctuation and
casing stay in the words. Silero VAD (shipped inside faster-whisper) keeps silence and music
from being transcribed into invented text. English word times are refined by forced
alignment (``refine.py``). A loaded model is kept for the next job of the same worker process.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..media import SAMPLE_RATE
from .common import Progress, Recognition, RecognizedWord, Regions
from .refine import refine_word_times

MAX_DEFAULT_THREADS = 8
MULTILINGUAL_VOCABULARY = 51865  # English-only Whisper models have 51864 tokens
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class WhisperRuntime:
    """Where and how Whisper runs (``ECG_ANALYZER_DEVICE``, ``_COMPUTE_TYPE``, ``_THREADS``)."""

    device: str = "auto"  # auto: CUDA when a device is present, else the CPU
    compute_type: str = "auto"  # auto: int8 on the CPU, float16 on CUDA
    cpu_threads: int = 0  # 0: the CPUs this process may use, at most 8

    def resolved(self) -> tuple[str, str, int]:
        device = self.device
        if device == "auto":
            device = "cuda" if cuda_device_count() > 0 else "cpu"
        compute_type = self.compute_type
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        threads = self.cpu_threads or min(MAX_DEFAULT_THREADS, len(os.sched_getaffinity(0)))
        return device, compute_type, threads


def cuda_device_count() -> int:
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # no CUDA runtime at all is the common case, not an error
        return 0


@dataclass(frozen=True)
class WhisperModelRef:
    """A model folder on disk and the name it is reported under."""

    name: str
    path: Path

    @property
    def multilingual(self) -> bool:
        return folder_is_multilingual(self.path)


@functools.cache
def folder_is_multilingual(folder: Path) -> bool:
    """Whether a CTranslate2 Whisper folder holds a multilingual model (by vocabulary size,
    which is what tells Whisper's English-only models from the others)."""
    if (folder / "vocabulary.json").is_file():
        size = len(json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))
    elif (folder / "vocabulary.txt").is_file():
        size = len((folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    else:
        return not folder.name.endswith(".en")
    return size >= MULTILINGUAL_VOCABULARY


_loaded: dict[tuple[str, str, str, int], Any] = {}
_load_lock = threading.Lock()


def load_model(path: Path, device: str, compute_type: str, threads: int) -> Any:
    """The WhisperModel for ``path``; the last one loaded stays for the next job (one model
    at a time, so a worker holds at most one in memory)."""
    from faster_whisper import WhisperModel

    key = (str(path), device, compute_type, threads)
    with _load_lock:
        if key not in _loaded:
            _loaded.clear()
            _loaded[key] = WhisperModel(
                str(path), device=device, compute_type=compute_type, cpu_threads=threads
            )
        return _loaded[key]


@functools.cache
def _aligner() -> Any:
    from .sphinx import ChunkAligner

    return ChunkAligner()


class WhisperRecognizer:
    name = "faster-whisper"

    def __init__(
        self,
        model: WhisperModelRef,
        language: str | None,
        runtime: WhisperRuntime,
    ) -> None:
        self._ref = model
        self._language = language
        self.device, self.compute_type, self.threads = runtime.resolved()
        self._model = load_model(model.path, self.device, self.compute_type, self.threads)
        self.model_version = f"faster-whisper {model.name} {self.compute_type} {self.device}"

    def recognize(self, audio: np.ndarray, regions: Regions, progress: Progress) -> Recognition:
        duration = len(audio) / SAMPLE_RATE or 1.0
        segments, info = self._model.transcribe(
            audio,
            language=self._language,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,  # as WhisperX: no repetition loops
            # The VAD has already kept only speech. Whisper's own no-speech test would drop
            # a 30 s window of real speech whose text repeats (every decoding "too
            # repetitive", the last one unsure, so the window is taken for silence).
            no_speech_threshold=None,
        )
        words: list[RecognizedWord] = []
        for segment in segments:  # a generator: decoding happens as we iterate
            for w in segment.words or ():
                text = w.word.strip()
                if text:
                    confidence = round(float(w.probability), 3)
                    words.append(RecognizedWord(text, w.start, w.end, confidence))
            progress(min(0.99, segment.end / duration))
        language = info.language
        aligned = language == "en"  # the aligner's acoustic model is US English
        cpu_started = time.process_time()
        words = refine_word_times(audio, words, regions, _aligner() if aligned else None)
        refine_cpu = time.process_time() - cpu_started
        progress(1.0)
        details: dict[str, Any] = {
            "model": self._ref.name,
            "device": self.device,
            "compute_type": self.compute_type,
            "word_times": "aligned by pocketsphinx" if aligned else "whisper",
            "word_times_cpu": round(refine_cpu, 3),  # CPU seconds, within "recognition"
        }
        if self._language is None:
            details["language_probability"] = round(float(info.language_probability), 3)
        return Recognition(words, language, "recognition", details=details)
