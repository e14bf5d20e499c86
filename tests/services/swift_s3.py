"""A real S3-compatible server for tests: OpenStack Swift with its ``s3api`` middleware.

Swift checks S3 signatures (a tampered, expired or wrongly signed request gets 403), handles
presigned URLs and multipart uploads, and ships in Debian. It runs on the system Python
(``/usr/bin/python3`` with ``python3-swift``), never in the project's virtual environment.

Each :class:`SwiftS3Server` uses its own free loopback ports, its own memcached and its own
temporary data folder, so several test runs on one machine never collide.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .processes import (
    ChildProcess,
    ServiceError,
    free_ports,
    port_accepts,
    start_process,
    wait_until,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"
INSTALL_HINT = (
    "install it with: apt-get install -y swift swift-proxy swift-account swift-container "
    "swift-object python3-swift memcached (scripts/test does this)"
)
_RING_SCRIPT = Path(__file__).with_name("_swift_rings.py")

PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth "
    "copy slo dlo proxy-logging proxy-server"
)

_SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = ecg-test-suffix
swift_hash_path_prefix = ecg-test-prefix

[storage-policy:0]
name = Policy-0
default = yes
"""

_COMMON = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
devices = {devices}
mount_check = false
disable_fallocate = true
workers = 0
swift_dir = {conf_dir}
user = {user}
log_level = {log_level}
"""

_BACKEND = (
    _COMMON
    + """
[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
"""
)

_PROXY = (
    _COMMON
    + """
[pipeline:main]
pipeline = {pipeline}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = {region}

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = {secret} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcache_port}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
"""
)


def missing_requirements() -> list[str]:
    """What this machine lacks to run the server (empty when it has everything)."""
    missing = [
        path
        for path in (
            SYSTEM_PYTHON,
            "/usr/bin/swift-proxy-server",
            "/usr/bin/swift-object-server",
            "/usr/bin/swift-container-server",
            "/usr/bin/swift-account-server",
        )
        if not os.path.exists(path)
    ]
    if shutil.which("memcached") is None:
        missing.append("memcached")
    return missing


@dataclass
class SwiftS3Server:
    """One running Swift + s3api server; connect with boto3 (path style, SigV4)."""

    root: Path
    proxy_port: int
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    processes: list[ChildProcess] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def check_alive(self) -> None:
        """Raise ``ServiceError`` with the log of any server process that has died."""
        for child in self.processes:
            if child.exited():
                raise ServiceError(
                    f"{child.name} (pid {child.pid}) exited with code {child.popen.returncode}; "
                    f"last log lines:\n{child.log_tail()}"
                )

    def client(self, **overrides: Any) -> S3Client:
        """A new boto3 S3 client for this server (path style, SigV4); ``overrides`` replace
        client arguments, e.g. ``aws_secret_access_key="wrong"``."""
        import boto3
        from botocore.config import Config

        arguments: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
            "config": Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        }
        arguments.update(overrides)
        return boto3.client("s3", **arguments)

    @cached_property
    def admin_client(self) -> S3Client:
        """One shared client for fixtures' own calls (creating buckets)."""
        return self.client()

    def create_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.admin_client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        for child in reversed(self.processes):
            try:
                child.stop()
            except Exception:  # keep stopping the others
                logger.exception("could not stop %s (pid %s)", child.name, child.pid)
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SwiftS3Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_swift_s3(
    *, startup_timeout: float = 60.0, attempts: int = 3, log_level: str = "INFO"
) -> SwiftS3Server:
    """Start memcached and the four Swift servers; retry if a port was taken meanwhile."""
    missing = missing_requirements()
    if missing:
        raise ServiceError(f"the S3 test server needs {', '.join(missing)}; {INSTALL_HINT}")
    last_error: ServiceError | None = None
    for _ in range(attempts):
        root = Path(tempfile.mkdtemp(prefix="ecg-swift-"))
        try:
            return _start_once(root, startup_timeout=startup_timeout, log_level=log_level)
        except ServiceError as exc:
            last_error = exc
            logger.warning("Swift test server did not start, retrying: %s", exc)
    assert last_error is not None
    raise last_error


