"""Ended handoffs, kept readable (masked) for staff for the configured retention, searchable.

When a handoff ends (a staff member closes or releases the chat, or the idle timer gives it
back to the bot) its labels and masked transcript are copied to one record with an expiry of
``CARELINE_TRANSCRIPT_RETENTION_DAYS``; an index (a sorted set by end time) finds them by
conversation, channel, category and date. Private staff notes live beside the chat with the
same expiry. Only masked text is stored, as everywhere in Redis.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import redis.asyncio as aioredis

from bot.console.transcript import Line
from bot.handoff import HeldChat

SECONDS_PER_DAY = 86_400
MAX_NOTE_CHARS = 2000
MAX_NOTES = 200
SEARCH_LIMIT = 100
# Index entries scanned per search at most (newest first).
SEARCH_SCAN = 5000


@dataclass(frozen=True)
class Episode:
    """One ended handoff: labels and the masked transcript."""

    conversation: str
    ended_at: float
    action: str
    actor: str
    reason: str
    category: str
    level: str
    since: float
    claimed_by: str
    lang: str
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return self.conversation.partition(":")[0]

    def card(self) -> dict[str, Any]:
        """The episode without its transcript (search results)."""
        data = asdict(self)
        del data["transcript"]
        data["channel"] = self.channel
        data["id"] = episode_id(self.conversation, self.ended_at)
        return data


def episode_id(conversation: str, ended_at: float) -> str:
    return f"{conversation}|{ended_at:.3f}"


@dataclass(frozen=True)
class Note:
    by: str
    at: float
    text: str


class History:
    def __init__(self, redis: aioredis.Redis, prefix: str, retention_days: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.retention_s = max(1, retention_days) * SECONDS_PER_DAY

    @property
    def index_key(self) -> str:
        return f"{self._prefix}:history-index"

    def _conversation_key(self, conversation: str) -> str:
        return f"{self._prefix}:history-of:{conversation}"

    def _record_key(self, ident: str) -> str:
        return f"{self._prefix}:history:{ident}"

    def _notes_key(self, conversation: str) -> str:
        return f"{self._prefix}:notes:{conversation}"

    # ---------------------------------------------------------------- episodes

    async def record(
        self, chat: HeldChat, action: str, actor: str, lines: list[Line], now: float
    ) -> str:
        """Keep an ended handoff; returns its id."""
        episode = Episode(
            conversation=chat.conversation,
            ended_at=round(now, 3),
            action=action,
            actor=actor,
            reason=chat.reason,
            category=chat.category,
            level=chat.level,
            since=chat.since,
            claimed_by=chat.claimed_by,
            lang=chat.lang,
            transcript=[asdict(x) for x in lines],
        )
        ident = episode_id(chat.conversation, episode.ended_at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._record_key(ident), json.dumps(asdict(episode)), ex=self.retention_s)
            pipe.zadd(self.index_key, {ident: episode.ended_at})
            pipe.zremrangebyscore(self.index_key, "-inf", now - self.retention_s)
            by_conversation = self._conversation_key(chat.conversation)
            pipe.zadd(by_conversation, {ident: episode.ended_at})
            pipe.zremrangebyscore(by_conversation, "-inf", now - self.retention_s)
            pipe.expire(by_conversation, self.retention_s)
            pipe.expire(self._notes_key(chat.conversation), self.retention_s)
            await pipe.execute()
        return ident

    async def episodes(self, conversation: str) -> list[Episode]:
        """The conversation's ended handoffs still kept, newest first."""
        raw = await self._redis.zrevrange(self._conversation_key(conversation), 0, -1)
        idents = [x.decode() if isinstance(x, bytes) else str(x) for x in raw]
        return [e for e in await self._load(idents) if e is not None]

    async def _load(self, idents: list[str]) -> list[Episode | None]:
        if not idents:
            return []
        raw = await self._redis.mget([self._record_key(i) for i in idents])
        out: list[Episode | None] = []
        for item in raw:
            try:
                out.append(Episode(**json.loads(item)) if item else None)
            except (TypeError, ValueError):
                out.append(None)
        return out

    async def search(
        self,
        *,
        conversation: str = "",
        channel: str = "",
        category: str = "",
        since: float | None = None,
        until: float | None = None,
    ) -> list[dict[str, Any]]:
        """Ended handoffs matching every given filter, newest first (at most SEARCH_LIMIT,
        among the newest SEARCH_SCAN in the date range). ``conversation`` matches a part of
        the conversation key."""
        low = "-inf" if since is None else since
        high = "+inf" if until is None else until
        raw = await self._redis.zrevrangebyscore(
            self.index_key, high, low, start=0, num=SEARCH_SCAN
        )
        idents = [x.decode() if isinstance(x, bytes) else str(x) for x in raw]
        wanted: list[str] = []
        for ident in idents:
            conv = ident.rpartition("|")[0]
            if conversation and conversation not in conv:
                continue
            if channel and conv.partition(":")[0] != channel:
                continue
            wanted.append(ident)
        results: list[dict[str, Any]] = []
        for episode in await self._load(wanted):
            if episode is None or (category and episode.category != category):
                continue
            results.append(episode.card())
            if len(results) >= SEARCH_LIMIT:
                break
        return results

    # ------------------------------------------------------------------- notes

    async def add_note(self, conversation: str, note: Note) -> None:
        key = self._notes_key(conversation)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(asdict(note), ensure_ascii=False))
            pipe.ltrim(key, -MAX_NOTES, -1)
            pipe.expire(key, self.retention_s)
            await pipe.execute()

    async def notes(self, conversation: str) -> list[Note]:
        notes: list[Note] = []
        for item in await self._redis.lrange(self._notes_key(conversation), 0, -1):
            try:
                notes.append(Note(**json.loads(item)))
            except (TypeError, ValueError):
                continue
        return notes
