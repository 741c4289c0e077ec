"""The web chat channel: a visitor's page posts messages and reads careline's replies from an
event stream (adapters/webchat/routes.py); this module is the channel's side of the contract.

``send`` puts an Outbound in the visitor's outbox in Redis (adapters/webchat/store.py) and
wakes the event streams reading it, here or on another replica (one pub/sub subscription per
process). A stream also looks at the outbox every ``KEEPALIVE_S`` seconds, so a wake-up lost
with a Redis connection delays a reply by that much at most, and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence

from aiohttp import web

from adapters.base import ChannelContext, FastHandler
from adapters.pubsub import follow
from adapters.webchat.settings import WebChatSettings
from adapters.webchat.spec import NAME
from adapters.webchat.store import TYPING, VisitorStore
from bot.aio import OwnedTasks
from bot.config import Settings
from bot.models import Inbound, Outbound

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 3
SEND_RETRY_S = 0.3


class Waiter:
    """One open event stream's wake-up: set when its visitor's outbox may have news."""

    def __init__(self) -> None:
        self.news = asyncio.Event()
        self.typing = False
        self.ended = False


class WebChatChannel:
    channel = NAME

    def __init__(self, settings: Settings, cfg: WebChatSettings) -> None:
        self.settings = settings
        self.cfg = cfg
        self.context: ChannelContext | None = None
        self.store: VisitorStore | None = None
        self.closing = False
        self._waiters: dict[str, set[Waiter]] = {}
        self._tasks = OwnedTasks()

    # ------------------------------------------------------------- the contract

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        from adapters.webchat.routes import WebChatRoutes

        return WebChatRoutes(self).routes()

    def fast_routes(self) -> Mapping[str, FastHandler]:
        return {}

    async def start(self, context: ChannelContext) -> None:
        self.context = context
        self.store = VisitorStore(context.redis, self.settings, self.cfg.webchat_visitor_days)
        self._tasks.spawn(self._listen(context))
        origins = ", ".join(sorted(self.cfg.origins)) or "none besides its own"
        log.info("web chat at /webchat/ (other sites allowed: %s)", origins)

    def end_streams(self) -> None:
        self.closing = True
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.ended = True
                waiter.news.set()

    async def drain(self) -> None:
        """Nothing waits here: a message is handed on before its POST is answered."""

    async def stop(self) -> None:
        self.end_streams()
        await self._tasks.stop("web chat")
        self.context = None

    async def send(self, out: Outbound) -> None:
        """Into the visitor's outbox (a few tries: a reply must not be lost to a blip)."""
        if self.store is None:
            raise RuntimeError("the web chat is not started")
        event = {
            "kind": out.kind.value,
            "text": out.text,
            "lang": out.lang,
            "buttons": [{"id": b.id, "label": b.label} for b in out.buttons],
        }
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.store.append(out.conversation_id, event)
                break
            except Exception:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(SEND_RETRY_S * attempt)
        self.wake(out.conversation_id)

    async def typing(self, msg: Inbound) -> None:
        """Show "typing…" on the visitor's open pages."""
        if self.store is None:
            return
        try:
            await self.store.announce_typing(msg.conversation_id)
        except Exception as exc:
            log.info("web chat typing notice failed (%s)", type(exc).__name__)

    # ------------------------------------------------------------- event streams

    @contextlib.contextmanager
    def waiting(self, vid: str) -> Iterator[Waiter]:
        """An open stream's registration for wake-ups."""
        waiter = Waiter()
        self._waiters.setdefault(vid, set()).add(waiter)
        try:
            yield waiter
        finally:
            waiters = self._waiters.get(vid)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[vid]

    def streams_open(self, vid: str | None = None) -> int:
        if vid is not None:
            return len(self._waiters.get(vid, ()))
        return sum(len(w) for w in self._waiters.values())

    def wake(self, vid: str, *, typing: bool = False) -> None:
        for waiter in self._waiters.get(vid, ()):
            waiter.typing = waiter.typing or typing
            waiter.news.set()

    async def _listen(self, context: ChannelContext) -> None:
        """Wake-ups from every replica's sends."""
        assert self.store is not None
        await follow(
            context.redis, self.store.wake_channel, self._on_wake, "web chat wake-ups", self._open
        )

    def _open(self) -> bool:
        return not self.closing

    def _on_wake(self, text: str) -> None:
        kind, _, vid = text.rpartition(":")
        self.wake(vid, typing=kind == TYPING)
