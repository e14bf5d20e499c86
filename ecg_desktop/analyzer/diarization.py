"""Speaker diarization without downloaded models.

Voice activity from frame energy; one embedding per 1.5 s window of speech (MFCC means and
spreads plus pitch statistics); Ward clustering with the number of speakers chosen by the
silhouette score within the requested bounds; frame labels smoothed into speaker turns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from .features import HOP, FrameAnalysis
from .media import SAMPLE_RATE

FRAME_S = HOP / SAMPLE_RATE
WINDOW_S = 1.5
WINDOW_HOP_S = 0.25
MIN_TURN_S = 0.8
SPEAKER_DISTANCE = 4.5  # average distance between clusters of windows that are two voices
MIN_WINDOWS = 4  # a speaker needs about 1.5 s + 3 hops of speech
MIN_MFCC_SPREAD = 2.0  # floor of the MFCC scale: steady synthetic tones have almost none
PITCH_UNIT = 0.1  # log-Hz
DEFAULT_MAX_SPEAKERS = 6


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int


def speech_threshold_db(energy_db: np.ndarray) -> float:
    """Energy above which a frame counts as speech: relative to the noise floor and the peak."""
    floor = float(np.percentile(energy_db, 10))
    peak = float(np.percentile(energy_db, 99))
    return max(floor + 12.0, peak - 40.0)


def speech_mask(energy_db: np.ndarray, *, bridge_s: float = 0.2, min_s: float = 0.08) -> np.ndarray:
    """Frames that hold speech; pauses shorter than ``bridge_s`` are bridged."""
    mask = energy_db > speech_threshold_db(energy_db)
    mask = _fill_short_runs(mask, value=False, max_frames=int(bridge_s / FRAME_S))
    return _fill_short_runs(mask, value=True, max_frames=int(min_s / FRAME_S))


def speech_regions(mask: np.ndarray) -> list[tuple[float, float]]:
    return [(a * FRAME_S, b * FRAME_S) for a, b in _runs(mask, True)]


def _runs(mask: np.ndarray, value: bool) -> list[tuple[int, int]]:
    padded = np.concatenate(([not value], mask == value, [not value]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _fill_short_runs(mask: np.ndarray, *, value: bool, max_frames: int) -> np.ndarray:
    """Flip interior runs of ``value`` no longer than ``max_frames``."""
    out = mask.copy()
    for a, b in _runs(mask, value):
        if b - a <= max_frames and (value or (a > 0 and b < len(mask))):
            out[a:b] = not value
    return out


def _embeddings(frames: FrameAnalysis, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window centres (frame indices) and one embedding per window.

    MFCCs are measured in units of their frame-to-frame spread over the recording's speech
    (mostly phonetic variation, which a 1.5 s window averages out), log-pitch in tenths
    (about 1.7 semitones). Fixed units make distances comparable between recordings, so one
    threshold can say whether two groups of windows are different voices.
    """
    width = int(WINDOW_S / FRAME_S)
    step = int(WINDOW_HOP_S / FRAME_S)
    count = len(mask)
    starts = np.arange(0, max(1, count - width + 1), step)
    speech_cum = np.concatenate(([0], np.cumsum(mask)))
    keep = (speech_cum[np.minimum(starts + width, count)] - speech_cum[starts]) >= width * 0.4
    starts = starts[keep]
    if len(starts) == 0:
        return np.empty(0, dtype=int), np.empty((0, 0))
    mfcc = frames.mfcc[:, 1:].astype(np.float64)
    spread = np.maximum(mfcc[mask].std(axis=0), MIN_MFCC_SPREAD)
    mfcc = (mfcc - mfcc[mask].mean(axis=0)) / spread
    log_f0 = np.log(frames.f0)
    voiced = ~np.isnan(log_f0) & mask
    speech = mask.astype(np.float64)
    log_f0 = np.where(voiced, log_f0, 0.0)

    def window_sum(values: np.ndarray) -> np.ndarray:
        cum = np.concatenate((np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)))
        sums: np.ndarray = cum[starts + width] - cum[starts]
        return sums

    n_speech = np.maximum(window_sum(speech), 1.0)[:, None]
    mfcc_mean = window_sum(mfcc * speech[:, None]) / n_speech
    mfcc_sq = window_sum(mfcc**2 * speech[:, None]) / n_speech
    mfcc_std = np.sqrt(np.maximum(mfcc_sq - mfcc_mean**2, 0.0))
    n_voiced = window_sum(voiced.astype(np.float64))
    safe_voiced = np.maximum(n_voiced, 1.0)
    pitch_mean = window_sum(log_f0) / safe_voiced
    pitch_sq = window_sum(log_f0**2) / safe_voiced
    pitch_std = np.sqrt(np.maximum(pitch_sq - pitch_mean**2, 0.0))
    median_pitch = float(np.median(pitch_mean[n_voiced > 0])) if (n_voiced > 0).any() else 0.0
    pitch_mean = np.where(n_voiced > 0, pitch_mean, median_pitch)
    pitch = np.stack([pitch_mean, pitch_std], axis=1) / PITCH_UNIT
    return starts + width // 2, np.concatenate([mfcc_mean, mfcc_std, pitch], axis=1)


