"""``FeaturePlots``: pitch and loudness over time (pyqtgraph), one line per speaker in the
speaker's colour, a cursor at the playback position, click to seek, zoom and pan. The
selected segment is a shaded region on the loudness plot: dragging its edges (or itself)
asks for new times (``segmentTimesRequested``).

Words are drawn at their midpoints; a gap (NaN) separates segments and unvoiced words, so
lines never join across silence.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGraphicsItem, QWidget

from ecg_desktop.domain import Transcript

from .palette import speaker_colour

CURSOR_MS = 100
FEATURES = (("pitch_hz", "Pitch", "Hz"), ("volume_db", "Loudness", "dB"))


class FeaturePlots(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    seekRequested = Signal(float)
    segmentTimesRequested = Signal(int, float, float)  # segment, start, end

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        self.cursors: dict[str, pg.InfiniteLine] = {}
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {}
        self.legend: pg.LegendItem | None = None
        self.message = pg.TextItem("", color="#666", anchor=(0.5, 0.5))
        first: pg.PlotItem | None = None
        for row, (key, _title, _unit) in enumerate(FEATURES):
            plot = self.addPlot(row=row, col=0)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=True, y=False)
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            for side in ("left", "bottom"):
                # An axis replays all its drawing (tick texts) whenever any part of it is
                # exposed, and the playback cursor crosses it ten times a second: cached as a
                # pixmap, a cursor move repaints in ~3 ms instead of 14-20 ms. The cache is
                # redrawn when the axis changes (range, size, colours).
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            if first is None:
                first = plot
                self.legend = plot.addLegend(offset=(10, 5), labelTextColor="#222",
                                             brush=(255, 255, 255, 210))
            else:
                plot.setXLink(first)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#d62728", width=2))
            plot.addItem(cursor, ignoreBounds=True)
            self.plots[key] = plot
            self.cursors[key] = cursor
        self.scene().sigMouseClicked.connect(self._on_click)
        self.segment_region = pg.LinearRegionItem(
            brush=pg.mkBrush(31, 95, 191, 40), hoverBrush=pg.mkBrush(31, 95, 191, 70),
            pen=pg.mkPen("#1f5fbf", width=2), hoverPen=pg.mkPen("#d62728", width=3))
        self.segment_region.setZValue(-10)  # under the lines and the cursor
        self.segment_region.hide()
        self.segment_region.sigRegionChangeFinished.connect(self._on_region_dragged)
        self.plots[FEATURES[-1][0]].addItem(self.segment_region, ignoreBounds=True)
        self._segment: tuple[int, float, float] | None = None
        self._duration = 0.0
        self._cursor_target: float | None = None
        self._cursor_timer = QTimer(self)
        self._cursor_timer.setInterval(CURSOR_MS)
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.timeout.connect(self._apply_cursor)
        self._measured = True
        self.follow_palette()
        self.retranslate()

    def follow_palette(self) -> None:
        """Background, axes and legend in the window's colours (light or dark theme)."""
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        self.setBackground(base)
        for plot in self.plots.values():
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(text)
                axis.setTextPen(text)
        if self.legend is not None:
            self.legend.setLabelTextColor(text)
            for _sample, label in self.legend.items:  # drawn labels keep their colour
                label.setText(label.text, color=text)
            translucent = QColor(base)
            translucent.setAlpha(210)
            self.legend.setBrush(translucent)
        self.message.setColor(palette.color(QPalette.ColorRole.PlaceholderText))

    def changeEvent(self, event: QEvent) -> None:
        built = hasattr(self, "_measured")  # Qt sends events while __init__ still runs
        if built and event.type() in (QEvent.Type.PaletteChange,
                                      QEvent.Type.ApplicationPaletteChange):
            self.follow_palette()
        super().changeEvent(event)

    def retranslate(self) -> None:
        titles = {"pitch_hz": self.tr("Pitch"), "volume_db": self.tr("Loudness")}
        for key, _title, unit in FEATURES:
            self.plots[key].setLabel("left", titles[key], units=unit)
        self.plots[FEATURES[-1][0]].setLabel("bottom", self.tr("Time"), units="s")
        self.plots[FEATURES[0][0]].setTitle(
            None if self._measured else self.tr("Loudness and pitch: not measured"))

    def set_transcript(self, transcript: Transcript) -> None:
        for curves in self.curves.values():
            for key, curve in curves.items():
                self.plots[key].removeItem(curve)
        self.curves.clear()
        if self.legend is not None:
            self.legend.clear()
        self._duration = transcript.duration
        for speaker_id, arrays in _series(transcript).items():
            colour = speaker_colour(speaker_id)
            name = transcript.display_name(speaker_id)
            self.curves[speaker_id] = {}
            for key, _title, _unit in FEATURES:
                x, y = arrays["t"], arrays[key]
                if not np.isfinite(y).any():  # not measured: a legend entry, no line
                    x, y = x[:0], y[:0]
                # Lines only: symbols would make pyqtgraph draw every word; the plot clips
                # lines to the view and downsamples them (setClipToView/setDownsampling).
                curve = pg.PlotDataItem(
                    x, y, pen=pg.mkPen(colour, width=2), connect="finite",
                    name=name if key == FEATURES[0][0] else None,
                )
                self.plots[key].addItem(curve)
                self.curves[speaker_id][key] = curve
        self._measured = transcript.features_measured or not transcript.segments
        self.retranslate()
        self.show_range(0.0, min(max(self._duration, 1.0), 60.0))

    def legend_names(self) -> list[str]:
        """The names the legend shows, in order (what a renamed speaker changes)."""
        if self.legend is None:
            return []
        return [label.text for _sample, label in self.legend.items]

    def set_names(self, transcript: Transcript) -> None:
        if self.legend is None:
            return
        self.legend.clear()
        for speaker_id, curves in self.curves.items():
            self.legend.addItem(curves[FEATURES[0][0]], transcript.display_name(speaker_id))

    def set_cursor(self, seconds: float) -> None:
        """Move the playback cursor, at most every ``CURSOR_MS``: redrawing the plots on
        every playback tick would cost more than the tick itself."""
        self._cursor_target = seconds
        if not self._cursor_timer.isActive():
            self._apply_cursor()
            self._cursor_timer.start()

    def _apply_cursor(self) -> None:
        if self._cursor_target is None:
            return
        for cursor in self.cursors.values():
            cursor.setValue(self._cursor_target)
        self._cursor_target = None

    def show_range(self, start: float, end: float) -> None:
        self.plots[FEATURES[0][0]].setXRange(start, end, padding=0.02)

    def follow(self, start: float, end: float) -> None:
        """Keep the view's width, centred on ``start``-``end`` if that is not in view."""
        (left, right), _ = self.plots[FEATURES[0][0]].viewRange()
        width = max(right - left, end - start + 2.0)
        if start < left or end > right:
            centre = (start + end) / 2
            self.show_range(max(centre - width / 2, 0.0), max(centre - width / 2, 0.0) + width)

    def show_segment(self, row: int | None, start: float = 0.0, end: float = 0.0) -> None:
        """Shade segment ``row`` (``None``: no segment) with edges to drag."""
        self._segment = None if row is None else (row, start, end)
        if row is None:
            self.segment_region.hide()
            return
        self.segment_region.blockSignals(True)
        self.segment_region.setRegion((start, end))
        self.segment_region.blockSignals(False)
        self.segment_region.show()

    def _on_region_dragged(self, _region: object) -> None:
        if self._segment is None:
            return
        row, old_start, old_end = self._segment
        start, end = (round(float(v), 3) for v in self.segment_region.getRegion())
        if (start, end) != (old_start, old_end):
            self.segmentTimesRequested.emit(row, start, end)

    def _on_click(self, event: object) -> None:
        scene_pos = event.scenePos()  # type: ignore[attr-defined]
        for plot in self.plots.values():
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                seconds = float(plot.vb.mapSceneToView(scene_pos).x())
                left_click = event.button() == Qt.MouseButton.LeftButton  # type: ignore[attr-defined]
                if left_click and 0 <= seconds <= self._duration + 1:
                    self.seekRequested.emit(seconds)
                return


