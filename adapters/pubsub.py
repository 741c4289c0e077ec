"""Following a Redis pub/sub channel for as long as a channel adapter runs.

Replicas tell each other that something is ready (a stored reply, a message in an outbox)
this way. A subscription can be lost with its connection; whoever waits on such a notice
must also look for itself now and then, and this loop subscribes again after a pause.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

READ_S = 1.0
RESUBSCRIBE_S = 1.0


async def follow(
    redis: aioredis.Redis,
    channel: str,
    on_message: Callable[[str], None],
    what: str,
    running: Callable[[], bool] = lambda: True,
) -> None:
    """Calls ``on_message`` with each message published on ``channel`` until cancelled or
    ``running()`` turns false; a lost subscription is logged (as ``what``) and renewed."""
    while running():
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                while running():
                    item = await pubsub.get_message(timeout=READ_S)
                    if item and item.get("type") == "message":
                        data = item["data"]
                        on_message(data.decode() if isinstance(data, bytes) else str(data))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s interrupted (%s); waiters poll meanwhile", what, type(exc).__name__)
            await asyncio.sleep(RESUBSCRIBE_S)
