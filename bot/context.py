"""The conversation window: the last exchanges of a chat, masked text only, in Redis.

One list per conversation, one JSON element per exchange (patient message and careline's
answer), trimmed to ``context_turns`` exchanges and expiring after ``context_ttl_s`` of
silence. The per-conversation PII vault lives beside it, encrypted, with the same expiry.

Reads and writes are queued onto pipelines the dispatcher executes, so a message costs one
round trip to read (together with the handoff state) and one to append.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis


@dataclass(frozen=True)
class Exchange:
    user: str
    assistant: str
    sources: tuple[str, ...] = ()  # the knowledge entries the answer used (for staff)

    def to_json(self) -> str:
        data: dict[str, object] = {"u": self.user, "a": self.assistant}
        if self.sources:
            data["s"] = list(self.sources)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Exchange | None:
        try:
            data = json.loads(raw)
            sources = tuple(str(s) for s in data.get("s") or ())
            return cls(user=str(data["u"]), assistant=str(data["a"]), sources=sources)
        except (ValueError, KeyError, TypeError):
            return None


class ContextStore:
    def __init__(
        self, redis: aioredis.Redis, prefix: str, turns: int, max_chars: int, ttl_s: int
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.turns = turns
        self.max_chars = max_chars
        self.ttl_s = ttl_s

    def window_key(self, conversation: str) -> str:
        return f"{self._prefix}:ctx:{conversation}"

    def vault_key(self, conversation: str) -> str:
        return f"{self._prefix}:vault:{conversation}"

    def queue_read(self, pipe: Any, conversation: str) -> None:
        """Queue the window and the vault reads (two results, in that order)."""
        pipe.lrange(self.window_key(conversation), -self.turns if self.turns else 0, -1)
        pipe.get(self.vault_key(conversation))

    def window(self, raw: list[bytes]) -> list[Exchange]:
        """The newest exchanges that fit in ``max_chars``, oldest first."""
        if not self.turns:
            return []
        kept: list[Exchange] = []
        used = 0
        for item in reversed(raw[-self.turns :]):
            exchange = Exchange.from_json(item)
            if exchange is None:
                continue
            size = len(exchange.user) + len(exchange.assistant)
            if used + size > self.max_chars:
                break
            kept.append(exchange)
            used += size
        kept.reverse()
        return kept

    def queue_append(
        self, pipe: Any, conversation: str, exchange: Exchange, vault_blob: bytes | None
    ) -> None:
        """Queue the append of one exchange, the trim, the expiry, and the vault save."""
        key = self.window_key(conversation)
        if self.turns:
            pipe.rpush(key, exchange.to_json())
            pipe.ltrim(key, -self.turns, -1)
            pipe.expire(key, self.ttl_s)
        if vault_blob is not None:
            pipe.set(self.vault_key(conversation), vault_blob, ex=self.ttl_s)
        else:
            # The map back must live as long as the history that refers to it.
            pipe.expire(self.vault_key(conversation), self.ttl_s)

    async def read(self, conversation: str) -> list[Exchange]:
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_read(pipe, conversation)
            raw, _vault = await pipe.execute()
        return self.window(raw)

    async def append(
        self, conversation: str, exchange: Exchange, vault_blob: bytes | None = None
    ) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self.queue_append(pipe, conversation, exchange, vault_blob)
            await pipe.execute()

    async def forget(self, conversation: str) -> int:
        """Erase the window and the vault; returns how many keys were deleted."""
        deleted: int = await self._redis.delete(
            self.window_key(conversation), self.vault_key(conversation)
        )
        return deleted
