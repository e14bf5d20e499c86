"""``ObjectStorage`` on AWS S3 or any S3-compatible store.

boto3 only signs URLs and makes the small control calls (create/list/complete/abort a
multipart upload, head, delete), always in a worker thread so the event loop never waits on
it. The bytes travel over one long-lived ``httpx.AsyncClient``: a presigned PUT for a file of
at most one part, presigned part URLs for a bigger one with several parts in flight, each
streamed from disk a chunk at a time (neither the file nor a part is ever held in memory).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import boto3
import httpx
from botocore.config import Config

from ecg_desktop.app.ports import (
    PartCallback,
    RestartCallback,
    StorageError,
)
from ecg_desktop.config import Settings
from ecg_desktop.domain import UploadState

from ._etags import md5_of_region, multipart_etag, same_etag
from ._s3_errors import (
    S3Error,
    S3Unreachable,
    first_error,
    refused_upload,
    retryable,
    translated,
    transport_error_text,
)
from ._transfer import (
    FileSnapshot,
    ProgressTicker,
    StateKeeper,
    open_for_reading,
    part_count,
    part_span,
    stale_reason,
    with_retries,
)
from ._upload import ResumableUploader, changed_while_uploading, put_region, retried_from_file

logger = logging.getLogger(__name__)

class S3Storage(ResumableUploader):
    """Videos in an S3 bucket (``S3_BUCKET_NAME``), on AWS or at ``S3_ENDPOINT_URL``."""

    def __init__(self, settings: Settings, *, http: httpx.AsyncClient | None = None) -> None:
        if not settings.s3_bucket_name:
            raise StorageError("S3 storage needs a bucket name (S3_BUCKET_NAME)")
        self.bucket = settings.s3_bucket_name
        self.endpoint_url = settings.s3_endpoint_url or None
        self.region = settings.aws_region
        self.part_size = settings.upload_part_size
        self.concurrency = settings.upload_concurrency
        self.url_expiry_s = settings.s3_presigned_url_expire
        self._access_key = settings.aws_access_key_id
        self._secret_key = settings.aws_secret_access_key
        self._session_token = settings.aws_session_token
        self._s3: Any = None
        self._s3_lock = asyncio.Lock()
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=300.0, write=300.0, pool=None),
            limits=httpx.Limits(max_connections=max(8, 2 * self.concurrency)),
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint={self.endpoint_url or self.region!r})"

    def describe(self) -> str:
        return f"S3 bucket {self.bucket} ({self.endpoint_url or self.region})"

    async def close(self) -> None:
        await self._http.aclose()
        if self._s3 is not None:
            await asyncio.to_thread(self._s3.close)
            self._s3 = None

    # -- the upload -----------------------------------------------------------------------

    async def _start_parts(
        self, key: str, content_type: str, snapshot: FileSnapshot, on_part: PartCallback | None
    ) -> StateKeeper:
        created = await self._call(
            "Starting the multipart upload",
            "create_multipart_upload",
            Bucket=self.bucket,
            Key=key,
            ContentType=content_type,
        )
        state = UploadState(
            upload_id=created["UploadId"],
            part_size=self.part_size,
            file_size=snapshot.size,
            file_mtime_ns=snapshot.mtime_ns,
        )
        keeper = StateKeeper(state, on_part)
        await keeper.publish()  # the upload id is known before any byte is sent
        return keeper

    async def _resumable(
        self,
        key: str,
        path: Path,
        snapshot: FileSnapshot,
        resume: UploadState | None,
        on_restart: RestartCallback | None,
    ) -> UploadState | None:
        """``resume`` keeping only the parts the server confirms, or ``None`` to start over.

        A part counts when the server lists it with the ETag recorded for it, or, for a part
        that finished just before a crash and so was never recorded, with the MD5 of that
        region of the file (S3's part ETag): hashing it locally is far cheaper than sending
        it again.
        """
        if resume is None or resume.upload_id is None:
            return None
        reason = stale_reason(resume, snapshot)
        listed: dict[int, str] | None = None
        if reason is None:
            listed = await self._list_parts(key, resume.upload_id)
            if listed is None:
                reason = "the storage server no longer has the unfinished upload, so it starts over"
        if reason is not None or listed is None:
            await self._abort_upload_id(key, resume.upload_id)
            logger.warning("Not resuming the upload of %s: %s", key, reason)
            if on_restart is not None and reason:
                on_restart(reason)
            return None
        confirmed = {
            number: etag
            for number, etag in resume.parts.items()
            if same_etag(listed.get(number), etag)
        }
        if len(confirmed) != len(resume.parts):
            logger.info(
                "Resuming %s: %d of %d recorded parts confirmed by the server",
                key, len(confirmed), len(resume.parts),
            )
        count = part_count(resume.file_size, resume.part_size)
        for number, etag in sorted(listed.items()):
            if number in confirmed or number > count:
                continue
            offset, length = part_span(number, resume.file_size, resume.part_size)
            if await asyncio.to_thread(md5_of_region, path, offset, length) == etag.strip('"'):
                logger.info("Resuming %s: part %d was sent but not recorded; kept", key, number)
                confirmed[number] = etag
        return UploadState(
            upload_id=resume.upload_id,
            part_size=resume.part_size,
            file_size=resume.file_size,
            file_mtime_ns=resume.file_mtime_ns,
            parts=confirmed,
        )

    async def _completed_before(
        self, key: str, snapshot: FileSnapshot, resume: UploadState
    ) -> bool:
        """Whether the upload ``resume`` describes was completed (the app stopped before
        recording it): every part recorded, and the object's ETag is the multipart ETag of
        those parts (the MD5 of their MD5s, then ``-`` and their count)."""
        count = part_count(resume.file_size, resume.part_size)
        if (
            resume.upload_id is None
            or stale_reason(resume, snapshot) is not None
            or set(resume.parts) != set(range(1, count + 1))
        ):
            return False
        try:
            head = await self._call(
                "Looking up the object", "head_object", Bucket=self.bucket, Key=key
            )
        except S3Error as exc:
            if exc.http_status == 404:
                return False
            raise
        expected = multipart_etag([resume.parts[n] for n in range(1, count + 1)])
        stored_size = int(head.get("ContentLength", -1))
        return stored_size == resume.file_size and same_etag(head.get("ETag"), expected)

    async def _list_parts(self, key: str, upload_id: str) -> dict[int, str] | None:
        """Part number -> ETag as the server lists them; ``None`` if it has no such upload."""
        parts: dict[int, str] = {}
        marker = 0
        while True:
            try:
                page = await self._call(
                    "Listing the uploaded parts",
                    "list_parts",
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumberMarker=marker,
                )
            except S3Error as exc:
                if exc.code == "NoSuchUpload" or exc.http_status == 404:
                    return None
                raise
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = str(part["ETag"])
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    async def _send_parts(
        self, key: str, path: Path, content_type: str, keeper: StateKeeper, ticker: ProgressTicker
    ) -> None:
        state = keeper.state
        assert state.upload_id is not None
        upload_id = state.upload_id
        count = part_count(state.file_size, state.part_size)
        missing = [n for n in range(1, count + 1) if n not in state.parts]
        queue = iter(missing)
        fd = await asyncio.to_thread(open_for_reading, path)

        async def worker() -> None:
            for number in queue:
                offset, length = part_span(number, state.file_size, state.part_size)
                etag = await self._put_part(key, upload_id, number, fd, offset, length, ticker)
                await keeper.record(number, etag)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(missing))):
                    group.create_task(worker())
        except ExceptionGroup as errors:
            raise first_error(errors) from None
        finally:
            os.close(fd)

    async def _put_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        fd: int,
        offset: int,
        length: int,
        ticker: ProgressTicker,
    ) -> str:
        async def attempt() -> str:
            url = await self._presign(
                "upload_part",
                {"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            )
            response = await self._stream_put(url, fd, offset, length, ticker, {})
            etag = str(response.headers.get("ETag", ""))
            if not etag:
                raise S3Error(f"the server did not return an ETag for part {number} of {key}")
            return etag

        return await with_retries(attempt, retryable=retryable, what=f"part {number} of {key}")

    async def _send_whole(
        self, key: str, path: Path, content_type: str, size: int, ticker: ProgressTicker
    ) -> None:
        async def attempt(fd: int) -> str:
            url = await self._presign(
                "put_object", {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
            )
            headers = {"Content-Type": content_type}
            response = await self._stream_put(url, fd, 0, size, ticker, headers)
            return str(response.headers.get("ETag", ""))

        await retried_from_file(path, attempt, retryable=retryable, what=f"the upload of {key}")

    async def _stream_put(
        self,
        url: str,
        fd: int,
        offset: int,
        length: int,
        ticker: ProgressTicker,
        headers: dict[str, str],
    ) -> httpx.Response:
        """PUT ``length`` bytes of ``fd`` to a presigned ``url``; raises unless 2xx."""
        return await put_region(
            self._http, url, fd, offset, length, ticker, headers,
            accepted=lambda response: response.is_success,
            refused=refused_upload,
            unreachable=lambda exc: S3Unreachable(
                f"cannot reach the S3 server: {transport_error_text(exc)}"
            ),
        )

    async def _finish_parts(
        self, key: str, path: Path, started: FileSnapshot, state: UploadState
    ) -> None:
        assert state.upload_id is not None
        now = await asyncio.to_thread(FileSnapshot.of, path)
        if now != started:
            await self._abort_upload_id(key, state.upload_id)
            raise changed_while_uploading(path)
        parts = [{"PartNumber": n, "ETag": state.parts[n]} for n in sorted(state.parts)]
        await self._call(
            "Completing the multipart upload",
            "complete_multipart_upload",
            Bucket=self.bucket,
            Key=key,
            UploadId=state.upload_id,
            MultipartUpload={"Parts": parts},
        )

    # -- the rest of the port -------------------------------------------------------------

    async def abort(self, key: str, state: UploadState | None) -> None:
        """Abort the multipart upload of ``state`` and any other unfinished one of ``key``."""
        if state is not None and state.upload_id:
            await self._abort_upload_id(key, state.upload_id)
        listing = await self._call(
            "Listing unfinished uploads",
            "list_multipart_uploads",
            Bucket=self.bucket,
            Prefix=key,
        )
        for upload in listing.get("Uploads", []):
            if upload.get("Key") == key:
                await self._abort_upload_id(key, str(upload["UploadId"]))

    async def _abort_upload_id(self, key: str, upload_id: str) -> None:
        try:
            await self._call(
                "Aborting the upload",
                "abort_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
            )
        except S3Error as exc:
            if exc.code != "NoSuchUpload" and exc.http_status != 404:
                raise

    async def presign_put(self, key: str, content_type: str, expires_s: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        return await self._presign("put_object", params, expires_s)

    async def presign_get(self, key: str, expires_s: int) -> str:
        return await self._presign("get_object", {"Bucket": self.bucket, "Key": key}, expires_s)

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored; a missing bucket is an error, not a missing object."""
        try:
            await self._call("Looking up the object", "head_object", Bucket=self.bucket, Key=key)
        except S3Error as exc:
            if exc.http_status != 404:
                raise
        else:
            return True
        try:
            await self._call("Looking up the bucket", "head_bucket", Bucket=self.bucket)
        except S3Error as exc:
            if exc.http_status == 404:
                raise S3Error(
                    f"NoSuchBucket: the bucket {self.bucket} does not exist (HTTP 404)",
                    code="NoSuchBucket",
                    http_status=404,
                ) from None
            raise
        return False

    async def delete(self, key: str) -> None:
        """Delete the object and abort any unfinished upload of ``key`` (left by a crash)."""
        await self._call("Deleting the object", "delete_object", Bucket=self.bucket, Key=key)
        try:
            await self.abort(key, None)
        except StorageError as exc:  # e.g. no permission to list uploads: the object is gone
            logger.warning("Could not look for unfinished uploads of %s: %s", key, exc)

    # -- boto3, always in a thread --------------------------------------------------------

    async def _client(self) -> Any:
        async with self._s3_lock:
            if self._s3 is None:
                self._s3 = await asyncio.to_thread(self._make_client)
            return self._s3

    def _make_client(self) -> Any:
        addressing: Literal["path", "auto"] = "path" if self.endpoint_url else "auto"
        config = Config(
            signature_version="s3v4",
            region_name=self.region,
            s3={"addressing_style": addressing},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=120,
        )
        if bool(self._access_key) != bool(self._secret_key):
            given, missing = (
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if self._access_key
                else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            )
            raise S3Error(f"incomplete S3 credentials: {given} is set but {missing} is not")
        credentials: dict[str, str] = {}
        if self._access_key:
            credentials = {
                "aws_access_key_id": self._access_key,
                "aws_secret_access_key": self._secret_key,
            }
            if self._session_token:
                credentials["aws_session_token"] = self._session_token
        session = boto3.session.Session(**credentials)  # type: ignore[arg-type]
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    async def _call(self, what: str, operation: str, **params: Any) -> dict[str, Any]:
        client = await self._client()
        method: Callable[..., dict[str, Any]] = getattr(client, operation)
        answer: dict[str, Any] = await translated(what, asyncio.to_thread(method, **params))
        return answer

    async def _presign(
        self, operation: str, params: dict[str, Any], expires_s: int | None = None
    ) -> str:
        client = await self._client()
        url = asyncio.to_thread(
            client.generate_presigned_url,
            operation,
            Params=params,
            ExpiresIn=expires_s or self.url_expiry_s,
        )
        return str(await translated("Signing a URL", url))
