"""The staff console's inbox over the real server (issue #15), continued: assignment and
take-over, private notes, ended chats kept readable and searchable, unread marks, and the
``nosniff`` header on every JSON answer. The rig is
``tests/bot/console/test_console_inbox.py``'s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.console.history import SECONDS_PER_DAY
from bot.handoff import HandoffStore
from bot.staff import StaffAccounts
from tests.bot.console.test_console_inbox import (
    PASSWORD,
    PHONE,
    RETENTION_DAYS,
    Answer,
    Rig,
    Staff,
    open_rig,
    until_queued,
)

CARDIAC = "My chest hurts badly and my left arm is numb"


@pytest.fixture
async def rig(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[Rig]:
    async with open_rig(redis_url, prefix, tmp_path, redis_client) as opened:
        yield opened


# ------------------------------------------------------------------- assignment


async def test_assignment_and_take_over(rig: Rig) -> None:
    conv = "telegram:71001"
    await StaffAccounts(rig.redis, rig.prefix).add("dave", PASSWORD)
    await StaffAccounts(rig.redis, rig.prefix).disable("dave")
    await rig.press_human("71001")
    alice, bob, carol = [await rig.staff(n) for n in ("alice", "bob", "carol")]
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200

    for nobody in ("nobody", "dave", ""):
        refused = await alice.post(f"/chats/{conv}/assign", {"to": nobody})
        assert refused.status == 400 and refused.code == "no_such_staff", nobody
    assert (await alice.post(f"/chats/{conv}/assign", {"to": "bob"})).status == 200
    assert ("alice", "assign") in await rig.audit(conv)
    chat = await bob.get(f"/chats/{conv}")
    assert chat.body["claimed_by"] == "bob" and chat.body["mine"]

    taking = await alice.post(f"/chats/{conv}/assign", {"to": "alice"})
    assert taking.status == 403 and taking.code == "lead_only"
    assert (await alice.post(f"/chats/{conv}/claim")).status == 409
    assert (await alice.get(f"/chats/{conv}")).body["claimed_by"] == "bob"

    assert (await carol.post(f"/chats/{conv}/assign", {"to": "carol"})).status == 200
    chat = await carol.get(f"/chats/{conv}")
    assert chat.body["claimed_by"] == "carol" and chat.body["mine"]
    assert ("carol", "assign") in await rig.audit(conv)
    refused = await bob.post(f"/chats/{conv}/reply", {"text": "您好"})
    assert refused.status == 403 and refused.code == "not_held"


# ------------------------------------------------------------------------ notes


async def every_value(redis: aioredis.Redis, prefix: str) -> str:
    """Everything stored under the prefix, whatever the key's type, as one text."""
    found: list[Any] = []
    async for key in redis.scan_iter(match=f"{prefix}*"):
        kind = await redis.type(key)
        found.append(key)
        if kind == b"string":
            found.append(await redis.get(key))
        elif kind == b"list":
            found += await redis.lrange(key, 0, -1)
        elif kind == b"hash":
            found += list((await redis.hgetall(key)).items())
        elif kind == b"set":
            found += list(await redis.smembers(key))
        elif kind == b"zset":
            found += await redis.zrange(key, 0, -1)
        elif kind == b"stream":
            entries: Any = await redis.xrange(key)
            found += [list(fields.items()) for _id, fields in entries]
    return repr(found)


async def test_notes_are_masked_audited_and_revealed(rig: Rig) -> None:
    conv = "telegram:72001"
    await rig.press_human("72001")
    alice, bob = await rig.staff("alice"), await rig.staff("bob")
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    note = f"家属电话 {PHONE}，已联系"
    assert (await alice.post(f"/chats/{conv}/notes", {"text": note})).status == 200

    for reader in (alice, bob):
        [shown] = (await reader.get(f"/chats/{conv}")).body["notes"]
        assert shown["by"] == "alice" and "已联系" in shown["text"]
        assert PHONE not in shown["text"] and shown["text"] != note
    revealed = await alice.post(f"/chats/{conv}/reveal")
    assert [n["text"] for n in revealed.body["notes"]] == [note]
    assert ("alice", "note") in await rig.audit(conv)
    never = await alice.post("/chats/telegram:72999/notes", {"text": "?"})  # never escalated
    assert never.status == 404
    assert PHONE not in await every_value(rig.redis, rig.prefix)


