"""The desktop window (PySide6 on the qasync loop). See ``app.py`` for start and stop."""

from ._pyside_fix import keep_singletons_alive

keep_singletons_alive()  # before any signal is emitted; see _pyside_fix for why
