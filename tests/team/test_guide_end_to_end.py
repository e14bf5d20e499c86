"""docs/team.md followed literally, with the project's own analyzer as the team's ML server.

Real PostgreSQL (password-less URL, the password in a PGPASSFILE), the S3-compatible test
server, ``ecg-desktop ml-server`` checking dispatch signatures with the team's webhook
secret, ``ecg-desktop serve`` with one named API token per member, and two desktops as two
users with their own config, data and keyring folders, each running the guide's commands:
``team preset``, ``secrets set``, ``team status``, ``process``, ``jobs list``, ``export``.
Neither desktop has the team's secret; both jobs complete; each desktop lists both with
their owners and exports the other's transcript exactly as its owner does.

The commands below are the guide's, with the test's addresses (loopback, ports picked here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.media import make_speech_video
from tests.services.keyring_backend import FILE_VARIABLE as KEYRING_FILE
from tests.services.processes import ChildProcess, free_ports, start_process, wait_until

pytestmark = pytest.mark.timeout(600)

TEAM_SECRET = "the-teams-webhook-secret"
TOKENS = {"ana": "token-of-ana", "bo": "token-of-bo"}
ANALYZER_LISTENING = re.compile(r"ANALYZER_LISTENING (http://\S+)")
SERVE_LISTENING = re.compile(r"ECG backend listening on (http://\S+)")
COMMAND_TIMEOUT_S = 240


@dataclass
class Team:
    database_url: str  # no password: it is in PGPASSFILE, as the guide says
    pgpass: Path
    bucket: str
    endpoint: str
    region: str
    access_key: str
    secret_key: str
    ml_server: str = ""
    backend: str = ""


@dataclass
class Member:
    """One analyst's desktop: their own folders and keyring; the guide's commands."""

    name: str
    home: Path
    base_env: Mapping[str, str]

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.base_env,
            "ECG_CONFIG_DIR": str(self.home / "config"),
            "ECG_DATA_DIR": str(self.home / "data"),
            "ECG_LOG_DIR": str(self.home / "log"),
            KEYRING_FILE: str(self.home / "keyring.json"),
        }

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ecg_desktop", *args], env=self.env, input=stdin,
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"{self.name}: {' '.join(args)}\n{done.stdout}{done.stderr}"
        return done.stdout


def base_environment() -> dict[str, str]:
    """This process's environment without any setting of the app (each party sets its own)."""
    drop = re.compile(r"^(ECG_|AWS_|S3_|DATABASE_URL|MODEL_SERVER_URL|FASTAPI_BASE_URL|"
                      r"WEBHOOK_SECRET_KEY|SECRET_KEY|PG)")
    return {k: v for k, v in os.environ.items() if not drop.match(k)}


@pytest.fixture
def team_parts(postgres_service: Any, s3_service: Any, s3_bucket: str,
               tmp_path: Path) -> Iterator[Team]:
    database = postgres_service.create_database()
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{postgres_service.host}:{postgres_service.port}:{database}:"
                      f"{postgres_service.user}:{postgres_service.password}\n")
    pgpass.chmod(0o600)
    try:
        yield Team(
            database_url=(f"postgresql://{postgres_service.user}@{postgres_service.host}:"
                          f"{postgres_service.port}/{database}"),
            pgpass=pgpass, bucket=s3_bucket, endpoint=s3_service.endpoint_url,
            region=s3_service.region, access_key=s3_service.access_key,
            secret_key=s3_service.secret_key,
        )
    finally:
        postgres_service.drop_database(database)


def start_and_wait(name: str, argv: list[str], env: Mapping[str, str], log: Path,
                   announced: re.Pattern[str], running: list[ChildProcess]) -> str:
    child = start_process(name, argv, log, env)
    running.append(child)
    found: list[str] = []

    def ready() -> bool:
        match = announced.search(log.read_text(encoding="utf-8", errors="replace"))
        if match:
            found.append(match.group(1))
        return match is not None

    wait_until(ready, timeout=120, what=f"{name} to listen", watch=[child])
    return found[0]


@pytest.fixture
def running_team(team_parts: Team, tmp_path: Path) -> Iterator[Team]:
    """Steps 3 and 4 of the guide: the ML server and the team backend."""
    team = team_parts
    running: list[ChildProcess] = []
    base = {**base_environment(), "PGPASSFILE": str(team.pgpass)}
    try:
        # 3. The ML server, with the team's webhook secret: it checks every dispatch's signature.
        ml_env = {**base, "WEBHOOK_SECRET_KEY": TEAM_SECRET, "ECG_DATA_DIR": str(tmp_path / "ml")}
        team.ml_server = start_and_wait(
            "ml-server", [sys.executable, "-m", "ecg_desktop", "ml-server", "--host",
                          "127.0.0.1", "--port", "0"],
            ml_env, tmp_path / "ml-server.log", ANALYZER_LISTENING, running)
        # 4. The team backend on a network bind (so tokens are required), reached on loopback.
        port = free_ports(1)[0]
        team.backend = f"http://127.0.0.1:{port}"
        serve_env = {
            **base,
            "DATABASE_URL": team.database_url,
            "S3_BUCKET_NAME": team.bucket, "S3_ENDPOINT_URL": team.endpoint,
            "AWS_REGION": team.region, "AWS_ACCESS_KEY_ID": team.access_key,
            "AWS_SECRET_ACCESS_KEY": team.secret_key,
            "MODEL_SERVER_URL": team.ml_server,
            "FASTAPI_BASE_URL": team.backend,
            "WEBHOOK_SECRET_KEY": TEAM_SECRET,
            "ECG_API_TOKENS": ",".join(f"{name}:{token}" for name, token in TOKENS.items()),
            "ECG_DATA_DIR": str(tmp_path / "serve" / "data"),
            "ECG_CONFIG_DIR": str(tmp_path / "serve" / "config"),
            KEYRING_FILE: str(tmp_path / "serve" / "keyring.json"),
        }
        start_and_wait(
            "serve", [sys.executable, "-m", "ecg_desktop", "serve", "--host", "0.0.0.0",
                      "--port", str(port)],
            serve_env, tmp_path / "serve.log", SERVE_LISTENING, running)
        yield team
    finally:
        for child in reversed(running):
            child.stop(timeout=20)