# ---------------------------------------------------------------------- history


async def test_an_ended_chat_stays_readable_and_searchable(rig: Rig) -> None:
    conv = "telegram:73001"
    await rig.channel.submit("73001", CARDIAC)
    alice = await rig.staff("alice")
    await until_queued(alice, conv)
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    assert (
        await alice.post(f"/chats/{conv}/reply", {"text": "Please call 120 now."})
    ).status == 200
    assert (await alice.post(f"/chats/{conv}/close")).status == 200
    assert await alice.queue() == []
    # Later: the bot's window and the handoff record have expired; the history remains.
    await rig.redis.delete(
        f"{rig.prefix}:ctx:{conv}", HandoffStore(rig.redis, rig.prefix, 1).key(conv)
    )

    chat = await alice.get(f"/chats/{conv}")
    assert chat.status == 200
    lines = [(x["role"], x["text"]) for x in chat.body["transcript"]]
    assert lines[0] == ("patient", CARDIAC) and ("staff", "Please call 120 now.") in lines
    assert chat.body["episodes"][0]["action"] == "close"
    assert chat.body["category"] == "cardiac"

    # Days are the hospital's (CARELINE_HANDOFF_TIMEZONE), not this machine's.
    today = datetime.now(ZoneInfo(rig.settings.handoff_timezone)).date()
    day = timedelta(days=1)
    for query in (
        "q=3001",
        "channel=telegram",
        "category=cardiac",
        f"from={today - day}&to={today + day}",
        f"q={conv}&channel=telegram&category=cardiac&from={today}",
    ):
        found = await alice.get(f"/history?{query}")
        assert found.status == 200, query
        assert [r["conversation"] for r in found.body["results"]] == [conv], query
        assert found.body["results"][0]["label"].startswith("P-")
    for query in ("q=99999", "channel=wechat", "category=breathing", f"from={today + day}"):
        assert (await alice.get(f"/history?{query}")).body["results"] == [], query
    for bad in ("from=2025/03/01", "to=yesterday", "from=2025-13-01"):
        malformed = await alice.get(f"/history?{bad}")
        assert malformed.status == 400, bad

    [key] = [k async for k in rig.redis.scan_iter(match=f"{rig.prefix}:history:*")]
    ttl = await rig.redis.ttl(key)
    assert RETENTION_DAYS * SECONDS_PER_DAY - 120 < ttl <= RETENTION_DAYS * SECONDS_PER_DAY


# ------------------------------------------------------------------------ unread


async def unread(staff: Staff, conversation: str) -> bool:
    [item] = [c for c in await staff.queue() if c["conversation"] == conversation]
    return bool(item["unread"])


async def test_a_patient_message_marks_a_held_chat_unread_until_read(rig: Rig) -> None:
    conv = "telegram:74001"
    await rig.press_human("74001")
    alice, bob = await rig.staff("alice"), await rig.staff("bob")
    assert (await alice.post(f"/chats/{conv}/claim")).status == 200
    assert (await alice.get(f"/chats/{conv}")).status == 200
    assert (await bob.get(f"/chats/{conv}")).status == 200
    assert not await unread(alice, conv) and not await unread(bob, conv)

    told = len(rig.channel.to("74001"))
    await rig.channel.submit("74001", "还在吗？")
    # The patient is told "staff will reply" once the message is marked in the chat.
    await rig.channel.wait_for(lambda: len(rig.channel.to("74001")) > told)
    assert await unread(alice, conv)
    assert await unread(alice, conv)  # still, however often the queue is read
    assert (await alice.get(f"/chats/{conv}")).status == 200
    assert not await unread(alice, conv)
    assert await unread(bob, conv)  # bob has not read it yet


# ----------------------------------------------------------------------- nosniff


