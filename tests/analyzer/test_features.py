"""Per-word measurements on signals whose true values are known."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from ecg_desktop.analyzer.diarization import diarize, speech_mask
from ecg_desktop.analyzer.features import DB_FLOOR, analyse_frames, word_features
from ecg_desktop.analyzer.media import SAMPLE_RATE
from tests.analyzer.pitch_reference import (
    FEMALE_VOICES,
    MALE_VOICES,
    SENTENCES,
    agreement,
    clean,
    telephone_band,
)


def _tone(hz: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    # A few harmonics, like a voice, so the fundamental is not the only peak.
    wave = sum(np.sin(2 * np.pi * hz * k * t) / k for k in (1, 2, 3))
    tone: np.ndarray = (amplitude * wave / np.max(np.abs(wave))).astype(np.float32)
    return tone


@pytest.mark.parametrize("hz", [85.0, 110.0, 180.0, 240.0, 330.0])
def test_pitch_is_the_fundamental(hz: float) -> None:
    audio = np.concatenate([np.zeros(8000, np.float32), _tone(hz, 1.0, 0.5)])
    measured = word_features(analyse_frames(audio), 0.6, 1.4)
    assert measured.pitch_hz == pytest.approx(hz, rel=0.02)


def test_volume_is_rms_in_dbfs() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    full = np.sin(2 * np.pi * 200 * t).astype(np.float32)  # RMS 1/sqrt(2): -3.01 dBFS
    audio = np.concatenate([full, full * 0.1])
    frames = analyse_frames(audio)
    assert word_features(frames, 0.0, 1.0).volume_db == pytest.approx(-3.01, abs=0.05)
    assert word_features(frames, 1.0, 2.0).volume_db == pytest.approx(-23.01, abs=0.05)


def test_silence_has_floor_volume_and_no_pitch() -> None:
    audio = np.concatenate([_tone(150, 1.0, 0.5), np.zeros(SAMPLE_RATE, np.float32)])
    measured = word_features(analyse_frames(audio), 1.2, 1.8)
    assert measured.volume_db == DB_FLOOR
    assert measured.pitch_hz is None
    assert measured.spectral_centroid is None


def test_noise_is_unvoiced() -> None:
    noise = np.random.default_rng(1).normal(0, 0.2, SAMPLE_RATE).astype(np.float32)
    measured = word_features(analyse_frames(noise), 0.1, 0.9)
    assert measured.pitch_hz is None
    assert measured.volume_db < 0


def test_spectral_centroid_follows_the_spectrum() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    low = np.sin(2 * np.pi * 500 * t).astype(np.float32) * 0.5
    high = np.sin(2 * np.pi * 3000 * t).astype(np.float32) * 0.5
    frames = analyse_frames(np.concatenate([low, high]))
    assert word_features(frames, 0.1, 0.9).spectral_centroid == pytest.approx(500, rel=0.03)
    assert word_features(frames, 1.1, 1.9).spectral_centroid == pytest.approx(3000, rel=0.03)


def test_pitch_is_the_median_over_the_word() -> None:
    audio = np.concatenate([_tone(100, 0.3, 0.5), _tone(200, 0.7, 0.5)])
    assert word_features(analyse_frames(audio), 0.0, 1.0).pitch_hz == pytest.approx(200, rel=0.02)


@pytest.mark.parametrize(("low", "high"), [(100.0, 200.0), (90.0, 250.0)])
def test_pitch_follows_a_voice_that_jumps_without_a_pause(low: float, high: float) -> None:
    """Continuity must not hold on to the old pitch (a 200 Hz tone also repeats every 10 ms),
    nor may a short higher stretch among lower ones be taken for a harmonic: a man and a
    woman can speak without a pause between them."""
    audio = np.concatenate([_tone(low, 1.0, 0.5), _tone(high, 0.5, 0.5), _tone(low, 1.0, 0.5)])
    frames = analyse_frames(audio)
    assert word_features(frames, 0.2, 0.9).pitch_hz == pytest.approx(low, rel=0.02)
    assert word_features(frames, 1.1, 1.4).pitch_hz == pytest.approx(high, rel=0.02)
    assert word_features(frames, 1.6, 2.4).pitch_hz == pytest.approx(low, rel=0.02)


def test_word_pitch_agrees_with_praat_on_eight_voices() -> None:
    result = agreement(MALE_VOICES + FEMALE_VOICES, clean, SENTENCES[:4])
    assert result.words >= 300
    assert result.share >= 0.97, result.misses
    assert result.octave_errors == 0, result.misses


def test_telephone_band_speech_gets_no_harmonic_for_a_pitch() -> None:
    """Without its fundamental, a 100 Hz voice's strongest period is often its 3rd to 5th
    harmonic's: plain YIN put 21 words of 560 at 300-420 Hz."""
    result = agreement(MALE_VOICES + FEMALE_VOICES, telephone_band, SENTENCES[:4])
    assert result.words >= 300
    assert result.share >= 0.97, result.misses
    assert result.octave_errors == 0, result.misses


def _traced_peak(audio: np.ndarray) -> int:
    """Peak bytes numpy allocates while the frames are analysed and the speakers found."""
    tracemalloc.start()
    try:
        frames = analyse_frames(audio)
        diarize(frames, speech_mask(frames.energy_db))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_far_slower_than_the_signal() -> None:
    """A recording twice as long may add only a fraction of its own size: no prefix sums,
    padded copies or power spectra of the whole signal (those added six times its size)."""
    rng = np.random.default_rng(3)
    minute = np.concatenate(
        [_tone(110, 2.5, 0.3), np.zeros(8000, np.float32), _tone(220, 2.0, 0.3)] * 8
    )[: 60 * SAMPLE_RATE]
    short = np.tile(minute, 3) + rng.normal(0, 0.001, 3 * len(minute)).astype(np.float32)
    long = np.tile(short, 2)
    growth = _traced_peak(long) - _traced_peak(short)
    assert growth < 0.6 * (long.nbytes - short.nbytes), growth / 2**20
