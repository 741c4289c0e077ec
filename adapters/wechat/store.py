"""What the WeChat channel keeps in Redis so that every replica agrees.

- Deliveries: WeChat delivers a message up to three times; a counter per message (MsgId, or
  FromUserName + CreateTime for events) makes the first delivery, on whichever replica, the
  only one handed to the pipeline, and tells a replica which delivery it holds.
- Passive replies: an answer is stored under the message it answers and announced on a
  pub/sub channel, so any delivery of that message, on any replica, can return it. After the
  last delivery the message is closed: a late answer joins the patient's pending list and is
  carried with their next message.
- Custom-service quota: messages sent since the patient last wrote (WeChat allows 5 within
  48 hours).
- Escalation: until the core offers channels a hook, the chat is put in front of staff by
  writing the handoff state exactly as ``bot.handoff`` does (same keys, same script; a test
  checks the two agree).

Answers are stored encrypted (Fernet): they are unmasked for the patient, so they may contain
the patient's own details.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from cryptography.fernet import Fernet, InvalidToken

from adapters.wechat.settings import WeChatSettings
from bot.config import Settings

log = logging.getLogger(__name__)

REDIS_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)

# WeChat retries within about 15 s; delivery records outlive that comfortably.
DELIVERY_TTL_S = 600
# WeChat's custom-service window and quota per patient message.
SERVICE_WINDOW_S = 48 * 3600
MESSAGES_PER_USER_MESSAGE = 5
_KEY_INFO = b"careline wechat passive replies v1"

# KEYS: deliveries counter, pending list, carried list, quota counter.
# ARGV: ttl, carry ("1"/"0"), quota window ("0": the message does not open the window).
# The first delivery takes over the patient's pending answers, to carry them in its reply,
# and restarts the custom-service allowance when the patient wrote.
_ARRIVE = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if n == 1 and ARGV[3] ~= '0' then
  redis.call('SET', KEYS[4], '0', 'EX', ARGV[3])
end
if n == 1 and ARGV[2] == '1' then
  local items = redis.call('LRANGE', KEYS[2], 0, -1)
  if #items > 0 then
    redis.call('RPUSH', KEYS[3], unpack(items))
    redis.call('EXPIRE', KEYS[3], ARGV[1])
    redis.call('DEL', KEYS[2])
  end
end
return n
"""

# KEYS: replies list, closed flag, pending list. ARGV: blob, ttl, pending ttl, channel, id.
# Returns 1 when stored for the message's deliveries, 0 when it went to the pending list.
_STORE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""

# KEYS: replies list, closed flag. ARGV: ttl. Close the message; return replies that made it.
_CLOSE = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

# KEYS: quota counter. ARGV: window. Count one message; the window starts at the user's message.
_TAKE_QUOTA = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""


@dataclass(frozen=True)
class StoredReply:
    text: str
    lang: str


