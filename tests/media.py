"""Real media for tests: speech synthesised by espeak-ng, muxed into mp4 files with PyAV.

``make_speech_video`` returns the truth of what it wrote (who speaks when, from the exact
sample counts), so tests of transcription, diarization and the review view can check
results against it. Generated files are cached per process and copied, so asking twice for
the same video costs a file copy.
"""

from __future__ import annotations

import atexit
import functools
import io
import os
import random
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 22_050  # espeak-ng's native rate, so no resampling blurs the boundaries
SpeechTurn = tuple[str, str, float]  # (espeak-ng voice, text, gain in dB)
Samples = npt.NDArray[np.float32]

# A turn's speech starts/ends where espeak's output first/last exceeds this share of full scale.
_SILENCE_THRESHOLD = 0.01
_COLOURS = [(200, 60, 60), (60, 90, 200), (60, 170, 80), (200, 160, 40), (150, 70, 170)]


@dataclass(frozen=True)
class TurnTruth:
    speaker: str  # SPEAKER_00, SPEAKER_01, ... in order of each voice's first turn
    voice: str
    text: str
    gain_db: float
    start: float  # seconds from the start of the file, first audible sample
    end: float  # seconds, just after the last audible sample

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, eq=False)
class SpeechTruth:
    path: Path
    turns: tuple[TurnTruth, ...]
    duration: float  # of the audio track as written, in seconds
    sample_rate: int
    samples: Samples = field(repr=False)  # the mono track as written, float32 in [-1, 1]
    width: int
    height: int
    fps: int

    @property
    def speakers(self) -> list[str]:
        return sorted({turn.speaker for turn in self.turns})

    def turns_of(self, speaker: str) -> list[TurnTruth]:
        return [turn for turn in self.turns if turn.speaker == speaker]

    def speaker_at(self, seconds: float) -> str | None:
        for turn in self.turns:
            if turn.start <= seconds < turn.end:
                return turn.speaker
        return None

    def with_path(self, path: Path) -> SpeechTruth:
        return SpeechTruth(
            path=path,
            turns=self.turns,
            duration=self.duration,
            sample_rate=self.sample_rate,
            samples=self.samples,
            width=self.width,
            height=self.height,
            fps=self.fps,
        )


def make_speech_video(
    path: str | os.PathLike[str],
    turns: Sequence[SpeechTurn],
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
    gap_s: float = 0.6,
) -> SpeechTruth:
    """Write an mp4 (H.264 video, AAC audio at 22.05 kHz mono) of ``turns`` spoken in order.

    Each turn is ``(voice, text, gain_db)``, e.g. ``("en-us", "Hello there", 0)`` and
    ``("en-us+f3", "Hi", -6)``. ``gap_s`` of silence comes before, between and after the
    turns. The picture shows one colour per speaker, so video and audio can be matched.
    """
    if not turns:
        raise ValueError("make_speech_video needs at least one turn")
    key = (tuple((v, t, float(g)) for v, t, g in turns), width, height, fps, float(gap_s))
    cached = _speech_cache(key)
    target = Path(path)
    shutil.copyfile(cached.path, target)
    return cached.with_path(target)


def make_silent_video(
    path: str | os.PathLike[str],
    duration_s: float = 3.0,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
) -> Path:
    """An mp4 with a video track and an audio track of pure digital silence."""
    samples = np.zeros(round(duration_s * SAMPLE_RATE), dtype=np.float32)
    target = Path(path)
    _write_mp4(target, samples, [(0.0, duration_s, 0)], width=width, height=height, fps=fps)
    return target


def make_video_without_audio(
    path: str | os.PathLike[str],
    duration_s: float = 2.0,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 15,
) -> Path:
    """An mp4 with a video track only."""
    target = Path(path)
    _write_mp4(
        target,
        None,
        [(0.0, duration_s, 1)],
        width=width,
        height=height,
        fps=fps,
        duration_s=duration_s,
    )
    return target


_MP4_FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def make_corrupt_file(path: str | os.PathLike[str], size_bytes: int = 64 * 1024) -> Path:
    """What a broken download looks like: an MP4's first box, then noise. No decoder can
    read it. The noise is seeded, so the file is the same on every run: unseeded noise is
    now and then probed as some headerless stream and "decodes"."""
    target = Path(path)
    noise = random.Random(size_bytes).randbytes(size_bytes - len(_MP4_FTYP))
    target.write_bytes(_MP4_FTYP + noise)
    return target


def make_long_file(path: str | os.PathLike[str], size_bytes: int, *, sparse: bool = False) -> Path:
    """A large file for upload tests, written fast.

    By default every MiB differs (a random MiB stamped with its index), so a part uploaded
    twice or in the wrong order changes the content hash. ``sparse=True`` makes a file of
    holes (all zeros, instant, takes no disk) for tests that never compare content.
    """
    target = Path(path)
    with target.open("wb") as handle:
        if sparse:
            handle.truncate(size_bytes)
            return target
        mib = 1024 * 1024
        block = bytearray(os.urandom(mib))
        written = 0
        index = 0
        while written < size_bytes:
            block[:8] = index.to_bytes(8, "little")
            chunk = min(mib, size_bytes - written)
            handle.write(block[:chunk])
            written += chunk
            index += 1
    return target


