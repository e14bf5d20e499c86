"""No empty 0..1 axes: the pitch and loudness plots appear only with a transcript."""

from __future__ import annotations

from types import SimpleNamespace

from pytestqt.qtbot import QtBot

from ecg_desktop.domain import Job
from ecg_desktop.domain.transcript import normalize
from ecg_desktop.store import SqlJobStore

from .conftest import Runner, add_completed, shown_pane
from .factory import analyzer_result


def test_plots_show_only_while_a_transcript_is_shown(
    run: Runner, qtbot: QtBot, core: SimpleNamespace, store: SqlJobStore,
) -> None:
    pane = shown_pane(qtbot, core, 1200, 800)
    assert pane.plots_placeholder.isVisible() and not pane.plots.isVisible()
    assert "Pitch and loudness" in pane.plots_placeholder.text()

    completed = run(add_completed(store, analyzer_result(4)))
    run(pane.show_job(completed))
    assert pane.plots.isVisible() and not pane.plots_placeholder.isVisible()
    assert pane.plots.legend_names() == ["SPEAKER_00", "SPEAKER_01"]

    waiting = Job.new(filename="still uploading.mp4")
    run(store.add(waiting))
    run(pane.show_job(waiting))
    assert "no transcript yet" in pane.title.text()
    assert pane.plots_placeholder.isVisible() and not pane.plots.isVisible()

    run(pane.show_job(completed))
    pane.clear()
    assert pane.plots_placeholder.isVisible() and not pane.plots.isVisible()


def test_plots_follow_a_dark_palette(qtbot: QtBot) -> None:
    from PySide6.QtGui import QColor, QPalette

    from ecg_desktop.gui.review.qt_plots import FeaturePlots

    plots = FeaturePlots()
    qtbot.addWidget(plots)
    plots.set_transcript(normalize(analyzer_result(2)))
    dark = QPalette(plots.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))

    plots.setPalette(dark)

    assert plots.backgroundBrush().color().name() == "#1e1e1e"  # no white box in a dark window
    axis = plots.plots["pitch_hz"].getAxis("left")
    assert axis.textPen().color().name() == "#e6e6e6"
    assert plots.legend is not None
    for _sample, label in plots.legend.items:  # the speakers' names stay readable
        assert "#e6e6e6" in label.item.toHtml()


def test_cached_axes_show_the_ticks_of_the_range_in_view(qtbot: QtBot) -> None:
    """The axes are cached as pixmaps (a playback cursor crossing them repaints cheaply):
    moving the view still redraws their ticks, and moving the cursor leaves them as they are."""
    from ecg_desktop.gui.review.qt_plots import FeaturePlots

    plots = FeaturePlots()
    qtbot.addWidget(plots)
    plots.resize(900, 420)
    plots.show()
    qtbot.waitExposed(plots)
    plots.set_transcript(normalize(analyzer_result(40)))
    plot = plots.plots["volume_db"]
    axis = plot.getAxis("bottom")

    def axis_pixels() -> object:
        """The tick labels under the plot (the axis item also draws the grid above them)."""
        labels = axis.sceneBoundingRect()
        labels.setTop(plot.vb.sceneBoundingRect().bottom() + 1)
        return plots.grab(plots.mapFromScene(labels).boundingRect()).toImage()

    qtbot.wait(50)
    before = axis_pixels()
    plots.set_cursor(12.0)
    qtbot.wait(50)
    assert axis_pixels() == before

    plots.show_range(200.0, 260.0)

    qtbot.waitUntil(lambda: axis_pixels() != before, timeout=2000)


def test_a_long_failure_reason_is_cut_to_the_pane_not_the_pane_widened(
    run: Runner, qtbot: QtBot, core: SimpleNamespace, store: SqlJobStore,
) -> None:
    from ecg_desktop.domain import ErrorCode

    pane = shown_pane(qtbot, core, 700, 600)
    narrowest = pane.minimumSizeHint().width()
    job = Job.new(filename="all-hands recording.mp4")
    job.fail(ErrorCode.DOWNLOAD_ERROR, "the ML server could not download the video: " * 5)
    run(store.add(job))
    run(pane.show_job(job))

    whole = pane.title.text()
    assert whole.startswith("all-hands recording.mp4 failed: the ML server could not")
    assert pane.minimumSizeHint().width() == narrowest
    shown = super(type(pane.title), pane.title).text()
    assert shown.endswith("…") and len(shown) < len(whole)
    assert pane.title.toolTip() == whole
