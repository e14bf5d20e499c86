"""`ecg-desktop team preset|status`: join a team (shared PostgreSQL, bucket and backend) and
check that this machine can work in it (see docs/team.md).

Exit codes: 0 done (status: every check passed), 1 a check failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ecg_desktop.cli import fail
from ecg_desktop.config import ConfigError, Settings, config_file, load_settings, save_settings
from ecg_desktop.config.settings import read_config_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "team",
        help="join a team (shared database, bucket and backend) or check the set-up",
        description="Team mode: one PostgreSQL database, one S3 bucket and one `serve` backend "
        "shared by every desktop.",
    )
    actions = parser.add_subparsers(dest="team_action", metavar="ACTION")
    preset = actions.add_parser(
        "preset", help="write the team's settings into this machine's settings file"
    )
    preset.add_argument("--database-url", required=True,
                        help="the team's PostgreSQL, postgresql://user@host:5432/db")
    preset.add_argument("--bucket", required=True, help="the team's S3 bucket")
    preset.add_argument("--callback-url", required=True,
                        help="the team backend's address as the ML server reaches it "
                        "(FASTAPI_BASE_URL), e.g. http://ecg-backend.lan:8000")
    preset.add_argument("--ml-server-url", default="", help="the ML server (MODEL_SERVER_URL)")
    preset.add_argument("--user", default="", help="your name on jobs and in storage keys")
    preset.add_argument("--s3-endpoint-url", default="",
                        help="an S3-compatible store's address (empty: AWS)")
    preset.add_argument("--region", default="", help="the bucket's region")
    preset.add_argument("--access-key-id", default="",
                        help="the S3 access key id (the secret key goes in the keyring: "
                        "settings dialog, or AWS_SECRET_ACCESS_KEY)")
    preset.add_argument("--config", type=Path, default=None,
                        help="settings file to write (default: this user's settings.toml)")
    preset.add_argument("--dry-run", action="store_true", help="print the file, write nothing")
    actions.add_parser("status", help="check the database, live updates, bucket and backend")
    parser.set_defaults(handler=run, team_action="status")


def run(args: argparse.Namespace) -> int:
    try:
        if args.team_action == "preset":
            return _preset(args)
        return asyncio.run(_status(load_settings()))
    except ConfigError as exc:
        return fail(str(exc), "team")


def _preset(args: argparse.Namespace) -> int:
    from ecg_desktop.app.team import TeamPreset, apply_team_preset

    path: Path = args.config or config_file()
    # The file's own values (not the environment's), so only the preset's fields change.
    current = load_settings(env={}, file_values=read_config_file(path))
    joined, warnings = apply_team_preset(
        current,
        TeamPreset(
            database_url=args.database_url,
            bucket=args.bucket,
            callback_url=args.callback_url,
            user_name=args.user,
            s3_endpoint_url=args.s3_endpoint_url,
            aws_region=args.region,
            aws_access_key_id=args.access_key_id,
            model_server_url=args.ml_server_url,
        ),
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.dry_run:
        with tempfile.TemporaryDirectory() as folder:
            preview = Path(folder) / "settings.toml"
            save_settings(joined, preview)
            print(preview.read_text(encoding="utf-8"), end="")
        return 0
    save_settings(joined, path)
    if "@" in joined.database_url:
        path.chmod(0o600)  # the URL may carry a password
    print(f"team settings written to {path}")
    print("check them with: ecg-desktop team status")
    return 0


async def _status(settings: Settings) -> int:
    checks = [
        await _check_database(settings),
        await _check_live_updates(settings),
        _check_bucket(settings),
        await _check_backend(settings),
    ]
    for ok, line in checks:
        print(("ok    " if ok else "FAIL  ") + line)
    return 0 if all(ok for ok, _ in checks) else 1


async def _check_database(settings: Settings) -> tuple[bool, str]:
    from ecg_desktop.store import StoreError, open_store

    url = settings.effective_database_url
    try:
        store = await open_store(url, migrate=False)
    except StoreError as exc:
        return False, f"job store: {exc}"
    try:
        if not store.is_postgresql:
            return False, f"job store: {store.describe()} is not shared; set DATABASE_URL"
        return True, f"job store: {store.describe()}, {await store.count()} job(s)"
    except StoreError as exc:
        return False, f"job store: {exc}"
    finally:
        await store.close()


async def _check_live_updates(settings: Settings) -> tuple[bool, str]:
    from ecg_desktop.store.notify import JobChangeListener

    listener = JobChangeListener(settings.effective_database_url, max_backoff_s=1.0)
    if not listener.enabled:
        return False, "live updates: need PostgreSQL"

    async def consume() -> None:
        async for _ in listener:
            pass

    task = asyncio.create_task(consume())
    started = time.monotonic()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        took = (time.monotonic() - started) * 1000
        return True, f"live updates: listening ({took:.0f} ms to connect)"
    except TimeoutError:
        return False, "live updates: could not LISTEN within 10 s"
    finally:
        await listener.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _check_bucket(settings: Settings) -> tuple[bool, str]:
    if not settings.s3_bucket_name:
        return False, "storage: no S3 bucket (S3_BUCKET_NAME); videos would stay on this machine"
    where = settings.s3_endpoint_url or f"AWS {settings.aws_region}"
    return True, f"storage: bucket {settings.s3_bucket_name} at {where}"


async def _check_backend(settings: Settings) -> tuple[bool, str]:
    import httpx

    base = settings.fastapi_base_url
    if not base:
        return False, "backend: no callback address (FASTAPI_BASE_URL)"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(base.rstrip("/") + "/health")
    except httpx.HTTPError as exc:
        return False, f"backend: {base} cannot be reached from here: {exc or type(exc).__name__}"
    if response.status_code != 200:
        return False, f"backend: {base}/health answered {response.status_code}"
    return True, f"backend: {base} answers; the ML server must reach this address too"
