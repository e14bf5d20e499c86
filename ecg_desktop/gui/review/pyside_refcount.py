"""A guard against a reference-count bug of PySide6 6.12.0 on Python 3.11.

Its bindings return ``None`` from every ``void`` C++ method without taking a new reference
(correct only where ``None`` is immortal, Python 3.12+). Each call such as
``QPainter.save()`` or ``QLabel.setText()`` therefore takes one reference away from ``None``;
a view that paints for a few seconds brings it to zero and the interpreter aborts with
"none_dealloc: deallocating None". (``True``/``False`` were seen to go the same way.)

``protect_singletons()`` gives these objects a reference count no session can use up, which
is what Python 3.12 does by making them immortal. It is idempotent and does nothing on 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 60
_SINGLETONS = (None, True, False, NotImplemented, Ellipsis)
_protected: list[bool] = []


def protect_singletons() -> None:
    if sys.version_info >= (3, 12) or _protected:
        return
    for singleton in _SINGLETONS:
        # ob_refcnt is the first field of every object in CPython's (non-debug) layout.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    _protected.append(True)
