"""Acoustic measurements with numpy, vectorised over the whole signal.

The signal is framed once (10 ms hop): per-frame loudness, F0 (YIN), a power spectrum and MFCCs.
Word features and the diarizer both read these arrays; nothing here is a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .media import SAMPLE_RATE

HOP = 160  # 10 ms
WIN = 400  # 25 ms analysis window for loudness and the spectrum
NFFT = 512
F0_MIN, F0_MAX = 60.0, 420.0
YIN_WIN = 512
YIN_THRESHOLD = 0.2
DB_FLOOR = -100.0
N_MELS, N_MFCC = 26, 13
BLOCK = 4096  # frames per vectorised block (bounds memory)


@dataclass(frozen=True)
class FrameAnalysis:
    """Per-frame arrays; frame ``i`` is centred on sample ``i * HOP``."""

    audio: np.ndarray
    energy_db: np.ndarray  # RMS dBFS over WIN samples
    f0: np.ndarray  # Hz, NaN where unvoiced
    power: np.ndarray  # (frames, NFFT // 2 + 1) power spectrum, float32
    mfcc: np.ndarray  # (frames, N_MFCC)
    cumulative_square: np.ndarray  # prefix sums of the squared signal, for exact word RMS

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


def _frames(audio: np.ndarray, width: int, count: int) -> np.ndarray:
    """``count`` windows of ``width`` samples, window ``i`` centred on sample ``i * HOP``."""
    half = width // 2
    padded = np.pad(audio, (half, width + count * HOP))
    return sliding_window_view(padded, width)[: count * HOP : HOP]


def frame_energy_db(audio: np.ndarray) -> np.ndarray:
    """RMS loudness per frame in dBFS: cheap, used for voice activity before recognition."""
    count = max(1, int(np.ceil(len(audio) / HOP)))
    cumulative = np.concatenate(([0.0], np.cumsum(audio.astype(np.float64) ** 2)))
    centres = np.arange(count) * HOP
    lo = np.clip(centres - WIN // 2, 0, len(audio))
    hi = np.clip(centres + WIN // 2, 0, len(audio))
    mean_square = (cumulative[hi] - cumulative[lo]) / WIN
    return _db(mean_square)


def analyse_frames(audio: np.ndarray) -> FrameAnalysis:
    count = max(1, int(np.ceil(len(audio) / HOP)))
    cumulative = np.concatenate(([0.0], np.cumsum(audio.astype(np.float64) ** 2)))
    energy = frame_energy_db(audio)
    spectrum_frames = _frames(audio, WIN, count)
    yin_width = YIN_WIN + int(SAMPLE_RATE / F0_MIN) + 1
    yin_frames = _frames(audio, yin_width, count)
    window = np.hanning(WIN).astype(np.float32)
    mel = _mel_filterbank()
    dct = _dct_matrix()
    power = np.empty((count, NFFT // 2 + 1), dtype=np.float32)
    f0 = np.full(count, np.nan)
    for start in range(0, count, BLOCK):
        stop = min(count, start + BLOCK)
        block = spectrum_frames[start:stop] * window
        power[start:stop] = np.abs(np.fft.rfft(block, NFFT)) ** 2
        f0[start:stop] = _yin(yin_frames[start:stop])
    f0[energy < max(DB_FLOOR + 40, float(np.max(energy)) - 50)] = np.nan
    mel_energy = np.log(np.maximum(power @ mel.T, 1e-10))
    mfcc = mel_energy @ dct.T
    return FrameAnalysis(audio, energy, f0, power, mfcc.astype(np.float32), cumulative)


def _yin(frames: np.ndarray) -> np.ndarray:
    """YIN F0 per frame (de Cheveigné & Kawahara 2002), NaN where no period is clear."""
    tau_min = int(SAMPLE_RATE / F0_MAX)
    tau_max = int(SAMPLE_RATE / F0_MIN)
    frames = frames.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(frames.shape[1] + YIN_WIN)))
    head = np.fft.rfft(frames[:, :YIN_WIN], n)
    full = np.fft.rfft(frames, n)
    correlation = np.fft.irfft(np.conj(head) * full, n)[:, : tau_max + 1]
    squares = np.cumsum(frames**2, axis=1)
    squares = np.concatenate((np.zeros((len(frames), 1)), squares), axis=1)
    taus = np.arange(tau_max + 1)
    shifted_energy = squares[:, taus + YIN_WIN] - squares[:, taus]
    own_energy = squares[:, YIN_WIN][:, None]
    difference = np.maximum(own_energy + shifted_energy - 2.0 * correlation, 0.0)
    running = np.cumsum(difference[:, 1:], axis=1)
    cmnd = np.ones_like(difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = difference[:, 1:] * taus[1:] / running
    cmnd = np.nan_to_num(cmnd, nan=1.0, posinf=1.0)
    search = cmnd[:, tau_min : tau_max + 1]
    below = search < YIN_THRESHOLD
    voiced = below.any(axis=1)
    first = np.argmax(below, axis=1)
    # Walk from the first dip under the threshold down to its local minimum.
    lag = first.copy()
    rows = np.arange(len(search))
    for _ in range(search.shape[1]):
        nxt = np.minimum(lag + 1, search.shape[1] - 1)
        better = search[rows, nxt] < search[rows, lag]
        if not better.any():
            break
        lag = np.where(better, nxt, lag)
    tau = lag + tau_min
    left = cmnd[rows, np.maximum(tau - 1, 0)]
    mid = cmnd[rows, tau]
    right = cmnd[rows, np.minimum(tau + 1, tau_max)]
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / denom, 0.0)
    refined = tau + np.clip(shift, -1.0, 1.0)
    return np.where(voiced, SAMPLE_RATE / refined, np.nan)


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


_BIN_HZ = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)


def word_features(frames: FrameAnalysis, start: float, end: float) -> WordFeatures:
    """RMS dBFS over the word's samples, median F0 of its voiced frames, spectral centroid."""
    total = len(frames.audio)
    lo = int(np.clip(round(start * SAMPLE_RATE), 0, total))
    hi = int(np.clip(round(end * SAMPLE_RATE), lo, total))
    if hi <= lo:
        return WordFeatures(DB_FLOOR, None, None)
    mean_square = (frames.cumulative_square[hi] - frames.cumulative_square[lo]) / (hi - lo)
    volume = min(0.0, float(_db(np.array(mean_square))))
    first = frames.frame_index(start)
    last = max(first + 1, frames.frame_index(end))
    pitches = frames.f0[first:last]
    voiced = pitches[~np.isnan(pitches)]
    pitch = float(np.median(voiced)) if len(voiced) else None
    spectrum = frames.power[first:last].sum(axis=0, dtype=np.float64)
    energy = float(spectrum.sum())
    centroid = float(spectrum @ _BIN_HZ / energy) if energy > 1e-12 else None
    return WordFeatures(
        round(volume, 2),
        round(pitch, 2) if pitch is not None else None,
        round(centroid, 1) if centroid is not None else None,
    )
