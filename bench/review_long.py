"""Review pane on a three-hour transcript (about 40,000 words, 4 speakers).

Measures, in one run:
  * baseline: ``json.loads`` of the same result's JSON;
  * selecting the job until the pane has painted its first rows (store load included), and the
    pane's own share (transcript already loaded: model, speakers, plots, first paint);
  * memory added by opening it (RSS);
  * one playback-position update (binary search + highlight of the old/new row), and the
    repaint it causes;
  * scrolling from top to bottom a wheel step at a time: the longest step (a stall);
  * the playback cursor moved on the plots (what playback does every 100 ms) and repainted;
  * an edit shown and repainted: a segment's start nudged (same rows), a segment split (a row
    more: the rows below move).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/review_long.py
Goals: painted < 300 ms, update < 2 ms, < 150 MB added, no scroll step > 16 ms.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import qasync
from _common import loop_stall
from PySide6.QtWidgets import QApplication

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import Job, normalize
from ecg_desktop.gui.gui_thread_gc import collect_on_gui_thread
from ecg_desktop.gui.review import ReviewPane  # ecg_desktop.gui guards PySide6 6.12
from ecg_desktop.store import open_store

HOURS = 3.0
SPEAKERS = 4
WORDS = 40_000


def three_hours(seed: int = 1) -> dict[str, Any]:
    """A result of ``WORDS`` words over ``HOURS`` hours with a Zipf-like vocabulary."""
    rng = random.Random(seed)
    syllables = ["ka", "ri", "mo", "ne", "ta", "lu", "si", "po", "de", "ga", "vi", "ro"]
    vocabulary = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
                  for _ in range(4000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    per_word = HOURS * 3600 / (WORDS * 1.027)  # each word's slot, with pauses between turns
    time_s, segments, left = 1.0, [], WORDS
    while left > 0:
        speaker = rng.randrange(SPEAKERS)
        count = min(left, rng.randint(4, 18))
        left -= count
        start = time_s
        chosen = rng.choices(vocabulary, weights, k=count)
        words = []
        for text in chosen:
            duration = per_word * rng.uniform(0.5, 0.8)
            words.append({
                "word": text, "start": round(time_s, 3), "end": round(time_s + duration, 3),
                "volume_db": round(rng.uniform(-40, -10), 2),
                "pitch_hz": round(100 + 40 * speaker + rng.uniform(-20, 20), 2),
                "spectral_centroid": round(rng.uniform(800, 2800), 1),
                "confidence": round(rng.uniform(0.6, 1.0), 2),
            })
            time_s += per_word
        segments.append({"start": round(start, 3), "end": round(time_s, 3),
                         "speaker": {"speaker_id": f"SPEAKER_{speaker:02d}"},
                         "text": " ".join(chosen), "words": words})
        time_s += per_word * 0.3
    return {"metadata": {"filename": "three-hours.mp4", "duration": round(time_s + 1, 3),
                         "language_detected": "en"},
            "speakers": {}, "segments": segments}


def rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


async def main(app: QApplication) -> None:
    raw = three_hours()
    payload = json.dumps(raw)
    words = sum(len(s["words"]) for s in raw["segments"])
    print(f"transcript: {words} words, {len(raw['segments'])} segments, "
          f"{raw['metadata']['duration'] / 3600:.2f} h, {len(payload) / 2**20:.1f} MB JSON")

    with tempfile.TemporaryDirectory() as folder:
        store = await open_store(f"sqlite+aiosqlite:///{folder}/jobs.db")
        job = Job.new(filename="three-hours.mp4")
        await store.add(job)
        await store.update(job.job_id, lambda j: j.start_dispatch())
        await store.update(job.job_id, lambda j: j.complete(SPEAKERS),
                           result=ResultRecord(raw, normalize(raw)))
        job = await store.get(job.job_id)

        pane = ReviewPane(SimpleNamespace(store=store, bus=EventBus()))
        pane.resize(1400, 900)
        pane.show()
        await asyncio.sleep(0.2)

        painted: list[float] = []
        original_paint = pane.delegate.paint

        def timed_paint(*args: Any) -> None:
            original_paint(*args)
            if not painted:
                painted.append(time.perf_counter())

        pane.delegate.paint = timed_paint  # type: ignore[method-assign,assignment]

        async def until_painted() -> None:
            while not painted:  # noqa: ASYNC110
                await asyncio.sleep(0)

        # baseline
        loads = []
        for _ in range(3):
            start = time.perf_counter()
            json.loads(payload)
            loads.append(time.perf_counter() - start)
        baseline = statistics.median(loads)

        loaded_at: list[float] = []
        original_load = pane.editor.load

        async def timed_load(job_id: Any) -> Any:
            transcript = await original_load(job_id)
            loaded_at.append(time.perf_counter())
            return transcript

        pane.editor.load = timed_load  # type: ignore[method-assign]
        before = rss_mb()
        start = time.perf_counter()
        await pane.show_job(job)
        await until_painted()
        loaded = loaded_at[0]
        select_total = painted[0] - start
        select_pane = painted[0] - loaded
        after = rss_mb()

        # the pane alone, with the transcript in hand (median of 3)
        transcript = pane.model.transcript
        pane_only = []
        for _ in range(3):
            pane.clear()
            await asyncio.sleep(0.05)
            painted.clear()
            start = time.perf_counter()
            pane.show_transcript(transcript, job)
            await until_painted()
            pane_only.append(painted[0] - start)

        # let the batched layout finish, recording the longest loop iteration meanwhile
        layout_stall = 0.0
        last = time.perf_counter()
        for _ in range(400):
            await asyncio.sleep(0)
            now = time.perf_counter()
            layout_stall = max(layout_stall, now - last)
            last = now
        bar = pane.view.verticalScrollBar()

        # playback updates: positions that each land on another word
        timeline = pane.model.timeline
        rng = random.Random(3)
        positions = [timeline.starts[rng.randrange(len(timeline))] + 0.01 for _ in range(2000)]
        updates = []
        for seconds in positions:
            begin = time.perf_counter()
            pane.on_position(seconds)
            updates.append(time.perf_counter() - begin)
        repaints = []
        for seconds in positions[:200]:
            pane.on_position(seconds)
            begin = time.perf_counter()
            app.processEvents()
            repaints.append(time.perf_counter() - begin)

        # scroll top to bottom, a wheel step (3 lines) at a time, as the app would paint it
        pane.player.follow.setChecked(False)
        bar.setValue(0)
        app.processEvents()
        steps, full = [], []
        step = 3 * bar.singleStep()
        value = 0
        while value < bar.maximum():
            value = min(value + step, bar.maximum())
            begin = time.perf_counter()
            bar.setValue(value)
            app.processEvents()
            steps.append(time.perf_counter() - begin)
            if len(steps) % 10 == 0:  # and now and then a repaint of the whole list
                begin = time.perf_counter()
                pane.view.viewport().repaint()
                full.append(time.perf_counter() - begin)

        # the playback cursor on the plots: moved at most every 100 ms while playing
        cursor_moves = []
        for i in range(30):
            await asyncio.sleep(0.11)  # past the plots' cursor throttle
            begin = time.perf_counter()
            pane.plots.set_cursor(600.0 + 1.3 * i)
            app.processEvents()
            cursor_moves.append(time.perf_counter() - begin)

        # edits: a nudge of a segment's start (Alt+Right) and a split, each shown and
        # repainted (their writes run in the background: bench/review_edits.py)
        # (a synchronous repaint: processing events here would re-enter the write tasks)
        nudges, splits = [], []
        for i in range(10):
            row = 200 + 50 * i
            pane.select_segment(row)
            await asyncio.sleep(0.05)
            begin = time.perf_counter()
            pane.edits.nudge(row, start=0.05)
            pane.view.viewport().repaint()
            nudges.append(time.perf_counter() - begin)
            await pane.wait_idle()
            begin = time.perf_counter()
            pane.edits.split(row, 1)
            pane.view.viewport().repaint()
            splits.append(time.perf_counter() - begin)
            await pane.wait_idle()

        # the store's share alone: get_transcript, median of 5, with a 1 ms ticker on the loop
        loads, load_stalls = [], []
        for _ in range(5):
            took, stall = await loop_stall(lambda: store.get_transcript(job.job_id))
            loads.append(took)
            load_stalls.append(stall)
        idle_stall = (await loop_stall(lambda: asyncio.sleep(1.0)))[1]

        print(f"machine load average {os.getloadavg()[0]:.1f} (2 cores)")
        print(f"baseline json.loads              {ms(baseline)}")
        print(f"select -> pane painted (total)   {ms(select_total)}  "
              f"({select_total / baseline:.2f}x json.loads)")
        print(f"  of which store load            {ms(select_total - select_pane)}")
        print(f"  of which pane to first paint   {ms(select_pane)}")
        print(f"store load alone, median of 5    {ms(statistics.median(loads))}  "
              f"({statistics.median(loads) / baseline:.2f}x json.loads), longest loop stall "
              f"{ms(max(load_stalls))} (an idle loop: {ms(idle_stall)})")
        print(f"pane only (transcript in hand)   {ms(statistics.median(pane_only))}  "
              f"({statistics.median(pane_only) / baseline:.2f}x json.loads, median of 3)")
        print(f"memory added by opening          {after - before:8.1f} MB")
        print(f"longest loop step during layout  {ms(layout_stall)}")
        print(f"position update mean / max       {ms(statistics.fmean(updates))} / "
              f"{ms(max(updates))}  ({len(updates)} updates)")
        print(f"  its repaint (two rows) median  {ms(statistics.median(repaints))}")
        print(f"scroll top->bottom: {len(steps)} steps, median {ms(statistics.median(steps))}, "
              f"longest {ms(max(steps))}")
        print(f"  whole-list repaint median / max {ms(statistics.median(full))} / "
              f"{ms(max(full))}")
        print(f"plot cursor move + repaint median / max {ms(statistics.median(cursor_moves))} / "
              f"{ms(max(cursor_moves))}  (30 moves)")
        print(f"edit shown: nudge median / max   {ms(statistics.median(nudges))} / "
              f"{ms(max(nudges))}  ({statistics.median(nudges) / baseline:.2f}x json.loads)")
        print(f"edit shown: split median / max   {ms(statistics.median(splits))} / "
              f"{ms(max(splits))}  ({statistics.median(splits) / baseline:.2f}x json.loads)")
        await store.close()


if __name__ == "__main__":
    application = QApplication(sys.argv)
    collect_on_gui_thread(application)  # as the app's window does: only the GUI thread collects
    loop = qasync.QEventLoop(application)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(application))
