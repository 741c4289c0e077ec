"""The staff console's HTTP API over the real server: login, CSRF, permissions, the handoff
from the bot to staff and back, live events, and the audit trail. Real Redis and dispatcher,
a loopback Ollama, and a recording channel in place of WeChat or Telegram."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters import registry
from bot.audit import AuditLog
from bot.handoff import HandoffState, HandoffStore
from bot.models import ButtonId, InboundKind, OutboundKind
from bot.server import build_app
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama

PASSWORD = "correct horse battery"
BOT_REPLY = "这是助手的回答。"
EMERGENCY = "我胸口剧痛，喘不上气"
PATIENT = "p1"
CONV = f"telegram:{PATIENT}"
API = "/console/api"


@pytest.fixture
async def console(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[tuple[TestClient[Any, Any], RecordingChannel, aioredis.Redis]]:
    accounts = StaffAccounts(redis_client, prefix)
    await accounts.add("alice", PASSWORD)
    await accounts.add("bob", PASSWORD)
    channel = RecordingChannel()
    async with FakeOllama(reply=BOT_REPLY) as fake:
        settings = make_settings(
            redis_url, prefix, tmp_path, ollama_host=fake.url, kb_direct_answers=False
        )
        async with TestClient(TestServer(build_app(settings, adapters=[channel]))) as client:
            yield client, channel, redis_client


async def login(client: TestClient[Any, Any], name: str = "alice") -> str:
    resp = await client.post(f"{API}/login", json={"name": name, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["csrf"])


async def post(
    client: TestClient[Any, Any], path: str, csrf: str, body: Any = None
) -> ClientResponse:
    return await client.post(f"{API}{path}", json=body or {}, headers={"X-CSRF-Token": csrf})


async def test_every_api_needs_a_session_and_changes_need_csrf(console: Any) -> None:
    client, _channel, _redis = console
    for path in ("/me", "/queue", "/events", f"/chats/{CONV}"):
        assert (await client.get(f"{API}{path}")).status == 401, path
    for action in ("claim", "reply", "release", "close", "reveal"):
        assert (await client.post(f"{API}/chats/{CONV}/{action}", json={})).status == 401
    assert (await client.post(f"{API}/logout")).status == 401

    csrf = await login(client)
    assert (await client.get(f"{API}/queue")).status == 200
    assert (await client.post(f"{API}/chats/{CONV}/claim", json={})).status == 403
    wrong = {"X-CSRF-Token": csrf[:-2] + "xx"}
    assert (await client.post(f"{API}/chats/{CONV}/claim", json={}, headers=wrong)).status == 403
    assert (await post(client, f"/chats/{CONV}/claim", csrf)).status == 409  # not waiting

    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"careline_session": "forged"})
    assert (await client.get(f"{API}/queue")).status == 401


async def test_login_cookie_rate_limit_and_logout(console: Any) -> None:
    client, _channel, _redis = console
    resp = await client.post(f"{API}/login", json={"name": "alice", "password": "wrong one!"})
    assert resp.status == 401
    resp = await client.post(f"{API}/login", json={"name": "alice", "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    signed_in = await resp.json()
    csrf = signed_in["csrf"]
    # The page names every registered channel as staff read it (the history filter, the tags).
    assert signed_in["channels"] == {s.name: s.label for s in registry.SPECS}
    assert signed_in["channels"]["telegram"] == "Telegram"
    me = await client.get(f"{API}/me")
    assert (await me.json())["channels"] == signed_in["channels"]
    assert (await post(client, "/logout", csrf)).status == 200
    assert (await client.get(f"{API}/queue")).status == 401

    # Behind an HTTPS proxy the cookie is Secure (so this plain-HTTP client no longer sends it).
    resp = await client.post(
        f"{API}/login",
        json={"name": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in resp.headers["Set-Cookie"]
    assert (await client.get(f"{API}/queue")).status == 401

    # Bad bodies get a clear answer.
    assert (await client.post(f"{API}/login", data=b"name=alice")).status == 415
    bad_json = await client.post(
        f"{API}/login", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status == 400
    assert (await client.post(f"{API}/login", json={"name": "alice"})).status == 400
    cross = await client.post(
        f"{API}/login",
        json={"name": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status == 403

    # Five tries a minute per name, then 429 even with the right password.
    statuses = [
        (await client.post(f"{API}/login", json={"name": "bob", "password": "nope nope!"})).status
        for _ in range(5)
    ]
    assert statuses == [401] * 5
    resp = await client.post(f"{API}/login", json={"name": "bob", "password": PASSWORD})
    assert resp.status == 429


async def test_disabled_account_cannot_log_in_and_its_sessions_end(console: Any) -> None:
    client, _channel, redis = console
    await login(client, "bob")
    accounts = StaffAccounts(redis, _prefix_of(client))
    assert await accounts.disable("bob")
    assert (await client.get(f"{API}/queue")).status == 401
    resp = await client.post(f"{API}/login", json={"name": "bob", "password": PASSWORD})
    assert resp.status == 401


def _prefix_of(client: TestClient[Any, Any]) -> str:
    from bot.runtime import RUNTIME

    return client.server.app[RUNTIME].settings.redis_prefix


async def read_events(
    resp: ClientResponse, want: int, predicate: Any = lambda e: True
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(found) < want:
            line = (await resp.content.readline()).decode().strip()
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if predicate(event):
                    found.append(event)
    return found


async def test_emergency_to_staff_and_back_to_the_bot(console: Any) -> None:
    client, channel, redis = console
    csrf = await login(client)
    events = await client.get(f"{API}/events")
    assert events.headers["Content-Type"] == "text/event-stream"
    await read_events(events, 1, lambda e: e["event"] == "hello")

    await channel.submit(PATIENT, EMERGENCY)
    assert channel.to(PATIENT)[0].kind is OutboundKind.EMERGENCY
    [escalated] = await read_events(events, 1, lambda e: e["event"] == "escalated")
    assert escalated["conversation"] == CONV and escalated["reason"] == "emergency"
    # ... and once the emergency message is in the transcript, consoles are told again.
    await read_events(events, 1, lambda e: e.get("why") == "patient_message")

    queue = (await (await client.get(f"{API}/queue")).json())["chats"]
    [item] = queue
    assert item["emergency"] and item["channel"] == "telegram" and item["state"] == "waiting"
    assert item["summary"] is None and item["last_messages"][0]["text"] == EMERGENCY

    assert (await post(client, f"/chats/{CONV}/claim", csrf)).status == 200
    assert (await post(client, f"/chats/{CONV}/claim", csrf)).status == 200  # idempotent

    reply = "您好，我是值班护士，请告诉我您的电话 13912345678 是否方便接听？"
    assert (await post(client, f"/chats/{CONV}/reply", csrf, {"text": reply})).status == 200
    await channel.wait_for(lambda: any(o.text == reply for o in channel.to(PATIENT)))
    staff_out = next(o for o in channel.to(PATIENT) if o.text == reply)
    assert staff_out.kind is OutboundKind.HANDOFF

    # The patient writes while staff hold the chat: no model answer, the console hears of it.
    await channel.submit(PATIENT, "好的，方便")
    await read_events(events, 1, lambda e: e.get("why") == "patient_message")
    chat = await (await client.get(f"{API}/chats/{CONV}")).json()
    assert chat["mine"] and chat["state"] == "staff"
    texts = [(line["role"], line["text"]) for line in chat["transcript"]]
    assert texts[0] == ("patient", EMERGENCY)
    assert ("staff", reply.replace("13912345678", "[电话1]")) in texts
    assert texts[-1] == ("patient", "好的，方便")
    raw_keys = [k async for k in redis.scan_iter(match=f"{_prefix_of(client)}*")]
    for key in raw_keys:
        if (await redis.type(key)) == b"list":
            assert b"13912345678" not in b"".join(await redis.lrange(key, 0, -1))

    revealed = await (await post(client, f"/chats/{CONV}/reveal", csrf)).json()
    assert any("13912345678" in line["text"] for line in revealed["transcript"])

    assert (await post(client, f"/chats/{CONV}/release", csrf)).status == 200
    await channel.wait_for(lambda: "交回智能助手" in channel.to(PATIENT)[-1].text)
    await channel.submit(PATIENT, "请问门诊几点开门？")
    await channel.wait_for(lambda: channel.to(PATIENT)[-1].text.startswith(BOT_REPLY))
    events.close()

    actions = [
        (e["actor"], e["action"])
        async for e in AuditLog(redis, _prefix_of(client)).entries()
        if e["conversation"] == CONV
    ]
    assert actions == [
        ("system", "escalate"),
        ("alice", "claim"),
        ("alice", "staff_message"),
        ("alice", "read"),
        ("alice", "reveal"),
        ("alice", "release"),
    ]


async def test_only_the_holder_writes_and_bad_replies_are_refused(console: Any) -> None:
    client, channel, redis = console
    prefix = _prefix_of(client)
    await HandoffStore(redis, prefix, 3600).escalate(CONV, "patient_request")
    await HandoffStore(redis, prefix, 3600).claim(CONV, "bob")
    csrf = await login(client)
    assert (await post(client, f"/chats/{CONV}/claim", csrf)).status == 409
    assert (await post(client, f"/chats/{CONV}/reply", csrf, {"text": "hi"})).status == 403
    assert (await post(client, f"/chats/{CONV}/release", csrf)).status == 403
    assert (await post(client, f"/chats/{CONV}/close", csrf)).status == 403
    assert channel.to(PATIENT) == []

    await redis.hset(HandoffStore(redis, prefix, 3600).key(CONV), "claimed_by", "alice")
    assert (await post(client, f"/chats/{CONV}/reply", csrf, {"text": "  "})).status == 400
    too_long = {"text": "好" * 2001}
    assert (await post(client, f"/chats/{CONV}/reply", csrf, too_long)).status == 413
    resp = await client.post(
        f"{API}/chats/{CONV}/reply",
        data=b"[1]",
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await client.get(f"{API}/chats/nochannel:1")).status == 404
    assert (await client.get(f"{API}/chats/telegram:unknown")).status == 404

    assert (await post(client, f"/chats/{CONV}/close", csrf)).status == 200
    assert "结束本次对话" in channel.to(PATIENT)[-1].text
    assert await HandoffStore(redis, prefix, 3600).state(CONV) is HandoffState.CLOSED


async def test_patient_button_escalates_and_the_page_is_served(console: Any) -> None:
    client, channel, _redis = console
    await channel.submit(PATIENT, ButtonId.HUMAN.value, InboundKind.BUTTON)
    await channel.wait_for(lambda: len(channel.to(PATIENT)) >= 1)
    page = await client.get("/console")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert (await client.get("/console/static/console.js")).status == 200
    assert (await client.get("/console/static/..%2Fapp.py")).status == 404
    assert (await client.get("/console/static/app.py")).status == 404
    await login(client)
    [item] = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert item["reason"] == "patient_request" and not item["emergency"]
    canned = await (await client.get(f"{API}/canned?lang=zh")).json()
    assert any("测试医院" in line for line in canned["replies"])
