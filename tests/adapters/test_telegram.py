"""The Telegram channel in careline's real server and pipeline: PTB's own ``Update`` objects
from Bot API JSON, a real Redis, a loopback fake of the Bot API and of Ollama."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from telegram import Update

from adapters.base import Undelivered
from adapters.telegram.channel import (
    RETRY_AFTER_RETRIES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
)
from adapters.telegram.send import SEND_ATTEMPTS, SEND_ATTEMPTS_URGENT, TelegramSender
from adapters.telegram.text import MessageRef, region_hint, split_text, utf16_len
from bot.handoff import HandoffState, HandoffStore
from bot.models import Button, Outbound, OutboundKind
from bot.server import MAX_BODY_BYTES, build_app
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama
from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    GROUP_ID,
    PATIENT_ID,
    ApiError,
    FakeTelegramAPI,
    blocked_update,
    callback_update,
    edited_update,
    photo_update,
    reaction_update,
    sticker_update,
    text_update,
    too_many_requests,
    visible_text,
    voice_update,
)
from tests.support import RedisOutage, eventually, served

SECRET = "s3cret-token_for-tests"
PATIENT_PROMPT = "You are the patient-message assistant"
ANSWER = "Please bring your insurance card & ID to the outpatient desk <before 9am>."


@dataclass
class Harness:
    api: FakeTelegramAPI
    llm: FakeOllama
    client: aiohttp.ClientSession
    channel: TelegramChannel
    redis: aioredis.Redis
    prefix: str

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post(WEBHOOK_PATH, json=update, headers=headers)
        return response.status

    def sent(self) -> list[dict[str, Any]]:
        return self.api.calls_to("sendMessage")

    async def wait_sent(self, count: int) -> list[dict[str, Any]]:
        await self.api.wait_for(lambda: len(self.sent()) >= count)
        return self.sent()


@contextlib.asynccontextmanager
async def harness(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    async with FakeTelegramAPI() as api, FakeOllama(reply=ANSWER) as llm:
        values: dict[str, Any] = {
            "ollama_host": llm.url,
            "telegram_token": DEFAULT_TOKEN,
            "telegram_webhook_secret": SECRET,
            "telegram_api_base": api.url,
            "hospital_region": "CN",
            # the channel is under test, with the model's answer (not the FAQ's)
            "kb_direct_answers": False,
        }
        settings = make_settings(redis_url, prefix, tmp_path, **(values | overrides))
        channel = TelegramChannel(settings)
        async with served(build_app(settings, [channel])) as server:
            yield Harness(api, llm, server.client, channel, redis_client, prefix)


@pytest.fixture
async def tg(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> AsyncIterator[Harness]:
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        yield h


@pytest.fixture
def channel(redis_url: str, prefix: str, tmp_path: Path) -> TelegramChannel:
    """The channel alone, not started: for mapping and rendering rules."""
    settings = make_settings(
        redis_url, prefix, tmp_path, telegram_token=DEFAULT_TOKEN, telegram_webhook_secret=SECRET
    )
    return TelegramChannel(settings)


def model_answers(llm: FakeOllama) -> int:
    """Chat requests that asked the model to answer a patient (not, say, a staff summary)."""
    return sum(PATIENT_PROMPT in str(body["messages"][0]["content"]) for body in llm.chat_bodies)


def keyboard_data(call: dict[str, Any]) -> list[str]:
    rows = (call.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


# ------------------------------------------------------------------ the webhook door


async def test_wrong_or_missing_secret_is_403_and_nothing_is_handled(tg: Harness) -> None:
    assert await tg.post(text_update("hello"), secret="not-the-secret") == 403
    assert await tg.post(text_update("hello"), secret=None) == 403
    assert await tg.post(text_update("hello"), secret=SECRET[:-1]) == 403
    assert model_answers(tg.llm) == 0 and tg.sent() == []


async def test_updates_acknowledged_before_shutdown_are_all_answered(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    # The webhook answers 200 before the update is handled. Redis is paused here for three
    # seconds (CLIENT PAUSE), so many acknowledged updates are still queued when shutdown
    # begins; each must still reach the pipeline and be answered.
    chats = [7_100_000 + i for i in range(64)]
    async with harness(redis_url, prefix, tmp_path, redis_client) as h:
        await redis_client.client_pause(3000)
        statuses = await asyncio.gather(
            *(h.post(text_update("Where is the pharmacy?", chat_id=c, user_id=c)) for c in chats)
        )
        assert statuses == [200] * len(chats)
        assert h.sent() == []
    assert sorted(int(m["chat_id"]) for m in h.sent()) == chats


async def test_an_emergency_reply_overtakes_notices_waiting_at_the_flood_limit(
    tg: Harness,
) -> None:
    # 48 /help notices at once: Telegram's flood limit lets about 30 go at once and the rest
    # wait at the rate limiter. The emergency, delivered last, must not wait behind them.
    helpers = [7_200_000 + i for i in range(48)]
    urgent = 7_299_999
    tg.api.delay = 0.2
    posts = [tg.post(text_update("/help", chat_id=chat, user_id=chat)) for chat in helpers]
    assert set(await asyncio.gather(*posts)) == {200}
    emergency = text_update(
        "I have crushing chest pain and can't breathe", chat_id=urgent, user_id=urgent
    )
    assert await tg.post(emergency) == 200
    sent = await tg.wait_sent(len(helpers) + 1)
    order = [int(m["chat_id"]) for m in sent]
    assert order.index(urgent) < len(helpers) - 8


async def test_malformed_bodies_get_400_and_oversized_413(tg: Harness) -> None:
    headers = {SECRET_HEADER: SECRET}
    for body in (b"{not json", b"[1, 2]", b'"text"', json.dumps({"update_id": "x"}).encode()):
        response = await tg.client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert response.status == 400, body
        assert "Traceback" not in await response.text()
    big = b'{"update_id": 1, "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert (await tg.client.post(WEBHOOK_PATH, data=big, headers=headers)).status == 413


async def test_updates_without_a_message_are_acknowledged_and_ignored(tg: Harness) -> None:
    assert await tg.post(reaction_update()) == 200
    assert await tg.post({"update_id": 42}) == 200
    group_join = text_update("x", chat_id=GROUP_ID)
    del group_join["message"]["text"]
    group_join["message"]["new_chat_members"] = [{"id": 9, "is_bot": False, "first_name": "B"}]
    assert await tg.post(group_join) == 200
    # The channel still works afterwards.
    assert await tg.post(text_update("When is the pharmacy open?")) == 200
    sent = await tg.wait_sent(1)
    assert len(sent) == 1 and model_answers(tg.llm) == 1


# ----------------------------------------------------------------------- answers


async def test_private_answer_is_escaped_html_with_keyboard_after_drafts(tg: Harness) -> None:
    # Drafts show finished sentences only: a second sentence, and a stream long enough for
    # the dispatcher to show the first while the second is written.
    tg.llm.reply = f"{ANSWER} Parking is behind building 2, free for patients."
    tg.llm.chunk_delay = 0.08
    assert await tg.post(text_update("What should I bring tomorrow?")) == 200
    sent = await tg.wait_sent(1)
    answer = sent[0]
    assert answer["parse_mode"] == "HTML"
    assert int(answer["chat_id"]) == PATIENT_ID
    shown = visible_text(answer["text"], "HTML")
    assert ANSWER in shown  # "&" and "<before 9am>" came through escaped, so Telegram shows them
    assert "general health information" in shown  # the English disclaimer: language_code "en"
    assert keyboard_data(answer) == ["b:human", "b:emergency_numbers"]
    assert all(len(d.encode()) <= 64 for d in keyboard_data(answer))
    drafts = tg.api.calls_to("sendMessageDraft")
    assert drafts, "a streamed answer in a private chat shows drafts"
    assert len({d["draft_id"] for d in drafts}) == 1 and int(drafts[0]["draft_id"]) != 0
    assert all(visible_text(d["text"], "HTML").startswith(ANSWER) for d in drafts)
    assert all("Parking is behind" not in visible_text(d["text"], "HTML") for d in drafts[:1])
    assert tg.api.calls_to("sendChatAction")[0]["action"] == "typing"
    order = [c.method for c in tg.api.calls if c.method != "getMe"]
    assert order.index("sendMessageDraft") < order.index("sendMessage")


async def test_group_answer_quotes_the_message_and_shows_no_drafts(tg: Harness) -> None:
    tg.llm.chunk_delay = 0.05
    update = text_update("Visiting hours for ward 3?", chat_id=GROUP_ID)
    assert await tg.post(update) == 200
    answer = (await tg.wait_sent(1))[0]
    assert int(answer["chat_id"]) == GROUP_ID
    assert answer["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert tg.api.calls_to("sendMessageDraft") == []


async def test_redelivered_update_is_answered_once(tg: Harness) -> None:
    update = text_update("Where is the radiology department?")
    assert await tg.post(update) == 200
    assert await tg.post(update) == 200
    await tg.wait_sent(1)
    await tg.post(text_update("and parking?"))
    await tg.wait_sent(2)
    assert model_answers(tg.llm) == 2  # the repeat never reached the model


async def test_edited_message_is_answered_as_new_text(tg: Harness) -> None:
    original = text_update("Is the clinic open on Saturday?")
    assert await tg.post(original) == 200
    await tg.wait_sent(1)
    assert await tg.post(edited_update(original, "Is the clinic open on Sunday?")) == 200
    await tg.wait_sent(2)
    asked = [body["messages"][-1]["content"] for body in tg.llm.chat_bodies]
    assert asked[-1].endswith("Sunday?")


async def test_rate_limited_send_waits_retry_after_and_delivers(tg: Harness) -> None:
    tg.api.fail_next("sendMessage", too_many_requests(1))
    assert await tg.post(text_update("How do I book a blood test?")) == 200
    await tg.api.wait_for(lambda: len(tg.sent()) >= 2)
    statuses = [r.body.get("text") is not None for r in tg.api.requests if "sendMessage" in r.path]
    assert len(statuses) == 2  # the 429 and the retry that succeeded
    assert ANSWER in visible_text(tg.sent()[-1]["text"], "HTML")


def outbound(chat_id: int, kind: OutboundKind) -> Outbound:
    return Outbound(
        channel="telegram",
        conversation_id=str(chat_id),
        text=f"A {kind} message.",
        kind=kind,
        lang="en",
    )


def send_all(channel: TelegramChannel, chats: dict[int, OutboundKind]) -> list[asyncio.Task[None]]:
    """Start every send at once, in the order given."""
    return [asyncio.create_task(channel.send(outbound(c, k))) for c, k in chats.items()]


# Telegram lets a bot send about 30 messages a second; a burst of this many ordinary answers
# fills the first second and leaves about 60 waiting their turn.
ORDINARY_BURST = 90
FLOOD_BUDGET = 30  # FloodLimit.MESSAGES_PER_SECOND: what the limiter lets through at once


async def test_emergency_goes_before_ordinary_sends_queued_at_the_flood_limit(
    tg: Harness,
) -> None:
    emergency, handoff = 8_200_001, 8_200_002
    chats = dict.fromkeys(range(8_100_000, 8_100_000 + ORDINARY_BURST), OutboundKind.ANSWER)
    # Queued after all the ordinary answers, and the handoff notice before the emergency.
    chats |= {handoff: OutboundKind.HANDOFF, emergency: OutboundKind.EMERGENCY}
    await asyncio.gather(*send_all(tg.channel, chats))
    order = [int(call["chat_id"]) for call in tg.sent()]
    assert sorted(order) == sorted(chats)  # everything went out, once
    # In arrival order they would go last (90th and 91st); they go out soon after the first
    # second's burst, ahead of the ordinary answers still waiting. The margin over the burst
    # is for ordinary sends let through while the test was still queueing the rest. Their
    # order between themselves is the limiter's (tests/adapters/test_telegram_limits.py): two sends
    # let through together may reach the API in either order.
    assert order.index(emergency) < ORDINARY_BURST // 2
    assert order.index(handoff) < ORDINARY_BURST // 2
    assert tg.api.early_calls == []


async def test_urgent_send_waits_out_retry_after_then_goes_ahead(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.telegram.limits")
    first, second = 8_300_001, 8_300_002
    tg.api.fail_next("sendMessage", too_many_requests(1))
    refused = send_all(tg.channel, {first: OutboundKind.EMERGENCY})
    await tg.api.wait_for(lambda: "flood control" in caplog.text)  # every call now waits
    # While it waits, ordinary answers pile up, then another emergency.
    chats = dict.fromkeys(range(8_400_000, 8_400_000 + ORDINARY_BURST), OutboundKind.ANSWER)
    later = send_all(tg.channel, chats | {second: OutboundKind.EMERGENCY})
    await asyncio.gather(*refused, *later)
    # Nothing reached the Bot API before retry_after had passed (it would have said 429 again).
    assert tg.api.early_calls == []
    order = [int(call["chat_id"]) for call in tg.sent()]
    assert order[0] == first and order.count(first) == 2  # refused, then sent after the wait
    # The second emergency went in the burst that followed the wait, not behind the queue.
    assert order.index(second) <= FLOOD_BUDGET
    assert sorted(order) == sorted([first, first, *chats, second])


async def test_blocked_patient_does_not_break_the_channel(tg: Harness) -> None:
    tg.api.blocked.add(PATIENT_ID)
    assert await tg.post(text_update("hello?")) == 200
    await tg.wait_sent(1)
    tg.api.blocked.clear()
    assert await tg.post(text_update("hello again", user_id=7, chat_id=7)) == 200
    await tg.wait_sent(2)


async def test_bad_request_from_telegram_is_logged_without_text(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.fail_next("sendMessage", ApiError(400, "Bad Request: chat not found"))
    assert await tg.post(text_update("My name is Alex Turner, phone +44 7700 900123")) == 200
    await tg.wait_sent(1)
    await tg.api.wait_for(lambda: "telegram_bad_request" in caplog.text)
    assert "send failed channel=telegram kind=answer (telegram_bad_request)" in caplog.text
    assert "Alex" not in caplog.text and "7700" not in caplog.text


# ------------------------------------------------------------------- the keyboard


async def test_staff_button_hands_off_and_answers_the_callback(tg: Harness) -> None:
    press = callback_update("b:human")
    assert await tg.post(press) == 200
    sent = await tg.wait_sent(1)
    await tg.api.wait_for(lambda: bool(tg.api.calls_to("answerCallbackQuery")))
    answered = tg.api.calls_to("answerCallbackQuery")
    assert answered[0]["callback_query_id"] == press["callback_query"]["id"]
    assert "passed your chat to a staff member" in visible_text(sent[0]["text"], "HTML")
    assert keyboard_data(sent[0]) == []
    assert await tg.redis.exists(f"{tg.prefix}:handoff:telegram:{PATIENT_ID}")
    # While the chat waits for staff, the bot does not answer with the model.
    assert await tg.post(text_update("Hello?")) == 200
    later = await tg.wait_sent(2)
    assert "staff member will reply" in visible_text(later[1]["text"], "HTML")
    assert model_answers(tg.llm) == 0


async def test_unknown_or_stale_callback_is_answered_and_ignored(tg: Harness) -> None:
    assert await tg.post(callback_update("b:launch_missiles")) == 200
    assert await tg.post(callback_update("something-else")) == 200
    await tg.api.wait_for(lambda: len(tg.api.calls_to("answerCallbackQuery")) == 2)
    assert tg.sent() == [] and model_answers(tg.llm) == 0


async def test_emergency_numbers_button_adds_the_local_number_for_a_hinted_region(
    tg: Harness,
) -> None:
    assert await tg.post(callback_update("b:emergency_numbers", language_code="en-GB")) == 200
    shown = visible_text((await tg.wait_sent(1))[0]["text"], "HTML")
    assert "Ambulance: 120" in shown  # the hospital's numbers first
    assert "the United Kingdom" in shown and "999" in shown


async def test_a_region_hint_reaches_the_replica_that_answers_the_chat(tg: Harness) -> None:
    """The hint is read where the update arrives; the chat may be answered (a model-found
    emergency, the numbers button) by a worker on another replica, which finds it in Redis."""
    assert await tg.post(callback_update("b:emergency_numbers", language_code="en-GB")) == 200
    await tg.wait_sent(1)
    elsewhere = TelegramSender(tg.channel.bot, tg.channel.hospital)
    elsewhere.share(tg.redis, tg.prefix)

    async def hinted() -> bool:
        return await elsewhere.region(str(PATIENT_ID)) == "UK"

    await eventually(hinted)


# --------------------------------------------------------------------- emergencies


async def test_emergency_comes_first_and_alone_with_bold_heading(tg: Harness) -> None:
    tg.llm.delay = 3.0  # the model is still writing an earlier answer when the emergency comes
    assert await tg.post(text_update("Which floor is the eye clinic on?")) == 200
    await tg.api.wait_for(lambda: model_answers(tg.llm) == 1)
    assert await tg.post(text_update("I have crushing chest pain and can't breathe")) == 200
    sent = await tg.wait_sent(1)
    emergency = sent[0]
    assert emergency["text"].startswith("<b>") and "</b>" in emergency["text"]
    shown = visible_text(emergency["text"], "HTML")
    assert "call 120 now" in shown.lower() and "010-12345678" in shown
    assert model_answers(tg.llm) == 1  # the emergency never went to the model
    # The earlier ordinary answer is withheld when the model delivers it: the emergency
    # stays alone. A later message of the same chat is handled after it, in order.
    tg.llm.delay = 0.0
    assert await tg.post(text_update("thank you")) == 200
    await tg.api.wait_for(
        lambda: any("staff member will reply" in visible_text(s["text"], "HTML") for s in tg.sent())
    )  # the answer to "thank you": staff now hold the chat
    assert model_answers(tg.llm) == 1
    assert not any(ANSWER in visible_text(s["text"], "HTML") for s in tg.sent())


async def test_emergency_adds_the_number_where_the_locale_points(tg: Harness) -> None:
    update = text_update("I want to kill myself", language_code="en-US")
    assert await tg.post(update) == 200
    shown = visible_text((await tg.wait_sent(1))[0]["text"], "HTML")
    assert "120" in shown  # the hospital's region (CN) first
    assert "the United States" in shown and "911" in shown
    assert model_answers(tg.llm) == 0


async def test_emergency_in_a_photo_caption_is_escalated(tg: Harness) -> None:
    assert await tg.post(photo_update(caption="my child swallowed bleach and is vomiting")) == 200
    sent = await tg.wait_sent(1)
    assert "emergency" in visible_text(sent[0]["text"], "HTML").lower()

    def told_text_only() -> bool:
        return any("only read text" in visible_text(s["text"], "HTML") for s in tg.sent())

    await tg.api.wait_for(told_text_only)
    assert model_answers(tg.llm) == 0


# ------------------------------------------------------------------------ commands


async def test_start_welcomes_with_privacy_notice_and_language_choice(tg: Harness) -> None:
    assert await tg.post(text_update("/start")) == 200
    welcome = (await tg.wait_sent(1))[0]
    shown = visible_text(welcome["text"], "HTML")
    assert "Welcome to" in shown and "Privacy" in shown and "not a doctor" in shown
    assert "Choose your language" in shown
    assert keyboard_data(welcome) == ["b:human", "b:emergency_numbers", "lang:en", "lang:zh"]


async def test_language_choice_sticks_over_language_code(tg: Harness) -> None:
    assert await tg.post(text_update("/lang")) == 200
    choose = (await tg.wait_sent(1))[0]
    assert keyboard_data(choose) == ["lang:en", "lang:zh"]
    press = callback_update("lang:zh")
    assert await tg.post(press) == 200
    confirmed = (await tg.wait_sent(2))[1]
    assert "中文" in visible_text(confirmed["text"], "HTML")
    toast = tg.api.calls_to("answerCallbackQuery")[0]
    assert toast["callback_query_id"] == press["callback_query"]["id"] and toast["text"] == "中文"
    assert await tg.redis.get(f"{tg.prefix}:telegram:lang:{PATIENT_ID}") == b"zh"
    # language_code still says English; the patient's choice wins from now on.
    assert await tg.post(text_update("/help", language_code="en")) == 200
    help_text = visible_text((await tg.wait_sent(3))[2]["text"], "HTML")
    assert "命令" in help_text


async def test_help_human_and_numbers_commands(tg: Harness) -> None:
    assert await tg.post(text_update("/help")) == 200
    assert "/forget" in visible_text((await tg.wait_sent(1))[0]["text"], "HTML")
    assert await tg.post(text_update("/numbers")) == 200
    assert "Ambulance: 120" in visible_text((await tg.wait_sent(2))[1]["text"], "HTML")
    assert await tg.post(text_update("/human@careline_test_bot")) == 200
    assert "staff member" in visible_text((await tg.wait_sent(3))[2]["text"], "HTML")
    assert await tg.post(text_update("/human@some_other_bot", chat_id=GROUP_ID)) == 200
    assert await tg.post(text_update("/start", user_id=8, chat_id=8)) == 200
    await tg.wait_sent(4)
    assert len(tg.sent()) == 4  # the other bot's command was not ours to answer
    assert model_answers(tg.llm) == 0


async def test_forget_erases_history_and_language_choice(tg: Harness) -> None:
    assert await tg.post(callback_update("lang:en")) == 200
    assert await tg.post(text_update("My phone is 13812345678, when can I visit?")) == 200
    await tg.wait_sent(2)
    conversation = f"telegram:{PATIENT_ID}"
    assert await tg.redis.exists(f"{tg.prefix}:ctx:{conversation}")
    assert await tg.post(text_update("/forget")) == 200
    sent = await tg.wait_sent(3)
    assert "erased" in visible_text(sent[2]["text"], "HTML")
    assert not await tg.redis.exists(f"{tg.prefix}:ctx:{conversation}")
    assert not await tg.redis.exists(f"{tg.prefix}:vault:{conversation}")
    assert not await tg.redis.exists(f"{tg.prefix}:telegram:lang:{PATIENT_ID}")


async def test_blocking_the_bot_erases_history(tg: Harness) -> None:
    assert await tg.post(text_update("Is there parking?")) == 200
    await tg.wait_sent(1)
    assert await tg.redis.exists(f"{tg.prefix}:ctx:telegram:{PATIENT_ID}")
    assert await tg.post(blocked_update()) == 200
    for _ in range(100):
        if not await tg.redis.exists(f"{tg.prefix}:ctx:telegram:{PATIENT_ID}"):
            break
        await tg.api.pause(0.05)
    assert not await tg.redis.exists(f"{tg.prefix}:ctx:telegram:{PATIENT_ID}")
    assert len(tg.sent()) == 1  # nothing is said to a patient who left


@pytest.mark.parametrize("make", [photo_update, voice_update, sticker_update])
async def test_media_gets_a_polite_notice_and_the_handoff_offer(tg: Harness, make: Any) -> None:
    assert await tg.post(make()) == 200
    notice = (await tg.wait_sent(1))[0]
    assert "only read text" in visible_text(notice["text"], "HTML")
    assert keyboard_data(notice) == ["b:human", "b:emergency_numbers"]
    assert model_answers(tg.llm) == 0


# -------------------------------------------------------------- rendering rules


def test_long_text_is_split_on_sentence_boundaries_within_4096() -> None:
    sentence = "Take the lift to the third floor and turn left at the pharmacy. "
    text = sentence * 150
    parts = split_text(text, 4096)
    assert len(parts) == 3
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.endswith("pharmacy.") for p in parts)
    assert " ".join(parts) == text.strip()


def test_split_counts_utf16_units_and_cuts_chinese_sentences() -> None:
    text = ("请先到一楼挂号窗口取号。🙂" * 400).strip()
    parts = split_text(text, 4096)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.endswith("。") or p.endswith("🙂") for p in parts)
    assert "".join(parts) == text


def test_split_hard_cuts_text_without_boundaries() -> None:
    parts = split_text("x" * 9000, 4096)
    assert [len(p) for p in parts] == [4096, 4096, 808]


async def test_send_splits_and_keeps_keyboard_on_last_part(tg: Harness) -> None:
    long_text = "Line with <tags> & ampersands. " * 300
    out = Outbound(
        channel="telegram",
        conversation_id=str(PATIENT_ID),
        text=long_text,
        kind=OutboundKind.ANSWER,
        buttons=tg.channel.buttons("en"),
        lang="en",
    )
    await tg.channel.send(out)
    sent = tg.sent()
    assert len(sent) == 3  # the fake refuses anything over 4096 or badly escaped
    assert [bool(keyboard_data(s)) for s in sent] == [False, False, True]
    assert "".join(visible_text(s["text"], "HTML") for s in sent).count("<tags>") == 300


def test_overlong_callback_data_is_left_out(channel: TelegramChannel) -> None:
    markup = channel.keyboard([Button(id="h" * 63, label="x"), Button(id="human", label="y")])
    assert markup is not None
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["b:human"]


def test_region_hint_reads_only_region_subtags() -> None:
    assert region_hint("en-GB") == "UK"
    assert region_hint("de-DE") == "EU"
    assert region_hint("en_US") == "US"
    assert region_hint("en") is None
    assert region_hint("zh-hans") is None
    assert region_hint("pt-BR") is None  # no careline region for Brazil: hospital's numbers
    assert region_hint(None) is None


def test_message_refs_round_trip() -> None:
    ref = MessageRef(77, ("edit1700000000", "caption"))
    assert MessageRef.decode(ref.encode()) == ref
    assert MessageRef.decode("cbq123.emergency_numbers") == MessageRef(None, ("emergency_numbers",))
    assert MessageRef.decode(None) == MessageRef(None)


def test_real_update_json_maps_through_ptb_objects(channel: TelegramChannel) -> None:
    data = text_update("hello", language_code="zh-hans")
    update = Update.de_json(data, channel.bot)
    parsed = channel.parse(update, None)
    assert parsed is not None
    (inbound,) = parsed.inbounds
    assert inbound.conversation_id == str(PATIENT_ID) and inbound.language == "zh"
    assert inbound.message_id == str(data["message"]["message_id"])
    assert inbound.extras == {"drafts": "1"}
    assert channel.parse(Update.de_json(reaction_update(), channel.bot), None) is None


async def test_emergency_is_answered_when_redis_is_down(tg: Harness, tmp_path: Path) -> None:
    from dataclasses import replace

    assert tg.channel._context is not None
    dead = aioredis.Redis(unix_socket_path=str(tmp_path / "no-redis.sock"))
    tg.channel._context = replace(tg.channel._context, redis=dead)
    try:
        assert (
            await tg.post(text_update("I think I am having a stroke, my face is drooping")) == 200
        )
        shown = visible_text((await tg.wait_sent(1))[0]["text"], "HTML")
        assert "120" in shown and model_answers(tg.llm) == 0
    finally:
        await dead.aclose()


async def test_staff_alerts_go_through_the_running_channels_own_bot(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """One bot token, one flood limiter: alerts to the staff group are sent by the channel's
    own bot, and closing them leaves the channel's bot running."""
    from adapters import registry

    group = "-100555"
    async with harness(
        redis_url, prefix, tmp_path, redis_client, staff_telegram_chat_id=group
    ) as h:
        [alerts] = registry.staff_alerts(h.channel.settings, {"telegram": h.channel})
        assert getattr(alerts, "bot", None) is h.channel.bot
        assert await alerts.alert_staff("New emergency: cardiac (telegram)")
        await alerts.aclose()
        await h.channel.send(Outbound(channel="telegram", conversation_id="42", text="still here"))
        sent = h.api.calls_to("sendMessage")
        assert [str(c["chat_id"]) for c in sent] == [group, "42"]
        # Without the running channel (e.g. another process's console), a bot of its own.
        [own] = registry.staff_alerts(h.channel.settings)
        assert getattr(own, "bot", None) is not h.channel.bot
        await own.aclose()


