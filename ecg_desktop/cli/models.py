"""`ecg-desktop models list|download NAME|remove NAME|use NAME`: the Whisper models of the
bundled analyzer (see ``analyzer.whisper_models``).

Exit codes: 0 done, 1 the download or removal failed, 2 an unknown model name or bad
configuration, 130 interrupted (a partial download is kept aside and never used).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model
from ecg_desktop.config import ENV_NAMES, ConfigError, load_settings, save_settings

from . import CANNOT_DO, fail

COMMAND = "models"
REDRAW_S = 0.25


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="Whisper speech recognition models: list, download, remove, choose",
        description="The Whisper models the bundled analyzer can use. tiny.en (English) comes "
        "with the app; the others are downloaded from their Hugging Face repositories "
        "(HF_ENDPOINT changes the hub) into the data folder (ECG_MODELS_DIR changes it).",
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    actions.add_parser("list", help="every model: size, languages, installed, used by new jobs")
    for action, text in (
        ("download", "download a model (checked against the hub's sha256)"),
        ("remove", "delete a downloaded model"),
        ("use", "make new jobs use this model (saved in the settings file)"),
    ):
        actions.add_parser(action, help=text).add_argument(
            "name", metavar="NAME", help="a model name from `ecg-desktop models list`"
        )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if args.models_action == "list":
            print_catalog(settings.models_dir, settings.whisper_model, sys.stdout)
            return 0
        wm.model_info(args.name)
        if args.models_action == "download":
            return _download(args.name, settings.models_dir)
        if args.models_action == "remove":
            wm.remove_model(args.name, settings.models_dir)
            print(f"removed {args.name}")
            if settings.whisper_model == args.name:
                print(f"note: new jobs use {args.name}, which is no longer installed; choose "
                      f"another with: ecg-desktop models use {wm.DEFAULT_MODEL}", file=sys.stderr)
            return 0
        return _use(args.name, settings.models_dir)
    except (ConfigError, wm.UnknownModel) as exc:
        return fail(str(exc), COMMAND)
    except wm.ModelError as exc:
        return fail(str(exc), COMMAND, code=CANNOT_DO)


def print_catalog(models_dir: Path, chosen: str, out: TextIO) -> None:
    installed = {m.info.name: m for m in wm.installed_models(models_dir)}
    kept = wm.partial_downloads(models_dir)
    rows = [("MODEL", "SIZE", "LANGUAGES", "INSTALLED", "")]
    for info in wm.CATALOG.values():
        found = installed.get(info.name)
        state = "no" if found is None else "bundled" if found.bundled else "yes"
        if found is None and info.name in kept:
            state = f"no ({kept[info.name] / 1e6:.0f} MB kept)"
        mark = "new jobs use this" if info.name == chosen else ""
        if mark and found is None:
            mark += " (not installed: download it)"
        rows.append((info.name, f"{info.size_mb} MB", info.languages_label, state, mark))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[4]]).rstrip(), file=out)
    print(f"\nDownloaded models are kept in {models_dir}", file=out)


class _ProgressLine:
    """One progress line on stderr, redrawn in place on a terminal, else every tenth."""

    def __init__(self, name: str, out: TextIO) -> None:
        self._name = name
        self._out = out
        self._tty = out.isatty()
        self._last = 0.0
        self._tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        now = time.monotonic()
        line = f"{self._name}: {done / 1e6:,.1f} of {total / 1e6:,.1f} MB ({share:.0%})"
        if self._tty:
            if now - self._last >= REDRAW_S or done >= total:
                self._last = now
                print(f"\r{line}", end="", file=self._out, flush=True)
        elif int(share * 10) > self._tenth:
            self._tenth = int(share * 10)
            print(line, file=self._out, flush=True)

    def finish(self) -> None:
        if self._tty:
            print(file=self._out)


def _download(name: str, models_dir: Path) -> int:
    if wm.is_installed(name, models_dir):
        print(f"{name} is already installed")
        return 0
    info = wm.model_info(name)
    print(f"downloading {name} ({info.size_mb} MB) from {info.repo_id}", file=sys.stderr)
    progress = _ProgressLine(name, sys.stderr)
    try:
        path = download_model(name, models_dir, progress=progress)
    except KeyboardInterrupt:
        progress.finish()
        print("interrupted; the model is not installed", file=sys.stderr)
        return 130
    progress.finish()
    print(f"installed {name} in {path}")
    return 0


def _use(name: str, models_dir: Path) -> int:
    if not wm.is_installed(name, models_dir):
        raise wm.ModelNotInstalled(name)
    saved = load_settings(env={})  # the file's values only: the environment is not saved
    save_settings(saved.with_changes(whisper_model=name))
    print(f"new jobs use {name}")
    variable = ENV_NAMES["whisper_model"]
    if os.environ.get(variable, name) != name:
        print(f"note: {variable}={os.environ[variable]} overrides this setting", file=sys.stderr)
    return 0
