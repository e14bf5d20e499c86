"""`ecg-desktop tokens`: the API tokens of a backend with no window, managed from a shell;
what it stores is what `serve` accepts at its next start."""

from __future__ import annotations

import pytest

from ecg_desktop.cli import main
from ecg_desktop.config import Settings
from ecg_desktop.config.secrets import load_settings_with_secrets
from ecg_desktop.server.middleware import AccessPolicy


def _policy() -> AccessPolicy:
    return AccessPolicy(loopback=False, tokens=load_settings_with_secrets().api_tokens,
                        cors_origins=())


def test_a_new_token_is_printed_once_and_accepted_for_its_holder(
    tmp_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tokens", "new", "ana"]) == 0
    secret = capsys.readouterr().out.strip()

    assert _policy().caller(f"Bearer {secret}") == "ana"
    assert main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"ana\t···{secret[-4:]}" in listing
    assert secret not in listing


def test_revoking_by_holder_stops_the_token_but_never_the_last_one(
    tmp_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["tokens", "new", "bo"])
    bo_secret = capsys.readouterr().out.strip()

    assert main(["tokens", "revoke", "bo"]) == 0
    assert _policy().caller(f"Bearer {bo_secret}") is None
    assert main(["tokens", "revoke", "nobody"]) == 2
    [last] = load_settings_with_secrets().api_tokens
    assert main(["tokens", "revoke", last[-4:]]) == 2
    assert "last token" in capsys.readouterr().err
    assert load_settings_with_secrets().api_tokens == (last,)


def test_tokens_from_the_environment_are_not_changed_here(
    tmp_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECG_API_TOKENS", "ops:from-the-environment")

    assert main(["tokens", "new", "ana"]) == 2
    assert "ECG_API_TOKENS" in capsys.readouterr().err
    assert main(["tokens", "list"]) == 0
    assert "ops\t···ment" in capsys.readouterr().out
