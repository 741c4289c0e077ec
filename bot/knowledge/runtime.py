"""The knowledge base as the pipeline reads it: the current version's index (rebuilt in a
thread when an import switched versions), and what it has for one question."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from bot.knowledge.entries import Entry
from bot.knowledge.index import Index
from bot.knowledge.store import KnowledgeStore
from bot.stream import REDIS_ERRORS

log = logging.getLogger(__name__)

# An entry goes into the model's prompt when it holds this share of the question's weight.
RELEVANT_COVERAGE = 0.3
MAX_PASSAGES = 3
# A question is answered with an entry's text, without the model, only when the entry holds
# this share of the question's weight (stricter than the search's "confident": no model is
# there to notice that the entry answers a neighbouring question, "book a blood test" taken
# for "fasting before a blood test").
DIRECT_COVERAGE = 0.65
# How often a process asks Redis whether an import switched the base (a replica sees a new
# base within this time).
VERSION_CHECK_S = 2.0


@dataclass(frozen=True)
class Found:
    """What the base has for a question."""

    passages: list[Entry] = field(default_factory=list)  # relevant entries, best first
    direct: Entry | None = None  # one that answers the question by itself (confident)


class Knowledge:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.store = KnowledgeStore(redis, prefix)
        self._version: str | None = None
        self._index: Index | None = None
        self._checked = float("-inf")
        self._lock = asyncio.Lock()

    async def index(self) -> Index | None:
        """The current base's index; the last one read while Redis is unavailable (None
        before any was)."""
        if time.monotonic() - self._checked < VERSION_CHECK_S and self._index is not None:
            return self._index
        async with self._lock:
            try:
                version = await self.store.version() or await self.store.ensure_example()
                if version != self._version or self._index is None:
                    entries = await self.store.entries(version)
                    self._index = await asyncio.to_thread(Index, entries)
                    self._version = version
                    log.info("knowledge base version %s: %d entries", version, len(entries))
                self._checked = time.monotonic()
            except REDIS_ERRORS as exc:
                log.warning("knowledge base not read (%s)", type(exc).__name__)
        return self._index

    @property
    def version(self) -> str | None:
        """The version of the base last read (None before any was)."""
        return self._version

    async def find(self, masked: str, lang: str) -> Found:
        index = await self.index()
        if index is None or not masked.strip():
            return Found()
        result = index.search(masked, lang, MAX_PASSAGES)
        passages = [
            entry
            for hit in result.hits
            if hit.words
            and hit.coverage >= RELEVANT_COVERAGE
            and (entry := index.entry(hit.id)) is not None
        ]
        best = result.hits[0] if result.hits else None
        direct = (
            passages[0]
            if result.confident
            and passages
            and best is not None
            and best.coverage >= DIRECT_COVERAGE
            else None
        )
        return Found(passages, direct)
