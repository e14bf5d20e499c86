"""The languages the app offers, and refusing a job that no installed model can recognise.

With an ML server of one's own (``MODEL_SERVER_URL``) that server decides: every language is
offered. With the bundled analyzer the language menus (the add bar, Settings, ``process
--language``) offer only the languages its installed models cover, and a job in another
language is refused before anything is uploaded, for the reason the analyzer itself would
give (``asr.language_problem``, asked with the environment the embedded analyzer gets).
"""

from __future__ import annotations

import os

from ecg_desktop.analyzer.whisper_models import covered_languages
from ecg_desktop.config import LANGUAGES, Settings

from .embedded import model_environment


def uses_bundled_analyzer(settings: Settings) -> bool:
    return not settings.model_server_url


def offered_languages(settings: Settings) -> tuple[str, ...]:
    """``auto`` and the menu's languages that the analyzer in use can recognise."""
    if not uses_bundled_analyzer(settings):
        return LANGUAGES
    covered = covered_languages(settings.models_dir)
    return tuple(code for code in LANGUAGES if code == "auto" or code in covered)


def language_problem(settings: Settings, language: str) -> str | None:
    """Why the bundled analyzer would fail a job in ``language`` for want of a model (what
    to download), or None when it would not, or when another ML server does the work."""
    if not uses_bundled_analyzer(settings):
        return None
    from ecg_desktop.analyzer import AnalyzerConfig, AnalyzerConfigError
    from ecg_desktop.analyzer.asr import language_problem as analyzer_problem

    try:
        config = AnalyzerConfig.from_env({**os.environ, **model_environment(settings)})
    except AnalyzerConfigError as exc:
        return str(exc)
    return analyzer_problem(language, config.backend_paths)
