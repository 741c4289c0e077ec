"""What a messaging channel offers careline's server, and what the server gives it.

A channel turns platform payloads into ``Inbound`` messages (handing each to ``submit``) and
renders ``Outbound`` ones as platform calls (``send``). Its webhook routes are added when the
server is built; ``start`` runs once careline's runtime is up. At shutdown ``drain`` comes
first, while the pipeline still accepts messages (a channel that acknowledged a delivery
before handing it on hands it on now), then the pipeline finishes, then ``stop``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from aiohttp import web

from bot.config import Settings
from bot.front import FastHandler
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
    answers_at_intake: Callable[[Inbound], bool]
    """Whether ``submit`` will answer this message before it returns (an emergency: its
    reply needs no model). Channels that acknowledge deliveries before handing them on use
    it to keep such replies in the acknowledgement. Cheap and pure: no I/O."""


class ChannelAdapter(Protocol):
    channel: Channel

    def routes(self) -> Sequence[web.AbstractRouteDef]: ...

    def fast_routes(self) -> Mapping[str, FastHandler]:
        """POST routes the server's front may answer without aiohttp (see bot.front)."""
        ...

    async def start(self, context: ChannelContext) -> None: ...

    async def drain(self) -> None:
        """Hand on everything already acknowledged; called before the pipeline closes."""
        ...

    async def stop(self) -> None: ...

    async def send(self, out: Outbound) -> None: ...