# ------------------------------------------------------------ replies Telegram will not take


async def staff_reason(redis: aioredis.Redis, prefix: str, chat_id: int) -> bytes | None:
    """The reason of the last staff alert for this chat, if it is waiting for staff."""
    if await HandoffStore(redis, prefix, 60).state(f"telegram:{chat_id}") is not (
        HandoffState.WAITING
    ):
        return None
    entries = await redis.xrange(f"{prefix}:alerts")
    reasons = [
        fields[b"reason"]
        for _id, fields in entries or []
        if fields[b"conversation"] == f"telegram:{chat_id}".encode()
    ]
    return reasons[-1] if reasons else None


@pytest.mark.parametrize(
    ("error", "times", "reason"),
    [
        (ApiError(400, "Bad Request: chat not found"), 1, b"telegram_bad_request"),
        (ApiError(502, "Bad Gateway"), SEND_ATTEMPTS, b"telegram_unavailable"),
        (too_many_requests(1), RETRY_AFTER_RETRIES + 1, b"telegram_flood_limit"),
    ],
)
async def test_an_undeliverable_reply_puts_the_chat_before_staff(
    tg: Harness, error: ApiError, times: int, reason: bytes
) -> None:
    tg.api.fail_next("sendMessage", error, times=times)
    assert await tg.post(text_update("How do I book a blood test?")) == 200
    await eventually(lambda: staff_reason(tg.redis, tg.prefix, PATIENT_ID))
    assert await staff_reason(tg.redis, tg.prefix, PATIENT_ID) == reason
    assert len(tg.sent()) == times  # every call refused, none more


