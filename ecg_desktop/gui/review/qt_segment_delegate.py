"""``SegmentDelegate`` lays out and paints one segment per row: a gutter with its time range
and speaker, then its words, wrapped to the view's width.

No widget exists per row or per word. Each row's word positions are computed once per width
and edit (``SegmentLayout``, cached) and reused for painting, the row's height, hover and
clicks; word widths are cached by text, so laying out a long transcript measures each
distinct word once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QHelpEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from .palette import speaker_colour
from .qt_segment_model import ROW_ROLE, SegmentTableModel
from .search import display_tokens
from .timeline import format_span

logger = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex

PADDING = 6
GUTTER = 150
COLOUR_BAR = 4
WRAP_STEP = 24
PLAYING = QColor("#1f5fbf")  # the word being played: white on blue, unlike search hits
HIT = QColor("#fff3a0")
CURRENT_HIT = QColor("#ff8c42")


@dataclass(frozen=True, slots=True)
class SegmentLayout:
    height: int
    words: tuple[tuple[float, float, float], ...]  # (x, y, width) of each word, row-relative


class SegmentDelegate(QStyledItemDelegate):
    def __init__(self, model: SegmentTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.width = 600  # the view's viewport width, set by the view on resize
        self.hovered: tuple[int, int] | None = None  # (row, word) under the mouse
        self._layouts: dict[tuple[int, int], SegmentLayout] = {}
        self._layout_width = -1
        self._word_widths: dict[str, float] = {}
        self.set_font(QFont())
        model.modelReset.connect(self._layouts.clear)  # rows now mean other segments
        model.rowsRemoved.connect(lambda _p, first, last: self._shift(first, last, removed=True))
        model.rowsInserted.connect(lambda _p, first, last: self._shift(first, last, removed=False))

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._bold = QFont(font)
        self._bold.setBold(True)
        self._small = QFont(font)
        self._small.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        self._metrics = QFontMetricsF(self._font)
        self._line = self._metrics.height() + 3
        self._space = self._metrics.horizontalAdvance(" ") + 1
        self._gutter_height = round(QFontMetricsF(self._small).height() + self._line + 2 * PADDING)
        self.clear_cache()

    def _shift(self, first: int, last: int, *, removed: bool) -> None:
        """Keep the layouts of the rows an edit moved (a split or join moves every row below
        it): laying out a long transcript again would cost far more than the edit."""
        count = last - first + 1
        if removed:
            self._layouts = {(row - count if row > last else row, revision): layout
                             for (row, revision), layout in self._layouts.items()
                             if not first <= row <= last}
        else:
            self._layouts = {(row + count if row >= first else row, revision): layout
                             for (row, revision), layout in self._layouts.items()}

    def clear_cache(self) -> None:
        self._layouts.clear()
        self._word_widths.clear()

    # -- layout --------------------------------------------------------------------------

    @property
    def wrap_width(self) -> int:
        """The width rows wrap at: the view's, in steps of ``WRAP_STEP`` pixels, so that
        dragging the window's edge re-wraps a long transcript now and then, not per pixel."""
        return self.width - self.width % WRAP_STEP

    def _word_width(self, text: str) -> float:
        width = self._word_widths.get(text)
        if width is None:
            width = self._word_widths[text] = self._metrics.horizontalAdvance(text)
        return width

    def layout(self, row: int) -> SegmentLayout:
        if self._layout_width != self.wrap_width:
            self._layouts.clear()
            self._layout_width = self.wrap_width
        key = (row, self._model.revisions[row])
        cached = self._layouts.get(key)
        if cached is None:
            cached = self._layouts[key] = self._compute(row)
        return cached

    def _compute(self, row: int) -> SegmentLayout:
        available = max(self.wrap_width - GUTTER - 2 * PADDING, 80)
        x, y = 0.0, 0.0
        placed = []
        for token in display_tokens(self._model.segment(row)):
            width = self._word_width(token)
            if x > 0 and x + width > available:
                x, y = 0.0, y + self._line
            placed.append((x, y, width))
            x += width + self._space
        height = max(round(y + self._line + 2 * PADDING), self._gutter_height)
        return SegmentLayout(height, tuple(placed))

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(self.width, self.layout(index.data(ROW_ROLE)).height)

    def word_at(self, rect: QRect, index: AnyIndex, point: QPointF) -> int | None:
        """The word under ``point`` (view coordinates) in the row drawn in ``rect``."""
        layout = self.layout(index.data(ROW_ROLE))
        left = rect.left() + GUTTER + PADDING
        top = rect.top() + PADDING
        for number, (x, y, width) in enumerate(layout.words):
            if (left + x - self._space / 2 <= point.x() <= left + x + width + self._space / 2
                    and top + y <= point.y() < top + y + self._line):
                return number
        return None

    def word_rect(self, rect: QRect, index: AnyIndex, word: int) -> QRectF:
        x, y, width = self.layout(index.data(ROW_ROLE)).words[word]
        return QRectF(rect.left() + GUTTER + PADDING + x, rect.top() + PADDING + y, width,
                      self._line)

    # -- painting ------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        row = index.data(ROW_ROLE)
        model = self._model
        segment = model.segment(row)
        layout = self.layout(row)
        rect = option.rect
        palette = option.palette
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            tint = QColor(palette.color(QPalette.ColorRole.Highlight))
            tint.setAlpha(45)
            painter.fillRect(rect, tint)
        colour = speaker_colour(segment.speaker_id)
        painter.fillRect(QRect(rect.left(), rect.top() + 2, COLOUR_BAR, rect.height() - 4), colour)
        self._paint_gutter(painter, rect, segment.start, segment.end,
                           model.transcript.display_name(segment.speaker_id), colour, palette)
        self._paint_words(painter, rect, row, layout, palette)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 0))
        painter.drawLine(rect.left() + GUTTER, rect.bottom(), rect.right(), rect.bottom())
        painter.restore()

    def _paint_gutter(self, painter: QPainter, rect: QRect, start: float, end: float,
                      name: str, colour: QColor, palette: QPalette) -> None:
        left = rect.left() + COLOUR_BAR + PADDING
        width = GUTTER - COLOUR_BAR - 2 * PADDING
        painter.setFont(self._small)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        small = QFontMetricsF(self._small)
        painter.drawText(QPointF(left, rect.top() + PADDING + small.ascent()),
                         format_span(start, end))
        painter.setFont(self._bold)
        painter.setPen(colour.darker(125))
        bold = QFontMetricsF(self._bold)
        elided = bold.elidedText(name, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QPointF(left, rect.top() + PADDING + small.height() + bold.ascent() + 2),
                         elided)

    def _paint_words(self, painter: QPainter, rect: QRect, row: int, layout: SegmentLayout,
                     palette: QPalette) -> None:
        model = self._model
        tokens = display_tokens(model.segment(row))
        hits, current_hit = model.highlighted_words(row)
        playing = model.current.word if model.current and model.current.segment == row else None
        left = rect.left() + GUTTER + PADDING
        top = rect.top() + PADDING
        ascent = self._metrics.ascent() + 1
        text_colour = palette.color(QPalette.ColorRole.Text)
        painter.setFont(self._font)
        painter.setPen(Qt.PenStyle.NoPen)
        for number, (x, y, width) in enumerate(layout.words):
            background = (PLAYING if number == playing else CURRENT_HIT if number in current_hit
                          else HIT if number in hits else None)
            if background is not None:
                painter.setBrush(background)
                painter.drawRoundedRect(QRectF(left + x - 2, top + y, width + 4, self._line), 3, 3)
        if self.hovered is not None and self.hovered[0] == row \
                and self.hovered[1] < len(layout.words):
            x, y, width = layout.words[self.hovered[1]]
            painter.fillRect(QRectF(left + x, top + y + self._line - 3, width, 1.5), text_colour)
        self._mark_edited(painter, row, layout, left, top, palette)
        scale = model.scale
        for number, (x, y, _width) in enumerate(layout.words):
            colour = None
            if number == playing:
                colour = QColor(Qt.GlobalColor.white)
            elif scale is not None:
                colour = scale.colour(model.word_colour_value(row, number))
            painter.setPen(colour if colour is not None else text_colour)
            painter.drawText(QPointF(left + x, top + y + ascent), tokens[number])

    def _mark_edited(self, painter: QPainter, row: int, layout: SegmentLayout, left: float,
                     top: float, palette: QPalette) -> None:
        """A dotted line under each word the user typed, retimed or placed."""
        words = self._model.segment(row).words
        edited = [n for n, w in enumerate(words[:len(layout.words)]) if w.edited]
        if not edited:
            return
        pen = QPen(palette.color(QPalette.ColorRole.PlaceholderText), 1.2, Qt.PenStyle.DotLine)
        painter.setPen(pen)
        for number in edited:
            x, y, width = layout.words[number]
            baseline = top + y + self._line - 1
            painter.drawLine(QPointF(left + x, baseline), QPointF(left + x + width, baseline))

    # -- hover ---------------------------------------------------------------------------

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView,
                  option: QStyleOptionViewItem, index: AnyIndex) -> bool:
        if event is None or event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        word = self.word_at(option.rect, index, QPointF(event.pos()))
        text = self.tooltip(index.data(ROW_ROLE), word)
        if text:
            QToolTip.showText(event.globalPos(), text, view)
        else:
            QToolTip.hideText()
        return True

    def tooltip(self, row: int, word: int | None) -> str:
        """What hovering shows: the word's time and features ("not measured" where the
        server sent none)."""
        model = self._model
        segment = model.segment(row)
        speaker = model.transcript.display_name(segment.speaker_id)
        if word is None or word >= len(segment.words):
            span = format_span(segment.start, segment.end)
            return f"{speaker}\n{span}"
        item = segment.words[word]
        span = format_span(item.start, item.end)
        lines = [f"<b>{_escape(item.text)}</b> ({_escape(speaker)})", span]
        if not model.transcript.features_measured:
            lines.append(self.tr("Loudness, pitch: not measured by the server"))
        else:
            lines.append(self.tr("Loudness: %s") % _unit(item.volume_db, "dB", 1))
            pitch = (_unit(item.pitch_hz, "Hz", 0) if item.pitch_hz is not None
                     else self.tr("unvoiced"))
            lines.append(self.tr("Pitch: %s") % pitch)
            lines.append(self.tr("Spectral centroid: %s") % _unit(item.spectral_centroid, "Hz", 0))
        if item.confidence is not None:
            lines.append(self.tr("Confidence: %s") % f"{item.confidence:.2f}")
        if item.edited:
            lines.append(self.tr("Edited by you"))
        return "<br>".join(lines)


def _unit(value: float | None, unit: str, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
