"""Word pitch of the analyzer against Praat's autocorrelation tracker (praat-parselmouth).

Each sentence is spoken by espeak-ng, padded with silence and cut into words at espeak's own
word events. Praat measures the clean 22.05 kHz signal; the analyzer measures the same speech
at 16 kHz, optionally degraded the way real recordings are (a telephone band that removes the
fundamental, noise, a reverberant room). A word counts when Praat finds at least three voiced
frames in it; it agrees when the analyzer's median F0 is within 10 % of Praat's, and it is an
octave error when the ratio is beyond 1.8 or under 0.56 (a missing pitch is neither).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import parselmouth
from scipy import signal

from ecg_desktop.analyzer.features import analyse_frames, word_features
from ecg_desktop.analyzer.media import SAMPLE_RATE
from tests.analyzer.espeak_words import word_times
from tests.media import SAMPLE_RATE as SPEECH_RATE
from tests.media import TurnTruth, synthesize

# Names both the espeak-ng command and libespeak-ng accept ("en" is British English).
MALE_VOICES = ("en-us", "en", "en-gb-x-rp", "en-us+m3", "en-us+m7")
FEMALE_VOICES = ("en-us+f2", "en-us+f3", "en+f4")
SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "We should all go and see a musical in the city this weekend.",
    "I would rather stay home and read a good book by the fire.",
    "That sounds boring to me, but I understand why you like it.",
    "Maybe next week we can do something together in the park.",
    "Do you remember where we parked the car this morning?",
)
PAD_S = 0.5
Degrade = Callable[[np.ndarray], np.ndarray]


@dataclass
class Agreement:
    words: int = 0
    within: int = 0
    octave_errors: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.within / self.words if self.words else 0.0

    def add(self, other: Agreement) -> None:
        self.words += other.words
        self.within += other.within
        self.octave_errors += other.octave_errors
        self.misses += other.misses


def clean(audio: np.ndarray) -> np.ndarray:
    return audio


def telephone_band(audio: np.ndarray) -> np.ndarray:
    """300-3400 Hz, 4th-order Butterworth: the fundamental of every voice is gone."""
    sos = signal.butter(4, [300, 3400], btype="band", fs=SAMPLE_RATE, output="sos")
    filtered: np.ndarray = signal.sosfilt(sos, audio).astype(np.float32)
    return filtered


def noisy(audio: np.ndarray) -> np.ndarray:
    """White noise 15 dB under the speech."""
    speech_power = float(np.mean(audio[np.abs(audio) > 0.01] ** 2))
    noise = np.random.default_rng(0).normal(0.0, np.sqrt(speech_power / 10**1.5), len(audio))
    return (audio + noise).astype(np.float32)


def reverberant(audio: np.ndarray) -> np.ndarray:
    """A room with a 0.5 s reverberation time (decaying noise as the impulse response)."""
    t = np.arange(int(0.5 * SAMPLE_RATE)) / SAMPLE_RATE
    response = np.random.default_rng(0).normal(0.0, 1.0, len(t)) * np.exp(-6.9 * t / 0.5)
    response[0] = 8.0
    response *= 4.0 / np.abs(response).sum()
    wet: np.ndarray = signal.fftconvolve(audio, response)[: len(audio)].astype(np.float32)
    return wet


def sentence_agreement(voice: str, text: str, degrade: Degrade = clean) -> Agreement:
    speech = synthesize(voice, text)
    loud = np.flatnonzero(np.abs(speech) > 0.01)
    speech = speech[loud[0] : loud[-1] + 1]
    pad = np.zeros(int(PAD_S * SPEECH_RATE), np.float32)
    padded = np.concatenate([pad, speech, pad])
    turn = TurnTruth("SPEAKER_00", voice, text, 0.0, PAD_S, PAD_S + len(speech) / SPEECH_RATE)
    starts = [w.start for w in word_times(turn)]
    names = [w.word for w in word_times(turn)]
    bounds = [*starts, turn.end]
    pitch = parselmouth.Sound(padded.astype(np.float64), SPEECH_RATE).to_pitch_ac(
        time_step=0.01, pitch_floor=60.0, pitch_ceiling=500.0
    )
    times, praat_hz = pitch.xs(), pitch.selected_array["frequency"]
    audio = signal.resample_poly(padded, SAMPLE_RATE // 100, SPEECH_RATE // 100)
    frames = analyse_frames(degrade(audio.astype(np.float32)))
    result = Agreement()
    for name, start, end in zip(names, bounds, bounds[1:], strict=False):
        voiced = (times >= start) & (times < end) & (praat_hz > 0)
        if voiced.sum() < 3:
            continue
        reference = float(np.median(praat_hz[voiced]))
        ours = word_features(frames, start, end).pitch_hz
        result.words += 1
        ratio = ours / reference if ours else 0.0
        if abs(ratio - 1.0) <= 0.10:
            result.within += 1
            continue
        result.misses.append(f"{voice} {name!r}: {ours} Hz, Praat {reference:.1f} Hz")
        if ours and not 0.56 <= ratio <= 1.8:
            result.octave_errors += 1
    return result


def agreement(
    voices: Sequence[str], degrade: Degrade = clean, sentences: Sequence[str] = SENTENCES
) -> Agreement:
    total = Agreement()
    for voice in voices:
        for text in sentences:
            total.add(sentence_agreement(voice, text, degrade))
    return total
