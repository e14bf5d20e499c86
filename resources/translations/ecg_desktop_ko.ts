<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR">
<context>
    <name />
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="105" />
        <source>A setting is invalid and the defaults are used: {error}</source>
        <translation>잘못된 설정이 있어 기본값을 사용합니다: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="106" />
        <location filename="../../ecg_desktop/gui/app.py" line="129" />
        <location filename="../../ecg_desktop/gui/app.py" line="137" />
        <source>Settings…</source>
        <translation>설정…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="156" />
        <source>Port {port} is taken, so this desktop's callback server is off; not needed in team mode: results arrive through the team backend {url}.</source>
        <translation>포트 {port}이(가) 사용 중이라 이 컴퓨터의 콜백 서버가 꺼져 있습니다. 팀 모드에서는 필요하지 않습니다: 결과는 팀 백엔드 {url}을(를) 통해 도착합니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="163" />
        <source>The callback server cannot listen on {host}:{port}: the port is already in use (another ECG Desktop, or another program). Results from the ML server cannot arrive until it runs. Choose another port in Settings → Callback server, or start the app with ECG_BIND_PORT=&lt;port&gt;.</source>
        <translation>콜백 서버가 {host}:{port}에서 대기할 수 없습니다: 포트가 이미 사용 중입니다(다른 ECG Desktop 또는 다른 프로그램). 콜백 서버가 실행될 때까지 ML 서버의 결과를 받을 수 없습니다. 설정 → 콜백 서버에서 다른 포트를 고르거나 ECG_BIND_PORT=&lt;포트&gt;로 앱을 시작하세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="169" />
        <source>A setting is invalid: {error}. Fix it in Settings.</source>
        <translation>잘못된 설정: {error}. 설정에서 고치세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="171" />
        <source>The services could not start: {error}</source>
        <translation>서비스를 시작하지 못했습니다: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="189" />
        <source>Settings not saved</source>
        <translation>설정을 저장하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/app.py" line="250" />
        <source>Connected to {where}; its tables are created on first use.</source>
        <translation>{where}에 연결했습니다. 테이블은 처음 사용할 때 만들어집니다.</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/app.py" line="252" />
        <source>Connected to {where}: %n job(s).</source>
        <translation><numerusform>{where}에 연결했습니다: 작업 %n개.</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="27" />
        <source>file not found</source>
        <translation>파일이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="28" />
        <source>not a regular file</source>
        <translation>일반 파일이 아닙니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="29" />
        <source>not a video or sound file</source>
        <translation>동영상이나 소리 파일이 아님</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="30" />
        <source>cannot be read (permission denied)</source>
        <translation>읽을 수 없음(권한 없음)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="31" />
        <source>empty file</source>
        <translation>빈 파일</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="32" />
        <source>no sound track</source>
        <translation>소리 트랙 없음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="33" />
        <source>damaged or incomplete file</source>
        <translation>손상되었거나 완전하지 않은 파일</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="34" />
        <source>more than {detail} videos; add a smaller folder</source>
        <translation>동영상이 {detail}개를 넘습니다. 더 작은 폴더를 추가하세요</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="35" />
        <source>folder holds no video files</source>
        <translation>폴더에 동영상 파일이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="36" />
        <source>no speech model installed for this language</source>
        <translation>이 언어를 인식할 음성 모델이 설치되어 있지 않습니다</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="43" />
        <source>%n file(s) could not be added:</source>
        <translation><numerusform>파일 %n개를 추가하지 못했습니다:</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="46" />
        <source>… and %n more (see the details)</source>
        <translation><numerusform>… 그리고 %n개 더(자세한 내용 참고)</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="59" />
        <source>Some files were not added</source>
        <translation>일부 파일을 추가하지 않았습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="71" />
        <source>Export finished</source>
        <translation>내보내기 완료</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="72" />
        <source>%n file(s) written to {folder}</source>
        <translation><numerusform>파일 %n개를 {folder}에 저장했습니다</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="76" />
        <source>Show in &amp;folder</source>
        <translation>폴더에서 보기(&amp;F)</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="95" />
        <source>Delete %n job(s), their results and their uploaded videos from storage?</source>
        <translation><numerusform>작업 %n개와 그 결과, 저장소에 올린 동영상을 삭제할까요?</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="96" />
        <source>The files on this computer are kept.</source>
        <translation>이 컴퓨터의 파일은 그대로 남습니다.</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="107" />
        <source>%n of these job(s) were added by someone else; deleting removes them for the whole team:</source>
        <translation><numerusform>이 중 작업 %n개는 다른 사람이 추가했습니다. 삭제하면 팀 전체에서 사라집니다:</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="109" />
        <source>Delete them anyway?</source>
        <translation>그래도 삭제할까요?</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="84" />
        <source>Already in the queue</source>
        <translation>이미 대기열에 있음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="85" />
        <source>These videos are already queued:
{names}

