"""Light and dark: follow the system's colour scheme (Qt 6 ``QStyleHints.colorScheme``).

Fusion draws both; where the platform reports a dark scheme but hands out a light palette
(common on Linux), we give Fusion a dark palette ourselves. ``ECG_COLOR_SCHEME=dark|light``
overrides the system (for screenshots and for people who want it).
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


def _dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor("#2b2d31"), QColor("#1e1f22"), QColor("#e6e6e6")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#26282c"),
        QPalette.ColorRole.ToolTipBase: QColor("#3a3d42"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8d9199"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#35373c"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Highlight: QColor("#3d7bd9"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#6fa8ff"),
        QPalette.ColorRole.Mid: QColor("#44474d"),
        QPalette.ColorRole.Dark: QColor("#1a1b1e"),
        QPalette.ColorRole.Light: QColor("#4a4d53"),
    }
    for role, color in roles.items():
        palette.setColor(role, color)
    disabled = QColor("#7a7d83")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def current_scheme() -> str:
    forced = os.environ.get("ECG_COLOR_SCHEME", "").lower()
    if forced in ("dark", "light"):
        return forced
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication) -> str:
    """Style the application for the current scheme; returns "light" or "dark"."""
    app.setStyle("Fusion")
    scheme = current_scheme()
    app.setPalette(_dark_palette() if scheme == "dark" else app.style().standardPalette())
    return scheme


def follow_system(app: QApplication) -> None:
    """Re-style when the system switches between light and dark."""
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
