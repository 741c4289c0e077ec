"""The WeChat channel in-process: real Redis, the real dispatcher, wechatpy's crypto, and
loopback fakes of Ollama and the WeChat API. Deliveries are built and signed as WeChat does."""

from __future__ import annotations

import asyncio
import contextlib
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from wechatpy.events import ScanCodeWaitMsgEvent, SubscribeScanEvent
from wechatpy.messages import TextMessage, UnknownMessage

from adapters.base import Undelivered
from adapters.wechat.channel import WeChatChannel
from adapters.wechat.text import TEXT_LIMIT_BYTES, split_text, utf8_len
from adapters.wechat.webhook import (
    MENU_KEY_HUMAN,
    MENU_KEY_NUMBERS,
    BadRequest,
    _element_value,
    _flat_fields,
    parse_wechat,
)
from bot.handoff import HandoffState, HandoffStore
from bot.runtime import RUNTIME
from bot.server import build_app
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama
from tests.fakes.wechat_api import FakeWeChatAPI, WeChatPush
from tests.support import RedisOutage, eventually, served

TOKEN = "careline-test-token"
APP_ID = "wx1234567890abcdef"
SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ANSWER = "多喝温水，注意休息。如果发烧超过三天，请到发热门诊就诊。"
USER = "oUSER_patient_0001"


@dataclass
class Harness:
    client: aiohttp.ClientSession
    app: web.Application
    channel: WeChatChannel
    push: WeChatPush
    ollama: FakeOllama
    api: FakeWeChatAPI
    redis: aioredis.Redis
    prefix: str

    async def post(
        self, xml: str, *, hang_up_s: float | None = None
    ) -> tuple[int, dict[str, Any] | None, str]:
        """One delivery; with ``hang_up_s`` the caller hangs up then, as WeChat does at 5 s."""
        query, body = self.push.deliver(xml)
        kwargs: dict[str, Any] = {}
        if hang_up_s is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=hang_up_s)
        response = await self.client.post("/wechat", params=query, data=body, **kwargs)
        text = await response.text()
        reply = self.push.read_reply(text) if response.status == 200 else None
        return response.status, reply, text

    async def drain(self) -> None:
        await self.channel.settle()
        await self.app[RUNTIME].dispatcher.drain()


async def alert_entries(redis: aioredis.Redis, prefix: str) -> list[dict[bytes, bytes]]:
    """The staff alert stream's entries (bot.handoff writes it; the adapter mirrors it)."""
    entries = await redis.xrange(f"{prefix}:alerts")
    return [cast(dict[bytes, bytes], fields) for _id, fields in entries or []]


@contextlib.asynccontextmanager
async def harness(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    *,
    mode: str = "plain",
    reply_mode: str = "active",
    llm_reply: str = ANSWER,
    llm_delay: float = 0.0,
    wait_s: float = 0.3,
    hold_s: float = 3.0,
    ollama: FakeOllama | None = None,
    api: FakeWeChatAPI | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    async with contextlib.AsyncExitStack() as stack:
        if ollama is None:
            ollama = await stack.enter_async_context(FakeOllama(reply=llm_reply, delay=llm_delay))
        if api is None:
            api = await stack.enter_async_context(FakeWeChatAPI(appid=APP_ID, secret=SECRET))
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=ollama.url,
            kb_direct_answers=False,  # the channel is under test, with the model's answer
            wechat_token=TOKEN,
            wechat_app_id=APP_ID,
            wechat_app_secret=SECRET,
            wechat_aes_key=AES_KEY,
            wechat_reply_mode=reply_mode,
            wechat_api_base=api.url,
            **overrides,
        )
        channel = WeChatChannel(settings, passive_wait_s=wait_s, hold_max_s=hold_s)
        server = await stack.enter_async_context(served(build_app(settings, adapters=[channel])))
        push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode=mode)
        yield Harness(server.client, server.app, channel, push, ollama, api, redis_client, prefix)


# ------------------------------------------------------------------------------ receiving


