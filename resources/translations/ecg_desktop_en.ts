<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="en_US">
<context>
    <name />
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/app.py" line="252" />
        <source>Connected to {where}: %n job(s).</source>
        <translation><numerusform>Connected to {where}: %n job.</numerusform><numerusform>Connected to {where}: %n jobs.</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="43" />
        <source>%n file(s) could not be added:</source>
        <translation><numerusform>%n file could not be added:</numerusform><numerusform>%n files could not be added:</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="46" />
        <source>… and %n more (see the details)</source>
        <translation><numerusform>… and %n more (see the details)</numerusform><numerusform>… and %n more (see the details)</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="72" />
        <source>%n file(s) written to {folder}</source>
        <translation><numerusform>%n file written to {folder}</numerusform><numerusform>%n files written to {folder}</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="95" />
        <source>Delete %n job(s), their results and their uploaded videos from storage?</source>
        <translation><numerusform>Delete this job, its result and its uploaded video from storage?</numerusform><numerusform>Delete %n jobs, their results and their uploaded videos from storage?</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/prompts.py" line="107" />
        <source>%n of these job(s) were added by someone else; deleting removes them for the whole team:</source>
        <translation><numerusform>%n of these jobs was added by someone else; deleting removes it for the whole team:</numerusform><numerusform>%n of these jobs were added by someone else; deleting removes them for the whole team:</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/qt_file_intake.py" line="68" />
        <source>%n video(s) will start when the services are ready</source>
        <translation><numerusform>%n video will start when the services are ready</numerusform><numerusform>%n videos will start when the services are ready</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/qt_main_window.py" line="384" />
        <source>Copied %n job id(s)</source>
        <translation><numerusform>Copied %n job id</numerusform><numerusform>Copied %n job ids</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="320" />
        <source>%n speaker(s)</source>
        <translation><numerusform>%n speaker</numerusform><numerusform>%n speakers</numerusform></translation>
    </message>
    <message numerus="yes">
        <location filename="../../ecg_desktop/gui/review/qt_review_pane.py" line="321" />
        <source>%n segment(s)</source>
        <translation><numerusform>%n segment</numerusform><numerusform>%n segments</numerusform></translation>
    </message>
</context>
</TS>