"""The durable intake: accepted messages wait in Redis Streams, never only in a process.

A channel acknowledges a delivery only once its message is appended here (``XADD``), so a
process that dies after the acknowledgement loses nothing: the entry waits for a worker.

Layout. Messages go to one of ``shards`` streams, chosen by a stable hash of the
conversation key, so that every message of one conversation is in one stream, in arrival
order. Each shard is read by one worker at a time: a worker holds a shard's *lease* (a key
with an expiry it renews) and reads it through the consumer group ``careline``. Holding the
lease is what gives a conversation a single worker and its messages their order, across any
number of replicas. Workers share the shards out evenly (each takes at most its fair share
of the shards, counting the workers that sent a heartbeat lately) and give up a shard they
have too many of once none of its messages is in hand.

A worker that stops renewing (killed, hung, cut off from Redis) loses its leases when they
expire; the next owner first claims what the old one had read and not finished (its pending
entries, in order) and handles those before anything new. An entry delivered
``MAX_DELIVERIES`` times without being finished (it crashed every worker that took it) goes to
the dead-letter stream, and its conversation to staff: never silently away.

Entries hold the message sealed with the vault key (Fernet): raw patient text never sits in
Redis in clear. A finished entry is acknowledged and deleted (``XACK``, ``XDEL``), so a
stream's length is its backlog. Each reply leaves an *outbox* mark (conversation, message
id) the moment the platform took it: a reclaimed entry whose reply was sent is only
acknowledged, not answered again (``check_delivery``). The one window left is between a
platform's "sent" and that mark reaching Redis: a worker killed exactly there sends that one
reply twice rather than not at all (no platform offers an idempotent send to close it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError

from adapters.base import IntakeUnavailable
from bot import metrics
from bot.models import Inbound, conversation_tag

log = logging.getLogger(__name__)

GROUP = "careline"
REDIS_ERRORS = (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)
# An entry taken this many times and never finished goes to the dead letters (and to staff).
MAX_DELIVERIES = 3
# How long a blocking read waits for new entries before the worker looks at its leases again.
READ_BLOCK_MS = 500
READ_COUNT = 256
# Outbox marks outlive any redelivery of the message they mark.
OUTBOX_TTL_S = 2 * 24 * 3600
# After an emergency reply, answers to the patient's earlier messages are withheld: the
# moment is kept this long.
EMERGENCY_MARK_TTL_S = 3600
RETRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
# A message's "stored already" counter outlives every redelivery (Telegram tries for hours).
DEDUPE_TTL_S = 24 * 3600
# Dead letters (sealed) are kept this long for staff to look into, and at most this many.
DEAD_LETTER_DAYS = 30
DEAD_LETTERS_KEPT = 10_000

# KEYS: stream [, dedupe counter]. ARGV: dedupe ttl ("0": no dedupe), then field, value...
# Appends unless the dedupe counter says the message was seen; returns the delivery count
# (1: appended now). One script, so a counted delivery is always an appended one.
_APPEND = """
local n = 1
if ARGV[1] ~= '0' then
  n = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
if n == 1 then
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
end
return n
"""

# KEYS: lease, outbox, emergency mark. ARGV: worker, accepted at (epoch seconds).
_CHECK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lost' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'sent' end
local e = redis.call('GET', KEYS[3])
if e and tonumber(e) > tonumber(ARGV[2]) then return 'after_emergency' end
return 'go'
"""

# KEYS: leases. ARGV: worker, lease ms. Renews the leases still ours; returns those lost.
_RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    table.insert(lost, key)
  end
