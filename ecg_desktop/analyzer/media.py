"""Audio decoding: any container PyAV opens, to 16 kHz mono float32 in [-1, 1].

The samples go straight into one array sized from the stream's duration (float32 at 16 kHz
is 230 MB an hour), so decoding never holds the signal twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from ecg_desktop.domain import ErrorCode

from .errors import AnalysisError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
# A container's stated duration sizes the buffer up front, up to this (a lying header must
# not reserve terabytes); longer audio grows the buffer as it comes.
MAX_RESERVED_S = 6 * 3600


def decode_audio(path: Path, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """The first audio stream of ``path`` as a float32 array at ``SAMPLE_RATE``.

    Raises ``AnalysisError(AUDIO_EXTRACTION_ERROR)`` with the decoder's reason when the file
    has no audio stream or cannot be decoded.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AnalysisError(
            ErrorCode.AUDIO_EXTRACTION_ERROR, f"cannot open the media file: {exc}"
        ) from exc
    with container:
        if not container.streams.audio:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            raise AnalysisError(
                ErrorCode.AUDIO_EXTRACTION_ERROR,
                f"the file has no audio stream (streams found: {kinds})",
            )
        stream = container.streams.audio[0]
        total = _stream_seconds(container, stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        samples = _SampleBuffer(round(min(total, MAX_RESERVED_S) * SAMPLE_RATE) + SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples.append(_plane(out))
                if progress and total and frame.time is not None:
                    progress(min(1.0, float(frame.time) / total))
            for out in resampler.resample(None):
                samples.append(_plane(out))
        except (av.FFmpegError, ValueError) as exc:
            raise AnalysisError(
                ErrorCode.AUDIO_EXTRACTION_ERROR, f"cannot decode the audio: {exc}"
            ) from exc
    audio = samples.array()
    if not len(audio):
        raise AnalysisError(ErrorCode.AUDIO_EXTRACTION_ERROR, "the audio stream holds no samples")
    np.clip(audio, -1.0, 1.0, out=audio)
    return audio


class _SampleBuffer:
    """A float32 array filled in place, grown by half when the duration was understated.

    Pages past the end are never touched, so an overstated duration costs no memory.
    """

    def __init__(self, expected: int) -> None:
        self._data = np.empty(max(expected, SAMPLE_RATE), dtype=np.float32)
        self._size = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self._size + len(chunk)
        if end > len(self._data):
            grown = np.empty(max(end, len(self._data) * 3 // 2), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = chunk
        self._size = end

    def array(self) -> np.ndarray:
        return self._data[: self._size]


def _plane(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1)


def _stream_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0
