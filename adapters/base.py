"""What a messaging channel offers careline's server, and what the server gives it.

A channel turns platform payloads into ``Inbound`` messages (handing each to ``submit``) and
renders ``Outbound`` ones as platform calls (``send``). Its webhook routes are added when the
server is built; ``start`` runs once careline's runtime is up, ``stop`` at shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from aiohttp import web

from bot.config import Settings
from bot.models import Channel, Inbound, Outbound


@dataclass(frozen=True)
class ChannelContext:
    settings: Settings
    redis: aioredis.Redis
    submit: Callable[[Inbound], Awaitable[None]]
    """Hands a message to the pipeline; returns at once (after an emergency reply is sent)."""
    escalate: Callable[[str, str], Awaitable[None]]
    """Puts a conversation (its key, ``<channel>:<id>``) in front of staff, with a reason;
    for what only the channel knows (a platform refusing to deliver). Never raises."""
    held_by_staff: Callable[[str], Awaitable[bool]]
    """Whether a conversation is waiting for or held by staff."""


class ChannelAdapter(Protocol):
    channel: Channel

    def routes(self) -> Sequence[web.AbstractRouteDef]: ...

    async def start(self, context: ChannelContext) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, out: Outbound) -> None: ...
