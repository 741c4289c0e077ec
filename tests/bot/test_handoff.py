"""The handoff state machine, its timers and the escalation follow-ups, against real Redis.

Time is a clock the test moves (the store and the worker read it), so timeouts are exercised
without waiting; the loopback fakes stand in for Ollama and the Telegram Bot API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters import registry
from bot import metrics
from bot.audit import AuditLog
from bot.config import Settings
from bot.console.summary import HandoffSummary, SummaryStore
from bot.console.transcript import Transcript
from bot.console.worker import HandoffWorker
from bot.context import ContextStore, Exchange
from bot.handoff import DueTask, HandoffState, HandoffStore, Outcome
from bot.llm import make_llm
from bot.models import Outbound
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama
from tests.fakes.telegram_api import FakeTelegramAPI

# A Wednesday, 10:00 in Shanghai: inside "Mon-Fri 08:00-17:00".
OPEN_TIME = datetime(2025, 3, 5, 2, 0, tzinfo=UTC).timestamp()
# The Saturday after, 10:00 in Shanghai.
CLOSED_TIME = datetime(2025, 3, 8, 2, 0, tzinfo=UTC).timestamp()
CONV = "telegram:4242"
CLAIM_TIMEOUT_S = 120
IDLE_S = 300


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, out: Outbound) -> None:
        self.sent.append(out)


def store_for(redis: aioredis.Redis, prefix: str, clock: Clock) -> HandoffStore:
    return HandoffStore(redis, prefix, 3600, staff_idle_s=IDLE_S, clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock(OPEN_TIME)


@pytest.fixture
def store(redis_client: aioredis.Redis, prefix: str, clock: Clock) -> HandoffStore:
    return store_for(redis_client, prefix, clock)


# ------------------------------------------------------------ state machine


async def test_transitions(store: HandoffStore, clock: Clock) -> None:
    assert await store.state(CONV) is HandoffState.BOT
    assert await store.claim(CONV, "alice") is Outcome.NOT_HELD
    assert await store.escalate(CONV, "patient_request")
    assert not await store.escalate(CONV, "llm_failure")  # already waiting: unchanged
    chat = await store.chat(CONV)
    assert chat is not None and chat.state is HandoffState.WAITING
    assert chat.reason == "patient_request"

    clock.now += 30
    waits = _handoff_waits()
    assert await store.claim(CONV, "alice") is Outcome.DONE
    assert await store.claim(CONV, "alice") is Outcome.ALREADY
    count, total = _handoff_waits()
    assert (count - waits[0], total - waits[1]) == (1, pytest.approx(30.0))  # /metrics
    assert await store.claim(CONV, "bob") is Outcome.TAKEN
    # An emergency in a held chat: staff keep it, but it is raised and goes first.
    assert await store.escalate(CONV, "emergency", "cardiac", "emergency")
    raised = await store.chat(CONV)
    assert raised is not None and raised.state is HandoffState.STAFF
    assert raised.claimed_by == "alice" and raised.emergency and raised.level == "emergency"
    assert raised.first_reason == "patient_request" and raised.category == "cardiac"
    assert await store.touch(CONV, "bob") is Outcome.TAKEN
    assert await store.release_by(CONV, "bob") is Outcome.TAKEN
    assert await store.close(CONV, "bob") is Outcome.TAKEN
    assert await store.touch(CONV, "alice") is Outcome.DONE
    assert await store.recent_claim_delays() == [30.0]

    assert await store.close(CONV, "alice") is Outcome.DONE
    assert await store.state(CONV) is HandoffState.CLOSED
    assert [c.conversation for c in await store.held()] == []
    assert await store.touch(CONV, "alice") is Outcome.NOT_HELD

    # A closed chat can escalate again, as a fresh record.
    assert await store.escalate(CONV, "emergency", "cardiac", "high")
    chat = await store.chat(CONV)
    assert chat is not None and chat.claimed_by == "" and chat.emergency
    # Nobody may close or release a waiting emergency before claiming it.
    assert await store.release_by(CONV, "bob") is Outcome.CLAIM_FIRST
    assert await store.close(CONV, "bob") is Outcome.CLAIM_FIRST
    assert await store.claim(CONV, "bob") is Outcome.DONE
    assert await store.release_by(CONV, "bob") is Outcome.DONE
    assert await store.state(CONV) is HandoffState.BOT
    assert await store.escalate(CONV, "patient_request")
    assert await store.release_by(CONV, "alice") is Outcome.DONE  # waiting: anyone may release
    assert await store.due() == []


async def test_two_claims_at_once_one_wins(
    redis_url: str, prefix: str, redis_client: aioredis.Redis, clock: Clock
) -> None:
    """Many staff members on several connections (as on several replicas) claim at once."""
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(4)]
    try:
        stores = [store_for(c, prefix, clock) for c in clients]
        for round_ in range(20):
            conv = f"wechat:race-{round_}"
            assert await stores[0].escalate(conv, "emergency")
            outcomes = await asyncio.gather(
                *(stores[i % len(stores)].claim(conv, f"staff{i}") for i in range(8))
            )
            assert outcomes.count(Outcome.DONE) == 1
            assert outcomes.count(Outcome.TAKEN) == len(outcomes) - 1
            winner = f"staff{outcomes.index(Outcome.DONE)}"
            chat = await stores[1].chat(conv)
            assert chat is not None and chat.claimed_by == winner
    finally:
        for c in clients:
            await c.aclose()


async def test_queue_puts_emergencies_first_then_longest_wait(
    store: HandoffStore, clock: Clock
) -> None:
    await store.escalate("telegram:1", "patient_request")
    clock.now += 10
    await store.escalate("wechat:2", "llm_failure")
    clock.now += 10
    await store.escalate("telegram:3", "emergency", "stroke", "high")
    clock.now += 10
    await store.escalate("wechat:4", "emergency", "cardiac", "high")
    order = [c.conversation for c in await store.held()]
    assert order == ["telegram:3", "wechat:4", "telegram:1", "wechat:2"]


async def test_transitions_are_audited_without_text(
    store: HandoffStore, redis_client: aioredis.Redis, prefix: str
) -> None:
    await store.escalate(CONV, "emergency", "cardiac", "high")
    await store.claim(CONV, "alice")
    await store.touch(CONV, "alice", "chars=12")
    await store.release_by(CONV, "alice")
    entries = [e async for e in AuditLog(redis_client, prefix).entries()]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("system", "escalate"),
        ("alice", "claim"),
        ("alice", "staff_message"),
        ("alice", "release"),
    ]
    assert all(e["conversation"] == CONV for e in entries)


# -------------------------------------------------------------------- timers


@pytest.fixture
async def parts(
    redis_url: str, redis_client: aioredis.Redis, prefix: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[dict[str, Any]]:
    async with FakeOllama(reply="not json") as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            handoff_claim_timeout_s=CLAIM_TIMEOUT_S,
            handoff_staff_idle_s=IDLE_S,
        )
        yield await _parts(settings, redis_client, clock, fake)


async def _parts(
    settings: Settings, redis: aioredis.Redis, clock: Clock, fake: FakeOllama
) -> dict[str, Any]:
    store = store_for(redis, settings.redis_prefix, clock)
    transcript = Transcript(redis, settings.redis_prefix, 10, 3600)
    summaries = SummaryStore(redis, settings.redis_prefix, 3600)
    recorder = Recorder()
    llm = make_llm(settings)
    worker = HandoffWorker(
        settings,
        store,
        transcript,
        summaries,
        llm,
        {"telegram": recorder},
        alerts=registry.staff_alerts(settings),
    )
    context = ContextStore(redis, settings.redis_prefix, 10, 4000, 3600)
    return {
        "settings": settings,
        "store": store,
        "worker": worker,
        "recorder": recorder,
        "context": context,
        "summaries": summaries,
        "fake": fake,
        "llm": llm,
    }


async def test_wait_notice_then_claim_timeout_once(parts: dict[str, Any], clock: Clock) -> None:
    store, worker, recorder = parts["store"], parts["worker"], parts["recorder"]
    await parts["context"].append(CONV, Exchange("我想和人工客服聊聊", ""))
    await store.escalate(CONV, "patient_request")
    assert await worker.run_due() == 0  # the wait notice follows the dispatcher's reply
    clock.now += 2
    assert await worker.run_due() == 1
    [wait] = recorder.sent
    assert wait.conversation_id == "4242" and wait.lang == "zh"
    assert "预计等待约 2 分钟" in wait.text and "Mon-Fri 08:00-17:00" in wait.text

    clock.now += CLAIM_TIMEOUT_S - 10
    assert await worker.run_due() == 0
    clock.now += 10
    # Two replicas' timers at once: the timeout is told once.
    done = await asyncio.gather(worker.run_due(), worker.run_due())
    assert sum(done) == 1
    assert "010-12345678" in recorder.sent[-1].text
    await parts["llm"].aclose()


async def test_emergency_patient_gets_no_wait_estimate_but_numbers_on_timeout(
    parts: dict[str, Any], clock: Clock
) -> None:
    store, worker, recorder = parts["store"], parts["worker"], parts["recorder"]
    await parts["context"].append(CONV, Exchange("我胸口很痛，喘不上气", "紧急回复"))
    await store.escalate(CONV, "emergency", "cardiac", "emergency")
    clock.now += 2
    await worker.run_due()
    # The emergency reply already told them to call 120: "expect 10 minutes" would undo it.
    assert not any("预计等待" in o.text for o in recorder.sent)

    clock.now += CLAIM_TIMEOUT_S - 10
    assert await worker.run_due() == 0
    clock.now += 10
    # Two replicas' timers at once: the timeout is told once.
    done = await asyncio.gather(worker.run_due(), worker.run_due())
    assert sum(done) == 1
    timeout = recorder.sent[-1]
    assert "010-12345678" in timeout.text and "120" in timeout.text  # emergency: numbers again
    assert (await store.chat(CONV)).timed_out  # type: ignore[union-attr]
    assert await store.state(CONV) is HandoffState.WAITING  # still in the queue
    clock.now += 3600
    assert await worker.run_due() == 0
    await worker.drain()
    await parts["llm"].aclose()


async def test_claim_in_time_cancels_timeout_and_idle_releases(
    parts: dict[str, Any], clock: Clock
) -> None:
    store, worker, recorder = parts["store"], parts["worker"], parts["recorder"]
    await parts["context"].append(CONV, Exchange("please call me back", ""))
    await store.escalate(CONV, "patient_request")
    clock.now += 2
    await worker.run_due()
    assert recorder.sent[-1].lang == "en" and "about 2 minutes" in recorder.sent[-1].text
    assert await store.claim(CONV, "alice") is Outcome.DONE
    clock.now += CLAIM_TIMEOUT_S + 1
    assert await worker.run_due() == 0  # no timeout for a claimed chat
    clock.now += IDLE_S - CLAIM_TIMEOUT_S - 10
    assert await store.touch(CONV, "alice") is Outcome.DONE  # activity restarts the idle timer
    clock.now += IDLE_S - 1
    assert await worker.run_due() == 0
    clock.now += 2
    assert await worker.run_due() == 1
    assert await store.state(CONV) is HandoffState.BOT
    assert "no activity" in recorder.sent[-1].text
    await worker.drain()
    await parts["llm"].aclose()


async def test_outside_opening_hours_gives_the_phone_number_at_once(
    parts: dict[str, Any], clock: Clock
) -> None:
    store, worker, recorder = parts["store"], parts["worker"], parts["recorder"]
    clock.now = CLOSED_TIME
    await parts["context"].append(CONV, Exchange("想咨询一下挂号", ""))
    await store.escalate(CONV, "patient_request")
    clock.now += 2
    await worker.run_due()
    [notice] = recorder.sent
    assert "不在人工服务时间" in notice.text and "010-12345678" in notice.text
    assert "120" not in notice.text  # not an emergency
    assert (DueTask.CLAIM, CONV) not in await store.due(clock.now + 10 * CLAIM_TIMEOUT_S)
    await worker.drain()
    await parts["llm"].aclose()


class LosesCancellation:
    """A channel whose send loses one cancellation and then finishes normally, as a library
    call does on Python 3.11 when the cancellation lands just as an ``asyncio.wait_for``
    inside it completes (redis-py sends every command that way)."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()
        self.sent: list[Outbound] = []

    async def send(self, out: Outbound) -> None:
        self.sending.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()  # never set: only a cancellation ends it
        self.sent.append(out)


