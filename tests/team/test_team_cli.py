"""``ecg-desktop team preset`` and ``team status`` as a new team member runs them."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.team import TeamPreset, apply_team_preset
from ecg_desktop.cli import main
from ecg_desktop.config import ConfigError, config_file
from ecg_desktop.config.secrets import load_settings_with_secrets

pytestmark = pytest.mark.timeout(120)

PG = "postgresql://ana:s3cret@db.team.lan:5432/ecg"


def test_the_preset_writes_what_a_desktop_of_the_team_needs(
    settings_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()  # isolated config folder
    path = config_file()
    path.write_text('ui_language = "ko"\n', encoding="utf-8")

    code = main(["team", "preset", "--database-url", PG, "--bucket", "team-videos",
                 "--callback-url", "http://ecg-backend.lan:8000/", "--user", "ana",
                 "--ml-server-url", "http://gpu.lan:9000", "--region", "eu-west-1"])

    assert code == 0
    settings = load_settings_with_secrets()
    assert settings.database_url == PG
    assert settings.s3_bucket_name == "team-videos"
    assert settings.fastapi_base_url == "http://ecg-backend.lan:8000"
    assert settings.model_server_url == "http://gpu.lan:9000"
    assert (settings.user_name, settings.aws_region) == ("ana", "eu-west-1")
    assert settings.ui_language == "ko"  # what the file had is kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the URL carries a password
    err = capsys.readouterr().err
    assert "password" in err and "s3cret" not in err


def test_the_preset_refuses_a_database_that_is_not_postgresql(
    settings_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()
    code = main(["team", "preset", "--database-url", "sqlite:///jobs.db", "--bucket", "b",
                 "--callback-url", "http://backend:8000"])
    assert code == 2
    assert "PostgreSQL" in capsys.readouterr().err
    assert not config_file().exists()


def test_the_preset_function_warns_about_a_loopback_callback_address(
    settings_factory: Any,
) -> None:
    joined, warnings = apply_team_preset(
        settings_factory(),
        TeamPreset(database_url=PG, bucket="b", callback_url="http://127.0.0.1:8000"),
    )
    assert joined.fastapi_base_url == "http://127.0.0.1:8000"
    assert any("loopback" in w for w in warnings)
    with pytest.raises(ConfigError):
        apply_team_preset(joined, TeamPreset(database_url=PG, bucket=" ", callback_url="x"))


def test_a_dry_run_prints_the_settings_and_writes_nothing(
    settings_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()
    code = main(["team", "preset", "--database-url", PG, "--bucket", "b",
                 "--callback-url", "http://backend.lan:8000", "--dry-run"])
    assert code == 0
    assert 's3_bucket_name = "b"' in capsys.readouterr().out
    assert not config_file().exists()


def test_status_on_sqlite_says_the_store_is_not_shared(
    settings_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()
    assert main(["team", "status"]) == 1
    assert "not shared" in capsys.readouterr().out
