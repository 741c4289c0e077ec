"""careline's own Redis: the embedded server starts, serves, and keeps data across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.redis_conn import open_redis


async def test_embedded_redis_is_a_real_server(tmp_path: Path) -> None:
    handle = await open_redis(None, tmp_path)
    try:
        assert "embedded" in handle.description
        await handle.client.set("k", "v")
        info = await handle.client.info("server")
        assert info["redis_version"]
    finally:
        await handle.close()
    again = await open_redis(None, tmp_path)
    try:
        assert await again.client.get("k") == b"v"  # kept on disk across a restart
    finally:
        await again.close()


async def test_a_burst_larger_than_the_pool_waits_for_connections(tmp_path: Path) -> None:
    # Each BLPOP holds its connection for 50 ms; twenty at once with a pool of two would fail
    # at once with "too many connections" if the pool did not make them wait their turn.
    handle = await open_redis(None, tmp_path, max_connections=2)
    try:
        results = await asyncio.gather(
            *(handle.client.blpop([f"empty-{i}"], timeout=0.05) for i in range(20))
        )
        assert results == [None] * 20
        await handle.client.rpush("full", "x")
        assert await handle.client.blpop(["full"], timeout=1) == (b"full", b"x")
    finally:
        await handle.close()
