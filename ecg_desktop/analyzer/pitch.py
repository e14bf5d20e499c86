"""F0 per frame: YIN's candidates, then the path through them that jumps least.

YIN (de Cheveigné & Kawahara 2002) takes the first dip of the cumulative mean normalized
difference under a threshold. When the fundamental is weak (a telephone band, a laptop
microphone's high-pass, a close-rounded vowel whose first formant sits on the 3rd harmonic),
that first dip is a harmonic's, and the word gets two to four times the voice's pitch. Here
every dip is a candidate, scored by its depth with a small bias toward short periods (so a
period's multiples, which dip as deep, lose to the period), and a Viterbi pass over each
voiced stretch picks the candidates that keep the track continuous: an octave jump costs
more than any single frame's preference. A second pass makes candidates far from the
stretch's median pitch (beyond 2.8 times or under a third of it) cost more, so a short word
whose every frame dips deepest at a harmonic is not left there. Hand-written because the
maintained trackers are either too heavy for the bundle (librosa's pYIN) or test-only
references (Praat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .media import SAMPLE_RATE

F0_MIN, F0_MAX = 60.0, 420.0
YIN_THRESHOLD = 0.3  # a frame is voiced when some dip goes under this
CANDIDATES = 8  # dips kept per frame
PERIOD_BIAS = 0.03  # cost per octave of longer period: multiples of the period lose ties
MULTIPLE_MARGIN = 0.05  # a dip at a multiple of a period must be this much deeper to count
MULTIPLE_PENALTY = 0.1  # cost of a dip that does not count
GOOD_ENOUGH = 0.1  # dips deeper than this count as equally deep (YIN's "first good dip")
JUMP_COST = 1.0  # cost per octave of change between consecutive voiced frames
FAR_OCTAVES = 1.5  # distance from the stretch's median pitch that starts to cost
FAR_COST = 1.0  # per octave beyond that
BRIDGE_FRAMES = 25  # voiced stretches closer than this (a consonant, a breath) form one path


@dataclass(frozen=True)
class PitchCandidates:
    """Per frame: up to ``CANDIDATES`` frequencies (NaN where fewer) and their costs."""

    hz: np.ndarray  # (frames, CANDIDATES) float32
    cost: np.ndarray  # (frames, CANDIDATES) float32, inf where no candidate
    voiced: np.ndarray  # (frames,) bool

    @staticmethod
    def join(parts: Sequence[PitchCandidates]) -> PitchCandidates:
        return PitchCandidates(
            np.concatenate([p.hz for p in parts]),
            np.concatenate([p.cost for p in parts]),
            np.concatenate([p.voiced for p in parts]),
        )


def _cmnd(frames: np.ndarray, window: int, tau_max: int) -> np.ndarray:
    """YIN's cumulative mean normalized difference for lags 0..tau_max, per frame."""
    frames = frames.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(frames.shape[1] + window)))
    head = np.fft.rfft(frames[:, :window], n)
    full = np.fft.rfft(frames, n)
    correlation = np.fft.irfft(np.conj(head) * full, n)[:, : tau_max + 1]
    squares = np.concatenate((np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)), axis=1)
    taus = np.arange(tau_max + 1)
    shifted_energy = squares[:, taus + window] - squares[:, taus]
    own_energy = squares[:, window][:, None]
    difference = np.maximum(own_energy + shifted_energy - 2.0 * correlation, 0.0)
    running = np.cumsum(difference[:, 1:], axis=1)
    cmnd = np.ones_like(difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = difference[:, 1:] * taus[1:] / running
    cleaned: np.ndarray = np.nan_to_num(cmnd, nan=1.0, posinf=1.0)
    return cleaned


def yin_candidates(frames: np.ndarray, window: int) -> PitchCandidates:
    """The dips of each frame's CMND between ``F0_MAX`` and ``F0_MIN``, best first."""
    tau_min = int(SAMPLE_RATE / F0_MAX)
    tau_max = int(SAMPLE_RATE / F0_MIN)
    cmnd = _cmnd(frames, window, tau_max + 1)
    mid = cmnd[:, tau_min : tau_max + 1]
    left = cmnd[:, tau_min - 1 : tau_max]
    right = cmnd[:, tau_min + 1 : tau_max + 2]
    dips = (mid < left) & (mid <= right)
    taus = np.arange(tau_min, tau_max + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = left - 2 * mid + right
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / denom, 0.0)
    refined = taus + np.clip(shift, -1.0, 1.0)
    depth = np.where(dips, np.maximum(mid, GOOD_ENOUGH), np.inf)
    cost = depth + PERIOD_BIAS * np.log2(taus / tau_min)
    order = np.argsort(cost, axis=1)[:, :CANDIDATES]
    best_cost = np.take_along_axis(cost, order, axis=1)
    best_lag = np.take_along_axis(refined, order, axis=1)
    best_cost[_multiples(best_lag, np.take_along_axis(depth, order, axis=1))] += MULTIPLE_PENALTY
    best_hz = np.where(np.isfinite(best_cost), SAMPLE_RATE / best_lag, np.nan)
    voiced = np.asarray((np.where(dips, mid, np.inf) < YIN_THRESHOLD).any(axis=1))
    return PitchCandidates(best_hz.astype(np.float32), best_cost.astype(np.float32), voiced)


def _multiples(lag: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Candidates whose lag is 2, 3, ... times a good dip's (one at ``GOOD_ENOUGH``) and
    whose own dip is no deeper: a signal that repeats every T also repeats every 2T, so such
    a dip says nothing new (YIN's reason to take the first good dip). A shallow dip at a
    short lag shadows nothing: that is the harmonic of a weak fundamental."""
    ratio = lag[:, None, :] / lag[:, :, None]  # [frame, shorter i, longer j]
    whole = np.round(ratio)
    is_multiple = (whole >= 2) & (np.abs(ratio - whole) < 0.03 * whole)
    good = depth <= GOOD_ENOUGH
    not_deeper = depth[:, None, :] >= depth[:, :, None] - MULTIPLE_MARGIN
    finite = np.isfinite(depth)
    shadowed = is_multiple & not_deeper & good[:, :, None] & finite[:, None, :]
    result: np.ndarray = shadowed.any(axis=1)
    return result


def choose_pitch(candidates: PitchCandidates) -> np.ndarray:
    """F0 per frame (NaN where unvoiced): the cheapest path through each voiced stretch."""
    f0 = np.full(len(candidates.voiced), np.nan)
    voiced = np.flatnonzero(candidates.voiced)
    if len(voiced) == 0:
        return f0
    breaks = np.flatnonzero(np.diff(voiced) > BRIDGE_FRAMES) + 1
    for frames in np.split(voiced, breaks):
        hz, cost = candidates.hz[frames], candidates.cost[frames]
        first = _viterbi(hz, cost)
        f0[frames] = _viterbi(hz, cost + _far_from(hz, float(np.median(first))))
    return f0


def _far_from(hz: np.ndarray, reference: float) -> np.ndarray:
    """Cost of candidates more than ``FAR_OCTAVES`` from the stretch's median pitch: a
    harmonic three to five times the voice's, which continuity alone may follow through a
    whole short word. An octave away stays free: that may be the next speaker."""
    distance = np.abs(np.log2(np.where(np.isnan(hz), reference, hz) / reference))
    far: np.ndarray = (FAR_COST * np.maximum(distance - FAR_OCTAVES, 0.0)).astype(np.float32)
    return far


def _viterbi(hz: np.ndarray, cost: np.ndarray) -> np.ndarray:
    octaves = np.log2(np.where(np.isnan(hz), 1.0, hz))
    total = cost[0].astype(np.float64)
    back = np.zeros(hz.shape, dtype=np.int64)
    for i in range(1, len(hz)):
        jump = JUMP_COST * np.abs(octaves[i][:, None] - octaves[i - 1][None, :])
        through = total[None, :] + jump
        back[i] = np.argmin(through, axis=1)
        total = through[np.arange(hz.shape[1]), back[i]] + cost[i]
    path = np.empty(len(hz), dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for i in range(len(hz) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return hz[np.arange(len(hz)), path].astype(np.float64)
