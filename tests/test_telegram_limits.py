"""The Telegram rate limiter on its own: callers that give up must not hold up the rest."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.telegram_limits import PriorityRateLimiter, SendPriority


async def test_cancelled_callers_do_not_block_the_ones_behind_them() -> None:
    limiter = PriorityRateLimiter(overall_per_second=1)  # one call now, the next in a second
    sent: list[str] = []

    async def call(name: str) -> bool:
        sent.append(name)
        return True

    def request(name: str, priority: SendPriority | None = None) -> asyncio.Task[Any]:
        data = {"chat_id": 42, "text": name}
        return asyncio.create_task(
            limiter.process_request(call, (name,), {}, "sendMessage", data, priority)
        )

    first = request("first")  # takes the second's only unit
    at_bucket = request("at bucket")  # waits there for the next unit, holding the gate
    queued = request("queued")  # waits at the gate
    urgent = request("urgent", SendPriority.EMERGENCY)
    await first
    assert sent == ["first"]
    at_bucket.cancel()
    queued.cancel()
    assert await urgent
    later = request("later")
    await later
    assert sent == ["first", "urgent", "later"]
    assert at_bucket.cancelled() and queued.cancelled()


async def test_waiting_calls_go_emergency_then_handoff_then_ordinary() -> None:
    limiter = PriorityRateLimiter(overall_per_second=10)  # ten at once, then one per 0.1 s
    sent: list[str] = []

    async def call(name: str) -> bool:
        sent.append(name)
        return True

    def request(name: str, priority: SendPriority | None = None) -> asyncio.Task[Any]:
        data = {"chat_id": 42, "text": name}
        return asyncio.create_task(
            limiter.process_request(call, (name,), {}, "sendMessage", data, priority)
        )

    burst = [request(f"burst {i}") for i in range(10)]
    await asyncio.gather(*burst)
    waiting = [
        request("at bucket"),  # holds the gate while it waits for the next unit
        request("ordinary"),
        request("handoff", SendPriority.HANDOFF),
        request("emergency", SendPriority.EMERGENCY),
    ]
    await asyncio.gather(*waiting)
    assert sent[10:] == ["at bucket", "emergency", "handoff", "ordinary"]