async def test_url_verification_and_refusals(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        q = {"timestamp": "1700000000", "nonce": "n0nce", "echostr": "echo-123"}
        q["signature"] = h.push.sign(TOKEN, q["timestamp"], q["nonce"])
        ok = await h.client.get("/wechat", params=q)
        assert ok.status == 200 and await ok.text() == "echo-123"
        bad = await h.client.get("/wechat", params={**q, "signature": "0" * 40})
        assert bad.status == 403

        xml, _ = h.push.text(USER, "你好")
        query, body = h.push.deliver(xml)
        forged = await h.client.post("/wechat", params={**query, "signature": "f" * 40}, data=body)
        assert forged.status == 403
        unsigned = await h.client.post("/wechat", data=body)
        assert unsigned.status == 403
        broken = await h.client.post("/wechat", params=query, data=b"<xml><MsgType>text")
        assert broken.status == 400
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b"<xml><MsgType>&a;</MsgType></xml>"
        )
        assert (await h.client.post("/wechat", params=query, data=bomb)).status == 400
        huge = await h.client.post("/wechat", params=query, data=b"<xml>" + b"a" * 300_000)
        assert huge.status == 413
        await h.drain()
    assert h.ollama.chat_bodies == [] and h.api.sent == []


async def test_safe_mode_bad_msg_signature_is_refused(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client, mode="safe") as h:
        xml, _ = h.push.text(USER, "你好")
        query, body = h.push.deliver(xml)
        refused = await h.client.post(
            "/wechat", params={**query, "msg_signature": "0" * 40}, data=body
        )
        assert refused.status == 403
        tampered = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[AAAA")
        assert (await h.client.post("/wechat", params=query, data=tampered)).status == 403


def test_deliveries_are_read_into_wechatpy_messages() -> None:
    text = parse_wechat(
        "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oA]]>"
        "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[<b>头痛</b> & 发烧]]></Content><MsgId>1234567890123456</MsgId></xml>"
    )
    assert isinstance(text, TextMessage)
    assert (text.source, text.content, text.id) == ("oA", "<b>头痛</b> & 发烧", 1234567890123456)
    scan = parse_wechat(
        "<xml><FromUserName>oB</FromUserName><CreateTime>1700000001</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_ward7</EventKey>"
        "</xml>"
    )
    assert isinstance(scan, SubscribeScanEvent) and scan.scene_id == "ward7"
    nested = parse_wechat(
        "<xml><FromUserName>oC</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        "<Event>scancode_waitmsg</Event><EventKey>k</EventKey><ScanCodeInfo>"
        "<ScanType>qrcode</ScanType><ScanResult>R-1</ScanResult></ScanCodeInfo></xml>"
    )
    assert isinstance(nested, ScanCodeWaitMsgEvent)
    assert (nested.scan_type, nested.scan_result) == ("qrcode", "R-1")
    unknown = parse_wechat("<xml><FromUserName>oD</FromUserName><MsgType>new_kind</MsgType></xml>")
    assert isinstance(unknown, UnknownMessage) and unknown.source == "oD"
    with pytest.raises(BadRequest):
        parse_wechat("<html><body/></html>")


# Pieces of values and documents that a reader of WeChat's XML must get right or leave to
# a real parser: line ends a parser rewrites, CDATA split around "]]>", references, markup,
# characters XML forbids, astral characters. Each is rare, so that many documents have
# WeChat's shape and many have one odd piece.
_PLAIN_PIECES = ["头痛", "a", " ", "\n", "\t", "]]", ">", "１２", "0", "%", "\U0001f600", "\u3000"]
_ODD_PIECES = ["\r", "\r\n", "]]>", "]", "<", "&", "&amp;", "&#20013;", "<b>", "</Content>"]
_ODD_PIECES += ["<![CDATA[", "\x01", "\x0b", "\x7f", "\ufffe"]
_TAGS = ["Content", "MsgId", "FromUserName", "MsgType", "A", "a_1"]
_ODD_TAGS = ["1A", "x:y", "Ä", "xml", "Content"]


def _pick(rng: random.Random, plain: list[str], odd: list[str]) -> str:
    return rng.choice(odd if rng.random() < 0.03 else plain)


def _fuzzed_value(rng: random.Random) -> str:
    return "".join(_pick(rng, _PLAIN_PIECES, _ODD_PIECES) for _ in range(rng.randrange(4)))


def _fuzzed_field(rng: random.Random) -> str:
    tag = _pick(rng, _TAGS, _ODD_TAGS)
    value = _fuzzed_value(rng)
    shape = rng.randrange(40)
    if shape == 0:
        return f"<{tag}/>"
    if shape == 1:
        return f"<{tag}><![CDATA[{value}]]><![CDATA[{_fuzzed_value(rng)}]]></{tag}>"
    if shape == 2:
        return f"<{tag}><Inner>{value}</Inner></{tag}>"
    if shape == 3:
        return f'<{tag} k="v">{value}</{tag}>'
    if shape == 4:
        return f"<{tag}><![CDATA[{value}]]>{value}</{tag}>"
    if shape < 15:
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}><![CDATA[{value}]]></{tag}>"


