"""Checks a local file before anything is uploaded: it exists, is not empty, is a video or an
audio recording that PyAV can open, and has an audio track to analyse. Each refusal says what
is wrong in words a user understands (``InvalidInputFile``); nothing is uploaded or stored for
a refused file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import av

from ecg_desktop.app.ports import InvalidInputFile, MediaInfo
from ecg_desktop.domain.filekeys import MEDIA_EXTENSIONS, content_type_for, looks_like_media

# FFmpeg demuxers of video and audio containers. Random or damaged bytes are sometimes
# "recognised" as a raw stream (lyrics, H.263, game audio): those are refused as unreadable.
MEDIA_CONTAINERS = frozenset(
    {
        "wav",
        "mp3",
        "aac",
        "flac",
        "mov",
        "mp4",
        "m4a",
        "3gp",
        "3g2",
        "mj2",
        "matroska",
        "webm",
        "avi",
        "mpeg",
        "mpegts",
        "asf",
        "flv",
        "ogg",
        "mxf",
        "nut",
        "rm",
        "dv",
        "wtv",
    }
)


async def inspect_media(path: Path) -> MediaInfo:
    """``probe_media`` in a thread (opening a container reads the disk and decodes headers).
    The pipeline's ``InspectsMedia``."""
    return await asyncio.to_thread(probe_media, path)


def probe_media(path: Path) -> MediaInfo:
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidInputFile(path, "the file does not exist")
    if not path.is_file():
        raise InvalidInputFile(path, "this is not a file")
    stat = path.stat()
    if stat.st_size == 0:
        raise InvalidInputFile(path, "the file is empty")
    if not looks_like_media(path.name):
        known = ", ".join(sorted(MEDIA_EXTENSIONS))
        raise InvalidInputFile(path, f"not a video or audio file (expected one of: {known})")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInputFile(path, f"not a readable video ({_reason(exc)})") from None
    with container:
        if not set(container.format.name.split(",")) & MEDIA_CONTAINERS:
            raise InvalidInputFile(
                path, f"not a readable video (the data looks like {container.format.long_name})"
            )
        if not container.streams.video and not container.streams.audio:
            raise InvalidInputFile(path, "not a readable video (no video or audio stream found)")
        audio = container.streams.audio
        if not audio:
            if not _video_decodes(container):
                raise InvalidInputFile(path, "not a readable video (its data cannot be decoded)")
            raise InvalidInputFile(
                path, "the video has no audio track, so there is nothing to transcribe"
            )
        _decode_first_audio_frame(path, container)
        duration = _duration_s(container)
        has_video = bool(container.streams.video)
        codec = audio[0].codec_context.name if audio[0].codec_context else "unknown"
    return MediaInfo(
        path=path,
        size_bytes=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        content_type=content_type_for(path.name),
        duration_s=duration,
        has_video=has_video,
        audio_codec=codec,
    )


def _video_decodes(container: av.container.InputContainer) -> bool:
    try:
        for _frame in container.decode(video=0):
            return True
    except (av.FFmpegError, ValueError):
        return False
    return False


def _decode_first_audio_frame(path: Path, container: av.container.InputContainer) -> None:
    """A damaged file can still look like a container; decoding one audio frame tells."""
    try:
        for _frame in container.decode(audio=0):
            return
    except (av.FFmpegError, ValueError) as exc:
        raise InvalidInputFile(
            path, f"the audio track cannot be decoded ({_reason(exc)})"
        ) from None
    raise InvalidInputFile(path, "the audio track is empty, so there is nothing to transcribe")


def _duration_s(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__
