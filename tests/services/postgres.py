"""A real PostgreSQL for tests: the machine's Debian cluster, one fresh database per test.

The cluster (``pg_ctlcluster``) is a system service shared by every test run on the machine,
so it is started when needed but never stopped here: another run may be using it. A file
lock serialises the start-up and the creation of the test role between concurrent runs.

Set ``ECG_TEST_POSTGRES_URL`` (``postgresql://user:password@host:port/db`` of a role that may
create databases) to use another server instead; then nothing is started.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from .processes import ServiceError, port_accepts, wait_until

logger = logging.getLogger(__name__)

ROLE = "ecg_test"
PASSWORD = "ecg_test"
URL_VARIABLE = "ECG_TEST_POSTGRES_URL"
INSTALL_HINT = "install it with: apt-get install -y postgresql (scripts/test does this)"
_LOCK_PATH = Path(tempfile.gettempdir()) / "ecg-test-postgres.lock"


@dataclass(frozen=True)
class PostgresServer:
    """Where to reach the server, as a role allowed to create databases."""

    host: str
    port: int
    user: str
    password: str
    admin_database: str = "postgres"

    def url(self, database: str, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL, ``postgresql+psycopg://...`` by default (driver "" for libpq)."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"{scheme}://{credentials}@{self.host}:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url(self.admin_database, driver="")

    def create_database(self) -> str:
        name = f"ecg_test_{uuid.uuid4().hex[:16]}"
        self._execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a failed test left open, so the drop never hangs. It cannot
        # end an autovacuum worker (started after a test's bulk inserts) without
        # pg_signal_backend: then wait for the worker and try again.
        import psycopg

        for attempt in range(20):
            try:
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == 19:
                    raise
                time.sleep(0.5)

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement.encode())


def start_postgres(*, startup_timeout: float = 60.0) -> PostgresServer:
    external = os.environ.get(URL_VARIABLE)
    if external:
        return _from_url(external)
    with _file_lock(_LOCK_PATH):
        port = _ensure_cluster_running(startup_timeout)
        server = PostgresServer(host="127.0.0.1", port=port, user=ROLE, password=PASSWORD)
        if not _can_connect(server):
            _create_role(port)
            if not _can_connect(server):
                raise ServiceError(
                    f"role {ROLE} still cannot log in on 127.0.0.1:{port}; check pg_hba.conf "
                    "allows password (scram-sha-256 or md5) logins from 127.0.0.1"
                )
    return server


def _from_url(url: str) -> PostgresServer:
    parts = urlsplit(url)
    if not parts.hostname or not parts.username:
        raise ServiceError(f"{URL_VARIABLE} must look like postgresql://user:password@host:port/db")
    server = PostgresServer(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password or "",
        admin_database=parts.path.lstrip("/") or "postgres",
    )
    if not _can_connect(server):
        raise ServiceError(f"cannot connect to the PostgreSQL server named by {URL_VARIABLE}")
    return server


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_cluster_running(timeout: float) -> int:
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        raise ServiceError(f"PostgreSQL is not installed (no pg_lsclusters); {INSTALL_HINT}")
    version, name, port, status = _pick_cluster()
    if status != "online":
        logger.info("starting PostgreSQL cluster %s/%s", version, name)
        result = subprocess.run(
            ["pg_ctlcluster", version, name, "start"], capture_output=True, text=True, check=False
        )
        if result.returncode != 0 and _pick_cluster()[3] != "online":
            raise ServiceError(
                f"`pg_ctlcluster {version} {name} start` failed: "
                f"{(result.stderr or result.stdout).strip()}"
            )
    wait_until(lambda: port_accepts(port), timeout=timeout, what=f"PostgreSQL on port {port}")
    return port


def _pick_cluster() -> tuple[str, str, int, str]:
    """(version, name, port, status) of the cluster to use: 15/main if present, else the first."""
    result = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    )
    clusters = [line.split() for line in result.stdout.splitlines() if line.strip()]
    if not clusters:
        raise ServiceError(
            "no PostgreSQL cluster exists; create one with `pg_createcluster 15 main` "
            f"or {INSTALL_HINT}"
        )
    preferred = [c for c in clusters if c[:2] == ["15", "main"]] or clusters
    version, name, port, status = preferred[0][:4]
    return version, name, int(port), status


def _can_connect(server: PostgresServer) -> bool:
    import psycopg

    try:
        with psycopg.connect(server.admin_url, connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


def _create_role(port: int) -> None:
    sql = (
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
        f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'; "
        f"ELSE ALTER ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'; "
        "END IF; END $$;"
    )
    psql = ["psql", "-X", "-q", "-p", str(port), "-d", "postgres", "-v", "ON_ERROR_STOP=1"]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *psql, "-c", sql]
    else:  # works when run as the postgres OS user (peer authentication)
        argv = [*psql, "-c", sql]
    # psql as the postgres OS user may not read the current directory; run it from /.
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
    if result.returncode != 0:
        raise ServiceError(
            f"cannot create the test role {ROLE}: {result.stderr.strip()} "
            f"(run the tests as root, or set {URL_VARIABLE})"
        )