def reply_cipher(settings: Settings) -> Fernet:
    """The vault key when set; otherwise a key every replica derives from the WeChat secrets."""
    if settings.vault_key is not None:
        return Fernet(settings.vault_key.get_secret_value().encode())
    cfg = settings.channel(WeChatSettings)
    material = b"".join(
        s.get_secret_value().encode() + b"\0"
        for s in (cfg.wechat_token, cfg.wechat_aes_key, cfg.wechat_app_secret)
        if s is not None
    )
    digest = hashlib.sha256(_KEY_INFO + b"\0" + material).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class WeChatStore:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self._redis = redis
        self._p = f"{settings.redis_prefix}:wechat"
        self._pending_ttl_s = settings.context_ttl_s
        self._cipher = reply_cipher(settings)
        self.ready_channel = f"{self._p}:ready"
        self._arrive: Any = redis.register_script(_ARRIVE)
        self._store: Any = redis.register_script(_STORE)
        self._close: Any = redis.register_script(_CLOSE)
        self._take_quota: Any = redis.register_script(_TAKE_QUOTA)

    # -- keys -------------------------------------------------------------------------

    def _msg(self, message_id: str, part: str) -> str:
        return f"{self._p}:msg:{message_id}:{part}"

    def _pending(self, openid: str) -> str:
        return f"{self._p}:pending:{openid}"

    def _quota(self, openid: str) -> str:
        return f"{self._p}:quota:{openid}"

    def replies_key(self, message_id: str) -> str:
        return self._msg(message_id, "replies")

    # -- sealing ----------------------------------------------------------------------

    def seal(self, reply: StoredReply) -> bytes:
        return self._cipher.encrypt(json.dumps({"t": reply.text, "l": reply.lang}).encode())

    def open(self, blobs: list[bytes]) -> list[StoredReply]:
        replies = []
        for blob in blobs:
            try:
                data = json.loads(self._cipher.decrypt(blob))
                replies.append(StoredReply(str(data["t"]), str(data["l"])))
            except (InvalidToken, ValueError, KeyError, TypeError):
                continue  # written under another key: unreadable, skipped
        return replies

    # -- deliveries -------------------------------------------------------------------

    async def arrive(
        self, message_id: str, openid: str, *, carry: bool, interaction: bool = False
    ) -> int:
        """Count a delivery; 1 means this is the first, on any replica. With ``carry`` the
        first delivery takes the patient's pending answers along; with ``interaction`` it
        restarts the patient's custom-service allowance (the patient wrote)."""
        n = await self._arrive(**self._arrival(message_id, openid, carry, interaction))
        return int(n)

    def stored_key(self, message_id: str) -> str:
        """The counter saying whether a message is stored in the intake stream, counted by
        the same script that stores it (both the acknowledged batch and the full route)."""
        return self._msg(message_id, "stored")

    def delivery_key(self, message_id: str) -> str:
        """The counter of a message's deliveries on the full route (``arrive``)."""
        return self._msg(message_id, "n")

    async def restart_allowance(self, openids: list[str]) -> None:
        """The patients wrote: WeChat's custom-service allowance starts again for each."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for openid in openids:
                pipe.set(self._quota(openid), "0", ex=SERVICE_WINDOW_S)
            await pipe.execute()

    def _arrival(
        self, message_id: str, openid: str, carry: bool, interaction: bool
    ) -> dict[str, list[Any]]:
        return {
            "keys": [
                self.delivery_key(message_id),
                self._pending(openid),
                self._msg(message_id, "carried"),
                self._quota(openid),
            ],
            "args": [DELIVERY_TTL_S, "1" if carry else "0", SERVICE_WINDOW_S if interaction else 0],
        }

    async def mark_transferred(self, message_id: str, ttl_s: float) -> None:
        """The message went to WeChat's own customer service: careline's notices for it are
        not sent, by whichever replica handles it."""
        await self._redis.set(self._msg(message_id, "transferred"), b"1", ex=int(ttl_s))

    async def transferred(self, message_id: str) -> bool:
        return bool(await self._redis.exists(self._msg(message_id, "transferred")))

    async def forget_delivery(self, message_id: str) -> None:
        """Undo a claim that could not be handed on, so WeChat's next delivery counts as new."""
        await self._redis.delete(self._msg(message_id, "n"))

    async def store_reply(self, message_id: str | None, openid: str, blob: bytes) -> bool:
        """Keep a reply for the message's deliveries; False when it went to the pending list."""
        if message_id is None:
            await self._redis.rpush(self._pending(openid), blob)
            await self._redis.expire(self._pending(openid), self._pending_ttl_s)
            return False
        stored = await self._store(
            keys=[
                self._msg(message_id, "replies"),
                self._msg(message_id, "closed"),
                self._pending(openid),
            ],
            args=[blob, DELIVERY_TTL_S, self._pending_ttl_s, self.ready_channel, message_id],
        )
        return bool(stored)

    async def replies(self, message_id: str) -> tuple[list[bytes], list[bytes]]:
        """The message's own replies so far, and the earlier answers it carries."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self._msg(message_id, "replies"), 0, -1)
            pipe.lrange(self._msg(message_id, "carried"), 0, -1)
            own, carried = await pipe.execute()
        return list(own), list(carried)

    async def close(self, message_id: str) -> list[bytes]:
        """No delivery will wait any more: later replies go to the pending list."""
        items = await self._close(
            keys=[self._msg(message_id, "replies"), self._msg(message_id, "closed")],
            args=[DELIVERY_TTL_S],
        )
        return list(items)

    async def carry_over(self, openid: str, blobs: list[bytes]) -> None:
        """Put what did not fit in a reply back in front of the patient's pending list."""
        if blobs:
            await self._redis.lpush(self._pending(openid), *reversed(blobs))
            await self._redis.expire(self._pending(openid), self._pending_ttl_s)

    # -- custom-service quota ---------------------------------------------------------

    async def take_quota(self, openid: str) -> bool:
        """Count one message to the patient; False when WeChat's per-message quota is spent.
        With Redis unavailable the count is unknown: the message goes (WeChat itself refuses
        one over its quota, with 45047), rather than an answer written and then dropped."""
        try:
            n = await self._take_quota(keys=[self._quota(openid)], args=[SERVICE_WINDOW_S])
        except REDIS_ERRORS as exc:
            log.warning("WeChat quota not counted (Redis %s): sending", type(exc).__name__)
            return True
        return int(n) <= MESSAGES_PER_USER_MESSAGE
