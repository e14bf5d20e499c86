"""The analyzer's job records, kept on disk so status answers survive a restart."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ACTIVE = frozenset({"accepted", "processing"})
TERMINAL = frozenset({"completed", "failed", "canceled"})


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class AnalyzerJob:
    job_id: str
    fastapi_base_url: str
    language: str = "auto"
    filename: str = ""
    status: str = "accepted"
    progress: float = 0.0
    message: str = "Queued"
    result: dict[str, Any] | None = None  # in memory until the callback is settled
    error_code: str | None = None
    error_message: str | None = None
    created_at: str = field(default_factory=_now_iso)
    updated_at: str = field(default_factory=_now_iso)
    updated_ts: float = field(default_factory=time.time)
    callback_state: str = "pending"  # pending | delivered | refused | given_up | not_needed
    callback_msg_id: str = field(default_factory=lambda: f"msg_{uuid.uuid4().hex}")
    interrupted: bool = False  # running when the analyzer stopped; reported failed at start

    def touch(self) -> None:
        self.updated_at = _now_iso()
        self.updated_ts = time.time()

    def status_view(self, *, with_result: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status,
            "progress": round(self.progress, 1),
            "message": self.message,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if with_result:
            view["result"] = self.result if self.status == "completed" else None
            view["error_code"] = self.error_code
            view["error_message"] = self.error_message
        elif self.status == "failed":
            view["error_code"] = self.error_code
        return view


class JobFiles:
    """One JSON file per job under ``folder``, and its result in ``folder/results`` (so a
    job's many small saves never rewrite megabytes, and a restart does not read every result
    back into memory). Writes are atomic (write, then rename)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.results = folder / "results"
        self.results.mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str) -> Path:
        return self.folder / f"{uuid.UUID(job_id)}.json"

    def _result_path(self, job_id: str) -> Path:
        return self.results / f"{uuid.UUID(job_id)}.json"

    def save(self, job: AnalyzerJob) -> None:
        record = {name: value for name, value in vars(job).items() if name != "result"}
        _write_atomically(self._path(job.job_id), json.dumps(record))

    def save_result(self, job_id: str, result: dict[str, Any]) -> None:
        _write_atomically(self._result_path(job_id), json.dumps(result))

    def load_result(self, job_id: str) -> dict[str, Any] | None:
        try:
            text = self._result_path(job_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        result: dict[str, Any] = json.loads(text)
        return result

    def delete(self, job_id: str) -> None:
        self._path(job_id).unlink(missing_ok=True)
        self._result_path(job_id).unlink(missing_ok=True)

    def load_all(self, ttl_s: float) -> list[AnalyzerJob]:
        """Every stored job younger than ``ttl_s`` (results stay on disk); older files are
        deleted."""
        jobs = []
        cutoff = time.time() - ttl_s
        for path in sorted(self.folder.glob("*.json")):
            try:
                job = AnalyzerJob(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning("ignoring unreadable job file %s: %s", path.name, exc)
                continue
            if job.updated_ts < cutoff:
                self.delete(job.job_id)
                continue
            if job.result is not None:
                self._move_result_out(job)
            jobs.append(job)
        return jobs

    def _move_result_out(self, job: AnalyzerJob) -> None:
        """A job file from before results had files of their own holds its result: give the
        result its file, so that memory holds none of the loaded results."""
        assert job.result is not None
        self.save_result(job.job_id, job.result)
        job.result = None
        self.save(job)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
