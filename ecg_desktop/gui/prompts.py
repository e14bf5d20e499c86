"""Questions the window asks the user. One class so a test can answer them in place of a
person (the only thing a test stands in for); the window never calls ``QMessageBox`` itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ecg_desktop.domain import Job

from .adding import REASONS, Refused
from .i18n import tr


def reason_text(refused: Refused) -> str:
    """The refusal reason in the UI language (the texts are marked in ``_mark_reasons``)."""
    return tr(REASONS[refused.kind]).format(detail=refused.detail)


def _mark_reasons() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("file not found")
    tr("not a regular file")
    tr("not a video file ({detail})")
    tr("not readable (permission denied)")
    tr("empty file (0 bytes)")
    tr("more than {detail} videos; add a smaller folder")
    tr("folder holds no video files")


class Prompts:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def show_refused(self, refused: Sequence[Refused]) -> None:
        lines = "\n".join(f"• {r.path.name or r.path}: {reason_text(r)}" for r in refused)
        box = QMessageBox(QMessageBox.Icon.Warning, tr("Some files were not added"),
                          tr("{n} file(s) cannot be analysed:").format(n=len(refused)),
                          QMessageBox.StandardButton.Ok, self.parent)
        box.setInformativeText(lines if len(refused) <= 15 else
                               "\n".join(lines.splitlines()[:15]) + "\n…")
        box.setDetailedText("\n".join(f"{r.path}: {reason_text(r)}" for r in refused))
        box.exec()

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
            tr("Delete {n} job(s), their results and their uploaded videos from storage?\n{names}"
               "\n\nThe files on this computer are kept.").format(n=len(jobs), names=names),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_delete_others(self, jobs: Sequence[Job]) -> bool:
        """Team mode: some of the jobs to delete were added by someone else."""
        names = "\n".join(f"• {j.filename} ({j.owner})" for j in jobs[:15])
        answer = QMessageBox.warning(
            self.parent, tr("Delete other people's jobs"),
            tr("{n} of these job(s) were added by someone else; deleting removes them for "
               "the whole team:\n{names}\n\nDelete them anyway?").format(n=len(jobs),
                                                                          names=names),
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
