"""The terminal channel: one patient typing in a terminal, or a script piping lines in.

Buttons become numbered choices; typing the number presses the button. ``/human``,
``/numbers`` and ``/forget`` are the typed forms of the same buttons.
"""

from __future__ import annotations

import itertools
from typing import TextIO

from adapters.base import TYPED_COMMANDS
from adapters.terminal.spec import NAME
from bot.models import Button, Inbound, InboundKind, Outbound, OutboundKind

PREFIX = {
    OutboundKind.ANSWER: "careline",
    OutboundKind.EMERGENCY: "careline [EMERGENCY]",
    OutboundKind.HANDOFF: "careline [staff]",
    OutboundKind.NOTICE: "careline",
}


class TerminalChannel:
    """Parses typed lines into Inbound messages and prints Outbound ones."""

    channel = NAME

    def __init__(self, out: TextIO, conversation_id: str, user_id: str) -> None:
        self._out = out
        self.conversation_id = conversation_id
        self.user_id = user_id
        self._choices: tuple[Button, ...] = ()
        self._lang: str | None = None
        self._ids = itertools.count(1)

    def parse(self, line: str) -> Inbound | None:
        """The message a typed line stands for; None for an empty line."""
        text = line.strip()
        if not text:
            return None
        button: str | None = TYPED_COMMANDS.get(text.lower())
        if button is None and text.isdigit() and 1 <= int(text) <= len(self._choices):
            button = self._choices[int(text) - 1].id
        return Inbound(
            channel=NAME,
            conversation_id=self.conversation_id,
            user_id=self.user_id,
            message_id=str(next(self._ids)),
            kind=InboundKind.BUTTON if button else InboundKind.TEXT,
            text=button or text,
            # A pressed button speaks the language of the message that offered it.
            language=self._lang if button else None,
        )

    async def send(self, out: Outbound) -> None:
        self._choices = out.buttons
        self._lang = out.lang
        self._out.write(f"{PREFIX[out.kind]}> {out.text_with_choices()}\n\n")
        self._out.flush()
