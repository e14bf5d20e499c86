"""The ``ecg-desktop`` command. With no subcommand (or only files) it opens the window.

Each subcommand lives in its own module with ``register(subparsers)``; the handler it sets
returns the exit code: 2 for bad configuration or an unreachable service, 1 for a request
that cannot be done (see :func:`fail`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ecg_desktop import __version__

SUBCOMMANDS = (
    "gui", "serve", "ml_server", "process", "jobs", "db", "export", "team", "tokens", "models",
    "secrets",
)
# Command names as typed (a module ``ml_server`` registers ``ml-server``).
COMMAND_NAMES = frozenset({*SUBCOMMANDS, *(name.replace("_", "-") for name in SUBCOMMANDS)})


BAD_CONFIGURATION = 2
CANNOT_DO = 1


def fail(message: str, command: str = "", *, code: int = BAD_CONFIGURATION) -> int:
    """Say why on stderr, as ``ecg-desktop [command]: message``; returns the exit code."""
    print(f"ecg-desktop{' ' + command if command else ''}: {message}", file=sys.stderr)
    return code


def build_parser(only: Sequence[str] = SUBCOMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecg-desktop",
        description="Transcribe videos with speakers and per-word loudness and pitch.",
    )
    parser.add_argument("--version", action="version", version=f"ecg-desktop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in only:
        importlib.import_module(f"ecg_desktop.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first_positional = next((a for a in args_list if not a.startswith("-")), None)
    asks_for_help = any(a in ("-h", "--help", "--version") for a in args_list)
    opens_window = first_positional is None or first_positional not in COMMAND_NAMES
    if opens_window and not asks_for_help:
        args_list = ["gui", *args_list]  # `ecg-desktop` and `ecg-desktop FILE...` open the window
    # A command imports only its own module: the window's start-up, or `jobs list`, must not
    # pay for importing every other subcommand (the analyzer's server, Qt, ...).
    command = "gui" if args_list[:1] == ["gui"] else first_positional
    if command in COMMAND_NAMES:
        parser = build_parser(only=(command.replace("-", "_"),))
    else:
        parser = build_parser(only=() if "--version" in args_list else SUBCOMMANDS)
    args = parser.parse_args(args_list)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
