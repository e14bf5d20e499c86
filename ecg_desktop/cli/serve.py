"""`ecg-desktop serve`: the backend alone (the seed's API), until SIGINT or SIGTERM.

Exit codes: 0 after a clean shutdown, 2 for bad configuration, a taken port or an
unreachable job store (one line on stderr says which).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from ecg_desktop.cli import fail
from ecg_desktop.config import ConfigError, Settings

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the backend API alone (upload URLs, jobs, ML callbacks, status)",
        description="Run the backend API (PROTOCOL section 1) until interrupted.",
    )
    parser.add_argument("--host", help="address to bind (default ECG_BIND_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default ECG_BIND_PORT or 8000)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    try:
        settings = _settings(args)
    except ConfigError as exc:
        return fail(str(exc), "serve")
    return asyncio.run(serve(settings))


def _settings(args: argparse.Namespace) -> Settings:
    settings = _load_settings()
    changes: dict[str, Any] = {}
    if args.host:
        changes["bind_host"] = args.host
    if args.port is not None:
        changes["bind_port"] = args.port
    return settings.with_changes(**changes) if changes else settings


def _load_settings() -> Settings:
    """Environment, config file, and the secrets (webhook secret, API tokens) from the keyring;
    the first run generates the webhook secret and one API token."""
    from ecg_desktop.config.secrets import load_settings_with_secrets

    return load_settings_with_secrets()


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> int:
    """Build the core, serve until SIGINT/SIGTERM, then shut down gracefully: the server stops
    accepting, requests in flight finish, background work stops, the store is closed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Installed first, so a signal during start-up also ends in a clean shutdown.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _serve_until(settings, stop, ready)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve_until(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event | None
) -> int:
    from ecg_desktop.bootstrap import build_core
    from ecg_desktop.server.runner import PortInUseError

    try:
        core = await build_core(settings)
    except ConfigError as exc:
        return fail(str(exc), "serve")
    except Exception as exc:  # the store, storage or analyzer cannot start: one line
        logger.debug("building the core failed", exc_info=True)
        return fail(f"cannot start: {exc}", "serve")
    try:
        try:
            base_url = await core.start_server(settings.bind_host, settings.bind_port)
        except PortInUseError as exc:
            return fail(str(exc), "serve")
        await core.start_services()
        _announce(settings, base_url)
        if ready is not None:
            ready.set()
        await stop.wait()
        logger.info("shutting down: finishing requests in flight")
    finally:
        await core.close()
        logger.info("stopped; job store closed")
    return 0


def _announce(settings: Settings, base_url: str) -> None:
    from ecg_desktop.server.middleware import is_loopback_host

    logger.info("ECG backend listening on %s (API description at %s/openapi.json)",
                base_url, base_url)
    if not is_loopback_host(settings.bind_host):
        count = len(settings.api_tokens)
        if count:
            logger.info("non-loopback bind: %d API token(s) accepted "
                        "(Authorization: Bearer <token>)", count)
        else:
            logger.warning("non-loopback bind and no API token configured: every API call "
                           "will be refused with 401; set ECG_API_TOKENS")
    if settings.allow_unsigned_callbacks:
        logger.warning("unsigned ML callbacks are ACCEPTED (compatibility switch is on)")
    if not settings.webhook_secret_key:
        logger.warning("no webhook secret configured: signed callbacks cannot be verified")