def _fuzzed_document(rng: random.Random) -> str:
    spaces, odd_spaces = ["", "", "\n", " ", "\t"], ["\r\n", "x", "&amp;", "\x01"]
    body = "".join(
        _pick(rng, spaces, odd_spaces) + _fuzzed_field(rng) for _ in range(rng.randrange(7))
    )
    head = _pick(rng, ["<xml>"], ["<xml >", '<?xml version="1.0"?><xml>', " <xml>", "<x>"])
    tail = _pick(rng, ["</xml>"], ["</xml>\n", "</XML>", "", "</xml><xml/>"])
    return head + body + _pick(rng, spaces, odd_spaces) + tail


def _parsed_by_elementtree(xml: str) -> Any:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return "not XML"
    return root.tag, _element_value(root)


def test_wechats_flat_documents_are_read_as_elementtree_reads_them() -> None:
    # The acknowledgement's path reads WeChat's flat documents without a parser: it must
    # give ElementTree's result for every document it takes, and leave every other to it.
    rng = random.Random(20261121)
    taken = 0
    for _ in range(20_000):
        xml = _fuzzed_document(rng)
        flat = _flat_fields(xml)
        if flat is not None:
            taken += 1
            assert _parsed_by_elementtree(xml) == ("xml", flat), xml
    assert taken > 1_000  # the generator does produce documents of WeChat's shape
    push = WeChatPush("t")
    for content in ("头痛\n发烧", "a ]] b", "<b>&amp;</b>", "", "\u3000"):
        xml, _ = push.text(USER, content)
        assert _flat_fields(xml) == _parsed_by_elementtree(xml)[1]


# ------------------------------------------------------------------------------ active mode