def join(member: Member, team: Team) -> None:
    """Step 5 of the guide, as the member types it."""
    member.ok("team", "preset", "--database-url", team.database_url, "--bucket", team.bucket,
              "--s3-endpoint-url", team.endpoint, "--region", team.region,
              "--access-key-id", team.access_key, "--callback-url", team.backend,
              "--user", member.name)
    member.ok("secrets", "set", "aws_secret_access_key", stdin=team.secret_key + "\n")
    member.ok("secrets", "set", "team_token", stdin=TOKENS[member.name] + "\n")
    status = member.ok("team", "status")
    assert "FAIL" not in status and "ML server" in status, status


def test_the_guide_with_the_reference_analyzer_gives_two_completed_cross_exportable_jobs(
    running_team: Team, tmp_path: Path, settings_factory: Any
) -> None:
    settings_factory()  # nothing of the test run's own settings reaches the children
    team = running_team
    base = {**base_environment(), "PGPASSFILE": str(team.pgpass)}
    members = {name: Member(name, tmp_path / name, base) for name in TOKENS}
    videos = {
        "ana": make_speech_video(tmp_path / "ana-interview.mp4",
                                 [("en-us", "Hello team, the budget is ready.", 0)]).path,
        "bo": make_speech_video(tmp_path / "bo-meeting.mp4",
                                [("en-us+f3", "Thank you, see you on Monday.", 0)]).path,
    }
    for member in members.values():
        join(member, team)
        assert TEAM_SECRET not in (member.home / "config").joinpath("settings.toml").read_text()

    # Both process at once, as two analysts would.
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    threads = [threading.Thread(target=lambda m=m: results.__setitem__(
        m.name, m.run("process", str(videos[m.name])))) for m in members.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, done in results.items():
        assert done.returncode == 0, f"{name}: process\n{done.stdout}{done.stderr}"
        assert "1 of 1 file(s) completed" in done.stdout

    listings = {name: json.loads(m.ok("jobs", "list", "--json")) for name, m in members.items()}
    for name, jobs in listings.items():
        owners = sorted((j["owner"], j["filename"], j["status"]) for j in jobs)
        assert owners == [("ana", "ana-interview.mp4", "completed"),
                          ("bo", "bo-meeting.mp4", "completed")], name
        for job in jobs:  # only the owner sees the path on their computer; no link anywhere
            assert (job["local_path"] is not None) == (job["owner"] == name)
            assert job["video_url"] is None
            assert job["file_key"].startswith(f"videos/{job['owner']}/")
    job_of = {j["owner"]: j["job_id"] for j in listings["ana"]}

    exports = {}
    for exporter, owner in (("ana", "bo"), ("bo", "ana"), ("ana", "ana"), ("bo", "bo")):
        target = tmp_path / f"{exporter}-exports-{owner}.txt"
        members[exporter].ok("export", job_of[owner], "--format", "txt", "--output", str(target))
        exports[exporter, owner] = target.read_text(encoding="utf-8")
    assert exports["bo", "ana"] == exports["ana", "ana"]
    assert exports["ana", "bo"] == exports["bo", "bo"]
    assert re.search(r"budget", exports["bo", "ana"], re.IGNORECASE), exports["bo", "ana"]
    assert re.search(r"monday", exports["ana", "bo"], re.IGNORECASE), exports["ana", "bo"]

    # The ML server took only signed dispatches, from the backend; a member's own secret (each
    # desktop generated one) would have been refused.
    ml_log = (tmp_path / "ml-server.log").read_text(encoding="utf-8", errors="replace")
    assert "signature invalid" not in ml_log


def test_a_desktop_signing_with_its_own_secret_is_refused_by_the_ml_server(
    running_team: Team, tmp_path: Path, settings_factory: Any
) -> None:
    """Why desktops go through the backend: the analyzer refuses the signature of the secret
    a desktop generates for itself (the failure that started issue 16)."""
    import httpx

    from ecg_desktop.domain.signatures import COMPAT_HEADER, compat_signature

    body = json.dumps({"job_id": "00000000-0000-4000-8000-000000000001",
                       "video_url": "http://127.0.0.1:9/v.mp4",
                       "fastapi_base_url": running_team.backend, "language": "en"}).encode()
    answer = httpx.post(running_team.ml_server + "/api/upload-video/process-video",
                        content=body, headers={
                            "Content-Type": "application/json",
                            COMPAT_HEADER: compat_signature("a-desktops-own-secret", body)})
    assert answer.status_code == 401
