"""Small helpers to run throwaway servers: free loopback ports, child processes, readiness."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A test service could not be started; the message says what to do about it."""


def free_ports(count: int) -> list[int]:
    """Ports that were free on 127.0.0.1 a moment ago (held open together, so all distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass
class ChildProcess:
    """A server we started in its own session, so stopping it also stops anything it forked."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        if self.exited():
            return
        # Our child leads its own process group (start_new_session), so its pid names the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test run dies, even by SIGKILL."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_process(
    name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> ChildProcess:
    """Start ``argv`` (from the main thread: the child's death signal follows that thread)."""
    with log_path.open("ab") as log:
        try:
            popen = subprocess.Popen(
                list(argv),
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # servers are started from the main thread
            )
        except OSError as exc:
            raise ServiceError(f"cannot start {name} ({argv[0]}): {exc}") from exc
    return ChildProcess(name, popen, log_path)


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    watch: Sequence[ChildProcess] = (),
) -> None:
    """Poll ``ready`` until true; fail early, with the log, if a watched process dies."""
    deadline = time.monotonic() + timeout
    while True:
        for child in watch:
            if child.exited():
                raise ServiceError(
                    f"{child.name} exited with code {child.popen.returncode} while waiting for "
                    f"{what}; last log lines:\n{child.log_tail()}"
                )
        if ready():
            return
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {c.name}:\n{c.log_tail(10)}" for c in watch)
            raise ServiceError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(0.1)
