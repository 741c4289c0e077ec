"""Owning background tasks, and stopping them so that shutdown always ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any] | None], what: str, wait_s: float = STOP_WAIT_S
) -> None:
    """Cancel ``tasks`` and wait for them, at most ``wait_s`` seconds.

    A cancellation can be lost: on Python 3.11, ``asyncio.wait_for`` (which redis-py wraps
    around every command it sends when a socket timeout is set) returns normally when the
    cancellation arrives just as its inner task finishes. So waiting without a bound could
    hang shutdown for good; loops that run until stopped also check a stop flag of their own.
    """
    pending = [t for t in tasks if t is not None and not t.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return
    _done, stuck = await asyncio.wait(pending, timeout=wait_s)
    if stuck:
        log.warning("%s: %d task(s) did not stop within %.0f s", what, len(stuck), wait_s)


class OwnedTasks:
    """Background tasks an object starts and owns: kept referenced until they finish (the
    event loop holds only weak references), stopped with their owner."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def finish(self) -> None:
        """Until every task, and any task they start meanwhile, has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, what: str, wait_s: float = STOP_WAIT_S) -> None:
        await stop_tasks(self, what, wait_s)
