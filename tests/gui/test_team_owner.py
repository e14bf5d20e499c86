"""Team mode in the window: the owner column, the "my jobs / everyone's" filter, and a
question before deleting a job someone else added (real PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt

from ecg_desktop.domain import Job
from ecg_desktop.gui.qt_job_model import Column
from ecg_desktop.store import open_store
from tests.gui.conftest import AnsweringPrompts, Runner


def test_owner_column_mine_filter_and_deleting_someone_elses_job_asks_first(
    run: Runner, start_desktop: Callable[..., Any], prompts: AnsweringPrompts, peer: Any,
    postgres_url: str,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url, DATABASE_URL=postgres_url, ECG_USER="ana")
    window = desktop.window
    mine = Job.new(filename="my interview.mp4", owner="ana", host="ana-laptop")
    theirs = Job.new(filename="bo's meeting.mp4", owner="bo", host="bo-desktop")

    async def add_jobs() -> None:
        other = await open_store(postgres_url)  # another desktop of the team
        try:
            for job in (mine, theirs):
                await other.add(job)
        finally:
            await other.close()

    run(add_jobs())
    run.until(lambda: window.model.job(theirs.job_id) is not None
              and window.model.job(mine.job_id) is not None, timeout=20)
    row = window.model.row_of(theirs.job_id)
    assert row is not None
    owner_cell = window.model.index(row, Column.OWNER)
    assert owner_cell.data() == "bo"
    assert owner_cell.data(Qt.ItemDataRole.ToolTipRole) == "bo @ bo-desktop"

    proxy = window.queue.proxy
    assert proxy.rowCount() == 2
    window.owner_filter.setCurrentIndex(1)  # my jobs
    assert proxy.rowCount() == 1
    assert proxy.index(0, Column.FILE).data() == "my interview.mp4"
    window.owner_filter.setCurrentIndex(0)  # everyone's
    assert proxy.rowCount() == 2

    asked: list[Sequence[Job]] = []
    answer = [False]

    def confirm_delete_others(jobs: Sequence[Job]) -> bool:
        asked.append(jobs)
        return answer[0]

    prompts.confirm_delete_others = confirm_delete_others  # type: ignore[method-assign]
    assert window.queue.select_job(theirs.job_id)
    window.delete_selected()
    run(window.wait_idle())
    assert [j.job_id for j in asked[0]] == [theirs.job_id]
    assert window.model.job(theirs.job_id) is not None  # declined: kept

    answer[0] = True
    assert window.queue.select_job(theirs.job_id)
    window.delete_selected()
    run.until(lambda: window.model.job(theirs.job_id) is None, timeout=20)

    assert window.queue.select_job(mine.job_id)
    window.delete_selected()
    run.until(lambda: window.model.job(mine.job_id) is None, timeout=20)
    assert len(asked) == 2  # one's own job is deleted without that question
