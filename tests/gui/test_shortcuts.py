"""Keyboard shortcuts: no key is claimed twice in the window (with the transcript pane in it),
every key the docs name does what they say, and Help → Keyboard shortcuts lists them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from ecg_desktop.app.bus import EventBus
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job
from ecg_desktop.gui.qt_main_window import QtMainWindow
from ecg_desktop.gui.qt_shortcuts_dialog import QtShortcutsDialog, shortcut_rows
from ecg_desktop.gui.qt_window_actions import Binding, ambiguous, bindings
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.store import SqlJobStore, open_store
from tests.gui.conftest import Runner
from tests.store.helpers import make_result, record

DOCS = Path(__file__).parents[2] / "docs"
KEY = re.compile(r"\b(?:(?:Ctrl|Alt|Shift|Meta)\+)+(?:[A-Z0-9]\b|F\d{1,2}\b|[.,/]|Left|Right|Up|"
                 r"Down|Enter|Return|Space|Tab|Delete|Home|End)|\bF\d{1,2}\b")


def keys_named_in(doc: str) -> set[str]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return {QKeySequence(k).toString(QKeySequence.SequenceFormat.PortableText)
            for k in KEY.findall(text)}


@pytest.fixture
def store(run: Runner, tmp_path: Path) -> Iterator[SqlJobStore]:
    opened = run(open_store(f"sqlite:///{tmp_path / 'jobs.db'}"))
    yield opened
    run(opened.close())


@pytest.fixture
def window(qtbot: QtBot, qsettings: QSettings, store: SqlJobStore) -> QtMainWindow:
    """The window with the transcript pane beside the queue, as the app shows it."""
    shown = QtMainWindow(Settings(), qsettings=qsettings)
    qtbot.addWidget(shown)
    shown.attach_review_pane(ReviewPane(SimpleNamespace(store=store, bus=EventBus())))
    shown.resize(1400, 800)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def _answering(found: list[Binding], key: str) -> list[Binding]:
    return [b for b in found if b.key == key]


def test_no_two_actions_or_shortcuts_share_a_key(window: QtMainWindow) -> None:
    found = bindings(window, enabled_only=False)  # disabled ones become enabled later
    assert len(found) > 20
    clashes = [(a.key, a.text, b.text) for a, b in ambiguous(found)]
    assert clashes == []


@pytest.mark.parametrize("doc", ["gui.md", "review.md"])
def test_every_key_the_docs_name_is_bound_once(window: QtMainWindow, doc: str) -> None:
    found = bindings(window, enabled_only=False)
    named = keys_named_in(doc)
    assert named, f"{doc} names no keys"
    for key in sorted(named):
        answering = _answering(found, key)
        clashes = [(a.text, b.text) for a, b in ambiguous(answering)]
        assert clashes == [], f"{key} in {doc} is ambiguous: {clashes}"
        if doc == "gui.md":  # the window's keys; the transcript's may be plain key presses
            assert answering, f"{key} is named in {doc} but bound to nothing"


def test_ctrl_f_finds_in_the_transcript_and_ctrl_l_filters_jobs(
    run: Runner, qtbot: QtBot, window: QtMainWindow, store: SqlJobStore,
) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    QTest.keySequence(window, QKeySequence("Ctrl+F"))  # no transcript shown: the job filter
    assert window.search.hasFocus()

    job = Job.new(filename="talk.mp4")
    run(store.add(job))
    run(store.update(job.job_id, lambda j: j.start_dispatch()))
    run(store.update(job.job_id, lambda j: j.complete(2), result=record(make_result())))
    pane = window.review_pane
    assert pane is not None
    run(pane.show_job(run(store.get(job.job_id))))
    run(asyncio.sleep(0.05))

    QTest.keySequence(window, QKeySequence("Ctrl+F"))
    assert pane.search.field.hasFocus()
    QTest.keySequence(window, QKeySequence("Ctrl+L"))
    assert window.search.hasFocus()


def test_help_lists_every_window_action_with_its_key(
    qtbot: QtBot, window: QtMainWindow,
) -> None:
    rows = dict(shortcut_rows(window))
    native = QKeySequence.SequenceFormat.NativeText
    assert rows["Find in transcript"] == QKeySequence("Ctrl+F").toString(native)
    assert rows["Filter jobs"] == QKeySequence("Ctrl+L").toString(native)
    assert rows["Analyse again with"] == QKeySequence("Ctrl+Shift+R").toString(native)
    assert "Undo the last edit" in rows  # the transcript pane's own keys too
    assert rows["Move the segment's start"] == ", ".join(
        QKeySequence(k).toString(native) for k in ("Alt+Left", "Alt+Right"))
    dialog = QtShortcutsDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == len(shortcut_rows(window))  # a row per key
    help_menu = window.menus["&Help"]
    assert window.actions_by_name["shortcuts"] in help_menu.actions()
