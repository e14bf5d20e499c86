"""Transcript review: the pane the main window shows for a completed job."""

from .palette import speaker_colour
from .qt_review_pane import ReviewPane

__all__ = ["ReviewPane", "speaker_colour"]
