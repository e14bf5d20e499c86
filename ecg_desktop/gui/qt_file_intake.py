"""``FileIntake``: videos the user drops, pastes or picks become jobs.

Each batch is sorted first (``adding.sort_paths``: non-videos, empty and missing files are
refused, duplicates asked about), then each video is checked and queued by the pipeline,
which refuses files FFmpeg cannot use (no sound track, damaged). Everything refused in a batch
is told once, in one summary. A refusal is the user's file, not a program error: it is logged
at INFO, without a traceback. Before the services are up, videos wait in ``pending``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from ecg_desktop.app.ports import InvalidInputFile
from ecg_desktop.bootstrap import language_problem
from ecg_desktop.config import Settings

from .adding import Refused, paths_from_text, refusal_of, sort_paths
from .i18n import tr
from .prompts import Prompts
from .qt_job_model import QtJobModel
from .services import WindowCore
from .tasks import Tasks

logger = logging.getLogger(__name__)

FILE_FILTER = ("Videos and sound (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv "
               "*.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;"
               "All files (*)")


class FileIntake:
    def __init__(self, parent: QWidget, model: QtJobModel, status: QStatusBar, tasks: Tasks,
                 qsettings: QSettings, *, core: Callable[[], WindowCore | None],
                 prompts: Callable[[], Prompts], settings: Callable[[], Settings]) -> None:
        self._parent = parent
        self._model = model
        self._status = status
        self._tasks = tasks
        self._qsettings = qsettings
        self._core = core
        self._prompts = prompts
        self._settings = settings
        self.pending: list[tuple[Path, str]] = []

    def add_paths(self, paths: Iterable[Path], language: str) -> list[Path]:
        """Check ``paths`` (refusing non-videos, asking about duplicates) and submit the
        videos; returns the videos submitted or waiting for the services."""
        batch = sort_paths(list(paths), self._model.queued_paths()
                           + [str(p) for p, _ in self.pending])
        videos = list(batch.videos)
        if batch.duplicates and self._prompts().confirm_duplicates(batch.duplicates):
            videos += batch.duplicates
        core = self._core()
        if core is None or not videos:
            if batch.refused:
                self._prompts().show_refused(batch.refused)
            if videos:
                self.pending += [(path, language) for path in videos]
                self._status.showMessage(tr(
                    "%n video(s) will start when the services are ready", "", len(videos)), 5000)
            return videos
        self._tasks.spawn(self.submit(core, videos, language, batch.refused))
        return videos

    def submit_pending(self, core: WindowCore) -> None:
        """The services are up: queue the videos that waited for them."""
        waiting, self.pending = self.pending, []
        for language in dict.fromkeys(lang for _, lang in waiting):
            paths = [path for path, lang in waiting if lang == language]
            self._tasks.spawn(self.submit(core, paths, language))

    async def submit(self, core: WindowCore, videos: Sequence[Path], language: str,
                     refused: Sequence[Refused] = ()) -> None:
        """Queue each video; one summary of the batch's refusals at the end."""
        refused = list(refused)
        speakers = self._settings()
        # never upload a video only for the analyzer to fail it for want of a model
        if videos and (problem := await asyncio.to_thread(
                language_problem, self._settings(), language)):
            refused += [Refused(path, "no_model", problem) for path in videos]
            videos = []
        for path in videos:
            try:
                job = await core.pipeline.submit_file(
                    path, language,
                    min_speakers=speakers.min_speakers or None,
                    max_speakers=speakers.max_speakers or None)
            except InvalidInputFile as exc:
                logger.info("refused %s: %s", path, exc.problem)
                refused.append(refusal_of(path, exc.problem))
                continue
            except Exception as exc:
                logger.warning("could not queue %s: %s", path, exc)
                self._tasks.ask_later(self._prompts().show_error, tr("Could not add a video"),
                                      f"{path.name}: {exc}")
                continue
            self._model.upsert(job)
        if refused:
            self._tasks.ask_later(self._prompts().show_refused, refused)

    # -- where paths come from -------------------------------------------------------------

    def choose_files(self) -> list[Path]:
        folder = str(self._qsettings.value("add/lastFolder", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(self._parent, tr("Add videos"), folder,
                                                tr(FILE_FILTER))
        if files:
            self._qsettings.setValue("add/lastFolder", str(Path(files[0]).parent))
        return [Path(f) for f in files]

    def choose_folder(self) -> list[Path]:
        folder = str(self._qsettings.value("add/lastFolder", str(Path.home())))
        chosen = QFileDialog.getExistingDirectory(self._parent, tr("Add a folder of videos"),
                                                  folder)
        if chosen:
            self._qsettings.setValue("add/lastFolder", chosen)
        return [Path(chosen)] if chosen else []

    def pasted_paths(self) -> list[Path]:
        mime = QGuiApplication.clipboard().mimeData()
        paths = paths_from_mime(mime) if mime is not None else []
        if not paths:
            self._status.showMessage(tr("The clipboard holds no file paths"), 4000)
        return paths


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """Local files dropped or pasted: URLs, or absolute paths as text."""
    if mime.hasUrls():
        return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    if mime.hasText():
        return [p for p in paths_from_text(mime.text()) if p.is_absolute()]
    return []


def _mark_filter() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("Videos and sound (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv "
       "*.flv *.3gp *.ts *.mts *.ogv *.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus);;"
       "All files (*)")
