"""careline's own Redis: the embedded server starts, serves, and keeps data across a restart."""

from __future__ import annotations

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
