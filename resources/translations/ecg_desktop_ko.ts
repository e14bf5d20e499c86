<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR">
<context>
    <name />
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="109" />
        <source>A setting is invalid and the defaults are used: {error}</source>
        <translation>잘못된 설정이 있어 기본값을 사용합니다: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="110" />
        <location filename="../../ecg_desktop/gui/app.py" line="133" />
        <location filename="../../ecg_desktop/gui/app.py" line="141" />
        <source>Settings…</source>
        <translation>설정…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="160" />
        <source>Port {port} is taken, so this desktop's callback server is off; not needed in team mode: results arrive through the team backend {url}.</source>
        <translation>포트 {port}이(가) 사용 중이라 이 컴퓨터의 콜백 서버가 꺼져 있습니다. 팀 모드에서는 필요하지 않습니다: 결과는 팀 백엔드 {url}을(를) 통해 도착합니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="167" />
        <source>The callback server cannot listen on {host}:{port}: the port is already in use (another ECG Desktop, or another program). Results from the ML server cannot arrive until it runs. Choose another port in Settings → Callback server, or start the app with ECG_BIND_PORT=&lt;port&gt;.</source>
        <translation>콜백 서버가 {host}:{port}에서 대기할 수 없습니다: 포트가 이미 사용 중입니다(다른 ECG Desktop 또는 다른 프로그램). 콜백 서버가 실행될 때까지 ML 서버의 결과를 받을 수 없습니다. 설정 → 콜백 서버에서 다른 포트를 고르거나 ECG_BIND_PORT=&lt;포트&gt;로 앱을 시작하세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="173" />
        <source>A setting is invalid: {error}. Fix it in Settings.</source>
        <translation>잘못된 설정: {error}. 설정에서 고치세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="175" />
        <source>The services could not start: {error}</source>
        <translation>서비스를 시작하지 못했습니다: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="198" />
        <source>Settings not saved</source>
        <translation>설정을 저장하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="258" />
        <source>Connected to {where}; its tables are created on first use.</source>
        <translation>{where}에 연결했습니다. 테이블은 처음 사용할 때 만들어집니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="260" />
        <source>Connected to {where}: {n} job(s).</source>
        <translation>{where}에 연결했습니다: 작업 {n}개.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="23" />
        <source>file not found</source>
        <translation>파일이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="24" />
        <source>not a regular file</source>
        <translation>일반 파일이 아닙니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="25" />
        <source>not a video file ({detail})</source>
        <translation>동영상 파일이 아닙니다 ({detail})</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="26" />
        <source>not readable (permission denied)</source>
        <translation>읽을 수 없습니다 (권한 없음)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="27" />
        <source>empty file (0 bytes)</source>
        <translation>빈 파일입니다 (0바이트)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="28" />
        <source>more than {detail} videos; add a smaller folder</source>
        <translation>동영상이 {detail}개를 넘습니다. 더 작은 폴더를 추가하세요</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="29" />
        <source>folder holds no video files</source>
        <translation>폴더에 동영상 파일이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="38" />
        <source>Some files were not added</source>
        <translation>일부 파일을 추가하지 않았습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="39" />
        <source>{n} file(s) cannot be analysed:</source>
        <translation>파일 {n}개는 분석할 수 없습니다:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="49" />
        <source>Already in the queue</source>
        <translation>이미 대기열에 있음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="50" />
        <source>These videos are already queued:
{names}

Add them again?</source>
        <translation>이 동영상은 이미 대기열에 있습니다:
{names}

다시 추가할까요?</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="59" />
        <source>Delete jobs</source>
        <translation>작업 삭제</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="60" />
        <source>Delete {n} job(s), their results and their uploaded videos from storage?
{names}

The files on this computer are kept.</source>
        <translation>작업 {n}개와 그 결과, 저장소에 올린 동영상을 삭제할까요?
{names}

이 컴퓨터의 파일은 그대로 둡니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="71" />
        <source>Delete other people's jobs</source>
        <translation>다른 사람의 작업 삭제</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="72" />
        <source>{n} of these job(s) were added by someone else; deleting removes them for the whole team:
{names}

