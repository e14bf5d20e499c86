"""Job ids in the CLI: a unique start of an id works everywhere (as `jobs list` prints it), an
ambiguous one is refused with the matches; ``export --output folder/`` writes into a folder."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from ecg_desktop.cli import main
from ecg_desktop.domain import Job
from ecg_desktop.store import open_store
from tests.store.helpers import make_result, record

FIRST = uuid.UUID("797db2e7-1111-4111-8111-111111111111")
SECOND = uuid.UUID("797db2e8-2222-4222-8222-222222222222")
THIRD = uuid.UUID("0a1b2c3d-3333-4333-8333-333333333333")


async def _seed(url: str) -> None:
    store = await open_store(url)
    try:
        for job_id, name in ((FIRST, "one.mp4"), (SECOND, "two.mp4"), (THIRD, "three.mp4")):
            job = replace(Job.new(filename=name), job_id=job_id)
            await store.add(job)
            await store.update(job_id, lambda j: j.start_dispatch())
            await store.update(job_id, lambda j: j.complete(2), result=record(make_result()))
    finally:
        await store.close()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    asyncio.run(_seed(url))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_export_and_jobs_take_a_unique_prefix(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "797db2e7", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["job_id"] == str(FIRST)
    assert main(["export", "797DB2E8-22", "0a1b", "-f", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)["results"]
    assert [r["metadata"]["job_id"] for r in exported] == [str(SECOND), str(THIRD)]

    assert main(["jobs", "--database-url", store_url, "show", "0a1b2c", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["job_id"] == str(THIRD)
    assert main(["jobs", "--database-url", store_url, "delete", "797db2e8", "--yes"]) == 0
    assert str(SECOND) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["export", "797db2", "-f", "json"],
    ["jobs", "show", "797db2"],
    ["jobs", "delete", "797db2", "--yes"],
])
def test_an_ambiguous_prefix_lists_the_matches(
    store_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "ambiguous" in err and str(FIRST) in err and str(SECOND) in err
    assert "one.mp4" in err and str(THIRD) not in err


def test_unknown_and_too_short_ids_say_why(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "ffff", "-f", "json"]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["jobs", "show", "79"]) == 1
    assert "at least its first 4" in capsys.readouterr().err
    assert main(["export", "not-a-uuid", "-f", "csv"]) == 1
    assert "not a job id" in capsys.readouterr().err


def test_output_ending_in_a_slash_is_a_folder_created_when_missing(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "outdir"
    assert main(["export", "797db2e7", "-f", "srt", "--output", f"{folder}/"]) == 0
    assert folder.is_dir()
    assert [p.name for p in folder.iterdir()] == ["one-797db2e7.srt"]

    nested = tmp_path / "a" / "b"
    assert main(["export", "797db2e7", "797db2e8", "0a1b", "-f", "vtt", "-o", f"{nested}/"]) == 0
    assert sorted(p.name for p in nested.iterdir()) == [
        "one-797db2e7.vtt", "three-0a1b2c3d.vtt", "two-797db2e8.vtt"]
    printed = capsys.readouterr().out.split()
    assert len(printed) == 4 and all(Path(p).is_file() for p in printed)


def test_an_existing_folder_without_a_slash_gets_one_file_per_job(
    store_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    assert main(["export", "797db2e7", "0a1b", "-f", "txt", "-o", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["one-797db2e7.txt", "three-0a1b2c3d.txt"]

    combined = tmp_path / "both.json"
    assert main(["export", "797db2e7", "0a1b", "-f", "json", "-o", str(combined)]) == 0
    assert len(json.loads(combined.read_text())["results"]) == 2
