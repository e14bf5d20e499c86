"""`ecg-desktop [gui] [FILE...]`: the desktop window, with FILEs queued."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the desktop window (the default command)",
        description="Open the desktop window; videos given on the command line are queued.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="videos or folders to add")
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="build the window and start every service on a scratch folder, then exit "
             "(0 when all of it works; for packaging checks)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ecg_desktop.gui.app import run_gui

    return run_gui(args.files, verbose=getattr(args, "verbose", False),
                   self_check=args.self_check)