def _start_once(root: Path, *, startup_timeout: float, log_level: str) -> SwiftS3Server:
    conf_dir, devices, logs = root / "etc", root / "srv", root / "log"
    for folder in (conf_dir, devices / "d1", logs):
        folder.mkdir(parents=True)
    object_port, container_port, account_port, proxy_port, memcache_port = free_ports(5)
    server = SwiftS3Server(
        root=root, proxy_port=proxy_port, endpoint_url=f"http://127.0.0.1:{proxy_port}"
    )
    try:
        _write_configs(
            conf_dir,
            devices,
            ports={"object": object_port, "container": container_port, "account": account_port},
            proxy_port=proxy_port,
            memcache_port=memcache_port,
            log_level=log_level,
        )
        _build_rings(conf_dir, object_port, container_port, account_port)
        memcached = ["memcached", "-l", "127.0.0.1", "-p", str(memcache_port), "-U", "0"]
        if os.geteuid() == 0:
            memcached += ["-u", "root"]  # memcached refuses to run as root without it
        server.processes.append(start_process("memcached", memcached, logs / "memcached.log"))
        for kind in ("account", "container", "object", "proxy"):
            # -v: log to the console, which is our log file
            argv = [SYSTEM_PYTHON, f"/usr/bin/swift-{kind}-server", f"{conf_dir}/{kind}.conf", "-v"]
            name = f"swift-{kind}-server"
            server.processes.append(start_process(name, argv, logs / f"{kind}.log"))
        ports = [memcache_port, account_port, container_port, object_port]
        wait_until(
            lambda: all(port_accepts(p) for p in ports) and _healthy(server.endpoint_url),
            timeout=startup_timeout,
            what=f"the Swift S3 server on {server.endpoint_url}",
            watch=server.processes,
        )
    except BaseException:
        server.stop()
        raise
    logger.info("Swift S3 server at %s (pids %s)", server.endpoint_url, server.pids)
    return server


def _write_configs(
    conf_dir: Path,
    devices: Path,
    *,
    ports: dict[str, int],
    proxy_port: int,
    memcache_port: int,
    log_level: str,
) -> None:
    common = {
        "devices": devices,
        "conf_dir": conf_dir,
        "user": getpass.getuser(),
        "log_level": log_level,
    }
    (conf_dir / "swift.conf").write_text(_SWIFT_CONF)
    for kind, port in ports.items():
        (conf_dir / f"{kind}.conf").write_text(_BACKEND.format(kind=kind, port=port, **common))
    (conf_dir / "proxy.conf").write_text(
        _PROXY.format(
            port=proxy_port,
            pipeline=PROXY_PIPELINE,
            region=REGION,
            secret=SECRET_KEY,
            memcache_port=memcache_port,
            **common,
        )
    )


def _build_rings(conf_dir: Path, object_port: int, container_port: int, account_port: int) -> None:
    argv = [SYSTEM_PYTHON, str(_RING_SCRIPT), str(conf_dir)]
    argv += [str(object_port), str(container_port), str(account_port)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"building the Swift rings failed: {result.stderr.strip()}")


def _healthy(endpoint_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint_url}/healthcheck", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    """Run a server in the foreground to try the app against S3 by hand.

    ``python -m tests.services.swift_s3 [BUCKET]`` (or ``scripts/s3-server``) creates the
    bucket and prints the settings that point the app at it. Data is deleted on Ctrl-C.
    """
    import signal
    import sys

    logging.basicConfig(level=logging.WARNING)
    bucket = sys.argv[1] if len(sys.argv) > 1 else "ecg-videos"
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with start_swift_s3() as server:
        server.admin_client.create_bucket(Bucket=bucket)
        print("S3-compatible server (OpenStack Swift + s3api) is running. In another shell:")
        print(f"  export S3_ENDPOINT_URL={server.endpoint_url}")
        print(f"  export AWS_ACCESS_KEY_ID={server.access_key}")
        print(f"  export AWS_SECRET_ACCESS_KEY={server.secret_key}")
        print(f"  export AWS_REGION={server.region}")
        print(f"  export S3_BUCKET_NAME={bucket}")
        print(f"Data in {server.root} (deleted on exit). Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
