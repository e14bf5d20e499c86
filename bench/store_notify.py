"""Team mode: how long until every listening desktop hears of a job change.

3 writers (store instances) update their own jobs; 10 ``JobChangeListener``s LISTEN on one
PostgreSQL. Delay = from the start of ``store.update`` to a listener receiving the job id,
for every (update, listener) pair; baseline = the same updates' commit time (the duration of
``store.update``), measured in the same run. All in one process and one event loop, as a
desktop would run.

    python bench/store_notify.py postgresql+psycopg://user:pw@127.0.0.1/db
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import defaultdict

from _common import TimedWriters, print_delays

from ecg_desktop.store import JobChangeListener

WRITERS, LISTENERS, UPDATES_PER_WRITER = 3, 10, 100


async def run(url: str) -> None:
    writers = await TimedWriters.open(url, WRITERS)
    starts = writers.starts
    delays: list[float] = []
    expected = WRITERS * UPDATES_PER_WRITER
    listeners = [JobChangeListener(url) for _ in range(LISTENERS)]
    received = [0] * LISTENERS
    everyone_done = asyncio.Event()

    async def listen(index: int, listener: JobChangeListener) -> None:
        seen: dict[uuid.UUID, int] = defaultdict(int)
        async for change in listener:
            if not isinstance(change, uuid.UUID) or change not in starts:
                continue
            delays.append(time.perf_counter() - starts[change][seen[change]])
            seen[change] += 1
            received[index] += 1
            if sum(received) == expected * LISTENERS:
                everyone_done.set()

    tasks = [asyncio.create_task(listen(i, lst)) for i, lst in enumerate(listeners)]
    await asyncio.gather(*(asyncio.wait_for(lst.listening.wait(), 10) for lst in listeners))

    await writers.write(UPDATES_PER_WRITER, lambda _: "bench")
    try:
        await asyncio.wait_for(everyone_done.wait(), 10)
    except TimeoutError:
        print(f"only {sum(received)} of {expected * LISTENERS} notices arrived")
    for listener in listeners:
        await listener.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await writers.close()

    print(f"{WRITERS} writers x {UPDATES_PER_WRITER} updates, {LISTENERS} listeners: "
          f"{len(delays)} deliveries")
    print_delays(writers.commits, delays, "update -> listener")

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/store_notify.py postgresql+psycopg://user:pw@host/db")
    asyncio.run(run(sys.argv[1]))
