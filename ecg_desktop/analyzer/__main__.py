"""``python -m ecg_desktop.analyzer [--host H] [--port P]``: the reference ML server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import AnalyzerConfig, AnalyzerConfigError
from .server import serve


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m ecg_desktop.analyzer")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1, ECG_ANALYZER_HOST)")
    parser.add_argument(
        "--port", type=int, help="port (default 8001, ECG_ANALYZER_PORT; 0 = any free)"
    )
    parser.add_argument("--concurrency", type=int, help="jobs analysed at once (default 1)")
    parser.add_argument("--results-dir", help="where job results are kept")
    return parser


def run_server(args: argparse.Namespace, *, webhook_secret: str | None = None) -> int:
    try:
        config = AnalyzerConfig.from_env(
            host=args.host,
            port=args.port,
            concurrency=args.concurrency,
            results_dir=Path(args.results_dir) if args.results_dir else None,
            webhook_secret=webhook_secret or None,
        )
    except AnalyzerConfigError as exc:
        print(f"ecg-desktop ml-server: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_main(config))


async def _stop_with_parent(task: asyncio.Task[None], parent_pid: int) -> None:
    """An embedded analyzer ends with the app that started it, even if the app crashed."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 - no event tells us the parent died
        await asyncio.sleep(2.0)
    logging.getLogger(__name__).warning("the parent process is gone; stopping")
    task.cancel()


async def _main(config: AnalyzerConfig) -> int:
    task = asyncio.create_task(serve(config))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    parent = os.environ.get("ECG_ANALYZER_PARENT_PID", "")
    watcher = (
        asyncio.create_task(_stop_with_parent(task, int(parent))) if parent.isdigit() else None
    )
    try:
        await task
    except asyncio.CancelledError:
        pass
    except OSError as exc:
        print(f"ecg-desktop ml-server: cannot listen: {exc}", file=sys.stderr)
        return 2
    finally:
        if watcher is not None:
            watcher.cancel()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run_server(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
