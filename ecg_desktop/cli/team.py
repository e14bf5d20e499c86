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
import uuid
from pathlib import Path
from typing import Any

from ecg_desktop.cli import fail
from ecg_desktop.config import ConfigError, Settings, config_file, load_settings, save_settings
from ecg_desktop.config.secrets import load_settings_with_secrets
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
    preset.add_argument("--ml-server-url", default="",
                        help="the ML server (MODEL_SERVER_URL); a team desktop does not need "
                        "it: the backend dispatches")
    preset.add_argument("--user", default="", help="your name on jobs and in storage keys")
    preset.add_argument("--s3-endpoint-url", default="",
                        help="an S3-compatible store's address (empty: AWS)")
    preset.add_argument("--region", default="", help="the bucket's region")
    preset.add_argument("--access-key-id", default="",
                        help="the S3 access key id (the secret key goes in the keyring: "
                        "`ecg-desktop secrets set aws_secret_access_key`, the settings "
                        "dialog, or AWS_SECRET_ACCESS_KEY)")
    preset.add_argument("--config", type=Path, default=None,
                        help="settings file to write (default: this user's settings.toml)")
    preset.add_argument("--dry-run", action="store_true", help="print the file, write nothing")
    actions.add_parser("status", help="check the database, live updates, bucket, backend and "
                       "ML server for real; exit 1 when any fails")
    parser.set_defaults(handler=run, team_action="status")


def run(args: argparse.Namespace) -> int:
    try:
        if args.team_action == "preset":
            return _preset(args)
        return asyncio.run(_status(load_settings_with_secrets()))
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
    print("next: ecg-desktop secrets set aws_secret_access_key   (the S3 secret key)")
    print("      ecg-desktop secrets set team_token              (your token for the backend)")
    print("then: ecg-desktop team status")
    return 0


async def _status(settings: Settings) -> int:
    checks = [
        await _check_database(settings),
        await _check_live_updates(settings),
        await _check_bucket(settings),
        *await _check_backend(settings),
    ]
    for ok, line in checks:
        print(("ok    " if ok else "FAIL  ") + line)
    return 0 if all(ok for ok, _ in checks) else 1


Check = tuple[bool, str]


async def _check_database(settings: Settings) -> Check:
    from ecg_desktop.app.ports import JobStoreError as StoreError
    from ecg_desktop.bootstrap import open_job_store
    from ecg_desktop.store import head_revision

    try:
        store = await open_job_store(settings.effective_database_url, migrate=False)
    except StoreError as exc:
        return False, f"job store: {exc}"
    try:
        if not store.is_postgresql:
            return False, f"job store: {store.describe()} is not shared; set DATABASE_URL"
        revision, head = await store.current_revision(), head_revision()
        if revision != head:
            return False, (f"job store: {store.describe()} is at schema revision "
                           f"{revision or 'none'}, this version needs {head}: run "
                           "`ecg-desktop db upgrade` (or start `serve` once)")
        return True, (f"job store: {store.describe()}, schema revision {revision}, "
                      f"{await store.count()} job(s)")
    except StoreError as exc:
        return False, f"job store: {exc}"
    finally:
        await store.close()


async def _check_live_updates(settings: Settings) -> Check:
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


async def _check_bucket(settings: Settings) -> Check:
    """A signed write and delete of a probe object: only right credentials pass."""
    from ecg_desktop.app.pipeline import os_user_name
    from ecg_desktop.app.ports import StorageError
    from ecg_desktop.app.team import missing_credentials
    from ecg_desktop.storage import open_storage

    if not settings.s3_bucket_name:
        return False, "storage: no S3 bucket (S3_BUCKET_NAME); videos would stay on this machine"
    where = (f"bucket {settings.s3_bucket_name} at "
             f"{settings.s3_endpoint_url or 'AWS ' + settings.aws_region}")
    problems = [p for p in missing_credentials(settings) if "S3" in p]
    if problems:
        return False, f"storage: {where}: {problems[0]}"
    user = settings.user_name or os_user_name() or "team-status"
    key = f"videos/{user}/.ecg-team-status-{uuid.uuid4().hex}"
    try:
        storage = await asyncio.to_thread(open_storage, settings, lambda: "")
        try:
            with tempfile.TemporaryDirectory() as folder:
                probe = Path(folder) / "probe"
                probe.write_bytes(b"ecg-desktop team status\n")
                await storage.upload(key, probe, "text/plain")
            await storage.delete(key)
        finally:
            await storage.close()
    except StorageError as exc:
        return False, f"storage: {where}: writing a probe object failed: {exc}"
    return True, f"storage: {where}: a probe object was written and deleted"


async def _check_backend(settings: Settings) -> list[Check]:
    """The backend answers, takes this desktop's token, and reaches the ML server."""
    import httpx

    from ecg_desktop.mlclient.backend import ML_HEALTH_PATH

    base = settings.fastapi_base_url.rstrip("/")
    if not base:
        return [(False, "backend: no address (FASTAPI_BASE_URL)")]
    checks: list[Check] = []
    async with httpx.AsyncClient(timeout=15) as client:
        try:
            response = await client.get(base + "/health")
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            return [(False, f"backend: {base} cannot be reached from here: {reason}")]
        if response.status_code != 200:
            return [(False, f"backend: {base}/health answered {response.status_code}")]
        checks.append((True, f"backend: {base} answers; the ML server must reach it too"))
        if not settings.team_token:
            checks.append((False, "backend token: none set (`ecg-desktop secrets set "
                                  "team_token`, or ECG_TEAM_TOKEN)"))
            return checks
        headers = {"Authorization": f"Bearer {settings.team_token}"}
        try:
            response = await client.get(base + ML_HEALTH_PATH, headers=headers)
        except httpx.HTTPError as exc:
            return [*checks, (False, f"backend token: the request failed: {exc}")]
    if response.status_code in (401, 403):
        return [*checks, (False, "backend token: refused by the backend (ask for a new one)")]
    checks.append((True, "backend token: accepted"))
    checks.append(_ml_server_check(response))
    return checks


def _ml_server_check(response: Any) -> Check:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    where = body.get("ml_server_url") or "the ML server"
    if response.status_code == 200 and body.get("status") == "healthy":
        took = body.get("response_time_ms")
        timing = f" in {took:.0f} ms" if isinstance(took, int | float) else ""
        return True, f"ML server: {where} is healthy (the backend asked it{timing})"
    reason = body.get("reason") or body.get("detail") or f"HTTP {response.status_code}"
    return False, f"ML server: {where}, as the backend sees it: {body.get('status')}: {reason}"