end
return lost
"""

# KEYS: lease. ARGV: worker. Gives a lease up if it is ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(slots=True)
class Entry:
    """One message read from a shard, on its way through a worker."""

    shard: int
    entry_id: bytes
    msg: Inbound
    accepted_at: float  # epoch seconds, when the intake appended it


def worker_name() -> str:
    """A name for this process's consumer, unique to this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class IntakeStream:
    """The shards, their entries and their marks (no reading: see ``StreamWorker``)."""

    def __init__(self, redis: aioredis.Redis, prefix: str, shards: int, key: str) -> None:
        self.redis = redis
        self.shards = shards
        self._p = f"{prefix}:intake"
        self._prefix = prefix
        self._fernet = Fernet(key.encode())
        self._append: Any = redis.register_script(_APPEND)
        self._check: Any = redis.register_script(_CHECK)
        self.dead_letters = f"{self._p}:dead"

    # -- keys -------------------------------------------------------------------------

    def shard_of(self, conversation: str) -> int:
        return zlib.crc32(conversation.encode()) % self.shards

    def key(self, shard: int) -> str:
        return f"{self._p}:{shard}"

    def lease_key(self, shard: int) -> str:
        return f"{self._p}:lease:{shard}"

    @property
    def workers_key(self) -> str:
        return f"{self._p}:workers"

    def outbox_key(self, msg: Inbound) -> str:
        return f"{self._p}:sent:{msg.key}:{msg.message_id}"

    def emergency_key(self, conversation: str) -> str:
        return f"{self._prefix}:emergency_at:{conversation}"

    # -- entries ----------------------------------------------------------------------

    def fields(self, msg: Inbound) -> list[bytes | str]:
        """An entry's fields, flat: the conversation, the sealed message, when accepted."""
        sealed = self._fernet.encrypt(msg.model_dump_json().encode())
        return ["c", msg.key, "m", sealed, "t", repr(time.time())]

    def read(self, shard: int, entry_id: bytes, fields: dict[bytes, bytes]) -> Entry | None:
        """The entry's message; None when it cannot be read (another key, a damaged one)."""
        try:
            msg = Inbound.model_validate_json(self._fernet.decrypt(fields[b"m"]))
            return Entry(shard, entry_id, msg, float(fields[b"t"]))
        except (InvalidToken, ValidationError, KeyError, ValueError):
            return None

    def _script_call(self, msg: Inbound, dedupe: str | None, dedupe_ttl_s: int) -> dict[str, Any]:
        keys = [self.key(self.shard_of(msg.key))]
        if dedupe is not None:
            keys.append(dedupe)
        args: list[Any] = [dedupe_ttl_s if dedupe is not None else 0, *self.fields(msg)]
        return {"keys": keys, "args": args}

    async def append_many(
        self, msgs: Iterable[tuple[Inbound, str | None]], dedupe_ttl_s: int = DEDUPE_TTL_S
    ) -> list[int]:
        """Append messages in one round trip; each may name a dedupe counter, and is then
        appended only on its first delivery. Returns each one's delivery count (1: appended
        now). Raises ``IntakeUnavailable`` when Redis did not take them."""
        calls = [self._script_call(msg, dedupe, dedupe_ttl_s) for msg, dedupe in msgs]
        try:
            if len(calls) == 1:
                return [int(await self._append(**calls[0]))]
            pipe = self.redis.pipeline(transaction=False)
            for call in calls:
                await self._append(**call, client=pipe)
            return [int(n) for n in await pipe.execute()]
        except REDIS_ERRORS as exc:
            raise IntakeUnavailable(type(exc).__name__) from None

    async def mark_emergency(self, conversation: str, at: float) -> None:
        await self.redis.set(self.emergency_key(conversation), repr(at), ex=EMERGENCY_MARK_TTL_S)

    async def check_delivery(self, entry: Entry, worker: str, answer: bool = True) -> str:
        """Whether to send the reply to ``entry``: "go"; "sent" (a reply to it went out
        already); "lost" (this worker no longer holds the shard: the new owner answers);
        "after_emergency" (an ``answer``, and the patient had an emergency reply since).
        Redis unavailable: "go" (a rare duplicate rather than a lost answer)."""
        try:
            verdict = await self._check(
                keys=[
                    self.lease_key(entry.shard),
                    self.outbox_key(entry.msg),
                    self.emergency_key(entry.msg.key),
                ],
                args=[worker, repr(entry.accepted_at) if answer else "1e308"],
            )
        except REDIS_ERRORS:
            return "go"
        return verdict.decode() if isinstance(verdict, bytes) else str(verdict)

    async def mark_sent(self, entry: Entry) -> None:
        """The reply to ``entry`` went out: written the moment the platform took it, so that
        the window in which a killed worker's reply is sent again is as short as can be."""
        await self.redis.set(self.outbox_key(entry.msg), b"1", ex=OUTBOX_TTL_S)

    async def finish(self, entries: list[tuple[Entry, bool]]) -> None:
        """Acknowledge and delete finished entries; those whose reply was sent leave their
        outbox mark again in the same round trip (in case the first did not make it).
        Raises on Redis errors (the caller retries)."""
        pipe = self.redis.pipeline(transaction=False)
        for entry, sent in entries:
            if sent:
                pipe.set(self.outbox_key(entry.msg), b"1", ex=OUTBOX_TTL_S)
            key = self.key(entry.shard)
            pipe.xack(key, GROUP, entry.entry_id)
            pipe.xdel(key, entry.entry_id)
        await pipe.execute()

    async def ensure_groups(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for shard in range(self.shards):
            pipe.xgroup_create(self.key(shard), GROUP, id="0", mkstream=True)
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    async def backlog(self) -> tuple[int, float]:
        """Entries not yet finished in all shards, and the age in seconds of the oldest."""
        pipe = self.redis.pipeline(transaction=False)
        for shard in range(self.shards):
            pipe.xlen(self.key(shard))
            pipe.xrange(self.key(shard), count=1)
        results = await pipe.execute()
        total, oldest = 0, 0.0
        now_ms = time.time() * 1000
        for length, first in zip(results[::2], results[1::2], strict=True):
            total += int(length)
            if first:
                entry_ms = int(first[0][0].split(b"-")[0])
                oldest = max(oldest, (now_ms - entry_ms) / 1000)
        return total, oldest

    async def bury(self, shard: int, entry_id: bytes, conversation: str) -> None:
        """Move an entry to the dead letters: it failed ``MAX_DELIVERIES`` times, or cannot
        be read."""
        key = self.key(shard)
        found: Any = await self.redis.xrange(key, min=entry_id, max=entry_id)
        pipe = self.redis.pipeline(transaction=True)
        if found:
            pipe.xadd(self.dead_letters, found[0][1], maxlen=DEAD_LETTERS_KEPT, approximate=True)
            oldest_kept_ms = int((time.time() - DEAD_LETTER_DAYS * 86400) * 1000)
            pipe.xtrim(self.dead_letters, minid=oldest_kept_ms, approximate=True)
        pipe.xack(key, GROUP, entry_id)
        pipe.xdel(key, entry_id)
        await pipe.execute()
        metrics.DEAD_LETTERS.inc()
        log.error("intake entry moved to the dead letters conv=%s", conversation_tag(conversation))


class StreamWorker:
    """Reads the shards this process holds and hands their entries to ``take`` in order.

    ``take`` must return at once (the dispatcher queues the entry in its lane); the
    dispatcher calls ``done`` when the entry is finished. ``buried`` is told the conversation
    of each dead letter (the dispatcher puts it in front of staff).
    """

    def __init__(
        self,
        stream: IntakeStream,
        take: Callable[[Entry], None],
        buried: Callable[[str], Any],
        *,
        lease_s: float,
        name: str | None = None,
    ) -> None:
        self.stream = stream
        self.redis = stream.redis
        self.name = name or worker_name()
        self._take = take
        self._buried = buried
        self._lease_ms = int(lease_s * 1000)
        self._renew: Any = self.redis.register_script(_RENEW)
        self._release: Any = self.redis.register_script(_RELEASE)
        self.held: set[int] = set()
        self._leaving: set[int] = set()  # held, no longer read: given up once idle
        self._in_hand: dict[int, int] = {}  # entries taken and not finished, by shard
        self._finished: list[tuple[Entry, bool]] = []  # waiting for their acknowledgement
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._next_tick = 0.0
        self.backlog = (0, 0.0)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="intake-worker")

    async def stop(self) -> None:
        """Stop reading; give up the leases (what is still in hand is left pending for the
        next owner, who claims it at once)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, *REDIS_ERRORS):
                await asyncio.wait_for(asyncio.shield(self._task), 2.0)
            self._task = None
        if self._flusher is not None:
            self._flusher.cancel()
        with contextlib.suppress(*REDIS_ERRORS):
            await asyncio.wait_for(self._flush(), 2.0)
            pipe = self.redis.pipeline(transaction=False)
            for shard in self.held:
                await self._release(
                    keys=[self.stream.lease_key(shard)], args=[self.name], client=pipe
                )
            pipe.zrem(self.stream.workers_key, self.name)
            await asyncio.wait_for(pipe.execute(), 2.0)
        self.held.clear()

    def stop_reading(self) -> None:
        """Take nothing new (shutdown has begun); entries in hand are still finished."""
        self._stopping = True

    @property
    def idle(self) -> bool:
        return not any(self._in_hand.values()) and not self._finished

    # -- entries ----------------------------------------------------------------------

    def holds(self, shard: int) -> bool:
        """Whether this worker still holds the shard (else its next owner answers)."""
        return shard in self.held

    def done(self, entry: Entry, outcome: str) -> None:
        """The entry is finished: "sent" (a reply to it went out), "finished" (nothing to
        send), or "lost" (the shard changed hands: left for its new owner, not acknowledged).
        Acknowledgements go out together, soon."""
        self._in_hand[entry.shard] -= 1
        if outcome != "lost":
            self._finished.append((entry, outcome == "sent"))
            self._kick_flush()

    def _kick_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        tries = 0
        while self._finished:
            try:
                await self._flush()
            except REDIS_ERRORS as exc:
                await _back_off(tries, "intake acknowledgements delayed", exc)
                tries += 1

    async def _flush(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                await self.stream.finish(batch)
            except BaseException:
                self._finished[:0] = batch  # tried again
                raise

    # -- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        await self._until_ok(self.stream.ensure_groups)
        tries = 0
        while not self._stopping:
            try:
                if time.monotonic() >= self._next_tick:
                    await self._tick()
                if self._finished:
                    self._kick_flush()
                await self._read()
                tries = 0
            except redis.exceptions.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis restarted without its data (no append-only file): the streams and
                # their group are made again; what was stored is gone with it
                log.error("intake stream's consumer group missing (Redis lost its data?)")
                await self._until_ok(self.stream.ensure_groups)
            except REDIS_ERRORS as exc:
                await _back_off(tries, "intake worker: Redis unavailable", exc)
                tries += 1
            except Exception as exc:
                # A bug must not stop the reading for good: every message would wait forever.
                log.error("intake worker: unexpected %s; going on", type(exc).__name__)
                await _back_off(tries, "intake worker failed a round", exc)
                tries += 1

    async def _until_ok(self, call: Callable[[], Any]) -> None:
        tries = 0
        while True:
            try:
                await call()
                return
            except REDIS_ERRORS:
                await asyncio.sleep(RETRY_BACKOFF_S[min(tries, len(RETRY_BACKOFF_S) - 1)])
                tries += 1

    async def _read(self) -> None:
        reading = sorted(self.held - self._leaving)
        if not reading:
            await asyncio.sleep(
                min(READ_BLOCK_MS / 1000, max(0.0, self._next_tick - time.monotonic()))
            )
            return
        streams: Any = {self.stream.key(shard): ">" for shard in reading}
        block = max(1, min(READ_BLOCK_MS, int((self._next_tick - time.monotonic()) * 1000)))
        found: Any = await self.redis.xreadgroup(
            GROUP,
            self.name,
            streams,
            count=READ_COUNT,
            block=block,
        )
        batch: list[tuple[float, int, bytes, dict[bytes, bytes]]] = []
        for stream_key, entries in found or ():
            shard = int(stream_key.rsplit(b":", 1)[1])
            if shard not in self.held or self._stopping:
                continue  # left pending: claimed by the shard's next owner
            batch.extend(
                (_accepted(fields), shard, entry_id, fields) for entry_id, fields in entries
            )
        # in the order the intake took them, across shards (each shard's is kept)
        batch.sort(key=lambda item: item[0])
        for _at, shard, entry_id, fields in batch:
            await self._hand_on(shard, entry_id, fields)

    async def _hand_on(
        self, shard: int, entry_id: bytes, fields: dict[bytes, bytes] | None
    ) -> None:
        if not fields:  # deleted meanwhile (finished by an earlier owner): acknowledged only
            self._finished.append((Entry(shard, entry_id, _NOTHING, 0.0), False))
            return
        entry = self.stream.read(shard, entry_id, fields)
        if entry is None:
            log.error("intake entry unreadable (sealed with another vault key?)")
            conversation = fields.get(b"c", b"").decode(errors="replace")
            await self.stream.bury(shard, entry_id, conversation)
            if conversation:
                self._buried(conversation)
            return
        self._in_hand[shard] = self._in_hand.get(shard, 0) + 1
        self._take(entry)

    async def _tick(self) -> None:
        """Heartbeat, renew the leases, give up or take shards for a fair share."""
        now = time.time()
        self._next_tick = time.monotonic() + self._lease_ms / 3000
        stream = self.stream
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(stream.workers_key, {self.name: now})
            pipe.zremrangebyscore(stream.workers_key, "-inf", now - 3 * self._lease_ms / 1000)
            pipe.zcount(stream.workers_key, now - self._lease_ms / 1000, "+inf")
            _, _, alive = await pipe.execute()
        if self.held:
            lost = await self._renew(
                keys=[stream.lease_key(s) for s in sorted(self.held)],
                args=[self.name, self._lease_ms],
            )
            for key in lost:
                shard = int(key.rsplit(b":", 1)[1])
                log.warning("intake shard %d lease lost: its next owner takes over", shard)
                self.held.discard(shard)
                self._leaving.discard(shard)
        fair = math.ceil(stream.shards / max(1, int(alive)))
        # too many: stop reading some, and give them up once nothing of theirs is in hand
        surplus = len(self.held) - len(self._leaving) - fair
        for shard in sorted(self.held - self._leaving, reverse=True)[: max(0, surplus)]:
            self._leaving.add(shard)
        for shard in sorted(self._leaving):
            if not self._in_hand.get(shard):
                await self._release(keys=[stream.lease_key(shard)], args=[self.name])
                self.held.discard(shard)
                self._leaving.discard(shard)
        if self._stopping:
            return
        free = [s for s in range(stream.shards) if s not in self.held]
        random.shuffle(free)
        for shard in free:
            if len(self.held) >= fair:
                break
            if await self.redis.set(stream.lease_key(shard), self.name, nx=True, px=self._lease_ms):
                self.held.add(shard)
                await self._take_over(shard)
        self.backlog = await stream.backlog()
        metrics.STREAM_BACKLOG.set(self.backlog[0])
        metrics.STREAM_OLDEST_S.set(self.backlog[1])
        metrics.SHARDS_HELD.set(len(self.held))

    async def _take_over(self, shard: int) -> None:
        """A shard newly held: what earlier owners read and did not finish comes first, in
        order; entries taken too often go to the dead letters."""
        key = self.stream.key(shard)
        start = "-"
        while True:  # the pending entries, in pages
            pending: Any = await self.redis.xpending_range(
                key, GROUP, min=start, max="+", count=500
            )
            if not pending:
                break
            ids, buried = [], []
            for item in pending:
                if item["times_delivered"] >= MAX_DELIVERIES:
                    buried.append(item["message_id"])
                else:
                    ids.append(item["message_id"])
            for entry_id in buried:
                found: Any = await self.redis.xrange(key, min=entry_id, max=entry_id)
                conversation = found[0][1].get(b"c", b"").decode() if found else ""
                await self.stream.bury(shard, entry_id, conversation)
                if conversation:
                    self._buried(conversation)
            if ids:
                claimed: Any = await self.redis.xclaim(key, GROUP, self.name, 0, ids)
                present = {entry_id for entry_id, _ in claimed}
                metrics.RECLAIMED.inc(len(ids))
                for entry_id, fields in claimed:
                    await self._hand_on(shard, entry_id, fields)
                for entry_id in ids:
                    if entry_id not in present:  # deleted: finished already
                        self._finished.append((Entry(shard, entry_id, _NOTHING, 0.0), False))
            last = pending[-1]["message_id"]
            if len(pending) < 500:
                break
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))
        await self._forget_old_consumers(key)

    async def _forget_old_consumers(self, key: str) -> None:
        """Consumers of stopped processes with nothing pending are removed from the group
        (each process run reads under a name of its own)."""
        consumers: Any = await self.redis.xinfo_consumers(key, GROUP)
        for consumer in consumers:
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name != self.name and not consumer["pending"] and consumer["idle"] > self._lease_ms:
                await self.redis.xgroup_delconsumer(key, GROUP, name)


async def _back_off(tries: int, what: str, exc: BaseException) -> None:
    """Wait before trying Redis again, longer after each failure (up to 5 s)."""
    wait = RETRY_BACKOFF_S[min(tries, len(RETRY_BACKOFF_S) - 1)]
    log.warning("%s (Redis %s): trying again in %.1f s", what, type(exc).__name__, wait)
    await asyncio.sleep(wait)


def _accepted(fields: dict[bytes, bytes] | None) -> float:
    try:
        return float((fields or {}).get(b"t", b"0"))
    except ValueError:
        return 0.0


# Stands for the message of an entry that is gone or unreadable: only acknowledged.
_NOTHING = Inbound(channel="careline", conversation_id="-", user_id="-", message_id="-")
