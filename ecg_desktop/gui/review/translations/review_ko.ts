<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="ko_KR">
<context>
    <name>FeaturePlots</name>
    <message>
        <location filename="../qt_plots.py" line="64" />
        <source>Pitch</source>
        <translation>음높이</translation>
    </message>
    <message>
        <location filename="../qt_plots.py" line="64" />
        <source>Loudness</source>
        <translation>음량</translation>
    </message>
    <message>
        <location filename="../qt_plots.py" line="67" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../qt_plots.py" line="69" />
        <source>Loudness and pitch: not measured</source>
        <translation>음량과 음높이: 측정되지 않음</translation>
    </message>
</context>
<context>
    <name>PlayerPanel</name>
    <message>
        <location filename="../qt_player.py" line="120" />
        <location filename="../qt_player.py" line="128" />
        <source>No video for this job</source>
        <translation>이 작업에는 동영상이 없습니다</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="112" />
        <source>−5 s</source>
        <translation>−5초</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="113" />
        <source>+5 s</source>
        <translation>+5초</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="114" />
        <source>Playback speed</source>
        <translation>재생 속도</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="115" />
        <source>Volume</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="117" />
        <source>Follow</source>
        <translation>따라가기</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="118" />
        <source>Keep the word being played in view</source>
        <translation>재생 중인 단어를 화면에 계속 표시</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="116" />
        <source>Vol.</source>
        <translation>볼륨</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="177" />
        <source>Pause</source>
        <translation>일시정지</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="177" />
        <source>Play</source>
        <translation>재생</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="190" />
        <source>The video cannot be played</source>
        <translation>동영상을 재생할 수 없습니다</translation>
    </message>
    <message>
        <location filename="../qt_player.py" line="195" />
        <source>The video cannot be played: %s</source>
        <translation>동영상을 재생할 수 없습니다: %s</translation>
    </message>
</context>
<context>
    <name>ReviewPane</name>
    <message>
        <location filename="../qt_review_pane.py" line="110" />
        <source>Plain words</source>
        <translation>색 없음</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="111" />
        <source>Colour by loudness</source>
        <translation>음량으로 색칠</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="112" />
        <source>Colour by pitch</source>
        <translation>음높이로 색칠</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="116" />
        <source>Undo</source>
        <translation>실행 취소</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="117" />
        <source>Redo</source>
        <translation>다시 실행</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="218" />
        <source>Loading %s…</source>
        <translation>%s 불러오는 중…</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="224" />
        <source>The transcript cannot be loaded: %s</source>
        <translation>전사 결과를 불러올 수 없습니다: %s</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="231" />
        <source>%s has no transcript yet</source>
        <translation>%s에는 아직 전사 결과가 없습니다</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="140" />
        <source>The server sent placeholder loudness and pitch values: they are shown as “not measured”.</source>
        <translation>서버가 음량과 음높이 대신 고정값을 보냈습니다: “측정되지 않음”으로 표시합니다.</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="123" />
        <source>Pitch and loudness over time appear here for the transcript shown</source>
        <translation>표시된 대본의 시간별 음높이와 음량이 여기에 나타납니다</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="126" />
        <location filename="../qt_review_pane.py" line="263" />
        <source>Select a completed job to review its transcript</source>
        <translation>완료된 작업을 선택하면 전사 결과를 검토할 수 있습니다</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="273" />
        <source>%d speakers</source>
        <translation>화자 %d명</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="274" />
        <source>%d segments</source>
        <translation>구간 %d개</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="407" />
        <source>Correct word…</source>
        <translation>단어 고치기…</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="408" />
        <source>Play from this word</source>
        <translation>이 단어부터 재생</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="411" />
        <source>Play this segment</source>
        <translation>이 구간 재생</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="412" />
        <source>Speaker of this segment</source>
        <translation>이 구간의 화자</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="420" />
        <source>New speaker</source>
        <translation>새 화자</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="433" />
        <source>Correct word</source>
        <translation>단어 고치기</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="433" />
        <source>Word:</source>
        <translation>단어:</translation>
    </message>
    <message>
        <location filename="../qt_review_pane.py" line="452" />
        <source>The edit could not be saved: %s</source>
        <translation>수정 내용을 저장하지 못했습니다: %s</translation>
    </message>