async def test_timers_stop_even_when_a_cancellation_is_lost(
    parts: dict[str, Any], clock: Clock, redis_client: aioredis.Redis
) -> None:
    settings: Settings = parts["settings"]
    channel = LosesCancellation()
    transcript = Transcript(redis_client, settings.redis_prefix, 10, 3600)
    worker = HandoffWorker(
        settings,
        parts["store"],
        transcript,
        parts["summaries"],
        parts["llm"],
        {"telegram": channel},
    )
    await parts["store"].escalate(CONV, "patient_request")
    clock.now += 2
    worker.start()
    await channel.sending.wait()  # the timers are inside a send when the server stops
    async with asyncio.timeout(30):  # a hang guard, not a timing check
        await worker.stop()
    assert len(channel.sent) == 1  # the send swallowed the cancellation and finished
    timers = [t for t in asyncio.all_tasks() if t.get_name() == "handoff-timers"]
    assert timers == []  # the loop ended instead of being left behind
    await worker.drain()
    await parts["llm"].aclose()


# ------------------------------------------------------- summary and alerts


def _summary_reply(body: dict[str, Any]) -> str:
    if "format" not in body:
        return "plain"
    return json.dumps(
        {
            "chief_complaint": "胸痛",
            "symptoms": ["胸痛", "气短"],
            "duration": "半小时",
            "red_flags": ["胸痛伴气短"],
            "patient_wants": "希望医生尽快回复",
        },
        ensure_ascii=False,
    )


