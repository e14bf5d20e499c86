"""The ML-server adapters (PROTOCOL.md section 2) behind the ``MLClient`` port: one server
(``HttpMLClient``) or a list of them (``MLServerPool``)."""

from .http import USER_AGENT, HttpMLClient
from .pool import MLServerPool

__all__ = ["USER_AGENT", "HttpMLClient", "MLServerPool"]
