"""Questions the window asks the user. One class so a test can answer them in place of a
person (the only thing a test stands in for); the window never calls ``QMessageBox`` itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ecg_desktop.domain import Job

from .adding import REASONS, Refused, unique_refusals
from .i18n import tr

SHOWN_NAMES = 15  # the rest of a long list is in the details


def reason_text(refused: Refused) -> str:
    """The refusal reason in the UI language (the texts are marked in ``_mark_reasons``)."""
    return tr(REASONS[refused.kind]).format(detail=refused.detail)


def _mark_reasons() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("file not found")
    tr("not a regular file")
    tr("not a video or sound file")
    tr("cannot be read (permission denied)")
    tr("empty file")
    tr("no sound track")
    tr("damaged or incomplete file")
    tr("more than {detail} videos; add a smaller folder")
    tr("folder holds no video files")
    tr("no speech model installed for this language")


def refusal_summary(refused: Sequence[Refused]) -> tuple[str, str, str]:
    """The one message for everything refused in a batch: a headline, one line per file in
    plain words (each file once), and the technical reasons for the details section."""
    refused = unique_refusals(refused)
    headline = tr("%n file(s) could not be added:", "", len(refused))
    lines = [f"• {r.path.name or r.path} — {reason_text(r)}" for r in refused[:SHOWN_NAMES]]
    if len(refused) > SHOWN_NAMES:
        lines.append(tr("… and %n more (see the details)", "", len(refused) - SHOWN_NAMES))
    details = "\n".join(f"{r.path}\n    {reason_text(r)}" + (
        f": {r.detail}" if r.detail and "{detail}" not in REASONS[r.kind] else "")
        for r in refused)
    return headline, "\n".join(lines), details


class Prompts:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def show_refused(self, refused: Sequence[Refused]) -> None:
        headline, lines, details = refusal_summary(refused)
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Some files were not added"), headline,
                          QMessageBox.StandardButton.Ok, self.parent)
        box.setInformativeText(lines)
        box.setDetailedText(details)
        box.setStyleSheet(  # one line per file where it fits
            "QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 420px; }")
        box.exec()

    def show_exported(self, written: Sequence[Path]) -> None:
        """Where an export went, with a button that opens its folder."""
        folder = written[0].parent
        names = "\n".join(f"• {p.name}" for p in written[:SHOWN_NAMES])
        box = QMessageBox(QMessageBox.Icon.Information, tr("Export finished"),
                          tr("%n file(s) written to {folder}", "", len(written)).format(
                              folder=folder),
                          QMessageBox.StandardButton.Ok, self.parent)
        box.setInformativeText(names)
        show = box.addButton(tr("Show in &folder"), QMessageBox.ButtonRole.ActionRole)
        box.exec()
        if box.clickedButton() is show:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def confirm_duplicates(self, paths: Sequence[Path]) -> bool:
        names = "\n".join(f"• {p.name}" for p in paths[:15])
        answer = QMessageBox.question(
            self.parent, tr("Already in the queue"),
            tr("These videos are already queued:\n{names}\n\nAdd them again?").format(names=names),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_delete(self, jobs: Sequence[Job]) -> bool:
        names = "\n".join(f"• {j.filename}" for j in jobs[:15])
        answer = QMessageBox.question(
            self.parent, tr("Delete jobs"),
            tr("Delete %n job(s), their results and their uploaded videos from storage?", "",
               len(jobs)) + "\n" + names + "\n\n" + tr("The files on this computer are kept."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_delete_others(self, jobs: Sequence[Job]) -> bool:
        """Team mode: some of the jobs to delete were added by someone else."""
        names = "\n".join(f"• {j.filename} ({j.owner})" for j in jobs[:15])
        answer = QMessageBox.warning(
            self.parent, tr("Delete other people's jobs"),
            tr("%n of these job(s) were added by someone else; deleting removes them for "
               "the whole team:", "", len(jobs)) + "\n" + names + "\n\n"
            + tr("Delete them anyway?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def ask_save_path(self, title: str, suggested: str, filters: Sequence[str]) -> tuple[str, str]:
        """(path, chosen filter); an empty path when the user canceled."""
        return QFileDialog.getSaveFileName(self.parent, title, suggested, ";;".join(filters))

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent, title, text)

    def show_info(self, title: str, text: str, details: str = "") -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text,
                          QMessageBox.StandardButton.Ok, self.parent)
        if details:
            box.setDetailedText(details)
        box.exec()