Delete them anyway?</source>
        <translation>이 중 작업 {n}개는 다른 사람이 추가했습니다. 삭제하면 팀 전체에서 사라집니다:
{names}

그래도 삭제할까요?</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="231" />
        <source>Completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="233" />
        <source>Failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="235" />
        <source>Canceled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="242" />
        <source>Sending to ML server…</source>
        <translation>ML 서버로 보내는 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="244" />
        <source>Uploaded, waiting for the ML server</source>
        <translation>업로드 완료, ML 서버 대기 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="245" />
        <source>Waiting</source>
        <translation>대기 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="255" />
        <source>Uploading {done} of {total}</source>
        <translation>업로드 중 {done} / {total}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="261" />
        <source>{eta} left</source>
        <translation>{eta} 남음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="81" />
        <source>Detect automatically</source>
        <translation>자동 감지</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="82" />
        <source>Korean</source>
        <translation>한국어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="83" />
        <source>English</source>
        <translation>영어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="84" />
        <source>Japanese</source>
        <translation>일본어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="85" />
        <source>Chinese</source>
        <translation>중국어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="311" />
        <source>ECG Desktop</source>
        <translation>ECG Desktop</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="313" />
        <source>&amp;Add videos…</source>
        <translation>동영상 추가(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="314" />
        <source>Add &amp;folder…</source>
        <translation>폴더 추가(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="315" />
        <source>&amp;Paste paths</source>
        <translation>경로 붙여넣기(&amp;P)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="316" />
        <source>&amp;Quit</source>
        <translation>끝내기(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="317" />
        <source>&amp;Open transcript</source>
        <translation>전사 열기(&amp;O)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="318" />
        <source>&amp;Retry</source>
        <translation>다시 시도(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="319" />
        <source>&amp;Cancel job</source>
        <translation>작업 취소(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="320" />
        <source>&amp;Delete…</source>
        <translation>삭제(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="321" />
        <source>Copy job &amp;ID</source>
        <translation>작업 ID 복사(&amp;I)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="322" />
        <source>&amp;Show file</source>
        <translation>파일 보기(&amp;S)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="323" />
        <source>&amp;Export…</source>
        <translation>내보내기(&amp;E)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="324" />
        <source>&amp;Find jobs</source>
        <translation>작업 찾기(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="325" />
        <source>&amp;Settings…</source>
        <translation>설정(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="326" />
        <source>Check ML server &amp;now</source>
        <translation>지금 ML 서버 확인(&amp;N)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="327" />
        <source>Open &amp;log file</source>
        <translation>로그 파일 열기(&amp;L)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="328" />
        <source>&amp;About ECG Desktop</source>
        <translation>ECG Desktop 정보(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="335" />
        <source>&amp;File</source>
        <translation>파일(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="336" />
        <source>&amp;Job</source>
        <translation>작업(&amp;J)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="337" />
        <source>&amp;View</source>
        <translation>보기(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="338" />
        <source>&amp;Tools</source>
        <translation>도구(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="339" />
        <source>&amp;Help</source>
        <translation>도움말(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="340" />
        <source>  &amp;Language of new videos: </source>
        <translation>  새 동영상 언어(&amp;L): </translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="347" />
        <source>Show jobs by status</source>
        <translation>상태별로 작업 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="348" />
        <source>Everyone's jobs</source>
        <translation>모든 사람의 작업</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="349" />
        <source>My jobs</source>
        <translation>내 작업</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="350" />
        <source>Show the jobs you added, or everyone's</source>
        <translation>내가 추가한 작업만, 또는 모든 사람의 작업을 봅니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="351" />
        <source>Filter by file name or job id</source>
        <translation>파일 이름이나 작업 ID로 거르기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="353" />
        <source>Drop videos or folders here
or press Add videos… (Ctrl+O)

Each video is uploaded, analysed and turned into a transcript
with speakers, word timings, loudness and pitch.</source>
        <translation>동영상이나 폴더를 여기에 끌어다 놓거나
동영상 추가…(Ctrl+O)를 누르세요

각 동영상은 업로드·분석되어 화자, 단어 시각,
음량과 음높이가 담긴 전사가 됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="357" />
        <source>Open a completed job to see its transcript.</source>
        <translation>완료된 작업을 열면 전사가 보입니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="498" />
        <source>{n} video(s) will start when the services are ready</source>
        <translation>서비스가 준비되면 동영상 {n}개를 시작합니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="510" />
        <source>Could not add a video</source>
        <translation>동영상을 추가하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="518" />
        <source>Add videos</source>
        <translation>동영상 추가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="519" />
        <source>Videos (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv);;All files (*)</source>
        <translation>동영상 (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv);;모든 파일 (*)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="527" />
        <source>Add a folder of videos</source>
        <translation>동영상 폴더 추가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="541" />
        <source>The clipboard holds no file paths</source>
        <translation>클립보드에 파일 경로가 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="548" />
        <source>Drop to add videos
Language: {lang}</source>
        <translation>놓으면 동영상을 추가합니다
언어: {lang}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="611" />
        <source>Job failed</source>
        <translation>작업 실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="618" />
        <source>Could not retry</source>
        <translation>다시 시도하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="623" />
        <source>Could not cancel</source>
        <translation>취소하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="639" />
        <source>Could not delete</source>
        <translation>삭제하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="657" />
        <source>Copied {n} job id(s)</source>
        <translation>작업 ID {n}개를 복사했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="665" />
        <source>Show file</source>
        <translation>파일 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="665" />
        <source>{path} no longer exists</source>
        <translation>{path}이(가) 더 이상 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="677" />
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="678" />
        <source>CSV, one row per word (*.csv)</source>
        <translation>CSV, 단어마다 한 줄 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="679" />
        <source>SubRip subtitles (*.srt)</source>
        <translation>SubRip 자막 (*.srt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="680" />
        <source>WebVTT subtitles (*.vtt)</source>
        <translation>WebVTT 자막 (*.vtt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="681" />
        <source>Plain text (*.txt)</source>
        <translation>일반 텍스트 (*.txt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="686" />
        <source>Export transcripts</source>
        <translation>전사 내보내기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="707" />
        <source>Export failed</source>
        <translation>내보내기 실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="709" />
        <source>Exported {n} file(s) to {where}</source>
        <translation>파일 {n}개를 {where}에 내보냈습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="744" />
        <source>ML server health</source>
        <translation>ML 서버 상태</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="763" />
        <source>About ECG Desktop</source>
        <translation>ECG Desktop 정보</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="764" />
        <source>ECG Desktop {version}
Transcripts with speakers, word timings, loudness and pitch.</source>
        <translation>ECG Desktop {version}
화자, 단어 시각, 음량과 음높이가 담긴 전사.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="845" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="71" />
        <source>healthy</source>
        <translation>정상</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="845" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="72" />
        <source>unhealthy</source>
        <translation>비정상</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="846" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="73" />
        <source>unreachable</source>
        <translation>연결 불가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="847" />
        <source>{url} is {state}.</source>
        <translation>{url}: {state}.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="847" />
        <source>The ML server</source>
        <translation>ML 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="849" />
        <source>It answered in {ms:.0f} ms.</source>
        <translation>{ms:.0f} ms 만에 응답했습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="54" />
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="64" />
        <source>ML server</source>
        <translation>ML 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="65" />
        <source>Callback server</source>
        <translation>콜백 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="66" />
        <source>Storage</source>
        <translation>저장소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="67" />
        <source>Job store</source>
        <translation>작업 저장소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="68" />
        <source>General</source>
        <translation>일반</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="69" />
        <source>Team</source>
        <translation>팀</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="113" />
        <source>ML server &amp;URL:</source>
        <translation>ML 서버 &amp;URL:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="114" />
        <source>empty: the built-in reference analyzer</source>
        <translation>비우면: 내장 기준 분석기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="120" />
        <source>Request &amp;timeout:</source>
        <translation>요청 제한 시간(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="122" />
        <source>The ML server receives each video's download URL and calls the callback server back with progress and the result. Leave the URL empty to analyse on this computer.</source>
        <translation>ML 서버는 각 동영상의 다운로드 URL을 받고 진행 상황과 결과를 콜백 서버로 알려 줍니다. 이 컴퓨터에서 분석하려면 URL을 비워 두세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="129" />
        <source>Callback &amp;base URL:</source>
        <translation>콜백 기본 URL(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="130" />
        <source>empty: the address below</source>
        <translation>비우면: 아래 주소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="131" />
        <source>&amp;Listen on address:</source>
        <translation>대기 주소(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="135" />
        <source>any free port</source>
        <translation>빈 포트 아무거나</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="137" />
        <source>Listen on &amp;port:</source>
        <translation>대기 포트(&amp;P):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="139" />
        <source>Show</source>
        <translation>보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="143" />
        <source>&amp;Regenerate</source>
        <translation>다시 만들기(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="145" />
        <source>&amp;Copy</source>
        <translation>복사(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="151" />
        <source>&amp;Webhook secret:</source>
        <translation>웹훅 비밀 키(&amp;W):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="154" />
        <source>Accept &amp;unsigned callbacks</source>
        <translation>서명 없는 콜백 허용(&amp;U)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="159" />
        <source>⚠ Anyone who can reach the callback server could then write results into your jobs. Turn this on only for an ML server that cannot sign (the original WhisperX server never signs), on a trusted network.</source>
        <translation>⚠ 콜백 서버에 접근할 수 있는 누구나 작업 결과를 써 넣을 수 있게 됩니다. 서명할 수 없는 ML 서버(원래 WhisperX 서버는 서명하지 않음)를 믿을 수 있는 네트워크에서 쓸 때만 켜세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="165" />
        <source>API &amp;tokens:</source>
        <translation>API 토큰(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="169" />
        <source>Needed only when the server listens on an address other than this computer's (a team backend): every API call must then carry one of these tokens. Give each user their own; revoke one by removing it.</source>
        <translation>서버가 이 컴퓨터가 아닌 주소에서 수신할 때(팀 백엔드)만 필요합니다: 그때는 모든 API 호출에 이 토큰 중 하나가 있어야 합니다. 사용자마다 각자의 토큰을 주고, 토큰을 지우면 폐기됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="176" />
        <source>S3 &amp;bucket:</source>
        <translation>S3 버킷(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="177" />
        <source>empty: keep videos on this computer</source>
        <translation>비우면: 동영상을 이 컴퓨터에 보관</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="178" />
        <source>&amp;Region:</source>
        <translation>리전(&amp;R):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="179" />
        <source>&amp;Endpoint URL:</source>
        <translation>엔드포인트 URL(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="180" />
        <source>empty: AWS; or an S3-compatible server</source>
        <translation>비우면: AWS, 또는 S3 호환 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="181" />
        <source>&amp;Access key id:</source>
        <translation>액세스 키 ID(&amp;A):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="182" />
        <source>&amp;Secret access key:</source>
        <translation>비밀 액세스 키(&amp;S):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="188" />
        <source>Download URLs &amp;expire after:</source>
        <translation>다운로드 URL 만료 시간(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="189" />
        <source>The secret access key is kept in the system keyring, not in the settings file.</source>
        <translation>비밀 액세스 키는 설정 파일이 아니라 시스템 키링에 보관됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="195" />
        <source>empty: SQLite in the data folder</source>
        <translation>비우면: 데이터 폴더의 SQLite</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="196" />
        <source>&amp;Database URL:</source>
        <translation>데이터베이스 URL(&amp;D):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="197" />
        <source>&amp;Test connection</source>
        <translation>연결 시험(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="207" />
        <source>A shared PostgreSQL database (postgresql+psycopg://user:password@host/db) lets a team see the same jobs.</source>
        <translation>공유 PostgreSQL 데이터베이스(postgresql+psycopg://user:password@host/db)를 쓰면 팀이 같은 작업을 봅니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="218" />
        <source>Default &amp;language of videos:</source>
        <translation>동영상 기본 언어(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="222" />
        <source>System</source>
        <translation>시스템 설정 따름</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="224" />
        <source>&amp;Interface language:</source>
        <translation>화면 언어(&amp;I):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="225" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="239" />
        <source>Your &amp;name:</source>
        <translation>이름(&amp;N):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="225" />
        <source>used in storage keys</source>
        <translation>저장소 키에 쓰입니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="231" />
        <source>Join a team: every member shares one PostgreSQL database and one S3 bucket, and the ML server calls the team backend back. Ask your team for these values.</source>
        <translation>팀에 참여하기: 모든 구성원이 하나의 PostgreSQL 데이터베이스와 하나의 S3 버킷을 공유하고, ML 서버는 팀 백엔드로 결과를 보냅니다. 이 값들은 팀에 문의하세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="235" />
        <source>Team &amp;database URL:</source>
        <translation>팀 데이터베이스 URL(&amp;D):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="236" />
        <source>Team S3 &amp;bucket:</source>
        <translation>팀 S3 버킷(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="238" />
        <source>&amp;ML server URL:</source>
        <translation>ML 서버 URL(&amp;M):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="238" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="239" />
        <source>empty: keep the current one</source>
        <translation>비워 두면 현재 값을 유지합니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="247" />
        <source>&amp;Join the team</source>
        <translation>팀에 참여(&amp;J)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="268" />
        <source>Team settings filled in: press OK or Apply to save them.</source>
        <translation>팀 설정을 채웠습니다. 저장하려면 확인 또는 적용을 누르세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="300" />
        <source>Set by the environment variable {name}</source>
        <translation>환경 변수 {name}로 정해졌습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="264" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="339" />
        <source>{error}</source>
        <translation>{error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="237" />
        <source>Team back&amp;end URL:</source>
        <translation>팀 백엔드 URL(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="362" />
        <source>A new webhook secret takes effect when you apply it; give it to your ML server, or its callbacks will be refused.</source>
        <translation>새 웹훅 비밀 키는 적용할 때 효력이 생깁니다. ML 서버에도 알려 주지 않으면 콜백이 거부됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="372" />
        <source>Connecting…</source>
        <translation>연결 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="380" />
        <source>Failed: {error}</source>
        <translation>실패: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="133" />
        <source>Storage: S3 bucket {bucket} ({where})</source>
        <translation>저장소: S3 버킷 {bucket} ({where})</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="134" />
        <source>Storage: this computer, {folder}</source>
        <translation>저장소: 이 컴퓨터, {folder}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="70" />
        <source>not checked yet</source>
        <translation>아직 확인 안 함</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="75" />
        <source>ML server: {state}</source>
        <translation>ML 서버: {state}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="79" />
        <source>checked {time}</source>
        <translation>{time} 확인</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="82" />
        <source>checking…</source>
        <translation>확인 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="85" />
        <source>ML server {url}
Click to check now and see the full answer.</source>
        <translation>ML 서버 {url}
누르면 지금 확인하고 전체 응답을 보여 줍니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="139" />
        <source>Starting services…</source>
        <translation>서비스 시작 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="142" />
        <source>Callbacks: {url}</source>
        <translation>콜백: {url}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="142" />
        <source>not running</source>
        <translation>실행 안 됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="144" />
        <source>⚠ unsigned accepted</source>
        <translation>⚠ 서명 없는 콜백 허용</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="147" />
        <source>signed only</source>
        <translation>서명된 콜백만</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="151" />
        <source>Jobs: {where}</source>
        <translation>작업: {where}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="153" />
        <source>reconnecting…</source>
        <translation>다시 연결 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="157" />
        <source>live</source>
        <translation>실시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_tray.py" line="29" />
        <source>Show window</source>
        <translation>창 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_tray.py" line="41" />
        <source>Transcript ready</source>
        <translation>전사 완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_tray.py" line="42" />
        <source>{name} is analysed.</source>
        <translation>{name} 분석이 끝났습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_tray.py" line="45" />
        <source>Analysis failed</source>
        <translation>분석 실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_tray.py" line="46" />
        <source>{name}: {reason}</source>
        <translation>{name}: {reason}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="33" />
        <source>(no name)</source>
        <translation>(이름 없음)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="39" />
        <source>New API token</source>
        <translation>새 API 토큰</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="40" />
        <source>Who is the token for? Jobs made with it are recorded under this name (may be left empty).</source>
        <translation>누구의 토큰입니까? 이 토큰으로 만든 작업은 이 이름으로 기록됩니다(비워 둘 수 있음).</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="62" />
        <source>&amp;New token…</source>
        <translation>새 토큰(&amp;N)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="63" />
        <source>Cop&amp;y token</source>
        <translation>토큰 복사(&amp;Y)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="64" />
        <source>Re&amp;voke</source>
        <translation>폐기(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="97" />
        <source>New token copied to the clipboard: give it to {name}. It is accepted once the settings are applied.</source>
        <translation>새 토큰을 클립보드에 복사했습니다: {name}에게 전달하세요. 설정을 적용하면 사용할 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="98" />
        <source>its holder</source>
        <translation>토큰 사용자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="106" />
        <source>Token copied to the clipboard.</source>
        <translation>토큰을 클립보드에 복사했습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="114" />
        <source>The token stops working once the settings are applied.</source>
        <translation>설정을 적용하면 이 토큰은 더 이상 작동하지 않습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_api_tokens.py" line="133" />
        <source>Make a new token before revoking the last one.</source>
        <translation>마지막 토큰을 폐기하기 전에 새 토큰을 만드세요.</translation>
    </message>
</context>
<context>
    <name>FeaturePlots</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="99" />
        <source>Pitch</source>
        <translation>음높이</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="99" />
        <source>Loudness</source>
        <translation>음량</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="102" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="104" />
        <source>Loudness and pitch: not measured</source>
        <translation>음량과 음높이: 측정되지 않음</translation>
    </message>
</context>
<context>
    <name>PlayerPanel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="112" />
        <source>−5 s</source>
        <translation>−5초</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="113" />
        <source>+5 s</source>
        <translation>+5초</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="114" />
        <source>Playback speed</source>
        <translation>재생 속도</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="115" />
        <source>Volume</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="116" />
        <source>Vol.</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="117" />
        <source>Follow</source>
        <translation>따라가기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="118" />
        <source>Keep the word being played in view</source>
        <translation>재생 중인 단어를 화면에 계속 표시</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="120" />
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="128" />
        <source>No video for this job</source>
        <translation>이 작업에는 동영상이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="177" />
        <source>Pause</source>
        <translation>일시정지</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="177" />
        <source>Play</source>
        <translation>재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="190" />
        <source>The video cannot be played</source>
        <translation>동영상을 재생할 수 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="195" />
        <source>The video cannot be played: %s</source>
        <translation>동영상을 재생할 수 없습니다: %s</translation>
    </message>
</context>
<context>
    <name>QtJobModel</name>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="64" />
        <source>File</source>
        <translation>파일</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="65" />
        <source>Size</source>
        <translation>크기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="66" />
        <source>Duration</source>
        <translation>길이</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="67" />
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="68" />
        <source>Progress</source>
        <translation>진행</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="69" />
        <source>Speakers</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="70" />
        <source>Created</source>
        <translation>생성</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="71" />
        <source>Updated</source>
        <translation>갱신</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="72" />
        <source>Owner</source>
        <translation>소유자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="75" />
        <source>Queued</source>
        <translation>대기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="76" />
        <source>Uploading</source>
        <translation>업로드 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="77" />
        <source>Uploaded</source>
        <translation>업로드됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="78" />
        <source>Sending to ML server</source>
        <translation>ML 서버로 전송 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="79" />
        <source>Analysing</source>
        <translation>분석 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="80" />
        <source>Done</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="83" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="423" />
        <source>Completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="84" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="424" />
        <source>Failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="85" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="425" />
        <source>Canceled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="419" />
        <source>All</source>
        <translation>전체</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="420" />
        <source>Active</source>
        <translation>진행 중</translation>
    </message>
</context>
<context>
    <name>ReviewPane</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="147" />
        <source>Plain words</source>
        <translation>색 없음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="148" />
        <source>Colour by loudness</source>
        <translation>음량으로 색칠</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="149" />
        <source>Colour by pitch</source>
        <translation>음높이로 색칠</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="153" />
        <source>Undo</source>
        <translation>실행 취소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="154" />
        <source>Redo</source>
        <translation>다시 실행</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="160" />
        <source>Pitch and loudness over time appear here for the transcript shown</source>
        <translation>표시된 대본의 시간별 음높이와 음량이 여기에 나타납니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="163" />
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="316" />
        <source>Select a completed job to review its transcript</source>
        <translation>완료된 작업을 선택하면 전사 결과를 검토할 수 있습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="179" />
        <source>The server sent placeholder loudness and pitch values: they are shown as “not measured”.</source>
        <translation>서버가 음량과 음높이 대신 고정값을 보냈습니다: “측정되지 않음”으로 표시합니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="257" />
        <source>Loading %s…</source>
        <translation>%s 불러오는 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="263" />
        <source>The transcript cannot be loaded: %s</source>
        <translation>전사 결과를 불러올 수 없습니다: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="282" />
        <source>%s failed: %s</source>
        <translation>%s 실패: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="284" />
        <source>%s was canceled</source>
        <translation>%s 작업이 취소되었습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="285" />
        <source>%s has no transcript yet</source>
        <translation>%s에는 아직 전사 결과가 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="326" />
        <source>%d speakers</source>
        <translation>화자 %d명</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="327" />
        <source>%d segments</source>
        <translation>구간 %d개</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="460" />
        <source>Correct word…</source>
        <translation>단어 고치기…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="461" />
        <source>Play from this word</source>
        <translation>이 단어부터 재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="464" />
        <source>Play this segment</source>
        <translation>이 구간 재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="465" />
        <source>Speaker of this segment</source>
        <translation>이 구간의 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="473" />
        <source>New speaker</source>
        <translation>새 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="486" />
        <source>Correct word</source>
        <translation>단어 고치기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="486" />
        <source>Word:</source>
        <translation>단어:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="505" />
        <source>The edit could not be saved: %s</source>
        <translation>수정 내용을 저장하지 못했습니다: %s</translation>
    </message>
</context>
<context>
    <name>SearchBar</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="50" />
        <source>Find in transcript</source>
        <translation>전사 결과에서 찾기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="51" />
        <source>Aa</source>
        <translation>Aa</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="52" />
        <source>Match case</source>
        <translation>대소문자 구분</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="53" />
        <source>Whole words</source>
        <translation>단어 단위</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="54" />
        <source>Filter</source>
        <translation>걸러 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="55" />
        <source>Show only the segments that match</source>
        <translation>일치하는 구간만 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="56" />
        <source>Previous match (Shift+Enter)</source>
        <translation>이전 항목 (Shift+Enter)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="57" />
        <source>Next match (Enter)</source>
        <translation>다음 항목 (Enter)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="82" />
        <source>No matches</source>
        <translation>일치 없음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="85" />
        <source>%s of %d</source>
        <translation>%s / %d</translation>
    </message>
</context>
<context>
    <name>SegmentDelegate</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="242" />
        <source>Loudness, pitch: not measured by the server</source>
        <translation>음량, 음높이: 서버가 측정하지 않음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="244" />
        <source>Loudness: %s</source>
        <translation>음량: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="246" />
        <source>unvoiced</source>
        <translation>무성음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="247" />
        <source>Pitch: %s</source>
        <translation>음높이: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="248" />
        <source>Spectral centroid: %s</source>
        <translation>스펙트럼 중심: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="250" />
        <source>Confidence: %s</source>
        <translation>신뢰도: %s</translation>
    </message>
</context>
<context>
    <name>SegmentTableModel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="76" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="76" />
        <source>Speaker</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="76" />
        <source>Text</source>
        <translation>내용</translation>
    </message>
</context>
<context>
    <name>SpeakerPanel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="173" />
        <source>Rename…</source>
        <translation>이름 바꾸기…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="174" />
        <source>Merge into…</source>
        <translation>다음 화자로 합치기…</translation>
    </message>
</context>
<context>
    <name>SpeakerTableModel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="82" />
        <source>Speaker</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="82" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="82" />
        <source>Share</source>
        <translation>비율</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="83" />
        <source>Mean pitch</source>
        <translation>평균 음높이</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="106" />
        <source>not measured</source>
        <translation>측정되지 않음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_speakers.py" line="114" />
        <source>%s: %d segments, %d words</source>
        <translation>%s: 구간 %d개, 단어 %d개</translation>
    </message>
</context>
</TS>