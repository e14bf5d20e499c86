"""The main window's actions: one table of names, texts, keys and icons (``ACTIONS``), the
menus they sit in, and the Help → Keyboard shortcuts listing built from what is really bound.

Every key is bound once per window: Ctrl+F finds in the transcript (the job filter when no
transcript is shown), Ctrl+L goes to the job filter. ``tests/gui/test_shortcuts.py`` checks
that no two enabled actions or shortcuts of the window share a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget

from .i18n import tr

Key = QKeySequence.StandardKey | str
STD = QKeySequence.StandardKey


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    text: str  # source text, translated when shown
    key: Key
    icon: str = ""
    fallback: str = ""  # the key where the platform has no standard one


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("add", "&Add videos…", STD.Open, "list-add"),
    ActionSpec("addFolder", "Add &folder…", "Ctrl+Shift+O", "folder-open"),
    ActionSpec("paste", "&Paste paths", STD.Paste, "edit-paste"),
    ActionSpec("quit", "&Quit", STD.Quit, "application-exit", "Ctrl+Q"),
    ActionSpec("open", "&Open transcript", "Return", "document-open"),
    ActionSpec("retry", "&Retry", "Ctrl+R", "view-refresh"),
    ActionSpec("retryWith", "Analyse &again with…", "Ctrl+Shift+R", "view-refresh"),
    ActionSpec("cancel", "&Cancel job", "Ctrl+.", "process-stop"),
    ActionSpec("delete", "&Delete…", STD.Delete, "edit-delete"),
    ActionSpec("copyId", "Copy job &ID", "Ctrl+Shift+C", "edit-copy"),
    ActionSpec("showFile", "&Show file", "Ctrl+Shift+F", "folder"),
    ActionSpec("export", "&Export…", "Ctrl+E", "document-save-as"),
    ActionSpec("findTranscript", "&Find in transcript", STD.Find, "edit-find"),
    ActionSpec("findJobs", "Filter &jobs", "Ctrl+L", "edit-find"),
    ActionSpec("settings", "&Settings…", STD.Preferences, "preferences-system", "Ctrl+,"),
    ActionSpec("checkHealth", "Check ML server &now", "F5", "network-wired"),
    ActionSpec("openLog", "Open &log file", "Ctrl+Shift+L", "text-x-generic"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "Ctrl+/", "input-keyboard"),
    ActionSpec("about", "&About ECG Desktop", STD.HelpContents, "help-about", "F1"),
)
SPECS = {spec.name: spec for spec in ACTIONS}
# Menu -> action names (None: a separator). The job menu is also the queue's context menu.
MENUS: dict[str, tuple[str | None, ...]] = {
    "&File": ("add", "addFolder", "paste", None, "quit"),
    "&Job": ("open", None, "retry", "retryWith", "cancel", "delete", None, "copyId",
             "showFile", "export"),
    "&View": ("findTranscript", "findJobs"),
    "&Tools": ("settings", "checkHealth", "openLog"),
    "&Help": ("shortcuts", "about"),
}
WIDGET_ONLY = frozenset({"open"})  # Return opens a job only while the queue has focus


def _mark_texts() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("&Add videos…")
    tr("Add &folder…")
    tr("&Paste paths")
    tr("&Quit")
    tr("&Open transcript")
    tr("&Retry")
    tr("Analyse &again with…")
    tr("&Cancel job")
    tr("&Delete…")
    tr("Copy job &ID")
    tr("&Show file")
    tr("&Export…")
    tr("&Find in transcript")
    tr("Filter &jobs")
    tr("&Settings…")
    tr("Check ML server &now")
    tr("Open &log file")
    tr("&Keyboard shortcuts")
    tr("&About ECG Desktop")
    tr("&File")
    tr("&Job")
    tr("&View")
    tr("&Tools")
    tr("&Help")


def build_actions(window: QMainWindow, slots: dict[str, Callable[[], object]]
                  ) -> dict[str, QAction]:
    """One ``QAction`` per spec, bound to ``slots[name]`` and added to ``window``."""
    actions = {}
    for spec in ACTIONS:
        action = QAction(window)
        action.setObjectName(spec.name)
        action.setShortcut(QKeySequence(spec.key))
        if action.shortcut().isEmpty() and spec.fallback:
            action.setShortcut(QKeySequence(spec.fallback))
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut if spec.name in WIDGET_ONLY
                                  else Qt.ShortcutContext.WindowShortcut)
        if spec.icon:
            action.setIcon(QIcon.fromTheme(spec.icon))
        slot = slots[spec.name]
        action.triggered.connect(lambda _checked=False, slot=slot: slot())
        window.addAction(action)
        actions[spec.name] = action
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction]) -> dict[str, QMenu]:
    menus = {}
    for title, names in MENUS.items():
        menu = window.menuBar().addMenu("")
        for name in names:
            menu.addSeparator() if name is None else menu.addAction(actions[name])
        menus[title] = menu
    return menus


def retranslate_actions(actions: dict[str, QAction], menus: dict[str, QMenu]) -> None:
    for name, action in actions.items():
        text = tr(SPECS[name].text)
        action.setText(text)
        plain = text.replace("&", "").rstrip("…")
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{plain} ({key})" if key else plain)
    for title, menu in menus.items():
        menu.setTitle(tr(title))


# -- what is bound -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """One key bound in a window: what it does and where it applies."""

    key: str  # QKeySequence.PortableText
    text: str
    owner: QObject  # the QAction or QShortcut
    scope: QWidget | None  # None: the whole window

    def overlaps(self, other: Binding) -> bool:
        """Whether both could answer the same key press."""
        if self.key != other.key:
            return False
        if self.scope is None or other.scope is None:
            return True
        return (self.scope is other.scope or self.scope.isAncestorOf(other.scope)
                or other.scope.isAncestorOf(self.scope))


def bindings(window: QWidget, *, enabled_only: bool = True) -> list[Binding]:
    """Every key binding of ``window`` and its children (actions and shortcuts); only the
    enabled ones unless ``enabled_only`` is false."""
    found: list[Binding] = []
    for action in window.findChildren(QAction):
        if (action.isEnabled() or not enabled_only) and not action.objectName().startswith(
                "_q_"):
            scope = _scope(action.shortcutContext(), action.associatedObjects())
            found += _each_key(action.shortcuts(), action.text(), action, scope)
    for shortcut in window.findChildren(QShortcut):
        if shortcut.isEnabled() or not enabled_only:
            parent = shortcut.parent()
            scope = _scope(shortcut.context(), [parent] if parent is not None else [])
            text = shortcut.whatsThis() or shortcut.objectName()
            found += _each_key(shortcut.keys(), text, shortcut, scope)
    return found


def _scope(context: Qt.ShortcutContext, owners: Iterable[QObject]) -> QWidget | None:
    if context in (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut):
        return None
    widgets = [o for o in owners if isinstance(o, QWidget) and not isinstance(o, QMenu)]
    return widgets[-1] if widgets else None


def _each_key(keys: Iterable[QKeySequence], text: str, owner: QObject,
              scope: QWidget | None) -> list[Binding]:
    return [Binding(k.toString(QKeySequence.SequenceFormat.PortableText),
                    text.replace("&", ""), owner, scope) for k in keys if not k.isEmpty()]


def ambiguous(found: Iterable[Binding]) -> list[tuple[Binding, Binding]]:
    """Pairs of bindings that claim the same key in overlapping places."""
    listed = list(found)
    return [(a, b) for i, a in enumerate(listed) for b in listed[i + 1:]
            if a.owner is not b.owner and a.overlaps(b)]
