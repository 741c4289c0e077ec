"""The staff console's inbox over the real server (issue #15): an emergency in a chat already
in front of staff is raised at once, a reply counts only once the channel took it, a
disabled account is out at once, who may open and reveal a chat, a waiting emergency must
be claimed before it ends, and what the patient is told. Real Redis and dispatcher, a
loopback Ollama, a loopback Telegram Bot API for the staff group, and a recording channel
in place of the patient's WeChat or Telegram. ``tests/bot/console/test_console_history.py``
shares the rig.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from bot.audit import AuditLog
from bot.config import Settings
from bot.handoff import HandoffStore
from bot.models import ButtonId, Inbound, InboundKind, Outbound, OutboundKind
from bot.server import build_app
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama
from tests.fakes.telegram_api import FakeTelegramAPI

PASSWORD = "correct horse battery"
API = "/console/api"
STAFF_GROUP = "-100777"
DEADLINE_S = 3.0
RETENTION_DAYS = 9
BOT_REPLY = "这是助手的回答。"
CHEST = "我胸口剧痛，喘不上气"
OVERDOSE = "I took 40 sleeping pills, I want to die"
PHONE = "13912345678"


class Channel(RecordingChannel):
    """The recording channel, running ``on_send`` as each message is handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.on_send: Callable[[Outbound], Awaitable[None]] | None = None

    async def send(self, out: Outbound) -> None:
        if self.on_send is not None:
            await self.on_send(out)
        await super().send(out)


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any

    @property
    def code(self) -> str:
        return str(self.body.get("code", "")) if isinstance(self.body, dict) else ""


class Staff:
    """One staff member's browser: its own cookies, session and CSRF token."""

    def __init__(self, client: TestClient[Any, Any], name: str) -> None:
        self.client = client
        self.name = name
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    def url(self, path: str) -> str:
        return str(self.client.make_url(f"{API}{path}"))

    async def login(self) -> Staff:
        answer = await self.post("/login", {"name": self.name, "password": PASSWORD})
        assert answer.status == 200, answer.body
        self.csrf = answer.body["csrf"]
        return self

    async def _answer(self, resp: aiohttp.ClientResponse) -> Answer:
        async with resp:
            text = await resp.text()
            body = json.loads(text) if resp.content_type == "application/json" else text
            return Answer(resp.status, body, resp.headers)

    async def get(self, path: str) -> Answer:
        return await self._answer(await self.http.get(self.url(path)))

    async def post(self, path: str, body: Any = None) -> Answer:
        headers = {"X-CSRF-Token": self.csrf}
        return await self._answer(
            await self.http.post(self.url(path), json=body or {}, headers=headers)
        )

    async def queue(self) -> list[dict[str, Any]]:
        answer = await self.get("/queue")
        assert answer.status == 200, answer.body
        return list(answer.body["chats"])

    async def events(self) -> aiohttp.ClientResponse:
        """The live event stream, once it has said hello."""
        resp = await self.http.get(self.url("/events"))
        assert resp.status == 200
        await next_event(resp, lambda e: e["event"] == "hello")
        return resp


@dataclass
class Rig:
    client: TestClient[Any, Any]
    channel: Channel
    redis: aioredis.Redis
    prefix: str
    settings: Settings
    telegram: FakeTelegramAPI
    browsers: list[Staff] = field(default_factory=list)

    async def staff(self, name: str) -> Staff:
        browser = Staff(self.client, name)
        self.browsers.append(browser)
        return await browser.login()

    async def audit(self, conversation: str) -> list[tuple[str, str]]:
        log = AuditLog(self.redis, self.prefix)
        return [
            (e["actor"], e["action"])
            async for e in log.entries()
            if e["conversation"] == conversation
        ]

    def notice(self, template: str, lang: str) -> str:
        return self.settings.hospital.render(template, lang)

    def group_alerts(self) -> list[str]:
        calls = self.telegram.calls_to("sendMessage")
        return [str(c["text"]) for c in calls if str(c["chat_id"]) == STAFF_GROUP]

    async def press_human(self, patient: str, lang: str = "", *, settle: bool = True) -> None:
        """The patient presses "talk to a staff member"; returns once they have been told the
        request was passed on and (``settle``) the expected wait, which follows within a
        second (the opening hours are always open)."""
        channel = self.channel
        assert channel.context is not None
        before = len(channel.to(patient))
        await channel.context.submit(
            Inbound(
                channel=channel.channel,
                conversation_id=patient,
                user_id=patient,
                message_id=f"human-{patient}-{before}",
                kind=InboundKind.BUTTON,
                text=ButtonId.HUMAN.value,
                language=lang,
            )
        )
        await channel.wait_for(lambda: len(channel.to(patient)) >= before + (2 if settle else 1))

    async def says(self, patient: str, text: str) -> None:
        """A message the bot answers: returns once the answer is sent."""
        before = len(self.channel.to(patient))
        await self.channel.submit(patient, text)
        await self.channel.wait_for(lambda: len(self.channel.to(patient)) > before)


