"""Stopping background tasks so that shutdown always ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
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
