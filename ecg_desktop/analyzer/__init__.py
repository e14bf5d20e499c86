"""The reference ML analyzer: ``ecg-desktop ml-server``.

Its own aiohttp server (PROTOCOL.md section 2) that downloads a video, decodes the audio,
recognises speech (Whisper tiny.en by default), measures per-word loudness, pitch and spectral
centroid, finds the speakers, and calls the backend back with signed callbacks.
Depends on ``ecg_desktop.domain`` only.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import AnalyzerConfig, AnalyzerConfigError
    from .errors import AnalysisError
    from .pipeline import AnalysisOptions, analyse_file
    from .server import create_app, serve

# Imported on first use (PEP 562): the app, the GUI and `models list` import
# ``analyzer.whisper_models`` alone and must not pay for the pipeline's numpy/scipy/aiohttp.
_HOMES = {
    "AnalysisError": ".errors",
    "AnalysisOptions": ".pipeline",
    "AnalyzerConfig": ".config",
    "AnalyzerConfigError": ".config",
    "analyse_file": ".pipeline",
    "create_app": ".server",
    "serve": ".server",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name], __name__), name)


__all__ = [
    "AnalysisError",
    "AnalysisOptions",
    "AnalyzerConfig",
    "AnalyzerConfigError",
    "analyse_file",
    "create_app",
    "serve",
]