@contextlib.asynccontextmanager
async def open_rig(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[Rig]:
    accounts = StaffAccounts(redis_client, prefix)
    for name in ("alice", "bob"):
        await accounts.add(name, PASSWORD)
    await accounts.add("carol", PASSWORD, "lead")
    channel = Channel()
    async with FakeTelegramAPI() as telegram, FakeOllama(reply=BOT_REPLY) as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            telegram_token=telegram.token,
            telegram_api_base=telegram.url,
            staff_telegram_chat_id=STAFF_GROUP,
            transcript_retention_days=RETENTION_DAYS,
            hospital_opening_hours="around the clock",
        )
        async with TestClient(TestServer(build_app(settings, adapters=[channel]))) as client:
            rig = Rig(client, channel, redis_client, prefix, settings, telegram)
            try:
                yield rig
            finally:
                for browser in rig.browsers:
                    await browser.http.close()


@pytest.fixture
async def rig(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[Rig]:
    async with open_rig(redis_url, prefix, tmp_path, redis_client) as opened:
        yield opened


async def next_event(resp: aiohttp.ClientResponse, predicate: Any) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE_S):
        while True:
            line = (await resp.content.readline()).decode().strip()
            assert line or not resp.content.at_eof(), "the event stream ended"
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if predicate(event):
                    return dict(event)


