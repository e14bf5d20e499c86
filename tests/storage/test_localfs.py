"""The local store's file side and URL signing (no HTTP)."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from ecg_desktop.storage.localfs import (
    KEY_FILE,
    LocalFileStore,
    RangeConflict,
    TooLarge,
    UnsafeKey,
)

KEY = "videos/tester/20260101_120000_abcdef12_talk.mp4"
BASE = "http://127.0.0.1:8000"
UNSAFE_KEYS = ["../x", "/etc/passwd", "videos/../../etc/passwd", "a\x00b", "a\\..\\b", "a//b", ""]


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore.open(tmp_path / "storage")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def write_all(store: LocalFileStore, key: str, data: bytes, start: int = 0,
              total: int | None = None) -> None:
    writer = store.write_range(key, start, start + len(data), total or len(data), "video/mp4")
    writer.write([data])
    writer.close()


def test_a_signed_url_verifies_for_its_method_and_key_only(store: LocalFileStore) -> None:
    url = store.sign_url("GET", KEY, 60, base_url=BASE + "/")
    assert url.startswith(f"{BASE}/storage/videos/tester/")
    query = query_of(url)
    assert store.verify("GET", KEY, query) is None
    assert store.verify("HEAD", KEY, query) is None
    assert store.verify("PUT", KEY, query) == "the URL's signature does not match"
    assert store.verify("GET", KEY + "x", query) == "the URL's signature does not match"
    first = query["signature"][0]
    tampered = {**query, "signature": ("1" if first == "0" else "0") + query["signature"][1:]}
    assert store.verify("GET", KEY, tampered) == "the URL's signature does not match"
    later = {**query, "expires": str(int(query["expires"]) + 3600)}
    assert store.verify("GET", KEY, later) == "the URL's signature does not match"
    assert store.verify("GET", KEY, {}) == "the URL is not signed"
    assert store.verify("GET", KEY, {**query, "expires": "soon"}) == "the URL's expiry is malformed"


def test_a_signed_url_expires(store: LocalFileStore) -> None:
    url = store.sign_url("PUT", KEY, 10, base_url=BASE)
    assert store.verify("PUT", KEY, query_of(url), now=time.time() + 9) is None
    assert store.verify("PUT", KEY, query_of(url), now=time.time() + 11) == "the URL has expired"


def test_the_signing_key_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    first = LocalFileStore.open(tmp_path / "s")
    url = first.sign_url("GET", KEY, 60, base_url=BASE)
    key_file = tmp_path / "s" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = LocalFileStore.open(tmp_path / "s")
    assert again.verify("GET", KEY, query_of(url)) is None
    other = LocalFileStore.open(tmp_path / "elsewhere")
    assert other.verify("GET", KEY, query_of(url)) is not None
    assert key_file.read_text() not in repr(again)


def test_stores_opened_at_once_on_one_folder_share_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        stores = list(pool.map(lambda _: LocalFileStore.open(tmp_path / "s"), range(8)))
    url = stores[0].sign_url("GET", KEY, 60, base_url=BASE)
    assert all(s.verify("GET", KEY, query_of(url)) is None for s in stores)
    assert [p.name for p in (tmp_path / "s").iterdir() if p.name.startswith(KEY_FILE)] == [
        KEY_FILE
    ]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused_everywhere(store: LocalFileStore, key: str) -> None:
    with pytest.raises(UnsafeKey):
        store.sign_url("GET", key, 60, base_url=BASE)
    with pytest.raises(UnsafeKey):
        store.write_range(key, 0, 1, 1, "video/mp4")
    with pytest.raises(UnsafeKey):
        store.stat(key)


def test_any_safe_key_is_stored_whatever_its_length_or_script(store: LocalFileStore) -> None:
    long_korean = "videos/사용자/20260101_120000_abcdef12_" + "회의녹화" * 37 + ".mp4"
    assert len(long_korean.rsplit("/", 1)[1].encode()) > 255  # too long for one file name
    for key in (long_korean, "videos/u/CON", "videos/u/Talk.MP4", "videos/u/talk.mp4"):
        write_all(store, key, key.encode())
    for key in (long_korean, "videos/u/CON", "videos/u/Talk.MP4", "videos/u/talk.mp4"):
        stored = store.stat(key)
        assert stored is not None and stored.path.read_bytes() == key.encode()
        assert stored.path.is_relative_to(store.root)


def test_a_signature_that_is_not_ascii_is_refused_not_an_error(store: LocalFileStore) -> None:
    url = store.sign_url("GET", KEY, 60, base_url=BASE)
    query = {**query_of(url), "signature": "é" * 64}
    assert store.verify("GET", KEY, query) == "the URL's signature does not match"


def test_an_object_appears_only_when_complete_with_size_and_sha256(
    store: LocalFileStore,
) -> None:
    data = os.urandom(300_000)
    writer = store.write_range(KEY, 0, len(data), len(data), "video/mp4")
    writer.write([data[:100_000]])
    assert store.stat(KEY) is None and not store.exists(KEY)
    writer.write([data[100_000:]])
    assert store.stat(KEY) is None  # written, but not closed yet
    stored = writer.close()

    assert stored is not None
    assert store.stat(KEY) == stored
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "video/mp4"
    assert stored.path.read_bytes() == data
    assert store.partial(KEY) is None
    assert list((store.root / "partial").iterdir()) == []


def test_ranges_continue_an_upload_even_after_a_restart(tmp_path: Path) -> None:
    data = os.urandom(1_000_000)
    first = LocalFileStore.open(tmp_path / "s")
    write_all(first, KEY, data[:400_000], 0, len(data))
    partial = first.partial(KEY)
    assert partial is not None and (partial.offset, partial.total) == (400_000, len(data))
    assert not first.exists(KEY)

    restarted = LocalFileStore.open(tmp_path / "s")  # the in-memory hash is gone
    write_all(restarted, KEY, data[400_000:], 400_000, len(data))

    stored = restarted.stat(KEY)
    assert stored is not None and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.path.read_bytes() == data


def test_a_range_may_be_sent_again_but_never_leave_a_gap(store: LocalFileStore) -> None:
    data = os.urandom(900)
    write_all(store, KEY, data[:600], 0, 900)
    with pytest.raises(RangeConflict) as gap:
        store.write_range(KEY, 700, 800, 900, "video/mp4")
    assert gap.value.offset == 600
    with pytest.raises(RangeConflict):
        store.write_range(KEY, 300, 400, 1000, "video/mp4")  # a different total
    write_all(store, KEY, data[300:], 300, 900)  # bytes 300-599 again, then the rest
    stored = store.stat(KEY)
    assert stored is not None and stored.path.read_bytes() == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_a_continuation_without_an_upload_is_refused(store: LocalFileStore) -> None:
    with pytest.raises(RangeConflict) as caught:
        store.write_range(KEY, 10, 20, 30, "video/mp4")
    assert caught.value.offset == 0


def test_the_size_limit_is_enforced(tmp_path: Path) -> None:
    store = LocalFileStore.open(tmp_path / "s", max_object_bytes=1000)
    with pytest.raises(TooLarge):
        store.write_range(KEY, 0, 1001, 1001, "video/mp4")
    writer = store.write_range(KEY, 0, 10, 10, "video/mp4")
    with pytest.raises(Exception, match="longer than its declared range"):
        writer.write([b"x" * 11])
    writer.close()
    assert not store.exists(KEY)


def test_abort_drops_the_partial_and_delete_drops_the_object(store: LocalFileStore) -> None:
    write_all(store, KEY, b"abc")
    write_all(store, KEY + ".2", b"abc", 0, 10)
    store.abort(KEY + ".2")
    assert store.partial(KEY + ".2") is None
    store.abort(KEY)
    assert store.exists(KEY)  # abort never touches a finished object
    store.delete(KEY)
    assert not store.exists(KEY)
    assert list((store.root / "meta").rglob("*.json")) == []


def test_a_new_upload_replaces_an_object_only_when_it_completes(store: LocalFileStore) -> None:
    write_all(store, KEY, b"old contents")
    writer = store.write_range(KEY, 0, 3, 6, "video/mp4")
    writer.write([b"new"])
    writer.close()
    stored = store.stat(KEY)
    assert stored is not None and stored.path.read_bytes() == b"old contents"
    assert stored.sha256 == hashlib.sha256(b"old contents").hexdigest()
    write_all(store, KEY, b"123", 3, 6)
    stored = store.stat(KEY)
    assert stored is not None and stored.path.read_bytes() == b"new123"
    assert stored.sha256 == hashlib.sha256(b"new123").hexdigest()
