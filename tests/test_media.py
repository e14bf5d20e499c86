"""The generated test media are real, decodable files whose truth matches their content."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import (
    SAMPLE_RATE,
    SpeechTruth,
    decode_audio,
    make_corrupt_file,
    make_long_file,
    make_silent_video,
    make_speech_video,
    make_video_without_audio,
)

TURNS = [
    ("en-us", "Hello, this is the first speaker talking about the weather.", 0.0),
    ("en-us+f3", "And this is the second speaker, answering with a higher voice.", 0.0),
    ("en-us", "Back to the first speaker, a little quieter.", -6.0),
]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> SpeechTruth:
    return make_speech_video(tmp_path_factory.mktemp("media") / "talk.mp4", TURNS)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def _pitch_hz(samples: np.ndarray, rate: int) -> float:
    """Median autocorrelation pitch over 40 ms voiced windows (60-400 Hz)."""
    window, estimates = int(0.04 * rate), []
    for start in range(0, samples.size - window, window):
        chunk = samples[start : start + window] - samples[start : start + window].mean()
        if _rms(chunk) < 0.02:
            continue
        corr = np.correlate(chunk, chunk, mode="full")[window - 1 :]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        estimates.append(rate / lag)
    return float(np.median(estimates))


def test_speech_video_has_h264_video_and_aac_audio(speech: SpeechTruth) -> None:
    with av.open(str(speech.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == (320, 240)
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == SAMPLE_RATE
        frames = sum(1 for _ in container.decode(video=0))
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(speech.duration, abs=0.1)
    assert frames == round(speech.duration * speech.fps)


def test_turns_follow_each_other_with_gaps_and_speaker_labels(speech: SpeechTruth) -> None:
    assert [t.speaker for t in speech.turns] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    assert [t.text for t in speech.turns] == [text for _, text, _ in TURNS]
    assert speech.turns[0].start == pytest.approx(0.6)
    for before, after in zip(speech.turns, speech.turns[1:], strict=False):
        assert after.start - before.end == pytest.approx(0.6, abs=1 / SAMPLE_RATE)
    assert speech.duration == pytest.approx(speech.turns[-1].end + 0.6, abs=1 / SAMPLE_RATE)
    assert all(turn.duration > 1.0 for turn in speech.turns)
    assert speech.speaker_at(speech.turns[1].start + 0.1) == "SPEAKER_01"
    assert speech.speaker_at(speech.turns[0].end + 0.3) is None


def test_decoded_audio_is_loud_in_turns_and_silent_in_gaps(speech: SpeechTruth) -> None:
    rate = 16_000
    audio = decode_audio(speech.path, rate)
    assert audio.size / rate == pytest.approx(speech.duration, abs=0.1)

    def span(start: float, end: float) -> np.ndarray:
        return audio[int(start * rate) : int(end * rate)]

    edges = [0.0, *[x for t in speech.turns for x in (t.start, t.end)], speech.duration]
    for gap_start, gap_end in zip(edges[::2], edges[1::2], strict=True):
        assert _rms(span(gap_start + 0.05, gap_end - 0.05)) < 0.002
    loudness = [_rms(span(t.start, t.end)) for t in speech.turns]
    assert min(loudness) > 0.02
    # The third turn is the first voice at -6 dB: about half the amplitude of the first.
    assert loudness[2] / loudness[0] == pytest.approx(0.5, rel=0.3)


def test_the_two_voices_differ_in_pitch(speech: SpeechTruth) -> None:
    male, female = speech.turns[0], speech.turns[1]
    rate = speech.sample_rate

    def pitch(turn_start: float, turn_end: float) -> float:
        return _pitch_hz(speech.samples[int(turn_start * rate) : int(turn_end * rate)], rate)

    assert pitch(female.start, female.end) > 1.4 * pitch(male.start, male.end)


def test_video_colour_follows_the_speaker(speech: SpeechTruth) -> None:
    wanted = {round((t.start + t.end) / 2 * speech.fps): t.speaker for t in speech.turns[:2]}
    colours = {}
    with av.open(str(speech.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                colours[wanted[index]] = frame.to_ndarray(format="rgb24")[10, 10].astype(int)
    assert np.abs(colours["SPEAKER_00"] - colours["SPEAKER_01"]).max() > 50


def test_speech_video_is_cached_but_each_call_gets_its_own_file(
    speech: SpeechTruth, tmp_path: Path
) -> None:
    again = make_speech_video(tmp_path / "again.mp4", TURNS)

    assert again.path == tmp_path / "again.mp4"
    assert again.turns == speech.turns
    assert again.path.read_bytes() == speech.path.read_bytes()
    again.path.write_bytes(b"changed")
    assert make_speech_video(tmp_path / "third.mp4", TURNS).path.stat().st_size > 1000


def test_silent_video_has_an_audio_track_of_silence(tmp_path: Path) -> None:
    path = make_silent_video(tmp_path / "silent.mp4", duration_s=2.0)

    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1
        assert len(container.streams.video) == 1
    audio = decode_audio(path)
    assert audio.size / 16_000 == pytest.approx(2.0, abs=0.1)
    assert np.abs(audio).max() < 1e-3


def test_video_without_audio_has_no_audio_track(tmp_path: Path) -> None:
    path = make_video_without_audio(tmp_path / "mute.mp4", duration_s=1.0)

    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0
        assert sum(1 for _ in container.decode(video=0)) == 15


def test_corrupt_file_does_not_decode(tmp_path: Path) -> None:
    path = make_corrupt_file(tmp_path / "broken.mp4")

    assert path.suffix == ".mp4"
    with pytest.raises(av.FFmpegError):
        av.open(str(path)).close()


def test_long_file_has_the_size_and_distinct_mebibytes(tmp_path: Path) -> None:
    size = 3 * 1024 * 1024 + 17
    path = make_long_file(tmp_path / "long.mp4", size)
    data = path.read_bytes()
    mib = 1024 * 1024

    assert len(data) == size
    assert len({data[i : i + mib] for i in range(0, size, mib)}) == 4


def test_sparse_long_file_takes_no_time_and_no_disk(tmp_path: Path) -> None:
    path = make_long_file(tmp_path / "huge.mp4", 5 * 1024**3, sparse=True)

    assert path.stat().st_size == 5 * 1024**3
    assert path.stat().st_blocks * 512 < 1024 * 1024
