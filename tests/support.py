"""Helpers shared by tests: waiting for a condition, a free local port for a server, and an
application served the way ``careline serve`` serves it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.server import start_site


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(check: Callable[[], Any], within_s: float = 15.0) -> None:
    """Wait until ``check()`` holds: the test asserts the condition, never a time."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.05)


@dataclass
class Served:
    app: web.Application
    port: int
    client: aiohttp.ClientSession
    """A session whose relative URLs go to the served application."""


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[Served]:
    """``app`` on a local port behind careline's front (bot.front), as ``careline serve``
    runs it, with a client session for it."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0, handle_signals=False)
    await runner.setup()
    try:
        site = await start_site(runner, "127.0.0.1", 0)
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{site.port}") as client:
            yield Served(app, site.port, client)
    finally:
        await runner.cleanup()


class RedisOutage:
    """A loopback TCP door to the test Redis that can be shut: ``cut()`` drops every
    connection through it and refuses new ones (Redis down, as a client sees it), ``restore()``
    lets them through again. Clients connect to ``url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.down = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def __aenter__(self) -> RedisOutage:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}/0"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.down = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.upstream.startswith("unix://"):
            return await asyncio.open_unix_connection(self.upstream.removeprefix("unix://"))
        rest = self.upstream.split("://", 1)[1].split("/", 1)[0]
        host, _, port = rest.rpartition(":")
        return await asyncio.open_connection(host or "127.0.0.1", int(port or 6379))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.close()
            return
        up_reader, up_writer = await self._open_upstream()
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
