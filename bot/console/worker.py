"""The handoff timers and the work that follows an escalation, as one owned task per replica.

Every escalation schedules a ``wait`` task; each round, a replica takes what is due from the
shared ``due`` set (``HandoffStore.take_due`` removes a task atomically, so it runs once
across replicas) and acts:

- ``wait``: tell the patient the expected wait and opening hours (or, outside them, the
  hospital's phone number), set the claim deadline, start the summary. An emergency patient
  already has the emergency instructions and is not given a wait estimate;
- ``alert``: an emergency (new, or in a chat already waiting or held): alert the staff group;
- ``claim``: nobody claimed in time: the hospital's phone number, and for an emergency the
  emergency numbers again;
- ``idle``: the staff member went quiet: the chat is back with the bot, the patient is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from adapters.base import Sender, StaffAlerts
from bot.aio import OwnedTasks, stop_tasks
from bot.config import Settings
from bot.console.history import History
from bot.console.hours import is_open
from bot.console.summary import SummaryStore, summarize
from bot.console.transcript import Line, Transcript
from bot.handoff import DueTask, EventType, HandoffState, HandoffStore, HeldChat
from bot.llm import LLMClient, LLMError
from bot.models import Outbound, OutboundKind, split_conversation_key
from safety.language import detect

log = logging.getLogger(__name__)

TICK_S = 0.5
SECONDS_PER_MINUTE = 60


def patient_language(lines: Sequence[Line], default: str) -> str:
    """The language of the patient's last message in a transcript, else ``default``."""
    patient = [line.text for line in lines if line.role == "patient"]
    return detect(patient[-1]) if patient else default


