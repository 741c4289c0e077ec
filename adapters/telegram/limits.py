"""Telegram's flood limits, with emergency replies first in line.

The Bot API allows a bot about 30 messages a second overall and 20 a minute in any one group;
beyond that it answers 429 with ``retry_after``. PTB's ``AIORateLimiter`` keeps to those
limits but serves calls in arrival order, so when many ordinary answers are queued an
emergency reply waits behind all of them.

``PriorityRateLimiter`` is a PTB ``BaseRateLimiter`` with the same limits and the same
answer to a 429 (every call waits ``retry_after`` plus a margin, then the refused call is
tried again), but each limit is a leaky bucket (aiolimiter) with a priority gate in front of
it. Only the caller holding the gate waits at the bucket for capacity; everyone else waits at
the gate, and the gate is handed on by (priority, arrival). So an urgent call waits for at
most the one call already at the bucket, never for the queue, and since every call still
takes its unit of capacity nothing goes over the limit.

A call's priority is its ``rate_limit_args`` (every PTB Bot method takes one); without it a
call is ``SendPriority.ORDINARY``. Calls without a ``chat_id`` (getMe, answerCallbackQuery,
setWebhook...) are not counted, as in PTB, but they too wait out a ``retry_after``.

The limits are the bot's, not a process's: with several replicas, a ``SharedBudget`` (a moving
window in Redis, the `limits` library) counts every replica's calls against the bot's overall
limit, taken by the caller at the front of the gate, after its own bucket; and a 429's
``retry_after`` told to one replica pauses them all. If Redis cannot answer, each replica
keeps to its own bucket and pause alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any

import redis.asyncio as aioredis
from aiolimiter import AsyncLimiter
from limits import RateLimitItemPerSecond
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.aio import OwnedTasks
from bot.ratelimit import moving_window

log = logging.getLogger(__name__)

GROUP_PERIOD_S = 60.0
RETRY_MARGIN_S = 0.1  # waited on top of retry_after, as PTB's AIORateLimiter does
GROUP_LANES_KEPT = 512  # beyond this, idle group buckets are dropped (they are full again)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


# More retry_after waits than ``max_retries`` for an emergency reply before it is given up
URGENT_EXTRA_RETRIES = 3


class SendPriority(IntEnum):
    """Order at the rate limiter: lower goes first. Non-zero: PTB drops a falsy
    ``rate_limit_args``."""

    EMERGENCY = 1
    HANDOFF = 2
    ORDINARY = 3


class _Gate:
    """Lets one caller through at a time: the most urgent waiting, then the earliest."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @property
    def idle(self) -> bool:
        return not self._busy

    @contextlib.asynccontextmanager
    async def turn(self, priority: int) -> AsyncIterator[None]:
        if self._busy:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._arrivals), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._pass_on()  # handed the turn just as we were cancelled
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        while self._waiting:
            _priority, _n, turn = heapq.heappop(self._waiting)
            if not turn.done():  # a cancelled waiter left its future behind
                turn.set_result(None)
                return
        self._busy = False


