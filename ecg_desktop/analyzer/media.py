"""Audio decoding: any container PyAV opens, to 16 kHz mono float32 in [-1, 1]."""

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
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(_plane(f) for f in resampler.resample(frame))
                if progress and total and frame.time is not None:
                    progress(min(1.0, float(frame.time) / total))
            chunks.extend(_plane(f) for f in resampler.resample(None))
        except (av.FFmpegError, ValueError) as exc:
            raise AnalysisError(
                ErrorCode.AUDIO_EXTRACTION_ERROR, f"cannot decode the audio: {exc}"
            ) from exc
    if not chunks:
        raise AnalysisError(ErrorCode.AUDIO_EXTRACTION_ERROR, "the audio stream holds no samples")
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    np.clip(audio, -1.0, 1.0, out=audio)
    return audio


def _plane(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1)


def _stream_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0
