"""Counts read as the language says them (Qt's %n plural forms): "1 file", "2 files" in
English, "파일 2개" in Korean, for every text with a count."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from ecg_desktop.gui.i18n import Translations, tr

TRANSLATIONS = Path(__file__).parents[2] / "resources" / "translations"


@pytest.fixture
def translations(qapp: QApplication) -> Iterator[Translations]:
    applied = Translations()
    yield applied
    applied.apply("en")


def test_english_counts_are_singular_and_plural(translations: Translations) -> None:
    translations.apply("en")
    assert tr("%n speaker(s)", "", 1) == "1 speaker"
    assert tr("%n speaker(s)", "", 2) == "2 speakers"
    assert tr("%n file(s) could not be added:", "", 1) == "1 file could not be added:"
    assert tr("%n file(s) could not be added:", "", 5) == "5 files could not be added:"
    assert tr("Copied %n job id(s)", "", 1) == "Copied 1 job id"


def test_korean_counts_use_the_counter_word(translations: Translations) -> None:
    translations.apply("ko")
    assert tr("%n speaker(s)", "", 1) == "화자 1명"
    assert tr("%n segment(s)", "", 12) == "구간 12개"
    assert tr("%n file(s) written to {folder}", "", 3).startswith("파일 3개")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_text_with_a_count_has_its_forms(language: str) -> None:
    tree = ET.parse(TRANSLATIONS / f"ecg_desktop_{language}.ts")
    plurals = [m for m in tree.iter("message") if m.get("numerus") == "yes"]
    assert len(plurals) >= 8
    for message in plurals:
        forms = [f.text or "" for f in message.iter("numerusform")]
        assert forms and "%n" in forms[-1], message.findtext("source")  # "1" may be "this"
        assert len(forms) == (2 if language == "en" else 1), message.findtext("source")


def test_no_count_is_written_with_an_s_in_brackets_outside_the_plural_forms() -> None:
    gui = Path(__file__).parents[2] / "ecg_desktop" / "gui"
    loose = re.compile(r"""tr\("[^"]*\{n\}[^"]*\(s\)""")
    offenders = [f"{p.name}: {m.group(0)}" for p in [*gui.glob("*.py"), *gui.glob("review/*.py")]
                 for m in loose.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []
