"""A channel that keeps what careline sends, for tests of the server and the staff console.

It plugs into ``build_app(settings, adapters=[...])`` like a real channel; ``submit`` hands a
patient's message to the running pipeline as a real channel's webhook would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence

from aiohttp import web

from adapters.base import ChannelContext
from bot.front import FastHandler
from bot.models import Inbound, InboundKind, Outbound

WAIT_S = 10.0


class RecordingChannel:
    def __init__(self, channel: str = "telegram") -> None:
        self.channel = channel
        self.sent: list[Outbound] = []
        self.failures = 0
        """The next this many sends are refused, as a platform answering 502 would."""
        self.context: ChannelContext | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return []

    def fast_routes(self) -> dict[str, FastHandler]:
        return {}

    async def start(self, context: ChannelContext) -> None:
        self.context = context

    async def drain(self) -> None:
        pass

    async def stop(self) -> None:
        self.context = None

    async def send(self, out: Outbound) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("502 from the platform")
        async with self._changed:
            self.sent.append(out)
            self._changed.notify_all()

    async def submit(
        self, conversation_id: str, text: str, kind: InboundKind = InboundKind.TEXT
    ) -> None:
        if self.context is None:
            raise RuntimeError("the channel is not started")
        await self.context.submit(
            Inbound(
                channel=self.channel,
                conversation_id=conversation_id,
                user_id=conversation_id,
                message_id=str(next(self._ids)),
                kind=kind,
                text=text,
            )
        )

    def to(self, conversation_id: str) -> list[Outbound]:
        return [o for o in self.sent if o.conversation_id == conversation_id]

    async def wait_for(self, check: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), WAIT_S)
