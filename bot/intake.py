"""The intake's first look at a message: its language, and whether it is an emergency.

Raw text is read here and nowhere kept: an assessment is remembered by the message's text,
kind and language hint only until ``submit`` takes it (or it drops out, unsubmitted).
"""

from __future__ import annotations

import asyncio

from bot.models import Inbound, InboundKind
from safety.emergency import Assessment, assess
from safety.language import detect

# Intake assessments kept for submit, at most (deliveries that are never submitted drop out).
INTAKE_MEMO_SIZE = 4096
# Messages longer than this are read in a worker thread, not on the event loop (an
# 84,000-character message takes the emergency check about 0.4 s; a thread hop costs far
# less than a 2,000-character one's check).
OFF_LOOP_CHARS = 2000


def _memo_key(msg: Inbound) -> tuple[str, str | None, str]:
    """What an intake assessment depends on: the text, its kind and the language hint."""
    return msg.kind, msg.language, msg.text


class IntakeCheck:
    def __init__(self, default_language: str) -> None:
        self.default_language = default_language
        self._memo: dict[tuple[str, str | None, str], tuple[str, Assessment | None]] = {}

    def look(self, msg: Inbound) -> bool:
        """Whether the message is an emergency; the assessment is kept for ``take`` of a
        message with the same text, kind and language hint (the same delivery, or a
        channel's earlier look at it), so it is made once. A message too long to read on
        the event loop is not read here: True ("perhaps"), and ``take_off_loop`` reads it."""
        if len(msg.text) > OFF_LOOP_CHARS:
            return True
        lang = self.language(msg)
        assessment = self._assess(msg, lang)
        self._memo[_memo_key(msg)] = (lang, assessment)
        if len(self._memo) > INTAKE_MEMO_SIZE:  # deliveries never submitted (repeats)
            del self._memo[next(iter(self._memo))]
        return assessment is not None

    def take(self, msg: Inbound) -> tuple[str, Assessment | None]:
        """The message's language and emergency assessment, from ``look`` if made there."""
        entry = self._memo.pop(_memo_key(msg), None)
        if entry is not None:
            return entry
        lang = self.language(msg)
        return lang, self._assess(msg, lang)

    async def take_off_loop(self, msg: Inbound) -> tuple[str, Assessment | None]:
        """``take``, reading a long message in a worker thread (the event loop keeps
        answering webhooks meanwhile)."""
        if len(msg.text) <= OFF_LOOP_CHARS:
            return self.take(msg)
        lang = self.language(msg)
        return lang, await asyncio.to_thread(self._assess, msg, lang)

    @staticmethod
    def _assess(msg: Inbound, lang: str) -> Assessment | None:
        """The assessment of a message that calls for emergency escalation, else None."""
        if msg.text and msg.kind not in (InboundKind.BUTTON, InboundKind.EVENT):
            assessment = assess(msg.text, lang, emergency_only=True)
            if assessment.escalate:
                return assessment
        return None

    def language(self, msg: Inbound) -> str:
        if msg.language in ("zh", "en"):
            return msg.language
        if msg.language:
            return "zh" if msg.language.lower().startswith("zh") else "en"
        if msg.text and msg.kind is not InboundKind.BUTTON:
            return detect(msg.text)
        return self.default_language