class _Lane:
    """A leaky bucket with a priority gate in front."""

    def __init__(self, max_rate: float, period_s: float) -> None:
        self.bucket = AsyncLimiter(max_rate, period_s)
        self.gate = _Gate()

    async def take(
        self,
        priority: int,
        first: Callable[[], Awaitable[None]] | None = None,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """One unit of capacity, in priority order; ``first`` is awaited while at the front,
        ``then`` once the unit is taken (still at the front)."""
        async with self.gate.turn(priority):
            if first is not None:
                await first()
            await self.bucket.acquire()
            if then is not None:
                await then()

    @property
    def idle(self) -> bool:
        return self.gate.idle and self.bucket.has_capacity(self.bucket.max_rate)


class SharedBudget:
    """The bot's overall budget across replicas: a moving window in Redis, and the end of a
    flood pause (a 429's ``retry_after``) that one replica was told about."""

    KEY = "overall"

    def __init__(self, redis: aioredis.Redis, prefix: str, amount: int, period_s: int = 1) -> None:
        self._redis = redis
        self._limiter = moving_window(redis, f"{prefix}:telegram:flood")
        self._item = RateLimitItemPerSecond(amount, period_s)
        self._pause_key = f"{prefix}:telegram:flood-pause"

    async def take(self) -> None:
        """Wait until no replica was told to pause and every replica together has room for
        one more call; at once when Redis cannot say (the replica's own bucket and pause
        still apply)."""
        while True:
            try:
                until = await self._redis.get(self._pause_key)
                paused = float(until) - time.time() if until else 0.0
                if paused > 0:
                    await asyncio.sleep(paused)
                    continue
                if await self._limiter.hit(self._item, self.KEY):
                    return
                stats = await self._limiter.get_window_stats(self._item, self.KEY)
            except Exception as exc:
                log.warning("Telegram's shared flood budget unavailable (%s)", type(exc).__name__)
                return
            await asyncio.sleep(min(1.0, max(0.01, stats.reset_time - time.time())))

    async def pause(self, seconds: float) -> None:
        """Telegram asked this replica to wait: every replica waits."""
        with contextlib.suppress(Exception):
            until = time.time() + seconds
            await self._redis.set(self._pause_key, repr(until), px=int(seconds * 1000) + 1)


class PriorityRateLimiter(BaseRateLimiter[SendPriority]):
    """Telegram's flood limits, urgent calls first (see the module docstring)."""

    def __init__(
        self,
        *,
        overall_per_second: float = FloodLimit.MESSAGES_PER_SECOND,
        group_per_minute: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        max_retries: int = 0,
    ) -> None:
        self._overall = _Lane(overall_per_second, 1.0)
        self._group_rate = group_per_minute
        self._groups: dict[int | str, _Lane] = {}
        self._max_retries = max_retries
        self._paused_until = 0.0  # loop time before which no call goes out (a retry_after)
        self._shared: SharedBudget | None = None
        self._tasks = OwnedTasks()

    def share(self, budget: SharedBudget) -> None:
        """Count calls against the bot's budget shared by every replica as well."""
        self._shared = budget

    async def _take_shared(self) -> None:
        if self._shared is not None:
            await self._shared.take()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: SendPriority | None,
    ) -> JSONResult:
        priority = rate_limit_args or SendPriority.ORDINARY
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            await self._admit(chat_id, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # an emergency reply waits out a few more flood pauses than an answer does
                extra = URGENT_EXTRA_RETRIES if priority is SendPriority.EMERGENCY else 0
                if attempt >= self._max_retries + extra:
                    raise
                attempt += 1
                self._pause(exc, endpoint)

    async def _admit(self, chat_id: object, priority: SendPriority) -> None:
        """Wait for this call's turn: its group's budget, then the bot's, then any pause."""
        if chat_id is None:
            await self._sit_out_pause()
            return
        group = self._group(chat_id)
        if group is not None:
            await group.take(priority)
        await self._overall.take(priority, first=self._sit_out_pause, then=self._take_shared)

    def _group(self, chat_id: object) -> _Lane | None:
        """The group budget for a group or channel chat (negative id or @name), else None."""
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if not self._group_rate:
            return None
        if isinstance(chat_id, str):
            key: int | str = chat_id
        elif isinstance(chat_id, int) and chat_id < 0:
            key = chat_id
        else:
            return None  # a private chat
        lane = self._groups.get(key)
        if lane is None:
            if len(self._groups) >= GROUP_LANES_KEPT:
                for old in [k for k, v in self._groups.items() if v.idle]:
                    del self._groups[old]
            lane = self._groups[key] = _Lane(self._group_rate, GROUP_PERIOD_S)
        return lane

    async def _sit_out_pause(self) -> None:
        loop = asyncio.get_running_loop()
        # A loop, not one sleep: another 429 may move the end of the pause meanwhile.
        while (left := self._paused_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    def _pause(self, exc: RetryAfter, endpoint: str) -> None:
        with warnings.catch_warnings():  # an int now, a timedelta in a later PTB
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            retry_after = exc.retry_after
        seconds = (
            retry_after.total_seconds()
            if isinstance(retry_after, timedelta)
            else float(retry_after)
        )
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds + RETRY_MARGIN_S)
        if self._shared is not None:
            self._tasks.spawn(self._shared.pause(seconds + RETRY_MARGIN_S))
        log.info("Telegram flood control on %s: every call waits %.1f s", endpoint, seconds)
