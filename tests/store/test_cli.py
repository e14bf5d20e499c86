"""`ecg-desktop jobs ...` and `ecg-desktop db ...` run through ``main(argv)``."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path

import pytest

from ecg_desktop.cli import main
from ecg_desktop.config import Settings
from ecg_desktop.domain import ErrorCode, Job, JobNotFound
from ecg_desktop.store import SqlJobStore, open_store
from tests.store.helpers import make_result, record


async def _seed(url: str) -> list[Job]:
    store = await open_store(url)
    try:
        done = Job.new(filename="interview.mp4", owner="ana")
        failed = Job.new(filename="lecture.mov", owner="ben")
        waiting = Job.new(filename="meeting.mkv", owner="ana")
        for job in (done, failed, waiting):
            await store.add(job)
        await store.update(done.job_id, lambda j: j.start_dispatch())
        await store.update(done.job_id, lambda j: j.complete(2), result=record(make_result()))
        await store.rename_speaker(done.job_id, "SPEAKER_00", "Ana")
        await store.update(failed.job_id, lambda j: j.fail(ErrorCode.TIMEOUT_ERROR, "slow"))
        return [done, failed, waiting]
    finally:
        await store.close()


def test_jobs_list_on_a_fresh_machine_prints_an_empty_table(
    tmp_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["ID", "STATUS", "STAGE", "PROGRESS", "CREATED",
                                           "OWNER", "FILE"]
    assert "0 jobs" in out
    assert (tmp_settings.data_dir / "jobs.db").exists()


def test_jobs_list_shows_filters_and_prints_json(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    done, failed, waiting = asyncio.run(_seed(database_url))
    assert main(["jobs", "--database-url", database_url, "list"]) == 0
    out = capsys.readouterr().out
    for job in (done, failed, waiting):
        assert str(job.job_id)[:8] in out and job.filename in out
    assert "3 jobs" in out

    assert main(["jobs", "--database-url", database_url, "list", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "lecture.mov" in out and "interview.mp4" not in out

    argv = ["jobs", "--database-url", database_url, "list", "--json", "--limit", "2"]
    assert main(argv) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["job_id"] for item in listed] == [str(waiting.job_id), str(failed.job_id)]
    assert listed[1]["error_code"] == "TIMEOUT_ERROR"

    assert main(["jobs", "--database-url", database_url, "list", "--owner", "ana", "--json"]) == 0
    assert {item["filename"] for item in json.loads(capsys.readouterr().out)} == {
        "interview.mp4", "meeting.mkv"}


def test_jobs_show_gives_the_job_and_its_transcript(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    done, *_ = asyncio.run(_seed(database_url))
    assert main(["jobs", "--database-url", database_url, "show", str(done.job_id)]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "Transcript: 4 segments, 20 words" in out and "Ana" in out

    short = done.job_id.hex[:8]
    assert main(["jobs", "--database-url", database_url, "show", short, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["job_id"] == str(done.job_id)
    assert shown["transcript"]["words"] == 20
    assert shown["transcript"]["speakers"][0]["name"] == "Ana"

    assert main(["jobs", "--database-url", database_url, "show", str(uuid.uuid4())]) == 1
    assert "not found" in capsys.readouterr().err


def test_jobs_delete_needs_a_yes(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    done, failed, _ = asyncio.run(_seed(database_url))
    assert main(["jobs", "--database-url", database_url, "delete", str(failed.job_id)]) == 1
    assert "without --yes" in capsys.readouterr().err
    argv = ["jobs", "--database-url", database_url, "delete", str(failed.job_id), "--yes"]
    assert main(argv) == 0
    assert "Deleted job" in capsys.readouterr().out

    async def check() -> None:
        store = await SqlJobStore.open(database_url)
        try:
            with pytest.raises(JobNotFound):
                await store.get(failed.job_id)
            assert (await store.get(done.job_id)).filename == "interview.mp4"
        finally:
            await store.close()

    asyncio.run(check())


def test_db_upgrade_and_status(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "--database-url", database_url, "status"]) == 0
    assert "revision none" in capsys.readouterr().out
    assert main(["db", "--database-url", database_url, "upgrade"]) == 0
    assert "upgraded from empty to 0006" in capsys.readouterr().out
    assert main(["db", "--database-url", database_url, "upgrade"]) == 0
    assert "already at revision 0006" in capsys.readouterr().out
    assert main(["db", "--database-url", database_url, "status"]) == 0
    assert "(newest)" in capsys.readouterr().out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [["jobs", "list"], ["db", "upgrade"]])
def test_an_unreachable_database_is_one_line_and_exit_2(
    command: list[str], tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL",
                       f"postgresql+psycopg://ana:hunter2@127.0.0.1:{_closed_port()}/ecg")
    assert main(command) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "ana:***@127.0.0.1" in lines[0] and "Connection refused" in lines[0]
    assert "hunter2" not in captured.err and "Traceback" not in captured.err


def test_a_damaged_sqlite_file_is_one_line_and_exit_2(
    tmp_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    path: Path = tmp_settings.data_dir / "jobs.db"
    path.write_bytes(b"this is no database" * 1000)
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "damaged" in err
    assert path.read_bytes() == b"this is no database" * 1000


def test_an_invalid_database_url_names_the_variable(
    tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["jobs", "list"]) == 2
    assert "DATABASE_URL" in capsys.readouterr().err
