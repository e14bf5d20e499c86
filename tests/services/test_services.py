"""The shared test services are the real thing: the S3 server checks signatures, handles
presigned and multipart uploads; PostgreSQL gives each test its own database; settings and
the keyring are isolated from the user's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import keyring
import psycopg
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ecg_desktop.config.settings import Settings

from .fixtures import SettingsFactory
from .keyring_backend import FileKeyring
from .postgres import PostgresServer
from .processes import ServiceError, start_process
from .swift_s3 import SwiftS3Server

MIB = 1024 * 1024


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_presigned_put_then_get_round_trips(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    client = s3_service.client()
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": s3_bucket, "Key": "a/video.mp4"}, ExpiresIn=60
    )
    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "a/video.mp4"}, ExpiresIn=60
    )
    body = os.urandom(100_000)

    assert httpx.put(put_url, content=body).status_code == 200
    response = httpx.get(get_url)

    assert response.status_code == 200
    assert response.content == body


def test_tampered_presigned_url_is_refused(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    client = s3_service.client()
    client.put_object(Bucket=s3_bucket, Key="secret.mp4", Body=b"private")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "secret.mp4"}, ExpiresIn=60
    )
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    longer_life = _replace_query(url, **{"X-Amz-Expires": "604800"})

    assert httpx.get(url).status_code == 200
    assert httpx.get(_replace_query(url, **{"X-Amz-Signature": flipped})).status_code == 403
    assert httpx.get(longer_life).status_code == 403
    other_key = url.replace("/secret.mp4", "/other.mp4")
    assert httpx.get(other_key).status_code == 403


def test_expired_presigned_url_is_refused(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    client = s3_service.client()
    client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": s3_bucket, "Key": "k"}, ExpiresIn=1
    )
    time.sleep(2.1)

    assert httpx.get(url).status_code == 403


def test_wrong_secret_is_refused(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    client = s3_service.client(aws_secret_access_key="not-the-secret")

    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket=s3_bucket, Key="k", Body=b"x")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_multipart_upload_with_presigned_parts(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    client = s3_service.client()
    key = "big/upload.bin"
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(123_456)]
    upload_id = client.create_multipart_upload(Bucket=s3_bucket, Key=key)["UploadId"]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        url = client.generate_presigned_url(
            "upload_part",
            Params={"Bucket": s3_bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=60,
        )
        response = httpx.put(url, content=data)
        assert response.status_code == 200
        etags.append(response.headers["ETag"])

    listed = client.list_parts(Bucket=s3_bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2, 3]
    client.complete_multipart_upload(
        Bucket=s3_bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i} for i, e in enumerate(etags, 1)]},
    )

    stored = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert stored == b"".join(parts_data)


def test_aborted_multipart_upload_leaves_no_object(
    s3_service: SwiftS3Server, s3_bucket: str
) -> None:
    client = s3_service.client()
    upload_id = client.create_multipart_upload(Bucket=s3_bucket, Key="gone")["UploadId"]
    client.upload_part(Bucket=s3_bucket, Key="gone", UploadId=upload_id, PartNumber=1, Body=b"x")

    client.abort_multipart_upload(Bucket=s3_bucket, Key="gone", UploadId=upload_id)

    with pytest.raises(ClientError) as caught:
        client.head_object(Bucket=s3_bucket, Key="gone")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_each_bucket_is_fresh(s3_service: SwiftS3Server, s3_bucket: str) -> None:
    other = s3_service.create_bucket()

    assert other != s3_bucket
    assert s3_service.client().list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


def test_postgres_url_is_a_fresh_database_dropped_afterwards(
    postgres_service: PostgresServer,
) -> None:
    name = postgres_service.create_database()
    url = postgres_service.url(name, driver="")
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE t (x int)")

    postgres_service.drop_database(name)

    with psycopg.connect(postgres_service.admin_url) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchall()
    assert left == []


def test_postgres_url_uses_psycopg_driver(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")


async def test_database_url_works_with_the_async_engine(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE jobs_probe (id integer PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO jobs_probe VALUES (1)"))
            rows = (await conn.execute(text("SELECT id FROM jobs_probe"))).all()
    finally:
        await engine.dispose()

    assert [tuple(r) for r in rows] == [(1,)]


def test_settings_are_isolated_under_tmp_path(tmp_settings: Settings, tmp_path: Path) -> None:
    assert tmp_settings.data_dir == tmp_path / "data"
    assert os.environ["ECG_CONFIG_DIR"] == str(tmp_path / "config")
    assert tmp_settings.database_url == ""
    assert tmp_settings.aws_secret_access_key == ""


def test_settings_factory_applies_overrides_and_environment(
    settings_factory: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S3_BUCKET_NAME", "from-env")

    settings = settings_factory(ml_api_timeout=12.5)

    assert settings.s3_bucket_name == "from-env"
    assert settings.ml_api_timeout == 12.5


def test_keyring_is_a_file_under_tmp_path(tmp_settings: Settings, tmp_path: Path) -> None:
    keyring.set_password("ecg-desktop", "webhook", "s3cr3t")

    assert isinstance(keyring.get_keyring(), FileKeyring)
    assert keyring.get_password("ecg-desktop", "webhook") == "s3cr3t"
    assert "s3cr3t" in (tmp_path / "keyring.json").read_text()


def test_qt_runs_offscreen() -> None:
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_child_processes_use_the_test_keyring(tmp_settings: Settings, tmp_path: Path) -> None:
    keyring.set_password("ecg-desktop", "webhook", "from-the-parent")
    script = "import keyring; print(keyring.get_password('ecg-desktop', 'webhook'))"

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )

    assert result.stdout.strip() == "from-the-parent"


def test_a_dead_server_process_is_reported_with_its_log(tmp_path: Path) -> None:
    crashing = start_process(
        "swift-account-server", ["sh", "-c", "echo boom; exit 3"], tmp_path / "account.log"
    )
    crashing.popen.wait(10)
    server = SwiftS3Server(
        root=tmp_path / "gone", proxy_port=1, endpoint_url="http://x", processes=[crashing]
    )

    with pytest.raises(ServiceError, match=r"swift-account-server .* code 3(.|\n)*boom"):
        server.check_alive()
