"""The Telegram rate limiter on its own: callers that give up must not hold up the rest, and
waiting calls go out most urgent first."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from telegram.error import RetryAfter

from adapters.telegram.limits import PriorityRateLimiter, SendPriority, SharedBudget
from tests.support import eventually


class _Calls:
    """Bot API calls made through ``limiter``; ``sent`` is the order they went out in."""

    def __init__(self, limiter: PriorityRateLimiter) -> None:
        self.limiter = limiter
        self.sent: list[str] = []

    async def _call(self, name: str) -> bool:
        self.sent.append(name)
        return True

    def request(self, name: str, priority: SendPriority | None = None) -> asyncio.Task[Any]:
        data = {"chat_id": 42, "text": name}
        return asyncio.create_task(
            self.limiter.process_request(self._call, (name,), {}, "sendMessage", data, priority)
        )


async def test_cancelled_callers_do_not_block_the_ones_behind_them() -> None:
    calls = _Calls(PriorityRateLimiter(overall_per_second=1))  # one now, the next in a second
    first = calls.request("first")  # takes the second's only unit
    at_bucket = calls.request("at bucket")  # waits there for the next unit, holding the gate
    queued = calls.request("queued")  # waits at the gate
    urgent = calls.request("urgent", SendPriority.EMERGENCY)
    await first
    assert calls.sent == ["first"]
    at_bucket.cancel()
    queued.cancel()
    assert await urgent
    later = calls.request("later")
    await later
    assert calls.sent == ["first", "urgent", "later"]
    assert at_bucket.cancelled() and queued.cancelled()


async def test_waiting_calls_go_emergency_then_handoff_then_ordinary() -> None:
    calls = _Calls(PriorityRateLimiter(overall_per_second=10))  # ten at once, then one per 0.1 s
    await asyncio.gather(*(calls.request(f"burst {i}") for i in range(10)))
    waiting = [
        calls.request("at bucket"),  # holds the gate while it waits for the next unit
        calls.request("ordinary"),
        calls.request("handoff", SendPriority.HANDOFF),
        calls.request("emergency", SendPriority.EMERGENCY),
    ]
    await asyncio.gather(*waiting)
    assert calls.sent[10:] == ["at bucket", "emergency", "handoff", "ordinary"]


async def test_replicas_share_the_bots_budget_through_redis(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    """Two replicas' limiters, each allowing plenty, share a budget of 3 calls per 2 s in
    Redis: together they never have more than 3 calls out within one window, and every
    call goes out in the end."""
    replicas = []
    for _ in range(2):
        limiter = PriorityRateLimiter(overall_per_second=100)
        limiter.share(SharedBudget(redis_client, prefix, 3, period_s=2))
        replicas.append(_Calls(limiter))
    tasks = [calls.request(f"{n}-{i}") for n, calls in enumerate(replicas) for i in range(4)]
    await asyncio.sleep(0.5)  # a sample inside the first window, not a timing assertion
    assert 1 <= sum(len(calls.sent) for calls in replicas) <= 3
    await asyncio.gather(*tasks)
    assert sum(len(calls.sent) for calls in replicas) == 8


async def test_without_redis_each_replica_keeps_to_its_own_budget() -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = PriorityRateLimiter(overall_per_second=100)
    limiter.share(SharedBudget(dead, "careline-test-nowhere", 1))
    calls = _Calls(limiter)
    await asyncio.gather(*(calls.request(f"m{i}") for i in range(3)))
    assert calls.sent == ["m0", "m1", "m2"]
    await dead.aclose()


async def test_a_flood_pause_told_to_one_replica_holds_them_all(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    told = PriorityRateLimiter(overall_per_second=100, max_retries=1)
    told.share(SharedBudget(redis_client, prefix, 30))
    other = PriorityRateLimiter(overall_per_second=100)
    other.share(SharedBudget(redis_client, prefix, 30))
    refusals = [RetryAfter(2)]

    async def flooded(name: str) -> bool:
        if refusals:
            raise refusals.pop()
        return True

    data = {"chat_id": 42, "text": "x"}
    first = asyncio.create_task(
        told.process_request(flooded, ("a",), {}, "sendMessage", data, None)
    )
    await eventually(lambda: not refusals)  # Telegram said "retry after 2 s" to the first
    calls = _Calls(other)
    await eventually(lambda: _paused(redis_client, prefix))
    later = calls.request("from the other replica")
    await asyncio.sleep(0.5)  # a sample inside the pause, not a timing assertion
    assert calls.sent == []
    assert await first and await later
    assert calls.sent == ["from the other replica"]


async def _paused(redis_client: aioredis.Redis, prefix: str) -> bool:
    return bool(await redis_client.exists(f"{prefix}:telegram:flood-pause"))
