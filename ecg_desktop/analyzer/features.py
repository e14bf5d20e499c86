"""Acoustic measurements with numpy, framed once at a 10 ms hop, in bounded memory.

Per frame: loudness, F0 (YIN candidates, chosen along the most continuous path), the
spectrum's total power and first moment (for spectral centroids) and MFCCs. Frames are
analysed in blocks of ``BLOCK``, so the working memory does not grow with the recording: a
3-hour file keeps only its decoded signal and a few small arrays per frame (no prefix sums
of the signal, no stored power spectrum). Word features and the diarizer read these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .media import SAMPLE_RATE
from .pitch import F0_MIN, PitchCandidates, choose_pitch, yin_candidates

HOP = 160  # 10 ms
WIN = 400  # 25 ms analysis window for loudness and the spectrum
NFFT = 512
YIN_WIN = 512
DB_FLOOR = -100.0
N_MELS, N_MFCC = 26, 13
BLOCK = 2048  # frames per vectorised block: about 20 s of audio, tens of MB of work arrays

_BIN_HZ = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)


@dataclass(frozen=True)
class FrameAnalysis:
    """Per-frame arrays; frame ``i`` is centred on sample ``i * HOP``."""

    audio: np.ndarray
    energy_db: np.ndarray  # RMS dBFS over WIN samples
    f0: np.ndarray  # Hz, NaN where unvoiced
    spectral_power: np.ndarray  # total power of the frame's spectrum
    spectral_moment: np.ndarray  # sum of power x frequency, so centroids add up over frames
    mfcc: np.ndarray  # (frames, N_MFCC) float32

    @property
    def frame_count(self) -> int:
        return len(self.energy_db)

    def frame_index(self, seconds: float) -> int:
        return int(np.clip(round(seconds * SAMPLE_RATE / HOP), 0, self.frame_count))


@dataclass(frozen=True)
class WordFeatures:
    volume_db: float
    pitch_hz: float | None
    spectral_centroid: float | None


def _db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        db: np.ndarray = np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), DB_FLOOR)
    return db


def _frame_count(audio: np.ndarray) -> int:
    return max(1, int(np.ceil(len(audio) / HOP)))


def _windows(audio: np.ndarray, width: int, start: int, stop: int) -> np.ndarray:
    """Windows of ``width`` samples centred on frames ``start``..``stop - 1``, zeros beyond
    the signal: a view on a copy of just that stretch, never on a padded whole signal."""
    first = start * HOP - width // 2
    last = (stop - 1) * HOP - width // 2 + width
    stretch = np.zeros(last - first, dtype=np.float32)
    lo, hi = max(first, 0), min(last, len(audio))
    if hi > lo:
        stretch[lo - first : hi - first] = audio[lo:hi]
    return sliding_window_view(stretch, width)[::HOP]


def _blocks(count: int) -> list[tuple[int, int]]:
    return [(start, min(count, start + BLOCK)) for start in range(0, count, BLOCK)]


def frame_energy_db(audio: np.ndarray) -> np.ndarray:
    """RMS loudness per frame in dBFS: cheap, used for voice activity before recognition."""
    count = _frame_count(audio)
    energy = np.empty(count)
    for start, stop in _blocks(count):
        energy[start:stop] = _block_energy_db(_windows(audio, WIN, start, stop))
    return energy


def _block_energy_db(windows: np.ndarray) -> np.ndarray:
    squares = np.einsum("ij,ij->i", windows, windows, dtype=np.float64)
    return _db(squares / WIN)


def analyse_frames(audio: np.ndarray) -> FrameAnalysis:
    count = _frame_count(audio)
    yin_width = YIN_WIN + int(SAMPLE_RATE / F0_MIN) + 1
    window = np.hanning(WIN).astype(np.float32)
    mel, dct = _mel_filterbank(), _dct_matrix()
    energy = np.empty(count)
    total = np.empty(count)
    moment = np.empty(count)
    mfcc = np.empty((count, N_MFCC), dtype=np.float32)
    candidates: list[PitchCandidates] = []
    for start, stop in _blocks(count):
        frames = _windows(audio, WIN, start, stop)
        energy[start:stop] = _block_energy_db(frames)
        power = np.abs(np.fft.rfft(frames * window, NFFT)) ** 2
        total[start:stop] = power.sum(axis=1, dtype=np.float64)
        moment[start:stop] = power @ _BIN_HZ
        mfcc[start:stop] = np.log(np.maximum(power @ mel.T, 1e-10)) @ dct.T
        candidates.append(yin_candidates(_windows(audio, yin_width, start, stop), YIN_WIN))
    f0 = choose_pitch(PitchCandidates.join(candidates))
    f0[energy < max(DB_FLOOR + 40, float(np.max(energy)) - 50)] = np.nan
    return FrameAnalysis(audio, energy, f0, total, moment, mfcc)


def _mel_filterbank() -> np.ndarray:
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    edges = to_hz(
        np.linspace(to_mel(np.array(60.0)), to_mel(np.array(SAMPLE_RATE / 2)), N_MELS + 2)
    )
    bins = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)
    bank = np.zeros((N_MELS, len(bins)), dtype=np.float32)
    for i in range(N_MELS):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        bank[i] = np.maximum(0.0, np.minimum(rising, falling))
    return bank


def _dct_matrix() -> np.ndarray:
    k = np.arange(N_MFCC)[:, None]
    n = np.arange(N_MELS)[None, :]
    return np.cos(np.pi * k * (2 * n + 1) / (2 * N_MELS)).astype(np.float32)


def word_features(frames: FrameAnalysis, start: float, end: float) -> WordFeatures:
    """RMS dBFS over the word's samples, median F0 of its voiced frames, spectral centroid."""
    total = len(frames.audio)
    lo = int(np.clip(round(start * SAMPLE_RATE), 0, total))
    hi = int(np.clip(round(end * SAMPLE_RATE), lo, total))
    if hi <= lo:
        return WordFeatures(DB_FLOOR, None, None)
    samples = frames.audio[lo:hi]
    mean_square = float(np.dot(samples, samples.astype(np.float64))) / (hi - lo)
    volume = min(0.0, float(_db(np.array(mean_square))))
    first = frames.frame_index(start)
    last = max(first + 1, frames.frame_index(end))
    pitches = frames.f0[first:last]
    voiced = pitches[~np.isnan(pitches)]
    pitch = float(np.median(voiced)) if len(voiced) else None
    energy = float(frames.spectral_power[first:last].sum())
    moment = float(frames.spectral_moment[first:last].sum())
    centroid = moment / energy if energy > 1e-12 else None
    return WordFeatures(
        round(volume, 2),
        round(pitch, 2) if pitch is not None else None,
        round(centroid, 1) if centroid is not None else None,
    )
