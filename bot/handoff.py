"""Who answers a conversation: the bot, or hospital staff.

States live in Redis so every replica agrees: ``bot`` (the default, no key), ``waiting``
(escalated, nobody has claimed it), ``staff`` (claimed) and ``closed``. Transitions are Lua
scripts, so they are atomic. Each escalation is also appended to an alert stream that the
staff console reads; the alert carries no patient text.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis

ALERT_STREAM_MAXLEN = 10_000


class HandoffState(StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    STAFF = "staff"
    CLOSED = "closed"


# Escalate only from bot/closed; a chat already waiting or with staff keeps its state.
# KEYS[1] state hash, KEYS[2] alert stream; ARGV: reason, category, level, now, ttl, conv, maxlen
_ESCALATE = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'waiting' or state == 'staff' then
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'reason', ARGV[1], 'category', ARGV[2],
           'level', ARGV[3], 'since', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'conversation', ARGV[6],
           'reason', ARGV[1], 'category', ARGV[2], 'level', ARGV[3], 'at', ARGV[4])
return 1
"""


class HandoffStore:
    def __init__(self, redis: aioredis.Redis, prefix: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._escalate: Any = redis.register_script(_ESCALATE)

    def key(self, conversation: str) -> str:
        return f"{self._prefix}:handoff:{conversation}"

    @property
    def alert_stream(self) -> str:
        return f"{self._prefix}:alerts"

    def queue_read(self, pipe: Any, conversation: str) -> None:
        """Add the state read to a pipeline that the caller executes."""
        pipe.hget(self.key(conversation), "state")

    @staticmethod
    def parse(raw: bytes | str | None) -> HandoffState:
        if raw is None:
            return HandoffState.BOT
        try:
            return HandoffState(raw.decode() if isinstance(raw, bytes) else raw)
        except ValueError:
            return HandoffState.BOT

    async def state(self, conversation: str) -> HandoffState:
        return self.parse(await self._redis.hget(self.key(conversation), "state"))

    async def escalate(
        self, conversation: str, reason: str, category: str = "", level: str = ""
    ) -> bool:
        """Put the chat in front of staff; True when this call moved it to ``waiting``."""
        moved = await self._escalate(
            keys=[self.key(conversation), self.alert_stream],
            args=[
                reason,
                category,
                level,
                f"{time.time():.3f}",
                self._ttl_s,
                conversation,
                ALERT_STREAM_MAXLEN,
            ],
        )
        return bool(moved)

    async def release(self, conversation: str) -> None:
        """Give the chat back to the bot."""
        await self._redis.delete(self.key(conversation))
