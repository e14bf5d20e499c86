"""Settings: environment over the config file over defaults; bad values name the variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ecg_desktop.config import ConfigError, Settings, config_file, load_settings

SettingsFactory = Callable[..., Settings]


def _write_config(text: str) -> Path:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment(tmp_settings: Settings) -> None:
    assert tmp_settings.ml_api_timeout == 300.0
    assert tmp_settings.aws_region == "ap-northeast-2"
    assert tmp_settings.s3_presigned_url_expire == 3600
    assert tmp_settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert tmp_settings.effective_database_url.endswith("/data/jobs.db")


def test_environment_wins_over_the_file_which_wins_over_defaults(
    settings_factory: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_factory()  # isolates the folders and environment
    _write_config('ml_api_timeout = 120.0\naws_region = "eu-west-1"\nbind_port = 9000\n')
    monkeypatch.setenv("ML_API_TIMEOUT", "42")
    settings = load_settings()
    assert settings.ml_api_timeout == 42.0  # environment
    assert settings.aws_region == "eu-west-1"  # file
    assert settings.bind_port == 9000  # file
    assert settings.s3_presigned_url_expire == 3600  # default


def test_the_file_cannot_hold_secrets(settings_factory: SettingsFactory) -> None:
    settings_factory()
    _write_config('webhook_secret_key = "from-the-file"\n')
    assert load_settings().webhook_secret_key != "from-the-file"


def test_secret_key_is_the_seeds_fallback_for_the_webhook_secret() -> None:
    assert load_settings(env={"SECRET_KEY": "old"}, file_values={}).webhook_secret_key == "old"
    both = load_settings(env={"SECRET_KEY": "old", "WEBHOOK_SECRET_KEY": "new"}, file_values={})
    assert both.webhook_secret_key == "new"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ML_API_TIMEOUT", "-5"),
        ("ML_API_TIMEOUT", "soon"),
        ("MODEL_SERVER_URL", "ftp://gpu-box"),
        ("MODEL_SERVER_URL", "http://gpu-box:99999"),
        ("FASTAPI_BASE_URL", "not a url"),
        ("S3_PRESIGNED_URL_EXPIRE", "0"),
        ("DATABASE_URL", "jobs.db"),
        ("ECG_BIND_PORT", "70000"),
        ("ECG_ALLOW_UNSIGNED_CALLBACKS", "perhaps"),
    ],
)
def test_an_invalid_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={variable: value}, file_values={})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}:")


def test_an_invalid_file_value_names_the_file_and_key(settings_factory: SettingsFactory) -> None:
    settings_factory()
    path = _write_config("bind_port = \"eighty\"\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(path) in str(caught.value) and "bind_port" in str(caught.value)


def test_a_broken_config_file_is_reported(settings_factory: SettingsFactory) -> None:
    settings_factory()
    path = _write_config("this is = = not toml")
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings()
    assert path.exists()


def test_secrets_never_show_in_repr_or_str() -> None:
    settings = load_settings(
        env={
            "AWS_SECRET_ACCESS_KEY": "aws-secret-123",
            "WEBHOOK_SECRET_KEY": "hook-secret-456",
            "ECG_API_TOKENS": "token-789",
            "DATABASE_URL": "postgresql+psycopg://ana:db-pass-000@db/ecg",
        },
        file_values={},
    )
    assert settings.api_tokens == ("token-789",)
    for text in (repr(settings), str(settings)):
        for secret in ("aws-secret-123", "hook-secret-456", "token-789", "db-pass-000"):
            assert secret not in text
