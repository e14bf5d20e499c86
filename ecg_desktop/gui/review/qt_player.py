"""``PlayerPanel``: the job's video (QtMultimedia) with play/pause, ±5 s, speed and volume.

It reports the playback position in seconds (``positionChanged``), from the player's own
notifications and, while playing, a 40 ms timer, so the highlighted word moves smoothly.

Once a file has loaded the player is paused rather than stopped: a paused player shows the
frame at its position (a stopped one shows black until Play), and each seek shows the new
frame. A seek asked for while the file still loads is kept and made once it has loaded. A
file without a picture (an audio recording) gets a plain "Audio only" in place of the video.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Q_ARG, QMetaObject, Qt, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .timeline import format_time

logger = logging.getLogger(__name__)

SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
SKIP_S = 5.0
TICK_MS = 40


class PlayerPanel(QWidget):
    positionChanged = Signal(float)  # seconds

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.video = QVideoWidget(self)
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.video.setMinimumSize(240, 135)
        self.player.setVideoOutput(self.video)
        self.no_video = QLabel(self)
        self.no_video.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.no_video)
        self._stack.addWidget(self.video)

        self.play_button = QToolButton(self)
        self.back_button = QToolButton(self)
        self.forward_button = QToolButton(self)
        self.time_label = QLabel("00:00 / 00:00", self)
        self.speed = QComboBox(self)
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.volume = QSlider(Qt.Orientation.Horizontal, self)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setMinimumWidth(80)
        self.volume.setMaximumWidth(140)
        self.volume_label = QLabel(self)
        self.follow = QCheckBox(self)
        self.follow.setChecked(True)

        # Two rows, so that the controls fit a narrow column beside the transcript.
        transport = QHBoxLayout()
        widgets: list[QWidget] = [self.play_button, self.back_button, self.forward_button,
                                  self.time_label]
        for widget in widgets:
            transport.addWidget(widget)
        transport.addStretch(1)
        transport.addWidget(self.follow)
        settings = QHBoxLayout()
        widgets = [self.speed, self.volume_label, self.volume]
        for widget in widgets:
            settings.addWidget(widget)
        settings.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._stack, 1)
        layout.addLayout(transport)
        layout.addLayout(settings)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._pending_seek: float | None = None
        self._source = QUrl()
        self._queued_switches = 0  # source changes queued and not yet made (see set_source)
        self.play_button.clicked.connect(self.toggle)
        self.back_button.clicked.connect(lambda: self.skip(-SKIP_S))
        self.forward_button.clicked.connect(lambda: self.skip(SKIP_S))
        self.speed.currentIndexChanged.connect(
            lambda i: self.player.setPlaybackRate(float(self.speed.itemData(i)))
        )
        self.volume.valueChanged.connect(lambda v: self.audio.setVolume(v / 100))
        self.audio.setVolume(0.8)
        self._known_duration = 0.0
        self._shown_position = 0.0
        self.player.positionChanged.connect(self._on_player_position)
        self.player.durationChanged.connect(lambda _ms: self._report(self._shown_position))
        self.player.hasVideoChanged.connect(self._show_picture)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.errorOccurred.connect(self._on_error)
        self._has_error = False
        self.retranslate()
        self.set_source(None)

    def retranslate(self) -> None:
        self.back_button.setText(self.tr("−5 s"))
        self.forward_button.setText(self.tr("+5 s"))
        self.speed.setToolTip(self.tr("Playback speed"))
        self.volume.setToolTip(self.tr("Volume"))
        self.volume_label.setText(self.tr("Vol."))
        self.follow.setText(self.tr("Follow"))
        self.follow.setToolTip(self.tr("Keep the word being played in view"))
        if not self._has_error:
            self._show_picture(self.player.hasVideo() or not self.loaded)
        self._on_state(self.player.playbackState())
        self._fix_widths()

    def _fix_widths(self) -> None:
        """Widths that do not change when playback starts ("Play" becomes "Pause", the time
        runs): a wider panel would push the splitters around it."""
        metrics = self.play_button.fontMetrics()
        widest = max(metrics.horizontalAdvance(t) for t in (self.tr("Play"), self.tr("Pause")))
        self.play_button.setFixedWidth(widest + 2 * metrics.horizontalAdvance("  "))
        digits = self.time_label.fontMetrics()
        self.time_label.setMinimumWidth(digits.horizontalAdvance("0:00:00 / 0:00:00 ") + 4)

    def set_source(self, source: str | None, duration: float = 0.0) -> None:
        """A local path or URL of the video (or sound file), or ``None`` when there is none.
        ``duration``: its length as far as known (shown until the file says).

        The player's own stop and source change are queued to Qt's event loop rather than
        called from here: called from Python they run holding the GIL, and the FFmpeg
        backend's audio thread, tearing down its renderer at that moment, waits for the GIL
        (to look for Python overrides on the QAudioOutput made here) while holding a lock
        the stop waits for. Switching jobs froze the window that way."""
        path = Path(source) if source else None
        url = QUrl() if path is None else (
            QUrl.fromLocalFile(str(path)) if path.exists() else QUrl(str(source)))
        self._source = url
        self._queued_switches += 1
        self._pending_seek = None
        self._has_error = False
        self._known_duration = duration
        self._shown_position = 0.0
        queued = Qt.ConnectionType.QueuedConnection
        QMetaObject.invokeMethod(self.player, "stop", queued)
        QMetaObject.invokeMethod(self.player, "setSource", queued, Q_ARG(QUrl, url))
        QTimer.singleShot(0, self, self._switched)  # runs after the two calls above
        if url.isEmpty():
            self._stack.setCurrentWidget(self.no_video)
            self.no_video.setText(self.tr("No video for this job"))
        else:
            self._stack.setCurrentWidget(self.video)  # until the file says it has none
        self._enable(not url.isEmpty())
        self._report(0.0)

    def _switched(self) -> None:
        self._queued_switches -= 1
        loaded = QMediaPlayer.MediaStatus.LoadedMedia
        if not self._switching and self.player.mediaStatus() == loaded:
            self._on_status(loaded)

    @property
    def _switching(self) -> bool:
        """A source change is queued: the player's state is still the old file's."""
        return self._queued_switches > 0

    @property
    def loaded(self) -> bool:
        return not self._switching and self.player.mediaStatus() in (
            QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferingMedia,
            QMediaPlayer.MediaStatus.BufferedMedia, QMediaPlayer.MediaStatus.EndOfMedia)

    @property
    def is_audio_only(self) -> bool:
        """The file has loaded and has no picture."""
        return self.loaded and not self.player.hasVideo()

    def _show_picture(self, has_video: bool) -> None:
        if self._has_error or self._switching or self._source.isEmpty():
            return
        if has_video:
            self._stack.setCurrentWidget(self.video)
        else:
            self.no_video.setText(self.tr("Audio only"))
            self._stack.setCurrentWidget(self.no_video)

    def _enable(self, enabled: bool) -> None:
        for widget in (self.play_button, self.back_button, self.forward_button, self.speed):
            widget.setEnabled(enabled)

    @property
    def position(self) -> float:
        return self.player.position() / 1000

    def seek(self, seconds: float) -> None:
        if self._source.isEmpty():
            return
        seconds = max(seconds, 0.0)
        if self.loaded:
            self.player.setPosition(round(seconds * 1000))
        else:
            self._pending_seek = seconds  # made once the file has loaded
        self._report(seconds)

    def skip(self, seconds: float) -> None:
        self.seek(max(self.position + seconds, 0.0))

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def _tick(self) -> None:
        self._report(self.position)

    def _on_player_position(self, millis: int) -> None:
        if self._pending_seek is None and not self._switching:  # not the old file's, nor 0
            self._report(millis / 1000)

    def _report(self, seconds: float) -> None:
        self._shown_position = seconds
        duration = self.player.duration() / 1000 if self.loaded else 0.0
        duration = duration or self._known_duration
        self.time_label.setText(f"{format_time(seconds)} / {format_time(duration)}")
        self.positionChanged.emit(seconds)

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.play_button.setText(self.tr("Pause") if playing else self.tr("Play"))
        if playing:
            self._timer.start()
        else:
            self._timer.stop()

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if self._switching:  # the old file's last word, or the new one's before it is set
            return
        if status == QMediaPlayer.MediaStatus.LoadedMedia:
            self._show_picture(self.player.hasVideo())
            if self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
                self.player.pause()  # paused, not stopped: the frame at the position shows
            seconds, self._pending_seek = self._pending_seek, None
            if seconds is not None:
                self.player.setPosition(round(seconds * 1000))
            self._report(self._shown_position if seconds is None else seconds)
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._has_error = True
            self._stack.setCurrentWidget(self.no_video)
            self.no_video.setText(self.tr("The video cannot be played"))

    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        logger.warning("video player: %s (%s)", message, error)
        self._has_error = True
        self.no_video.setText(self.tr("The video cannot be played: %s") % message)
        self._stack.setCurrentWidget(self.no_video)