def _series(transcript: Transcript) -> dict[str, dict[str, np.ndarray]]:
    """Per speaker: word midpoints and features, with a NaN gap after each segment."""
    count = sum(len(s.words) for s in transcript.segments)
    if count == 0:
        return {sid: {"t": np.empty(0), "pitch_hz": np.empty(0), "volume_db": np.empty(0)}
                for sid in transcript.speaker_ids}
    words = [w for s in transcript.segments for w in s.words]
    segment_of = np.fromiter(
        (i for i, s in enumerate(transcript.segments) for _ in s.words), dtype=np.int64,
        count=count)
    middle = np.fromiter(((w.start + w.end) * 0.5 for w in words), dtype=float, count=count)
    features = {
        key: np.fromiter((math.nan if (v := getattr(w, key)) is None else v for w in words),
                         dtype=float, count=count)
        for key in ("pitch_hz", "volume_db")
    }
    speaker_ids = transcript.speaker_ids
    speaker_number = {sid: n for n, sid in enumerate(speaker_ids)}
    speaker_of_segment = np.array(
        [speaker_number[s.speaker_id] for s in transcript.segments], dtype=np.int64)
    speaker_of_word = speaker_of_segment[segment_of]
    out: dict[str, dict[str, np.ndarray]] = {}
    for number, speaker_id in enumerate(speaker_ids):
        mask = speaker_of_word == number
        segments = segment_of[mask]
        # where a new segment starts: put a gap before it (x repeated, so x stays sorted)
        cuts = np.flatnonzero(np.diff(segments)) + 1
        x = middle[mask]
        out[speaker_id] = {"t": np.insert(x, cuts, x[cuts - 1])}
        for key, values in features.items():
            out[speaker_id][key] = np.insert(values[mask], cuts, math.nan)
    return out
