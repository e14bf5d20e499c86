"""``ecg-desktop secrets set NAME`` (value from standard input or a prompt, never an
argument) and ``secrets list`` (names only)."""

from __future__ import annotations

import io
import stat
from typing import Any

import keyring.core
import pytest
from keyring.backends import fail

from ecg_desktop.cli import main
from ecg_desktop.config import config_dir
from ecg_desktop.config.secrets import SECRETS_FILE, SecretStore, load_settings_with_secrets


def test_a_secret_from_standard_input_reaches_the_settings_and_is_never_printed(
    settings_factory: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()
    monkeypatch.setattr("sys.stdin", io.StringIO("s3-secret-value\n"))

    assert main(["secrets", "set", "aws_secret_access_key"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("team-token-value\n"))
    assert main(["secrets", "set", "team-token"]) == 0  # as typed with a dash, too

    settings = load_settings_with_secrets()
    assert settings.aws_secret_access_key == "s3-secret-value"
    assert settings.team_token == "team-token-value"
    assert main(["secrets", "list"]) == 0
    out = capsys.readouterr().out
    assert "aws_secret_access_key" in out and "team_token" in out
    assert "s3-secret-value" not in out and "team-token-value" not in out


def test_a_prompt_on_a_terminal_does_not_echo(
    settings_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_factory()
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    monkeypatch.setattr("getpass.getpass", getpass)

    assert main(["secrets", "set", "team_token"]) == 0
    assert prompts and "team_token" in prompts[0]
    assert SecretStore().get("team_token") == "typed"


def test_without_a_keyring_the_file_is_readable_by_its_owner_only(
    settings_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_factory()
    monkeypatch.setattr(keyring.core, "_keyring_backend", fail.Keyring())  # type: ignore[no-untyped-call]
    monkeypatch.setattr("sys.stdin", io.StringIO("value\n"))

    assert main(["secrets", "set", "aws_secret_access_key"]) == 0

    path = config_dir() / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'aws_secret_access_key = "value"' in path.read_text(encoding="utf-8")


def test_an_unknown_name_or_an_empty_value_changes_nothing(
    settings_factory: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_factory()
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert main(["secrets", "set", "database_url"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["secrets", "set", "team_token"]) == 2
    err = capsys.readouterr().err
    assert "not a secret" in err and "no value" in err
    assert SecretStore().get("team_token") is None


def test_a_value_on_the_command_line_is_refused(settings_factory: Any) -> None:
    settings_factory()
    with pytest.raises(SystemExit) as exit_info:
        main(["secrets", "set", "team_token", "the-token"])
    assert exit_info.value.code == 2
