"""``ReviewPane``: a completed job's transcript, speakers, video and feature plots.

It composes small parts (model, delegate, view, speaker panel, player, plots, find bar) and
keeps them in step. Edits go through ``TranscriptEditor`` (app/review.py) as undoable
commands; the pane never writes to the store itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import JobStore, ObjectStorage
from ecg_desktop.app.review import TranscriptEditor
from ecg_desktop.app.team import playable_source
from ecg_desktop.domain import (
    Event,
    Job,
    JobChanged,
    JobDeleted,
    JobStatus,
    Transcript,
    TranscriptChanged,
)

from ..i18n import tr
from .palette import Colouring
from .qt_elided_label import ElidedLabel
from .qt_legend import ColourLegend
from .qt_player import PlayerPanel
from .qt_plots import FeaturePlots
from .qt_review_edits import ReviewEdits
from .qt_search import SearchBar
from .qt_segment_delegate import SegmentDelegate
from .qt_segment_model import SegmentFilterProxy, SegmentTableModel
from .qt_speakers import SpeakerPanel, SpeakerTableModel
from .qt_transcript_view import TranscriptView
from .qt_undo_button import UndoButton
from .timeline import format_time

logger = logging.getLogger(__name__)


class ReviewCore(Protocol):
    store: JobStore
    bus: EventBus


class ReviewPane(QWidget):
    def __init__(self, core: ReviewCore, parent: QWidget | None = None, *,
                 storage: ObjectStorage | None = None) -> None:
        """``storage`` makes a link to play a teammate's video (no link without it)."""
        super().__init__(parent)
        self.editor = TranscriptEditor(core.store, core.bus)
        self._storage = storage
        self.job: Job | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._own_writes = 0
        self._load_serial = 0
        self._transcript_shown = False
        self._unfinished: set[uuid.UUID] = set()  # jobs seen on their way
        self._last_write: asyncio.Task[Any] | None = None

        self.model = SegmentTableModel(self)
        self.proxy = SegmentFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.delegate = SegmentDelegate(self.model, self)
        self.view = TranscriptView(self.delegate, self)
        self.view.setModel(self.proxy)
        self.speakers = SpeakerTableModel(self)
        self.speaker_panel = SpeakerPanel(self.speakers, self)
        self.player = PlayerPanel(self)
        self.plots = FeaturePlots(self)
        # Until a transcript is shown, a note instead of empty 0..1 axes.
        self.plots_placeholder = QLabel(self)
        self.plots_placeholder.setObjectName("plotsPlaceholder")
        self.plots_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.plots_placeholder.setWordWrap(True)
        self.plots_placeholder.setStyleSheet("color: palette(placeholder-text);")
        self.plots_stack = QStackedWidget(self)
        self.plots_stack.addWidget(self.plots_placeholder)
        self.plots_stack.addWidget(self.plots)
        self.search = SearchBar(self)
        self.undo_stack = QUndoStack(self)
        self.edits = ReviewEdits(self)

        self.title = ElidedLabel(self)
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #a33;")
        self.notice.hide()
        self.colouring = QComboBox(self)
        for colouring in Colouring:
            self.colouring.addItem("", colouring)
        self.legend = ColourLegend(self)
        self.legend.set_scale(None)
        self.undo_button = UndoButton(self.undo_stack, redo=False, parent=self)
        self.redo_button = UndoButton(self.undo_stack, redo=True, parent=self)
        self._build_layout()
        self._connect()
        self._unsubscribe: Callable[[], None] | None = core.bus.subscribe(self._on_event)
        self.destroyed.connect(lambda *_: self._drop_subscription())
        self.clear()
        self.retranslate()

    def retranslate(self) -> None:
        """Set every text again, in the language now installed (on ``LanguageChange``)."""
        names = {Colouring.NONE: self.tr("Plain words"),
                 Colouring.LOUDNESS: self.tr("Colour by loudness"),
                 Colouring.PITCH: self.tr("Colour by pitch")}
        for index in range(self.colouring.count()):
            self.colouring.setItemText(index, names[Colouring(self.colouring.itemData(index))])
        self.undo_button.retranslate()
        self.redo_button.retranslate()
        self.player.retranslate()
        self.search.retranslate()
        self.speaker_panel.retranslate()
        self.plots.retranslate()
        self.plots_placeholder.setText(
            self.tr("Pitch and loudness over time appear here for the transcript shown"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 2)
        if self.job is None:
            self.title.setText(self.tr("Select a completed job to review its transcript"))
        elif not self._transcript_shown:
            self.title.setText(self._where_it_stands(self.job))
        elif self.model.rowCount():
            self._update_title()
            if not self.model.transcript.features_measured:
                self.show_notice(self._placeholder_notice())
        self.view.viewport().update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _placeholder_notice(self) -> str:
        return self.tr(
            "The server sent placeholder loudness and pitch values: they are shown as "
            "\u201cnot measured\u201d.")

    # -- construction --------------------------------------------------------------------

    def _build_layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.colouring)
        header.addWidget(self.legend)
        header.addWidget(self.undo_button)
        header.addWidget(self.redo_button)
        text_side = QWidget(self)
        text_layout = QVBoxLayout(text_side)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.addWidget(self.search)
        text_layout.addWidget(self.view, 1)
        side = QSplitter(Qt.Orientation.Vertical, self)
        side.addWidget(self.player)
        side.addWidget(self.speaker_panel)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 2)
        top = QSplitter(Qt.Orientation.Horizontal, self)
        top.addWidget(text_side)
        top.addWidget(side)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        main = QSplitter(Qt.Orientation.Vertical, self)
        main.addWidget(top)
        main.addWidget(self.plots_stack)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([620, 260])
        top.setSizes([760, 520])
        side.setSizes([330, 250])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.notice)
        layout.addWidget(main, 1)

    def _connect(self) -> None:
        self.view.wordClicked.connect(self._on_word_clicked)
        self.view.segmentClicked.connect(self._on_segment_clicked)
        self.view.wordMenuRequested.connect(self.edits.show_menu)
        self.view.selectionModel().currentChanged.connect(self._on_current_segment)
        self.player.positionChanged.connect(self.on_position)
        self.plots.seekRequested.connect(self.player.seek)
        self.plots.segmentTimesRequested.connect(self.edits.retime_segment)
        self.colouring.currentIndexChanged.connect(
            lambda i: self.set_colouring(Colouring(self.colouring.itemData(i))))
        self.speakers.renameRequested.connect(self.edits.rename_speaker)
        self.speakers.visibilityChanged.connect(
            lambda: self.proxy.set_hidden_speakers(self.speakers.hidden))
        self.speaker_panel.mergeRequested.connect(self.edits.merge_speakers)
        self.search.changed.connect(self._on_search_changed)
        self.search.nextRequested.connect(lambda: self.step_hit(1))
        self.search.previousRequested.connect(lambda: self.step_hit(-1))
        undo = QShortcut(QKeySequence.StandardKey.Undo, self)
        undo.setWhatsThis(self.tr("Undo the last edit"))  # named in Help → Keyboard shortcuts
        undo.activated.connect(self.undo_stack.undo)
        redo = QShortcut(QKeySequence.StandardKey.Redo, self)
        redo.setWhatsThis(self.tr("Redo"))
        redo.activated.connect(self.undo_stack.redo)
        # Ctrl+F is the window's "Find in transcript" action (one owner per key).

    def _note_finishing(self, job: Job) -> None:
        """A job that completes while the pane shows nothing opens in it."""
        if not job.status.is_terminal:
            self._unfinished.add(job.job_id)
        elif job.job_id in self._unfinished:
            self._unfinished.discard(job.job_id)
            if self.job is None and job.status is JobStatus.COMPLETED:
                self._spawn(self.show_job(job))

    def _drop_subscription(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- showing a job -------------------------------------------------------------------

    async def show_job(self, job: Job) -> None:
        """Load and show ``job``'s transcript (with edits) and video."""
        self._load_serial += 1
        serial = self._load_serial
        self.job = job
        self.undo_stack.clear()
        self.title.setText(self.tr("Loading %s…") % (job.filename or job.job_id))
        try:
            transcript = await self.editor.load(job.job_id)
        except Exception as error:
            logger.exception("cannot load the transcript of job %s", job.job_id)
            if serial == self._load_serial:
                self.show_notice(self.tr("The transcript cannot be loaded: %s") % error)
            return
        if serial != self._load_serial:
            return  # another job was selected meanwhile
        if transcript is None:
            self._show_without_transcript(job)
            return
        self.show_transcript(transcript, job)
        source = job.local_path or job.video_url
        if source is None and self._storage is not None:  # a teammate's job: a link, made now
            source = await playable_source(job, self._storage)
            if serial != self._load_serial:
                return
        self.player.set_source(source, transcript.duration)

    def _show_without_transcript(self, job: Job) -> None:
        """Say where ``job`` stands; it is shown once it completes (see ``_on_event``)."""
        self.clear()
        self.job = job
        self.title.setText(self._where_it_stands(job))

    def _where_it_stands(self, job: Job) -> str:
        name = job.filename or str(job.job_id)
        if job.status is JobStatus.FAILED:
            return self.tr("%s failed: %s") % (name, job.error_message or job.error_code or "")
        if job.status is JobStatus.CANCELED:
            return self.tr("%s was canceled") % name
        return self.tr("%s has no transcript yet") % name

    def show_transcript(self, transcript: Transcript, job: Job | None = None) -> None:
        self.job = job if job is not None else self.job
        self._transcript_shown = True
        self.edits.selected_word = None
        self.notice.hide()
        self.model.set_transcript(transcript)
        self.view.viewport().repaint()  # the text first; the speakers and plots follow
        self.speakers.set_transcript(transcript)
        self.proxy.set_hidden_speakers(self.speakers.hidden)
        self.plots.set_transcript(transcript)
        self._shade_current_segment()
        self._show_plots(bool(transcript.segments))
        self.legend.set_scale(self.model.scale)
        self._update_title()
        if not transcript.features_measured:
            self.show_notice(self._placeholder_notice())
        if self.search.query.strip():
            self._on_search_changed()

    def clear(self) -> None:
        self._load_serial += 1
        self.job = None
        self._transcript_shown = False
        self.undo_stack.clear()
        self.model.set_transcript(Transcript(()))
        self.speakers.set_transcript(Transcript(()))
        self.plots.set_transcript(Transcript(()))
        self.plots.show_segment(None)
        self._show_plots(False)
        self.player.set_source(None)
        self.legend.set_scale(None)
        self.notice.hide()
        self.title.setText(self.tr("Select a completed job to review its transcript"))

    def _show_plots(self, shown: bool) -> None:
        self.plots_stack.setCurrentWidget(self.plots if shown else self.plots_placeholder)

    def _update_title(self) -> None:
        transcript = self.model.transcript
        name = self.job.filename if self.job is not None and self.job.filename else ""
        language = transcript.metadata.get("language_detected") or ""
        self.title.set_parts([
            name, format_time(transcript.duration),
            tr("%n speaker(s)", "", len(transcript.speaker_ids)),
            tr("%n segment(s)", "", len(transcript.segments)), str(language)])

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    # -- playback ------------------------------------------------------------------------

    def on_position(self, seconds: float) -> None:
        """Highlight the word at ``seconds`` (binary search) and keep it in view."""
        location = self.model.timeline.locate(seconds)
        if self.model.set_current(location) and location is not None \
                and self.player.follow.isChecked():
            index = self.proxy.mapFromSource(self.model.index(location.segment, 0))
            if index.isValid():
                self.view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        self.plots.set_cursor(seconds)

    def _on_word_clicked(self, row: int, word: int) -> None:
        segment = self.model.segment(row)
        self.edits.selected_word = (row, word) if word < len(segment.words) else None
        start = segment.words[word].start if word < len(segment.words) else segment.start
        self.player.seek(start)

    def _on_segment_clicked(self, row: int) -> None:
        self.edits.selected_word = None  # the keys move the segment now
        self.player.seek(self.model.segment(row).start)

    def _on_current_segment(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            segment = self.model.segment(self.proxy.mapToSource(current).row())
            self.plots.follow(segment.start, segment.end)
        self._shade_current_segment()

    def _shade_current_segment(self) -> None:
        current = self.view.currentIndex()
        if not current.isValid():
            self.plots.show_segment(None)
            return
        row = self.proxy.mapToSource(current).row()
        segment = self.model.segment(row)
        self.plots.show_segment(row, segment.start, segment.end)

    def select_segment(self, row: int) -> None:
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    # -- colouring and search ------------------------------------------------------------

    def set_colouring(self, colouring: Colouring) -> None:
        self.model.set_colouring(colouring)
        self.legend.set_scale(self.model.scale)
        index = self.colouring.findData(colouring)
        if index >= 0 and index != self.colouring.currentIndex():
            self.colouring.setCurrentIndex(index)

    def _on_search_changed(self) -> None:
        query, options = self.search.query, self.search.options
        total = self.model.search(query, options)
        self.proxy.set_text_filter(query if self.search.only.isChecked() else "", options)
        self.search.show_count(self.model.current_hit, total)
        if total:
            self._reveal_hit()

    def step_hit(self, step: int) -> None:
        total = len(self.model.hits)
        if not total:
            return
        current = self.model.current_hit
        number = 0 if current is None else (current + step) % total
        self.model.set_current_hit(number)
        self.search.show_count(number, total)
        self._reveal_hit()

    def _reveal_hit(self) -> None:
        number = self.model.current_hit
        if number is None:
            return
        index = self.proxy.mapFromSource(self.model.index(self.model.hits[number].segment, 0))
        if index.isValid():
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    # -- after an edit ------------------------------------------------------------------

    def refresh_after_edit(self, *, plots: bool = True) -> None:
        """Bring the speakers, plots, title and search up to the model's transcript."""
        transcript = self.model.transcript
        self.speakers.set_transcript(transcript)
        self.proxy.set_hidden_speakers(self.speakers.hidden)
        if plots:
            self.plots.set_transcript(transcript)
        self._update_title()
        self.refresh_search()
        self._shade_current_segment()

    def refresh_search(self) -> None:
        if self.search.query.strip():
            self._on_search_changed()

    def play_from(self, seconds: float) -> None:
        self.player.seek(seconds)
        self.player.player.play()

    # -- writes and events ---------------------------------------------------------------

    def write(self, coroutine: Coroutine[Any, Any, None], *, reload: bool = False) -> None:
        """Store an edit after the ones before it (in the order they were made)."""
        job_id = self.job.job_id if self.job is not None else None
        previous = self._last_write

        async def run() -> None:
            self._own_writes += 1
            try:
                if previous is not None:
                    await asyncio.wait([previous])
                await coroutine
            except Exception as error:
                logger.exception("an edit could not be stored")
                self.show_notice(self.tr("The edit could not be saved: %s") % error)
                reload_needed = True
            else:
                reload_needed = reload
            finally:
                self._own_writes -= 1
            if reload_needed and job_id is not None:
                await self._reload(job_id)

        self._last_write = self._spawn(run())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Wait until every pending write (and reload) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _reload(self, job_id: uuid.UUID) -> None:
        if self.job is None or self.job.job_id != job_id:
            return
        transcript = await self.editor.load(job_id)
        if transcript is None or self.job is None or self.job.job_id != job_id:
            return
        same_shape = len(transcript.segments) == len(self.model.transcript.segments)
        if same_shape:
            self.model.replace_transcript(transcript)
            self.speakers.set_transcript(transcript)
            self.proxy.set_hidden_speakers(self.speakers.hidden)
            self.plots.set_transcript(transcript)
            self._update_title()
        else:
            self.show_transcript(transcript)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, JobChanged):
            self._note_finishing(event.job)
        if self.job is None:
            return
        if isinstance(event, JobDeleted) and event.job_id == self.job.job_id:
            self.clear()
        elif (isinstance(event, JobChanged) and event.job.job_id == self.job.job_id
              and event.job.status is not self.job.status):
            self._spawn(self.show_job(event.job))  # it moved on: processing, completed, failed ...
        elif (isinstance(event, TranscriptChanged) and event.job_id == self.job.job_id
              and self._own_writes == 0):  # changed elsewhere (another window, the CLI, ...)
            self._spawn(self._reload(event.job_id))


__all__ = ["ReviewPane"]
