"""The ML-server adapters (PROTOCOL.md section 2) behind the ``MLClient`` port: one server
(``HttpMLClient``) or a list of them (``MLServerPool``), and the bundled reference analyzer
run as a child process (``EmbeddedAnalyzer``) when no ML server is configured."""

from .embedded import EmbeddedAnalyzer
from .http import USER_AGENT, HttpMLClient
from .pool import MLServerPool

__all__ = ["USER_AGENT", "EmbeddedAnalyzer", "HttpMLClient", "MLServerPool"]
