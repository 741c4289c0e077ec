"""Who answers a conversation: the bot, or hospital staff.

States live in Redis so every replica agrees: ``bot`` (the default, no key), ``waiting``
(escalated, nobody has claimed it), ``staff`` (claimed by one staff member) and ``closed``
(a staff member finished it; the bot answers again). Every transition is one Lua script, so
it is atomic: of two staff members claiming one chat at once, exactly one wins.

Beside the state, the scripts keep:

- ``open``: a sorted set of the chats in ``waiting`` or ``staff``, by escalation time (the queue);
- ``due``: a sorted set of timed work, ``<task>|<conversation>`` scored by when it is due
  (``wait``: tell the patient the expected wait, summarise, alert; ``claim``: nobody claimed in
  time; ``idle``: staff went quiet). A replica takes a task with :meth:`HandoffStore.take_due`,
  which removes it atomically, so each task runs once across replicas;
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


class Outcome(IntEnum):
    """What a staff action did; negative values are refusals."""

    DONE = 1
    ALREADY = 2
    NOT_HELD = 0
    TAKEN = -1


class EventType(StrEnum):
    ESCALATED = "escalated"
    CLAIMED = "claimed"
    RELEASED = "released"
    CLOSED = "closed"
    STAFF_MESSAGE = "staff_message"
    TIMEOUT = "timeout"
    UPDATED = "updated"


# Shared Lua helpers. Every script takes the same KEYS so the helpers can name them:
# KEYS[1] state hash, [2] open set, [3] due set, [4] events stream, [5] audit stream.
_LUA_HEAD = """
local function event(kind, conv, now, maxlen, extra)
  local args = {KEYS[4], 'MAXLEN', '~', maxlen, '*', 'event', kind, 'conversation', conv,
                'at', now}
  for _, v in ipairs(extra or {}) do table.insert(args, v) end
  redis.call('XADD', unpack(args))
end
local function audit(actor, action, conv, now, detail)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[#ARGV], '*', 'at', now, 'actor', actor,
             'action', action, 'conversation', conv, 'detail', detail or '')
end
local function unschedule(conv)
  redis.call('ZREM', KEYS[3], 'wait|' .. conv, 'claim|' .. conv, 'idle|' .. conv)
end
"""

# KEYS[6] alert stream. ARGV: conv, now, reason, category, level, ttl, wait_delay, maxlen,
# audit_maxlen. The claim deadline is set when the ``wait`` task runs (with the console's
# settings), so the dispatcher's store needs no handoff settings.
_ESCALATE = (
    _LUA_HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'waiting' or state == 'staff' then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'reason', ARGV[3], 'category', ARGV[4],
           'level', ARGV[5], 'since', ARGV[2], 'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'conversation', conv,
           'reason', ARGV[3], 'category', ARGV[4], 'level', ARGV[5], 'at', ARGV[2])
redis.call('ZADD', KEYS[2], now, conv)
unschedule(conv)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), 'wait|' .. conv)
event('escalated', conv, ARGV[2], ARGV[8], {'reason', ARGV[3], 'category', ARGV[4],
      'level', ARGV[5]})
audit('system', 'escalate', conv, ARGV[2], 'reason=' .. ARGV[3])
return 1
"""
)

# KEYS[6] claim-times list. ARGV: conv, now, staff, idle_s, ttl, samples, maxlen, audit_maxlen
_CLAIM = (
    _LUA_HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'staff' then
  if redis.call('HGET', KEYS[1], 'claimed_by') == ARGV[3] then return 2 end
  return -1
end
if state ~= 'waiting' then return 0 end
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'staff', 'claimed_by', ARGV[3], 'claimed_at', ARGV[2],
           'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZREM', KEYS[3], 'claim|' .. conv)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), 'idle|' .. conv)
redis.call('LPUSH', KEYS[6], tostring(math.max(0, now - since)))
redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[6]) - 1)
event('claimed', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
audit(ARGV[3], 'claim', conv, ARGV[2], '')
return 1
"""
)

# ARGV: conv, now, staff, idle_s, ttl, detail, maxlen, audit_maxlen
_TOUCH = (
    _LUA_HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', KEYS[1], 'state') ~= 'staff' then return 0 end
if redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), 'idle|' .. conv)
event('staff_message', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
audit(ARGV[3], 'staff_message', conv, ARGV[2], ARGV[6])
return 1
"""
)

# Release (back to the bot) or close. A chat held by staff may be released or closed only
# by its holder (unless ARGV[4] is '0'); a waiting chat by any staff member.
# ARGV: conv, now, actor, require_holder, action, ttl, maxlen, audit_maxlen
_FINISH = (
    _LUA_HEAD
    + """
local conv = ARGV[1]
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'waiting' and state ~= 'staff' then return 0 end
if ARGV[4] == '1' and state == 'staff' and
   redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[3] then
  return -1
end
redis.call('ZREM', KEYS[2], conv)
unschedule(conv)
if ARGV[5] == 'close' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'closed_by', ARGV[3], 'closed_at', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  event('closed', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
else
  redis.call('DEL', KEYS[1])
  event('released', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
end
audit(ARGV[3], ARGV[5], conv, ARGV[2], '')
return 1
"""
)

# Set the claim deadline of a chat still waiting. ARGV: conv, at, audit_maxlen
_SCHEDULE_CLAIM = (
    _LUA_HEAD
    + """
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 0 end
redis.call('ZADD', KEYS[3], ARGV[2], 'claim|' .. ARGV[1])
return 1
"""
)

# Take one due task if it is still due; do its state change; return the chat's fields.
# ARGV: conv, now, task, maxlen, audit_maxlen
_TAKE_DUE = (
    _LUA_HEAD
    + """
local conv, now, task = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local member = task .. '|' .. conv
local score = redis.call('ZSCORE', KEYS[3], member)
if not score or tonumber(score) > now then return false end
redis.call('ZREM', KEYS[3], member)
local state = redis.call('HGET', KEYS[1], 'state')
local fields = redis.call('HGETALL', KEYS[1])
if task == 'idle' then
  if state ~= 'staff' then return false end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], conv)
  unschedule(conv)
  event('released', conv, ARGV[2], ARGV[4], {'by', 'system', 'why', 'idle'})
  audit('system', 'idle_release', conv, ARGV[2], '')
elseif task == 'claim' then
  if state ~= 'waiting' then return false end
  redis.call('HSET', KEYS[1], 'timed_out', ARGV[2])
  event('timeout', conv, ARGV[2], ARGV[4], {})
  audit('system', 'claim_timeout', conv, ARGV[2], '')
elseif not state then
  return false
end
return fields
"""
)


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

    @property
    def emergency(self) -> bool:
        return self.reason == "emergency"

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
        self._escalate: Any = redis.register_script(_ESCALATE)
        self._claim: Any = redis.register_script(_CLAIM)
        self._touch: Any = redis.register_script(_TOUCH)
        self._finish: Any = redis.register_script(_FINISH)
        self._take_due: Any = redis.register_script(_TAKE_DUE)
        self._schedule_claim: Any = redis.register_script(_SCHEDULE_CLAIM)

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
        self, conversation: str, reason: str, category: str = "", level: str = ""
    ) -> bool:
        """Put the chat in front of staff; True when this call moved it to ``waiting``."""
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
        return Outcome(int(result))

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

    async def on_patient_message(self, conversation: str) -> None:
        """The dispatcher may call this when a patient writes in a held chat: consoles update
        at once (without it they notice within their polling interval)."""
        await self.publish(EventType.UPDATED, conversation, why="patient_message")
