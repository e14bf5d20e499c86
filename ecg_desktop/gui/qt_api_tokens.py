"""``ApiTokensEditor``: the API tokens a backend bound to a non-loopback address accepts.

Each token is ``name:secret`` or a bare secret (see ``server.middleware.AccessPolicy``). The
list shows a token's name and the last characters of its secret, never the whole secret; a
new one is generated (``config.tokens.make_token``) and put on the clipboard once, to be handed
to its holder; removing one revokes it when the settings are applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QStringListModel, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.config.tokens import make_token, split_token, token_tail

from .i18n import tr


def token_label(token: str) -> str:
    """How the list shows ``token``: its holder and the end of its secret."""
    holder = split_token(token)[0] or tr("(no name)")
    return f"{holder}  ···{token_tail(token)}"


def ask_holder_name(parent: QWidget) -> str | None:
    name, ok = QInputDialog.getText(
        parent, tr("New API token"),
        tr("Who is the token for? Jobs made with it are recorded under this name "
           "(may be left empty)."))
    return name if ok else None


class ApiTokensEditor(QWidget):
    changed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        ask_name: Callable[[QWidget], str | None] = ask_holder_name,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("api_tokens")
        self._ask_name = ask_name
        self._tokens: list[str] = []
        self._model = QStringListModel(self)
        self.view = QListView(self)
        self.view.setModel(self._model)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setMaximumHeight(90)
        self.add_button = QPushButton(tr("&New token…"), self)
        self.copy_button = QPushButton(tr("Cop&y token"), self)
        self.remove_button = QPushButton(tr("Re&voke"), self)
        self.add_button.clicked.connect(self._add_asking)
        self.copy_button.clicked.connect(self.copy_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.copy_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self._update_buttons()

    def tokens(self) -> tuple[str, ...]:
        return tuple(self._tokens)

    def set_tokens(self, tokens: Sequence[str]) -> None:
        self._tokens = list(tokens)
        self._model.setStringList([token_label(t) for t in self._tokens])
        self._update_buttons()

    def add(self, name: str) -> str:
        """A new token for ``name``; returns its secret (also put on the clipboard)."""
        token = make_token(name)
        holder, secret = split_token(token)
        self.set_tokens([*self._tokens, token])
        QGuiApplication.clipboard().setText(secret)
        self.status.setText(tr(
            "New token copied to the clipboard: give it to {name}. It is accepted once the "
            "settings are applied.").format(name=holder or tr("its holder")))
        self.changed.emit()
        return secret

    def copy_selected(self) -> None:
        row = self._selected_row()
        if row is not None:
            QGuiApplication.clipboard().setText(split_token(self._tokens[row])[1])
            self.status.setText(tr("Token copied to the clipboard."))

    def remove_selected(self) -> None:
        row = self._selected_row()
        if row is None:
            return
        del self._tokens[row]
        self.set_tokens(self._tokens)
        self.status.setText(tr("The token stops working once the settings are applied."))
        self.changed.emit()

    def _add_asking(self) -> None:
        name = self._ask_name(self)
        if name is not None:
            self.add(name)

    def _selected_row(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _update_buttons(self) -> None:
        selected = self._selected_row() is not None
        self.copy_button.setEnabled(selected)
        # The last token stays: with none stored, the next start would generate one anyway.
        # To rotate, make the new token first, then revoke the old one.
        self.remove_button.setEnabled(selected and len(self._tokens) > 1)
        self.remove_button.setToolTip(
            "" if len(self._tokens) > 1 else tr("Make a new token before revoking the last one.")
        )
