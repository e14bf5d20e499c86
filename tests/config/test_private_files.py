"""Every file that can hold user data or credentials is 0600 in a 0700 folder from the moment
it exists, after each kind of save; the database password never reaches settings.toml."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from ecg_desktop.app.callback_body import CallbackBody
from ecg_desktop.config import Settings, config_dir, config_file, load_settings, save_settings
from ecg_desktop.config.secrets import SecretStore, load_settings_with_secrets, store_secret
from ecg_desktop.domain import Job
from ecg_desktop.domain.signatures import SignatureCheck
from ecg_desktop.gui.logging_setup import configure_logging
from ecg_desktop.storage.localfs import LocalFileStore
from ecg_desktop.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what most systems use: files 0644 unless made otherwise
    try:
        yield
    finally:
        os.umask(previous)


def test_settings_toml_is_private_after_every_save(tmp_settings: Settings) -> None:
    path = config_file()
    save_settings(tmp_settings.with_changes(user_name="ana"))
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)

    path.chmod(0o644)  # loosened by hand: the next save writes a new private file
    save_settings(tmp_settings.with_changes(user_name="bo"))
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_value_with_a_newline_and_quotes_round_trips(tmp_settings: Settings) -> None:
    name = 'Ana "the analyst"\nsecond line \\ with a backslash'
    save_settings(tmp_settings.with_changes(user_name=name, cors_origins=("http://a", "b")))

    loaded = load_settings()

    assert loaded.user_name == name
    assert loaded.cors_origins == ("http://a", "b")


@pytest.mark.parametrize("url, password", [
    ("postgresql+psycopg://ana:s3cr%40t@db.example:5432/ecg", "s3cr@t"),
    ("postgresql+psycopg://db.example/ecg?sslmode=require&password=s3cret", "s3cret"),
])
def test_the_database_password_is_kept_with_the_secrets_not_in_settings_toml(
    tmp_settings: Settings, url: str, password: str
) -> None:
    save_settings(tmp_settings.with_changes(database_url=url))

    text = config_file().read_text(encoding="utf-8")
    assert password not in text and "s3cr" not in text
    assert "db.example" in text
    assert SecretStore().get("database_password") == password
    assert load_settings_with_secrets(env={}).database_url == url


def test_secrets_toml_is_private_from_its_creation(
    tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)
    store_secret("webhook_secret_key", "line one\nline two")
    path = config_dir() / "secrets.toml"
    assert (mode(path), mode(path.parent)) == (0o600, 0o700)
    assert SecretStore().get("webhook_secret_key") == "line one\nline two"


async def test_the_job_database_and_its_journal_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    store = await open_store(f"sqlite+aiosqlite:///{folder / 'jobs.db'}")
    try:
        await store.add(Job.new(file_key="videos/a/b.mp4", filename="b.mp4"))
        created = sorted(p.name for p in folder.iterdir())
        assert "jobs.db" in created
        assert {p.name: mode(p) for p in folder.iterdir()} == dict.fromkeys(created, 0o600)
        assert mode(folder) == 0o700
    finally:
        await store.close()


def test_stored_videos_are_private(tmp_path: Path) -> None:
    store = LocalFileStore.open(tmp_path / "storage")
    writer = store.write_range("videos/ana/clip.mp4", 0, 5, 5, "video/mp4")
    writer.write([b"video"])
    writer.close()

    video = store.object_path("videos/ana/clip.mp4")
    assert video.read_bytes() == b"video"
    assert mode(video) == 0o600
    assert mode(tmp_path / "storage") == 0o700


async def test_spilled_callback_bodies_are_private(tmp_path: Path) -> None:
    body = CallbackBody(SignatureCheck([], {}, now=0), 10**8, tmp_path / "spill")
    try:
        assert await body.feed(b"x" * 600_000)
        await body.finish()
        assert body.path is not None
        assert (mode(body.path), mode(body.path.parent)) == (0o600, 0o700)
    finally:
        body.discard()


def test_logs_are_private_after_a_rollover(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    path = configure_logging(tmp_path / "logs")
    added = [h for h in root.handlers if h not in before]
    try:
        logging.getLogger("test").warning("a line")
        for handler in added:
            if isinstance(handler, logging.handlers.RotatingFileHandler):
                handler.doRollover()
        logging.getLogger("test").warning("another line")
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".1"]
        assert {mode(p) for p in path.parent.iterdir()} == {0o600}
        assert mode(path.parent) == 0o700
    finally:
        for handler in added:
            root.removeHandler(handler)
            handler.close()
