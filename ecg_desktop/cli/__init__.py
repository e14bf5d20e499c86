"""The ``ecg-desktop`` command. With no subcommand (or only files) it opens the window.

Each subcommand lives in its own module with ``register(subparsers)``; the handler it sets
returns the exit code. Exit code 2 means bad configuration or an unreachable service.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ecg_desktop import __version__

SUBCOMMANDS = ("gui", "serve", "ml_server", "process", "jobs", "db", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecg-desktop",
        description="Transcribe videos with speakers and per-word loudness and pitch.",
    )
    parser.add_argument("--version", action="version", version=f"ecg-desktop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"ecg_desktop.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    first_positional = next((a for a in args_list if not a.startswith("-")), None)
    asks_for_help = any(a in ("-h", "--help", "--version") for a in args_list)
    if (first_positional is None or first_positional not in known) and not asks_for_help:
        args_list = ["gui", *args_list]  # `ecg-desktop` and `ecg-desktop FILE...` open the window
    args = parser.parse_args(args_list)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
