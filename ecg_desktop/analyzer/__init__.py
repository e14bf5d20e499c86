"""The reference ML analyzer: ``ecg-desktop ml-server``.

Its own aiohttp server (PROTOCOL.md section 2) that downloads a video, decodes the audio,
recognises speech (pocketsphinx by default), measures per-word loudness, pitch and spectral
centroid, finds the speakers, and calls the backend back with signed callbacks.
Depends on ``ecg_desktop.domain`` only.
"""

from .config import AnalyzerConfig, AnalyzerConfigError
from .errors import AnalysisError
from .pipeline import AnalysisOptions, analyse_file
from .server import create_app, serve

__all__ = [
    "AnalysisError",
    "AnalysisOptions",
    "AnalyzerConfig",
    "AnalyzerConfigError",
    "analyse_file",
    "create_app",
    "serve",
]
