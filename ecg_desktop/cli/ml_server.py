"""`ecg-desktop ml-server`."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ml-server", help="(not built yet)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise SystemExit("ecg-desktop ml-server: not built yet")
