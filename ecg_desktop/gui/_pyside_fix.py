"""A guard against reference-count bugs in PySide6 6.12 (shiboken6 6.12.0):

- ``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so every
  signal emitted from Python (ours, the review pane's, qasync's thread-safe wake-ups) drops
  one reference to ``True``;
- ``QModelIndex.data(role)`` drops a reference to ``None`` whenever the answer is empty.

After a few hundred such calls the interpreter deallocates ``True`` or ``None`` and aborts
("Fatal Python error: bool_dealloc" / "none_dealloc"). CPython 3.12 makes these singletons
immortal; on 3.11 we give them a reference count so large that no session can use it up,
which is what immortality means. ``tests/gui/test_pyside_fix.py`` shows both leaks.
"""

from __future__ import annotations

import ctypes
import sys

_MANY = 1 << 48


def keep_singletons_alive() -> None:
    if sys.version_info >= (3, 12):
        return  # immortal already
    for value in (True, False, None):
        count = ctypes.c_ssize_t.from_address(id(value))
        if count.value < _MANY:
            count.value += _MANY
