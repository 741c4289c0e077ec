"""What the Telegram channel sends: answers and notices, "typing…" and drafts.

Sending goes through ``PriorityRateLimiter`` (adapters/telegram/limits.py): Telegram's flood
limits, ``RetryAfter`` honoured by waiting and retrying, and emergency replies (then handoff
notices) ahead of ordinary messages still waiting for their turn. Text is HTML with
everything escaped, split at Telegram's 4096 limit on sentence boundaries; the inline
keyboard rides on the last part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from typing import Any

import redis.asyncio as aioredis
from aiolimiter import AsyncLimiter
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ChatAction, InlineKeyboardButtonLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError
from telegram.ext import ExtBot

from adapters.telegram.limits import SendPriority
from adapters.telegram.parse import BUTTON_DATA_PREFIX, LANGUAGE_DATA_PREFIX, LANGUAGE_LABELS
from adapters.telegram.spec import NAME
from adapters.telegram.text import (
    MessageRef,
    clip,
    numbers_abroad,
    split_text,
    to_html,
)
from bot import replies
from bot.aio import OwnedTasks
from bot.config import HospitalProfile
from bot.models import (
    Button,
    ButtonId,
    Inbound,
    Outbound,
    OutboundKind,
    conversation_key,
    conversation_tag,
)

log = logging.getLogger(__name__)

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA

# Typing and drafts are courtesies. They share Telegram's flood limit (30 calls a second)
# with answers and emergency replies, so they get a small budget of their own and are
# skipped, never queued, when it is spent or when messages are already waiting.
COURTESY_PER_SECOND = 5
COURTESY_MAX_IN_FLIGHT = 4
SEND_ATTEMPTS = 3  # network failures (not Bad Request) before the send is given up
SEND_ATTEMPTS_URGENT = 6  # the same for an emergency reply: about 7.5 s of trying, not 1.5 s
SEND_BACKOFF_S = 0.5
REGION_HINTS_KEPT = 10_000
REGION_HINT_TTL_S = 30 * 24 * 3600  # in Redis, for the replica that answers the chat
REGION_LOOKUP_S = 0.3  # an emergency reply never waits longer than this for the hint


def chat_tag(chat_id: int | str) -> str:
    """A chat named as the dispatcher names its conversation in logs (same hash)."""
    return conversation_tag(conversation_key(NAME, str(chat_id)))


def draft_id(message_id: str) -> int:
    """A stable, non-zero draft id per answered message (drafts of one answer animate)."""
    return (zlib.crc32(message_id.encode()) & 0x7FFFFFFF) or 1


class TelegramSender:
    """The channel's calls that send: messages through the flood-limit rate limiter, and
    the courtesies (typing, drafts) within a small budget of their own."""

    def __init__(self, bot: ExtBot[SendPriority], hospital: HospitalProfile) -> None:
        self.bot = bot
        self.hospital = hospital
        # The region each chat's language code names (emergency numbers abroad): kept here
        # and, once ``share`` names Redis, there too, for the replica that answers the chat.
        self._regions: OrderedDict[str, str] = OrderedDict()
        self._redis: aioredis.Redis | None = None
        self._region_prefix = ""
        self._calls_in_flight = 0
        self._courtesy_budget = AsyncLimiter(COURTESY_PER_SECOND, 1)
        self._tasks = OwnedTasks()

    def share(self, redis: aioredis.Redis, prefix: str) -> None:
        """Keep region hints in Redis too, for every replica."""
        self._redis = redis
        self._region_prefix = f"{prefix}:telegram:region:"

    def remember_region(self, conversation_id: str, region: str) -> None:
        if self._regions.get(conversation_id) != region and self._redis is not None:
            self._tasks.spawn(self._store_region(conversation_id, region))
        self._regions[conversation_id] = region
        self._regions.move_to_end(conversation_id)
        while len(self._regions) > REGION_HINTS_KEPT:
            self._regions.popitem(last=False)

    async def _store_region(self, conversation_id: str, region: str) -> None:
        assert self._redis is not None
        with contextlib.suppress(Exception):  # a hint: its loss costs a line of numbers
            async with asyncio.timeout(REGION_LOOKUP_S):
                key = self._region_prefix + conversation_id
                await self._redis.set(key, region, ex=REGION_HINT_TTL_S)

    async def region(self, conversation_id: str) -> str | None:
        """The chat's region hint: this replica's, else the one another replica stored."""
        region = self._regions.get(conversation_id)
        if region is not None or self._redis is None:
            return region
        with contextlib.suppress(Exception):
            async with asyncio.timeout(REGION_LOOKUP_S):
                stored = await self._redis.get(self._region_prefix + conversation_id)
                if stored:
                    return str(stored.decode() if isinstance(stored, bytes) else stored)
        return None

    def buttons(self, lang: str) -> tuple[Button, ...]:
        """The standard choices: a staff member, the emergency numbers."""
        return replies.buttons(lang)

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
            region = await self.region(out.conversation_id)
            if region is not None and region != self.hospital.region:
                text = f"{text}\n{numbers_abroad(region, out.lang, self.hospital)}"
        languages = "start" in ref.tags or "lang_choice" in ref.tags
        if "start" in ref.tags:
            text = f"{text}\n\n{self.hospital.render('telegram_choose_language', out.lang)}"
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
            await self._send_message(
                chat_id, body, markup if last else None, quote if index == 0 else None, priority
            )

    async def _send_message(
        self,
        chat_id: int,
        html_text: str,
        markup: InlineKeyboardMarkup | None,
        quote: ReplyParameters | None,
        priority: SendPriority | None = None,
    ) -> None:
        """One sendMessage, retried on network failures (longer for an emergency reply). What
        Telegram refuses for good is raised: the chat closed to the bot (``Forbidden``), a bad
        request ("chat not found"), a flood limit outlasting the retries, no network."""
        attempts = SEND_ATTEMPTS_URGENT if priority is SendPriority.EMERGENCY else SEND_ATTEMPTS
        if self.bot.rate_limiter is None:
            priority = None  # PTB refuses rate_limit_args without a rate limiter
        for attempt in range(1, attempts + 1):
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
                return
            except Forbidden:
                log.info(
                    "Telegram chat %s is closed to the bot (blocked or left)", chat_tag(chat_id)
                )
                raise
            except ChatMigrated as exc:
                chat_id = exc.new_chat_id
            except BadRequest:
                raise
            except NetworkError:
                if attempt == attempts:
                    raise
                await asyncio.sleep(SEND_BACKOFF_S * attempt)
            finally:
                self._calls_in_flight -= 1
        raise NetworkError(f"Telegram kept moving the chat ({attempts} attempts)")

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
