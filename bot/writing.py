"""The model's part of a turn: the answer, streamed as guarded drafts where the channel shows
them, the model's own triage verdict asked beside it, and the guard's reading of the result.

Only masked text reaches the model; drafts are unmasked for the patient after the guard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from adapters import registry
from adapters.base import Drafts, Sender, Typing
from bot.aio import stop_tasks
from bot.config import Settings
from bot.llm import ChatMessage, LLMClient, LLMError, system_prompt
from bot.models import EXTRA_DRAFTS, Inbound, conversation_tag
from bot.triage import triage
from bot.turn import Turn
from safety.emergency import Assessment
from safety.guard import GuardResult, complete_part, guard

log = logging.getLogger(__name__)

# Longest wait, once the answer is written, for the model's triage verdict still to come; a
# verdict later than that is dropped and the answer goes out (the lexicon had let it pass).
TRIAGE_GRACE_S = 5.0
# Shortest pause between two drafts of a streamed answer (platforms rate-limit edits).
DRAFT_INTERVAL_S = 0.7


async def quietly(call: Awaitable[None], what: str) -> None:
    """A courtesy to the patient (typing, a draft) must never cost them the answer."""
    try:
        await call
    except Exception as exc:
        log.info("%s failed (%s)", what, type(exc).__name__)


@dataclass(frozen=True)
class Written:
    """What writing came to: an answer, the model's call that this is an emergency after
    all, or the model's failure."""

    reply: str = ""
    emergency: Assessment | None = None
    failure: LLMError | None = None


class AnswerWriter:
    def __init__(self, settings: Settings, llm: LLMClient, senders: Mapping[str, Sender]):
        self.settings = settings
        self.llm = llm
        self.senders = senders  # channels may register after start
        hospital = settings.hospital
        self.hospital_name = hospital.name
        # Contact details an answer may give: the hospital's own.
        self.allowed_contacts = frozenset(c for c in (hospital.phone, hospital.address) if c)

    def judge(self, turn: Turn, text: str, disclaimer: str) -> GuardResult:
        """The guard's reading of (part of) an answer to this turn's message."""
        return guard(
            text,
            lang=turn.lang,
            disclaimer=disclaimer,
            known=turn.vault,
            max_chars=registry.max_reply_chars(turn.msg.channel),
            context=turn.masked,
            allowed=self.allowed_contacts,
            context_flagged=turn.flagged,
        )

    def _messages(self, turn: Turn) -> list[ChatMessage]:
        prompt = system_prompt(turn.lang).format(hospital_name=self.hospital_name)
        if turn.searched:
            prompt = f"{prompt}\n\n{self._knowledge(turn)}"
        messages = [ChatMessage("system", prompt)]
        for past in turn.history:
            messages.append(ChatMessage("user", past.user))
            if past.assistant:
                messages.append(ChatMessage("assistant", past.assistant))
        messages.append(ChatMessage("user", turn.masked))
        return messages

    def _knowledge(self, turn: Turn) -> str:
        """What the knowledge base found for the question, for the system prompt: its entries
        with their ids, or that it has nothing."""
        hospital = self.settings.hospital
        if not turn.passages:
            return hospital.render("knowledge_none", turn.lang)
        passages = "\n\n".join(f"[{e.id}] {e.title}\n{e.text}" for e in turn.passages)
        return hospital.render("knowledge", turn.lang, passages=passages)

    async def write(self, turn: Turn) -> Written:
        messages = self._messages(turn)
        sender = self.senders.get(turn.msg.channel)

        async def on_start() -> None:
            # Shown once the model takes the question up, not while it waits its turn.
            if isinstance(sender, Typing):
                await quietly(sender.typing(turn.msg), "typing")

        verdict = self._start_triage(turn)

        def cleared() -> bool:
            """Drafts wait for the triage verdict: nothing is shown before it says no."""
            return verdict is None or (verdict.done() and verdict.result() is None)

        if isinstance(sender, Drafts) and turn.msg.extras.get(EXTRA_DRAFTS) == "1":
            writing = self._stream_with_drafts(turn, messages, sender.draft, on_start, cleared)
        else:
            writing = self.llm.complete(messages, on_start)
        answer = asyncio.ensure_future(writing)
        try:
            if verdict is not None:
                await asyncio.wait((answer, verdict), return_when=asyncio.FIRST_COMPLETED)
                if verdict.done() and (found := verdict.result()) is not None:
                    # The model calls it an emergency: the answer is not needed any more.
                    return Written(emergency=found)
            try:
                reply = await answer
            except LLMError as exc:
                log.warning(
                    "LLM failed conv=%s (%s)", conversation_tag(turn.key), type(exc).__name__
                )
                return Written(failure=exc)
            if verdict is not None:
                await asyncio.wait((verdict,), timeout=TRIAGE_GRACE_S)
                if not verdict.done():
                    log.info("triage verdict late conv=%s", conversation_tag(turn.key))
                elif (found := verdict.result()) is not None:
                    log.info("answer withheld for emergency conv=%s", conversation_tag(turn.key))
                    return Written(emergency=found)
            return Written(reply=reply)
        finally:
            await stop_tasks((answer, verdict), "answer")
            if answer.done() and not answer.cancelled():
                answer.exception()  # an answer no longer wanted may have failed: that is fine

    def _start_triage(self, turn: Turn) -> asyncio.Task[Assessment | None] | None:
        """The model's triage verdict on this message, asked at once (None when off)."""
        if not self.settings.model_triage:
            return None
        earlier = [past.user for past in turn.history if past.user]
        return asyncio.create_task(self._triage(turn, earlier))

    async def _triage(self, turn: Turn, earlier: list[str]) -> Assessment | None:
        """The verdict, or None: a failed triage changes nothing (the lexicon let it pass)."""
        try:
            return await triage(self.llm, turn.masked, earlier, turn.lang)
        except Exception as exc:
            log.info("triage failed conv=%s (%s)", conversation_tag(turn.key), type(exc).__name__)
            return None

    async def _stream_with_drafts(
        self,
        turn: Turn,
        messages: list[ChatMessage],
        draft: Callable[[Inbound, str], Awaitable[None]],
        on_start: Callable[[], Awaitable[None]],
        cleared: Callable[[], bool],
    ) -> str:
        """Stream the answer, showing the patient guarded, unmasked drafts as it grows (once
        ``cleared`` says the message is no emergency)."""
        parts: list[str] = []
        shown_at = time.monotonic()
        async with contextlib.aclosing(self.llm.stream(messages, on_start)) as stream:
            async for piece in stream:
                parts.append(piece)
                if time.monotonic() - shown_at >= DRAFT_INTERVAL_S and cleared():
                    shown_at = time.monotonic()
                    # Finished sentences only, judged as the final answer will be: a draft
                    # never shows a sentence the guard would drop.
                    judged = self.judge(turn, complete_part("".join(parts)), "")
                    preview = "" if judged.withheld else judged.text
                    if preview:
                        await quietly(draft(turn.msg, turn.vault.restore(preview)), "draft")
        return "".join(parts)
