"""Who answers a conversation: the bot, or hospital staff.

States live in Redis so every replica agrees: ``bot`` (the default, no key), ``waiting``
(escalated, nobody has claimed it), ``staff`` (claimed by one staff member) and ``closed``
(a staff member finished it; the bot answers again). Every transition is one Lua script
(``bot.handoff_lua``), so it is atomic: of two staff members claiming one chat at once,
exactly one wins. An emergency in a chat already waiting or held raises it: level
``emergency``, first in the queue, an alert to every console and to the staff group.

Beside the state, the scripts keep:

- ``open``: a sorted set of the chats in ``waiting`` or ``staff``, by escalation time (the queue);
- ``due``: a sorted set of timed work, ``<task>|<conversation>`` scored by when it is due
  (``wait``: tell the patient the expected wait, summarise; ``alert``: alert the staff group of
  an emergency; ``claim``: nobody claimed in time; ``idle``: staff went quiet). A replica
  takes a task with :meth:`HandoffStore.take_due`, which removes it atomically, so each task
  runs once across replicas;
- ``events``: a stream the staff console tails for live updates (ids and labels, no text);
- the alert stream (one entry per escalation) and the audit stream (see ``bot.audit``).

Nothing here carries patient text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import redis.asyncio as aioredis

from bot import handoff_lua, metrics
from bot.audit import AUDIT_MAXLEN, audit_stream_key

ALERT_STREAM_MAXLEN = 10_000
EVENT_STREAM_MAXLEN = 10_000
# Seconds between an escalation and the patient's expected-wait notice, so that the notice
# follows the dispatcher's own reply to the message that escalated.
WAIT_NOTICE_DELAY_S = 1.0
# How many recent claim delays the expected-wait estimate is based on.
CLAIM_SAMPLES = 50
# Due tasks taken per round of the timer loop.
DUE_BATCH = 100


class HandoffState(StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    STAFF = "staff"
    CLOSED = "closed"


class DueTask(StrEnum):
    WAIT = "wait"
    CLAIM = "claim"
    IDLE = "idle"
    ALERT = "alert"


class Outcome(IntEnum):
    """What a staff action did; negative values are refusals."""

    DONE = 1
    ALREADY = 2
    NOT_HELD = 0
    TAKEN = -1
    CLAIM_FIRST = -2  # an emergency waiting for staff cannot be closed or released unclaimed


class EventType(StrEnum):
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    RELEASED = "released"
    CLOSED = "closed"
    STAFF_MESSAGE = "staff_message"
    TIMEOUT = "timeout"
    UPDATED = "updated"
    ASSIGNED = "assigned"
    UNCLAIMED = "unclaimed"
    NOTE = "note"
    ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class HeldChat:
    """A chat in front of staff, as the queue shows it (labels only, never patient text)."""

    conversation: str
    state: HandoffState
    reason: str
    category: str
    level: str
    since: float
    claimed_by: str
    lang: str
    timed_out: bool
    first_reason: str = ""
    emergency_at: float = 0.0
    patient_at: float = 0.0

    @property
    def emergency(self) -> bool:
        return self.reason == "emergency" or self.level == "emergency"

    @classmethod
    def from_fields(cls, conversation: str, fields: dict[str, str]) -> HeldChat:
        return cls(
            conversation=conversation,
            state=HandoffStore.parse(fields.get("state")),
            reason=fields.get("reason", ""),
            category=fields.get("category", ""),
            level=fields.get("level", ""),
            since=float(fields.get("since") or 0),
            claimed_by=fields.get("claimed_by", ""),
            lang=fields.get("lang", ""),
            timed_out=bool(fields.get("timed_out")),
            first_reason=fields.get("first_reason", ""),
            emergency_at=float(fields.get("emergency_at") or 0),
            patient_at=float(fields.get("patient_at") or 0),
        )


def _decode(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {_decode(flat[i]): _decode(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


class HandoffStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        ttl_s: int,
        *,
        staff_idle_s: float = 1800.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s
        self.staff_idle_s = staff_idle_s
        self.clock = clock
        self._escalate: Any = redis.register_script(handoff_lua.ESCALATE)
        self._claim: Any = redis.register_script(handoff_lua.CLAIM)
        self._touch: Any = redis.register_script(handoff_lua.TOUCH)
        self._finish: Any = redis.register_script(handoff_lua.FINISH)
        self._take_due: Any = redis.register_script(handoff_lua.TAKE_DUE)
        self._schedule_claim: Any = redis.register_script(handoff_lua.SCHEDULE_CLAIM)
        self._assign: Any = redis.register_script(handoff_lua.ASSIGN)
        self._unclaim: Any = redis.register_script(handoff_lua.UNCLAIM)
        self._patient_wrote: Any = redis.register_script(handoff_lua.PATIENT_WROTE)

    # ------------------------------------------------------------------ keys

    def key(self, conversation: str) -> str:
        return f"{self._prefix}:handoff:{conversation}"

    @property
    def alert_stream(self) -> str:
        return f"{self._prefix}:alerts"

    @property
    def event_stream(self) -> str:
        return f"{self._prefix}:handoff-events"

    @property
    def open_key(self) -> str:
        return f"{self._prefix}:handoff-open"

    @property
    def due_key(self) -> str:
        return f"{self._prefix}:handoff-due"

    @property
    def claim_times_key(self) -> str:
        return f"{self._prefix}:handoff-claim-times"

    def _keys(self, conversation: str, *extra: str) -> list[str]:
        return [
            self.key(conversation),
            self.open_key,
            self.due_key,
            self.event_stream,
            audit_stream_key(self._prefix),
            *extra,
        ]

    def _now(self) -> str:
        return f"{self.clock():.3f}"

    # ----------------------------------------------------- read (dispatcher)

    def queue_read(self, pipe: Any, conversation: str) -> None:
        """Add the state read to a pipeline that the caller executes."""
        pipe.hget(self.key(conversation), "state")

    @staticmethod
    def parse(raw: bytes | str | None) -> HandoffState:
        if raw is None:
            return HandoffState.BOT
        try:
            return HandoffState(raw.decode() if isinstance(raw, bytes) else raw)
        except ValueError:
            return HandoffState.BOT

    async def state(self, conversation: str) -> HandoffState:
        return self.parse(await self._redis.hget(self.key(conversation), "state"))

    async def chat(self, conversation: str) -> HeldChat | None:
        """The chat's handoff record, or None when the bot has it."""
        raw = await self._redis.hgetall(self.key(conversation))
        if not raw:
            return None
        return HeldChat.from_fields(conversation, {_decode(k): _decode(v) for k, v in raw.items()})

    async def held(self) -> list[HeldChat]:
        """Chats waiting for or held by staff: emergencies first, then longest wait first."""
        members = [_decode(m) for m in await self._redis.zrange(self.open_key, 0, -1)]
        if not members:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for conv in members:
                pipe.hgetall(self.key(conv))
            records = await pipe.execute()
        chats: list[HeldChat] = []
        stale: list[str] = []
        for conv, raw in zip(members, records, strict=True):
            chat = HeldChat.from_fields(conv, {_decode(k): _decode(v) for k, v in raw.items()})
            if chat.state in (HandoffState.WAITING, HandoffState.STAFF):
                chats.append(chat)
            else:
                stale.append(conv)  # the record expired under the queue entry
        if stale:
            await self._redis.zrem(self.open_key, *stale)
        chats.sort(key=lambda c: (not c.emergency, c.since))
        return chats

    # ------------------------------------------------------------ transitions

    async def escalate(
        self, conversation: str, reason: str, category: str = "", level: str = "", lang: str = ""
    ) -> bool:
        """Put the chat in front of staff; True when this call moved it to ``waiting``, or
        raised a chat already in front of staff to an emergency."""
        moved = await self._escalate(
            keys=self._keys(conversation, self.alert_stream),
            args=[
                conversation,
                self._now(),
                reason,
                category,
                level,
                self._ttl_s,
                WAIT_NOTICE_DELAY_S,
                ALERT_STREAM_MAXLEN,
                lang if lang in ("zh", "en") else "",
                AUDIT_MAXLEN,
            ],
        )
        return bool(moved)

    async def claim(self, conversation: str, staff: str) -> Outcome:
        """``waiting`` -> ``staff`` for ``staff``; TAKEN when someone else holds it."""
        result = await self._claim(
            keys=self._keys(conversation, self.claim_times_key),
            args=[
                conversation,
                self._now(),
                staff,
                self.staff_idle_s,
                self._ttl_s,
                CLAIM_SAMPLES,
                EVENT_STREAM_MAXLEN,
                AUDIT_MAXLEN,
            ],
        )
        if isinstance(result, list):  # claimed now: with how long the chat waited
            metrics.HANDOFF_WAIT.observe(float(result[1]))
            return Outcome(int(result[0]))
        return Outcome(int(result))

    async def assign(self, conversation: str, actor: str, to: str, *, lead: bool) -> Outcome:
        """Give the chat to ``to``: its holder may, anyone may while it waits, a lead always."""
        result = await self._assign(
            keys=self._keys(conversation),
            args=[
                conversation,
                self._now(),
                actor,
                to,
                "1" if lead else "0",
                self.staff_idle_s,
                self._ttl_s,
                EVENT_STREAM_MAXLEN,
                AUDIT_MAXLEN,
            ],
        )
        return Outcome(int(result))

    async def unclaim_all(self, holder: str, why: str, claim_within_s: float) -> list[str]:
        """Put every chat ``holder`` holds back in the queue, unclaimed, to be claimed within
        ``claim_within_s`` (else the patient gets the hospital's phone); returns them."""
        moved: list[str] = []
        for chat in await self.held():
            if chat.state is HandoffState.STAFF and chat.claimed_by == holder:
                done = await self._unclaim(
                    keys=self._keys(chat.conversation),
                    args=[
                        chat.conversation,
                        self._now(),
                        holder,
                        why,
                        f"{self.clock() + claim_within_s:.3f}",
                        EVENT_STREAM_MAXLEN,
                        AUDIT_MAXLEN,
                    ],
                )
                if done:
                    moved.append(chat.conversation)
        return moved

    async def touch(self, conversation: str, staff: str, detail: str = "") -> Outcome:
        """Record a staff message: only the holder may write; restarts the idle timer."""
        result = await self._touch(
            keys=self._keys(conversation),
            args=[
                conversation,
                self._now(),
                staff,
                self.staff_idle_s,
                self._ttl_s,
                detail,
                EVENT_STREAM_MAXLEN,
                AUDIT_MAXLEN,
            ],
        )
        return Outcome(int(result))

    async def _end(self, conversation: str, actor: str, action: str, holder_only: bool) -> Outcome:
        result = await self._finish(
            keys=self._keys(conversation),
            args=[
                conversation,
                self._now(),
                actor,
                "1" if holder_only else "0",
                action,
                self._ttl_s,
                EVENT_STREAM_MAXLEN,
                AUDIT_MAXLEN,
            ],
        )
        return Outcome(int(result))

    async def release(self, conversation: str, staff: str | None = None) -> bool:
        """Give the chat back to the bot. With ``staff``, only if they hold it (or it waits)."""
        outcome = await self._end(conversation, staff or "system", "release", staff is not None)
        return outcome is Outcome.DONE

    async def release_by(self, conversation: str, staff: str) -> Outcome:
        return await self._end(conversation, staff, "release", True)

    async def close(self, conversation: str, staff: str) -> Outcome:
        """The staff member is done: the chat is ``closed`` and the bot answers again."""
        return await self._end(conversation, staff, "close", True)

    async def set_lang(self, conversation: str, lang: str) -> None:
        await self._redis.hset(self.key(conversation), "lang", lang)

    # -------------------------------------------------------------- timers

    async def due(self, now: float | None = None) -> list[tuple[DueTask, str]]:
        """Tasks due by ``now`` (not yet taken): (task, conversation)."""
        when = self.clock() if now is None else now
        raw: list[Any] = await self._redis.zrangebyscore(
            self.due_key, "-inf", when, start=0, num=DUE_BATCH
        )
        tasks: list[tuple[DueTask, str]] = []
        for member in raw:
            task, _, conv = _decode(member).partition("|")
            try:
                tasks.append((DueTask(task), conv))
            except ValueError:
                await self._redis.zrem(self.due_key, member)
        return tasks

    async def take_due(self, task: DueTask, conversation: str) -> HeldChat | None:
        """Take a due task (once across replicas) and apply its state change.

        Returns the chat's record as it was before the change, or None when the task was
        taken by another replica, is not due, or no longer applies.
        """
        fields = await self._take_due(
            keys=self._keys(conversation),
            args=[conversation, self._now(), task.value, EVENT_STREAM_MAXLEN, AUDIT_MAXLEN],
        )
        if not fields:
            return None
        return HeldChat.from_fields(conversation, _pairs(list(fields)))

    async def schedule_claim(self, conversation: str, at: float) -> bool:
        """Set when an unclaimed chat times out; False when it no longer waits."""
        done = await self._schedule_claim(
            keys=self._keys(conversation), args=[conversation, f"{at:.3f}", AUDIT_MAXLEN]
        )
        return bool(done)

    async def unschedule(self, task: DueTask, conversation: str) -> None:
        await self._redis.zrem(self.due_key, f"{task.value}|{conversation}")

    async def recent_claim_delays(self) -> list[float]:
        return [float(x) for x in await self._redis.lrange(self.claim_times_key, 0, -1)]

    async def publish(self, event: EventType, conversation: str, **fields: str) -> None:
        """An event for the consoles that changes no state (a new summary, a new message)."""
        flat: dict[str, str] = {
            "event": event.value,
            "conversation": conversation,
            "at": self._now(),
            **fields,
        }
        await self._redis.xadd(
            self.event_stream,
            flat,  # type: ignore[arg-type]
            maxlen=EVENT_STREAM_MAXLEN,
            approximate=True,
        )

    async def on_patient_message(self, conversation: str, *, count: bool = True) -> bool:
        """The dispatcher calls this when a patient writes in a held chat: the chat is marked
        unread and consoles update at once. True for the first counted message of this
        handoff: that patient should be told that staff will reply (later, the bot stays
        quiet). ``count=False`` for a message answered otherwise (an emergency)."""
        first = await self._patient_wrote(
            keys=[self.key(conversation)], args=[conversation, self._now(), "1" if count else "0"]
        )
        await self.publish(EventType.UPDATED, conversation, why="patient_message")
        return bool(first)
