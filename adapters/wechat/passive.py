"""Answers that go back in the webhook's response: in passive mode (subscription accounts),
and an inline reply's repeat delivery in active mode.

Each passive delivery waits for the answer (up to ``CARELINE_WECHAT_PASSIVE_WAIT_S``), which
``send`` stores in Redis under the message it answers and announces on a pub/sub channel, so a
retry landing on another replica returns the same answer. An early delivery that times out
keeps the connection open until WeChat hangs up (that is what makes WeChat retry); the last
one says the answer is being prepared, and the answer is carried with the patient's next
message. One response holds what fits in WeChat's byte limit; the rest is carried over too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web

import prompts
from adapters.base import ChannelContext
from adapters.pubsub import follow
from adapters.wechat.store import StoredReply, WeChatStore
from adapters.wechat.text import (
    TEXT_LIMIT_BYTES,
    split_text,
    utf8_len,
    with_typed_choices,
)
from adapters.wechat.webhook import REDIS_ERRORS, fast, tag
from bot.config import Settings
from bot.models import Inbound, Outbound

log = logging.getLogger(__name__)

# WeChat hangs up after 5 s and retries; three deliveries in all.
WECHAT_DEADLINE_S = 5.0
WECHAT_DELIVERIES = 3
# An early delivery without its answer is held open past WeChat's deadline, so that WeChat
# retries; if WeChat is somehow still there after this long, it is treated as the last.
HOLD_MAX_S = WECHAT_DEADLINE_S + 1.0
HOLD_POLL_S = 0.05
# Waiters re-read Redis this often even without a pub/sub notice (a lost notice costs this).
WAIT_POLL_S = 0.5
SEGMENT_SEP = "\n\n"


def _guess_lang(text: str, default: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return default


async def hold(request: web.Request, until: float) -> bool:
    """Keep the connection open until WeChat hangs up (True) or ``until`` (False)."""
    while time.monotonic() < until:
        transport = request.transport
        if transport is None or transport.is_closing():
            return True
        await asyncio.sleep(HOLD_POLL_S)
    return False


class PassiveReplies:
    """Replies kept in Redis for the deliveries that return them, and the waiting for them
    (see the module docstring)."""

    def __init__(
        self,
        context: ChannelContext,
        store: WeChatStore,
        settings: Settings,
        *,
        wait_s: float,
        hold_s: float,
    ) -> None:
        self._ctx = context
        self.store = store
        self.settings = settings
        self._wait_s = wait_s
        self._hold_s = hold_s
        # Passive waiters in this process, by message id.
        self._waiters: dict[str, set[asyncio.Event]] = {}

    async def reply(
        self, msg: Inbound, request: web.Request, arrived: float, delivery: int
    ) -> str | None:
        own, carried = await self._wait_for_reply(msg.message_id, arrived + self._wait_s)
        if own:
            await fast(self.store.close(msg.message_id), "close")
            return await self._finish(msg, own, carried, None)
        if delivery < WECHAT_DELIVERIES and await hold(request, arrived + self._hold_s):
            return None  # WeChat hung up and will deliver again; nobody reads this
        try:
            own = self.store.open(await self.store.close(msg.message_id))
        except REDIS_ERRORS:
            own = []
        notice = (
            None if own else self.settings.hospital.render("wechat_answer_pending", self.lang(msg))
        )
        log.info(
            "WeChat answer not ready by the last delivery conv=%s: it comes with the next message",
            tag(msg.conversation_id),
        )
        return await self._finish(msg, own, carried, notice)

    async def _finish(
        self, msg: Inbound, own: list[StoredReply], carried: list[StoredReply], notice: str | None
    ) -> str:
        text, overflow = self.compose(own, carried, msg, notice)
        if overflow:
            await self.carry_over(msg.conversation_id, overflow)
        return text

    async def carry_over(self, openid: str, overflow: list[StoredReply]) -> None:
        try:
            await self.store.carry_over(openid, [self.store.seal(r) for r in overflow])
        except REDIS_ERRORS as exc:
            log.error("WeChat reply remainder lost conv=%s (%s)", tag(openid), type(exc).__name__)

    def lang(self, msg: Inbound) -> str:
        if msg.language in ("zh", "en"):
            return msg.language
        return _guess_lang(msg.text, self.settings.default_language)

    def compose(
        self,
        own: list[StoredReply],
        carried: list[StoredReply],
        msg: Inbound,
        notice: str | None,
    ) -> tuple[str, list[StoredReply]]:
        """One passive reply (earlier answers first), cut at WeChat's byte limit; the rest is
        returned to be carried with the next message."""
        own = [r for r in own if r.text]  # an empty reply only says "nothing to answer"
        carried = [r for r in carried if r.text]
        lang = own[0].lang if own else self.lang(msg)
        segments: list[str] = []
        if carried:
            segments.append(prompts.load("wechat_earlier_answer", carried[0].lang))
            segments.extend(r.text for r in carried)
        segments.extend(r.text for r in own)
        if notice:
            segments.append(notice)
        text = SEGMENT_SEP.join(segments)
        if utf8_len(text) <= TEXT_LIMIT_BYTES:
            return text, []
        continued = prompts.load("wechat_continued", lang)
        room = TEXT_LIMIT_BYTES - utf8_len(SEGMENT_SEP + continued)
        first, *rest = split_text(text, room)
        return first + SEGMENT_SEP + continued, [StoredReply(SEGMENT_SEP.join(rest), lang)]

    async def _wait_for_reply(
        self, message_id: str, deadline: float
    ) -> tuple[list[StoredReply], list[StoredReply]]:
        """This message's replies once there are any (or none by ``deadline``), and the
        earlier answers it carries."""
        event = asyncio.Event()
        self._waiters.setdefault(message_id, set()).add(event)
        carried: list[StoredReply] = []
        try:
            while True:
                event.clear()
                try:
                    own_raw, carried_raw = await self.store.replies(message_id)
                except REDIS_ERRORS as exc:
                    log.warning("WeChat reply read failed (%s)", type(exc).__name__)
                    own_raw, carried_raw = [], []
                carried = self.store.open(carried_raw)
                if own_raw:
                    return self.store.open(own_raw), carried
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], carried
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, WAIT_POLL_S))
        finally:
            waiters = self._waiters.get(message_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[message_id]

    def notify(self, message_id: str) -> None:
        for event in self._waiters.get(message_id, ()):
            event.set()

    async def listen(self) -> None:
        """Wake this process's waiters when any replica stores a reply."""
        await follow(self._ctx.redis, self.store.ready_channel, self.notify, "WeChat reply notices")

    async def remember_inline(self, out: Outbound, timeout_s: float) -> None:
        """Keep an inline reply so that a repeat delivery returns it too."""
        reply = StoredReply(with_typed_choices(out.text, out.buttons, out.lang), out.lang)
        try:
            await asyncio.wait_for(
                self.store.store_reply(out.reply_to, out.conversation_id, self.store.seal(reply)),
                timeout_s,
            )
        except REDIS_ERRORS as exc:
            log.info("WeChat inline reply not kept (%s)", type(exc).__name__)

    async def store_passive(self, out: Outbound) -> None:
        reply = StoredReply(with_typed_choices(out.text, out.buttons, out.lang), out.lang)
        stored = await self.store.store_reply(
            out.reply_to, out.conversation_id, self.store.seal(reply)
        )
        if stored and out.reply_to:
            self.notify(out.reply_to)
        elif not stored:
            log.info("WeChat answer kept for the next message conv=%s", tag(out.conversation_id))
