"""Standard Webhooks ``webhook-id``s already answered, so a replay is answered as a duplicate."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable


class SeenIds:
    """``webhook-id``s answered with a 2xx, forgotten after ``ttl_s``; at most ``capacity``."""

    def __init__(self, ttl_s: float, capacity: int, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._in_flight: dict[str, asyncio.Event] = {}

    def _purge(self) -> None:
        now = self._clock()
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) <= self._capacity:
                break
            del self._expiry[oldest]

    def seen(self, msg_id: str) -> bool:
        self._purge()
        return msg_id in self._expiry

    async def claim(self, msg_id: str) -> bool:
        """Claim ``msg_id`` for processing; ``False`` when it was already answered."""
        while (pending := self._in_flight.get(msg_id)) is not None:
            await pending.wait()
        if self.seen(msg_id):
            return False
        self._in_flight[msg_id] = asyncio.Event()
        return True

    def release(self, msg_id: str, *, answered: bool) -> None:
        if answered:
            self._expiry[msg_id] = self._clock() + self._ttl_s
            self._expiry.move_to_end(msg_id)
            self._purge()
        event = self._in_flight.pop(msg_id, None)
        if event is not None:
            event.set()
