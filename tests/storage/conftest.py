"""Fixtures for the storage adapters: S3 settings on the Swift test server, random files,
and an httpx client that records every request the adapter makes."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecg_desktop.config import Settings
from ecg_desktop.storage import S3Storage

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part S3 allows


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 4 * MiB))
            handle.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def sha256_of_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sha256_of_object(client: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(MiB), b""):
        digest.update(chunk)
    return digest.hexdigest()


class RequestLog:
    """Every request an adapter sends through ``client()``, and how many were in flight."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_before_sending_s = 0.0
        self.before_sending: Callable[[httpx.Request], None] | None = None

    async def _on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.before_sending is not None:
            self.before_sending(request)
        if self.delay_before_sending_s:
            await asyncio.sleep(self.delay_before_sending_s)

    async def _on_response(self, response: httpx.Response) -> None:
        self.in_flight -= 1

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
            timeout=httpx.Timeout(30.0, read=120.0, write=120.0),
        )

    def part_numbers(self) -> list[int]:
        """Part numbers of the S3 part PUTs, in the order they were sent."""
        return [
            int(r.url.params["partNumber"])
            for r in self.requests
            if r.method == "PUT" and "partNumber" in r.url.params
        ]

    def puts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "PUT"]


@pytest.fixture
def s3_settings(
    settings_factory: Callable[..., Settings], s3_service: Any, s3_bucket: str
) -> Settings:
    return settings_factory(
        s3_bucket_name=s3_bucket,
        s3_endpoint_url=s3_service.endpoint_url,
        aws_access_key_id=s3_service.access_key,
        aws_secret_access_key=s3_service.secret_key,
        aws_region=s3_service.region,
        upload_part_size=PART,
        upload_concurrency=3,
    )


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
async def s3_storage(s3_settings: Settings, request_log: RequestLog) -> AsyncIterator[S3Storage]:
    storage = S3Storage(s3_settings, http=request_log.client())
    yield storage
    await storage.close()


@pytest.fixture
def s3_admin(s3_service: Any) -> Any:
    """A plain boto3 client to look at the server from outside the adapter."""
    return s3_service.admin_client
