"""Decoding a long file holds the signal once, not once per chunk list and once joined."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np

from ecg_desktop.analyzer.media import SAMPLE_RATE, decode_audio


def test_decoding_holds_the_signal_about_once(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    seconds = 240
    t = np.arange(SAMPLE_RATE * seconds) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(tone.tobytes())
    tracemalloc.start()
    try:
        audio = decode_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(audio) == len(tone)
    assert np.allclose(audio, tone / 32768.0, atol=1e-4)
    assert peak < 1.3 * audio.nbytes, peak / audio.nbytes
