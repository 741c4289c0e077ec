"""The knowledge base in Redis, as whole versions: an import writes a new version and then
switches to it in one step, so every replica reads either the old base or the new one, never
half of one. The version before stays readable for a while after the switch (a replica that
has just read its number can still fetch it)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from bot.knowledge.entries import EXAMPLE_DIR, Entry, read_paths

OLD_VERSION_KEEP_S = 3600

# KEYS: current-version key, new version's key, the old version's key prefix.
# ARGV: new version, entries JSON, keep seconds, only if empty ("1"/"0").
# Writes the version and switches to it; returns the version now current.
_SWITCH = """
local old = redis.call('GET', KEYS[1])
if ARGV[4] == '1' and old then return old end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
if old then redis.call('EXPIRE', KEYS[3] .. old, ARGV[3]) end
return ARGV[1]
"""


class KnowledgeStore:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self._current = f"{prefix}:kb:current"
        self._seq = f"{prefix}:kb:seq"
        self._version_prefix = f"{prefix}:kb:v:"
        self._switch = redis.register_script(_SWITCH)

    async def replace(self, entries: Sequence[Entry], *, only_if_empty: bool = False) -> str:
        """Make ``entries`` the whole base; returns the version now current (with
        ``only_if_empty``, the one already there if there was one)."""
        version = str(await self.redis.incr(self._seq))
        body = json.dumps([e.to_json() for e in entries], ensure_ascii=False)
        current = await self._switch(
            keys=[self._current, self._version_prefix + version, self._version_prefix],
            args=[version, body, OLD_VERSION_KEEP_S, "1" if only_if_empty else "0"],
        )
        return current.decode() if isinstance(current, bytes) else str(current)

    async def ensure_example(self) -> str:
        """The version current, after importing the example base if there was none."""
        return await self.replace(read_paths([EXAMPLE_DIR]), only_if_empty=True)

    async def version(self) -> str | None:
        value = await self.redis.get(self._current)
        return value.decode() if isinstance(value, bytes) else value

    async def entries(self, version: str | None = None) -> list[Entry]:
        """The entries of ``version`` (default: the current one); [] when there is none."""
        version = version or await self.version()
        if version is None:
            return []
        body = await self.redis.get(self._version_prefix + version)
        if body is None:
            return []
        return [Entry.from_json(item) for item in json.loads(body)]