def decode_audio(path: str | os.PathLike[str], sample_rate: int = 16_000) -> Samples:
    """The first audio track of ``path`` as mono float32 at ``sample_rate`` (for assertions)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[Samples] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


# -- synthesis --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def synthesize(voice: str, text: str) -> Samples:
    """espeak-ng's rendering of ``text`` in ``voice``: mono float32 at 22.05 kHz, read-only."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: apt-get install -y espeak-ng")
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=False
    )
    if result.returncode != 0 or not result.stdout:
        problem = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {problem}")
    with wave.open(io.BytesIO(result.stdout)) as wav:
        if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1:
            raise RuntimeError(f"unexpected espeak-ng output: {wav.getparams()}")
        frames = wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    samples.setflags(write=False)
    return samples


def _trim(samples: Samples) -> Samples:
    loud = np.flatnonzero(np.abs(samples) > _SILENCE_THRESHOLD)
    if loud.size == 0:
        raise RuntimeError("espeak-ng produced silence")
    return samples[loud[0] : loud[-1] + 1]


@functools.cache
def _cache_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"ecg-test-media-{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.lru_cache(maxsize=64)
def _speech_cache(
    key: tuple[tuple[tuple[str, str, float], ...], int, int, int, float],
) -> SpeechTruth:
    turns, width, height, fps, gap_s = key
    gap = np.zeros(round(gap_s * SAMPLE_RATE), dtype=np.float32)
    speakers: dict[str, str] = {}
    pieces: list[Samples] = [gap]
    cursor = gap.size
    truths: list[TurnTruth] = []
    spans: list[tuple[float, float, int]] = []
    for voice, text, gain_db in turns:
        speaker = speakers.setdefault(voice, f"SPEAKER_{len(speakers):02d}")
        speech = _trim(synthesize(voice, text)) * np.float32(10 ** (gain_db / 20))
        speech = np.clip(speech, -1.0, 1.0).astype(np.float32)
        start, end = cursor, cursor + speech.size
        truths.append(
            TurnTruth(speaker, voice, text, gain_db, start / SAMPLE_RATE, end / SAMPLE_RATE)
        )
        spans.append((start / SAMPLE_RATE, end / SAMPLE_RATE, int(speaker[-2:]) + 1))
        pieces += [speech, gap]
        cursor = end + gap.size
    samples = np.concatenate(pieces)
    samples.setflags(write=False)
    path = _cache_dir() / f"speech-{abs(hash(key)):x}.mp4"
    _write_mp4(path, samples, spans, width=width, height=height, fps=fps)
    return SpeechTruth(
        path=path,
        turns=tuple(truths),
        duration=samples.size / SAMPLE_RATE,
        sample_rate=SAMPLE_RATE,
        samples=samples,
        width=width,
        height=height,
        fps=fps,
    )


# -- muxing -----------------------------------------------------------------------------------


def _write_mp4(
    path: Path,
    samples: Samples | None,
    spans: Sequence[tuple[float, float, int]],
    *,
    width: int,
    height: int,
    fps: int,
    duration_s: float | None = None,
) -> None:
    """Mux ``samples`` (or no audio) with frames coloured by ``spans`` (start, end, colour)."""
    if duration_s is None:
        assert samples is not None
        duration_s = samples.size / SAMPLE_RATE
    with av.open(str(path), mode="w", format="mp4") as container:
        # Every stream must exist before the first packet: the header is written then.
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        audio = None
        if samples is not None:
            audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for index in range(max(1, round(duration_s * fps))):
            image = _frame_image(index, index / fps, spans, width, height)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None and samples is not None:
            _mux_audio(container, audio, samples)


def _mux_audio(
    container: av.container.OutputContainer, audio: av.AudioStream, samples: Samples
) -> None:
    block = 1024 * 16
    for offset in range(0, samples.size, block):
        chunk = np.ascontiguousarray(samples[offset : offset + block].reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = offset
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(audio.encode(frame))
    container.mux(audio.encode(None))


def _frame_image(
    index: int,
    seconds: float,
    spans: Sequence[tuple[float, float, int]],
    width: int,
    height: int,
) -> npt.NDArray[np.uint8]:
    colour = (30, 30, 30)
    for start, end, speaker in spans:
        if start <= seconds < end:
            colour = _COLOURS[(speaker - 1) % len(_COLOURS)] if speaker else (30, 30, 30)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = colour
    # A bar that moves with time, so every frame differs and seeking can be checked by eye.
    x = (index * 7) % max(1, width - 8)
    image[height - 12 : height - 4, x : x + 8] = 255
    return image