</context>
<context>
    <name>SearchBar</name>
    <message>
        <location filename="../qt_search.py" line="50" />
        <source>Find in transcript</source>
        <translation>전사 결과에서 찾기</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="51" />
        <source>Aa</source>
        <translation>Aa</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="52" />
        <source>Match case</source>
        <translation>대소문자 구분</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="53" />
        <source>Whole words</source>
        <translation>단어 단위</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="54" />
        <source>Filter</source>
        <translation>걸러 보기</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="55" />
        <source>Show only the segments that match</source>
        <translation>일치하는 구간만 보기</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="56" />
        <source>Previous match (Shift+Enter)</source>
        <translation>이전 항목 (Shift+Enter)</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="57" />
        <source>Next match (Enter)</source>
        <translation>다음 항목 (Enter)</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="82" />
        <source>No matches</source>
        <translation>일치 없음</translation>
    </message>
    <message>
        <location filename="../qt_search.py" line="85" />
        <source>%s of %d</source>
        <translation>%s / %d</translation>
    </message>
</context>
<context>
    <name>SegmentDelegate</name>
    <message>
        <location filename="../qt_segment_delegate.py" line="242" />
        <source>Loudness, pitch: not measured by the server</source>
        <translation>음량, 음높이: 서버가 측정하지 않음</translation>
    </message>
    <message>
        <location filename="../qt_segment_delegate.py" line="244" />
        <source>Loudness: %s</source>
        <translation>음량: %s</translation>
    </message>
    <message>
        <location filename="../qt_segment_delegate.py" line="246" />
        <source>unvoiced</source>
        <translation>무성음</translation>
    </message>
    <message>
        <location filename="../qt_segment_delegate.py" line="247" />
        <source>Pitch: %s</source>
        <translation>음높이: %s</translation>
    </message>
    <message>
        <location filename="../qt_segment_delegate.py" line="248" />
        <source>Spectral centroid: %s</source>
        <translation>스펙트럼 중심: %s</translation>
    </message>
    <message>
        <location filename="../qt_segment_delegate.py" line="250" />
        <source>Confidence: %s</source>
        <translation>신뢰도: %s</translation>
    </message>
</context>
<context>
    <name>SegmentTableModel</name>
    <message>
        <location filename="../qt_segment_model.py" line="76" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../qt_segment_model.py" line="76" />
        <source>Speaker</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../qt_segment_model.py" line="76" />
        <source>Text</source>
        <translation>내용</translation>
    </message>
</context>
<context>
    <name>SpeakerPanel</name>
    <message>
        <location filename="../qt_speakers.py" line="173" />
        <source>Rename…</source>
        <translation>이름 바꾸기…</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="174" />
        <source>Merge into…</source>
        <translation>다음 화자로 합치기…</translation>
    </message>
</context>
<context>
    <name>SpeakerTableModel</name>
    <message>
        <location filename="../qt_speakers.py" line="82" />
        <source>Speaker</source>
        <translation>화자</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="82" />
        <source>Time</source>
        <translation>시간</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="82" />
        <source>Share</source>
        <translation>비율</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="83" />
        <source>Mean pitch</source>
        <translation>평균 음높이</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="106" />
        <source>not measured</source>
        <translation>측정되지 않음</translation>
    </message>
    <message>
        <location filename="../qt_speakers.py" line="114" />
        <source>%s: %d segments, %d words</source>
        <translation>%s: 구간 %d개, 단어 %d개</translation>
    </message>
</context>
</TS>