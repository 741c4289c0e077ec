"""Live updates for the open consoles of this replica.

One task tails the handoff event stream in Redis (``XREAD BLOCK``) and hands each event to
every connected console; every replica runs its own, so a console sees changes made through
any replica. New patient messages in held chats arrive the same way: the dispatcher
publishes them (``HandoffStore.on_patient_message``) once they are in the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from bot.handoff import HandoffStore

log = logging.getLogger(__name__)

# Below the Redis client's socket timeout (bot.redis_conn.SOCKET_TIMEOUT_S), and short, so
# that stop() ends the tail by its flag: cancelling a blocked XREAD can hang in redis-py.
BLOCK_MS = 500
STOP_WAIT_S = 3.0
RETRY_S = 1.0
SUBSCRIBER_QUEUE = 256

Event = dict[str, str]


def _decode(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class EventHub:
    def __init__(self, redis: aioredis.Redis, store: HandoffStore) -> None:
        self._redis = redis
        self._store = store
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        last = await self._redis.xrevrange(self._store.event_stream, count=1)
        start_id = _decode(last[0][0]) if last else "0-0"
        self._tasks = [
            asyncio.create_task(self._tail(start_id), name="console-events"),
        ]

    async def stop(self) -> None:
        self._stopping.set()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=STOP_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=STOP_WAIT_S)
        self._tasks = []
        self.end_streams()

    def end_streams(self) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def broadcast(self, event: Event) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A console that cannot keep up is dropped; it reconnects and reloads.
                self._subscribers.discard(queue)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _tail(self, last_id: str) -> None:
        stream = self._store.event_stream
        while not self._stopping.is_set():
            try:
                batches: Any = await self._redis.xread({stream: last_id}, block=BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("console event stream unavailable (%s)", type(exc).__name__)
                await asyncio.sleep(RETRY_S)
                continue
            for _stream, entries in batches or []:
                for entry_id, fields in entries:
                    last_id = _decode(entry_id)
                    event = {_decode(k): _decode(v) for k, v in fields.items()}
                    event["id"] = last_id
                    self.broadcast(event)