async def until_queued(staff: Staff, conversation: str) -> dict[str, Any]:
    """The conversation's queue item, once it is there (escalation runs beside the reply)."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            for item in await staff.queue():
                if item["conversation"] == conversation:
                    return item
            await asyncio.sleep(0.05)


# ------------------------------------------------------------- the check


@pytest.mark.parametrize("held", [True, False], ids=["held", "waiting"])
async def test_an_emergency_in_a_chat_before_staff_is_raised_at_once(rig: Rig, held: bool) -> None:
    alice = await rig.staff("alice")
    await rig.press_human("61001")  # patient A asked first
    await rig.press_human("61002")
    if held:
        assert (await alice.post("/chats/telegram:61002/claim")).status == 200
    events = await alice.events()
    text = OVERDOSE if held else CHEST
    await rig.channel.submit("61002", text)
    assert rig.channel.to("61002")[-1].kind is OutboundKind.EMERGENCY

    async with asyncio.timeout(DEADLINE_S):
        raised = await next_event(
            events, lambda e: e["event"] == "escalated" and e["conversation"] == "telegram:61002"
        )
        while True:
            chats = await alice.queue()
            if chats[0]["conversation"] == "telegram:61002" and rig.group_alerts():
                break
            await asyncio.sleep(0.05)
    events.close()
    assert raised["again"] == "1" and raised["level"] == "emergency"
    assert raised["held_by"] == ("alice" if held else "")
    assert [c["conversation"] for c in chats] == ["telegram:61002", "telegram:61001"]
    first = chats[0]
    assert first["level"] == "emergency" and first["emergency"] is True
    assert first["state"] == ("staff" if held else "waiting")
    assert first["claimed_by"] == ("alice" if held else "")
    assert first["first_reason"] == "patient_request"
    assert not chats[1]["emergency"]
    [alert] = rig.group_alerts()
    assert ("alice" in alert) is held
    for detail in ("sleeping", "pills", "胸口", "喘", "61002"):
        assert detail not in alert


async def test_the_staff_group_alert_gives_the_time_of_the_emergency(rig: Rig) -> None:
    alice = await rig.staff("alice")
    await rig.press_human("61003")
    assert (await alice.post("/chats/telegram:61003/claim")).status == 200
    key = HandoffStore(rig.redis, rig.prefix, 1).key("telegram:61003")
    since = float(await rig.redis.hget(key, "since") or 0) - 3 * 3600
    await rig.redis.hset(key, "since", f"{since:.3f}")  # the chat has been open three hours
    await rig.channel.submit("61003", OVERDOSE)
    await rig.telegram.wait_for(lambda: bool(rig.group_alerts()), DEADLINE_S)
    [alert] = rig.group_alerts()
    raised = (await alice.get("/chats/telegram:61003")).body["emergency_at"]

    def clock(at: float) -> str:
        return datetime.fromtimestamp(at, ZoneInfo(rig.settings.handoff_timezone)).strftime("%H:%M")

    assert clock(raised) in alert and clock(since) not in alert


# ---------------------------------------------------------------------- replies


async def test_a_reply_counts_only_once_the_channel_took_it(rig: Rig) -> None:
    conv = "telegram:62001"
    await rig.press_human("62001")
    alice = await rig.staff("alice")
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    told = len(rig.channel.to("62001"))

    rig.channel.failures = 1
    failed = await alice.post(f"/chats/{conv}/reply", {"text": "您好，我是值班护士"})
    assert failed.status == 502 and failed.code == "channel_failed"
    assert ("alice", "staff_message_failed") in await rig.audit(conv)
    assert ("alice", "staff_message") not in await rig.audit(conv)
    chat = await alice.get(f"/chats/{conv}")
    assert [x for x in chat.body["transcript"] if x["role"] == "staff"] == []
    assert len(rig.channel.to("62001")) == told

    audited_at_send: list[list[tuple[str, str]]] = []

    async def look(out: Outbound) -> None:
        audited_at_send.append(await rig.audit(conv))

    rig.channel.on_send = look
    sent = await alice.post(f"/chats/{conv}/reply", {"text": "您好，我是值班护士"})
    assert sent.status == 200
    rig.channel.on_send = None
    assert rig.channel.to("62001")[-1].text == "您好，我是值班护士"
    assert ("alice", "staff_message") not in audited_at_send[0]  # not before the channel had it
    assert (await rig.audit(conv)).count(("alice", "staff_message")) == 1
    chat = await alice.get(f"/chats/{conv}")
    assert [x["text"] for x in chat.body["transcript"] if x["role"] == "staff"] == [
        "您好，我是值班护士"
    ]

    too_long = await alice.post(f"/chats/{conv}/reply", {"text": "好" * 2001})
    assert too_long.status == 413 and too_long.code == "too_long"

    carol = await rig.staff("carol")  # a lead takes the chat over: alice's claim is lost
    assert (await carol.post(f"/chats/{conv}/assign", {"to": "carol"})).status == 200
    told = len(rig.channel.to("62001"))
    lost = await alice.post(f"/chats/{conv}/reply", {"text": "还在吗？"})
    assert lost.status in (403, 409) and lost.code == "not_held"
    assert len(rig.channel.to("62001")) == told


# -------------------------------------------------------------- disabled account


async def test_a_disabled_account_is_out_at_once(rig: Rig) -> None:
    conv = "telegram:63001"
    await rig.press_human("63001")
    bob, alice = await rig.staff("bob"), await rig.staff("alice")
    assert (await bob.post(f"/chats/{conv}/claim")).status == 200
    bob_events, alice_events = await bob.events(), await alice.events()

    await StaffAccounts(rig.redis, rig.prefix).disable("bob")
    async with asyncio.timeout(DEADLINE_S):  # well before the 15 s heartbeat
        while await bob_events.content.readany():
            pass
    unclaimed = await next_event(alice_events, lambda e: e["event"] == "unclaimed")
    assert unclaimed["conversation"] == conv and unclaimed["from"] == "bob"
    alice_events.close()

    [item] = await alice.queue()
    assert item["conversation"] == conv and item["state"] == "waiting"
    assert not item["claimed_by"]
    assert (await bob.get("/queue")).status == 401
    assert (await bob.post(f"/chats/{conv}/reply", {"text": "hi"})).status == 401


# ----------------------------------------------------------- reading, revealing


async def test_who_may_open_and_reveal_a_chat(rig: Rig) -> None:
    await rig.says("64001", "请问门诊几点开门？")  # only ever talked to the bot
    await rig.says("64002", f"我的电话是{PHONE}，请回电")
    await rig.press_human("64002")
    alice = await rig.staff("alice")
    bob = await rig.staff("bob")
    carol = await rig.staff("carol")

    assert (await alice.get("/chats/telegram:64001")).status == 404
    assert (await alice.post("/chats/telegram:64001/reveal")).status in (403, 404)

    shown = await alice.post("/chats/telegram:64002/reveal")  # waiting: anyone may
    assert shown.status == 200
    assert any(PHONE in x["text"] for x in shown.body["transcript"])

    assert (await bob.post("/chats/telegram:64002/claim")).status == 200
    refused = await alice.post("/chats/telegram:64002/reveal")
    assert refused.status == 403
    assert PHONE not in json.dumps(refused.body)
    assert ("alice", "reveal_refused") in await rig.audit("telegram:64002")
    for lead_or_holder in (carol, bob):
        shown = await lead_or_holder.post("/chats/telegram:64002/reveal")
        assert shown.status == 200
        assert any(PHONE in x["text"] for x in shown.body["transcript"])

    for _ in range(3):
        chat = await alice.get("/chats/telegram:64002")
        assert chat.status == 200 and PHONE not in json.dumps(chat.body)
    for _ in range(2):
        assert (await bob.get("/chats/telegram:64002")).status == 200
    reads = [a for a in await rig.audit("telegram:64002") if a[1] == "read"]
    assert sorted(reads) == [("alice", "read"), ("bob", "read")]


# ---------------------------------------------------- ending a waiting emergency


async def test_a_waiting_emergency_must_be_claimed_before_it_ends(rig: Rig) -> None:
    conv = "telegram:65001"
    await rig.channel.submit("65001", CHEST)
    alice = await rig.staff("alice")
    await until_queued(alice, conv)
    told = [o.text for o in rig.channel.to("65001")]
    for action in ("close", "release"):
        refused = await alice.post(f"/chats/{conv}/{action}")
        assert refused.status == 409 and refused.code == "claim_first"
    [item] = await alice.queue()
    assert item["state"] == "waiting"
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    assert (await alice.post(f"/chats/{conv}/close")).status == 200
    after = [o.text for o in rig.channel.to("65001")]
    assert after[: len(told)] == told
    assert after[len(told) :] == [
        rig.notice("handoff_claimed", "zh"),
        rig.notice("handoff_closed", "zh"),
    ]
    assert await alice.queue() == []


# ------------------------------------------------------------ the patient's side


async def test_the_patient_is_told_of_the_claim_once_and_then_left_to_staff(rig: Rig) -> None:
    conv = "telegram:66001"
    await rig.press_human("66001")
    alice = await rig.staff("alice")
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    assert rig.channel.to("66001")[-1].text == rig.notice("handoff_claimed", "zh")
    assert rig.channel.to("66001")[-1].kind is OutboundKind.HANDOFF

    before = len(rig.channel.to("66001"))
    for text in ("你好？", "有人吗？", "我等一下"):
        await rig.channel.submit("66001", text)
    # A button answered in the same lane, after the three: once it is answered, so are they.
    await rig.channel.submit("66001", ButtonId.EMERGENCY_NUMBERS.value, InboundKind.BUTTON)
    numbers = rig.notice("numbers", "zh")
    await rig.channel.wait_for(lambda: rig.channel.to("66001")[-1].text == numbers)
    between = [o.text for o in rig.channel.to("66001")[before:-1]]
    assert between == [rig.notice("staff_will_reply", "zh")]
    chat = await alice.get(f"/chats/{conv}")
    patient = [x["text"] for x in chat.body["transcript"] if x["role"] == "patient"]
    assert patient[-3:] == ["你好？", "有人吗？", "我等一下"]


@pytest.mark.parametrize("how", ["button_language", "english_text_before"])
async def test_an_english_patient_hears_english(rig: Rig, how: str) -> None:
    patient = "67001" if how == "button_language" else "67002"
    conv = f"telegram:{patient}"
    alice = await rig.staff("alice")
    if how == "button_language":
        await rig.press_human(patient, lang="en")
    else:
        await rig.says(patient, "Hello, when does the outpatient clinic open on Monday?")
        await rig.press_human(patient, settle=False)  # claimed at once, before the wait notice
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    assert rig.channel.to(patient)[-1].text == rig.notice("handoff_claimed", "en")
    assert (await alice.post(f"/chats/{conv}/release")).status == 200
    assert rig.channel.to(patient)[-1].text == rig.notice("handoff_released", "en")
