"""Speaker diarization without downloaded models.

Voice activity from frame energy. One embedding per 1.5 s window of speech, every 0.25 s:
MFCC means and spreads plus the mean and spread of log-pitch, in fixed units, so distance
thresholds hold across recordings. Windows are averaged over pieces of one stretch of
speech (at most 4 s), and the pieces are clustered: the count from average-linkage
distances (``SPEAKER_DISTANCE``), or from Ward's top split for two close voices
(``CLOSE_VOICES_DISTANCE``), within the requested bounds; the split itself by Ward's
linkage. At most ``MAX_CLUSTERED`` pieces are clustered, the others join the nearest
centre. Frame labels are then smoothed into speaker turns. Memory grows with the number of
frames only (a few small arrays), not with the square of the windows.
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
SPEAKER_DISTANCE = 4.5  # average-linkage distance of two voices an octave apart (and tones)
CLOSE_VOICES_DISTANCE = 1.55  # Ward centres: one voice split 0.9-1.4, two men/women 1.7-2.0
CLOSE_VOICES_SHARE = 0.2  # the smaller voice holds at least this share of the speech
STRETCH_PAUSE_S = 0.4  # pauses that end a stretch of speech for clustering
STRETCH_WINDOWS = 16  # windows (hops of 0.25 s) in a piece at most: 4 s
MAX_CLUSTERED = 1500  # pieces clustered directly (pairwise distances: 9 MB)
MIN_WINDOWS = 4  # a speaker needs about 1.5 s + 3 hops of speech
MIN_MFCC_SPREAD = 2.0  # floor of the MFCC scale: steady synthetic tones have almost none
PITCH_UNIT = 0.1  # log-Hz
DEFAULT_MAX_SPEAKERS = 6
SUM_CHUNK_STEPS = 4096  # window hops summed at once when building embeddings


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
    (about 1.7 semitones). Fixed units make distances comparable between recordings.
    Sums are taken per hop of ``WINDOW_HOP_S`` in chunks, and a window adds up its hops,
    so no whole-recording copy of the MFCCs is made.
    """
    step = int(WINDOW_HOP_S / FRAME_S)
    hops_per_window = int(WINDOW_S / WINDOW_HOP_S)
    hop_sums = _hop_sums(frames, mask, step)
    cumulative = np.concatenate((np.zeros((1, hop_sums.shape[1])), np.cumsum(hop_sums, axis=0)))
    windows = max(1, len(hop_sums) - hops_per_window + 1)
    sums = cumulative[hops_per_window : hops_per_window + windows] - cumulative[:windows]
    if len(hop_sums) < hops_per_window:
        sums = cumulative[-1:]
    speech, voiced = sums[:, 0], sums[:, 1]
    keep = speech >= hops_per_window * step * 0.4
    if not keep.any():
        return np.empty(0, dtype=int), np.empty((0, 0))
    sums, speech, voiced = sums[keep], speech[keep], voiced[keep]
    n_mfcc = (sums.shape[1] - 4) // 2
    mfcc_mean = sums[:, 2 : 2 + n_mfcc] / speech[:, None]
    mfcc_sq = sums[:, 2 + n_mfcc : 2 + 2 * n_mfcc] / speech[:, None]
    mfcc_std = np.sqrt(np.maximum(mfcc_sq - mfcc_mean**2, 0.0))
    safe_voiced = np.maximum(voiced, 1.0)
    pitch_mean = sums[:, -2] / safe_voiced
    pitch_std = np.sqrt(np.maximum(sums[:, -1] / safe_voiced - pitch_mean**2, 0.0))
    median_pitch = float(np.median(pitch_mean[voiced > 0])) if (voiced > 0).any() else 0.0
    pitch_mean = np.where(voiced > 0, pitch_mean, median_pitch)
    pitch = np.stack([pitch_mean, pitch_std], axis=1) / PITCH_UNIT
    starts = np.flatnonzero(keep) * step
    width = hops_per_window * step
    return starts + width // 2, np.concatenate([mfcc_mean, mfcc_std, pitch], axis=1)