class HandoffWorker:
    def __init__(
        self,
        settings: Settings,
        store: HandoffStore,
        transcript: Transcript,
        summaries: SummaryStore,
        llm: LLMClient,
        senders: Mapping[str, Sender],
        history: History | None = None,
        alerts: Sequence[StaffAlerts] = (),
    ) -> None:
        self.settings = settings
        self.store = store
        self.transcript = transcript
        self.summaries = summaries
        self.llm = llm
        self.senders = senders
        self.history = history
        self.alerts = tuple(alerts)
        """Where emergency alerts go besides the console (the worker closes them)."""
        self.zone = ZoneInfo(settings.handoff_timezone)
        self._task: asyncio.Task[None] | None = None
        self._jobs = OwnedTasks()
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="handoff-timers")

    async def stop(self) -> None:
        # A cancellation can be lost (see bot.aio), so the loop also stops at the flag and
        # the wait is bounded.
        self._stopping.set()
        await stop_tasks([self._task, *self._jobs], "handoff timers")
        self._task = None
        for alerts in self.alerts:
            await alerts.aclose()

    async def drain(self) -> None:
        """Wait for the summaries and alerts already started (tests, benchmarks)."""
        await self._jobs.finish()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_due()
            except Exception as exc:  # a bad round must not stop the timers
                log.error("handoff timers failed a round (%s)", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await self._stopping.wait()

    # ---------------------------------------------------------------- work

    async def run_due(self, now: float | None = None) -> int:
        """Take and do every task due by ``now``; returns how many were done here."""
        done = 0
        for task, conversation in await self.store.due(now):
            chat = await self.store.take_due(task, conversation)
            if chat is None:
                continue
            done += 1
            if task is DueTask.WAIT:
                await self._on_wait(chat)
            elif task is DueTask.ALERT:
                self._jobs.spawn(self._alert_staff_group(chat))
            elif task is DueTask.CLAIM:
                await self._on_claim_timeout(chat)
            else:
                await self._idle_released(chat)
        return done

    def open_now(self) -> bool:
        now = datetime.fromtimestamp(self.store.clock(), self.zone)
        return is_open(self.settings.hospital_opening_hours, now)

    async def _on_wait(self, chat: HeldChat) -> None:
        lines = await self.transcript.read(chat.conversation)
        if not chat.lang:  # the escalation did not know the patient's language
            lang = patient_language(lines, self.settings.default_language)
            chat = HeldChat(**{**chat.__dict__, "lang": lang})
            await self.store.set_lang(chat.conversation, lang)
        if chat.state is HandoffState.WAITING:
            if self.open_now():
                deadline = chat.since + self.settings.handoff_claim_timeout_s
                await self.store.schedule_claim(chat.conversation, deadline)
                if not chat.emergency:
                    await self._tell_wait(chat)
            else:
                await self._tell(chat, "handoff_after_hours", OutboundKind.HANDOFF)
        self._jobs.spawn(self._summarise(chat, lines))

    async def _tell_wait(self, chat: HeldChat) -> None:
        waiting = [c for c in await self.store.held() if c.state is HandoffState.WAITING]
        ahead = next((i for i, c in enumerate(waiting) if c.conversation == chat.conversation), 0)
        delays = await self.store.recent_claim_delays()
        limit = float(self.settings.handoff_claim_timeout_s)
        estimate = min(statistics.median(delays), limit) if delays else limit
        minutes = max(1, math.ceil(estimate / SECONDS_PER_MINUTE))
        text = self.settings.hospital.render(
            "handoff_wait", chat.lang, wait_minutes=str(minutes), ahead=str(ahead)
        )
        await self._send(chat, text, OutboundKind.HANDOFF)

    async def _idle_released(self, chat: HeldChat) -> None:
        if self.history is not None:
            lines = await self.transcript.read(chat.conversation)
            await self.history.record(chat, "idle_release", "system", lines, self.store.clock())
        await self._tell(chat, "handoff_idle_released", OutboundKind.NOTICE)

    async def _on_claim_timeout(self, chat: HeldChat) -> None:
        await self._tell(chat, "handoff_timeout", OutboundKind.HANDOFF)

    async def _tell(self, chat: HeldChat, template: str, kind: OutboundKind) -> None:
        lang = chat.lang or self.settings.default_language
        text = self.settings.hospital.render(template, lang)
        if chat.emergency and template in ("handoff_timeout", "handoff_after_hours"):
            text += "\n" + self.settings.hospital.render("handoff_emergency_again", lang)
        await self._send(chat, text, kind)

    async def _send(self, chat: HeldChat, text: str, kind: OutboundKind) -> None:
        target = split_conversation_key(chat.conversation)
        sender = self.senders.get(target[0]) if target else None
        if target is None or sender is None:
            log.error("no channel to tell the patient (%s)", target[0] if target else "-")
            return
        out = Outbound(
            channel=target[0],
            conversation_id=target[1],
            text=text,
            kind=kind,
            lang=chat.lang or self.settings.default_language,
        )
        try:
            await sender.send(out)
        except Exception as exc:
            log.error("handoff notice not delivered (%s)", type(exc).__name__)

    async def _summarise(self, chat: HeldChat, lines: list[Any]) -> None:
        if not lines:
            return
        try:
            summary = await summarize(self.llm, lines, chat.lang)
        except LLMError as exc:
            log.info("no handoff summary (%s); the console shows the last messages", exc)
            return
        await self.summaries.save(chat.conversation, summary)
        await self.store.publish(EventType.UPDATED, chat.conversation, why="summary")

    async def _alert_staff_group(self, chat: HeldChat) -> None:
        """A message to the staff's group chats: labels and the time only, never patient
        details."""
        if not self.alerts:
            return
        lang = self.settings.default_language
        # The emergency's own time: a chat raised while in front of staff began earlier.
        at = chat.emergency_at or chat.since
        when = datetime.fromtimestamp(at, self.zone).strftime("%H:%M")
        split = split_conversation_key(chat.conversation)
        fields = {
            "category": chat.category or "-",
            "channel": split[0] if split else "-",
            "time": when,
        }
        if chat.state is HandoffState.STAFF and chat.claimed_by:
            text = self.settings.hospital.render(
                "staff_alert_held", lang, holder=chat.claimed_by, **fields
            )
        else:
            text = self.settings.hospital.render("staff_alert", lang, **fields)
        await asyncio.gather(*(alerts.alert_staff(text) for alerts in self.alerts))
