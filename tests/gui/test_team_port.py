"""A taken callback port: a red banner when results need this desktop's server, only a
quiet status-bar note in team mode, where the ML server calls back the team backend."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

BACKEND = "http://backend.team.invalid:8000"


@contextmanager
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_in_team_mode_a_taken_port_is_only_noted(
    start_desktop: Callable[..., Any], peer: Any, postgres_url: str, s3_service: Any,
    s3_bucket: str,
) -> None:
    with taken_port() as port:
        desktop = start_desktop(
            MODEL_SERVER_URL=peer.url, DATABASE_URL=postgres_url, FASTAPI_BASE_URL=BACKEND,
            S3_BUCKET_NAME=s3_bucket, S3_ENDPOINT_URL=s3_service.endpoint_url,
            AWS_ACCESS_KEY_ID=s3_service.access_key,
            AWS_SECRET_ACCESS_KEY=s3_service.secret_key, AWS_REGION=s3_service.region,
            ECG_BIND_PORT=str(port))

        window = desktop.window
        assert not window.banner.isVisible()
        note = window.status.currentMessage()
        assert str(port) in note and "team backend" in note and BACKEND in note
        assert window.core is not None


def test_without_a_shared_store_a_taken_port_still_raises_the_banner(
    start_desktop: Callable[..., Any], peer: Any,
) -> None:
    # A callback URL alone is no team: it may be this desktop's own address behind a router.
    with taken_port() as port:
        desktop = start_desktop(MODEL_SERVER_URL=peer.url, FASTAPI_BASE_URL=BACKEND,
                                ECG_BIND_PORT=str(port))

        assert desktop.window.banner.isVisible()
        assert f"127.0.0.1:{port}" in desktop.window.banner.label.text()
        assert desktop.window.status.currentMessage() == ""
