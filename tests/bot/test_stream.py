"""The intake stream on a real Redis: storing, sharing shards out, taking over, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.models import Inbound
from bot.stream import GROUP, MAX_DELIVERIES, Entry, IntakeStream, StreamWorker
from tests.conftest import TEST_VAULT_KEY
from tests.support import eventually

SHARDS = 4


def message(conversation: str, n: int, text: str = "复诊要带什么") -> Inbound:
    return Inbound(
        channel="telegram",
        conversation_id=conversation,
        user_id=conversation,
        message_id=str(n),
        text=text,
    )


class Taker:
    """Stands in for the dispatcher: keeps what a worker hands on; finishes on request."""

    def __init__(self) -> None:
        self.taken: list[Entry] = []
        self.buried: list[str] = []
        self.worker: StreamWorker | None = None

    def take(self, entry: Entry) -> None:
        self.taken.append(entry)

    def bury(self, conversation: str) -> None:
        self.buried.append(conversation)

    def finish_all(self, outcome: str = "sent") -> None:
        assert self.worker is not None
        for entry in self.taken:
            self.worker.done(entry, outcome)
        self.taken = []


@pytest.fixture
def stream(redis_client: aioredis.Redis, prefix: str) -> IntakeStream:
    return IntakeStream(redis_client, prefix, SHARDS, TEST_VAULT_KEY)


class Workers:
    """Stream workers, each on a Redis connection of its own, as in separate processes."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.made: list[tuple[StreamWorker, aioredis.Redis]] = []

    def new(self, name: str) -> tuple[StreamWorker, Taker]:
        client = aioredis.Redis.from_url(self.redis_url)
        own = IntakeStream(client, self.prefix, SHARDS, TEST_VAULT_KEY)
        taker = Taker()
        worker = StreamWorker(own, taker.take, taker.bury, lease_s=1.0, name=name)
        taker.worker = worker
        worker.start()
        self.made.append((worker, client))
        return worker, taker

    async def kill(self, worker: StreamWorker) -> None:
        """The worker's process dies: its loop stops and its connections close, and nothing
        is given up (its leases run out)."""
        task = worker._task
        assert task is not None
        # a cancellation can be lost inside redis-py (bot.aio): the loop's stop flag as well
        worker.stop_reading()
        task.cancel()
        await asyncio.wait([task], timeout=5)
        for made, client in self.made:
            if made is worker:
                await client.aclose()

    async def stop_all(self) -> None:
        for worker, client in self.made:
            with contextlib.suppress(Exception):
                await worker.stop()
            await client.aclose()


@pytest.fixture
async def workers(redis_url: str, prefix: str) -> AsyncIterator[Workers]:
    made = Workers(redis_url, prefix)
    yield made
    await made.stop_all()


async def test_messages_are_stored_sealed_and_handed_on_in_order(
    stream: IntakeStream, redis_client: aioredis.Redis, workers: Workers
) -> None:
    msgs = [message(f"c{n % 3}", n, f"我的电话是1380013800{n}") for n in range(9)]
    assert await stream.append_many([(m, None) for m in msgs]) == [1] * 9
    for shard in range(SHARDS):  # raw patient text never sits in Redis in clear
        for _id, fields in await redis_client.xrange(stream.key(shard)):
            assert b"1380013800" not in b"".join(fields.values())
    _worker, taker = workers.new("w1")
    await eventually(lambda: len(taker.taken) == 9)
    assert [e.msg.message_id for e in taker.taken] == [str(n) for n in range(9)]
    assert taker.taken[0].msg.text == "我的电话是13800138000"
    taker.finish_all()
    await eventually(lambda: _backlog_is(stream, 0))


async def _backlog_is(stream: IntakeStream, count: int) -> bool:
    return (await stream.backlog())[0] == count


