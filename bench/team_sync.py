"""Team mode end to end: how long until a job change shows on every desktop's bus.

Like ``bench/store_notify.py`` (3 writers, 10 listeners, one PostgreSQL), but each of the 10
listeners is a desktop's ``TeamSync``: its own store (connection pool), its own
``JobChangeListener`` and its own event bus. Delay = from the start of ``store.update`` to
``JobChanged`` carrying that update (or a later one of the same job: a desktop merges
notices that arrive while it reads) on a desktop's bus, for every (update, desktop) pair.
Baseline = the same updates' commit time (the duration of ``store.update``), in the same run.

    python bench/team_sync.py postgresql+psycopg://user:pw@127.0.0.1/db [DESKTOPS]

All desktops share this one process and loop, so with 10 of them every notice costs this
loop 10 reads: a harder case than a real desktop, which reads each change once.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import defaultdict

from _common import TimedWriters, print_delays

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.team import TeamSync
from ecg_desktop.domain import Event, JobChanged
from ecg_desktop.store import JobChangeListener, SqlJobStore, open_store

WRITERS, DESKTOPS, UPDATES_PER_WRITER = 3, 10, 100


async def run(url: str, desktop_count: int) -> None:
    writers = await TimedWriters.open(url, WRITERS)
    starts = writers.starts
    delays: list[float] = []
    expected = WRITERS * UPDATES_PER_WRITER * desktop_count
    everyone_done = asyncio.Event()

    def desktop_handler() -> object:
        seen_up_to: dict[uuid.UUID, int] = defaultdict(lambda: -1)

        def handle(event: Event) -> None:
            if not isinstance(event, JobChanged) or not event.job.message.startswith("bench "):
                return
            job_id = event.job.job_id
            step = int(event.job.message.split()[1])
            now = time.perf_counter()
            for earlier in range(seen_up_to[job_id] + 1, step + 1):
                delays.append(now - starts[job_id][earlier])
            seen_up_to[job_id] = max(seen_up_to[job_id], step)
            if len(delays) >= expected:
                everyone_done.set()

        return handle

    desktops: list[tuple[SqlJobStore, TeamSync]] = []
    for _ in range(desktop_count):
        store = await open_store(url, migrate=False)
        bus = EventBus()
        bus.subscribe(desktop_handler())  # type: ignore[arg-type]
        holder: list[TeamSync] = []
        listener = JobChangeListener(url, on_state=lambda s, h=holder: h[0].on_listener_state(s))
        sync = TeamSync(store, bus, listener)
        holder.append(sync)
        await sync.start()
        desktops.append((store, sync))
    await asyncio.gather(*(sync.wait_connected() for _, sync in desktops))

    await writers.write(UPDATES_PER_WRITER, lambda step: f"bench {step}")
    try:
        await asyncio.wait_for(everyone_done.wait(), 20)
    except TimeoutError:
        print(f"only {len(delays)} of {expected} (update, desktop) pairs were seen")
    for store, sync in desktops:
        await sync.stop()
        await store.close()
    await writers.close()

    print(f"{WRITERS} writers x {UPDATES_PER_WRITER} updates, {desktop_count} desktops "
          f"(TeamSync + bus): {len(delays)} (update, desktop) pairs")
    print_delays(writers.commits, delays, "update -> desktop's bus")

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python bench/team_sync.py postgresql+psycopg://user:pw@host/db [N]")
    asyncio.run(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else DESKTOPS))
