"""Review fixtures: a real SQLite job store with completed jobs, a qasync loop (Qt events
and asyncio tasks interleave as in the app) and the review pane over them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import Job, Transcript, normalize
from ecg_desktop.gui.i18n import Translations
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.store import SqlJobStore, open_store
from tests.qt_harness import gui_thread_gc, pytest_runtest_protocol  # noqa: F401

T = TypeVar("T")


class Runner:
    def __init__(self, app: QApplication) -> None:
        self.loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(self.loop)

    def __call__(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        result: T = self.loop.run_until_complete(asyncio.wait_for(coro, timeout))
        return result

    def until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        async def wait() -> None:
            while not condition():  # noqa: ASYNC110 - polls what the widgets show
                await asyncio.sleep(0.02)

        self(wait(), timeout)

    def close(self) -> None:
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def english(qapp: QApplication) -> Iterator[None]:
    """English as the app installs it: the plural forms ("1 speaker") come from a translator."""
    translations = Translations()
    translations.apply("en")
    yield
    translations.apply("en")


@pytest.fixture
def run(qapp: QApplication) -> Iterator[Runner]:
    runner = Runner(qapp)
    yield runner
    runner.close()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
def store(run: Runner, store_url: str) -> Iterator[SqlJobStore]:
    opened = run(open_store(store_url))
    yield opened
    run(opened.close())


async def add_completed(
    store: SqlJobStore, raw: dict[str, Any], *, filename: str = "meeting.mp4",
    local_path: str | None = None,
) -> Job:
    """A job that went through the pipeline and completed with ``raw`` as its result."""
    job = Job.new(filename=filename, local_path=local_path)
    await store.add(job)
    await store.update(job.job_id, lambda j: j.start_dispatch())
    transcript = normalize(raw)
    await store.update(
        job.job_id, lambda j: j.complete(len(transcript.speaker_ids)),
        result=ResultRecord(raw, transcript),
    )
    return await store.get(job.job_id)


def stored_transcript(run: Runner, store: SqlJobStore, job_id: uuid.UUID) -> Transcript:
    """The job's transcript as the store has it now (the job has a result)."""
    transcript = run(store.get_transcript(job_id))
    assert transcript is not None
    return transcript


@pytest.fixture
def core(store: SqlJobStore) -> SimpleNamespace:
    """What the pane needs of the app's Core: the job store and the event bus."""
    return SimpleNamespace(store=store, bus=EventBus())


def job_ids(*jobs: Job) -> list[uuid.UUID]:
    return [job.job_id for job in jobs]


def shown_pane(qtbot: QtBot, core: SimpleNamespace, width: int, height: int) -> ReviewPane:
    """A review pane over ``core``, shown at ``width`` x ``height`` and exposed."""
    pane = ReviewPane(core)
    qtbot.addWidget(pane)
    pane.resize(width, height)
    pane.show()
    qtbot.waitExposed(pane)
    return pane
