"""The WeChat Official Account channel: webhook in, customer-service API or passive reply out.

Receiving (``/wechat``, read in ``webhook.py``): WeChat delivers a message up to three times
(5 s apart when unanswered); a counter in Redis makes the first delivery, on any replica, the
only one handed to the pipeline. A delivery is acknowledged only once its message is stored
in the intake stream (bot.stream); when it cannot be stored, the webhook answers 503 and
WeChat delivers it again.

Answering, by ``CARELINE_WECHAT_REPLY_MODE``:

- ``active`` (verified service accounts): the webhook answers ``success`` as soon as the
  message is stored (the deliveries of a burst are counted and stored together, in one
  round trip) and the answer goes out through the customer-service API, with handoff
  choices as a ``msgmenu`` (``active.py``).
- ``passive`` (subscription accounts): each delivery waits for the answer, which ``send``
  stores in Redis; a retry on any replica returns it (``passive.py``). When careline will
  not answer at all (``no_reply``), the delivery says ``success`` at once.

In both modes a reply produced while ``submit`` runs (an emergency: it needs no model) is
returned in the webhook response of the first delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence

import aiohttp
from aiohttp import web

from adapters.base import ChannelContext, FastAnswer, FastHandler, NotAccepted
from adapters.wechat.active import send_active
from adapters.wechat.api import TokenManager, TypingCommand, WeChatAPI
from adapters.wechat.passive import HOLD_MAX_S, PassiveReplies
from adapters.wechat.settings import WeChatSettings
from adapters.wechat.spec import NAME
from adapters.wechat.store import StoredReply, WeChatStore
from adapters.wechat.text import with_typed_choices
from adapters.wechat.webhook import (
    REDIS_ERRORS,
    REDIS_FAST_S,
    RETRY_LATER,
    SUCCESS,
    SUCCESS_BYTES,
    TRANSFER,
    WEBHOOK_PATH,
    BadSignature,
    WebhookCodec,
    fast,
    tag,
)
from adapters.wechat.webhook import parse_wechat as parse_wechat
from bot.aio import OwnedTasks, stop_tasks
from bot.config import Settings
from bot.models import (
    ButtonId,
    EventName,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
)

log = logging.getLogger(__name__)

# Active mode: deliveries waiting to be counted and stored, worked off by one task: what
# queued up while it waited on Redis is counted and stored in one round trip, then
# acknowledged together (bench/wechat_ack.py).
# Deliveries counted and stored together, at most, when a burst has queued them up.
INTAKE_BATCH = 64
# At shutdown, how long deliveries waiting to be stored may take.
DRAIN_S = 5.0
INLINE_STORE_TIMEOUT_S = 2.0
# How long a delivery waits for Redis to store it before WeChat is told to try again (WeChat
# gives up on a response after 5 s). A slow Redis delays; it never duplicates: a delivery
# it counted is one it stored.
STORE_WAIT_S = 4.0
# How long a transferred message's own notices are held back (its lane answers well within).
TRANSFER_MEMORY_S = 600.0


class WeChatChannel:
    """careline's WeChat Official Account channel (see the module docstring)."""

    channel = NAME

    def __init__(
        self,
        settings: Settings,
        *,
        passive_wait_s: float | None = None,
        hold_max_s: float = HOLD_MAX_S,
    ) -> None:
        cfg = self.cfg = settings.channel(WeChatSettings)
        if cfg.wechat_token is None:
            raise ValueError("the WeChat channel needs CARELINE_WECHAT_TOKEN")
        self.settings = settings
        self.passive = cfg.wechat_reply_mode == "passive"
        self._token = cfg.wechat_token.get_secret_value()
        self._wait_s = cfg.wechat_passive_wait_s if passive_wait_s is None else passive_wait_s
        self._hold_s = max(hold_max_s, self._wait_s)
        self._webhook = WebhookCodec(settings, cfg, self._token)
        self._ctx: ChannelContext | None = None
        self._store: WeChatStore | None = None
        self._replies: PassiveReplies | None = None
        self._session: aiohttp.ClientSession | None = None
        self.api: WeChatAPI | None = None
        self._tasks = OwnedTasks()
        # Deliveries waiting to be counted and stored (active mode), each with the future its
        # acknowledgement waits on; and whether shutdown has begun (then every delivery takes
        # the full route, and is refused).
        self._intake: asyncio.Queue[tuple[Inbound, asyncio.Future[bytes | None]]] = asyncio.Queue()
        self._intake_workers: list[asyncio.Task[None]] = []
        self._draining = False
        self._listener: asyncio.Task[None] | None = None
        # Replies produced while a webhook handler is inside ``submit``, by message id.
        self._inline: dict[str, list[Outbound]] = {}
        # Messages handed to WeChat's customer-service staff (transfer), with when.
        self._transferred: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.get(WEBHOOK_PATH, self._webhook.verify), web.post(WEBHOOK_PATH, self._receive)]

    async def start(self, context: ChannelContext) -> None:
        self._ctx = context
        self._store = WeChatStore(context.redis, self.settings)
        self._replies = PassiveReplies(
            context, self._store, self.settings, wait_s=self._wait_s, hold_s=self._hold_s
        )
        self._session = aiohttp.ClientSession()
        secret = self.cfg.wechat_app_secret
        if secret is not None and self.cfg.wechat_app_id:
            tokens = TokenManager(
                context.redis,
                self.settings.redis_prefix,
                self.cfg.wechat_app_id,
                secret.get_secret_value(),
                self.cfg.wechat_api_base,
                self._session,
            )
            self.api = WeChatAPI(tokens, self.cfg.wechat_api_base, self._session)
        elif not self.passive:
            log.error(
                "WeChat active mode needs CARELINE_WECHAT_APP_ID and CARELINE_WECHAT_APP_SECRET;"
                " answers cannot be sent and chats will be put in front of staff"
            )
        if self.passive:
            self._listener = asyncio.create_task(self._replies.listen())
        else:
            self._intake_workers = [asyncio.create_task(self._intake_worker())]
        log.info(
            "WeChat channel ready at %s (%s mode)",
            WEBHOOK_PATH,
            "passive" if self.passive else "active",
        )

    async def drain(self) -> None:
        """Store (and acknowledge) the deliveries waiting for it, before the pipeline
        closes."""
        self._draining = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settle(), DRAIN_S)

    async def settle(self) -> None:
        """Wait until every delivery waiting to be stored has been."""
        if self._intake_workers:
            await self._intake.join()

    async def stop(self) -> None:
        self._draining = True
        await stop_tasks([*self._intake_workers, *self._tasks, self._listener], "WeChat channel")
        self._listener = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def store(self) -> WeChatStore:
        if self._store is None:
            raise RuntimeError("the WeChat channel is not started")
        return self._store

    @property
    def replies(self) -> PassiveReplies:
        if self._replies is None:
            raise RuntimeError("the WeChat channel is not started")
        return self._replies

    @property
    def context(self) -> ChannelContext:
        if self._ctx is None:
            raise RuntimeError("the WeChat channel is not started")
        return self._ctx

    # -------------------------------------------------------------------- webhook

    def fast_routes(self) -> dict[str, FastHandler]:
        return {WEBHOOK_PATH: self._acknowledge_at_once}

    def _acknowledge_at_once(
        self, query_string: str, headers: Mapping[bytes, bytes], body: bytes
    ) -> FastAnswer:
        """``POST /wechat`` without aiohttp (bot.front): ``success`` once the message is
        stored, for a delivery that active mode acknowledges before the rest of the work,
        exactly as ``_receive`` would acknowledge it. Every other delivery (a bad signature,
        an unreadable body, a reply to give, passive mode, one Redis would not store) gets
        None and takes ``_receive``, which answers it."""
        if self._ctx is None or self.passive or self._draining:
            return None
        mapped = self._webhook.fast_inbound(query_string, body)
        if mapped is None or not self._acknowledge_first(mapped):
            return None
        return self._store_soon(mapped)

    def _store_soon(self, msg: Inbound) -> asyncio.Future[bytes | None]:
        """Queue the delivery to be counted and stored; the future says ``success`` once it
        is (or it is a repeat), None when it could not be."""
        stored: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._intake.put_nowait((msg, stored))
        return stored

    async def _receive(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if not self._webhook.signed(request.query):
            log.warning("WeChat message with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("WeChat message refused: body too large")
            raise
        try:
            message, encrypted = self._webhook.read(request.query, body)
        except BadSignature:
            log.warning("WeChat message with a bad msg_signature refused")
            return web.Response(status=403, text="bad signature")
        except Exception as exc:
            log.warning("WeChat message refused: unreadable body (%s)", type(exc).__name__)
            return web.Response(status=400, text="malformed message")
        try:
            mapped = self._webhook.to_inbound(message)
        except ValueError as exc:  # a field WeChat would never send (pydantic refused it)
            log.warning("WeChat message not understood (%s)", type(exc).__name__)
            mapped = None
        if mapped is None or isinstance(mapped, str):
            return self._webhook.respond(message, mapped, encrypted)
        if self._acknowledge_first(mapped):
            if await self._store_soon(mapped) is None:
                return self._webhook.respond(message, RETRY_LATER, encrypted)
            return web.Response(text=SUCCESS)
        reply = await self._handle(mapped, request, arrived)
        return self._webhook.respond(message, reply, encrypted)

    def _acknowledge_first(self, msg: Inbound) -> bool:
        """Active mode says ``success`` once the message is stored, before the rest of the
        work, unless the acknowledgement itself must carry something: an emergency reply, or
        a transfer to WeChat's customer service."""
        return not (
            self.passive
            or self._draining
            or self.cfg.wechat_transfer_customer_service
            or self.context.answers_at_intake(msg)
        )

    async def _intake_worker(self) -> None:
        """Counts and stores waiting deliveries, a batch per Redis round trip: a burst of
        deliveries is read first, then stored together, then acknowledged together."""
        while not self._draining or not self._intake.empty():
            batch = [await self._intake.get()]
            while len(batch) < INTAKE_BATCH and not self._intake.empty():
                batch.append(self._intake.get_nowait())
            try:
                await self._take(batch)
            finally:
                for _, stored in batch:
                    if not stored.done():
                        stored.set_result(None)
                    self._intake.task_done()

    async def _take(self, batch: list[tuple[Inbound, asyncio.Future[bytes | None]]]) -> None:
        """Count each delivery and store the first one of each message (on any replica) in
        the intake stream, in one round trip; then acknowledge them."""
        # the same "stored once" key as the full route's (_submit, _handle): whichever way a
        # message's deliveries come, it is stored once
        deliveries = [(msg, self.store.stored_key(msg.message_id)) for msg, _ in batch]
        try:
            counts = await asyncio.wait_for(self.context.submit_first(deliveries), STORE_WAIT_S)
        except (NotAccepted, TimeoutError) as exc:
            log.warning(
                "WeChat: %d deliveries not stored (%s): WeChat is asked to deliver them again",
                len(batch),
                type(exc).__name__,
            )
            return
        for _, stored in batch:
            if not stored.done():
                stored.set_result(SUCCESS_BYTES)
        # The patient wrote: WeChat's allowance of customer-service messages starts again.
        wrote = {
            msg.conversation_id
            for (msg, _), count in zip(batch, counts, strict=True)
            if count == 1 and (msg.kind is not InboundKind.EVENT or msg.text == EventName.SUBSCRIBE)
        }
        if wrote:
            await fast(self.store.restart_allowance(sorted(wrote)), "quota restart")

    # ------------------------------------------------------------------- handling

    async def _handle(self, msg: Inbound, request: web.Request, arrived: float) -> str | None:
        openid = msg.conversation_id
        expects_reply = not (msg.kind is InboundKind.EVENT and msg.text == EventName.UNSUBSCRIBE)
        carry = self.passive and expects_reply
        # Messages, subscriptions and menu clicks open WeChat's 48-hour window.
        interaction = not self.passive and (
            msg.kind is not InboundKind.EVENT or msg.text == EventName.SUBSCRIBE
        )
        delivery = await self._arrive(msg.message_id, openid, carry, interaction)
        transfer = False
        if delivery == 1:
            transfer = await self._should_transfer(msg)
            inline, refused = await self._submit(msg)
            if refused:
                return RETRY_LATER
            if inline:
                return await self._inline_reply(msg, inline)
            if transfer:
                return TRANSFER
        else:
            if not self.context.answers_at_intake(msg):
                # A repeat delivery: the process that counted the first may have died before
                # storing the message. Stored now if it was not (once, however many replicas
                # try).
                try:
                    await self.context.submit_first([(msg, self.store.stored_key(msg.message_id))])
                except NotAccepted:
                    return RETRY_LATER
            if not self.passive:
                # The answer is on its way through the API, unless it was an inline reply
                # (the first response got lost): then that again.
                stored = await fast(self.store.replies(msg.message_id), "replies read")
                if stored and stored[0]:
                    return self.replies.compose(self.store.open(stored[0]), [], msg, None)[0]
                return None
        if not self.passive or not expects_reply:
            return None
        return await self.replies.reply(msg, request, arrived, delivery)

    async def _arrive(self, message_id: str, openid: str, carry: bool, interaction: bool) -> int:
        """Which delivery this is (1 = the first, on any replica); 1 if Redis cannot say."""
        try:
            return await asyncio.wait_for(
                self.store.arrive(message_id, openid, carry=carry, interaction=interaction),
                REDIS_FAST_S,
            )
        except REDIS_ERRORS as exc:
            log.warning(
                "WeChat de-duplication unavailable (%s): handling conv=%s as new",
                type(exc).__name__,
                tag(openid),
            )
            return 1

    async def _submit(self, msg: Inbound) -> tuple[list[Outbound], bool]:
        """Hand the message on; returns replies made meanwhile and whether it was refused."""
        if self._ctx is None:
            raise RuntimeError("the WeChat channel is not started")
        captured: list[Outbound] = []
        self._inline[msg.message_id] = captured
        try:
            if self._ctx.answers_at_intake(msg):
                await self._ctx.submit(msg)  # an emergency: its reply rides in this response
            else:  # stored once, whichever delivery stores it (see _handle)
                await self._ctx.submit_first([(msg, self.store.stored_key(msg.message_id))])
        except NotAccepted as exc:
            # Shutting down, or Redis unavailable: let WeChat deliver again (perhaps to
            # another replica).
            log.warning(
                "WeChat message not accepted (%s): WeChat will deliver it again", type(exc).__name__
            )
            await fast(self.store.forget_delivery(msg.message_id), "claim release")
            return captured, True
        finally:
            self._inline.pop(msg.message_id, None)
        return captured, False

    async def _inline_reply(self, msg: Inbound, inline: list[Outbound]) -> str:
        replies = [
            StoredReply(with_typed_choices(o.text, o.buttons, o.lang), o.lang) for o in inline
        ]
        carried: list[StoredReply] = []
        if self.passive:
            stored = await fast(self.store.replies(msg.message_id), "replies read")
            if stored:
                carried = self.store.open(stored[1])
        text, overflow = self.replies.compose(replies, carried, msg, None)
        if overflow:
            self._tasks.spawn(self.replies.carry_over(msg.conversation_id, overflow))
        return text

    async def _should_transfer(self, msg: Inbound) -> bool:
        """Transfer to WeChat's own customer-service staff: when asked for, and chats already
        waiting for or held by staff."""
        if not self.cfg.wechat_transfer_customer_service or msg.kind is InboundKind.EVENT:
            return False
        transfer = msg.kind is InboundKind.BUTTON and msg.text == ButtonId.HUMAN
        if not transfer:
            transfer = bool(await fast(self.context.held_by_staff(msg.key), "handoff read"))
        if transfer:
            now = time.monotonic()
            self._transferred = {
                k: t for k, t in self._transferred.items() if now - t < TRANSFER_MEMORY_S
            }
            self._transferred[msg.message_id] = now
            # and for the worker that handles the message, on whichever replica
            await fast(self.store.mark_transferred(msg.message_id, TRANSFER_MEMORY_S), "transfer")
        return transfer

    async def _was_transferred(self, message_id: str | None) -> bool:
        if message_id is None or not self.cfg.wechat_transfer_customer_service:
            return False
        if message_id in self._transferred:
            return True
        return bool(await fast(self.store.transferred(message_id), "transfer read"))

    # ---------------------------------------------------------------------- send

    async def send(self, out: Outbound) -> None:
        """Deliver one reply: into the webhook response being prepared, into Redis for a
        passive delivery, or through the customer-service API."""
        inline = self._inline.get(out.reply_to) if out.reply_to else None
        if inline is not None:
            inline.append(out)
            if self.passive:
                # Stored too, for a repeat delivery that lands elsewhere; never a long wait.
                await self.replies.remember_inline(out, REDIS_FAST_S)
            else:
                self._tasks.spawn(self.replies.remember_inline(out, INLINE_STORE_TIMEOUT_S))
            return
        if out.kind is not OutboundKind.EMERGENCY and await self._was_transferred(out.reply_to):
            log.info("WeChat notice not sent: chat transferred conv=%s", tag(out.conversation_id))
            return
        if self.passive:
            await self.replies.store_passive(out)
        else:
            await send_active(self.api, self.store, self.context, out)

    async def no_reply(self, msg: Inbound) -> None:
        """careline sends nothing in answer to ``msg``: in passive mode an empty reply is
        stored for it, so the delivery waiting for the answer (on any replica) says
        ``success`` at once instead of holding WeChat through three deliveries."""
        if not self.passive or msg.channel != NAME:
            return
        nothing = self.store.seal(StoredReply("", self.replies.lang(msg)))
        try:
            if await self.store.store_reply(msg.message_id, msg.conversation_id, nothing):
                self.replies.notify(msg.message_id)
        except REDIS_ERRORS as exc:
            log.warning("WeChat no-reply mark not stored (%s)", type(exc).__name__)

    async def typing(self, msg: Inbound) -> None:
        """Show 'typing' while the model works (active mode; passive has no such call)."""
        if self.passive or self.api is None:
            return
        await self.api.typing(msg.conversation_id, TypingCommand.TYPING)
