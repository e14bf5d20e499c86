"""Secrets in the keyring, or in a 0600 file where there is none; generated on first run."""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked

from ecg_desktop.config import Settings, config_dir
from ecg_desktop.config.secrets import (
    SecretStore,
    load_settings_with_secrets,
    regenerate_webhook_secret,
    store_secret,
)

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)


def _env() -> dict[str, str]:
    return {}


def test_first_run_generates_a_webhook_secret_and_an_api_token_once(
    tmp_settings: Settings,
) -> None:
    first = load_settings_with_secrets(env=_env())
    assert len(first.webhook_secret_key) >= 32
    assert len(first.api_tokens) == 1 and len(first.api_tokens[0]) >= 32
    again = load_settings_with_secrets(env=_env())
    assert again.webhook_secret_key == first.webhook_secret_key
    assert again.api_tokens == first.api_tokens
    assert SecretStore().uses_keyring
    assert not (config_dir() / "secrets.toml").exists()  # the keyring holds them


def test_the_environment_wins_over_stored_secrets(tmp_settings: Settings) -> None:
    store_secret("aws_secret_access_key", "stored-aws")
    store_secret("webhook_secret_key", "stored-hook")
    store_secret("api_tokens", ["t1", "t2"])
    stored = load_settings_with_secrets(env=_env())
    assert (stored.aws_secret_access_key, stored.webhook_secret_key) == ("stored-aws",
                                                                         "stored-hook")
    assert stored.api_tokens == ("t1", "t2")
    env = {"AWS_SECRET_ACCESS_KEY": "env-aws", "ECG_API_TOKENS": "e1,e2,e3"}
    overridden = load_settings_with_secrets(env={**env, "SECRET_KEY": "seed-secret"})
    assert overridden.aws_secret_access_key == "env-aws"
    assert overridden.webhook_secret_key == "seed-secret"
    assert overridden.api_tokens == ("e1", "e2", "e3")


def test_regenerating_the_webhook_secret_replaces_it(tmp_settings: Settings) -> None:
    before = load_settings_with_secrets(env=_env()).webhook_secret_key
    new = regenerate_webhook_secret()
    assert new != before
    assert load_settings_with_secrets(env=_env()).webhook_secret_key == new


def test_only_secret_names_are_stored(tmp_settings: Settings) -> None:
    with pytest.raises(ValueError, match="not a secret"):
        store_secret("model_server_url", "http://x")


def test_without_a_keyring_secrets_go_to_a_private_file_with_a_warning(
    tmp_settings: Settings, no_keyring: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = load_settings_with_secrets(env=_env())
    path = config_dir() / "secrets.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "no usable OS keyring" in caplog.text and str(path) in caplog.text
    again = load_settings_with_secrets(env=_env())
    assert again.webhook_secret_key == first.webhook_secret_key
    assert again.api_tokens == first.api_tokens

    path.chmod(0o644)  # someone loosened it: the next write tightens it again
    store_secret("aws_secret_access_key", 'with "quotes" and \\ backslash')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings_with_secrets(env=_env()).aws_secret_access_key == (
        'with "quotes" and \\ backslash')


def test_no_secret_reaches_the_log(
    tmp_settings: Settings, no_keyring: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store_secret("aws_secret_access_key", "aws-secret-in-file")
    settings = load_settings_with_secrets(env=_env())
    new_hook = regenerate_webhook_secret()
    logging.getLogger("test").info("settings: %s / %r", settings, settings)
    for secret in ("aws-secret-in-file", settings.webhook_secret_key, new_hook,
                   *settings.api_tokens):
        assert secret not in caplog.text
        assert secret not in repr(settings)


class _LockedKeyring(KeyringBackend):
    """A keyring that answers reads but refuses writes (a locked login keyring)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("the keyring is locked")


def test_a_keyring_that_refuses_writes_falls_back_to_the_file(
    tmp_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", _LockedKeyring)
    first = load_settings_with_secrets(env=_env())
    path = config_dir() / "secrets.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "the keyring refused webhook_secret_key" in caplog.text
    assert first.webhook_secret_key not in caplog.text
    assert load_settings_with_secrets(env=_env()).webhook_secret_key == first.webhook_secret_key
