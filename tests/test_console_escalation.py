"""An emergency in a chat that is already in front of staff: the issue's own check, through
the real server, a real Redis, the recording channel and a loopback Telegram Bot API for the
staff group."""

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

from bot.models import ButtonId, InboundKind, OutboundKind
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
OVERDOSE = "I took 40 sleeping pills, I want to die"


@pytest.fixture
async def served(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[tuple[TestClient[Any, Any], RecordingChannel, FakeTelegramAPI]]:
    await StaffAccounts(redis_client, prefix).add("alice", PASSWORD)
    channel = RecordingChannel()
    async with FakeTelegramAPI() as telegram, FakeOllama(reply="好的。") as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            telegram_token=telegram.token,
            telegram_api_base=telegram.url,
            staff_telegram_chat_id=STAFF_GROUP,
        )
        app = build_app(settings, adapters=[channel])
        async with TestClient(TestServer(app)) as client:
            yield client, channel, telegram


async def login(client: TestClient[Any, Any]) -> str:
    resp = await client.post(f"{API}/login", json={"name": "alice", "password": PASSWORD})
    assert resp.status == 200
    return str((await resp.json())["csrf"])


async def next_event(resp: ClientResponse, predicate: Any) -> dict[str, Any]:
    async with asyncio.timeout(DEADLINE_S):
        while True:
            line = (await resp.content.readline()).decode().strip()
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if predicate(event):
                    return dict(event)


def group_alerts(telegram: FakeTelegramAPI) -> list[dict[str, Any]]:
    return [c for c in telegram.calls_to("sendMessage") if str(c["chat_id"]) == STAFF_GROUP]


async def test_emergency_in_a_held_chat_goes_first_and_alerts(served: Any) -> None:
    client, channel, telegram = served
    csrf = await login(client)
    await channel.submit("first", ButtonId.HUMAN.value, InboundKind.BUTTON)
    await channel.submit("second", ButtonId.HUMAN.value, InboundKind.BUTTON)
    await channel.wait_for(lambda: bool(channel.to("first")) and bool(channel.to("second")))
    claim = await client.post(
        f"{API}/chats/telegram:second/claim", headers={"X-CSRF-Token": csrf}, json={}
    )
    assert claim.status == 200
    events = await client.get(f"{API}/events")

    await channel.submit("second", OVERDOSE)
    assert any(o.kind is OutboundKind.EMERGENCY for o in channel.to("second"))
    raised = await next_event(
        events, lambda e: e["event"] == "escalated" and e["conversation"] == "telegram:second"
    )
    assert raised["held_by"] == "alice" and raised["again"] == "1"

    async with asyncio.timeout(DEADLINE_S):
        while True:
            chats = (await (await client.get(f"{API}/queue")).json())["chats"]
            alerts = group_alerts(telegram)
            if chats[0]["conversation"] == "telegram:second" and alerts:
                break
            await asyncio.sleep(0.05)
    first = chats[0]
    assert first["level"] == "emergency" and first["emergency"]
    assert first["state"] == "staff" and first["claimed_by"] == "alice"
    assert first["first_reason"] == "patient_request"
    assert [c["conversation"] for c in chats] == ["telegram:second", "telegram:first"]
    [alert] = alerts
    assert "alice" in alert["text"] and "sleeping" not in alert["text"]
    events.close()


async def test_emergency_in_a_waiting_chat_is_raised_too(served: Any) -> None:
    client, channel, telegram = served
    await login(client)
    await channel.submit("calm", ButtonId.HUMAN.value, InboundKind.BUTTON)
    await channel.submit("waiting", ButtonId.HUMAN.value, InboundKind.BUTTON)
    await channel.wait_for(lambda: bool(channel.to("calm")) and bool(channel.to("waiting")))
    await channel.submit("waiting", "我胸口剧痛，喘不上气，出了一身冷汗")
    await telegram.wait_for(lambda: bool(group_alerts(telegram)), DEADLINE_S)
    chats = (await (await client.get(f"{API}/queue")).json())["chats"]
    assert chats[0]["conversation"] == "telegram:waiting"
    assert chats[0]["level"] == "emergency" and chats[0]["state"] == "waiting"