async def test_summary_from_masked_text_with_structured_output(
    parts: dict[str, Any], clock: Clock
) -> None:
    fake: FakeOllama = parts["fake"]
    fake.reply = _summary_reply
    await parts["context"].append(CONV, Exchange("我是[姓名1]，胸口痛半小时，电话[电话1]", "x"))
    await parts["store"].escalate(CONV, "emergency", "cardiac", "high")
    clock.now += 2
    await parts["worker"].run_due()
    await parts["worker"].drain()
    [body] = fake.chat_bodies
    assert body["format"] == HandoffSummary.model_json_schema()
    assert "[电话1]" in body["messages"][1]["content"]
    [summary] = await parts["summaries"].load_many([CONV])
    assert summary is not None and summary.red_flags == ["胸痛伴气短"]
    assert "主诉：胸痛" in summary.paragraph("zh")
    await parts["llm"].aclose()


async def test_summary_outside_the_schema_is_not_stored(
    parts: dict[str, Any], clock: Clock
) -> None:
    parts["fake"].reply = lambda body: json.dumps({"chief_complaint": "x"})
    await parts["context"].append(CONV, Exchange("头疼", ""))
    await parts["store"].escalate(CONV, "patient_request")
    clock.now += 2
    await parts["worker"].run_due()
    await parts["worker"].drain()
    assert len(parts["fake"].chat_bodies) == 1
    assert await parts["summaries"].load_many([CONV]) == [None]
    await parts["llm"].aclose()


