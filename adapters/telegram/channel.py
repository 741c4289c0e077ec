"""The Telegram channel: python-telegram-bot's objects in, Bot API calls out.

Updates arrive on ``POST /telegram/webhook`` (or, for development, by long polling). The
webhook checks the secret header in constant time and queues the update for the intake
workers (emergencies first), which drop redeliveries (by ``update_id``, in Redis), read the
patient's chosen language, map the update to ``Inbound`` messages and store them in the
intake stream (bot.stream); the webhook answers 200 once they are stored, and 503 when they
could not be (Telegram then delivers the update again). In polling mode the offset moves
past an update only once it is stored.

Mapping updates to ``Inbound`` messages is ``parse.py``'s. Sending is ``send.py``'s: through
``PriorityRateLimiter`` (adapters/telegram/limits.py), emergency replies first, as escaped
HTML split at Telegram's limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import FloodLimit, UpdateType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from adapters.base import (
    ChannelContext,
    FastAnswer,
    FastHandler,
    NotAccepted,
    StaffAlerts,
    Undelivered,
)
from adapters.telegram.limits import PriorityRateLimiter, SendPriority, SharedBudget
from adapters.telegram.parse import LANGUAGE_LABELS, Parsed, parse_update, urgency_probe
from adapters.telegram.send import TelegramSender
from adapters.telegram.send import chat_tag as chat_tag
from adapters.telegram.send import draft_id as draft_id
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.spec import NAME
from bot.aio import OwnedTasks, stop_tasks
from bot.config import Settings
from bot.models import Button, Inbound, Outbound, OutboundKind, conversation_key

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_HEADER_KEY = SECRET_HEADER.lower().encode()
# The update types careline acts on; my_chat_member tells us a patient blocked the bot, so
# their history is erased as it is when a WeChat patient unfollows.
ALLOWED_UPDATES: tuple[str, ...] = (
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.CALLBACK_QUERY,
    UpdateType.MY_CHAT_MEMBER,
)

# Redis: one round trip per update (seen? + chosen language), bounded so that an emergency
# never waits on a slow or absent Redis.
REDIS_TIMEOUT_S = 0.5
# Round trips in flight at once: a burst of updates must not take every connection of the
# shared pool (redis-py's default is 100) from the dispatcher and the staff console.
REDIS_CONCURRENCY = 16
UPDATE_SEEN_TTL_S = 24 * 3600  # Telegram keeps undelivered updates for up to 24 hours
LANGUAGE_CHOICE_TTL_S = 365 * 24 * 3600

RETRY_AFTER_RETRIES = 2  # the rate limiter waits retry_after, then tries again this often
START_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0
MAX_PENDING_UPDATES = 1000  # beyond this the webhook answers 503 and Telegram redelivers
# Acknowledged updates are worked off by this many tasks, emergencies first. Few enough that
# a burst of deliveries is acknowledged before the event loop turns to them; enough that a
# slow Bot API call (a notice, a callback answer) does not hold up the others for long.
INTAKE_WORKERS = 16

POLL_TIMEOUT_S = 25  # getUpdates long-poll timeout
POLL_BACKOFF_S = 1.0
POLL_BACKOFF_MAX_S = 30.0


def make_bot(settings: Settings) -> ExtBot[SendPriority]:
    """PTB's bot for this configuration: its API root, and the flood-limit rate limiter."""
    cfg = settings.channel(TelegramSettings)
    if cfg.telegram_token is None:
        raise ValueError("CARELINE_TELEGRAM_TOKEN is not set")
    base = cfg.telegram_api_base
    return ExtBot(
        cfg.telegram_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        rate_limiter=PriorityRateLimiter(max_retries=RETRY_AFTER_RETRIES),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )


def _undeliverable_reason(exc: TelegramError) -> str:
    """The staff queue's reason for a reply Telegram did not take."""
    if isinstance(exc, Forbidden):
        return "telegram_blocked"
    if isinstance(exc, RetryAfter):
        return "telegram_flood_limit"
    if isinstance(exc, BadRequest):
        return "telegram_bad_request"
    if isinstance(exc, NetworkError):
        return "telegram_unavailable"
    return "telegram_error"


def _keep_library_logs_private() -> None:
    """PTB logs every request's parameters (patient text) at DEBUG: never let it."""
    library = logging.getLogger("telegram")
    if library.getEffectiveLevel() < logging.INFO:
        library.setLevel(logging.INFO)


