"""API tokens in the settings (issue: shown and regenerable in settings, several allowed):
listed by holder without their secrets, made, copied, revoked, and kept with the secrets."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from ecg_desktop.config import Settings
from ecg_desktop.config.secrets import load_settings_with_secrets
from ecg_desktop.gui.app import persist_settings
from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog

ANA = "ana:secret-of-ana-0123456789"


def _dialog(
    qtbot: QtBot, settings: Settings, env: dict[str, str] | None = None
) -> QtSettingsDialog:
    dialog = QtSettingsDialog(settings, env=env or {})
    qtbot.addWidget(dialog)
    dialog.api_tokens._ask_name = lambda _parent: "bo"
    return dialog


def _select(dialog: QtSettingsDialog, row: int) -> None:
    view = dialog.api_tokens.view
    view.selectionModel().select(
        view.model().index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )


def test_tokens_are_listed_by_holder_without_their_secrets(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(api_tokens=(ANA, "bare-token-wxyz")))
    shown = dialog.api_tokens.view.model().stringList()  # type: ignore[attr-defined]

    assert len(shown) == 2
    assert shown[0].startswith("ana") and shown[0].endswith("6789")
    assert shown[1].endswith("wxyz")
    assert not any("secret-of-ana" in text or "bare-token" in text for text in shown)


def test_a_new_token_is_copied_for_its_holder_and_applied(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(api_tokens=(ANA,)))
    applied: list[Settings] = []
    dialog.applied.connect(applied.append)

    dialog.api_tokens.add_button.click()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()

    [settings] = applied
    assert settings.api_tokens[0] == ANA
    name, _, secret = settings.api_tokens[1].partition(":")
    assert name == "bo" and len(secret) >= 40
    assert QGuiApplication.clipboard().text() == secret  # the holder gets the bare secret


def test_a_revoked_token_is_gone_but_the_last_one_stays(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(api_tokens=(ANA, "old:retired-token")))
    _select(dialog, 1)
    dialog.api_tokens.copy_button.click()
    assert QGuiApplication.clipboard().text() == "retired-token"

    dialog.api_tokens.remove_button.click()
    _select(dialog, 0)

    assert dialog.candidate.api_tokens == (ANA,)
    assert not dialog.api_tokens.remove_button.isEnabled()  # rotate: add, then revoke


def test_tokens_from_the_environment_are_read_only(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(api_tokens=(ANA,)), env={"ECG_API_TOKENS": ANA})
    assert not dialog.api_tokens.isEnabled()
    assert "ECG_API_TOKENS" in dialog.api_tokens.toolTip()


def test_applied_tokens_are_what_the_next_start_accepts(tmp_settings: Settings) -> None:
    old = load_settings_with_secrets(env={})
    assert len(old.api_tokens) == 1  # generated on first run

    new = old.with_changes(api_tokens=(*old.api_tokens, ANA))
    persist_settings(new, old)

    assert load_settings_with_secrets(env={}).api_tokens == new.api_tokens
