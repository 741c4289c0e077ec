"""Wiring of one careline process: Redis, the model client and the dispatcher, opened and
closed together in the right order."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from adapters.base import Sender
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.llm import LLMClient, make_llm
from bot.redis_conn import RedisHandle, open_redis


@dataclass
class Runtime:
    settings: Settings
    redis: RedisHandle
    llm: LLMClient
    dispatcher: Dispatcher
    senders: MutableMapping[str, Sender]


@asynccontextmanager
async def open_runtime(
    settings: Settings, senders: MutableMapping[str, Sender] | None = None
) -> AsyncIterator[Runtime]:
    """Start everything a careline process needs; channels add their senders to ``senders``."""
    import safety

    safety.warm_up()
    # The pinyin reader takes about a second to build: in the background, after start-up.
    threading.Thread(target=safety.warm_up_later, name="safety-warm-up", daemon=True).start()
    senders = senders if senders is not None else {}
    redis = await open_redis(settings.redis_url, settings.data_dir, settings.redis_max_connections)
    try:
        llm = make_llm(settings)
        try:
            dispatcher = Dispatcher(settings, redis.client, llm, senders)
            try:
                yield Runtime(settings, redis, llm, dispatcher, senders)
            finally:
                await dispatcher.aclose()
        finally:
            await llm.aclose()
    finally:
        await redis.close()


RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
"""Where the server keeps the running process's Runtime in its aiohttp application."""
