"""Audio-only files for tests, written with PyAV: speech from ``tests.media`` or a tone, in any of
the audio formats the app accepts (.wav .mp3 .m4a .aac .flac .ogg .opus)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from tests.media import Samples

# extension -> (container format, codec, sample rate the encoder is given)
_FORMATS = {
    ".wav": ("wav", "pcm_s16le", None),
    ".mp3": ("mp3", "libmp3lame", 44_100),
    ".m4a": ("ipod", "aac", None),
    ".aac": ("adts", "aac", None),
    ".flac": ("flac", "flac", None),
    ".ogg": ("ogg", "libopus", 48_000),
    ".opus": ("opus", "libopus", 48_000),
}
BLOCK = 4096


def write_audio(path: Path, samples: Samples, sample_rate: int) -> Path:
    """``samples`` (mono float32 in [-1, 1]) as an audio file in the format of ``path``'s
    extension."""
    container_format, codec, rate = _FORMATS[path.suffix.lower()]
    rate = rate or sample_rate
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = cast(av.AudioStream, container.add_stream(codec, rate=rate, layout="mono"))
        target = stream.codec_context.format
        resampler = av.AudioResampler(format=target, layout="mono", rate=rate)
        for offset in range(0, len(samples), BLOCK):
            chunk = np.ascontiguousarray(samples[offset : offset + BLOCK], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = offset
            frame.time_base = Fraction(1, sample_rate)
            for converted in resampler.resample(frame):
                container.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return path


def tones(seconds: float, sample_rate: int = 16_000) -> Samples:
    """A chord that pulses twice a second: music-like sound without any speech."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    pulse = np.sin(2 * np.pi * 2 * t) > 0
    signal = (
        0.3 * np.sin(2 * np.pi * 440 * t)
        + 0.2 * np.sin(2 * np.pi * 554 * t) * pulse
        + 0.2 * np.sin(2 * np.pi * 659 * t)
    )
    samples: Samples = (0.5 * signal / np.abs(signal).max()).astype(np.float32)
    return samples
