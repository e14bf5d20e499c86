"""Transcript review: the pane the main window shows for a completed job."""

from .palette import speaker_colour
from .pyside_refcount import protect_singletons
from .qt_review_pane import ReviewPane

__all__ = ["ReviewPane", "protect_singletons", "speaker_colour"]
