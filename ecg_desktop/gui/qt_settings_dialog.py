"""``QtSettingsDialog``: every setting, validated as it is entered.

The dialog edits a copy of ``Settings``: each change rebuilds the candidate and runs
``Settings.validate``; a ``ConfigError`` names the variable, and the field behind it is marked
and OK is disabled until it is fixed. OK/Apply emit ``applied(Settings)``; persisting and
restarting the affected services is the application's job, not the dialog's. Fields set by
an environment variable are read-only here (the environment wins at every start).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.app.team import TeamPreset, apply_team_preset
from ecg_desktop.bootstrap import offered_languages
from ecg_desktop.config import ENV_NAMES, ConfigError, Settings

from .i18n import UI_LANGUAGES, tr
from .qt_api_tokens import ApiTokensEditor

Editor = QLineEdit | QSpinBox | QDoubleSpinBox | QCheckBox | QComboBox


class QtSettingsDialog(QDialog):
    applied = Signal(object)  # Settings

    def __init__(self, settings: Settings, parent: QWidget | None = None,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(tr("Settings"))
        self.setMinimumWidth(620)
        self.original = settings
        self.candidate = settings
        self.error: ConfigError | None = None
        self.test_database: Callable[[str], Awaitable[str]] | None = None
        self._env = dict(os.environ if env is None else env)
        self.editors: dict[str, Editor] = {}

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._ml_tab(), tr("ML server"))
        self.tabs.addTab(self._speech_tab(), tr("Speech recognition"))
        self.tabs.addTab(self._analysis_tab(), tr("Analysis and export"))
        self.tabs.addTab(self._callback_tab(), tr("Callback server"))
        self.tabs.addTab(self._storage_tab(), tr("Storage"))
        self.tabs.addTab(self._store_tab(), tr("Job store"))
        self.tabs.addTab(self._general_tab(), tr("General"))
        self.tabs.addTab(self._team_tab(), tr("Team"))
        self.error_label = QLabel(self)
        self.error_label.setObjectName("settingsError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d64541;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self._load(settings)
        self._connect_validation()
        self.validate()

    # -- tabs ------------------------------------------------------------------------------

    def _form(self) -> tuple[QWidget, QFormLayout]:
        page = QWidget(self)
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return page, form

    def _line(self, name: str, placeholder: str = "", secret: bool = False) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.editors[name] = edit
        return edit

    def _note(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setStyleSheet("color: palette(placeholder-text);")
        return label

    def _ml_tab(self) -> QWidget:
        page, form = self._form()
        form.addRow(tr("ML server &URL:"), self._line(
            "model_server_url", tr("empty: the built-in reference analyzer")))
        timeout = QDoubleSpinBox(self)
        timeout.setObjectName("ml_api_timeout")
        timeout.setRange(1, 3600)
        timeout.setSuffix(" s")
        self.editors["ml_api_timeout"] = timeout
        form.addRow(tr("Request &timeout:"), timeout)
        form.addRow(self._note(tr(
            "The ML server receives each video's download URL and calls the callback server "
            "back with progress and the result. Leave the URL empty to analyse on this "
            "computer.")))
        return page

    def _speech_tab(self) -> QWidget:
        from .qt_models_page import QtModelsPage

        self.models_page = QtModelsPage(self.original.models_dir, self)
        self.editors["whisper_model"] = self.models_page.choice
        return self.models_page

    def _callback_tab(self) -> QWidget:
        page, form = self._form()
        form.addRow(tr("Callback &base URL:"), self._line(
            "fastapi_base_url", tr("empty: the address below")))
        form.addRow(tr("&Listen on address:"), self._line("bind_host"))
        port = QSpinBox(self)
        port.setObjectName("bind_port")
        port.setRange(0, 65535)
        port.setSpecialValueText(tr("any free port"))
        self.editors["bind_port"] = port
        form.addRow(tr("Listen on &port:"), port)
        secret = self._line("webhook_secret_key", secret=True)
        self.show_secret = QPushButton(tr("Show"), self)
        self.show_secret.setCheckable(True)
        self.show_secret.toggled.connect(lambda on: secret.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.regenerate_button = QPushButton(tr("&Regenerate"), self)
        self.regenerate_button.clicked.connect(self.regenerate_secret)
        self.copy_button = QPushButton(tr("&Copy"), self)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(secret.text()))
        row = QHBoxLayout()
        for widget in (secret, self.show_secret, self.regenerate_button, self.copy_button):
            row.addWidget(widget)
        label = QLabel(tr("&Webhook secret:"), self)
        label.setBuddy(secret)  # a label beside a layout gets no buddy by itself
        form.addRow(label, row)
        unsigned = QCheckBox(tr("Accept &unsigned callbacks"), self)
        unsigned.setObjectName("allow_unsigned_callbacks")
        self.editors["allow_unsigned_callbacks"] = unsigned
        form.addRow("", unsigned)
        self.unsigned_warning = self._note(tr(
            "⚠ Anyone who can reach the callback server could then write results into your "
            "jobs. Turn this on only for an ML server that cannot sign (the original WhisperX "
            "server never signs), on a trusted network."))
        self.unsigned_warning.setStyleSheet("color: #b35c00;")
        form.addRow(self.unsigned_warning)
        self.api_tokens = ApiTokensEditor(self)
        tokens_label = QLabel(tr("API &tokens:"), self)
        tokens_label.setBuddy(self.api_tokens.view)
        form.addRow(tokens_label, self.api_tokens)
        form.addRow(self._note(tr(
            "Needed only when the server listens on an address other than this computer's "
            "(a team backend): every API call must then carry one of these tokens. Give each "
            "user their own; revoke one by removing it.")))
        return page

    def _storage_tab(self) -> QWidget:
        page, form = self._form()
        form.addRow(tr("S3 &bucket:"), self._line(
            "s3_bucket_name", tr("empty: keep videos on this computer")))
        form.addRow(tr("&Region:"), self._line("aws_region"))
        form.addRow(tr("&Endpoint URL:"), self._line(
            "s3_endpoint_url", tr("empty: AWS; or an S3-compatible server")))
        form.addRow(tr("&Access key id:"), self._line("aws_access_key_id"))
        form.addRow(tr("&Secret access key:"), self._line("aws_secret_access_key", secret=True))
        expiry = QSpinBox(self)
        expiry.setObjectName("s3_presigned_url_expire")
        expiry.setRange(60, 7 * 24 * 3600)
        expiry.setSuffix(" s")
        self.editors["s3_presigned_url_expire"] = expiry
        form.addRow(tr("Download URLs &expire after:"), expiry)
        form.addRow(self._note(tr("The secret access key is kept in the system keyring, "
                                  "not in the settings file.")))
        return page

    def _store_tab(self) -> QWidget:
        page, form = self._form()
        url = self._line("database_url", tr("empty: SQLite in the data folder"))
        form.addRow(tr("&Database URL:"), url)
        self.test_button = QPushButton(tr("&Test connection"), self)
        self.test_button.clicked.connect(self._start_database_test)
        self.test_result = QLabel(self)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.test_result, 1)
        form.addRow("", row)
        form.addRow(self._note(tr(
            "A shared PostgreSQL database (postgresql+psycopg://user:password@host/db) lets a "
            "team see the same jobs.")))
        return page

    def _general_tab(self) -> QWidget:
        page, form = self._form()
        language = QComboBox(self)
        language.setObjectName("default_language")
        for code in offered_languages(self.original):
            language.addItem(code, code)
        self.editors["default_language"] = language
        form.addRow(tr("Default &language of videos:"), language)
        ui = QComboBox(self)
        ui.setObjectName("ui_language")
        for code, name in UI_LANGUAGES.items():
            ui.addItem(tr("System") if code == "" else name, code)
        self.editors["ui_language"] = ui
        form.addRow(tr("&Interface language:"), ui)
        form.addRow(tr("Your &name:"), self._line("user_name", tr("empty: your login name")))
        form.addRow(self._note(tr(
            "Your name is written on each job you add, so that in a team everyone sees who "
            "added what and \"My jobs\" shows yours; it is also part of the file names in "
            "storage. On your own you can leave it empty.")))
        return page

    def _analysis_tab(self) -> QWidget:
        """What an analyst sets for new jobs and for exports."""
        page, form = self._form()
        speakers = QWidget(self)
        row = QHBoxLayout(speakers)
        row.setContentsMargins(0, 0, 0, 0)
        for name, label in (("min_speakers", tr("at least")), ("max_speakers", tr("at most"))):
            box = self._spin(name, 0, 20, special=tr("any"))
            row.addWidget(QLabel(label, self))
            row.addWidget(box)
        row.addStretch(1)
        form.addRow(tr("&Speakers in new videos:"), speakers)
        form.addRow(self._note(tr(
            "\"any\" lets the analysis count the speakers. Give the same number twice when you "
            "know exactly how many there are.")))
        form.addRow(tr("Subtitle &line length:"), self._spin(
            "subtitle_line_length", 10, 200, suffix=tr(" characters")))
        form.addRow(tr("Lines per &cue:"), self._spin("subtitle_lines", 1, 5))
        longest = QDoubleSpinBox(self)
        longest.setObjectName("subtitle_max_duration")
        longest.setRange(1, 60)
        longest.setSuffix(" s")
        self.editors["subtitle_max_duration"] = longest
        form.addRow(tr("Longest c&ue:"), longest)
        folder = QWidget(self)
        folder_row = QHBoxLayout(folder)
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self._line("export_folder", tr("empty: the video's folder")), 1)
        choose = QPushButton(tr("C&hoose…"), self)
        choose.clicked.connect(self._choose_export_folder)
        folder_row.addWidget(choose)
        form.addRow(tr("&Export folder:"), folder)
        return page

    def _spin(self, name: str, low: int, high: int, *, special: str = "",
              suffix: str = "") -> QSpinBox:
        box = QSpinBox(self)
        box.setObjectName(name)
        box.setRange(low, high)
        box.setSpecialValueText(special)
        box.setSuffix(suffix)
        self.editors[name] = box
        return box

    def _choose_export_folder(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        edit = self.editors["export_folder"]
        assert isinstance(edit, QLineEdit)
        chosen = QFileDialog.getExistingDirectory(self, tr("Export folder"), edit.text())
        if chosen:
            edit.setText(chosen)

    def _team_tab(self) -> QWidget:
        page, form = self._form()
        form.addRow(self._note(tr(
            "Join a team: every member shares one PostgreSQL database and one S3 bucket, and "
            "the ML server calls the team backend back. Ask your team for these values.")))
        self.team_fields: dict[str, QLineEdit] = {}
        rows = (
            ("database_url", tr("Team &database URL:"), "postgresql+psycopg://user@host/ecg"),
            ("bucket", tr("Team S3 &bucket:"), ""),
            ("callback_url", tr("Team back&end URL:"), "http://team-backend:8080"),
            ("model_server_url", tr("&ML server URL:"), tr("empty: keep the current one")),
            ("user_name", tr("Your &name:"), tr("empty: keep the current one")),
        )
        for name, label, placeholder in rows:
            edit = QLineEdit(self)
            edit.setObjectName(f"team_{name}")
            edit.setPlaceholderText(placeholder)
            self.team_fields[name] = edit
            form.addRow(label, edit)
        self.join_button = QPushButton(tr("&Join the team"), self)
        self.join_button.setObjectName("joinTeamButton")
        self.join_button.clicked.connect(self.join_team)
        self.team_result = QLabel(self)
        self.team_result.setObjectName("teamResult")
        self.team_result.setWordWrap(True)
        form.addRow("", self.join_button)
        form.addRow(self.team_result)
        return page

    def join_team(self) -> bool:
        """Fill the other tabs from the team preset; OK/Apply then saves them as usual."""
        values = {name: edit.text().strip() for name, edit in self.team_fields.items()}
        try:
            joined, warnings = apply_team_preset(self.candidate, TeamPreset(**values))
        except ConfigError as exc:
            self.team_result.setStyleSheet("color: #d64541;")
            self.team_result.setText(tr("{error}").format(error=exc))
            return False
        self._load(joined)
        self.validate()
        lines = [tr("Team settings filled in: press OK or Apply to save them.")]
        lines += [f"⚠ {warning}" for warning in warnings]
        self.team_result.setStyleSheet("")
        self.team_result.setText("\n".join(lines))
        return True

    # -- values ----------------------------------------------------------------------------

    def _load(self, settings: Settings) -> None:
        for name, editor in self.editors.items():
            value = getattr(settings, name)
            if isinstance(editor, QLineEdit):
                editor.setText(str(value))
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                editor.setValue(value)
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            else:
                index = editor.findData(value)
                if index < 0:
                    editor.addItem(str(value), value)
                    index = editor.count() - 1
                editor.setCurrentIndex(index)
            self._lock_if_from_environment(editor, name)
        self.api_tokens.set_tokens(settings.api_tokens)
        self._lock_if_from_environment(self.api_tokens, "api_tokens")
        self._update_unsigned_warning()

    def _lock_if_from_environment(self, widget: QWidget, name: str) -> None:
        variable = ENV_NAMES.get(name)
        if variable and self._env.get(variable):
            widget.setEnabled(False)
            widget.setToolTip(tr("Set by the environment variable {name}").format(
                name=variable))

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QLineEdit):
                values[name] = editor.text().strip()
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                values[name] = editor.value()
            elif isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            else:
                values[name] = editor.currentData()
        values["api_tokens"] = self.api_tokens.tokens()
        return values

    def _connect_validation(self) -> None:
        for editor in self.editors.values():
            if isinstance(editor, QLineEdit):
                editor.textChanged.connect(self.validate)
            elif isinstance(editor, QSpinBox | QDoubleSpinBox):
                editor.valueChanged.connect(self.validate)
            elif isinstance(editor, QCheckBox):
                editor.toggled.connect(self.validate)
                editor.toggled.connect(self._update_unsigned_warning)
            else:
                editor.currentIndexChanged.connect(self.validate)
        self.api_tokens.changed.connect(self.validate)

    def validate(self) -> bool:
        """Rebuild the candidate from the fields; mark the field a ``ConfigError`` names."""
        for editor in self.editors.values():
            editor.setStyleSheet("")
        try:
            candidate = replace(self.original, **self.values())
            candidate.validate()
        except ConfigError as exc:
            self.error = exc
            self.error_label.setText(tr("{error}").format(error=exc))
            field = next((n for n, v in ENV_NAMES.items() if v == exc.variable), None)
            if field in self.editors:
                self.editors[field].setStyleSheet("border: 1px solid #d64541;")
        else:
            self.error = None
            self.candidate = candidate
            self.error_label.setText("")
        ok = self.error is None
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(ok)
        return ok

    def _update_unsigned_warning(self) -> None:
        unsigned = self.editors["allow_unsigned_callbacks"]
        assert isinstance(unsigned, QCheckBox)
        self.unsigned_warning.setVisible(unsigned.isChecked())

    def regenerate_secret(self) -> None:
        edit = self.editors["webhook_secret_key"]
        assert isinstance(edit, QLineEdit)
        edit.setText(secrets.token_urlsafe(32))
        self.error_label.setText(tr(
            "A new webhook secret takes effect when you apply it; give it to your ML server, "
            "or its callbacks will be refused."))

    def _start_database_test(self) -> None:
        if self.test_database is None:
            return
        from ecg_desktop.config import Settings as _Settings

        url = self.values()["database_url"] or _Settings(
            data_dir=self.original.data_dir).effective_database_url
        self.test_result.setText(tr("Connecting…"))
        self.test_button.setEnabled(False)
        test = self.test_database

        async def run() -> None:
            try:
                text = await asyncio.wait_for(test(url), 15)
            except Exception as exc:
                text = tr("Failed: {error}").format(error=str(exc) or type(exc).__name__)
            self.test_result.setText(text)
            self.test_button.setEnabled(True)

        self._test_task = asyncio.ensure_future(run())

    def apply(self) -> bool:
        if not self.validate():
            return False
        self.applied.emit(self.candidate)
        self.original = self.candidate
        return True

    def accept(self) -> None:
        if self.apply():
            super().accept()
