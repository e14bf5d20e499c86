"""``ExportController``: Job → Export… asks where (``export_plan`` decides the format and the
files), writes in the background with the subtitle settings, and says where the files went,
with a button that opens their folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings

from ecg_desktop.app.exports import export_jobs
from ecg_desktop.app.ports import JobStore
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job, JobStatus

from .export_plan import FILTERS, ExportPlan, plan_export, start_folder, suggested_path
from .i18n import tr
from .prompts import Prompts
from .tasks import Tasks

logger = logging.getLogger(__name__)
LAST_FOLDER = "export/lastFolder"


def _mark_filters() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("JSON (*.json)")
    tr("CSV, one row per word (*.csv)")
    tr("SubRip subtitles (*.srt)")
    tr("WebVTT subtitles (*.vtt)")
    tr("Plain text (*.txt)")


class ExportController:
    def __init__(self, tasks: Tasks, qsettings: QSettings, *,
                 prompts: Callable[[], Prompts]) -> None:
        self._tasks = tasks
        self._qsettings = qsettings
        self._prompts = prompts

    def export(self, store: JobStore, jobs: Sequence[Job], settings: Settings) -> None:
        """Ask where to export the completed ones of ``jobs``, then write them."""
        jobs = [j for j in jobs if j.status == JobStatus.COMPLETED]
        if not jobs:
            return
        filters = {fmt: tr(text) for fmt, text in FILTERS.items()}
        last = self._qsettings.value(LAST_FOLDER)
        folder = start_folder(jobs, settings.export_folder, str(last) if last else None)
        path, chosen = self._prompts().ask_save_path(
            tr("Export transcripts"), str(suggested_path(jobs, folder)), list(filters.values()))
        if not path:
            return
        plan = plan_export(len(jobs), path, chosen, filters)
        self._qsettings.setValue(LAST_FOLDER, str(plan.folder))
        self._tasks.spawn(self._write(store, jobs, plan, settings))

    async def _write(self, store: JobStore, jobs: Sequence[Job], plan: ExportPlan,
                     settings: Settings) -> list[Path]:
        try:
            written = await export_jobs(store, [j.job_id for j in jobs], plan.fmt, plan.target,
                                        subtitles=subtitle_options(settings))
        except Exception as exc:
            logger.warning("export to %s failed: %s", plan.target, exc)
            self._tasks.ask_later(self._prompts().show_error, tr("Export failed"), str(exc))
            return []
        if written:
            self._tasks.ask_later(self._prompts().show_exported, written)
        return written


def subtitle_options(settings: Settings) -> dict[str, float]:
    """The subtitle settings as ``exports.subtitle_cues`` takes them."""
    return {
        "max_line_chars": settings.subtitle_line_length,
        "max_lines": settings.subtitle_lines,
        "max_seconds": settings.subtitle_max_duration,
    }