async def test_deliveries_acknowledged_before_shutdown_are_all_answered(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # Active mode says "success" before it hands a delivery on. Here Redis is paused for a
    # second (CLIENT PAUSE), so the acknowledged deliveries are still waiting to be handed on
    # when shutdown begins; every one must still reach the pipeline and be answered, none
    # put in front of staff as lost.
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        await redis_client.client_pause(1000)
        sent = [h.push.text(f"oUSER_burst_{i:02d}", "明天门诊几点开始") for i in range(24)]
        results = await asyncio.gather(*(h.post(xml) for xml, _ in sent))
        assert [text for _, _, text in results] == ["success"] * 24
        assert h.api.sent == []
    assert sorted(m["touser"] for m in h.api.sent) == [f"oUSER_burst_{i:02d}" for i in range(24)]
    assert await alert_entries(redis_client, prefix) == []


async def test_active_answer_goes_out_as_msgmenu_with_disclaimer(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client, mode="safe") as h:
        xml, _ = h.push.text(USER, "感冒了怎么办")
        status, _, text = await h.post(xml)
        assert status == 200 and text == "success"
        await h.drain()
    assert len(h.api.sent) == 1
    sent = h.api.sent[0]
    assert sent["touser"] == USER and sent["msgtype"] == "msgmenu"
    menu = sent["msgmenu"]
    assert menu["head_content"].startswith(ANSWER) and "仅供健康参考" in menu["head_content"]
    assert [o["id"] for o in menu["list"]] == ["human:zh", "emergency_numbers:zh"]
    assert [o["content"] for o in menu["list"]] == ["转人工", "紧急电话"]
    assert h.api.typing == [{"touser": USER, "command": "Typing"}]
    assert len(h.api.token_requests) == 1


async def test_three_concurrent_deliveries_give_one_answer(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client, llm_delay=0.2) as h:
        xml, _ = h.push.text(USER, "挂号怎么挂")
        results = await asyncio.gather(*(h.post(xml) for _ in range(3)))
        await h.drain()
    assert [r[2] for r in results] == ["success"] * 3
    assert len(h.ollama.answer_bodies) == 1
    assert len(h.api.sent) == 1


async def test_burst_of_patients_each_delivered_three_times_gets_one_answer_each(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # Deliveries acknowledged together are counted in Redis together: duplicates inside one
    # batch, and across batches, must still give each message exactly one answer.
    async with harness(redis_url, prefix, tmp_path, redis_client, llm_delay=0.05) as h:
        messages = [
            h.push.text(f"{USER}_{i:02d}", f"第{i}个问题：门诊几点开门")[0] for i in range(12)
        ]
        results = await asyncio.gather(*(h.post(xml) for xml in messages * 3))
        await h.drain()
    assert [r[2] for r in results] == ["success"] * 36
    assert len(h.ollama.answer_bodies) == 12
    assert sorted(s["touser"] for s in h.api.sent) == sorted(f"{USER}_{i:02d}" for i in range(12))


async def test_emergency_comes_in_the_first_webhook_reply_encrypted(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client, mode="safe") as h:
        xml, _ = h.push.text(USER, "我胸口剧痛，喘不上气")
        status, reply, _ = await h.post(xml)
        assert status == 200 and reply is not None
        assert reply["_encrypted"] and reply["MsgType"] == "text"
        assert reply["ToUserName"] == USER and "120" in reply["Content"]
        assert '回复"人工"' in reply["Content"]
        again = await h.post(xml)  # WeChat's retry, had the first response been lost
        assert again[1] is not None and again[1]["Content"] == reply["Content"]
        await h.drain()
    assert h.ollama.chat_bodies == [] and h.api.sent == []
    state = await HandoffStore(redis_client, prefix, 60).state(f"wechat:{USER}")
    assert state is HandoffState.WAITING


async def test_compatible_mode_is_read_and_answered(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client, mode="compat") as h:
        xml, _ = h.push.text(USER, "门诊几点开门")
        assert (await h.post(xml))[2] == "success"
        await h.drain()
    assert len(h.api.sent) == 1
    assert "门诊几点开门" in str(h.ollama.answer_bodies[0]["messages"][-1]["content"])


async def test_buttons_keywords_menu_clicks_and_events(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        sub, _ = h.push.message(USER, "event", {"Event": "subscribe", "EventKey": ""})
        assert (await h.post(sub))[2] == "success"
        await h.drain()
        assert "欢迎关注" in h.api.sent[-1]["msgmenu"]["head_content"]

        numbers, _ = h.push.message(
            USER, "event", {"Event": "CLICK", "EventKey": MENU_KEY_NUMBERS}, create_time=1
        )
        await h.post(numbers)
        await h.drain()
        assert "心理援助热线" in h.api.sent[-1]["text"]["content"]

        en_click, _ = h.push.text(USER, "Talk to a staff member")
        en_click = en_click.replace("</xml>", "<bizmsgmenuid>human:en</bizmsgmenuid></xml>")
        await h.post(en_click)
        await h.drain()
        assert "staff member" in h.api.sent[-1]["text"]["content"]
        state = await HandoffStore(redis_client, prefix, 60).state(f"wechat:{USER}")
        assert state is HandoffState.WAITING

        forget, _ = h.push.text(USER, "删除记录")
        await h.post(forget)
        await h.drain()
        assert "已删除" in h.api.sent[-1]["text"]["content"]

        other = "oUSER_menu_human"
        click, _ = h.push.message(other, "event", {"Event": "CLICK", "EventKey": MENU_KEY_HUMAN})
        await h.post(click)
        view, _ = h.push.message(other, "event", {"Event": "VIEW", "EventKey": "https://x"})
        assert (await h.post(view))[2] == "success"
        await h.drain()
        assert "转接人工" in h.api.sent[-1]["text"]["content"]
        assert await HandoffStore(redis_client, prefix, 60).state(f"wechat:{other}") is (
            HandoffState.WAITING
        )
    assert h.ollama.chat_bodies == []


async def test_voice_image_and_unsubscribe(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        voice, _ = h.push.message(
            USER, "voice", {"MediaId": "m1", "Format": "amr", "Recognition": "头疼怎么办"}
        )
        assert (await h.post(voice))[2] == "success"
        await h.drain()
        assert "头疼怎么办" in str(h.ollama.answer_bodies[-1]["messages"][-1]["content"])
        assert len(h.api.sent) == 1

        mute, _ = h.push.message(USER, "voice", {"MediaId": "m2", "Format": "amr"})
        _, reply, _ = await h.post(mute)
        assert reply is not None and "语音" in reply["Content"] and '回复"人工"' in reply["Content"]
        image, _ = h.push.message(USER, "image", {"PicUrl": "http://x/p.jpg", "MediaId": "m3"})
        _, reply, _ = await h.post(image)
        assert reply is not None and "图片" in reply["Content"]

        context_key = f"{prefix}:ctx:wechat:{USER}"
        before = [k async for k in redis_client.scan_iter(match=f"{prefix}:*{USER}*")]
        assert before
        leave, _ = h.push.message(USER, "event", {"Event": "unsubscribe"})
        assert (await h.post(leave))[2] == "success"
        await h.drain()
        assert not await redis_client.exists(context_key)
    assert len(h.api.sent) == 1  # the notices were webhook replies; unsubscribe says nothing


# ------------------------------------------------------------------- API errors and token


async def test_token_refreshed_once_on_40001_and_shared_by_replicas(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with (
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        harness(redis_url, prefix, tmp_path, redis_client, api=api) as a,
        harness(redis_url, prefix, tmp_path / "b", redis_client, api=api) as b,
    ):
        first, _ = a.push.text(USER, "你好")
        await a.post(first)
        await a.drain()
        assert len(api.token_requests) == 1
        second, _ = b.push.text("oUSER_b", "你好")
        await b.post(second)  # the other replica uses the token in Redis
        await b.drain()
        assert len(api.token_requests) == 1
        api.invalidate_token()
        third, _ = a.push.text(USER, "谢谢")
        await a.post(third)
        await a.drain()
        assert api.force_refreshes == 1 and len(api.token_requests) == 2
        fourth, _ = b.push.text("oUSER_b", "再见")
        await b.post(fourth)
        await b.drain()
        assert len(api.token_requests) == 2  # b picked up a's new token after one 40001
    assert len(api.sent) == 4
    assert await a.channel.api.tokens.refreshes_today() == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("errcode", "reason"), [(45015, "wechat_window_closed"), (45047, "wechat_quota")]
)
async def test_undeliverable_answer_puts_chat_before_staff(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    errcode: int,
    reason: str,
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        h.api.send_errors = [errcode]
        xml, _ = h.push.text(USER, "你好")
        await h.post(xml)
        await h.drain()
    assert h.api.sent == []
    handoff = HandoffStore(redis_client, prefix, 60)
    assert await handoff.state(f"wechat:{USER}") is HandoffState.WAITING
    alerts = await alert_entries(redis_client, prefix)
    assert alerts[-1][b"reason"] == reason.encode()
    assert alerts[-1][b"conversation"] == f"wechat:{USER}".encode()


async def test_server_errors_and_busy_are_retried(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        h.api.http_errors = [502, 503]
        h.api.send_errors = [-1]
        xml, _ = h.push.text(USER, "你好")
        await h.post(xml)
        await h.drain()
    assert len(h.api.sent) == 1
    # typing met the 502 and is not retried; the send met 503, then -1, then went through
    assert h.api.typing == [] and h.api.attempts == 4


async def test_quota_of_five_messages_per_user_message(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from bot.models import Outbound

    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        xml, _ = h.push.text(USER, "删除记录")
        await h.post(xml)
        await h.drain()
        for i in range(4):
            await h.channel.send(Outbound(channel="wechat", conversation_id=USER, text=f"{i}"))
        with pytest.raises(Undelivered, match="wechat_quota"):  # and staff have the chat
            await h.channel.send(Outbound(channel="wechat", conversation_id=USER, text="4"))
        assert len(h.api.sent) == 5  # the reply to the message, and four more
        alerts = await alert_entries(redis_client, prefix)
        assert alerts[-1][b"reason"] == b"wechat_quota"
        xml, _ = h.push.text(USER, "还在吗")  # the patient writes again: a new allowance
        await h.post(xml)
        await h.drain()
    assert len(h.api.sent) == 6


async def test_long_answer_is_split_by_bytes_at_sentence_ends(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    long_answer = "这是一个很长的句子，用来检查分段是否正确。" * 60
    async with harness(redis_url, prefix, tmp_path, redis_client, llm_reply=long_answer) as h:
        xml, _ = h.push.text(USER, "请详细说明")
        await h.post(xml)
        await h.drain()
    kinds = [s["msgtype"] for s in h.api.sent]
    assert kinds == ["text", "msgmenu"]
    first = h.api.sent[0]["text"]["content"]
    assert utf8_len(first) <= TEXT_LIMIT_BYTES and first.endswith("。")


def test_split_text_keeps_bytes_under_the_limit() -> None:
    text = "第一句话。" * 300 + "end. " * 50
    parts = split_text(text, 100)
    assert all(utf8_len(p) <= 100 for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "").strip()
    assert split_text("短", 100) == ["短"]
    emoji = split_text("😀" * 40, 10)
    assert all(utf8_len(p) <= 10 for p in emoji) and "".join(emoji) == "😀" * 40


# ----------------------------------------------------------------------------- passive mode


async def test_passive_answer_in_the_reply_with_typed_choices(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(
        redis_url, prefix, tmp_path, redis_client, mode="safe", reply_mode="passive", wait_s=3.0
    ) as h:
        xml, _ = h.push.text(USER, "感冒了怎么办")
        status, reply, _ = await h.post(xml)
        await h.drain()
    assert status == 200 and reply is not None and reply["_encrypted"]
    assert reply["Content"].startswith(ANSWER) and "仅供健康参考" in reply["Content"]
    assert '回复"人工"：转人工' in reply["Content"]
    assert h.api.sent == [] and h.api.typing == []


async def test_passive_delivery_with_nothing_to_answer_is_released_at_once(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # Over the rate limit, careline answers the first refused message with a notice and then
    # stays silent. The silent one's delivery must not be held open (WeChat would deliver it
    # three times and the patient would be told an answer is coming): "success" at once,
    # well before this caller hangs up.
    async with harness(
        redis_url,
        prefix,
        tmp_path,
        redis_client,
        reply_mode="passive",
        wait_s=3.0,
        hold_s=6.0,
        rate_limit="1/minute",
    ) as h:
        replies = []
        for text in ("感冒了怎么办", "还有别的办法吗", "在吗"):
            xml, _ = h.push.text(USER, text)
            replies.append(await h.post(xml, hang_up_s=2.0))
        await h.drain()
    assert replies[0][1] is not None and replies[0][1]["Content"].startswith(ANSWER)
    assert replies[1][1] is not None and "稍等" in replies[1][1]["Content"]
    assert replies[2][0] == 200 and replies[2][2] == "success"
    assert len(h.ollama.answer_bodies) == 1


async def test_passive_three_concurrent_deliveries_one_answer(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(
        redis_url, prefix, tmp_path, redis_client, reply_mode="passive", wait_s=3.0, llm_delay=0.2
    ) as h:
        xml, _ = h.push.text(USER, "挂号怎么挂")
        results = await asyncio.gather(*(h.post(xml) for _ in range(3)))
        await h.drain()
    assert len(h.ollama.answer_bodies) == 1
    contents = {r[1]["Content"] for r in results if r[1] is not None}
    assert len(contents) == 1 and ANSWER in contents.pop()


async def test_passive_emergency_in_first_reply_while_model_is_slow(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(
        redis_url, prefix, tmp_path, redis_client, reply_mode="passive", wait_s=3.0, llm_delay=3
    ) as h:
        slow, _ = h.push.text(USER, "我想问一下体检的事")
        slow_task = asyncio.create_task(h.post(slow, hang_up_s=0.2))
        xml, _ = h.push.text(USER, "我不想活了")
        _, reply, _ = await h.post(xml)
        assert reply is not None and "12356" in reply["Content"]
        with contextlib.suppress(TimeoutError):
            await slow_task


async def test_passive_deliveries_apart_answer_after_the_last_comes_with_next_message(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """WeChat hangs up at its deadline (here 0.25 s) and delivers again; the model needs
    longer than all three deliveries."""
    async with harness(
        redis_url, prefix, tmp_path, redis_client, reply_mode="passive", wait_s=0.15, llm_delay=2.0
    ) as h:
        xml, _ = h.push.text(USER, "体检前要空腹吗")
        for _ in range(2):
            with pytest.raises(TimeoutError):
                await h.post(xml, hang_up_s=0.25)
        # The last delivery is answered at wait_s; the longer hang-up only spares the test a
        # slow moment of a cold process (start-up work in a background thread).
        _, last, _ = await h.post(xml, hang_up_s=1.0)
        assert last is not None and "下一条消息" in last["Content"]
        await h.drain()  # the answer is ready now, after the last delivery
        h.ollama.delay = 0
        nxt, _ = h.push.text(USER, "谢谢")
        _, reply, _ = await h.post(nxt, hang_up_s=2.0)
    assert reply is not None
    content = reply["Content"]
    assert content.startswith("【您之前问题的回答】") and ANSWER in content
    assert content.count(ANSWER) == 2  # the earlier answer, then the answer to "谢谢"
    assert len(h.ollama.answer_bodies) == 2


async def test_passive_retry_on_another_replica_gets_the_answer(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with (
        FakeOllama(reply=ANSWER, delay=0.5) as ollama,
        harness(
            redis_url,
            prefix,
            tmp_path,
            redis_client,
            reply_mode="passive",
            wait_s=0.1,
            ollama=ollama,
        ) as a,
        harness(
            redis_url,
            prefix,
            tmp_path / "b",
            redis_client,
            reply_mode="passive",
            wait_s=2.0,
            ollama=ollama,
        ) as b,
    ):
        xml, _ = a.push.text(USER, "抽血要空腹吗")
        with pytest.raises(TimeoutError):
            await a.post(xml, hang_up_s=0.2)
        _, reply, _ = await b.post(xml)  # WeChat's retry lands on replica b
        await a.drain()
        await b.drain()
    assert reply is not None and reply["Content"].startswith(ANSWER)
    assert len(ollama.answer_bodies) == 1


async def test_a_repeat_delivery_stores_what_a_dead_replica_counted_but_never_stored(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """Passive mode: the replica that counted the first delivery died before storing the
    message (its count is in Redis, the message nowhere). WeChat's retry stores it and gets
    the answer; a third delivery does not store it again."""
    async with harness(
        redis_url, prefix, tmp_path, redis_client, reply_mode="passive", wait_s=3.0
    ) as h:
        xml, message_id = h.push.text(USER, "抽血要空腹吗")
        await redis_client.set(h.channel.store.delivery_key(str(message_id)), 1)
        _, reply, _ = await h.post(xml)
        assert reply is not None and reply["Content"].startswith(ANSWER)
        _, again, _ = await h.post(xml)
        assert again is not None and again["Content"].startswith(ANSWER)
        await h.drain()
    assert len(h.ollama.answer_bodies) == 1


async def test_transfer_to_wechat_customer_service_when_escalated(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with harness(
        redis_url, prefix, tmp_path, redis_client, wechat_transfer_customer_service=True
    ) as h:
        ask, ask_id = h.push.text(USER, "转人工")
        _, reply, _ = await h.post(ask)
        assert reply is not None and reply["MsgType"] == "transfer_customer_service"
        # any replica's worker finds the message transferred, and keeps its notice back
        assert await h.channel.store.transferred(str(ask_id))
        staff = HandoffStore(redis_client, prefix, 60)
        await eventually(lambda: _waiting_for_staff(staff, f"wechat:{USER}"))
        more, _ = h.push.text(USER, "我的报告什么时候出")
        _, reply, _ = await h.post(more)
        assert reply is not None and reply["MsgType"] == "transfer_customer_service"
        urgent, _ = h.push.text(USER, "我胸口剧痛，喘不上气")
        _, reply, _ = await h.post(urgent)
        assert reply is not None and reply["MsgType"] == "text" and "120" in reply["Content"]
        await h.drain()
    assert h.api.sent == [] and h.ollama.chat_bodies == []


async def _waiting_for_staff(staff: HandoffStore, key: str) -> bool:
    return await staff.state(key) is HandoffState.WAITING


async def test_an_answer_goes_out_while_redis_is_down(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """Redis goes away while the answer is written: WeChat's quota cannot be counted and the
    shared access token cannot be read, and the answer is sent anyway (WeChat refuses one
    over its quota itself; its stable_token hands out the current token without invalidating
    it) rather than written and dropped."""
    async with (
        RedisOutage(redis_url) as door,
        harness(door.url, prefix, tmp_path, redis_client) as h,
    ):
        h.ollama.delay = 0.5
        xml, _ = h.push.text(USER, "感冒了怎么办")
        status, _, text = await h.post(xml)
        assert status == 200 and text == "success"
        await eventually(lambda: h.ollama.in_flight > 0)
        door.cut()
        await eventually(lambda: len(h.api.sent) == 1)
        door.restore()
    assert h.api.sent[0]["touser"] == USER


async def test_a_delivery_redis_cannot_store_is_not_acknowledged(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """Redis unavailable when a message arrives: WeChat is answered 503, so it delivers the
    message again; once Redis is back the redelivery is acknowledged and answered, once."""
    async with (
        RedisOutage(redis_url) as door,
        harness(door.url, prefix, tmp_path, redis_client) as h,
    ):
        xml, _ = h.push.text(USER, "感冒了怎么办")
        door.cut()
        status, _, _ = await h.post(xml)
        assert status == 503
        door.restore()
        status, _, text = await h.post(xml)
        assert status == 200 and text == "success"
        status, _, text = await h.post(xml)  # a third delivery: a repeat
        assert status == 200 and text == "success"
        await h.drain()
    assert [m["touser"] for m in h.api.sent] == [USER]


async def test_a_redis_stall_delays_but_never_duplicates(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """WeChat delivers a message again when its first delivery seems slow; with Redis stalled
    for a second, each of the three deliveries is acknowledged, and one answer goes out."""
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        await redis_client.client_pause(1000)
        xml, _ = h.push.text(USER, "明天门诊几点开始")
        for _ in range(3):
            status, _, text = await h.post(xml)
            assert status == 200 and text == "success"
        await h.drain()
    assert [m["touser"] for m in h.api.sent] == [USER]
