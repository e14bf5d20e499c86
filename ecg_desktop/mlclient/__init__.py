"""The ML-server adapter (PROTOCOL.md section 2) behind the ``MLClient`` port."""

from .http import USER_AGENT, HttpMLClient

__all__ = ["USER_AGENT", "HttpMLClient"]
