"""pocketsphinx 5 with its bundled US English model: free recognition (a backend a user can
pick), forced alignment of a known script (the request's ``transcript``), and the aligner that
refines Whisper's word times (``ChunkAligner``)."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ecg_desktop.domain import ErrorCode

from ..errors import AnalysisError
from ..media import SAMPLE_RATE
from .common import (
    FILLER,
    Progress,
    Recognition,
    RecognizedWord,
    Regions,
    dithered,
    padded_spans,
    pcm16,
)

CHUNK_S = 0.5
ALIGN_PAD_S = 0.3
UTTERANCE_PAD_S = 0.25
WARM_UP = int(1.5 * SAMPLE_RATE)
# Beams wide enough that a known text is never pruned away (narrower ones drop the last words).
ALIGN_BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}
# For short chunks of Whisper's words: measured as accurate as the widest and 40 % cheaper.
CHUNK_BEAMS = {"beam": 1e-40, "wbeam": 1e-20, "pbeam": 1e-40}

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

    def recognize(self, audio: np.ndarray, regions: Regions, progress: Progress) -> Recognition:
        # No flat-lexicon second pass: 10% faster and, on our test speech, fewer errors.
        decoder = self._decoder(fwdflat=False)
        audio = dithered(audio)
        spans = padded_spans(regions, len(audio) / SAMPLE_RATE, UTTERANCE_PAD_S)
        _warm_up(decoder, audio, spans)
        total = sum(b - a for a, b in spans) or 1.0
        done = 0.0
        words: list[RecognizedWord] = []
        chunk = int(CHUNK_S * SAMPLE_RATE)
        for start, end in spans:
            pcm = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            decoder.start_utt()
            for offset in range(0, len(pcm), chunk):
                decoder.process_raw(pcm16(pcm[offset : offset + chunk]), False, False)
                progress(min(1.0, (done + (offset + chunk) / SAMPLE_RATE) / total))
            decoder.end_utt()
            words.extend(self._words(decoder, start))
            done += end - start
        progress(1.0)
        return Recognition(words, "en", "recognition", details={"model": "en-us"})

    def align(self, audio: np.ndarray, text: str, progress: Progress) -> Recognition:
        """Forced alignment of ``text``: word times for a known script."""
        tokens = text.split()
        decoder = self._decoder(**ALIGN_BEAMS)
        spoken: list[int] = []  # index into tokens of each word given to the aligner
        guessed: list[str] = []
        for index, token in enumerate(tokens):
            key = dictionary_form(token)
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
        decoder.set_align_text(" ".join(dictionary_form(tokens[i]) for i in spoken))
        pad = np.zeros(int(ALIGN_PAD_S * SAMPLE_RATE), dtype=np.float32)
        padded = dithered(np.concatenate([pad, audio, pad]))
        chunk = int(CHUNK_S * SAMPLE_RATE)
        decoder.start_utt()
        for offset in range(0, len(padded), chunk):
            decoder.process_raw(pcm16(padded[offset : offset + chunk]), False, False)
            progress(min(1.0, (offset + chunk) / len(padded)))
        decoder.end_utt()
        aligned = list(self._words(decoder, -ALIGN_PAD_S))
        if len(aligned) != len(spoken):
            notes.append(f"the aligner placed {len(aligned)} of {len(spoken)} words")
        words = _merge_alignment(tokens, spoken, aligned, len(audio) / SAMPLE_RATE)
        return Recognition(words, "en", "alignment", notes, {"model": "en-us"})

    def _words(self, decoder: Any, offset: float) -> list[RecognizedWord]:
        logmath = decoder.get_logmath()
        words = []
        for seg in decoder.seg():
            if FILLER.match(seg.word):
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
        decoder.process_raw(pcm16(np.concatenate(pieces)), False, True)
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


def dictionary_form(token: str) -> str:
    return re.sub(r"[^a-z']", "", token.lower()).strip("'")


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


class ChunkAligner:
    """Word times for short known texts (Whisper's words, one utterance at a time), the way
    WhisperX aligns Whisper's text with a phoneme model. One decoder serves every chunk:
    loading it takes longer than aligning a minute of speech."""

    def __init__(self) -> None:
        import pocketsphinx

        self._decoder = pocketsphinx.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **CHUNK_BEAMS)

    def _pronounceable(self, key: str) -> bool:
        if self._decoder.lookup_word(key) is not None:
            return True
        phones = guess_phones(key)
        if phones:
            self._decoder.add_word(key, phones, True)
        return bool(phones)

    def align(self, audio: np.ndarray, tokens: Sequence[str]) -> list[tuple[float, float] | None]:
        """(start, end) in seconds from the start of ``audio`` for each token; None for a token
        the aligner could not place (nothing pronounceable, or past where its search ended)."""
        keys = [dictionary_form(token) for token in tokens]
        spoken = [i for i, key in enumerate(keys) if key and self._pronounceable(key)]
        times: list[tuple[float, float] | None] = [None] * len(tokens)
        if not spoken or len(audio) == 0:
            return times
        decoder = self._decoder
        decoder.set_align_text(" ".join(keys[i] for i in spoken))
        decoder.start_utt()
        decoder.process_raw(pcm16(dithered(audio)), False, True)
        decoder.end_utt()
        placed = [seg for seg in decoder.seg() or () if not FILLER.match(seg.word)]
        for index, seg in zip(spoken, placed, strict=False):
            times[index] = (seg.start_frame / 100, (seg.end_frame + 1) / 100)
        return times
