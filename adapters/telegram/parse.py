"""What an update asks of the Telegram channel: python-telegram-bot's ``Update`` (or, for
judging urgency before anything else is read, the raw JSON of the webhook) turned into a
``Parsed``: the ``Inbound`` messages to submit (texts, captions, voice and images, bot
commands, inline-keyboard buttons, a patient blocking the bot), and the channel's own actions
(a notice to answer with, a callback to answer, a language chosen or forgotten, the region
the patient's language code names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType

from adapters.telegram.spec import NAME
from adapters.telegram.text import MessageRef, language_of, region_hint
from bot.models import EXTRA_DRAFTS, ButtonId, EventName, Inbound, InboundKind

BUTTON_DATA_PREFIX = "b:"
LANGUAGE_DATA_PREFIX = "lang:"
LANGUAGE_LABELS = {"en": "English", "zh": "中文"}
# International patients mostly write English: the language of a message without text (a
# button, a photo) when Telegram gives no language_code and the patient chose none.
FALLBACK_LANGUAGE = "en"
TELEGRAM_TEXT_LIMIT = 4096  # the longest message text Telegram carries


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


def parse_update(update: Update, chosen: str | None, bot: Bot) -> Parsed | None:
    """The Inbound messages and channel actions an update stands for; None to ignore it."""
    if update.callback_query is not None:
        return _parse_callback(update.callback_query, chosen)
    message = update.message or update.edited_message
    if message is not None:
        return _parse_message(message, chosen, bot, edited=update.message is None)
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
            _inbound(
                parsed,
                f"member{update.update_id}",
                InboundKind.EVENT,
                EventName.UNSUBSCRIBE,
            )
        )
        return parsed
    return None


def _parse_message(
    message: Message, chosen: str | None, bot: Bot, *, edited: bool
) -> Parsed | None:
    user = message.from_user
    code = user.language_code if user else None
    lang = chosen or language_of(code)
    user_id = str(user.id) if user else str(message.chat_id)
    parsed = Parsed(message.chat_id, user_id, lang or FALLBACK_LANGUAGE, region=region_hint(code))
    tags: tuple[str, ...] = ()
    if edited and message.edit_date is not None:
        tags = (f"edit{int(message.edit_date.timestamp())}",)
    ref = MessageRef(message.message_id, tags)
    private = message.chat.type == ChatType.PRIVATE

    def inbound(
        kind: InboundKind, text: str = "", extra: str = "", language: str | None = None
    ) -> Inbound:
        return _inbound(
            parsed,
            MessageRef(message.message_id, (*ref.tags, extra) if extra else ref.tags).encode(),
            kind,
            text,
            language=language if language is not None else lang,
            drafts=private,
        )

    if message.text is not None:
        command = _command(message, bot)
        if command is None:
            parsed.inbounds.append(inbound(InboundKind.TEXT, message.text))
        elif not edited:
            _parse_command(parsed, command, inbound, ref, private=private)
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


def _command(message: Message, bot: Bot) -> str | None:
    """The bot command a message starts with (``/start@thisbot`` counts), else None."""
    entities = message.entities
    text = message.text or ""
    if not entities or entities[0].type != MessageEntityType.BOT_COMMAND or entities[0].offset:
        return None
    name, _, addressee = text[1 : entities[0].length].partition("@")
    if addressee and addressee.lower() != _username(bot).lower():
        return ""  # another bot's command in a group: not ours to answer
    return name.lower()


def _username(bot: Bot) -> str:
    """The bot's own username (from getMe at start); empty if that did not succeed."""
    try:
        return bot.username
    except RuntimeError:
        return ""


def _parse_command(
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


def _parse_callback(query: CallbackQuery, chosen: str | None) -> Parsed:
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
            _inbound(
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


def urgency_probe(item: dict[str, Any] | Update) -> Inbound | None:
    """The message an update's urgency is judged on (its text or caption alone, before
    anything else is read): the update as PTB's object (polling) or as its JSON (webhook);
    None when it carries no text."""
    if isinstance(item, Update):
        message = item.message or item.edited_message
        text = (message.text or message.caption) if message else None
        code = message.from_user.language_code if message and message.from_user else None
    else:
        raw = item.get("message") or item.get("edited_message")
        if not isinstance(raw, dict):
            return None
        text = raw.get("text") or raw.get("caption")
        user = raw.get("from")
        code = user.get("language_code") if isinstance(user, dict) else None
    if not isinstance(text, str) or not text:
        return None
    return Inbound(
        channel=NAME,
        conversation_id="triage",
        user_id="triage",
        message_id="triage",
        kind=InboundKind.TEXT,
        text=text[:TELEGRAM_TEXT_LIMIT],
        language=language_of(code if isinstance(code, str) else None),
    )
