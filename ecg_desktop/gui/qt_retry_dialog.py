"""``QtRetryDialog``: "Analyse again with…" a finished job's video, with other settings: the
language, the Whisper model (those installed on this computer, for the bundled analyzer), the
number of speakers (detect, exactly, or between two numbers) and a known transcript (then the
words are aligned to it instead of recognised). It starts from what the job asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.analyzer.whisper_models import installed_models
from ecg_desktop.config import LANGUAGES
from ecg_desktop.domain import DispatchOptions, Job

from .i18n import tr
from .qt_queue_toolbar import language_text

MAX_SPEAKERS = 20
SPEAKER_MODES = ("detect", "exact", "range")


@dataclass(frozen=True, slots=True)
class RetryChoice:
    language: str
    options: DispatchOptions


def installed_model_names() -> list[str]:
    """The Whisper models installed here (``analyzer.whisper_models``), in catalog order."""
    return [model.info.name for model in installed_models()]


def _mark_texts() -> None:  # pragma: no cover - only read by pyside6-lupdate
    tr("Detect automatically")
    tr("Exactly")
    tr("Between")


class QtRetryDialog(QDialog):
    chosen = Signal(object)  # RetryChoice

    def __init__(self, job: Job, parent: QWidget | None = None, *,
                 languages: Sequence[str] = LANGUAGES, models: list[str] | None = None) -> None:
        """``languages``: those the analyzer in use can recognise; ``models``: the installed
        Whisper models (found here when not given)."""
        super().__init__(parent)
        self.setObjectName("retryDialog")
        self.setWindowTitle(tr("Analyse again"))
        self.setMinimumWidth(520)
        self.job = job
        form = QFormLayout()
        self.language = QComboBox(self)
        for code in languages:
            self.language.addItem(language_text(code), code)
        self.language.setCurrentIndex(max(self.language.findData(job.language), 0))
        form.addRow(tr("&Language:"), self.language)
        self.model = QComboBox(self)
        self.model.addItem(tr("The ML server's default"), None)
        for name in installed_model_names() if models is None else models:
            self.model.addItem(name, name)
        self.model.setCurrentIndex(max(self.model.findData(job.options.model), 0))
        self.model.setToolTip(tr("Models installed on this computer (Tools → Settings → "
                                 "Models); the bundled analyzer uses them"))
        form.addRow(tr("&Model:"), self.model)
        form.addRow(tr("&Speakers:"), self._speakers_row(job.options))
        self.transcript = QPlainTextEdit(self)
        self.transcript.setPlaceholderText(tr(
            "Optional: paste what is said, and the words are aligned to this text instead of "
            "being recognised"))
        self.transcript.setPlainText(job.options.transcript or "")
        form.addRow(tr("Known &transcript:"), self.transcript)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Analyse &again"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel(tr("{file} is analysed again as a new job; this one stays as it is.")
                       .format(file=job.filename or job.job_id), self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _speakers_row(self, options: DispatchOptions) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.speaker_mode = QComboBox(row)
        for mode, text in zip(SPEAKER_MODES, ("Detect automatically", "Exactly", "Between"),
                              strict=True):
            self.speaker_mode.addItem(tr(text), mode)
        self.min_speakers = QSpinBox(row)
        self.max_speakers = QSpinBox(row)
        for box in (self.min_speakers, self.max_speakers):
            box.setRange(1, MAX_SPEAKERS)
        self.to_label = QLabel(tr("and"), row)
        low, high = options.min_speakers, options.max_speakers
        mode = "detect" if low is None and high is None else (
            "exact" if low == high else "range")
        self.min_speakers.setValue(low or 1)
        self.max_speakers.setValue(high or max(low or 2, 2))
        self.speaker_mode.setCurrentIndex(SPEAKER_MODES.index(mode))
        self.speaker_mode.currentIndexChanged.connect(self._show_speaker_fields)
        self.min_speakers.valueChanged.connect(
            lambda v: self.max_speakers.setValue(max(v, self.max_speakers.value())))
        for widget in (self.speaker_mode, self.min_speakers, self.to_label, self.max_speakers):
            layout.addWidget(widget)
        layout.addStretch(1)
        self._show_speaker_fields()
        return row

    def _show_speaker_fields(self) -> None:
        mode = self.speaker_mode.currentData()
        self.min_speakers.setVisible(mode != "detect")
        self.to_label.setVisible(mode == "range")
        self.max_speakers.setVisible(mode == "range")

    def choice(self) -> RetryChoice:
        mode = self.speaker_mode.currentData()
        low = None if mode == "detect" else self.min_speakers.value()
        high = low if mode == "exact" else (
            None if mode == "detect" else max(self.max_speakers.value(), low or 1))
        text = self.transcript.toPlainText().strip()
        options = DispatchOptions(transcript=text or None, min_speakers=low, max_speakers=high,
                                  model=self.model.currentData())
        return RetryChoice(str(self.language.currentData()), options)

    def accept(self) -> None:
        self.chosen.emit(self.choice())
        super().accept()