async def test_a_blocked_patient_is_put_before_staff(tg: Harness) -> None:
    tg.api.blocked.add(PATIENT_ID)
    assert await tg.post(text_update("hello?")) == 200
    await eventually(lambda: staff_reason(tg.redis, tg.prefix, PATIENT_ID))
    assert await staff_reason(tg.redis, tg.prefix, PATIENT_ID) == b"telegram_blocked"


async def test_an_emergency_reply_is_tried_longer_than_an_answer(tg: Harness) -> None:
    emergency, answer = 8_500_001, 8_500_002
    outage = ApiError(502, "Bad Gateway")
    tg.api.fail_next("sendMessage", outage, times=SEND_ATTEMPTS_URGENT - 1)
    await tg.channel.send(outbound(emergency, OutboundKind.EMERGENCY))
    # (the fake records every call, refused or not) through on its last try
    assert [int(c["chat_id"]) for c in tg.sent()] == [emergency] * SEND_ATTEMPTS_URGENT
    tg.api.fail_next("sendMessage", outage, times=SEND_ATTEMPTS_URGENT - 1)
    with pytest.raises(Undelivered, match="telegram_unavailable"):
        await tg.channel.send(outbound(answer, OutboundKind.ANSWER))
    assert [int(c["chat_id"]) for c in tg.sent()].count(answer) == SEND_ATTEMPTS
    assert await staff_reason(tg.redis, tg.prefix, answer) == b"telegram_unavailable"


async def test_an_update_redis_cannot_store_is_refused_then_answered_once_delivered_again(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    """Redis down: an ordinary update gets 503 (Telegram delivers it again), an emergency is
    answered and acknowledged anyway; once Redis is back, the redelivery is answered, once,
    and a further redelivery is dropped."""
    async with (
        RedisOutage(redis_url) as door,
        harness(door.url, prefix, tmp_path, redis_client) as h,
    ):
        question = text_update("Which floor is the eye clinic on?")
        door.cut()
        assert await h.post(question) == 503
        urgent = text_update("I have crushing chest pain and can't breathe", chat_id=5002)
        assert await h.post(urgent) == 200
        [emergency] = await h.wait_sent(1)
        assert int(emergency["chat_id"]) == 5002
        door.restore()
        assert await h.post(question) == 200
        await h.api.wait_for(lambda: model_answers(h.llm) == 1 and len(h.sent()) == 2)
        assert await h.post(question) == 200  # Telegram's repeat: nothing more
        await h.channel.settle()
        await h.api.wait_for(lambda: len(h.sent()) >= 2)
    assert [int(m["chat_id"]) for m in h.sent()].count(PATIENT_ID) == 1
    assert model_answers(h.llm) == 1
