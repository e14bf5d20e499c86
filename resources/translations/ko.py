# ruff: noqa: E501 - a table of whole sentences; wrapping them would hide what they say
"""Korean texts for ``ecg_desktop_ko.ts``, kept here as a table so that a new source text
shows up as missing: ``python resources/translations/ko.py`` fills the .ts (after
``pyside6-lupdate``) and reports untranslated texts; ``pyside6-lrelease`` then builds the .qm.
See packaging/update_translations.sh."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

KO = {
    # API tokens (settings, callback server tab)
    "API &tokens:": "API 토큰(&T):",
    "Needed only when the server listens on an address other than this computer's (a team backend): every API call must then carry one of these tokens. Give each user their own; revoke one by removing it.":
        "서버가 이 컴퓨터가 아닌 주소에서 수신할 때(팀 백엔드)만 필요합니다: 그때는 모든 API 호출에 이 토큰 중 하나가 있어야 합니다. 사용자마다 각자의 토큰을 주고, 토큰을 지우면 폐기됩니다.",
    "New API token": "새 API 토큰",
    "Who is the token for? Jobs made with it are recorded under this name (may be left empty).":
        "누구의 토큰입니까? 이 토큰으로 만든 작업은 이 이름으로 기록됩니다(비워 둘 수 있음).",
    "&New token…": "새 토큰(&N)…",
    "Cop&y token": "토큰 복사(&Y)",
    "Re&voke": "폐기(&V)",
    "New token copied to the clipboard: give it to {name}. It is accepted once the settings are applied.":
        "새 토큰을 클립보드에 복사했습니다: {name}에게 전달하세요. 설정을 적용하면 사용할 수 있습니다.",
    "its holder": "토큰 사용자",
    "Token copied to the clipboard.": "토큰을 클립보드에 복사했습니다.",
    "The token stops working once the settings are applied.": "설정을 적용하면 이 토큰은 더 이상 작동하지 않습니다.",
    "Make a new token before revoking the last one.": "마지막 토큰을 폐기하기 전에 새 토큰을 만드세요.",
    "(no name)": "(이름 없음)",
    # team preset
    "Port {port} is taken, so this desktop's callback server is off; not needed in team mode: results arrive through the team backend {url}.":
        "포트 {port}이(가) 사용 중이라 이 컴퓨터의 콜백 서버가 꺼져 있습니다. 팀 모드에서는 필요하지 않습니다: 결과는 팀 백엔드 {url}을(를) 통해 도착합니다.",
    "Team": "팀",
    "Storage: S3 bucket {bucket} ({where})": "저장소: S3 버킷 {bucket} ({where})",
    "Storage: this computer, {folder}": "저장소: 이 컴퓨터, {folder}",
    "Join a team: every member shares one PostgreSQL database and one S3 bucket, and the ML server calls the team backend back. Ask your team for these values.":
        "팀에 참여하기: 모든 구성원이 하나의 PostgreSQL 데이터베이스와 하나의 S3 버킷을 공유하고, ML 서버는 팀 백엔드로 결과를 보냅니다. 이 값들은 팀에 문의하세요.",
    "Team &database URL:": "팀 데이터베이스 URL(&D):",
    "Team S3 &bucket:": "팀 S3 버킷(&B):",
    "Team back&end URL:": "팀 백엔드 URL(&E):",
    "&ML server URL:": "ML 서버 URL(&M):",
    "empty: keep the current one": "비워 두면 현재 값을 유지합니다",
    "&Join the team": "팀에 참여(&J)",
    "Team settings filled in: press OK or Apply to save them.": "팀 설정을 채웠습니다. 저장하려면 확인 또는 적용을 누르세요.",
    # app / banner
    "A setting is invalid and the defaults are used: {error}": "잘못된 설정이 있어 기본값을 사용합니다: {error}",
    "Settings…": "설정…",
    "The callback server cannot listen on {host}:{port}: the port is already in use (another ECG Desktop, or another program). Results from the ML server cannot arrive until it runs. Choose another port in Settings → Callback server, or start the app with ECG_BIND_PORT=<port>.":
        "콜백 서버가 {host}:{port}에서 대기할 수 없습니다: 포트가 이미 사용 중입니다(다른 ECG Desktop 또는 다른 프로그램). 콜백 서버가 실행될 때까지 ML 서버의 결과를 받을 수 없습니다. 설정 → 콜백 서버에서 다른 포트를 고르거나 ECG_BIND_PORT=<포트>로 앱을 시작하세요.",
    "A setting is invalid: {error}. Fix it in Settings.": "잘못된 설정: {error}. 설정에서 고치세요.",
    "The services could not start: {error}": "서비스를 시작하지 못했습니다: {error}",
    "Settings not saved": "설정을 저장하지 못했습니다",
    "Connected to {where}; its tables are created on first use.": "{where}에 연결했습니다. 테이블은 처음 사용할 때 만들어집니다.",
    "Connected to {where}: {n} job(s).": "{where}에 연결했습니다: 작업 {n}개.",
    # refusals
    "file not found": "파일이 없습니다",
    "not a regular file": "일반 파일이 아닙니다",
    "not a video file ({detail})": "동영상 파일이 아닙니다 ({detail})",
    "not readable (permission denied)": "읽을 수 없습니다 (권한 없음)",
    "empty file (0 bytes)": "빈 파일입니다 (0바이트)",
    "more than {detail} videos; add a smaller folder": "동영상이 {detail}개를 넘습니다. 더 작은 폴더를 추가하세요",
    "folder holds no video files": "폴더에 동영상 파일이 없습니다",
    "no speech model installed for this language": "이 언어를 인식할 음성 모델이 설치되어 있지 않습니다",
    "Some files were not added": "일부 파일을 추가하지 않았습니다",
    "{n} file(s) cannot be analysed:": "파일 {n}개는 분석할 수 없습니다:",
    "Already in the queue": "이미 대기열에 있음",
    "These videos are already queued:\n{names}\n\nAdd them again?": "이 동영상은 이미 대기열에 있습니다:\n{names}\n\n다시 추가할까요?",
    "Delete jobs": "작업 삭제",
    "Delete {n} job(s), their results and their uploaded videos from storage?\n{names}\n\nThe files on this computer are kept.":
        "작업 {n}개와 그 결과, 저장소에 올린 동영상을 삭제할까요?\n{names}\n\n이 컴퓨터의 파일은 그대로 둡니다.",
    # job model
    "Completed": "완료",
    "Failed": "실패",
    "Canceled": "취소됨",
    "Sending to ML server…": "ML 서버로 보내는 중…",
    "Uploaded, waiting for the ML server": "업로드 완료, ML 서버 대기 중",
    "Waiting": "대기 중",
    "Uploading {done} of {total}": "업로드 중 {done} / {total}",
    "{eta} left": "{eta} 남음",
    "File": "파일",
    "Size": "크기",
    "Duration": "길이",
    "Status": "상태",
    "Progress": "진행",
    "Speakers": "화자",
    "Created": "생성",
    "Updated": "갱신",
    # team mode
    "Owner": "소유자",
    "Everyone's jobs": "모든 사람의 작업",
    "My jobs": "내 작업",
    "Show the jobs you added, or everyone's":
        "내가 추가한 작업만, 또는 모든 사람의 작업을 봅니다",
    "Delete other people's jobs": "다른 사람의 작업 삭제",
    "{n} of these job(s) were added by someone else; deleting removes them for the whole "
    "team:\n{names}\n\nDelete them anyway?":
        "이 중 작업 {n}개는 다른 사람이 추가했습니다. 삭제하면 팀 전체에서 사라집니다:"
        "\n{names}\n\n그래도 삭제할까요?",
    "Queued": "대기",
    "Uploading": "업로드 중",
    "Uploaded": "업로드됨",
    "Sending to ML server": "ML 서버로 전송 중",
    "Analysing": "분석 중",
    "Done": "완료",
    "All": "전체",
    "Active": "진행 중",
    # main window
    "Detect automatically": "자동 감지",
    "Korean": "한국어",
    "English": "영어",
    "Japanese": "일본어",
    "Chinese": "중국어",
    "ECG Desktop": "ECG Desktop",
    "&Add videos…": "동영상 추가(&A)…",
    "Add &folder…": "폴더 추가(&F)…",
    "&Paste paths": "경로 붙여넣기(&P)",
    "&Quit": "끝내기(&Q)",
    "&Open transcript": "전사 열기(&O)",
    "&Retry": "다시 시도(&R)",
    "&Cancel job": "작업 취소(&C)",
    "&Delete…": "삭제(&D)…",
    "Copy job &ID": "작업 ID 복사(&I)",
    "&Show file": "파일 보기(&S)",
    "&Export…": "내보내기(&E)…",
    "&Find jobs": "작업 찾기(&F)",
    "&Settings…": "설정(&S)…",
    "Check ML server &now": "지금 ML 서버 확인(&N)",
    "Open &log file": "로그 파일 열기(&L)",
    "&About ECG Desktop": "ECG Desktop 정보(&A)",
    "&File": "파일(&F)",
    "&Job": "작업(&J)",
    "&View": "보기(&V)",
    "&Tools": "도구(&T)",
    "&Help": "도움말(&H)",
    "  &Language of new videos: ": "  새 동영상 언어(&L): ",
    "Show jobs by status": "상태별로 작업 보기",
    "Filter by file name or job id": "파일 이름이나 작업 ID로 거르기",
    "Drop videos or folders here\nor press Add videos… (Ctrl+O)\n\nEach video is uploaded, analysed and turned into a transcript\nwith speakers, word timings, loudness and pitch.":
        "동영상이나 폴더를 여기에 끌어다 놓거나\n동영상 추가…(Ctrl+O)를 누르세요\n\n각 동영상은 업로드·분석되어 화자, 단어 시각,\n음량과 음높이가 담긴 전사가 됩니다.",
    "Open a completed job to see its transcript.": "완료된 작업을 열면 전사가 보입니다.",
    "{n} video(s) will start when the services are ready": "서비스가 준비되면 동영상 {n}개를 시작합니다",
    "Could not add a video": "동영상을 추가하지 못했습니다",
    "Add videos": "동영상 추가",
    "Videos (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv);;All files (*)":
        "동영상 (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv);;모든 파일 (*)",
    "Add a folder of videos": "동영상 폴더 추가",
    "The clipboard holds no file paths": "클립보드에 파일 경로가 없습니다",
    "Drop to add videos\nLanguage: {lang}": "놓으면 동영상을 추가합니다\n언어: {lang}",
    "Job failed": "작업 실패",
    "Could not retry": "다시 시도하지 못했습니다",
    "Could not cancel": "취소하지 못했습니다",
    "Could not delete": "삭제하지 못했습니다",
    "Copied {n} job id(s)": "작업 ID {n}개를 복사했습니다",
    "Show file": "파일 보기",
    "{path} no longer exists": "{path}이(가) 더 이상 없습니다",
    "JSON (*.json)": "JSON (*.json)",
    "CSV, one row per word (*.csv)": "CSV, 단어마다 한 줄 (*.csv)",
    "SubRip subtitles (*.srt)": "SubRip 자막 (*.srt)",
    "WebVTT subtitles (*.vtt)": "WebVTT 자막 (*.vtt)",
    "Plain text (*.txt)": "일반 텍스트 (*.txt)",
    "Export transcripts": "전사 내보내기",
    "Export failed": "내보내기 실패",
    "Exported {n} file(s) to {where}": "파일 {n}개를 {where}에 내보냈습니다",
    "ML server health": "ML 서버 상태",
    "About ECG Desktop": "ECG Desktop 정보",
    "ECG Desktop {version}\nTranscripts with speakers, word timings, loudness and pitch.":
        "ECG Desktop {version}\n화자, 단어 시각, 음량과 음높이가 담긴 전사.",
    "healthy": "정상",
    "unhealthy": "비정상",
    "unreachable": "연결 불가",
    "{url} is {state}.": "{url}: {state}.",
    "The ML server": "ML 서버",
    "It answered in {ms:.0f} ms.": "{ms:.0f} ms 만에 응답했습니다.",
    # settings dialog
    "Settings": "설정",
    "ML server": "ML 서버",
    "Callback server": "콜백 서버",
    "Storage": "저장소",
    "Job store": "작업 저장소",
    "General": "일반",
    "ML server &URL:": "ML 서버 &URL:",
    "empty: the built-in reference analyzer": "비우면: 내장 기준 분석기",
    "Request &timeout:": "요청 제한 시간(&T):",
    "The ML server receives each video's download URL and calls the callback server back with progress and the result. Leave the URL empty to analyse on this computer.":
        "ML 서버는 각 동영상의 다운로드 URL을 받고 진행 상황과 결과를 콜백 서버로 알려 줍니다. 이 컴퓨터에서 분석하려면 URL을 비워 두세요.",
    "Callback &base URL:": "콜백 기본 URL(&B):",
    "empty: the address below": "비우면: 아래 주소",
    "&Listen on address:": "대기 주소(&L):",
    "any free port": "빈 포트 아무거나",
    "Listen on &port:": "대기 포트(&P):",
    "Show": "보기",
    "&Regenerate": "다시 만들기(&R)",
    "&Copy": "복사(&C)",
    "&Webhook secret:": "웹훅 비밀 키(&W):",
    "Accept &unsigned callbacks": "서명 없는 콜백 허용(&U)",
    "⚠ Anyone who can reach the callback server could then write results into your jobs. Turn this on only for an ML server that cannot sign (the original WhisperX server never signs), on a trusted network.":
        "⚠ 콜백 서버에 접근할 수 있는 누구나 작업 결과를 써 넣을 수 있게 됩니다. 서명할 수 없는 ML 서버(원래 WhisperX 서버는 서명하지 않음)를 믿을 수 있는 네트워크에서 쓸 때만 켜세요.",
    "S3 &bucket:": "S3 버킷(&B):",
    "empty: keep videos on this computer": "비우면: 동영상을 이 컴퓨터에 보관",
    "&Region:": "리전(&R):",
    "&Endpoint URL:": "엔드포인트 URL(&E):",
    "empty: AWS; or an S3-compatible server": "비우면: AWS, 또는 S3 호환 서버",
    "&Access key id:": "액세스 키 ID(&A):",
    "&Secret access key:": "비밀 액세스 키(&S):",
    "Download URLs &expire after:": "다운로드 URL 만료 시간(&E):",
    "The secret access key is kept in the system keyring, not in the settings file.":
        "비밀 액세스 키는 설정 파일이 아니라 시스템 키링에 보관됩니다.",
    "empty: SQLite in the data folder": "비우면: 데이터 폴더의 SQLite",
    "&Database URL:": "데이터베이스 URL(&D):",
    "&Test connection": "연결 시험(&T)",
    "A shared PostgreSQL database (postgresql+psycopg://user:password@host/db) lets a team see the same jobs.":
        "공유 PostgreSQL 데이터베이스(postgresql+psycopg://user:password@host/db)를 쓰면 팀이 같은 작업을 봅니다.",
    "Default &language of videos:": "동영상 기본 언어(&L):",
    "&Interface language:": "화면 언어(&I):",
    "Your &name:": "이름(&N):",
    "used in storage keys": "저장소 키에 쓰입니다",
    "Set by the environment variable {name}": "환경 변수 {name}로 정해졌습니다",
    "{error}": "{error}",
    "A new webhook secret takes effect when you apply it; give it to your ML server, or its callbacks will be refused.":
        "새 웹훅 비밀 키는 적용할 때 효력이 생깁니다. ML 서버에도 알려 주지 않으면 콜백이 거부됩니다.",
    "Connecting…": "연결 중…",
    "Failed: {error}": "실패: {error}",
    "System": "시스템 설정 따름",
    # status bar
    "not checked yet": "아직 확인 안 함",
    "ML server: {state}": "ML 서버: {state}",
    "checked {time}": "{time} 확인",
    "checking…": "확인 중…",
    "ML server {url}\nClick to check now and see the full answer.": "ML 서버 {url}\n누르면 지금 확인하고 전체 응답을 보여 줍니다.",
    "Starting services…": "서비스 시작 중…",
    "Callbacks: {url}": "콜백: {url}",
    "not running": "실행 안 됨",
    "⚠ unsigned accepted": "⚠ 서명 없는 콜백 허용",
    "signed only": "서명된 콜백만",
    "Jobs: {where}": "작업: {where}",
    "reconnecting…": "다시 연결 중…",
    "live": "실시간",
    # tray
    "Show window": "창 보기",
    "Transcript ready": "전사 완료",
    "{name} is analysed.": "{name} 분석이 끝났습니다.",
    "Analysis failed": "분석 실패",
    "{name}: {reason}": "{name}: {reason}",
    # review pane (ecg_desktop/gui/review)
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
    "%s failed: %s": "%s 실패: %s",
    "%s was canceled": "%s 작업이 취소되었습니다",
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
    # speech recognition models (Settings -> Speech recognition, qt_models_page)
    "Speech recognition": "음성 인식",
    "Model": "모델",
    "Languages": "언어",
    "Downloading {done:.0f} of {total:.0f} MB": "다운로드 중 {done:.0f} / {total:.0f} MB",
    "Checking the download…": "다운로드한 파일 확인 중…",
    "Bundled": "기본 포함",
    "Stopped at {done:.0f} MB: Download goes on from there": "{done:.0f} MB에서 멈춤: 다운로드하면 이어서 받습니다",
    "Installed": "설치됨",
    "Not installed": "설치 안 됨",
    "(new jobs)": "(새 작업)",
    "{size} MB": "{size} MB",
    "99 languages": "99개 언어",
    "&Download": "다운로드(&D)",
    "&Cancel download": "다운로드 취소(&C)",
    "&Remove": "삭제(&R)",
    "New jobs &use:": "새 작업에 사용(&U):",
    "English (.en) models recognise English only; the others detect the language and recognise 99. Bigger models are more accurate and slower. Models are downloaded from Hugging Face into {folder}; a change of model restarts the analyzer.":
        "영어(.en) 모델은 영어만 인식하고, 나머지 모델은 언어를 감지해 99개 언어를 인식합니다. 큰 모델일수록 더 정확하지만 느립니다. 모델은 Hugging Face에서 {folder}(으)로 다운로드되며, 모델을 바꾸면 분석기가 다시 시작됩니다.",
    "{name} (not installed)": "{name} (설치 안 됨)",
    "{name} removed.": "{name}을(를) 삭제했습니다.",
    "Downloading {name} from {repo}…": "{repo}에서 {name}을(를) 다운로드하는 중…",
    "The download of {name} was canceled.": "{name} 다운로드를 취소했습니다.",
    "{name} was not installed: {error}": "{name}을(를) 설치하지 못했습니다: {error}",
    "{name} is installed.": "{name}이(가) 설치되었습니다.",
    # window (issue 13): refusals, exports, plurals, shortcuts, analyse again
    "Connected to {where}: %n job(s).": "{where}에 연결했습니다: 작업 %n개.",
    "not a video or sound file": "동영상이나 소리 파일이 아님",
    "cannot be read (permission denied)": "읽을 수 없음(권한 없음)",
    "empty file": "빈 파일",
    "no sound track": "소리 트랙 없음",
    "damaged or incomplete file": "손상되었거나 완전하지 않은 파일",
    "%n file(s) could not be added:": "파일 %n개를 추가하지 못했습니다:",
    "… and %n more (see the details)": "… 그리고 %n개 더(자세한 내용 참고)",
    "Export finished": "내보내기 완료",
    "%n file(s) written to {folder}": "파일 %n개를 {folder}에 저장했습니다",
    "Show in &folder": "폴더에서 보기(&F)",
    "Delete %n job(s), their results and their uploaded videos from storage?":
        "작업 %n개와 그 결과, 저장소에 올린 동영상을 삭제할까요?",
    "The files on this computer are kept.": "이 컴퓨터의 파일은 그대로 남습니다.",
    "%n of these job(s) were added by someone else; deleting removes them for the whole team:":
        "이 중 작업 %n개는 다른 사람이 추가했습니다. 삭제하면 팀 전체에서 사라집니다:",
    "Delete them anyway?": "그래도 삭제할까요?",
    "Analyse &again with…": "다른 설정으로 다시 분석(&A)…",
    "&Find in transcript": "전사 결과에서 찾기(&F)",
    "Filter &jobs": "작업 걸러 보기(&J)",
    "&Keyboard shortcuts": "단축키(&K)",
    "Filter by file name or job id (Ctrl+L)": "파일 이름이나 작업 ID로 걸러 보기 (Ctrl+L)",
    "Copied %n job id(s)": "작업 ID %n개를 복사했습니다",
    "%n video(s) will start when the services are ready": "서비스가 준비되면 동영상 %n개가 시작됩니다",
    "Videos and sound (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;All files (*)":
        "동영상과 소리 (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;모든 파일 (*)",
    "Could not analyse again": "다시 분석하지 못했습니다",
    "Exactly": "정확히",
    "Between": "범위",
    "Analyse again": "다시 분석",
    "&Language:": "언어(&L):",
    "The ML server's default": "ML 서버 기본값",
    "Models installed on this computer (Tools → Settings → Models); the bundled analyzer uses them":
        "이 컴퓨터에 설치된 모델(도구 → 설정 → 모델). 내장 분석기가 사용합니다",
    "&Model:": "모델(&M):",
    "&Speakers:": "화자 수(&S):",
    "Optional: paste what is said, and the words are aligned to this text instead of being recognised":
        "선택 사항: 말한 내용을 붙여 넣으면 인식하는 대신 이 글에 단어를 맞춥니다",
    "Known &transcript:": "알고 있는 대본(&T):",
    "Analyse &again": "다시 분석(&A)",
    "{file} is analysed again as a new job; this one stays as it is.":
        "{file}을(를) 새 작업으로 다시 분석합니다. 지금 작업은 그대로 남습니다.",
    "and": "~",
    "Keyboard shortcuts": "단축키",
    "Action": "동작",
    "Key": "키",
    "%n speaker(s)": "화자 %n명",
    "%n segment(s)": "구간 %n개",
    # status bar (several ML servers)
    "ML server: {url}": "ML 서버: {url}",
    "ML servers: {healthy} of {count} healthy": "ML 서버: {count}개 중 {healthy}개 정상",
    "queue {n}": "대기 {n}",
    # review pane: editing
    "Audio only": "소리만 있음",
    "%s merged into %s": "%s을(를) %s(으)로 합침",
    "Segment text": "구간 글",
    "Split segment": "구간 나누기",
    "Join segments": "구간 합치기",
    "Speaker of a word": "단어의 화자",
    "Segment times": "구간 시간",
    "Word times": "단어 시간",
    "Not changed: %s": "바뀌지 않음: %s",
    "The transcript changed elsewhere: the edits made before cannot be undone.":
        "다른 곳에서 전사 결과가 바뀌었습니다: 그 전의 수정은 되돌릴 수 없습니다.",
    "Edit segment text…": "구간 글 고치기…",
    "Split before this word": "이 단어 앞에서 나누기",
    "Join with the next segment": "다음 구간과 합치기",
    "Segment times…": "구간 시간…",
    "Word times…": "단어 시간…",
    "Speaker of this word": "이 단어의 화자",
    "Edit segment text": "구간 글 고치기",
    "Words that still match keep their times; new ones share the time of those they replace.":
        "그대로인 단어는 시간을 유지하고, 새 단어는 바뀐 단어들의 시간을 나눠 씁니다.",
    "Times of “%s”": "“%s”의 시간",
    "Undo the last edit": "마지막 수정 되돌리기",
    "Start:": "시작:",
    "End:": "끝:",
    "Type times as 01:15.500 or 75.5 (seconds).": "시간은 01:15.500 또는 75.5(초)처럼 입력하세요.",
    "The end must come after the start.": "끝은 시작보다 뒤여야 합니다.",
    "Redo %s": "다시 실행: %s",
    "Edited by you": "직접 고침",
    "Undo %s": "되돌리기: %s",
    # settings: analysis and export
    "Analysis and export": "분석과 내보내기",
    "empty: your login name": "비워 두면 로그인 이름",
    'Your name is written on each job you add, so that in a team everyone sees who added what and "My jobs" shows yours; it is also part of the file names in storage. On your own you can leave it empty.':
        '추가하는 작업마다 이름이 기록되어, 팀에서는 누가 무엇을 추가했는지 모두가 보고 "내 작업"에 내 작업이 보입니다. 저장소의 파일 이름에도 들어갑니다. 혼자 쓴다면 비워 두어도 됩니다.',
    "at least": "최소",
    "at most": "최대",
    "any": "자동",
    "&Speakers in new videos:": "새 동영상의 화자 수(&S):",
    '"any" lets the analysis count the speakers. Give the same number twice when you know exactly how many there are.':
        '"자동"이면 분석이 화자 수를 셉니다. 정확한 수를 알면 같은 수를 두 번 넣으세요.',
    "Subtitle &line length:": "자막 줄 길이(&L):",
    " characters": "자",
    "Lines per &cue:": "자막 하나의 줄 수(&C):",
    "Longest c&ue:": "자막 하나의 최대 길이(&U):",
    "empty: the video's folder": "비워 두면 동영상이 있는 폴더",
    "C&hoose…": "선택(&H)…",
    "&Export folder:": "내보내기 폴더(&E):",
    "Export folder": "내보내기 폴더",
    "Move the segment's start": "구간 시작 옮기기",
    "Move the segment's end": "구간 끝 옮기기",
}


# English plural forms: ``ecg_desktop_en.ts`` holds only the texts with ``%n`` (the rest of
# the English interface is the source text itself). Korean has one form, so KO gives a string.
EN_PLURALS: dict[str, tuple[str, str]] = {
    "%n file(s) could not be added:": ("%n file could not be added:", "%n files could not be added:"),
    "… and %n more (see the details)": ("… and %n more (see the details)", "… and %n more (see the details)"),
    "%n file(s) written to {folder}": ("%n file written to {folder}", "%n files written to {folder}"),
    "Delete %n job(s), their results and their uploaded videos from storage?":
        ("Delete this job, its result and its uploaded video from storage?",
         "Delete %n jobs, their results and their uploaded videos from storage?"),
    "%n of these job(s) were added by someone else; deleting removes them for the whole team:":
        ("%n of these jobs was added by someone else; deleting removes it for the whole team:",
         "%n of these jobs were added by someone else; deleting removes them for the whole team:"),
    "%n video(s) will start when the services are ready":
        ("%n video will start when the services are ready", "%n videos will start when the services are ready"),
    "Copied %n job id(s)": ("Copied %n job id", "Copied %n job ids"),
    "Connected to {where}: %n job(s).": ("Connected to {where}: %n job.", "Connected to {where}: %n jobs."),
    "%n speaker(s)": ("%n speaker", "%n speakers"),
    "%n segment(s)": ("%n segment", "%n segments"),
    "%n match(es)": ("%n match", "%n matches"),
    "%n word(s)": ("%n word", "%n words"),
}


def fill(ts_path: Path, table: dict[str, str] | dict[str, tuple[str, str]]) -> list[str]:
    """Write ``table``'s texts into ``ts_path``; returns the source texts still missing. A
    plural text (``numerus="yes"``) gets one ``numerusform`` per form of the language."""
    tree = ET.parse(ts_path)
    missing = []
    for message in tree.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        if translation is None:
            translation = ET.SubElement(message, "translation")
        if translation.get("type") in ("vanished", "obsolete"):
            continue
        if source not in table:
            missing.append(source)
            continue
        value = table[source]
        translation.attrib.pop("type", None)
        if message.get("numerus") == "yes":
            for form in list(translation):
                translation.remove(form)
            translation.text = None
            for text in (value,) if isinstance(value, str) else value:
                ET.SubElement(translation, "numerusform").text = text
        else:
            translation.text = value if isinstance(value, str) else value[-1]
    tree.write(ts_path, encoding="utf-8", xml_declaration=True)
    return missing


if __name__ == "__main__":
    here = Path(__file__).parent
    left = fill(here / "ecg_desktop_ko.ts", KO)
    left += fill(here / "ecg_desktop_en.ts", EN_PLURALS)
    for text in left:
        print(f"untranslated: {text!r}", file=sys.stderr)
    sys.exit(1 if left else 0)