async def test_staff_group_alert_for_an_emergency_has_no_patient_details(
    redis_url: str, redis_client: aioredis.Redis, prefix: str, tmp_path: Path, clock: Clock
) -> None:
    async with FakeTelegramAPI() as telegram, FakeOllama(reply="x") as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            telegram_token=telegram.token,
            telegram_api_base=telegram.url,
            staff_telegram_chat_id="-100123",
        )
        parts = await _parts(settings, redis_client, clock, fake)
        await parts["context"].append(CONV, Exchange("我叫[姓名1]，胸口痛", ""))
        await parts["store"].escalate(CONV, "emergency", "cardiac", "high")
        await parts["store"].escalate("telegram:77", "patient_request")
        clock.now += 2
        await parts["worker"].run_due()
        await parts["worker"].drain()
        [alert] = telegram.calls_to("sendMessage")
        assert str(alert["chat_id"]) == "-100123"
        assert "cardiac" in alert["text"] and "telegram" in alert["text"]
        assert "4242" not in alert["text"] and "姓名" not in alert["text"]
        await parts["worker"].stop()
        await parts["llm"].aclose()


async def test_a_chat_taken_from_a_disabled_holder_waits_with_a_new_deadline(
    store: HandoffStore, clock: Clock
) -> None:
    assert await store.escalate(CONV, "patient_request")
    clock.now += 10
    assert await store.claim(CONV, "alice") is Outcome.DONE
    clock.now += 3000  # long after the first claim deadline would have passed
    assert await store.unclaim_all("alice", "account_disabled", 600) == [CONV]
    chat = await store.chat(CONV)
    assert chat is not None and chat.state is HandoffState.WAITING and not chat.claimed_by
    assert (DueTask.CLAIM, CONV) not in await store.due()
    assert (DueTask.CLAIM, CONV) in await store.due(clock.now + 600)


def _handoff_waits() -> tuple[float, float]:
    """The handoff-wait histogram's count and sum, as /metrics shows them."""
    sample = metrics.REGISTRY.get_sample_value
    return (
        sample("careline_handoff_wait_seconds_count") or 0.0,
        sample("careline_handoff_wait_seconds_sum") or 0.0,
    )
