"""The model's triage verdict, the second line of defence: the real dispatcher, real Redis and
the real model clients against loopback fakes of Ollama's and the OpenAI API's HTTP servers.

The messages below are ones the lexicon does not escalate (each test checks that first), so
whatever escalation follows is the verdict's doing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

import bot.writing
from bot.dispatcher import Dispatcher
from bot.handoff import HandoffState
from bot.llm import make_llm
from bot.models import EXTRA_DRAFTS, Inbound, OutboundKind
from bot.triage import TriageVerdict, triage_messages
from safety.emergency import assess
from tests.bot.test_dispatcher import CHANNEL, Recorder, inbound
from tests.conftest import make_settings
from tests.fakes import Failure
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_api import FakeOpenAI

PHONE = "13912345678"
# Worded so that the lexicon lets it through; only the model can see the danger in it.
QUIET = "这几天把想说的话都录好了，留给女儿，以后她会懂的"
EMERGENCY = json.dumps({"emergency": True, "category": "self_harm"})
ANSWER = "建议多休息，多喝水。"


class DraftRecorder(Recorder):
    """A channel that shows the answer as it grows."""

    def __init__(self) -> None:
        super().__init__()
        self.drafts: list[str] = []

    async def draft(self, msg: Inbound, text: str) -> None:
        self.drafts.append(text)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(reply=ANSWER) as server:
        yield server


async def start(
    fake_url: str,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis: aioredis.Redis,
    recorder: Recorder,
    **overrides: Any,
) -> Dispatcher:
    if fake_url:
        overrides.setdefault("ollama_host", fake_url)
    settings = make_settings(redis_url, prefix, tmp_path, **overrides)
    return Dispatcher(settings, redis, make_llm(settings), {CHANNEL: recorder})


@pytest.fixture
async def rig(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[tuple[Dispatcher, Recorder]]:
    recorder = Recorder()
    dispatcher = await start(fake.url, redis_url, prefix, tmp_path, redis_client, recorder)
    try:
        yield dispatcher, recorder
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


def test_the_quiet_message_is_one_the_lexicon_lets_through() -> None:
    assert not assess(QUIET, "zh").escalate


async def test_an_emergency_verdict_escalates_as_the_lexicon_does(
    rig: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = rig
    fake.triage_reply = EMERGENCY
    fake.delay = 0.3  # the answer would come after the verdict
    await dispatcher.submit(inbound(f"{QUIET}，我电话{PHONE}"))
    await dispatcher.drain()
    [out] = recorder.sent
    assert out.kind is OutboundKind.EMERGENCY
    assert "心理援助热线" in out.text  # the self-harm template, with the crisis line
    assert ANSWER not in out.text
    chat = await dispatcher.handoff.chat(f"{CHANNEL}:c1")
    assert chat is not None and chat.state is HandoffState.WAITING
    assert (chat.reason, chat.category, chat.level) == ("emergency", "self_harm", "emergency")
    alerts = await dispatcher.redis.xrange(dispatcher.handoff.alert_stream)
    assert alerts and alerts[0][1][b"reason"] == b"emergency"
    # The model was asked on masked text, for a verdict in the schema, deterministically.
    [body] = fake.triage_bodies
    assert body["format"] == TriageVerdict.model_json_schema()
    assert body["options"]["temperature"] == 0
    assert PHONE not in json.dumps(body, ensure_ascii=False)
    assert "留给女儿" in body["messages"][-1]["content"]


async def test_a_verdict_after_the_answer_still_withholds_it(rig: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = rig
    fake.triage_reply = EMERGENCY
    fake.triage_delay = 0.5  # the answer is ready first and waits for the verdict
    await dispatcher.submit(inbound(QUIET))
    await dispatcher.drain()
    assert [o.kind for o in recorder.sent] == [OutboundKind.EMERGENCY]
    assert len(fake.answer_bodies) == 1


async def test_an_early_verdict_stops_the_answer_being_written(rig: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = rig
    fake.triage_reply = EMERGENCY
    fake.delay = 30  # an answer that would take far longer than the test may
    await dispatcher.submit(inbound(QUIET))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.EMERGENCY
    await dispatcher.drain()
    # careline is done with the message while the model still "writes" the answer nobody
    # waits for any more.
    assert fake.in_flight == 1
    assert len(fake.answer_bodies) == 1
    assert len(recorder.sent) == 1


@pytest.mark.parametrize(
    ("verdict", "failure"),
    [
        (json.dumps({"emergency": False, "category": "none"}), None),
        (json.dumps({"emergency": "maybe", "category": "none"}), None),  # outside the schema
        ("不是急症", None),  # not JSON at all
        (EMERGENCY, Failure.ERROR_500),  # the verdict request fails
    ],
)
async def test_no_verdict_of_emergency_changes_nothing(
    rig: Any, fake: FakeOllama, verdict: str, failure: Failure | None
) -> None:
    dispatcher, recorder = rig
    fake.triage_reply = verdict
    fake.triage_fail = failure
    await dispatcher.submit(inbound(QUIET))
    await dispatcher.drain()
    [out] = recorder.sent
    assert out.kind is OutboundKind.ANSWER and out.text.startswith(ANSWER)
    assert len(fake.triage_bodies) == 1
    assert await dispatcher.handoff.state(f"{CHANNEL}:c1") is HandoffState.BOT


async def test_a_late_verdict_does_not_hold_the_answer_back(
    rig: Any, fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher, recorder = rig
    monkeypatch.setattr(bot.writing, "TRIAGE_GRACE_S", 0.2)
    fake.triage_reply = EMERGENCY
    fake.triage_delay = 30
    await dispatcher.submit(inbound(QUIET))
    await dispatcher.drain()
    [out] = recorder.sent
    assert out.kind is OutboundKind.ANSWER


async def test_triage_can_be_turned_off(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    recorder = Recorder()
    dispatcher = await start(
        fake.url, redis_url, prefix, tmp_path, redis_client, recorder, model_triage=False
    )
    fake.triage_reply = EMERGENCY
    try:
        await dispatcher.submit(inbound(QUIET))
        await dispatcher.drain()
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
    assert [o.kind for o in recorder.sent] == [OutboundKind.ANSWER]
    assert fake.triage_bodies == [] and len(fake.answer_bodies) == 1


async def test_a_lexicon_emergency_never_waits_for_or_asks_the_model(
    rig: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = rig
    fake.triage_delay = fake.delay = 30
    await dispatcher.submit(inbound("我爸突然胸口剧痛，满头大汗，喘不上气"))
    [out] = recorder.sent  # answered before submit returned
    assert out.kind is OutboundKind.EMERGENCY
    await dispatcher.drain()
    assert fake.chat_bodies == []


async def test_earlier_messages_are_context_for_the_verdict(rig: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = rig
    await dispatcher.submit(inbound("我左边胳膊有点麻"))
    await dispatcher.drain()
    fake.triage_reply = json.dumps({"emergency": True, "category": "cardiac"})
    await dispatcher.submit(inbound("现在背上也湿透了"))
    await dispatcher.drain()
    assert [o.kind for o in recorder.sent] == [OutboundKind.ANSWER, OutboundKind.EMERGENCY]
    assert "心" in recorder.sent[1].text or "胸" in recorder.sent[1].text  # the cardiac template
    latest = fake.triage_bodies[-1]["messages"][-1]["content"]
    assert latest.index("胳膊有点麻") < latest.index("背上也湿透了")


async def test_drafts_wait_for_the_verdict(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    recorder = DraftRecorder()
    dispatcher = await start(fake.url, redis_url, prefix, tmp_path, redis_client, recorder)
    fake.reply = "多喝水，注意休息。" * 20
    fake.chunk_delay = 0.05  # about 2 s of streaming: drafts are due every 0.7 s
    try:
        # An emergency verdict that comes while the answer streams: no draft was shown.
        fake.triage_reply = EMERGENCY
        fake.triage_delay = 1.2
        await dispatcher.submit(inbound(QUIET, extras={EXTRA_DRAFTS: "1"}))
        await dispatcher.drain()
        assert recorder.drafts == []
        assert [o.kind for o in recorder.sent] == [OutboundKind.EMERGENCY]
        # The same answer with a verdict of no emergency is shown as it grows.
        fake.triage_reply = json.dumps({"emergency": False, "category": "none"})
        await dispatcher.submit(inbound("最近总是失眠", "c2", extras={EXTRA_DRAFTS: "1"}))
        await dispatcher.drain()
        assert recorder.drafts
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def test_the_openai_compatible_backend_asks_with_a_response_format(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    recorder = Recorder()
    async with FakeOpenAI(reply=ANSWER) as server:
        server.triage_reply = EMERGENCY
        server.delay = 0.3
        dispatcher = await start(
            "",
            redis_url,
            prefix,
            tmp_path,
            redis_client,
            recorder,
            llm_backend="openai",
            openai_base_url=f"{server.url}/v1",
        )
        try:
            await dispatcher.submit(inbound(QUIET))
            await dispatcher.drain()
        finally:
            await dispatcher.aclose()
            await dispatcher.llm.aclose()
        [body] = server.triage_bodies
    assert [o.kind for o in recorder.sent] == [OutboundKind.EMERGENCY]
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]) == {"emergency", "category"}
    assert body["temperature"] == 0


def test_an_emergency_without_a_known_category_gets_the_general_template() -> None:
    found = TriageVerdict(emergency=True, category="none").assessment("en")
    assert found is not None and found.escalate and found.category == "other"
    assert TriageVerdict(emergency=False, category="cardiac").assessment("en") is None


def test_the_prompt_keeps_a_few_earlier_messages_in_order() -> None:
    messages = triage_messages("now", ["one", "two", "three", "four"], "en")
    user = messages[-1].content
    assert "one" not in user
    assert user.index("two") < user.index("three") < user.index("four") < user.index("now")
    assert messages[0].role == "system" and "JSON" in messages[0].content
