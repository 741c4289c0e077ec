"""The web chat's state in Redis, shared by every replica.

- A visitor is a random token the browser keeps; Redis keeps only its hash (the visitor's id,
  which is also the conversation id staff see), for ``CARELINE_WEBCHAT_VISITOR_DAYS`` after
  the visitor was last seen.
- What careline says to a visitor waits in a per-visitor Redis stream, its outbox, encrypted
  (answers may carry the patient's own details, restored after masking), for as long as the
  conversation context lives; a page reconnecting (a reload, a lost network, another
  replica) reads on from the last entry it saw. The patient's own words are never stored:
  their page keeps them.
- Entries are announced on one pub/sub channel, so that the replica holding a visitor's
  event stream learns of an entry another replica wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken

from bot.config import Settings

log = logging.getLogger(__name__)

TOKEN_BYTES = 24
# The visitor's id: the first 32 hex digits of the token's SHA-256 (the token never leaves
# the browser and this module).
VISITOR_ID = re.compile(r"^[0-9a-f]{32}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
OUTBOX_MAX = 200  # entries kept per visitor; a page further behind starts from the oldest
SEEN_TTL_S = 86_400  # how long a message id is remembered, so a resent message counts once
TYPING = "typing"


def visitor_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Entry:
    id: str
    event: dict[str, Any]


class VisitorStore:
    def __init__(self, redis: aioredis.Redis, settings: Settings, visitor_days: int) -> None:
        self._redis = redis
        self._p = f"{settings.redis_prefix}:webchat"
        self.wake_channel = f"{self._p}:wake"
        self._visitor_ttl_s = visitor_days * 86_400
        self._outbox_ttl_s = settings.context_ttl_s
        if settings.vault_key is not None:
            key = settings.vault_key.get_secret_value().encode()
        else:
            log.warning(
                "web chat: CARELINE_VAULT_KEY is not set, so answers waiting for a visitor are "
                "sealed with a key of this process only: another replica, or this one after a "
                "restart, cannot deliver them"
            )
            key = base64.urlsafe_b64encode(secrets.token_bytes(32))
        self._cipher = Fernet(key)

    # -- visitors ---------------------------------------------------------------------

    def _visitor(self, vid: str) -> str:
        return f"{self._p}:visitor:{vid}"

    async def new_visitor(self) -> tuple[str, str]:
        """A new visitor: their token (for the browser) and their id."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        vid = visitor_id(token)
        await self._redis.set(self._visitor(vid), b"1", ex=self._visitor_ttl_s)
        return token, vid

    async def visitor(self, token: str) -> str | None:
        """The id of a known visitor's token (their stay renewed); None when unknown."""
        if not TOKEN.match(token):
            return None
        vid = visitor_id(token)
        known = await self._redis.expire(self._visitor(vid), self._visitor_ttl_s)
        return vid if known else None

    async def first_time(self, vid: str, message_id: str) -> bool:
        """Whether this message id is new for this visitor (a page resends after a lost
        answer; the message counts once)."""
        key = f"{self._p}:seen:{vid}:{message_id}"
        return bool(await self._redis.set(key, b"1", nx=True, ex=SEEN_TTL_S))

    async def unsee(self, vid: str, message_id: str) -> None:
        """The message was not taken after all: a resend will count."""
        await self._redis.delete(f"{self._p}:seen:{vid}:{message_id}")

    # -- the outbox -------------------------------------------------------------------

    def _outbox(self, vid: str) -> str:
        return f"{self._p}:out:{vid}"

    async def append(self, vid: str, event: dict[str, Any]) -> str:
        """Adds an event to the visitor's outbox and announces it; its entry id."""
        sealed = self._cipher.encrypt(json.dumps(event, ensure_ascii=False).encode())
        key = self._outbox(vid)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {b"e": sealed}, maxlen=OUTBOX_MAX, approximate=False)
            pipe.expire(key, self._outbox_ttl_s)
            pipe.publish(self.wake_channel, vid)
            entry_id, *_ = await pipe.execute()
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def announce_typing(self, vid: str) -> None:
        await self._redis.publish(self.wake_channel, f"{TYPING}:{vid}")

    async def read(self, vid: str, after: str, count: int = 50) -> list[Entry]:
        """The visitor's outbox entries after ``after`` ("0" for all), oldest first."""
        rows: Any = await self._redis.xrange(self._outbox(vid), min=f"({after}", count=count)
        entries = []
        for raw_id, fields in rows:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            try:
                event = json.loads(self._cipher.decrypt(fields[b"e"]))
            except (InvalidToken, KeyError, TypeError, ValueError):
                # Sealed with another key (a restart without CARELINE_VAULT_KEY): passed over.
                event = None
            entries.append(Entry(entry_id, event if isinstance(event, dict) else {}))
        return entries