class TelegramChannel:
    """careline's Telegram bot: webhook (or polling) in, Bot API calls out."""

    channel = NAME

    def __init__(self, settings: Settings, bot: ExtBot[SendPriority] | None = None) -> None:
        self.settings = settings
        self.cfg = settings.channel(TelegramSettings)
        self.hospital = settings.hospital
        self.bot = bot if bot is not None else make_bot(settings)
        secret = self.cfg.telegram_webhook_secret
        self._secret = (
            secret.get_secret_value().encode() if secret and secret.get_secret_value() else None
        )
        self._polling = self.cfg.telegram_polling
        self._context: ChannelContext | None = None
        self._tasks = OwnedTasks()
        # (0 for an emergency else 1, arrival number, update as JSON or as PTB's object,
        # the future its acknowledgement waits on): emergencies are handed on first.
        self._intake: asyncio.PriorityQueue[
            tuple[int, int, dict[str, Any] | Update, asyncio.Future[bytes | None]]
        ] = asyncio.PriorityQueue()
        self._arrivals = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._drained = False
        self._sender = TelegramSender(self.bot, self.hospital)
        self._redis_slots = asyncio.Semaphore(REDIS_CONCURRENCY)
        _keep_library_logs_private()

    # ------------------------------------------------------------ lifecycle

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [] if self._polling else [web.post(WEBHOOK_PATH, self._webhook)]

    def fast_routes(self) -> dict[str, FastHandler]:
        return {} if self._polling else {WEBHOOK_PATH: self._acknowledge_at_once}

    async def start(self, context: ChannelContext) -> None:
        self._context = context
        self._sender.share(context.redis, self.settings.redis_prefix)
        limiter = self.bot.rate_limiter
        if isinstance(limiter, PriorityRateLimiter):
            # the bot's flood limit holds for all replicas together
            limiter.share(
                SharedBudget(
                    context.redis, self.settings.redis_prefix, FloodLimit.MESSAGES_PER_SECOND
                )
            )
        self._workers = [asyncio.create_task(self._intake_worker()) for _ in range(INTAKE_WORKERS)]
        try:
            await asyncio.wait_for(self.bot.initialize(), START_TIMEOUT_S)
        except InvalidToken:
            log.error("Telegram refused the bot token: check CARELINE_TELEGRAM_TOKEN")
        except (TelegramError, TimeoutError) as exc:
            log.error(
                "Telegram Bot API not reachable at %s (%s); sending will be retried per message",
                self.cfg.telegram_api_base,
                type(exc).__name__,
            )
        if self._polling:
            self._poller = asyncio.create_task(self._poll())
            log.info("Telegram: long polling for updates (development mode)")
        elif self._secret is None:
            log.error(
                "CARELINE_TELEGRAM_WEBHOOK_SECRET is not set: %s refuses every update",
                WEBHOOK_PATH,
            )

    async def drain(self) -> None:
        """Take no more updates; hand on those already acknowledged (bounded in time)."""
        await stop_tasks([self._poller], "Telegram polling")
        self._poller = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settle(), STOP_GRACE_S)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_GRACE_S)
        self._drained = True

    async def settle(self) -> None:
        """Wait until every acknowledged update has been handled (tests, shutdown)."""
        if self._workers:
            await self._intake.join()
        await self._tasks.finish()

    async def stop(self) -> None:
        if not self._drained:
            await self.drain()
        await stop_tasks([*self._workers, *self._tasks], "Telegram channel")
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    # -------------------------------------------------------------- intake

    def _acknowledge_at_once(
        self, query: str, headers: Mapping[bytes, bytes], body: bytes
    ) -> FastAnswer:
        """The webhook without aiohttp (bot.front): the same checks as ``_webhook``, and the
        same empty 200 once an update it accepts is stored; None for anything ``_webhook``
        would refuse (it then answers, with its status and reason), before the channel has
        started, or when the update could not be stored (``_webhook`` then says 503)."""
        if self._secret is None or not self._workers:
            return None
        if not hmac.compare_digest(headers.get(SECRET_HEADER_KEY, b""), self._secret):
            return None
        if self._intake.qsize() + len(self._tasks) >= MAX_PENDING_UPDATES:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return self._accept(data)

    async def _webhook(self, request: web.Request) -> web.Response:
        """Validate, hand on, answer: nothing slow happens before the 200."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            return web.Response(status=403, text="forbidden: wrong or missing secret token\n")
        if self._intake.qsize() + len(self._tasks) >= MAX_PENDING_UPDATES:
            return web.Response(status=503, text="busy, deliver again later\n")
        raw = await request.read()  # over client_max_size: aiohttp answers 413
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="malformed update\n")
        # PTB's objects are built by the worker that handles the update.
        if await self._accept(data) is None:
            return web.Response(status=503, text="not stored, deliver again later\n")
        return web.Response(status=200)

    async def _poll(self) -> None:
        """getUpdates long polling: the development alternative to the webhook."""
        offset: int | None = None
        backoff = POLL_BACKOFF_S
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES
                )
            except InvalidToken:
                log.error("Telegram refused the bot token: polling stopped")
                return
            except TelegramError as exc:  # Conflict (a webhook or another poller), network...
                log.warning(
                    "getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, POLL_BACKOFF_MAX_S)
                continue
            backoff = POLL_BACKOFF_S
            # the offset (what Telegram forgets) moves past an update once it is stored
            stored = await asyncio.gather(*(self._accept(update) for update in updates))
            for update, answer in zip(updates, stored, strict=True):
                if answer is None:
                    await asyncio.sleep(backoff)
                    break
                offset = update.update_id + 1

    def _accept(self, item: dict[str, Any] | Update) -> asyncio.Future[bytes | None]:
        """Queue an update (its JSON from the webhook, or PTB's object from polling) for the
        workers, emergencies first (without workers, not started, in a task of its own). The
        future says b"" once it is stored (or needs nothing stored), None when it could not
        be."""
        stored: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        if not self._workers:
            self._tasks.spawn(self._take_then(item, stored))
            return stored
        rank = 0 if self._urgent(item) else 1
        self._intake.put_nowait((rank, next(self._arrivals), item, stored))
        return stored

    async def _take_then(
        self, item: dict[str, Any] | Update, stored: asyncio.Future[bytes | None]
    ) -> None:
        ok = False
        try:
            ok = await self._take(item)
        finally:
            if not stored.done():
                stored.set_result(b"" if ok else None)

    def _urgent(self, item: dict[str, Any] | Update) -> bool:
        """Whether the pipeline will answer this update at intake (an emergency), judged on
        its text or caption alone, before anything else is read."""
        if self._context is None:
            return False
        probe = urgency_probe(item)
        return probe is not None and self._context.answers_at_intake(probe)

    async def _intake_worker(self) -> None:
        while not (self._drained and self._intake.empty()):
            _rank, _n, item, stored = await self._intake.get()
            try:
                await self._take_then(item, stored)
            finally:
                self._intake.task_done()

    async def _take(self, item: dict[str, Any] | Update) -> bool:
        """Handle an update; False when its messages could not be stored."""
        if isinstance(item, Update):
            return await self.handle(item)
        try:
            update = Update.de_json(item, self.bot)
        except (ValueError, TypeError, KeyError) as exc:
            # From Telegram (the secret matched) but not understood, e.g. a newer Bot API
            # shape: acknowledged, or Telegram would deliver it again and again; logged.
            log.warning(
                "Telegram update %s not understood (%s)", item.get("update_id"), type(exc).__name__
            )
            return True
        return await self.handle(update)

    async def handle(self, update: Update) -> bool:
        """Everything an update needs; never raises. False when its messages could not be
        stored in the intake stream (then Telegram must deliver it again): a redelivery is
        then handled as new, and the stream stores each message only once."""
        try:
            user = update.effective_user
            first_time, chosen = await self._seen_and_language(
                update.update_id, user.id if user else None
            )
            if not first_time:
                return True
            parsed = self.parse(update, chosen)
            if parsed is not None:
                await self._execute(parsed, update.update_id)
            await self._mark_seen(update.update_id)
        except NotAccepted as exc:
            log.warning(
                "Telegram update %s not stored (%s): to be delivered again",
                update.update_id,
                type(exc).__name__,
            )
            return False
        except Exception as exc:
            log.error("Telegram update %s failed (%s)", update.update_id, type(exc).__name__)
        return True

    async def _seen_and_language(
        self, update_id: int, user_id: int | None
    ) -> tuple[bool, str | None]:
        """Is this a redelivery, and which language did they choose? Bounded in time, queue
        included, so that an emergency never waits long on a slow or absent Redis."""
        if self._context is None:
            return True, None
        try:
            first, chosen = await asyncio.wait_for(
                self._lookup(self._context.redis, update_id, user_id), REDIS_TIMEOUT_S
            )
        except Exception as exc:
            # Without Redis, answer anyway: a rare double answer beats a lost emergency.
            log.warning("Redis unavailable for Telegram update (%s)", type(exc).__name__)
            return True, None
        lang = chosen.decode() if isinstance(chosen, bytes) else chosen
        return bool(first), lang if lang in LANGUAGE_LABELS else None

    async def _lookup(
        self, redis: aioredis.Redis, update_id: int, user_id: int | None
    ) -> list[Any]:
        """One round trip: was the update handled already, and the language choice."""
        async with self._redis_slots, redis.pipeline(transaction=False) as pipe:
            pipe.exists(self._seen_key(update_id))
            pipe.get(self._language_key(user_id or 0))
            seen, chosen = await pipe.execute()
            return [not seen, chosen]

    def _seen_key(self, update_id: int) -> str:
        return f"{self.settings.redis_prefix}:telegram:update:{update_id}"

    async def _mark_seen(self, update_id: int) -> None:
        """The update is handled: a redelivery is dropped (bounded in time; without the
        mark, a redelivery's messages are still stored only once)."""
        if self._context is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(REDIS_TIMEOUT_S), self._redis_slots:
                await self._context.redis.set(self._seen_key(update_id), 1, ex=UPDATE_SEEN_TTL_S)

    def _language_key(self, user_id: int | str) -> str:
        return f"{self.settings.redis_prefix}:telegram:lang:{user_id}"

    async def _execute(self, parsed: Parsed, update_id: int = 0) -> None:
        # What the channel answers itself (a button's acknowledgement, a notice) goes out in
        # the background: the update's acknowledgement waits only for its messages' storing.
        if parsed.callback_id is not None:
            self._tasks.spawn(
                self._quietly(
                    self.bot.answer_callback_query(parsed.callback_id, text=parsed.callback_text),
                    "answerCallbackQuery",
                )
            )
        if self._context is not None and (parsed.language_choice or parsed.forget_language):
            key = self._language_key(parsed.user_id)
            await self._quietly(self._store_language(key, parsed), "language choice")
        if parsed.region is not None:
            self._sender.remember_region(str(parsed.chat_id), parsed.region)
        context = self._context
        for n, inbound in enumerate(parsed.inbounds):
            if context is None:
                continue
            if context.answers_at_intake(inbound):
                await context.submit(inbound)  # an emergency: answered now, needs no Redis
            else:  # stored once, however often the update is delivered
                await context.submit_first([(inbound, f"{self._seen_key(update_id)}:{n}")])
        if parsed.notice is not None:
            notice = self.send(
                Outbound(
                    channel=NAME,
                    conversation_id=str(parsed.chat_id),
                    text=self.hospital.render(parsed.notice, parsed.lang),
                    kind=OutboundKind.NOTICE,
                    buttons=()
                    if "lang_choice" in parsed.notice_ref.tags
                    else self.buttons(parsed.lang),
                    reply_to=parsed.notice_ref.encode() if parsed.notice_ref.message_id else None,
                    lang=parsed.lang,
                )
            )
            self._tasks.spawn(self._quietly(notice, "notice"))

    async def _store_language(self, key: str, parsed: Parsed) -> None:
        assert self._context is not None
        async with self._redis_slots:
            await self._write_language(key, parsed)

    async def _write_language(self, key: str, parsed: Parsed) -> None:
        assert self._context is not None
        if parsed.language_choice:
            await self._context.redis.set(key, parsed.language_choice, ex=LANGUAGE_CHOICE_TTL_S)
        else:
            await self._context.redis.delete(key)

    # ------------------------------------------------------------- mapping

    def parse(self, update: Update, chosen: str | None) -> Parsed | None:
        """The Inbound messages and channel actions an update stands for; None to ignore it."""
        return parse_update(update, chosen, self.bot)

    # ------------------------------------------------------------- sending

    def buttons(self, lang: str) -> tuple[Button, ...]:
        """The standard choices: a staff member, the emergency numbers."""
        return self._sender.buttons(lang)

    def keyboard(
        self, buttons: Sequence[Button], *, languages: bool = False
    ) -> InlineKeyboardMarkup | None:
        """Buttons as an inline keyboard, one per row; data that would not fit is left out."""
        return self._sender.keyboard(buttons, languages=languages)

    async def send(self, out: Outbound) -> None:
        """Deliver a reply; one Telegram will not take puts the chat in front of staff (they
        must reach the patient another way), and the failure is raised on to the caller."""
        try:
            await self._sender.send(out)
        except TelegramError as exc:
            reason = _undeliverable_reason(exc)
            log.warning(
                "Telegram reply not delivered conv=%s kind=%s reason=%s",
                chat_tag(out.conversation_id),
                out.kind,
                reason,
            )
            if self._context is not None:
                await self._context.escalate(conversation_key(NAME, out.conversation_id), reason)
            raise Undelivered(reason) from exc

    def staff_alerts(self) -> StaffAlerts | None:
        """Staff alerts through this channel's bot (its flood limits), when a staff group is
        set."""
        from adapters.telegram.staff_alert import TelegramStaffAlerts

        if not self.cfg.staff_telegram_chat_id:
            return None
        return TelegramStaffAlerts(self.settings, self.bot)

    async def typing(self, msg: Inbound) -> None:
        """Show "typing…" while the model writes."""
        await self._sender.typing(msg)

    async def draft(self, msg: Inbound, text: str) -> None:
        """Show the answer so far (Bot API 9.3 sendMessageDraft; private chats only)."""
        await self._sender.draft(msg, text)

    async def _quietly(self, call: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await call
        except Exception as exc:
            log.info("Telegram %s failed (%s)", what, type(exc).__name__)
