"""The bundled reference analyzer as a child process of the app (and of ``serve``/``process``).

Used when ``MODEL_SERVER_URL`` is empty. The child is ``python -m ecg_desktop.analyzer`` on a
free loopback port it picks itself and reports on its first line of output; the webhook secret
goes through its environment, never its command line. If the child dies it is started again
(with back-off) and ``on_restart(new_url)`` lets the app point dispatch at it and reconcile the
jobs it had. ``stop`` terminates it, then kills it if it does not go.

Blocking waits (the child's first line, its exit) run in threads, so this works on any
asyncio loop, qasync's included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO

import httpx

from ecg_desktop.config.settings import Settings, log_dir

logger = logging.getLogger(__name__)

READY_PREFIX = "ANALYZER_LISTENING "
RestartHandler = Callable[[str], Awaitable[None]]


def model_environment(settings: Settings) -> dict[str, str]:
    """What tells the analyzer which Whisper model new jobs use and where downloaded models
    are (a change restarts the analyzer: ``whisper_model`` is not a live setting)."""
    return {
        "ECG_ANALYZER_WHISPER_MODEL": settings.whisper_model,
        "ECG_MODELS_DIR": str(settings.models_dir),
    }


class AnalyzerStartError(RuntimeError):
    """The analyzer child did not come up; the message carries the end of its log."""


class EmbeddedAnalyzer:
    def __init__(
        self,
        settings: Settings,
        *,
        on_restart: RestartHandler | None = None,
        python: str = sys.executable,
        startup_timeout_s: float = 60.0,
        environment: Mapping[str, str] | None = None,
        max_restart_delay_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._on_restart = on_restart
        self._python = python
        self._startup_timeout_s = startup_timeout_s
        self._extra_env = dict(environment or {})
        self._max_restart_delay_s = max_restart_delay_s
        self._process: subprocess.Popen[str] | None = None
        self._url: str | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0

    def __repr__(self) -> str:
        return f"EmbeddedAnalyzer(url={self._url!r}, pid={self.pid})"

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the embedded analyzer is not running")
        return self._url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def results_dir(self) -> Path:
        return self._settings.data_dir / "analyzer"

    @property
    def log_path(self) -> Path:
        return log_dir() / "analyzer.log"

    def describe(self) -> str:
        return f"reference analyzer (built in) at {self._url}" if self._url else "not running"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        await self._launch()
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await asyncio.to_thread(self._terminate)
        self._url = None

    def _terminate(self, grace_s: float = 10.0) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            logger.warning("the analyzer (pid %s) ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait(timeout=grace_s)

    # -- child process -------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(model_environment(self._settings))
        env.update(self._extra_env)
        env["ECG_ANALYZER_PARENT_PID"] = str(os.getpid())
        env.pop("SECRET_KEY", None)
        if self._settings.webhook_secret_key:
            env["WEBHOOK_SECRET_KEY"] = self._settings.webhook_secret_key
        else:
            env.pop("WEBHOOK_SECRET_KEY", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _command(self) -> list[str]:
        return [
            self._python,
            "-m",
            "ecg_desktop.analyzer",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--results-dir",
            str(self.results_dir),
        ]

    async def _launch(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("a", encoding="utf-8")
        try:
            process = await asyncio.to_thread(
                subprocess.Popen,
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self._environment(),
                text=True,
            )
        finally:
            log.close()  # the child holds its own descriptor
        self._process = process
        try:
            url = await asyncio.wait_for(
                asyncio.to_thread(_read_ready_line, process), self._startup_timeout_s
            )
            await self._wait_healthy(url)
        except (TimeoutError, AnalyzerStartError) as exc:
            await asyncio.to_thread(self._terminate, 2.0)
            raise AnalyzerStartError(f"{exc}; analyzer log: {self._log_tail()}") from exc
        self._url = url
        # Keep draining stdout so a chatty child never blocks on a full pipe.
        if process.stdout is not None:
            _drain_in_background(process.stdout)
        logger.info("reference analyzer running at %s (pid %s)", url, process.pid)

    async def _wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + self._startup_timeout_s
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                try:
                    response = await client.get(f"{url}/health")
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AnalyzerStartError(f"{url}/health did not answer")
                await asyncio.sleep(0.1)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    async def _watch(self) -> None:
        delay = 1.0
        while not self._stopping:
            process = self._process
            if process is None:
                return
            code = await asyncio.to_thread(process.wait)
            if self._stopping:
                return
            logger.error("the reference analyzer exited (code %s); restarting it", code)
            self._url = None
            started = time.monotonic()
            while not self._stopping:
                try:
                    await self._launch()
                    break
                except (AnalyzerStartError, OSError):
                    logger.exception("cannot restart the reference analyzer")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_restart_delay_s)
            if self._stopping:
                return
            if time.monotonic() - started > 60:
                delay = 1.0
            self.restarts += 1
            if self._on_restart is not None:
                try:
                    await self._on_restart(self.url)
                except Exception:
                    logger.exception("reconciling after the analyzer restart failed")


def _read_ready_line(process: subprocess.Popen[str]) -> str:
    """The URL from the child's ``ANALYZER_LISTENING <url>`` line (blocking)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(READY_PREFIX):
            return line[len(READY_PREFIX) :].strip()
    raise AnalyzerStartError(f"the analyzer exited with code {process.wait()} before listening")


def _drain_in_background(stream: IO[str]) -> None:
    import threading

    def drain() -> None:
        with contextlib.suppress(OSError, ValueError):
            for _ in stream:
                pass

    threading.Thread(target=drain, name="analyzer-stdout", daemon=True).start()
