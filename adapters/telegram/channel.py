"""The Telegram channel: python-telegram-bot's objects in, Bot API calls out.

Updates arrive on ``POST /telegram/webhook`` (or, for development, by long polling). The
webhook checks the secret header in constant time, builds PTB's ``Update``, hands the rest of
the work to an owned task and answers 200 at once: Telegram redelivers slow webhooks, and the
pipeline may be busy for many seconds. The task drops redeliveries (by ``update_id``, in
Redis), reads the patient's chosen language, maps the update to ``Inbound`` messages and
submits them.

Sending goes through ``PriorityRateLimiter`` (adapters/telegram_limits.py): Telegram's flood
limits, ``RetryAfter`` honoured by waiting and retrying, and emergency replies (then handoff
notices) ahead of ordinary messages still waiting for their turn. Text is HTML with
everything escaped, split at Telegram's 4096 limit on sentence boundaries; the inline
keyboard rides on the last part.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import zlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from aiolimiter import AsyncLimiter
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import (
    ChatAction,
    ChatMemberStatus,
    ChatType,
    InlineKeyboardButtonLimit,
    MessageEntityType,
    MessageLimit,
    ParseMode,
    UpdateType,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from adapters.base import ChannelContext, FastHandler
from adapters.telegram.limits import PriorityRateLimiter, SendPriority
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.spec import NAME
from adapters.telegram.text import (
    MessageRef,
    clip,
    labels,
    language_of,
    numbers_abroad,
    region_hint,
    render,
    split_text,
    to_html,
)
from bot.aio import stop_tasks
from bot.config import Settings
from bot.models import (
    EXTRA_DRAFTS,
    Button,
    ButtonId,
    EventName,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
    conversation_key,
    conversation_tag,
)

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
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
BUTTON_DATA_PREFIX = "b:"
LANGUAGE_DATA_PREFIX = "lang:"
LANGUAGE_LABELS = {"en": "English", "zh": "中文"}
# International patients mostly write English: the language of a message without text (a
# button, a photo) when Telegram gives no language_code and the patient chose none.
FALLBACK_LANGUAGE = "en"

# Redis: one round trip per update (seen? + chosen language), bounded so that an emergency
# never waits on a slow or absent Redis.
REDIS_TIMEOUT_S = 0.5
# Round trips in flight at once: a burst of updates must not take every connection of the
# shared pool (redis-py's default is 100) from the dispatcher and the staff console.
REDIS_CONCURRENCY = 16
UPDATE_SEEN_TTL_S = 24 * 3600  # Telegram keeps undelivered updates for up to 24 hours
LANGUAGE_CHOICE_TTL_S = 365 * 24 * 3600

# Typing and drafts are courtesies. They share Telegram's flood limit (30 calls a second)
# with answers and emergency replies, so they get a small budget of their own and are
# skipped, never queued, when it is spent or when messages are already waiting.
COURTESY_PER_SECOND = 5
COURTESY_MAX_IN_FLIGHT = 4
RETRY_AFTER_RETRIES = 2  # the rate limiter waits retry_after, then tries again this often
SEND_ATTEMPTS = 3  # network failures (not Bad Request) before the send is given up
SEND_BACKOFF_S = 0.5
START_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0
MAX_PENDING_UPDATES = 1000  # beyond this the webhook answers 503 and Telegram redelivers
# Acknowledged updates are worked off by this many tasks, emergencies first. Few enough that
# a burst of deliveries is acknowledged before the event loop turns to them; enough that a
# slow Bot API call (a notice, a callback answer) does not hold up the others for long.
INTAKE_WORKERS = 16
TELEGRAM_TEXT_LIMIT = 4096  # the longest message text Telegram carries
REGION_HINTS_KEPT = 10_000

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


def chat_tag(chat_id: int | str) -> str:
    """A chat named as the dispatcher names its conversation in logs (same hash)."""
    return conversation_tag(conversation_key(NAME, str(chat_id)))


def _keep_library_logs_private() -> None:
    """PTB logs every request's parameters (patient text) at DEBUG: never let it."""
    library = logging.getLogger("telegram")
    if library.getEffectiveLevel() < logging.INFO:
        library.setLevel(logging.INFO)


