"""Who may do what in the staff console, what the patient is told, and what is kept: over
the real server, a real Redis, a loopback Ollama and a recording channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.audit import AuditLog
from bot.console.history import SECONDS_PER_DAY
from bot.models import ButtonId, Inbound, InboundKind, Outbound
from bot.server import build_app
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama
from tests.support import eventually

PASSWORD = "correct horse battery"
API = "/console/api"
RETENTION_DAYS = 7
PHONE = "13912345678"


class FailingChannel(RecordingChannel):
    """Refuses the next ``failures`` sends, as a platform answering 502 would."""

    failures = 0

    async def send(self, out: Outbound) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("502 from the platform")
        await super().send(out)


Rig = tuple[TestClient[Any, Any], FailingChannel, aioredis.Redis, str]


@pytest.fixture
async def rig(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[Rig]:
    accounts = StaffAccounts(redis_client, prefix)
    await accounts.add("alice", PASSWORD)
    await accounts.add("bob", PASSWORD)
    await accounts.add("carol", PASSWORD, "lead")
    channel = FailingChannel()
    async with FakeOllama(reply="这是助手的回答。") as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            transcript_retention_days=RETENTION_DAYS,
        )
        async with TestClient(TestServer(build_app(settings, adapters=[channel]))) as client:
            yield client, channel, redis_client, prefix


async def login(client: TestClient[Any, Any], name: str) -> str:
    client.session.cookie_jar.clear()
    resp = await client.post(f"{API}/login", json={"name": name, "password": PASSWORD})
    assert resp.status == 200
    return str((await resp.json())["csrf"])


async def post(client: TestClient[Any, Any], path: str, csrf: str, body: Any = None) -> Any:
    return await client.post(f"{API}{path}", json=body or {}, headers={"X-CSRF-Token": csrf})


async def code(resp: ClientResponse) -> str:
    return str((await resp.json()).get("code", ""))


async def press_human(channel: RecordingChannel, patient: str, lang: str = "") -> None:
    assert channel.context is not None
    await channel.context.submit(
        Inbound(
            channel=channel.channel,
            conversation_id=patient,
            user_id=patient,
            message_id=f"m-{patient}-{len(channel.to(patient))}",
            kind=InboundKind.BUTTON,
            text=ButtonId.HUMAN.value,
            language=lang,
        )
    )
    await channel.wait_for(lambda: bool(channel.to(patient)))


async def actions(redis: aioredis.Redis, prefix: str, conv: str) -> list[tuple[str, str]]:
    return [
        (e["actor"], e["action"])
        async for e in AuditLog(redis, prefix).entries()
        if e["conversation"] == conv
    ]


async def test_a_reply_the_channel_refused_is_reported_and_not_recorded(rig: Rig) -> None:
    client, channel, redis, prefix = rig
    await press_human(channel, "p1")
    csrf = await login(client, "alice")
    assert (await post(client, "/chats/telegram:p1/claim", csrf)).status == 200
    channel.failures = 1
    resp = await post(client, "/chats/telegram:p1/reply", csrf, {"text": "您好"})
    assert resp.status == 502 and await code(resp) == "channel_failed"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    chat = await (await client.get(f"{API}/chats/telegram:p1")).json()
    assert not [x for x in chat["transcript"] if x["role"] == "staff"]
    done = await actions(redis, prefix, "telegram:p1")
    assert ("alice", "staff_message_failed") in done
    assert ("alice", "staff_message") not in done

    resp = await post(client, "/chats/telegram:p1/reply", csrf, {"text": "您好"})
    assert resp.status == 200
    assert ("alice", "staff_message") in await actions(redis, prefix, "telegram:p1")
    too_long = await post(client, "/chats/telegram:p1/reply", csrf, {"text": "好" * 2001})
    assert too_long.status == 413 and await code(too_long) == "too_long"

    bob = await login(client, "bob")
    taken = await post(client, "/chats/telegram:p1/reply", bob, {"text": "hi"})
    assert taken.status in (403, 409) and await code(taken) == "not_held"


async def test_only_escalated_chats_open_and_details_need_a_right(rig: Rig) -> None:
    client, channel, redis, prefix = rig
    await channel.submit("plain", "请问门诊几点开门？")  # only ever talked to the bot
    await channel.wait_for(lambda: bool(channel.to("plain")))
    await channel.submit("held", f"我的电话是{PHONE}")
    await press_human(channel, "held")
    alice = await login(client, "alice")
    assert (await client.get(f"{API}/chats/telegram:plain")).status == 404
    assert (await post(client, "/chats/telegram:plain/reveal", alice)).status == 403

    # A waiting chat may be revealed by any staff member; opening it is audited once.
    assert (await post(client, "/chats/telegram:held/reveal", alice)).status == 200
    for _ in range(3):
        assert (await client.get(f"{API}/chats/telegram:held")).status == 200
    assert (await actions(redis, prefix, "telegram:held")).count(("alice", "read")) == 1

    bob = await login(client, "bob")
    assert (await post(client, "/chats/telegram:held/claim", bob)).status == 200
    alice = await login(client, "alice")
    refused = await post(client, "/chats/telegram:held/reveal", alice)
    assert refused.status == 403
    assert ("alice", "reveal_refused") in await actions(redis, prefix, "telegram:held")
    carol = await login(client, "carol")  # a lead
    shown = await post(client, "/chats/telegram:held/reveal", carol)
    assert shown.status == 200
    assert any(PHONE in line["text"] for line in (await shown.json())["transcript"])


async def test_a_waiting_emergency_must_be_claimed_before_it_ends(rig: Rig) -> None:
    client, channel, _redis, _prefix = rig
    await channel.submit("sos", "我胸口剧痛，喘不上气")
    await channel.wait_for(lambda: bool(channel.to("sos")))
    csrf = await login(client, "alice")
    told = len(channel.to("sos"))
    for action in ("close", "release"):
        resp = await post(client, f"/chats/telegram:sos/{action}", csrf)
        assert resp.status == 409 and await code(resp) == "claim_first"
    assert len(channel.to("sos")) == told  # the patient was told nothing
    assert (await post(client, "/chats/telegram:sos/claim", csrf)).status == 200
    assert (await post(client, "/chats/telegram:sos/close", csrf)).status == 200
    assert "结束" in channel.to("sos")[-1].text


async def test_the_patient_hears_in_their_language_and_once(rig: Rig) -> None:
    client, channel, _redis, _prefix = rig
    await press_human(channel, "en1", lang="en")
    csrf = await login(client, "alice")
    assert (await post(client, "/chats/telegram:en1/claim", csrf)).status == 200
    await channel.wait_for(lambda: "has joined" in channel.to("en1")[-1].text)

    before = len(channel.to("en1"))
    for text in ("hello?", "are you there?", "ok"):
        await channel.submit("en1", text)

    async def all_three_arrived() -> bool:
        chat = await (await client.get(f"{API}/chats/telegram:en1")).json()
        return len([x for x in chat["transcript"] if x["role"] == "patient"]) >= 3

    await eventually(all_three_arrived)
    await channel.wait_for(lambda: len(channel.to("en1")) > before)
    notices = channel.to("en1")[before:]
    assert len(notices) == 1 and "staff member will reply" in notices[0].text

    assert (await post(client, "/chats/telegram:en1/release", csrf)).status == 200
    await channel.wait_for(lambda: "handed this chat back" in channel.to("en1")[-1].text)


async def test_assignment_take_over_and_a_disabled_holder(rig: Rig) -> None:
    client, channel, redis, prefix = rig
    await press_human(channel, "p1")
    alice = await login(client, "alice")
    assert (await post(client, "/chats/telegram:p1/claim", alice)).status == 200
    assert (await post(client, "/chats/telegram:p1/assign", alice, {"to": "nobody"})).status == 400
    assert (await post(client, "/chats/telegram:p1/assign", alice, {"to": "bob"})).status == 200
    assert ("alice", "assign") in await actions(redis, prefix, "telegram:p1")
    chat = await (await client.get(f"{API}/chats/telegram:p1")).json()
    assert chat["claimed_by"] == "bob"

    alice = await login(client, "alice")  # not a lead: cannot take it from bob
    resp = await post(client, "/chats/telegram:p1/assign", alice, {"to": "alice"})
    assert resp.status == 403
    carol = await login(client, "carol")
    assert (await post(client, "/chats/telegram:p1/assign", carol, {"to": "carol"})).status == 200
    chat = await (await client.get(f"{API}/chats/telegram:p1")).json()
    assert chat["claimed_by"] == "carol" and chat["mine"]

    await StaffAccounts(redis, prefix).disable("carol")
    assert (await client.get(f"{API}/queue")).status == 401
    alice = await login(client, "alice")
    [item] = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert item["state"] == "waiting" and item["claimed_by"] == ""
    disabled = await post(client, "/chats/telegram:p1/assign", alice, {"to": "carol"})
    assert disabled.status == 400


async def test_notes_are_masked_audited_and_revealed_to_the_holder(rig: Rig) -> None:
    client, channel, redis, prefix = rig
    await press_human(channel, "p1")
    csrf = await login(client, "alice")
    assert (await post(client, "/chats/telegram:p1/claim", csrf)).status == 200
    note = f"家属电话 {PHONE}，已联系"
    assert (await post(client, "/chats/telegram:p1/notes", csrf, {"text": note})).status == 200
    chat = await (await client.get(f"{API}/chats/telegram:p1")).json()
    [shown] = chat["notes"]
    assert shown["by"] == "alice" and PHONE not in shown["text"] and "已联系" in shown["text"]
    revealed = await (await post(client, "/chats/telegram:p1/reveal", csrf)).json()
    assert revealed["notes"][0]["text"] == note
    assert ("alice", "note") in await actions(redis, prefix, "telegram:p1")
    async for key in redis.scan_iter(match=f"{prefix}*"):
        kind = await redis.type(key)
        if kind == b"list":
            assert PHONE.encode() not in b"".join(await redis.lrange(key, 0, -1))
        elif kind == b"string":
            assert PHONE.encode() not in (await redis.get(key) or b"")


async def test_ended_chats_stay_readable_and_searchable(rig: Rig) -> None:
    client, channel, redis, prefix = rig
    await channel.submit("gone", "我胸口剧痛，喘不上气")
    await channel.wait_for(lambda: bool(channel.to("gone")))
    csrf = await login(client, "alice")
    assert (await post(client, "/chats/telegram:gone/claim", csrf)).status == 200
    assert (await post(client, "/chats/telegram:gone/close", csrf)).status == 200
    assert (await (await client.get(f"{API}/queue")).json())["chats"] == []
    await redis.delete(f"{prefix}:ctx:telegram:gone")  # the bot's own window has expired
    chat = await (await client.get(f"{API}/chats/telegram:gone")).json()
    assert chat["transcript"][0]["text"] == "我胸口剧痛，喘不上气"
    assert chat["episodes"][0]["action"] == "close"

    today = date.today().isoformat()
    for query in (
        "q=gone",
        "channel=telegram",
        "category=breathing",
        f"from={today}&to={today}",
    ):
        found = (await (await client.get(f"{API}/history?{query}")).json())["results"]
        assert [r["conversation"] for r in found] == ["telegram:gone"], query
    assert (await (await client.get(f"{API}/history?q=other")).json())["results"] == []
    assert (await (await client.get(f"{API}/history?channel=wechat")).json())["results"] == []
    bad = await client.get(f"{API}/history?from=yesterday")
    assert bad.status == 400 and bad.headers["X-Content-Type-Options"] == "nosniff"
    [key] = [k async for k in redis.scan_iter(match=f"{prefix}:history:*")]
    ttl = await redis.ttl(key)
    assert RETENTION_DAYS * SECONDS_PER_DAY - 60 < ttl <= RETENTION_DAYS * SECONDS_PER_DAY


async def test_a_new_patient_message_marks_the_chat_unread(rig: Rig) -> None:
    client, channel, _redis, _prefix = rig
    await press_human(channel, "p1")
    csrf = await login(client, "alice")
    assert (await post(client, "/chats/telegram:p1/claim", csrf)).status == 200
    await client.get(f"{API}/chats/telegram:p1")
    [item] = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert not item["unread"]
    await channel.submit("p1", "还在吗？")
    await channel.wait_for(lambda: len(channel.to("p1")) >= 3)
    [item] = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert item["unread"]
    await client.get(f"{API}/chats/telegram:p1")
    [item] = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert not item["unread"]