def _cluster(embeddings: np.ndarray, min_speakers: int, max_speakers: int) -> np.ndarray:
    """Average-linkage clusters: as many as stay ``SPEAKER_DISTANCE`` apart, within bounds.

    A cluster of fewer than ``MIN_WINDOWS`` windows (a cough, a laugh) joins its nearest one.
    """
    count = len(embeddings)
    if count < 2 or max_speakers <= 1:
        return np.zeros(count, dtype=int)
    tree = linkage(embeddings, method="average")
    heights = tree[:, 2]
    natural = int(np.sum(heights > SPEAKER_DISTANCE)) + 1
    wanted = int(np.clip(natural, min_speakers, min(max_speakers, count)))
    labels = fcluster(tree, wanted, criterion="maxclust") - 1
    if wanted > min_speakers:
        labels = _absorb_small_clusters(embeddings, labels, min_speakers)
    _, labels = np.unique(labels, return_inverse=True)
    return np.asarray(labels, dtype=int)


def _absorb_small_clusters(
    embeddings: np.ndarray, labels: np.ndarray, keep_at_least: int
) -> np.ndarray:
    labels = labels.copy()
    while True:
        clusters, sizes = np.unique(labels, return_counts=True)
        if len(clusters) <= max(1, keep_at_least) or sizes.min() >= MIN_WINDOWS:
            return labels
        small = clusters[np.argmin(sizes)]
        others = [c for c in clusters if c != small]
        centre = embeddings[labels == small].mean(axis=0)
        distances = [np.linalg.norm(embeddings[labels == c].mean(axis=0) - centre) for c in others]
        labels[labels == small] = others[int(np.argmin(distances))]


def diarize(
    frames: FrameAnalysis,
    mask: np.ndarray,
    *,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> list[Turn]:
    """Speaker turns over the speech in ``mask``; speakers numbered by first appearance."""
    low = max(1, min_speakers or 1)
    high = max(low, max_speakers or DEFAULT_MAX_SPEAKERS)
    centres, embeddings = _embeddings(frames, mask)
    if len(centres) == 0:
        return [Turn(a, b, 0) for a, b in speech_regions(mask)]
    labels = _cluster(embeddings, low, high)
    speech_frames = np.flatnonzero(mask)
    nearest = np.clip(np.searchsorted(centres, speech_frames), 0, len(centres) - 1)
    before = np.clip(nearest - 1, 0, len(centres) - 1)
    closer_before = np.abs(centres[before] - speech_frames) < np.abs(
        centres[nearest] - speech_frames
    )
    frame_labels = np.full(len(mask), -1)
    frame_labels[speech_frames] = labels[np.where(closer_before, before, nearest)]
    frame_labels = _settle_regions(frame_labels, mask, int(MIN_TURN_S / FRAME_S))
    frame_labels = _absorb_short_turns(frame_labels, int(MIN_TURN_S / FRAME_S))
    return _turns(frame_labels)


def _settle_regions(labels: np.ndarray, mask: np.ndarray, min_frames: int) -> np.ndarray:
    """Inside one stretch of speech, a short run of another speaker is the window straddling
    a pause, not a turn: it takes the label of its longer neighbour in the stretch."""
    labels = labels.copy()
    for a, b in _runs(mask, True):
        while True:
            values = labels[a:b]
            bounds = [0, *(np.flatnonzero(np.diff(values)) + 1).tolist(), b - a]
            pieces = list(itertools.pairwise(bounds))
            if len(pieces) < 2:
                break
            lengths = [end - start for start, end in pieces]
            shortest = int(np.argmin(lengths))
            if lengths[shortest] >= min_frames:
                break
            neighbours = [i for i in (shortest - 1, shortest + 1) if 0 <= i < len(pieces)]
            target = max(neighbours, key=lambda i: lengths[i])
            start, end = pieces[shortest]
            labels[a + start : a + end] = values[pieces[target][0]]
    return labels


def _absorb_short_turns(labels: np.ndarray, min_frames: int) -> np.ndarray:
    """Give a speaker run shorter than ``min_frames`` of speech to its longer neighbour."""
    labels = labels.copy()
    while True:
        runs = _label_runs(labels)
        if len(runs) < 2:
            return labels
        lengths = [int(np.sum(labels[a:b] >= 0)) for a, b, _ in runs]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_frames:
            return labels
        a, b, _ = runs[shortest]
        neighbours = [i for i in (shortest - 1, shortest + 1) if 0 <= i < len(runs)]
        target = max(neighbours, key=lambda i: lengths[i])
        speech = labels[a:b] >= 0
        labels[a:b][speech] = runs[target][2]


def _label_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(first frame, end frame, speaker) of each speaker run, silences inside a run included."""
    speech = np.flatnonzero(labels >= 0)
    if len(speech) == 0:
        return []
    values = labels[speech]
    change = np.flatnonzero(np.diff(values)) + 1
    bounds = np.concatenate(([0], change, [len(speech)]))
    return [
        (int(speech[a]), int(speech[b - 1]) + 1, int(values[a]))
        for a, b in itertools.pairwise(bounds)
    ]


def _turns(labels: np.ndarray) -> list[Turn]:
    """Stretches of speech of one speaker: a pause or a change of speaker ends a turn."""
    order: dict[int, int] = {}
    turns: list[Turn] = []
    for a, b in _runs(labels >= 0, True):
        values = labels[a:b]
        bounds = [0, *(np.flatnonzero(np.diff(values)) + 1).tolist(), b - a]
        for start, end in itertools.pairwise(bounds):
            number = order.setdefault(int(values[start]), len(order))
            turns.append(Turn((a + start) * FRAME_S, (a + end) * FRAME_S, number))
    return turns
