"""Per-conversation flood control, shared by every replica through Redis (the `limits` library).

A chat over its rate gets one polite notice per window and no model time; other patients are
not slowed. If Redis cannot answer, the limiter lets the message through: a patient's message
is never dropped because the flood guard is down.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


def moving_window(redis: aioredis.Redis, key_prefix: str) -> MovingWindowRateLimiter:
    """A `limits` moving-window limiter kept in careline's Redis, on its connection pool."""
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=key_prefix,
        # documented option, though the library's type hints do not list it
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )
    return MovingWindowRateLimiter(storage)


class ConversationLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str, rate: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.rate: RateLimitItem = parse(rate)
        self._limiter = moving_window(redis, f"{prefix}:rl")

    async def allow(self, conversation: str) -> bool:
        try:
            return await self._limiter.hit(self.rate, conversation)
        except Exception as exc:  # the limiter must never cost a patient their message
            log.warning(
                "rate limiter unavailable (%s); letting the message through", type(exc).__name__
            )
            return True

    async def first_refusal(self, conversation: str) -> bool:
        """True once per window: whether to tell the patient they were slowed down."""
        key = f"{self._prefix}:rl-notice:{conversation}"
        try:
            return bool(await self._redis.set(key, b"1", nx=True, ex=self.rate.get_expiry()))
        except Exception:
            return True
