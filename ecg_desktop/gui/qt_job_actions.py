"""``JobActionsController``: retry, "Analyse again with…", cancel and delete the selected jobs
through the pipeline, one job at a time, each failure told by job and logged once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtWidgets import QWidget

from ecg_desktop.bootstrap import offered_languages
from ecg_desktop.config import LANGUAGES
from ecg_desktop.domain import Job, JobStatus

from .i18n import tr
from .prompts import Prompts
from .qt_job_model import QtJobModel
from .qt_retry_dialog import QtRetryDialog, RetryChoice
from .services import WindowCore
from .tasks import Tasks

logger = logging.getLogger(__name__)
RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELED)


class JobActionsController:
    def __init__(self, parent: QWidget, model: QtJobModel, tasks: Tasks, *,
                 core: Callable[[], WindowCore | None], prompts: Callable[[], Prompts],
                 user_name: Callable[[], str]) -> None:
        self._parent = parent
        self._model = model
        self._tasks = tasks
        self._core = core
        self._prompts = prompts
        self._user_name = user_name
        self.retry_dialog: QtRetryDialog | None = None

    def retry(self, jobs: Sequence[Job]) -> None:
        """Retry the failed or canceled ones of ``jobs`` as they were asked."""
        core = self._core()
        todo = [j for j in jobs if j.status in RETRYABLE]
        if todo and core is not None:
            self._tasks.spawn(self._each(todo, core.pipeline.retry, tr("Could not retry")))

    def retry_with(self, job: Job | None) -> QtRetryDialog | None:
        """Ask for other settings (language, speakers, known transcript) and analyse ``job``
        again with them; returns the dialog (open, not modal)."""
        if job is None or not job.status.is_terminal or self._core() is None:
            return None
        core = self._core()
        languages = offered_languages(core.settings) if core is not None else LANGUAGES
        dialog = QtRetryDialog(job, self._parent, languages=languages)
        dialog.chosen.connect(lambda choice: self.analyse_again(job, choice))
        self.retry_dialog = dialog
        dialog.open()
        return dialog

    def analyse_again(self, job: Job, choice: RetryChoice) -> None:
        core = self._core()
        if core is None:
            return

        async def again(job_id: uuid.UUID) -> Job:
            return await core.pipeline.retry(job_id, language=choice.language,
                                             options=choice.options)

        self._tasks.spawn(self._each([job], again, tr("Could not analyse again")))

    def cancel(self, jobs: Sequence[Job]) -> None:
        core = self._core()
        todo = [j for j in jobs if not j.status.is_terminal]
        if todo and core is not None:
            self._tasks.spawn(self._each(todo, core.pipeline.cancel, tr("Could not cancel")))

    def delete(self, jobs: Sequence[Job]) -> None:
        core = self._core()
        if not jobs or core is None:
            return
        prompts = self._prompts()
        others = [j for j in jobs if j.owner and j.owner != self._user_name()]
        if others and not prompts.confirm_delete_others(others):
            return
        if not prompts.confirm_delete(jobs):
            return
        pipeline = core.pipeline

        async def delete(job_id: uuid.UUID) -> None:
            await pipeline.delete(job_id, delete_object=True)

        self._tasks.spawn(self._each(jobs, delete, tr("Could not delete")))

    async def _each(self, jobs: Sequence[Job],
                    call: Callable[[uuid.UUID], Coroutine[Any, Any, Any]], title: str) -> None:
        for job in jobs:
            try:
                outcome = await call(job.job_id)
            except Exception as exc:
                logger.warning("%s %s: %s", title, job.job_id, exc)
                self._tasks.ask_later(self._prompts().show_error, title,
                                      f"{job.filename}: {exc}")
                continue
            if isinstance(outcome, Job):
                self._model.upsert(outcome)
