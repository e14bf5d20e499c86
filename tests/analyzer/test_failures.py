"""Bad media and bad URLs end in one signed failed callback with the documented error code."""

from __future__ import annotations

from pathlib import Path

from ecg_desktop.analyzer.asr import vosk_model_path
from ecg_desktop.domain import ErrorCode
from ecg_desktop.domain.signatures import Verdict
from tests.analyzer.harness import (
    Parties,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.media import make_corrupt_file, make_silent_video, make_video_without_audio


async def _failed(parties: Parties, tmp_path: Path, url: str) -> dict[str, object]:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    payload = job_payload(url, parties.receiver.base_url)
    status, answer, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202, answer
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    assert arrival.verdict is Verdict.VALID
    assert len(parties.receiver.of(payload["job_id"], "completed", "failed")) == 1
    async with parties.session.get(
        f"{analyzer.url}/api/upload-video/status/{payload['job_id']}"
    ) as response:
        stored = await response.json()
    assert stored["status"] == "failed"
    assert stored["error_code"] == arrival.body["error_code"]
    return arrival.body


async def test_corrupt_file_is_an_audio_extraction_error(parties: Parties, tmp_path: Path) -> None:
    make_corrupt_file(parties.media.folder / "broken.mp4")
    body = await _failed(parties, tmp_path, parties.media.url("broken.mp4"))
    assert body["status"] == "failed"
    assert body["error_code"] == ErrorCode.AUDIO_EXTRACTION_ERROR
    assert "invalid data" in str(body["error_message"]).lower()
    assert body["result"] is None


async def test_video_without_audio_is_an_audio_extraction_error(
    parties: Parties, tmp_path: Path
) -> None:
    make_video_without_audio(parties.media.folder / "mute.mp4")
    body = await _failed(parties, tmp_path, parties.media.url("mute.mp4"))
    assert body["error_code"] == ErrorCode.AUDIO_EXTRACTION_ERROR
    assert "no audio stream" in str(body["error_message"])
    assert "video" in str(body["error_message"])


async def test_missing_object_is_a_download_error_with_the_http_status(
    parties: Parties, tmp_path: Path
) -> None:
    body = await _failed(parties, tmp_path, parties.media.url("not-there.mp4"))
    assert body["error_code"] == ErrorCode.DOWNLOAD_ERROR
    message = str(body["error_message"])
    assert "HTTP 404" in message
    assert "NoSuchKey" in message
    assert "X-Amz-Signature" not in message  # a presigned URL's query is never repeated


async def test_unreachable_video_host_is_a_download_error(parties: Parties, tmp_path: Path) -> None:
    from ecg_desktop.server.runner import free_port

    body = await _failed(parties, tmp_path, f"http://127.0.0.1:{free_port()}/v.mp4")
    assert body["error_code"] == ErrorCode.DOWNLOAD_ERROR
    assert "cannot download" in str(body["error_message"])


async def test_oversized_video_is_refused(parties: Parties, tmp_path: Path) -> None:
    make_corrupt_file(parties.media.folder / "big.mp4", size_bytes=200_000)
    analyzer = await start_analyzer(
        analyzer_config(tmp_path / "analyzer", max_download_bytes=100_000)
    )
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.url("big.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=30)
    assert arrival.body["error_code"] == ErrorCode.DOWNLOAD_ERROR
    assert "over the limit" in arrival.body["error_message"]


async def test_silent_video_completes_with_no_words(parties: Parties, tmp_path: Path) -> None:
    make_silent_video(parties.media.folder / "silent.mp4", duration_s=2.0)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.url("silent.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    assert arrival.body["status"] == "completed"
    result = arrival.body["result"]
    assert result["segments"] == []
    assert abs(result["metadata"]["duration"] - 2.0) < 0.1


async def test_language_without_a_model_is_a_transcription_error(
    parties: Parties, tmp_path: Path
) -> None:
    make_silent_video(parties.media.folder / "quiet.mp4", duration_s=1.0)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    korean_installed = bool(vosk_model_path())
    messages = {}
    for language in ("ja",) if korean_installed else ("ja", "ko"):
        payload = job_payload(
            parties.media.url("quiet.mp4"), parties.receiver.base_url, language=language
        )
        await dispatch(parties.session, analyzer.url, payload)
        arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
        assert arrival.body["error_code"] == ErrorCode.TRANSCRIPTION_ERROR
        messages[language] = arrival.body["error_message"]
    assert "'ja'" in messages["ja"] and "ecg-desktop models download base" in messages["ja"]
    if not korean_installed:
        assert "ecg-desktop[korean]" in messages["ko"]
