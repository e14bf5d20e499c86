"""``ecg-desktop serve`` in its own process, as a user runs it.

It binds port 0 and the test reads the port the kernel gave it from the log line that
announces the address. A port picked by the test and handed over instead can be taken in
between: two instances started at once then got the same one, and the health poll of the
second reached the first.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.services.processes import ChildProcess, start_process, wait_until

LISTENING = re.compile(r"ECG backend listening on (http://\S+)")


@dataclass
class ServeProcess:
    child: ChildProcess
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def returncode(self) -> int | None:
        return self.child.popen.poll()

    def log(self) -> str:
        return self.child.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        """SIGTERM, the signal of a clean shutdown."""
        if self.returncode is None:
            self.child.popen.send_signal(signal.SIGTERM)

    def shut_down(self, timeout: float = 30) -> int:
        """The exit code after SIGTERM, killing the process if it takes longer than ``timeout``."""
        self.terminate()
        try:
            return self.child.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.child.stop(timeout=5)
            raise

    async def stop(self, grace_s: float = 30) -> tuple[int, str]:
        """SIGTERM and wait (off the loop, which may serve the peers it talks to while it
        shuts down); the exit code and the whole log."""
        code = await asyncio.to_thread(self.shut_down, grace_s)
        return code, self.log()

    def kill(self) -> None:
        self.child.stop(timeout=5)


def start_serve(
    env: Mapping[str, str], log_path: Path, *, timeout: float = 60
) -> ServeProcess:
    """Start ``serve`` and block until it announces its address."""
    child = _launch(env, log_path)
    return ServeProcess(child, _announced_url(child, timeout))


async def start_serve_async(
    env: Mapping[str, str], log_path: Path, *, startup_s: float = 60
) -> ServeProcess:
    """:func:`start_serve` for a test whose loop runs what ``serve`` talks to at start-up."""
    child = _launch(env, log_path)  # on the loop's (main) thread: see start_process
    return ServeProcess(child, await asyncio.to_thread(_announced_url, child, startup_s))


def _launch(env: Mapping[str, str], log_path: Path) -> ChildProcess:
    argv = [sys.executable, "-m", "ecg_desktop", "serve", "--port", "0"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return start_process("ecg-desktop serve", argv, log_path, env)


def _announced_url(child: ChildProcess, timeout: float) -> str:
    found: list[str] = []

    def announced() -> bool:
        match = LISTENING.search(child.log_path.read_text(encoding="utf-8", errors="replace"))
        if match is not None:
            found.append(match.group(1))
        return match is not None

    try:
        wait_until(announced, timeout=timeout, what="serve to announce its address",
                   watch=[child])
    except BaseException:
        child.stop(timeout=5)
        raise
    return found[0]
