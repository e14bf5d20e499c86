"""``JobFeed``: the queue's jobs, from the store at start and from bus events after.

The newest page shows at once and the rest follows in pages. Events that arrive while the
first page is read are held and applied after it; later pages skip jobs an event has already
brought in (the event's state is the newer one).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt

from ecg_desktop.app.ports import JobQuery, JobStore
from ecg_desktop.app.team import shown_to
from ecg_desktop.domain import Event, Job, JobChanged, JobStatus

from .qt_job_model import Column, QtJobModel

FIRST_PAGE = 200  # shown at once; the rest follows in pages
PAGE = 2000
NOTIFIED = (JobStatus.COMPLETED, JobStatus.FAILED)


class JobFeed:
    def __init__(self, model: QtJobModel, on_job_ended: Callable[[Job], None]) -> None:
        """``on_job_ended`` hears of each job an event moves to completed or failed."""
        self.model = model
        self._on_job_ended = on_job_ended
        self._loading = False
        self._held: list[Event] = []

    async def load(self, store: JobStore, still_wanted: Callable[[], bool] = lambda: True,
                   *, viewer: str = "") -> None:
        """Show ``store``'s jobs (another member's than ``viewer``'s without their local
        paths, as team sync brings them); stops paging once ``still_wanted()`` turns false
        (the window let go of that store)."""
        self._loading = True
        try:
            page = [shown_to(j, viewer) for j in await store.list(JobQuery(limit=FIRST_PAGE))]
            self.model.set_jobs(page)
        finally:
            self._loading = False
            held, self._held = self._held, []
            for event in held:
                self.apply(event)
        offset, size = len(page), FIRST_PAGE
        while len(page) == size and still_wanted():  # a full page: there may be more
            size = PAGE
            page = [shown_to(j, viewer)
                    for j in await store.list(JobQuery(limit=size, offset=offset))]
            self.model.append_jobs(page)
            offset += len(page)
        if (self.model.sort_column, self.model.sort_order) != (
            Column.CREATED, Qt.SortOrder.DescendingOrder
        ):
            self.model.sort(self.model.sort_column, self.model.sort_order)

    def apply(self, event: Event) -> None:
        """A job event from the bus: into the model (held while the first page loads)."""
        if self._loading:
            self._held.append(event)
            return
        if not isinstance(event, JobChanged):
            self.model.apply_event(event)
            return
        before = self.model.job(event.job.job_id)
        self.model.upsert(event.job)
        if event.job.status in NOTIFIED and (before is None
                                             or before.status != event.job.status):
            self._on_job_ended(event.job)
