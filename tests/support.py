"""Helpers shared by tests: waiting for a condition, and a free local port for a server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any


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