def _hop_sums(frames: FrameAnalysis, mask: np.ndarray, step: int) -> np.ndarray:
    """Per hop of ``step`` frames: speech frames, voiced frames, sums of the normalised
    MFCCs and their squares over speech, sums of log-F0 and its square over voiced speech."""
    mfcc = frames.mfcc[:, 1:]
    hops = -(-len(mask) // step)
    out = np.zeros((hops, 4 + 2 * mfcc.shape[1]))
    if not mask.any():
        return out
    speech_mfcc = mfcc[mask]
    centre = speech_mfcc.mean(axis=0, dtype=np.float64)
    spread = np.maximum(speech_mfcc.std(axis=0, dtype=np.float64), MIN_MFCC_SPREAD)
    del speech_mfcc
    chunk = SUM_CHUNK_STEPS * step
    for first in range(0, len(mask), chunk):
        last = min(len(mask), first + chunk)
        speech = mask[first:last].astype(np.float64)
        log_f0 = np.log(frames.f0[first:last])
        voiced = ~np.isnan(log_f0) & mask[first:last]
        log_f0 = np.where(voiced, log_f0, 0.0)
        scaled = (mfcc[first:last] - centre) / spread * speech[:, None]
        columns = [speech[:, None], voiced[:, None], scaled, scaled**2, log_f0[:, None]]
        columns.append(log_f0[:, None] ** 2)
        values = np.concatenate(columns, axis=1)
        padded = -(-len(values) // step) * step
        values = np.pad(values, ((0, padded - len(values)), (0, 0)))
        out[first // step : first // step + padded // step] = values.reshape(
            -1, step, values.shape[1]
        ).sum(axis=1)
    return out


def _stretch_pieces(centres: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The piece each window belongs to: stretches of speech between pauses of at least
    ``STRETCH_PAUSE_S``, cut into pieces of at most ``STRETCH_WINDOWS`` windows.

    The diarizer clusters pieces, not windows: a window's MFCCs vary with what is said about
    as much as between two voices of the same sex, and a few seconds of one voice average
    that out. A change of speaker without a pause moves to the edge of its piece.
    """
    bridged = _fill_short_runs(mask, value=False, max_frames=int(STRETCH_PAUSE_S / FRAME_S))
    starts = np.array([a for a, _ in _runs(bridged, True)] or [0])
    stretch = np.searchsorted(starts, centres, side="right")
    piece = np.empty(len(centres), dtype=int)
    count = 0
    for group in np.split(np.arange(len(centres)), np.flatnonzero(np.diff(stretch)) + 1):
        for part in np.array_split(group, -(-len(group) // STRETCH_WINDOWS)):
            piece[part] = count
            count += 1
    return piece


def _cluster(
    embeddings: np.ndarray, windows: np.ndarray, min_speakers: int, max_speakers: int
) -> np.ndarray:
    """Speaker labels of the pieces (``windows``: how many windows each averages).

    How many speakers: as many average-linkage clusters as stay ``SPEAKER_DISTANCE`` apart
    (voices an octave apart, test tones); when that finds one, two if Ward's top split
    leaves two groups whose centres are ``CLOSE_VOICES_DISTANCE`` apart and the smaller
    holds ``CLOSE_VOICES_SHARE`` of the speech (two voices of the same sex). The count is
    held within the bounds; the pieces are then split by Ward's linkage, which does not
    isolate one odd piece the way a cut of the average-linkage tree does. A cluster of fewer
    than ``MIN_WINDOWS`` windows (a cough, a laugh) joins its nearest one, and so do the
    smallest beyond ``max_speakers``. Beyond ``MAX_CLUSTERED`` pieces an even sample is
    clustered (pairwise distances grow with the square of the count) and every piece joins
    the nearest centre.
    """
    count = len(embeddings)
    if count < 2 or max_speakers <= 1:
        return np.zeros(count, dtype=int)
    sample = np.unique(np.linspace(0, count - 1, min(count, MAX_CLUSTERED)).round().astype(int))
    points, weights = embeddings[sample], windows[sample]
    ward = linkage(points, method="ward")
    natural = int(np.sum(linkage(points, method="average")[:, 2] > SPEAKER_DISTANCE)) + 1
    if natural == 1 and _two_close_voices(ward, weights):
        natural = 2
    wanted = int(np.clip(natural, min_speakers, len(points)))
    labels = fcluster(ward, wanted, criterion="maxclust") - 1
    labels = _merge_small_clusters(points, weights, labels, min_speakers, max_speakers)
    _, labels = np.unique(labels, return_inverse=True)
    if len(sample) == count:
        return np.asarray(labels, dtype=int)
    return _nearest_centre(embeddings, points, labels)


def _two_close_voices(ward: np.ndarray, weights: np.ndarray) -> bool:
    """Whether Ward's top split is two voices: the distance of its two centres (Ward's
    height divided by its size factor) and the share of speech on the smaller side."""
    labels = fcluster(ward, 2, criterion="maxclust")
    first, second = np.sum(labels == 1), np.sum(labels == 2)
    centres = ward[-1, 2] / np.sqrt(2.0 * first * second / (first + second))
    share = min(weights[labels == 1].sum(), weights[labels == 2].sum()) / weights.sum()
    return bool(centres >= CLOSE_VOICES_DISTANCE and share >= CLOSE_VOICES_SHARE)


def _nearest_centre(embeddings: np.ndarray, points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    centres = np.stack([points[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
    nearest = [
        np.argmin(((block[:, None] - centres) ** 2).sum(axis=2), axis=1)
        for block in np.array_split(embeddings, max(1, len(embeddings) // 4096))
    ]
    return np.concatenate(nearest).astype(int)


def _merge_small_clusters(
    embeddings: np.ndarray,
    windows: np.ndarray,
    labels: np.ndarray,
    keep_at_least: int,
    keep_at_most: int,
) -> np.ndarray:
    """The smallest cluster joins the one with the nearest centre while there are more than
    ``keep_at_most``, or while one is under ``MIN_WINDOWS`` and more than ``keep_at_least``
    remain. Cutting the tree at the upper bound instead would split by what is farthest,
    which is often one odd stretch of a voice rather than the second voice."""
    labels = labels.copy()
    while True:
        clusters = np.unique(labels)
        sizes = np.array([windows[labels == c].sum() for c in clusters])
        too_many = len(clusters) > keep_at_most
        too_small = len(clusters) > max(1, keep_at_least) and sizes.min() < MIN_WINDOWS
        if not (too_many or too_small):
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
    in_speech = mask[np.minimum(centres, len(mask) - 1)]  # a window centred in a pause
    centres, embeddings = centres[in_speech], embeddings[in_speech]  # straddles two turns
    if len(centres) == 0:
        return [Turn(a, b, 0) for a, b in speech_regions(mask)]
    piece = _stretch_pieces(centres, mask)
    members = np.bincount(piece)
    means = np.stack([np.bincount(piece, weights=column) for column in embeddings.T], axis=1)
    labels = _cluster(means / members[:, None], members, low, high)[piece]
    frame_labels = _label_frames(centres, labels, mask)
    frame_labels = _settle_regions(frame_labels, mask, int(MIN_TURN_S / FRAME_S))
    frame_labels = _absorb_short_turns(frame_labels, int(MIN_TURN_S / FRAME_S))
    return _turns(frame_labels)


def _label_frames(centres: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each speech frame takes the label of the nearest window centre; -1 elsewhere."""
    speech_frames = np.flatnonzero(mask)
    nearest = np.clip(np.searchsorted(centres, speech_frames), 0, len(centres) - 1)
    before = np.clip(nearest - 1, 0, len(centres) - 1)
    closer_before = np.abs(centres[before] - speech_frames) < np.abs(
        centres[nearest] - speech_frames
    )
    frame_labels = np.full(len(mask), -1)
    frame_labels[speech_frames] = labels[np.where(closer_before, before, nearest)]
    return frame_labels


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
