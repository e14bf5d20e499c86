"""A subcommand starts without importing the others (each used to cost every command ~2 s)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ecg_desktop.analyzer.server", "ecg_desktop.gui.app", "PySide6.QtWidgets", "aiohttp.web")


def _modules_after(*argv: str) -> dict[str, bool]:
    code = (
        "import contextlib, json, sys\n"
        "from ecg_desktop.cli import main\n"
        f"with contextlib.suppress(SystemExit), contextlib.redirect_stdout(sys.stderr):\n"
        f"    main({list(argv)!r})\n"
        f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after("jobs", "--help")
    assert not any(loaded.values()), loaded


def test_the_full_help_still_lists_every_command() -> None:
    from ecg_desktop.cli import SUBCOMMANDS, build_parser

    help_text = build_parser().format_help()
    for name in SUBCOMMANDS:
        assert name.replace("_", "-") in help_text
