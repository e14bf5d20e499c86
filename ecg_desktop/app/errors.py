"""The use cases' refusals: what an entry point shows the user (the server answers 4xx)."""

from __future__ import annotations


class PipelineError(Exception):
    """A request the pipeline cannot carry out; the message is meant for the user."""
