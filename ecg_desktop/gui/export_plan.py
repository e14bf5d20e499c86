"""Where an export from the window goes and in which format: the choices behind the save
dialog, without Qt, so they can be tested alone.

The user picks a file name and (maybe) a filter in the save dialog. A typed extension wins
over the filter; subtitles of several jobs become one file per job in the chosen folder.
The dialog opens in the default export folder from the settings, else in the folder of the
(first) video, else in the folder of the last export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ecg_desktop.app.exports import ExportFormat, file_name_for
from ecg_desktop.domain import Job

# Source texts of the save dialog's filters (the controller shows them translated).
FILTERS: dict[ExportFormat, str] = {
    ExportFormat.JSON: "JSON (*.json)",
    ExportFormat.CSV: "CSV, one row per word (*.csv)",
    ExportFormat.SRT: "SubRip subtitles (*.srt)",
    ExportFormat.VTT: "WebVTT subtitles (*.vtt)",
    ExportFormat.TXT: "Plain text (*.txt)",
}
ONE_FILE_PER_JOB = (ExportFormat.SRT, ExportFormat.VTT)


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What to write: ``target`` is a file, or a folder when ``per_job``."""

    fmt: ExportFormat
    target: Path
    per_job: bool

    @property
    def folder(self) -> Path:
        return self.target if self.per_job else self.target.parent


def start_folder(jobs: Sequence[Job], configured: str, last_used: str | None) -> Path:
    """Where the save dialog opens: the configured export folder, else the first video's
    folder (when it still exists), else the last folder used, else the home folder."""
    if configured:
        return Path(configured).expanduser()
    for job in jobs[:1]:
        if job.local_path and Path(job.local_path).parent.is_dir():
            return Path(job.local_path).parent
    return Path(last_used) if last_used else Path.home()


def suggested_path(jobs: Sequence[Job], folder: Path) -> Path:
    """The file name the save dialog proposes."""
    name = file_name_for(jobs[0], ExportFormat.JSON) if len(jobs) == 1 else "transcripts.json"
    return folder / name


def plan_export(job_count: int, path: str, chosen_filter: str,
                filter_texts: dict[ExportFormat, str] | None = None) -> ExportPlan:
    """The format and target for ``path`` typed or picked in the dialog; ``chosen_filter`` is
    the filter text shown (``filter_texts`` maps formats to it, the source texts by default)."""
    texts = filter_texts or FILTERS
    target = Path(path)
    typed = next((f for f in ExportFormat if f.extension == target.suffix.lower()), None)
    fmt = typed or next((f for f, text in texts.items() if text == chosen_filter),
                        ExportFormat.JSON)
    if job_count > 1 and fmt in ONE_FILE_PER_JOB:
        return ExportPlan(fmt, target.parent, per_job=True)
    if target.suffix.lower() != fmt.extension:
        target = target.with_suffix(fmt.extension)
    return ExportPlan(fmt, target, per_job=False)
