"""The main window's toolbar: Add videos, the language of new videos, and the queue's
filters (everyone's or my jobs, status, text). Ctrl+L goes to the text filter."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QSizePolicy, QToolBar, QWidget

from .i18n import tr
from .qt_job_model import STATUS_GROUPS, marked

LANGUAGE_NAMES = {
    "auto": "Detect automatically", "ko": "Korean", "en": "English", "ja": "Japanese",
    "zh": "Chinese",
}


def _mark_languages() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("Detect automatically")
    tr("Korean")
    tr("English")
    tr("Japanese")
    tr("Chinese")


def language_text(code: str) -> str:
    """"Korean (ko)": the language's name in the UI language, and its code."""
    name = LANGUAGE_NAMES.get(code)
    return f"{tr(name)} ({code})" if name else code


class QtQueueToolbar(QToolBar):
    def __init__(self, add_action: QAction, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addAction(add_action)
        self.language_label = QLabel(self)
        self.language_box = QComboBox(self)
        self.language_box.setObjectName("languageBox")
        self.language_label.setBuddy(self.language_box)
        self.addSeparator()
        self.addWidget(self.language_label)
        self.addWidget(self.language_box)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.owner_filter = QComboBox(self)  # team mode: my jobs or everyone's
        self.owner_filter.setObjectName("ownerFilter")
        self.owner_filter.addItem("", "everyone")
        self.owner_filter.addItem("", "mine")
        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        for name in STATUS_GROUPS:
            self.status_filter.addItem(name, name)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(220)
        for widget in (self.owner_filter, self.status_filter, self.search):
            self.addWidget(widget)

    def set_language(self, code: str, offered: Sequence[str]) -> None:
        """Offer the languages ``offered`` (those the installed models know) and select
        ``code``."""
        box = self.language_box
        if [box.itemData(i) for i in range(box.count())] != list(offered):
            box.clear()
            for item in offered:
                box.addItem(language_text(item), item)
        box.setCurrentIndex(max(box.findData(code), 0))

    def retranslate(self) -> None:
        self.language_label.setText(tr("  &Language of new videos: "))
        for i in range(self.language_box.count()):
            code = self.language_box.itemData(i)
            self.language_box.setItemText(i, language_text(code))
        for i in range(self.status_filter.count()):
            self.status_filter.setItemText(i, marked(self.status_filter.itemData(i)))
        self.status_filter.setToolTip(tr("Show jobs by status"))
        self.owner_filter.setItemText(0, tr("Everyone's jobs"))
        self.owner_filter.setItemText(1, tr("My jobs"))
        self.owner_filter.setToolTip(tr("Show the jobs you added, or everyone's"))
        self.search.setPlaceholderText(tr("Filter by file name or job id (Ctrl+L)"))
