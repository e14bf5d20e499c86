"""The UI language: English (the source strings) or Korean (``ecg_desktop_ko.qm``).

An empty choice follows the system locale. Switching installs a new translator; Qt then
sends every widget a ``LanguageChange`` event and they re-read their texts.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from .resources import translations_dir

logger = logging.getLogger(__name__)

UI_LANGUAGES = {"": "System", "en": "English", "ko": "한국어"}


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """``text`` in the UI language (a call pyside6-lupdate files under the context "").

    With ``n`` (write ``tr("%n file(s)", "", n)``, the form lupdate reads as a plural) ``%n``
    becomes ``n``, in the plural form the UI language uses for it (Qt's numerus forms: "1
    file", "2 files", "파일 2개"). English plurals come from ``ecg_desktop_en.qm``, which holds
    only these forms."""
    return QCoreApplication.translate("", text, disambiguation or None, n)


def trn(text: str, n: int) -> str:
    """``tr(text, "", n)``; pyside6-lupdate does not read this name, so new code writes
    ``tr(text, "", n)``."""
    return tr(text, "", n)


def resolve_language(choice: str) -> str:
    """``choice`` ("", "en", "ko") as the language actually used."""
    if choice in ("en", "ko"):
        return choice
    system = QLocale.system().name().split("_")[0]
    return "ko" if system == "ko" else "en"


class Translations:
    """Owns the installed translators so they can be swapped at run time."""

    def __init__(self) -> None:
        self._installed: list[QTranslator] = []
        self.language = "en"

    def apply(self, choice: str) -> str:
        """Install the translators for ``choice``; returns the language now in use."""
        app = QCoreApplication.instance()
        assert app is not None, "a QApplication must exist"
        for translator in self._installed:
            app.removeTranslator(translator)
        self._installed.clear()
        self.language = resolve_language(choice)
        ours = QTranslator()
        if ours.load(f"ecg_desktop_{self.language}", str(translations_dir())):
            self._installed.append(ours)
        else:
            logger.warning("no %s translation in %s", self.language, translations_dir())
        if self.language == "en":  # the source texts, with their plural forms
            self._install(app)
            return self.language
        qt_base = QTranslator()
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_base.load(f"qtbase_{self.language}", qt_dir):
            self._installed.append(qt_base)
        self._install(app)
        return self.language

    def _install(self, app: QCoreApplication) -> None:
        for translator in self._installed:
            app.installTranslator(translator)

    @property
    def loaded(self) -> bool:
        """Whether a translation of the texts (not only of their plurals) is installed."""
        return self.language != "en" and bool(self._installed)
