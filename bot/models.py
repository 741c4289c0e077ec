"""The boundary models every channel speaks: one Inbound in, Outbounds back.

Patient text is excluded from ``repr`` so that a model that slips into a log line or an
exception message does not carry raw patient words with it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A channel is known by its registered name (adapters.registry): lower-case letters, digits
# and underscores, as it appears in conversation keys, Redis keys and the console.
CHANNEL_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_NAME_PATTERN)]
_CHANNEL_NAME = re.compile(CHANNEL_NAME_PATTERN)


def conversation_key(channel: str, conversation_id: str) -> str:
    """A conversation's key across channels: ``<channel>:<conversation id>``."""
    return f"{channel}:{conversation_id}"


def split_conversation_key(key: str) -> tuple[str, str] | None:
    """The channel name and the channel's own conversation id of a conversation key; None
    when the key is not one."""
    channel, _, conversation_id = key.partition(":")
    if not conversation_id or not _CHANNEL_NAME.match(channel):
        return None
    return channel, conversation_id


def conversation_tag(key: str) -> str:
    """A short, stable hash of a conversation key: how logs and metrics name a conversation
    without naming the patient's account."""
    return hashlib.sha256(key.encode()).hexdigest()[:10]


class InboundKind(StrEnum):
    TEXT = "text"
    VOICE = "voice"
    IMAGE = "image"
    EVENT = "event"
    BUTTON = "button"


class OutboundKind(StrEnum):
    ANSWER = "answer"
    EMERGENCY = "emergency"
    HANDOFF = "handoff"
    NOTICE = "notice"


class ButtonId(StrEnum):
    """Buttons careline itself understands; channels carry the id back as an Inbound BUTTON."""

    HUMAN = "human"
    EMERGENCY_NUMBERS = "emergency_numbers"
    FORGET = "forget"


class EventName(StrEnum):
    """Platform events careline acts on; an Inbound EVENT carries the name as its text."""

    SUBSCRIBE = "subscribe"  # a patient followed the account or started the bot: welcome
    UNSUBSCRIBE = "unsubscribe"  # the patient left: erase their history, say nothing


# Inbound.extras keys a channel may set.
EXTRA_DRAFTS = "drafts"  # "1": this chat can show an answer while it is being written


def _now() -> datetime:
    return datetime.now(UTC)


class Inbound(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: ChannelName
    conversation_id: str = Field(min_length=1, max_length=200)
    user_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    kind: InboundKind = InboundKind.TEXT
    text: str = Field(default="", repr=False, max_length=20_000)
    language: str | None = None
    received_at: datetime = Field(default_factory=_now)
    extras: dict[str, str] = Field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        """The conversation's key across channels: ``<channel>:<conversation id>``."""
        return conversation_key(self.channel, self.conversation_id)


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=64)


class Outbound(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: ChannelName
    conversation_id: str
    text: str = Field(repr=False)
    kind: OutboundKind = OutboundKind.ANSWER
    buttons: tuple[Button, ...] = ()
    reply_to: str | None = None
    lang: str = "zh"

    def text_with_choices(self) -> str:
        """Buttons rendered as numbered text, for channels that cannot show buttons."""
        if not self.buttons:
            return self.text
        choices = "\n".join(f"  {i}. {b.label}" for i, b in enumerate(self.buttons, start=1))
        return f"{self.text}\n\n{choices}"
