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