async def test_a_dedupe_key_stores_a_message_once(stream: IntakeStream) -> None:
    msg = message("c", 1)
    counts = [(await stream.append_many([(msg, "k:test-dedupe")]))[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert (await stream.backlog())[0] == 1


async def test_two_workers_share_the_shards_and_a_dead_ones_work_is_taken_over(
    stream: IntakeStream, workers: Workers
) -> None:
    first, first_taker = workers.new("w1")
    await eventually(lambda: len(first.held) == SHARDS)
    second, second_taker = workers.new("w2")
    await eventually(lambda: len(first.held) == len(second.held) == SHARDS // 2)
    # messages for every shard: each goes to whoever holds its shard
    msgs = [message(f"conv{n}", n) for n in range(16)]
    await stream.append_many([(m, None) for m in msgs])
    await eventually(lambda: len(first_taker.taken) + len(second_taker.taken) == 16)
    assert first_taker.taken and second_taker.taken
    first_shards = {e.shard for e in first_taker.taken}
    assert first_shards <= first.held and not first_shards & second.held
    # the first worker "dies" holding its entries: its leases run out, the second takes its
    # shards and the entries it had not finished, in order
    held_by_first = set(first.held)
    await workers.kill(first)
    second_taker.finish_all()
    await eventually(lambda: second.held == set(range(SHARDS)), within_s=10)
    await eventually(lambda: len(second_taker.taken) == len(first_taker.taken))
    assert {e.shard for e in second_taker.taken} <= held_by_first
    for shard in held_by_first:  # each shard's (so each conversation's) order is kept
        taken_over = [e.entry_id for e in second_taker.taken if e.shard == shard]
        assert taken_over == [e.entry_id for e in first_taker.taken if e.shard == shard]
    second_taker.finish_all()
    await eventually(lambda: _backlog_is(stream, 0))


async def test_a_message_that_crashes_every_worker_goes_to_the_dead_letters(
    stream: IntakeStream, redis_client: aioredis.Redis, workers: Workers
) -> None:
    await stream.append_many([(message("poison", 1), None)])
    for attempt in range(MAX_DELIVERIES):
        worker, taker = workers.new(f"w{attempt}")
        await eventually(lambda taker=taker: len(taker.taken) == 1, within_s=10)
        await workers.kill(worker)  # dies without finishing it
    worker, taker = workers.new("last")
    await eventually(lambda: taker.buried == ["telegram:poison"], within_s=10)
    assert taker.taken == []
    assert await redis_client.xlen(stream.dead_letters) == 1
    assert (await stream.backlog())[0] == 0


async def test_an_entry_sealed_with_another_key_is_set_aside_not_lost(
    stream: IntakeStream,
    redis_client: aioredis.Redis,
    prefix: str,
    workers: Workers,
) -> None:
    other = IntakeStream(redis_client, prefix, SHARDS, Fernet.generate_key().decode())
    await other.append_many([(message("rekeyed", 1), None)])
    _worker, taker = workers.new("w1")
    await eventually(lambda: taker.buried == ["telegram:rekeyed"])
    assert taker.taken == []
    assert await redis_client.xlen(stream.dead_letters) == 1


async def test_a_sent_reply_is_never_sent_again_by_the_next_owner(
    stream: IntakeStream, redis_client: aioredis.Redis, workers: Workers
) -> None:
    await stream.append_many([(message("c", 1), None)])
    worker, taker = workers.new("w1")
    await eventually(lambda: len(taker.taken) == 1)
    [entry] = taker.taken
    assert await stream.check_delivery(entry, worker.name) == "go"
    # sent, and the outbox mark written; the worker dies before acknowledging the entry
    await redis_client.set(stream.outbox_key(entry.msg), b"1")
    await workers.kill(worker)
    successor, next_taker = workers.new("w2")
    await eventually(lambda: len(next_taker.taken) == 1, within_s=10)
    assert await stream.check_delivery(next_taker.taken[0], successor.name) == "sent"
    # and the old owner, should it still be running, would find the shard gone
    assert await stream.check_delivery(entry, worker.name) == "lost"


async def test_an_answer_is_held_back_after_an_emergency_reply(
    stream: IntakeStream, workers: Workers
) -> None:
    await stream.append_many([(message("c", 1), None)])
    worker, taker = workers.new("w1")
    await eventually(lambda: len(taker.taken) == 1)
    [entry] = taker.taken
    await stream.mark_emergency(entry.msg.key, entry.accepted_at + 1)
    assert await stream.check_delivery(entry, worker.name) == "after_emergency"
    assert await stream.check_delivery(entry, worker.name, answer=False) == "go"


async def test_group_creation_is_idempotent(
    stream: IntakeStream, redis_client: aioredis.Redis
) -> None:
    await stream.ensure_groups()
    await stream.ensure_groups()
    groups = await redis_client.xinfo_groups(stream.key(0))
    assert [g["name"] for g in groups] == [GROUP.encode()]


async def test_a_redis_that_lost_its_data_gets_its_groups_back(
    stream: IntakeStream, redis_client: aioredis.Redis, workers: Workers
) -> None:
    """Redis restarted without an append-only file: the streams and their consumer group are
    gone. The worker makes them again and goes on reading what arrives next."""
    worker, taker = workers.new("w1")
    await eventually(lambda: len(worker.held) == SHARDS)
    await redis_client.delete(*(stream.key(shard) for shard in range(SHARDS)))
    await stream.append_many([(message("after", 1), None)])
    await eventually(lambda: [e.msg.conversation_id for e in taker.taken] == ["after"])


async def test_consumers_of_stopped_processes_leave_the_group(
    stream: IntakeStream, redis_client: aioredis.Redis, workers: Workers
) -> None:
    """Each process run reads under a name of its own; a new owner of a shard removes the
    names that have nothing pending, so the group does not grow with every restart."""
    first, taker = workers.new("old-run")
    await stream.append_many([(message("c", 1), None)])
    await eventually(lambda: len(taker.taken) == 1)
    taker.finish_all()
    await eventually(lambda: _backlog_is(stream, 0))
    await first.stop()
    shard = stream.shard_of("telegram:c")
    names = [c["name"] for c in await redis_client.xinfo_consumers(stream.key(shard), GROUP)]
    assert names == [b"old-run"]
    await asyncio.sleep(1.1)  # idle longer than a lease
    second, _ = workers.new("new-run")
    await eventually(lambda: shard in second.held)

    async def only_the_new_run() -> bool:
        consumers = await redis_client.xinfo_consumers(stream.key(shard), GROUP)
        return [c["name"] for c in consumers] in ([], [b"new-run"])

    await eventually(only_the_new_run)