@dataclass
class Parsed:
    """What one update asks of the channel."""

    chat_id: int
    user_id: str
    lang: str
    inbounds: list[Inbound] = field(default_factory=list)
    notice: str | None = None  # a template the channel answers with itself
    notice_ref: MessageRef = field(default_factory=lambda: MessageRef(None))
    callback_id: str | None = None
    callback_text: str | None = None
    language_choice: str | None = None
    forget_language: bool = False
    region: str | None = None


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
        self._tasks: set[asyncio.Task[Any]] = set()
        # (0 for an emergency else 1, arrival number, update as JSON or as PTB's object):
        # emergencies are handed on first.
        self._intake: asyncio.PriorityQueue[tuple[int, int, dict[str, Any] | Update]] = (
            asyncio.PriorityQueue()
        )
        self._arrivals = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._poller: asyncio.Task[None] | None = None
        self._drained = False
        self._regions: OrderedDict[str, str] = OrderedDict()
        self._calls_in_flight = 0
        self._courtesy_budget = AsyncLimiter(COURTESY_PER_SECOND, 1)
        self._redis_slots = asyncio.Semaphore(REDIS_CONCURRENCY)
        _keep_library_logs_private()

    # ------------------------------------------------------------ lifecycle

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [] if self._polling else [web.post(WEBHOOK_PATH, self._webhook)]

    def fast_routes(self) -> dict[str, FastHandler]:
        return {} if self._polling else {WEBHOOK_PATH: self._acknowledge_at_once}

    async def start(self, context: ChannelContext) -> None:
        self._context = context
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

    async def stop(self) -> None:
        if not self._drained:
            await self.drain()
        await stop_tasks([*self._workers, *self._tasks], "Telegram channel")
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -------------------------------------------------------------- intake

    def _acknowledge_at_once(
        self, query: str, headers: Mapping[bytes, bytes], body: bytes
    ) -> bytes | None:
        """The webhook without aiohttp (bot.front): the same checks as ``_webhook``, and the
        same empty 200 for an update it accepts; None for anything ``_webhook`` would refuse
        (it then answers, with its status and reason) or before the channel has started."""
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
        self._accept(data)
        return b""

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
        # PTB's objects are built by the worker that handles the update, after the 200.
        self._accept(data)
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
            for update in updates:
                offset = update.update_id + 1
                self._accept(update)

    def _accept(self, item: dict[str, Any] | Update) -> None:
        """Queue an acknowledged update (its JSON from the webhook, or PTB's object from
        polling) for the workers, emergencies first; without workers (not started), handle
        it in a task of its own."""
        if not self._workers:
            self._spawn(self._take(item))
            return
        rank = 0 if self._urgent(item) else 1
        self._intake.put_nowait((rank, next(self._arrivals), item))

    def _urgent(self, item: dict[str, Any] | Update) -> bool:
        """Whether the pipeline will answer this update at intake (an emergency), judged on
        its text or caption alone, before anything else is read."""
        if self._context is None:
            return False
        if isinstance(item, Update):
            message = item.message or item.edited_message
            text = (message.text or message.caption) if message else None
            code = message.from_user.language_code if message and message.from_user else None
        else:
            raw = item.get("message") or item.get("edited_message")
            if not isinstance(raw, dict):
                return False
            text = raw.get("text") or raw.get("caption")
            user = raw.get("from")
            code = user.get("language_code") if isinstance(user, dict) else None
        if not isinstance(text, str) or not text:
            return False
        probe = Inbound(
            channel=NAME,
            conversation_id="triage",
            user_id="triage",
            message_id="triage",
            kind=InboundKind.TEXT,
            text=text[:TELEGRAM_TEXT_LIMIT],
            language=language_of(code if isinstance(code, str) else None),
        )
        return self._context.answers_at_intake(probe)

    async def _intake_worker(self) -> None:
        while not (self._drained and self._intake.empty()):
            _rank, _n, item = await self._intake.get()
            try:
                await self._take(item)
            finally:
                self._intake.task_done()

    async def _take(self, item: dict[str, Any] | Update) -> None:
        if isinstance(item, Update):
            await self.handle(item)
            return
        try:
            update = Update.de_json(item, self.bot)
        except (ValueError, TypeError, KeyError) as exc:
            # From Telegram (the secret matched) but not understood, e.g. a newer Bot API
            # shape: acknowledged, or Telegram would deliver it again and again; logged.
            log.warning(
                "Telegram update %s not understood (%s)", item.get("update_id"), type(exc).__name__
            )
            return
        await self.handle(update)

    async def handle(self, update: Update) -> None:
        """Everything an update needs after it was acknowledged; never raises."""
        try:
            user = update.effective_user
            first_time, chosen = await self._seen_and_language(
                update.update_id, user.id if user else None
            )
            if not first_time:
                return
            parsed = self.parse(update, chosen)
            if parsed is not None:
                await self._execute(parsed)
        except Exception as exc:
            log.error("Telegram update %s failed (%s)", update.update_id, type(exc).__name__)

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
        """One round trip: mark the update seen (SET NX), read the language choice."""
        seen_key = f"{self.settings.redis_prefix}:telegram:update:{update_id}"
        async with self._redis_slots, redis.pipeline(transaction=False) as pipe:
            pipe.set(seen_key, 1, nx=True, ex=UPDATE_SEEN_TTL_S)
            pipe.get(self._language_key(user_id or 0))
            result: list[Any] = await pipe.execute()
            return result

    def _language_key(self, user_id: int | str) -> str:
        return f"{self.settings.redis_prefix}:telegram:lang:{user_id}"

    async def _execute(self, parsed: Parsed) -> None:
        if parsed.callback_id is not None:
            await self._quietly(
                self.bot.answer_callback_query(parsed.callback_id, text=parsed.callback_text),
                "answerCallbackQuery",
            )
        if self._context is not None and (parsed.language_choice or parsed.forget_language):
            key = self._language_key(parsed.user_id)
            await self._quietly(self._store_language(key, parsed), "language choice")
        if parsed.region is not None:
            self._remember_region(str(parsed.chat_id), parsed.region)
        for inbound in parsed.inbounds:
            if self._context is not None:
                await self._context.submit(inbound)
        if parsed.notice is not None:
            await self.send(
                Outbound(
                    channel=NAME,
                    conversation_id=str(parsed.chat_id),
                    text=render(parsed.notice, parsed.lang, self.hospital),
                    kind=OutboundKind.NOTICE,
                    buttons=()
                    if "lang_choice" in parsed.notice_ref.tags
                    else self.buttons(parsed.lang),
                    reply_to=parsed.notice_ref.encode() if parsed.notice_ref.message_id else None,
                    lang=parsed.lang,
                )
            )

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

    def _remember_region(self, conversation_id: str, region: str) -> None:
        self._regions[conversation_id] = region
        self._regions.move_to_end(conversation_id)
        while len(self._regions) > REGION_HINTS_KEPT:
            self._regions.popitem(last=False)

    # ------------------------------------------------------------- mapping

    def parse(self, update: Update, chosen: str | None) -> Parsed | None:
        """The Inbound messages and channel actions an update stands for; None to ignore it."""
        if update.callback_query is not None:
            return self._parse_callback(update.callback_query, chosen)
        message = update.message or update.edited_message
        if message is not None:
            return self._parse_message(message, chosen, edited=update.message is None)
        member = update.my_chat_member
        if (
            member is not None
            and member.chat.type == ChatType.PRIVATE
            and member.new_chat_member.status == ChatMemberStatus.BANNED  # "kicked": blocked
        ):
            user = member.from_user
            parsed = Parsed(
                member.chat.id, str(user.id), chosen or FALLBACK_LANGUAGE, forget_language=True
            )
            parsed.inbounds.append(
                self._inbound(
                    parsed,
                    f"member{update.update_id}",
                    InboundKind.EVENT,
                    EventName.UNSUBSCRIBE,
                )
            )
            return parsed
        return None

    def _parse_message(
        self, message: Message, chosen: str | None, *, edited: bool
    ) -> Parsed | None:
        user = message.from_user
        code = user.language_code if user else None
        lang = chosen or language_of(code)
        user_id = str(user.id) if user else str(message.chat_id)
        parsed = Parsed(
            message.chat_id, user_id, lang or FALLBACK_LANGUAGE, region=region_hint(code)
        )
        tags: tuple[str, ...] = ()
        if edited and message.edit_date is not None:
            tags = (f"edit{int(message.edit_date.timestamp())}",)
        ref = MessageRef(message.message_id, tags)
        private = message.chat.type == ChatType.PRIVATE

        def inbound(
            kind: InboundKind, text: str = "", extra: str = "", language: str | None = None
        ) -> Inbound:
            return self._inbound(
                parsed,
                MessageRef(message.message_id, (*ref.tags, extra) if extra else ref.tags).encode(),
                kind,
                text,
                language=language if language is not None else lang,
                drafts=private,
            )

        if message.text is not None:
            command = self._command(message)
            if command is None:
                parsed.inbounds.append(inbound(InboundKind.TEXT, message.text))
            elif not edited:
                self._parse_command(parsed, command, inbound, ref, private=private)
            return parsed if parsed.inbounds or parsed.notice else None

        if message.effective_attachment is None:
            return None  # a service message (members joined, a pin...): nothing to answer
        if not edited:
            voice = message.voice or message.audio or message.video_note
            kind = InboundKind.VOICE if voice else InboundKind.IMAGE
            parsed.inbounds.append(inbound(kind, language=parsed.lang))
        if message.caption:
            # The caption is the patient's words: assessed for an emergency and answered.
            parsed.inbounds.append(inbound(InboundKind.TEXT, message.caption, extra="caption"))
        return parsed if parsed.inbounds else None

    def _command(self, message: Message) -> str | None:
        """The bot command a message starts with (``/start@thisbot`` counts), else None."""
        entities = message.entities
        text = message.text or ""
        if not entities or entities[0].type != MessageEntityType.BOT_COMMAND or entities[0].offset:
            return None
        name, _, addressee = text[1 : entities[0].length].partition("@")
        if addressee and addressee.lower() != self._username().lower():
            return ""  # another bot's command in a group: not ours to answer
        return name.lower()

    def _username(self) -> str:
        """The bot's own username (from getMe at start); empty if that did not succeed."""
        try:
            return self.bot.username
        except RuntimeError:
            return ""

    def _parse_command(
        self,
        parsed: Parsed,
        command: str,
        inbound: Callable[..., Inbound],
        ref: MessageRef,
        *,
        private: bool,
    ) -> None:
        lang = parsed.lang
        if command == "start":
            parsed.inbounds.append(
                inbound(InboundKind.EVENT, EventName.SUBSCRIBE, extra="start", language=lang)
            )
        elif command == "human":
            parsed.inbounds.append(inbound(InboundKind.BUTTON, ButtonId.HUMAN, language=lang))
        elif command == "numbers":
            parsed.inbounds.append(
                inbound(
                    InboundKind.BUTTON,
                    ButtonId.EMERGENCY_NUMBERS,
                    extra=ButtonId.EMERGENCY_NUMBERS,
                    language=lang,
                )
            )
        elif command == "forget":
            parsed.inbounds.append(inbound(InboundKind.BUTTON, ButtonId.FORGET, language=lang))
            parsed.forget_language = True
        elif command == "lang":
            parsed.notice = "telegram_choose_language"
            parsed.notice_ref = MessageRef(ref.message_id, ("lang_choice",))
        elif command == "help" or (command and private):
            parsed.notice = "telegram_help"
            parsed.notice_ref = ref

    def _parse_callback(self, query: CallbackQuery, chosen: str | None) -> Parsed:
        user = query.from_user
        lang = chosen or language_of(user.language_code) or FALLBACK_LANGUAGE
        chat_id = query.message.chat.id if query.message is not None else user.id
        parsed = Parsed(
            chat_id,
            str(user.id),
            lang,
            callback_id=query.id,
            region=region_hint(user.language_code),
        )
        data = query.data or ""
        if data.startswith(BUTTON_DATA_PREFIX) and data[len(BUTTON_DATA_PREFIX) :] in set(ButtonId):
            button = ButtonId(data[len(BUTTON_DATA_PREFIX) :])
            private = query.message is not None and query.message.chat.type == ChatType.PRIVATE
            parsed.inbounds.append(
                self._inbound(
                    parsed,
                    MessageRef(None, (button,)).encode(prefix=f"cbq{query.id}"),
                    InboundKind.BUTTON,
                    button,
                    drafts=private,
                )
            )
        elif (
            data.startswith(LANGUAGE_DATA_PREFIX)
            and data[len(LANGUAGE_DATA_PREFIX) :] in LANGUAGE_LABELS
        ):
            choice = data[len(LANGUAGE_DATA_PREFIX) :]
            parsed.lang = choice
            parsed.language_choice = choice
            parsed.callback_text = LANGUAGE_LABELS[choice]
            parsed.notice = "telegram_language_set"
        return parsed

    def _inbound(
        self,
        parsed: Parsed,
        message_id: str,
        kind: InboundKind,
        text: str,
        *,
        language: str | None = None,
        drafts: bool = False,
    ) -> Inbound:
        return Inbound(
            channel=NAME,
            conversation_id=str(parsed.chat_id),
            user_id=parsed.user_id,
            message_id=message_id,
            kind=kind,
            text=text,
            language=language if language is not None else parsed.lang,
            extras={EXTRA_DRAFTS: "1"} if drafts else {},
        )

    # ------------------------------------------------------------- sending

    def buttons(self, lang: str) -> tuple[Button, ...]:
        """The standard choices: a staff member, the emergency numbers."""
        names = labels("buttons", lang)
        return tuple(
            Button(id=b, label=names[b]) for b in (ButtonId.HUMAN, ButtonId.EMERGENCY_NUMBERS)
        )

    def keyboard(
        self, buttons: Sequence[Button], *, languages: bool = False
    ) -> InlineKeyboardMarkup | None:
        """Buttons as an inline keyboard, one per row; data that would not fit is left out."""
        rows: list[list[InlineKeyboardButton]] = []
        for button in buttons:
            data = f"{BUTTON_DATA_PREFIX}{button.id}"
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                log.warning(
                    "button %r left out: callback data over %d bytes", button.id, MAX_CALLBACK_BYTES
                )
                continue
            rows.append([InlineKeyboardButton(button.label, callback_data=data)])
        if languages:
            rows.append(
                [
                    InlineKeyboardButton(label, callback_data=f"{LANGUAGE_DATA_PREFIX}{code}")
                    for code, label in LANGUAGE_LABELS.items()
                ]
            )
        return InlineKeyboardMarkup(rows) if rows else None

    async def send(self, out: Outbound) -> None:
        chat_id = int(out.conversation_id)
        ref = MessageRef.decode(out.reply_to)
        text = out.text
        urgent = out.kind is OutboundKind.EMERGENCY or ButtonId.EMERGENCY_NUMBERS in ref.tags
        if urgent:
            region = self._regions.get(out.conversation_id)
            if region is not None and region != self.hospital.region:
                text = f"{text}\n{numbers_abroad(region, out.lang, self.hospital)}"
        languages = "start" in ref.tags or "lang_choice" in ref.tags
        if "start" in ref.tags:
            text = f"{text}\n\n{render('telegram_choose_language', out.lang, self.hospital)}"
        markup = self.keyboard(out.buttons, languages=languages)
        # Quoting helps in a group (several people talk); in a private chat it is noise.
        quote = (
            ReplyParameters(ref.message_id, allow_sending_without_reply=True)
            if ref.message_id is not None and chat_id < 0
            else None
        )
        # Ahead of ordinary messages waiting for Telegram's flood limit: emergency replies
        # (and the emergency numbers asked for), then telling a patient staff will answer.
        priority = (
            SendPriority.EMERGENCY
            if urgent
            else SendPriority.HANDOFF
            if out.kind is OutboundKind.HANDOFF
            else None
        )
        parts = split_text(text, MAX_TEXT)
        for index, part in enumerate(parts):
            body = to_html(part, bold_first_line=out.kind is OutboundKind.EMERGENCY and index == 0)
            last = index == len(parts) - 1
            sent = await self._send_message(
                chat_id, body, markup if last else None, quote if index == 0 else None, priority
            )
            if not sent:
                return

    async def _send_message(
        self,
        chat_id: int,
        html_text: str,
        markup: InlineKeyboardMarkup | None,
        quote: ReplyParameters | None,
        priority: SendPriority | None = None,
    ) -> bool:
        """One sendMessage, retried on network failures; False when the chat is closed to us."""
        if self.bot.rate_limiter is None:
            priority = None  # PTB refuses rate_limit_args without a rate limiter
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                self._calls_in_flight += 1
                await self.bot.send_message(
                    chat_id,
                    html_text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    reply_parameters=quote,
                    rate_limit_args=priority,
                )
                return True
            except Forbidden:
                log.info(
                    "Telegram chat %s is closed to the bot (blocked or left)", chat_tag(chat_id)
                )
                return False
            except ChatMigrated as exc:
                chat_id = exc.new_chat_id
            except BadRequest:
                raise
            except NetworkError:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(SEND_BACKOFF_S * attempt)
            finally:
                self._calls_in_flight -= 1
        return False

    async def _courtesy(self, call: Coroutine[Any, Any, Any]) -> None:
        """Run a typing/draft call unless real messages are queueing for the flood limit."""
        budget = self._courtesy_budget
        if self._calls_in_flight >= COURTESY_MAX_IN_FLIGHT or not budget.has_capacity():
            call.close()
            return
        await budget.acquire()
        self._calls_in_flight += 1
        try:
            await call
        finally:
            self._calls_in_flight -= 1

    async def typing(self, msg: Inbound) -> None:
        """Show "typing…" while the model writes."""
        await self._courtesy(self.bot.send_chat_action(int(msg.conversation_id), ChatAction.TYPING))

    async def draft(self, msg: Inbound, text: str) -> None:
        """Show the answer so far (Bot API 9.3 sendMessageDraft; private chats only)."""
        chat_id = int(msg.conversation_id)
        if chat_id <= 0 or not text.strip():
            return
        await self._courtesy(
            self.bot.send_message_draft(
                chat_id,
                draft_id(msg.message_id),
                text=to_html(clip(text, MAX_TEXT)),
                parse_mode=ParseMode.HTML,
            )
        )

    async def _quietly(self, call: Coroutine[Any, Any, Any], what: str) -> None:
        try:
            await call
        except Exception as exc:
            log.info("Telegram %s failed (%s)", what, type(exc).__name__)


def draft_id(message_id: str) -> int:
    """A stable, non-zero draft id per answered message (drafts of one answer animate)."""
    return (zlib.crc32(message_id.encode()) & 0x7FFFFFFF) or 1
