"""The media adapter: what PyAV finds in a local video or audio file before it is uploaded
(it implements ``app.ports.InspectsMedia``)."""

from .probe import inspect_media, probe_media

__all__ = ["inspect_media", "probe_media"]
