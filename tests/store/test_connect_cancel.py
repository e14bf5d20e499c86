"""A cancel in the middle of connecting to PostgreSQL (the app closing, a job canceled while
the pool opens a connection) leaves no half-made connection behind. The server would keep
its backend waiting in authentication for a minute, and a DROP DATABASE of that database
waits for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ecg_desktop.store.engine import create_engine

pytestmark = pytest.mark.postgres


class SlowLink:
    """A TCP relay to the server that holds each of the server's answers back ``delay_s``,
    so a client is still connecting when the test cancels it."""

    def __init__(self, host: str, port: int, delay_s: float) -> None:
        self._upstream = (host, port)
        self._delay_s = delay_s
        self.request_relayed = asyncio.Event()
        self.client_gone = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        down = asyncio.create_task(self._pipe(up_reader, writer, self._delay_s))
        self._tasks.add(down)
        try:
            while chunk := await reader.read(65536):
                up_writer.write(chunk)
                await up_writer.drain()
                self.request_relayed.set()
        except ConnectionError:
            pass
        finally:
            self.client_gone.set()
            up_writer.close()
            down.cancel()

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                await asyncio.sleep(delay_s)
                writer.write(chunk)
                await writer.drain()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[int]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            for task in self._tasks:
                task.cancel()


async def test_a_query_canceled_while_the_pool_connects_closes_the_new_connection(
    postgres_url: str,
) -> None:
    url = make_url(postgres_url)
    link = SlowLink(url.host or "127.0.0.1", url.port or 5432, delay_s=0.2)
    async with link.running() as port:
        engine = create_engine(url.set(port=port))

        async def query() -> None:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        attempt = asyncio.create_task(query())
        await asyncio.wait_for(link.request_relayed.wait(), 5)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        try:
            await asyncio.wait_for(link.client_gone.wait(), 10)
        finally:
            await engine.dispose()
