"""Korean texts of the review pane, kept as a table so a new source text shows up as missing.

    .venv/bin/pyside6-lupdate ecg_desktop/gui/review/*.py -no-obsolete \\
        -ts ecg_desktop/gui/review/translations/review_ko.ts -target-language ko_KR
    .venv/bin/python ecg_desktop/gui/review/translations/ko.py
    .venv/bin/pyside6-lrelease ecg_desktop/gui/review/translations/review_ko.ts \\
        -qm ecg_desktop/gui/review/translations/review_ko.qm
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

KO = {
    "Time": "시간",
    "Pitch and loudness over time appear here for the transcript shown":
        "표시된 대본의 시간별 음높이와 음량이 여기에 나타납니다",
    "Speaker": "화자",
    "Text": "내용",
    "Pitch": "음높이",
    "Loudness": "음량",
    "Loudness and pitch: not measured": "음량과 음높이: 측정되지 않음",
    "No video for this job": "이 작업에는 동영상이 없습니다",
    "−5 s": "−5초",
    "+5 s": "+5초",
    "Playback speed": "재생 속도",
    "Volume": "볼륨",
    "Follow": "따라가기",
    "Keep the word being played in view": "재생 중인 단어를 화면에 계속 표시",
    "Vol.": "볼륨",
    "Pause": "일시정지",
    "Play": "재생",
    "The video cannot be played": "동영상을 재생할 수 없습니다",
    "The video cannot be played: %s": "동영상을 재생할 수 없습니다: %s",
    "Plain words": "색 없음",
    "Colour by loudness": "음량으로 색칠",
    "Colour by pitch": "음높이로 색칠",
    "Undo": "실행 취소",
    "Redo": "다시 실행",
    "Loading %s…": "%s 불러오는 중…",
    "The transcript cannot be loaded: %s": "전사 결과를 불러올 수 없습니다: %s",
    "%s has no transcript yet": "%s에는 아직 전사 결과가 없습니다",
    "The server sent placeholder loudness and pitch values: they are shown as “not measured”.":
        "서버가 음량과 음높이 대신 고정값을 보냈습니다: “측정되지 않음”으로 표시합니다.",
    "Select a completed job to review its transcript":
        "완료된 작업을 선택하면 전사 결과를 검토할 수 있습니다",
    "%d speakers": "화자 %d명",
    "%d segments": "구간 %d개",
    "Correct word…": "단어 고치기…",
    "Play from this word": "이 단어부터 재생",
    "Play this segment": "이 구간 재생",
    "Speaker of this segment": "이 구간의 화자",
    "New speaker": "새 화자",
    "Correct word": "단어 고치기",
    "Word:": "단어:",
    "The edit could not be saved: %s": "수정 내용을 저장하지 못했습니다: %s",
    "Find in transcript": "전사 결과에서 찾기",
    "Aa": "Aa",
    "Match case": "대소문자 구분",
    "Whole words": "단어 단위",
    "Filter": "걸러 보기",
    "Show only the segments that match": "일치하는 구간만 보기",
    "Previous match (Shift+Enter)": "이전 항목 (Shift+Enter)",
    "Next match (Enter)": "다음 항목 (Enter)",
    "No matches": "일치 없음",
    "%s of %d": "%s / %d",
    "Loudness, pitch: not measured by the server": "음량, 음높이: 서버가 측정하지 않음",
    "Loudness: %s": "음량: %s",
    "unvoiced": "무성음",
    "Pitch: %s": "음높이: %s",
    "Spectral centroid: %s": "스펙트럼 중심: %s",
    "Confidence: %s": "신뢰도: %s",
    "Rename…": "이름 바꾸기…",
    "Merge into…": "다음 화자로 합치기…",
    "Share": "비율",
    "Mean pitch": "평균 음높이",
    "not measured": "측정되지 않음",
    "%s: %d segments, %d words": "%s: 구간 %d개, 단어 %d개",
}


def fill(ts_path: Path) -> list[str]:
    """Write the Korean texts into the .ts; returns the source texts still missing."""
    tree = ET.parse(ts_path)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        if source in KO:
            translation.text = KO[source]
            translation.attrib.pop("type", None)
        else:
            missing.append(source)
    tree.write(ts_path, encoding="utf-8", xml_declaration=True)
    return missing


if __name__ == "__main__":
    missing = fill(Path(__file__).with_name("review_ko.ts"))
    for text in missing:
        print(f"untranslated: {text!r}", file=sys.stderr)
    sys.exit(1 if missing else 0)