async def test_every_json_answer_is_nosniff(rig: Rig) -> None:
    conv = "telegram:75001"
    await rig.press_human("75001")
    stranger = Staff(rig.client, "alice")  # not logged in
    rig.browsers.append(stranger)
    answers: list[tuple[str, Answer]] = [
        ("no session", await stranger.get("/queue")),
        ("wrong password", await stranger.post("/login", {"name": "alice", "password": "x" * 12})),
        ("bad body", await stranger.post("/login", {"name": 1})),
    ]
    alice, bob = await rig.staff("alice"), await rig.staff("bob")
    answers += [
        ("me", await alice.get("/me")),
        ("queue", await alice.get("/queue")),
        ("staff", await alice.get("/staff")),
        ("canned", await alice.get("/canned?lang=en")),
        ("history", await alice.get("/history")),
        ("bad date", await alice.get("/history?from=soon")),
        ("unknown chat", await alice.get("/chats/telegram:nobody")),
        ("no such channel", await alice.get("/chats/fax:1")),
        ("claim", await alice.post(f"/chats/{conv}/claim")),
        ("taken", await bob.post(f"/chats/{conv}/claim")),
        ("chat", await alice.get(f"/chats/{conv}")),
        ("empty reply", await alice.post(f"/chats/{conv}/reply", {"text": " "})),
        ("long reply", await alice.post(f"/chats/{conv}/reply", {"text": "x" * 2001})),
        ("long note", await alice.post(f"/chats/{conv}/notes", {"text": "x" * 2001})),
        ("reveal refused", await bob.post(f"/chats/{conv}/reveal")),
    ]
    bob.csrf = "wrong"
    answers.append(("no csrf", await bob.post(f"/chats/{conv}/notes", {"text": "hi"})))
    resp = await alice.http.post(
        alice.url(f"/chats/{conv}/notes"), data=b"text", headers={"X-CSRF-Token": alice.csrf}
    )
    async with resp:
        answers.append(("not json", Answer(resp.status, await resp.json(), resp.headers)))
    answers.append(("logout", await alice.post("/logout")))

    statuses = {what: answer.status for what, answer in answers}
    assert statuses["no session"] == 401 and statuses["wrong password"] == 401
    assert statuses["bad date"] == 400 and statuses["unknown chat"] == 404
    assert statuses["taken"] == 409 and statuses["long reply"] == 413
    assert statuses["no csrf"] == 403 and statuses["not json"] == 415
    for what, answer in answers:
        assert answer.headers.get("Content-Type", "").startswith("application/json"), what
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", what
        assert isinstance(answer.body, dict), what


async def test_an_unknown_session_cookie_gets_a_json_401(rig: Rig) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"careline_session": "forged"}, rig.client.make_url("/console/api"))
    url = rig.client.make_url("/console/api/events")
    async with aiohttp.ClientSession(cookie_jar=jar) as http, http.get(url) as resp:
        body: Any = await resp.json()
        assert resp.status == 401 and "error" in body
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_aiohttps_own_errors_under_the_console_are_nosniff_too(rig: Rig) -> None:
    for method, path in (
        ("GET", "/console/api/no-such-thing"),  # 404 from the router
        ("GET", "/console/api/login"),  # 405: login is POST only
        ("GET", "/console/static/missing.css"),
    ):
        async with rig.client.session.request(method, rig.client.make_url(path)) as resp:
            assert resp.status in (404, 405), path
            assert resp.headers["X-Content-Type-Options"] == "nosniff", path
            assert resp.headers["Cache-Control"] == "no-store", path


def test_history_dates_are_the_hospitals_days() -> None:
    from zoneinfo import ZoneInfo

    from bot.console.chats import _day

    shanghai = ZoneInfo("Asia/Shanghai")
    start = _day("2026-03-05", False, shanghai)
    end = _day("2026-03-05", True, shanghai)
    assert start == datetime(2026, 3, 5, tzinfo=shanghai).timestamp()
    assert end is not None and start is not None and end - start == 86_400
    assert _day("", False, shanghai) is None
