"""`ecg-desktop ml-server`: the reference ML analyzer (also `python -m ecg_desktop.analyzer`)."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from ecg_desktop.analyzer.__main__ import build_parser, run_server

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ml-server",
        help="run the reference ML analyzer (speech, speakers, loudness and pitch)",
        description="Serve the ML protocol: POST /api/upload-video/process-video, GET /health, "
        "GET /jobs/{id}, GET /api/upload-video/status/{id}. Settings: docs/analyzer.md.",
    )
    build_parser(parser)
    parser.set_defaults(handler=run)


def _webhook_secret() -> str | None:
    """The secret from the environment, else the app's own (its keyring), so an analyzer
    started by hand on the app's machine signs what the app verifies."""
    if os.environ.get("WEBHOOK_SECRET_KEY") or os.environ.get("SECRET_KEY"):
        return None  # AnalyzerConfig reads the environment itself
    try:
        from ecg_desktop.config.secrets import load_settings_with_secrets

        return load_settings_with_secrets().webhook_secret_key or None
    except Exception:  # a broken config file must not stop the analyzer
        logger.warning("cannot read the settings for the webhook secret", exc_info=True)
        return None


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run_server(args, webhook_secret=_webhook_secret())
