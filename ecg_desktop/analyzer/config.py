"""The analyzer's settings, read from the environment (it runs as its own process).

Every variable is optional; ``docs/analyzer.md`` lists them. The webhook secret comes from
``WEBHOOK_SECRET_KEY`` (falling back to ``SECRET_KEY``, as in the seed) and is never shown by
``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from . import whisper_models
from .asr import BACKENDS, BackendPaths, WhisperRuntime
from .asr.whisper import DEVICES

APP_NAME = "ecg-desktop"


class AnalyzerConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


def _default_results_dir() -> Path:
    base = os.environ.get("ECG_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
    return Path(base) / "analyzer"


@dataclass(frozen=True)
class AnalyzerConfig:
    host: str = "127.0.0.1"
    port: int = 8001
    concurrency: int = 1
    queue_size: int = 8  # jobs waiting beyond the running ones
    results_dir: Path = field(default_factory=_default_results_dir)
    result_ttl_s: float = 7 * 24 * 3600.0
    max_download_bytes: int = 8 * 1024**3
    download_timeout_s: float = 3600.0
    callback_retry_for_s: float = 3600.0  # keep retrying a terminal callback this long
    callback_first_delay_s: float = 2.0
    callback_max_delay_s: float = 120.0
    callback_timeout_s: float = 30.0
    progress_interval_s: float = 1.0
    interrupted_report_delay_s: float = 30.0  # a backend that moved the job on may withdraw it
    webhook_secret: str = field(default="", repr=False)
    allow_unsigned_dispatch: bool = False
    backend: str = "faster-whisper"
    whisper_model: str = whisper_models.DEFAULT_MODEL
    whisper_model_path: str = ""
    models_dir: str = ""
    device: str = "auto"
    compute_type: str = "auto"
    threads: int = 0
    vosk_model_path: str = ""

    @property
    def backend_paths(self) -> BackendPaths:
        return BackendPaths(
            whisper_model=self.whisper_model_path,
            vosk_model=self.vosk_model_path,
            whisper_name=self.whisper_model,
            models_dir=self.models_dir,
            backend=self.backend,
        )

    @property
    def whisper_runtime(self) -> WhisperRuntime:
        return WhisperRuntime(self.device, self.compute_type, self.threads)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> AnalyzerConfig:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, (variable, kind) in ENV_VARIABLES.items():
            raw = env.get(variable, "")
            if raw == "":
                continue
            values[name] = _convert(variable, kind, raw)
        if "webhook_secret" not in values and env.get("SECRET_KEY"):
            values["webhook_secret"] = env["SECRET_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        for name in (
            "concurrency",
            "result_ttl_s",
            "max_download_bytes",
            "download_timeout_s",
            "callback_first_delay_s",
            "callback_max_delay_s",
            "callback_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise AnalyzerConfigError(f"{ENV_VARIABLES[name][0]}: must be positive")
        if self.queue_size < 0 or self.callback_retry_for_s < 0 or self.progress_interval_s < 0:
            raise AnalyzerConfigError(
                "queue size, retry time and progress interval cannot be negative"
            )
        self._validate_speech()
        if not 0 <= self.port <= 65535:
            raise AnalyzerConfigError(f"ECG_ANALYZER_PORT: {self.port} is not a port number")


    def _validate_speech(self) -> None:
        if self.backend not in BACKENDS:
            raise AnalyzerConfigError(
                f"ECG_ANALYZER_BACKEND: {self.backend!r} is not one of {', '.join(BACKENDS)}"
            )
        if self.whisper_model not in whisper_models.CATALOG:
            known = ", ".join(whisper_models.CATALOG)
            raise AnalyzerConfigError(
                f"ECG_ANALYZER_WHISPER_MODEL: {self.whisper_model!r} is not one of {known}"
            )
        if self.device not in DEVICES:
            raise AnalyzerConfigError(
                f"ECG_ANALYZER_DEVICE: {self.device!r} is not one of {', '.join(DEVICES)}"
            )
        if self.threads < 0:
            raise AnalyzerConfigError("ECG_ANALYZER_THREADS: cannot be negative")


def _convert(variable: str, kind: type, raw: str) -> object:
    try:
        if kind is bool:
            text = raw.strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(f"{raw!r} is not a yes/no value")
            return text in ("1", "true", "yes", "on")
        if kind is Path:
            return Path(raw).expanduser()
        return kind(raw)
    except ValueError as exc:
        raise AnalyzerConfigError(f"{variable}: {exc}") from None


ENV_VARIABLES: dict[str, tuple[str, type]] = {
    "host": ("ECG_ANALYZER_HOST", str),
    "port": ("ECG_ANALYZER_PORT", int),
    "concurrency": ("ECG_ANALYZER_CONCURRENCY", int),
    "queue_size": ("ECG_ANALYZER_QUEUE_SIZE", int),
    "results_dir": ("ECG_ANALYZER_RESULTS_DIR", Path),
    "result_ttl_s": ("ECG_ANALYZER_RESULT_TTL", float),
    "max_download_bytes": ("ECG_ANALYZER_MAX_DOWNLOAD_BYTES", int),
    "download_timeout_s": ("ECG_ANALYZER_DOWNLOAD_TIMEOUT", float),
    "callback_retry_for_s": ("ECG_ANALYZER_CALLBACK_RETRY_FOR", float),
    "callback_first_delay_s": ("ECG_ANALYZER_CALLBACK_FIRST_DELAY", float),
    "callback_max_delay_s": ("ECG_ANALYZER_CALLBACK_MAX_DELAY", float),
    "callback_timeout_s": ("ECG_ANALYZER_CALLBACK_TIMEOUT", float),
    "progress_interval_s": ("ECG_ANALYZER_PROGRESS_INTERVAL", float),
    "interrupted_report_delay_s": ("ECG_ANALYZER_INTERRUPTED_DELAY", float),
    "webhook_secret": ("WEBHOOK_SECRET_KEY", str),
    "allow_unsigned_dispatch": ("ECG_ANALYZER_ALLOW_UNSIGNED", bool),
    "backend": ("ECG_ANALYZER_BACKEND", str),
    "whisper_model": ("ECG_ANALYZER_WHISPER_MODEL", str),
    "whisper_model_path": ("ECG_WHISPER_MODEL_PATH", str),
    "models_dir": ("ECG_MODELS_DIR", str),
    "device": ("ECG_ANALYZER_DEVICE", str),
    "compute_type": ("ECG_ANALYZER_COMPUTE_TYPE", str),
    "threads": ("ECG_ANALYZER_THREADS", int),
    "vosk_model_path": ("ECG_VOSK_MODEL_PATH", str),
}
