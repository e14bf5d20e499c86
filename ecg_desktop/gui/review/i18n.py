"""The review pane's Korean texts: ``translations/review_ko.qm`` (built from
``translations/review_ko.ts`` by ``translations/update.sh``), installed next to the main
window's translator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTranslator

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def review_translator(language: str) -> QTranslator | None:
    """A loaded translator for ``language`` ("ko"), or ``None`` for English or if missing."""
    if language in ("", "en"):
        return None
    translator = QTranslator()
    if translator.load(f"review_{language}", str(TRANSLATIONS_DIR)):
        return translator
    return None
