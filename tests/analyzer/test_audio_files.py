"""Audio-only recordings are accepted wherever a video is, and `ecg-desktop process` with
nothing configured (the embedded analyzer, the local store) turns a .wav and an .mp3 into a
punctuated, cased transcript with measured confidences from Whisper tiny.en."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.ports import InvalidInputFile
from ecg_desktop.domain.filekeys import (
    AUDIO_EXTENSIONS,
    content_type_for,
    is_audio_only,
    looks_like_media,
)
from ecg_desktop.media import probe_media
from tests.analyzer.sounds import write_audio
from tests.analyzer.test_two_speakers import TURNS
from tests.analyzer.wer import normalized, word_error_rate
from tests.media import make_speech_video


def test_the_seven_audio_formats_are_accepted_and_known_as_audio_only() -> None:
    assert {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus"} == AUDIO_EXTENSIONS
    for extension in AUDIO_EXTENSIONS:
        name = f"talk{extension.upper()}"
        assert looks_like_media(name) and is_audio_only(name)
        assert content_type_for(name).startswith("audio/")
        assert looks_like_media("blob", content_type_for(name))  # generate-url with a type
    assert not is_audio_only("talk.mp4") and not is_audio_only("talk.ogv")
    assert is_audio_only("x.bin", "audio/mpeg") and not is_audio_only("x.mp3", "video/mp4")
    assert not looks_like_media("notes.txt") and not looks_like_media("x", "text/plain")


@pytest.mark.parametrize("extension", sorted(AUDIO_EXTENSIONS))
def test_every_audio_format_passes_the_checks_before_upload(
    extension: str, tmp_path: Path
) -> None:
    truth = make_speech_video(tmp_path / "v.mp4", TURNS[:1])
    path = write_audio(tmp_path / f"talk{extension}", truth.samples, truth.sample_rate)
    info = probe_media(path)
    assert not info.has_video
    assert info.content_type == content_type_for(path.name)
    # A raw ADTS stream (.aac) has no duration field: FFmpeg estimates it from the bit rate.
    tolerance = 0.15 * truth.duration if extension == ".aac" else 0.1
    assert info.duration_s is not None and abs(info.duration_s - truth.duration) < tolerance


def test_a_text_file_named_like_audio_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp3"
    fake.write_text("just some words, no sound at all\n" * 50)
    with pytest.raises(InvalidInputFile, match="not a readable video"):
        probe_media(fake)


async def _process(folder: Path, *files: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MODEL_SERVER_URL"}
    env.update(ECG_DATA_DIR=str(folder / "data"), ECG_CONFIG_DIR=str(folder / "config"))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecg_desktop", "process", *map(str, files),
        "-o", str(folder / "out.json"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 300)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def test_process_a_wav_and_an_mp3_with_nothing_configured(tmp_path: Path) -> None:
    truth = make_speech_video(tmp_path / "talk.mp4", TURNS)
    wav = write_audio(tmp_path / "talk.wav", truth.samples, truth.sample_rate)
    mp3 = write_audio(tmp_path / "talk.mp3", truth.samples, truth.sample_rate)
    code, out, err = await _process(tmp_path, wav, mp3)
    assert code == 0, out + err
    assert "2 of 2 file(s) completed" in out
    jobs: list[dict[str, Any]] = json.loads((tmp_path / "out.json").read_text())["jobs"]
    assert [Path(job["file"]).name for job in jobs] == ["talk.wav", "talk.mp3"]
    reference = normalized(" ".join(turn.text for turn in truth.turns))
    for job in jobs:
        result = job["result"]
        assert (result["metadata"]["backend"], result["metadata"]["model"]) == (
            "faster-whisper",
            "tiny.en",
        )
        assert result["metadata"]["unique_speakers"] == 2
        words = [w for segment in result["segments"] for w in segment["words"]]
        assert word_error_rate(reference, normalized(" ".join(w["word"] for w in words))) <= 0.1
        assert all(s["text"][0].isupper() and s["text"][-1] in ".?!" for s in result["segments"])
        assert len({w["confidence"] for w in words}) > len(words) / 2
