"""The analyzer's one exception: a failure with its protocol error code.

It crosses the worker-process boundary (pickled), so it keeps its state in ``args``.
"""

from __future__ import annotations

from ecg_desktop.domain import ErrorCode


class AnalysisError(Exception):
    """A job that cannot finish; ``code`` is what the failed callback carries."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(str(code), message)

    @property
    def code(self) -> ErrorCode:
        return ErrorCode(self.args[0])

    @property
    def message(self) -> str:
        return str(self.args[1])

    def __str__(self) -> str:
        return f"{self.args[0]}: {self.args[1]}"
