"""What the pipeline and team tests share: a running protocol peer, the settings of a core
whose ML server is that peer, and the settings of one on the tests' S3 service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tests.app.peer import ProtocolPeer

FAST_RETRIES = (0.05, 0.1)


async def running_peer(secret: str) -> AsyncIterator[ProtocolPeer]:
    """A fixture body: the peer started with ``secret``, stopped afterwards."""
    server = ProtocolPeer(secret)
    await server.start()
    yield server
    await server.stop()


def peer_core_settings(
    peer: ProtocolPeer, secret: str, default_database_url: str, **overrides: Any
) -> dict[str, Any]:
    """Settings of a core dispatching to ``peer`` with fast retries, its server on a free
    loopback port; ``overrides`` win (``database_url`` among them)."""
    return {
        "model_server_url": peer.url,
        "webhook_secret_key": secret,
        "ml_retry_delays": FAST_RETRIES,
        "ml_api_timeout": 10.0,
        "database_url": default_database_url,
        "bind_host": "127.0.0.1",
        "bind_port": 0,
        **overrides,
    }


def s3_settings(s3_service: Any, bucket: str, **changes: Any) -> dict[str, Any]:
    """Settings of a core storing in ``bucket`` on the tests' S3 service; ``changes`` win."""
    return {
        "s3_bucket_name": bucket,
        "s3_endpoint_url": s3_service.endpoint_url,
        "aws_access_key_id": s3_service.access_key,
        "aws_secret_access_key": s3_service.secret_key,
        "aws_region": s3_service.region,
        **changes,
    }
