"""The singletons PySide6 6.12 under-counts survive what a long session does to them."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QStringListModel, Signal

import ecg_desktop.gui  # noqa: F401 - importing the GUI package applies the guard


class Emitter(QObject):
    fired = Signal()


def test_many_emits_and_empty_model_answers_do_not_use_up_true_or_none() -> None:
    emitter = Emitter()
    model = QStringListModel(["a"])
    true_refs, none_refs = sys.getrefcount(True), sys.getrefcount(None)

    for _ in range(20_000):  # without the guard the interpreter aborts long before this
        emitter.fired.emit()
        model.index(0, 0).data(9999)  # a role with no value: answers None

    assert sys.getrefcount(True) > 1 << 40 and sys.getrefcount(None) > 1 << 40
    if sys.version_info < (3, 12):  # the leak is real: the counts went down, not up
        assert sys.getrefcount(True) < true_refs and sys.getrefcount(None) < none_refs