Add them again?</source>
        <translation>이 동영상은 이미 대기열에 있습니다:
{names}

다시 추가할까요?</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="94" />
        <source>Delete jobs</source>
        <translation>작업 삭제</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/prompts.py" line="106" />
        <source>Delete other people's jobs</source>
        <translation>다른 사람의 작업 삭제</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="226" />
        <source>ML server: {url}</source>
        <translation>ML 서버: {url}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="238" />
        <source>Completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="240" />
        <source>Failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="242" />
        <source>Canceled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="249" />
        <source>Sending to ML server…</source>
        <translation>ML 서버로 보내는 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="251" />
        <source>Uploaded, waiting for the ML server</source>
        <translation>업로드 완료, ML 서버 대기 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="252" />
        <source>Waiting</source>
        <translation>대기 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="262" />
        <source>Uploading {done} of {total}</source>
        <translation>업로드 중 {done} / {total}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="268" />
        <source>{eta} left</source>
        <translation>{eta} 남음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="22" />
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="47" />
        <source>Detect automatically</source>
        <translation>자동 감지</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="23" />
        <source>Korean</source>
        <translation>한국어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="88" />
        <source>Checking the download…</source>
        <translation>다운로드한 파일 확인 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="89" />
        <source>Downloading {done:.0f} of {total:.0f} MB</source>
        <translation>다운로드 중 {done:.0f} / {total:.0f} MB</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="92" />
        <source>Bundled</source>
        <translation>기본 포함</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="92" />
        <source>Installed</source>
        <translation>설치됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="96" />
        <source>Stopped at {done:.0f} MB: Download goes on from there</source>
        <translation>{done:.0f} MB에서 멈춤: 다운로드하면 이어서 받습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="98" />
        <source>Not installed</source>
        <translation>설치 안 됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="102" />
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="103" />
        <source>Size</source>
        <translation>크기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="104" />
        <source>Languages</source>
        <translation>언어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="105" />
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="173" />
        <source>(new jobs)</source>
        <translation>(새 작업)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="176" />
        <source>{size} MB</source>
        <translation>{size} MB</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="178" />
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="24" />
        <source>English</source>
        <translation>영어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="178" />
        <source>99 languages</source>
        <translation>99개 언어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="211" />
        <source>&amp;Download</source>
        <translation>다운로드(&amp;D)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="214" />
        <source>&amp;Cancel download</source>
        <translation>다운로드 취소(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="217" />
        <source>&amp;Remove</source>
        <translation>삭제(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="232" />
        <source>New jobs &amp;use:</source>
        <translation>새 작업에 사용(&amp;U):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="234" />
        <source>English (.en) models recognise English only; the others detect the language and recognise 99. Bigger models are more accurate and slower. Models are downloaded from Hugging Face into {folder}; a change of model restarts the analyzer.</source>
        <translation>영어(.en) 모델은 영어만 인식하고, 나머지 모델은 언어를 감지해 99개 언어를 인식합니다. 큰 모델일수록 더 정확하지만 느립니다. 모델은 Hugging Face에서 {folder}(으)로 다운로드되며, 모델을 바꾸면 분석기가 다시 시작됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="269" />
        <source>{name} (not installed)</source>
        <translation>{name} (설치 안 됨)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="314" />
        <source>Downloading {name} from {repo}…</source>
        <translation>{repo}에서 {name}을(를) 다운로드하는 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="334" />
        <source>{name} removed.</source>
        <translation>{name}을(를) 삭제했습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="351" />
        <source>The download of {name} was canceled.</source>
        <translation>{name} 다운로드를 취소했습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="355" />
        <source>{name} was not installed: {error}</source>
        <translation>{name}을(를) 설치하지 못했습니다: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="363" />
        <source>{name} is installed.</source>
        <translation>{name}이(가) 설치되었습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="25" />
        <source>Japanese</source>
        <translation>일본어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="26" />
        <source>Chinese</source>
        <translation>중국어</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="204" />
        <source>ECG Desktop</source>
        <translation>ECG Desktop</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="68" />
        <source>&amp;Add videos…</source>
        <translation>동영상 추가(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="69" />
        <source>Add &amp;folder…</source>
        <translation>폴더 추가(&amp;F)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="70" />
        <source>&amp;Paste paths</source>
        <translation>경로 붙여넣기(&amp;P)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="71" />
        <source>&amp;Quit</source>
        <translation>끝내기(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="72" />
        <source>&amp;Open transcript</source>
        <translation>전사 열기(&amp;O)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="73" />
        <source>&amp;Retry</source>
        <translation>다시 시도(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="74" />
        <source>Analyse &amp;again with…</source>
        <translation>다른 설정으로 다시 분석(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="75" />
        <source>&amp;Cancel job</source>
        <translation>작업 취소(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="76" />
        <source>&amp;Delete…</source>
        <translation>삭제(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="77" />
        <source>Copy job &amp;ID</source>
        <translation>작업 ID 복사(&amp;I)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="78" />
        <source>&amp;Show file</source>
        <translation>파일 보기(&amp;S)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="79" />
        <source>&amp;Export…</source>
        <translation>내보내기(&amp;E)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="80" />
        <source>&amp;Find in transcript</source>
        <translation>전사 결과에서 찾기(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="81" />
        <source>Filter &amp;jobs</source>
        <translation>작업 걸러 보기(&amp;J)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="82" />
        <source>&amp;Settings…</source>
        <translation>설정(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="83" />
        <source>Check ML server &amp;now</source>
        <translation>지금 ML 서버 확인(&amp;N)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="84" />
        <source>Open &amp;log file</source>
        <translation>로그 파일 열기(&amp;L)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="85" />
        <source>&amp;Keyboard shortcuts</source>
        <translation>단축키(&amp;K)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="86" />
        <source>&amp;About ECG Desktop</source>
        <translation>ECG Desktop 정보(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="87" />
        <source>&amp;File</source>
        <translation>파일(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="88" />
        <source>&amp;Job</source>
        <translation>작업(&amp;J)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="89" />
        <source>&amp;View</source>
        <translation>보기(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="90" />
        <source>&amp;Tools</source>
        <translation>도구(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_window_actions.py" line="91" />
        <source>&amp;Help</source>
        <translation>도움말(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="78" />
        <source>  &amp;Language of new videos: </source>
        <translation>  새 동영상 언어(&amp;L): </translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="84" />
        <source>Show jobs by status</source>
        <translation>상태별로 작업 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="85" />
        <source>Everyone's jobs</source>
        <translation>모든 사람의 작업</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="86" />
        <source>My jobs</source>
        <translation>내 작업</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="87" />
        <source>Show the jobs you added, or everyone's</source>
        <translation>내가 추가한 작업만, 또는 모든 사람의 작업을 봅니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_queue_toolbar.py" line="88" />
        <source>Filter by file name or job id (Ctrl+L)</source>
        <translation>파일 이름이나 작업 ID로 걸러 보기 (Ctrl+L)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="208" />
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
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="212" />
        <source>Open a completed job to see its transcript.</source>
        <translation>완료된 작업을 열면 전사가 보입니다.</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="384" />
        <source>Copied %n job id(s)</source>
        <translation><numerusform>작업 ID %n개를 복사했습니다</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="68" />
        <source>%n video(s) will start when the services are ready</source>
        <translation><numerusform>서비스가 준비되면 동영상 %n개가 시작됩니다</numerusform></translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="102" />
        <source>Could not add a video</source>
        <translation>동영상을 추가하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="113" />
        <source>Add videos</source>
        <translation>동영상 추가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="145" />
        <source>Videos and sound (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;All files (*)</source>
        <translation>동영상과 소리 (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;모든 파일 (*)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="121" />
        <source>Add a folder of videos</source>
        <translation>동영상 폴더 추가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="131" />
        <source>The clipboard holds no file paths</source>
        <translation>클립보드에 파일 경로가 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="310" />
        <source>Drop to add videos
Language: {lang}</source>
        <translation>놓으면 동영상을 추가합니다
언어: {lang}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="374" />
        <source>Job failed</source>
        <translation>작업 실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_actions.py" line="43" />
        <source>Could not retry</source>
        <translation>다시 시도하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_actions.py" line="65" />
        <source>Could not analyse again</source>
        <translation>다시 분석하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_actions.py" line="71" />
        <source>Could not cancel</source>
        <translation>취소하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_actions.py" line="88" />
        <source>Could not delete</source>
        <translation>삭제하지 못했습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="392" />
        <source>Show file</source>
        <translation>파일 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="392" />
        <source>{path} no longer exists</source>
        <translation>{path}이(가) 더 이상 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="28" />
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="29" />
        <source>CSV, one row per word (*.csv)</source>
        <translation>CSV, 단어마다 한 줄 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="30" />
        <source>SubRip subtitles (*.srt)</source>
        <translation>SubRip 자막 (*.srt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="31" />
        <source>WebVTT subtitles (*.vtt)</source>
        <translation>WebVTT 자막 (*.vtt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="32" />
        <source>Plain text (*.txt)</source>
        <translation>일반 텍스트 (*.txt)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="51" />
        <source>Export transcripts</source>
        <translation>전사 내보내기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_export_controller.py" line="65" />
        <source>Export failed</source>
        <translation>내보내기 실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="78" />
        <source>ML server health</source>
        <translation>ML 서버 상태</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="432" />
        <source>About ECG Desktop</source>
        <translation>ECG Desktop 정보</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="433" />
        <source>ECG Desktop {version}
Transcripts with speakers, word timings, loudness and pitch.</source>
        <translation>ECG Desktop {version}
화자, 단어 시각, 음량과 음높이가 담긴 전사.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="89" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="82" />
        <source>healthy</source>
        <translation>정상</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="89" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="83" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="125" />
        <source>unhealthy</source>
        <translation>비정상</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="90" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="84" />
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="125" />
        <source>unreachable</source>
        <translation>연결 불가</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="91" />
        <source>{url} is {state}.</source>
        <translation>{url}: {state}.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="91" />
        <source>The ML server</source>
        <translation>ML 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_health_controller.py" line="93" />
        <source>It answered in {ms:.0f} ms.</source>
        <translation>{ms:.0f} ms 만에 응답했습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="55" />
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="65" />
        <source>ML server</source>
        <translation>ML 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="66" />
        <source>Speech recognition</source>
        <translation>음성 인식</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="67" />
        <source>Analysis and export</source>
        <translation>분석과 내보내기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="68" />
        <source>Callback server</source>
        <translation>콜백 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="69" />
        <source>Storage</source>
        <translation>저장소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="70" />
        <source>Job store</source>
        <translation>작업 저장소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="71" />
        <source>General</source>
        <translation>일반</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="72" />
        <source>Team</source>
        <translation>팀</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="116" />
        <source>ML server &amp;URL:</source>
        <translation>ML 서버 &amp;URL:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="117" />
        <source>empty: the built-in reference analyzer</source>
        <translation>비우면: 내장 기준 분석기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="123" />
        <source>Request &amp;timeout:</source>
        <translation>요청 제한 시간(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="125" />
        <source>The ML server receives each video's download URL and calls the callback server back with progress and the result. Leave the URL empty to analyse on this computer.</source>
        <translation>ML 서버는 각 동영상의 다운로드 URL을 받고 진행 상황과 결과를 콜백 서버로 알려 줍니다. 이 컴퓨터에서 분석하려면 URL을 비워 두세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="139" />
        <source>Callback &amp;base URL:</source>
        <translation>콜백 기본 URL(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="140" />
        <source>empty: the address below</source>
        <translation>비우면: 아래 주소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="141" />
        <source>&amp;Listen on address:</source>
        <translation>대기 주소(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="145" />
        <source>any free port</source>
        <translation>빈 포트 아무거나</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="147" />
        <source>Listen on &amp;port:</source>
        <translation>대기 포트(&amp;P):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="149" />
        <source>Show</source>
        <translation>보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="153" />
        <source>&amp;Regenerate</source>
        <translation>다시 만들기(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="155" />
        <source>&amp;Copy</source>
        <translation>복사(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="161" />
        <source>&amp;Webhook secret:</source>
        <translation>웹훅 비밀 키(&amp;W):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="164" />
        <source>Accept &amp;unsigned callbacks</source>
        <translation>서명 없는 콜백 허용(&amp;U)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="169" />
        <source>⚠ Anyone who can reach the callback server could then write results into your jobs. Turn this on only for an ML server that cannot sign (the original WhisperX server never signs), on a trusted network.</source>
        <translation>⚠ 콜백 서버에 접근할 수 있는 누구나 작업 결과를 써 넣을 수 있게 됩니다. 서명할 수 없는 ML 서버(원래 WhisperX 서버는 서명하지 않음)를 믿을 수 있는 네트워크에서 쓸 때만 켜세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="175" />
        <source>API &amp;tokens:</source>
        <translation>API 토큰(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="179" />
        <source>Needed only when the server listens on an address other than this computer's (a team backend): every API call must then carry one of these tokens. Give each user their own; revoke one by removing it.</source>
        <translation>서버가 이 컴퓨터가 아닌 주소에서 수신할 때(팀 백엔드)만 필요합니다: 그때는 모든 API 호출에 이 토큰 중 하나가 있어야 합니다. 사용자마다 각자의 토큰을 주고, 토큰을 지우면 폐기됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="186" />
        <source>S3 &amp;bucket:</source>
        <translation>S3 버킷(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="187" />
        <source>empty: keep videos on this computer</source>
        <translation>비우면: 동영상을 이 컴퓨터에 보관</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="188" />
        <source>&amp;Region:</source>
        <translation>리전(&amp;R):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="189" />
        <source>&amp;Endpoint URL:</source>
        <translation>엔드포인트 URL(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="190" />
        <source>empty: AWS; or an S3-compatible server</source>
        <translation>비우면: AWS, 또는 S3 호환 서버</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="191" />
        <source>&amp;Access key id:</source>
        <translation>액세스 키 ID(&amp;A):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="192" />
        <source>&amp;Secret access key:</source>
        <translation>비밀 액세스 키(&amp;S):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="198" />
        <source>Download URLs &amp;expire after:</source>
        <translation>다운로드 URL 만료 시간(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="199" />
        <source>The secret access key is kept in the system keyring, not in the settings file.</source>
        <translation>비밀 액세스 키는 설정 파일이 아니라 시스템 키링에 보관됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="205" />
        <source>empty: SQLite in the data folder</source>
        <translation>비우면: 데이터 폴더의 SQLite</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="206" />
        <source>&amp;Database URL:</source>
        <translation>데이터베이스 URL(&amp;D):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="207" />
        <source>&amp;Test connection</source>
        <translation>연결 시험(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="217" />
        <source>A shared PostgreSQL database (postgresql+psycopg://user:password@host/db) lets a team see the same jobs.</source>
        <translation>공유 PostgreSQL 데이터베이스(postgresql+psycopg://user:password@host/db)를 쓰면 팀이 같은 작업을 봅니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="228" />
        <source>Default &amp;language of videos:</source>
        <translation>동영상 기본 언어(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="232" />
        <source>System</source>
        <translation>시스템 설정 따름</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="234" />
        <source>&amp;Interface language:</source>
        <translation>화면 언어(&amp;I):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="235" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="306" />
        <source>Your &amp;name:</source>
        <translation>이름(&amp;N):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="298" />
        <source>Join a team: every member shares one PostgreSQL database and one S3 bucket, and the ML server calls the team backend back. Ask your team for these values.</source>
        <translation>팀에 참여하기: 모든 구성원이 하나의 PostgreSQL 데이터베이스와 하나의 S3 버킷을 공유하고, ML 서버는 팀 백엔드로 결과를 보냅니다. 이 값들은 팀에 문의하세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="302" />
        <source>Team &amp;database URL:</source>
        <translation>팀 데이터베이스 URL(&amp;D):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="303" />
        <source>Team S3 &amp;bucket:</source>
        <translation>팀 S3 버킷(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="305" />
        <source>&amp;ML server URL:</source>
        <translation>ML 서버 URL(&amp;M):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="305" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="306" />
        <source>empty: keep the current one</source>
        <translation>비워 두면 현재 값을 유지합니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="314" />
        <source>&amp;Join the team</source>
        <translation>팀에 참여(&amp;J)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="335" />
        <source>Team settings filled in: press OK or Apply to save them.</source>
        <translation>팀 설정을 채웠습니다. 저장하려면 확인 또는 적용을 누르세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="367" />
        <source>Set by the environment variable {name}</source>
        <translation>환경 변수 {name}로 정해졌습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="331" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="406" />
        <source>{error}</source>
        <translation>{error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="235" />
        <source>empty: your login name</source>
        <translation>비워 두면 로그인 이름</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="237" />
        <source>Your name is written on each job you add, so that in a team everyone sees who added what and "My jobs" shows yours; it is also part of the file names in storage. On your own you can leave it empty.</source>
        <translation>추가하는 작업마다 이름이 기록되어, 팀에서는 누가 무엇을 추가했는지 모두가 보고 "내 작업"에 내 작업이 보입니다. 저장소의 파일 이름에도 들어갑니다. 혼자 쓴다면 비워 두어도 됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="248" />
        <source>at least</source>
        <translation>최소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="248" />
        <source>at most</source>
        <translation>최대</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="249" />
        <source>any</source>
        <translation>자동</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="253" />
        <source>&amp;Speakers in new videos:</source>
        <translation>새 동영상의 화자 수(&amp;S):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="255" />
        <source>"any" lets the analysis count the speakers. Give the same number twice when you know exactly how many there are.</source>
        <translation>"자동"이면 분석이 화자 수를 셉니다. 정확한 수를 알면 같은 수를 두 번 넣으세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="257" />
        <source>Subtitle &amp;line length:</source>
        <translation>자막 줄 길이(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="258" />
        <source> characters</source>
        <translation>자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="259" />
        <source>Lines per &amp;cue:</source>
        <translation>자막 하나의 줄 수(&amp;C):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="265" />
        <source>Longest c&amp;ue:</source>
        <translation>자막 하나의 최대 길이(&amp;U):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="269" />
        <source>empty: the video's folder</source>
        <translation>비워 두면 동영상이 있는 폴더</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="270" />
        <source>C&amp;hoose…</source>
        <translation>선택(&amp;H)…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="273" />
        <source>&amp;Export folder:</source>
        <translation>내보내기 폴더(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="291" />
        <source>Export folder</source>
        <translation>내보내기 폴더</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="304" />
        <source>Team back&amp;end URL:</source>
        <translation>팀 백엔드 URL(&amp;E):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="429" />
        <source>A new webhook secret takes effect when you apply it; give it to your ML server, or its callbacks will be refused.</source>
        <translation>새 웹훅 비밀 키는 적용할 때 효력이 생깁니다. ML 서버에도 알려 주지 않으면 콜백이 거부됩니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="439" />
        <source>Connecting…</source>
        <translation>연결 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_models_page.py" line="94" />
        <location filename="../../ecg_desktop/gui/qt_settings_dialog.py" line="447" />
        <source>Failed: {error}</source>
        <translation>실패: {error}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="185" />
        <source>Storage: S3 bucket {bucket} ({where})</source>
        <translation>저장소: S3 버킷 {bucket} ({where})</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="186" />
        <source>Storage: this computer, {folder}</source>
        <translation>저장소: 이 컴퓨터, {folder}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="81" />
        <source>not checked yet</source>
        <translation>아직 확인 안 함</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="88" />
        <source>ML servers: {healthy} of {count} healthy</source>
        <translation>ML 서버: {count}개 중 {healthy}개 정상</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="91" />
        <source>ML server: {state}</source>
        <translation>ML 서버: {state}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="95" />
        <source>checked {time}</source>
        <translation>{time} 확인</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="98" />
        <source>checking…</source>
        <translation>확인 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="101" />
        <source>ML server {url}
Click to check now and see the full answer.</source>
        <translation>ML 서버 {url}
누르면 지금 확인하고 전체 응답을 보여 줍니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="129" />
        <source>queue {n}</source>
        <translation>대기 {n}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="191" />
        <source>Starting services…</source>
        <translation>서비스 시작 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="194" />
        <source>Callbacks: {url}</source>
        <translation>콜백: {url}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="194" />
        <source>not running</source>
        <translation>실행 안 됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="196" />
        <source>⚠ unsigned accepted</source>
        <translation>⚠ 서명 없는 콜백 허용</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="199" />
        <source>signed only</source>
        <translation>서명된 콜백만</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="203" />
        <source>Jobs: {where}</source>
        <translation>작업: {where}</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="205" />
        <source>reconnecting…</source>
        <translation>다시 연결 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_status_bar.py" line="209" />
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
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="48" />
        <source>Exactly</source>
        <translation>정확히</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="49" />
        <source>Between</source>
        <translation>범위</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="59" />
        <source>Analyse again</source>
        <translation>다시 분석</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="67" />
        <source>&amp;Language:</source>
        <translation>언어(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="69" />
        <source>The ML server's default</source>
        <translation>ML 서버 기본값</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="73" />
        <source>Models installed on this computer (Tools → Settings → Models); the bundled analyzer uses them</source>
        <translation>이 컴퓨터에 설치된 모델(도구 → 설정 → 모델). 내장 분석기가 사용합니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="75" />
        <source>&amp;Model:</source>
        <translation>모델(&amp;M):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="76" />
        <source>&amp;Speakers:</source>
        <translation>화자 수(&amp;S):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="79" />
        <source>Optional: paste what is said, and the words are aligned to this text instead of being recognised</source>
        <translation>선택 사항: 말한 내용을 붙여 넣으면 인식하는 대신 이 글에 단어를 맞춥니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="82" />
        <source>Known &amp;transcript:</source>
        <translation>알고 있는 대본(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="85" />
        <source>Analyse &amp;again</source>
        <translation>다시 분석(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="89" />
        <source>{file} is analysed again as a new job; this one stays as it is.</source>
        <translation>{file}을(를) 새 작업으로 다시 분석합니다. 지금 작업은 그대로 남습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_retry_dialog.py" line="108" />
        <source>and</source>
        <translation>~</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_shortcuts_dialog.py" line="47" />
        <source>Keyboard shortcuts</source>
        <translation>단축키</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_shortcuts_dialog.py" line="50" />
        <source>Action</source>
        <translation>동작</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_shortcuts_dialog.py" line="50" />
        <source>Key</source>
        <translation>키</translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="320" />
        <source>%n speaker(s)</source>
        <translation><numerusform>화자 %n명</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="321" />
        <source>%n segment(s)</source>
        <translation><numerusform>구간 %n개</numerusform></translation>
    </message>
</context>
<context>
    <name>FeaturePlots</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="110" />
        <source>Pitch</source>
        <translation>음높이</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="110" />
        <source>Loudness</source>
        <translation>음량</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="113" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_plots.py" line="115" />
        <source>Loudness and pitch: not measured</source>
        <translation>음량과 음높이: 측정되지 않음</translation>
    </message>
</context>
<context>
    <name>PlayerPanel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="121" />
        <source>−5 s</source>
        <translation>−5초</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="122" />
        <source>+5 s</source>
        <translation>+5초</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="123" />
        <source>Playback speed</source>
        <translation>재생 속도</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="124" />
        <source>Volume</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="125" />
        <source>Vol.</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="126" />
        <source>Follow</source>
        <translation>따라가기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="127" />
        <source>Keep the word being played in view</source>
        <translation>재생 중인 단어를 화면에 계속 표시</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="153" />
        <source>No video for this job</source>
        <translation>이 작업에는 동영상이 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="181" />
        <source>Audio only</source>
        <translation>소리만 있음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="137" />
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="227" />
        <source>Pause</source>
        <translation>일시정지</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="137" />
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="227" />
        <source>Play</source>
        <translation>재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="245" />
        <source>The video cannot be played</source>
        <translation>동영상을 재생할 수 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_player.py" line="250" />
        <source>The video cannot be played: %s</source>
        <translation>동영상을 재생할 수 없습니다: %s</translation>
    </message>
</context>
<context>
    <name>QtJobModel</name>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="65" />
        <source>File</source>
        <translation>파일</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="66" />
        <source>Size</source>
        <translation>크기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="67" />
        <source>Duration</source>
        <translation>길이</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="68" />
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="69" />
        <source>Progress</source>
        <translation>진행</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="70" />
        <source>Speakers</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="71" />
        <source>Created</source>
        <translation>생성</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="72" />
        <source>Updated</source>
        <translation>갱신</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="73" />
        <source>Owner</source>
        <translation>소유자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="76" />
        <source>Queued</source>
        <translation>대기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="77" />
        <source>Uploading</source>
        <translation>업로드 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="78" />
        <source>Uploaded</source>
        <translation>업로드됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="79" />
        <source>Sending to ML server</source>
        <translation>ML 서버로 전송 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="80" />
        <source>Analysing</source>
        <translation>분석 중</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="81" />
        <source>Done</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="84" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="430" />
        <source>Completed</source>
        <translation>완료</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="85" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="431" />
        <source>Failed</source>
        <translation>실패</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="86" />
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="432" />
        <source>Canceled</source>
        <translation>취소됨</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="426" />
        <source>All</source>
        <translation>전체</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/qt_job_model.py" line="427" />
        <source>Active</source>
        <translation>진행 중</translation>
    </message>
</context>
<context>
    <name>ReviewEdits</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="94" />
        <source>%s merged into %s</source>
        <translation>%s을(를) %s(으)로 합침</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="102" />
        <source>Segment text</source>
        <translation>구간 글</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="105" />
        <source>Split segment</source>
        <translation>구간 나누기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="108" />
        <source>Join segments</source>
        <translation>구간 합치기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="113" />
        <source>Speaker of a word</source>
        <translation>단어의 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="117" />
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="125" />
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="282" />
        <source>Segment times</source>
        <translation>구간 시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="121" />
        <source>Word times</source>
        <translation>단어 시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="131" />
        <source>Not changed: %s</source>
        <translation>바뀌지 않음: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="196" />
        <source>The transcript changed elsewhere: the edits made before cannot be undone.</source>
        <translation>다른 곳에서 전사 결과가 바뀌었습니다: 그 전의 수정은 되돌릴 수 없습니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="223" />
        <source>Play from this word</source>
        <translation>이 단어부터 재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="226" />
        <source>Play this segment</source>
        <translation>이 구간 재생</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="229" />
        <source>Correct word…</source>
        <translation>단어 고치기…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="230" />
        <source>Edit segment text…</source>
        <translation>구간 글 고치기…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="233" />
        <source>Split before this word</source>
        <translation>이 단어 앞에서 나누기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="235" />
        <source>Join with the next segment</source>
        <translation>다음 구간과 합치기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="236" />
        <source>Segment times…</source>
        <translation>구간 시간…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="238" />
        <source>Word times…</source>
        <translation>단어 시간…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="240" />
        <source>Speaker of this segment</source>
        <translation>이 구간의 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="243" />
        <source>Speaker of this word</source>
        <translation>이 단어의 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="255" />
        <source>New speaker</source>
        <translation>새 화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="266" />
        <source>Correct word</source>
        <translation>단어 고치기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="267" />
        <source>Word:</source>
        <translation>단어:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="57" />
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="274" />
        <source>Edit segment text</source>
        <translation>구간 글 고치기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="53" />
        <source>Move the segment's start</source>
        <translation>구간 시작 옮기기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="54" />
        <source>Move the segment's end</source>
        <translation>구간 끝 옮기기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="275" />
        <source>Words that still match keep their times; new ones share the time of those they replace.</source>
        <translation>그대로인 단어는 시간을 유지하고, 새 단어는 바뀐 단어들의 시간을 나눠 씁니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_edits.py" line="288" />
        <source>Times of “%s”</source>
        <translation>“%s”의 시간</translation>
    </message>
</context>
<context>
    <name>ReviewPane</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="123" />
        <source>Plain words</source>
        <translation>색 없음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="124" />
        <source>Colour by loudness</source>
        <translation>음량으로 색칠</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="125" />
        <source>Colour by pitch</source>
        <translation>음높이로 색칠</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="217" />
        <source>Redo</source>
        <translation>다시 실행</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="135" />
        <source>Pitch and loudness over time appear here for the transcript shown</source>
        <translation>표시된 대본의 시간별 음높이와 음량이 여기에 나타납니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="138" />
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="309" />
        <source>Select a completed job to review its transcript</source>
        <translation>완료된 작업을 선택하면 전사 결과를 검토할 수 있습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="154" />
        <source>The server sent placeholder loudness and pitch values: they are shown as “not measured”.</source>
        <translation>서버가 음량과 음높이 대신 고정값을 보냈습니다: “측정되지 않음”으로 표시합니다.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="214" />
        <source>Undo the last edit</source>
        <translation>마지막 수정 되돌리기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="243" />
        <source>Loading %s…</source>
        <translation>%s 불러오는 중…</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="249" />
        <source>The transcript cannot be loaded: %s</source>
        <translation>전사 결과를 불러올 수 없습니다: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="273" />
        <source>%s failed: %s</source>
        <translation>%s 실패: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="275" />
        <source>%s was canceled</source>
        <translation>%s 작업이 취소되었습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="276" />
        <source>%s has no transcript yet</source>
        <translation>%s에는 아직 전사 결과가 없습니다</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="437" />
        <source>The edit could not be saved: %s</source>
        <translation>수정 내용을 저장하지 못했습니다: %s</translation>
    </message>
</context>
<context>
    <name>SearchBar</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="58" />
        <source>Find in transcript</source>
        <translation>전사 결과에서 찾기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="59" />
        <source>Aa</source>
        <translation>Aa</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="60" />
        <source>Match case</source>
        <translation>대소문자 구분</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="61" />
        <source>Whole words</source>
        <translation>단어 단위</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="62" />
        <source>Filter</source>
        <translation>걸러 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="63" />
        <source>Show only the segments that match</source>
        <translation>일치하는 구간만 보기</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="64" />
        <source>Previous match (Shift+Enter)</source>
        <translation>이전 항목 (Shift+Enter)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="65" />
        <source>Next match (Enter)</source>
        <translation>다음 항목 (Enter)</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="69" />
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="95" />
        <source>No matches</source>
        <translation>일치 없음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="69" />
        <location filename="../../ecg_desktop/gui/review/qt_search.py" line="98" />
        <source>%s of %d</source>
        <translation>%s / %d</translation>
    </message>
</context>
<context>
    <name>SegmentDelegate</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="258" />
        <source>Loudness, pitch: not measured by the server</source>
        <translation>음량, 음높이: 서버가 측정하지 않음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="260" />
        <source>Loudness: %s</source>
        <translation>음량: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="262" />
        <source>unvoiced</source>
        <translation>무성음</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="263" />
        <source>Pitch: %s</source>
        <translation>음높이: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="264" />
        <source>Spectral centroid: %s</source>
        <translation>스펙트럼 중심: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="266" />
        <source>Confidence: %s</source>
        <translation>신뢰도: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_delegate.py" line="268" />
        <source>Edited by you</source>
        <translation>직접 고침</translation>
    </message>
</context>
<context>
    <name>SegmentTableModel</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="77" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="77" />
        <source>Speaker</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_segment_model.py" line="77" />
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
<context>
    <name>TimesDialog</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_times_dialog.py" line="31" />
        <source>Start:</source>
        <translation>시작:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_times_dialog.py" line="32" />
        <source>End:</source>
        <translation>끝:</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_times_dialog.py" line="41" />
        <source>Type times as 01:15.500 or 75.5 (seconds).</source>
        <translation>시간은 01:15.500 또는 75.5(초)처럼 입력하세요.</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_times_dialog.py" line="44" />
        <source>The end must come after the start.</source>
        <translation>끝은 시작보다 뒤여야 합니다.</translation>
    </message>
</context>
<context>
    <name>UndoButton</name>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_undo_button.py" line="26" />
        <source>Redo</source>
        <translation>다시 실행</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_undo_button.py" line="27" />
        <source>Redo %s</source>
        <translation>다시 실행: %s</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_undo_button.py" line="29" />
        <source>Undo</source>
        <translation>실행 취소</translation>
    </message>
    <message>
        <location filename="../../ecg_desktop/gui/review/qt_undo_button.py" line="30" />
        <source>Undo %s</source>
        <translation>되돌리기: %s</translation>
    </message>
</context>
</TS>