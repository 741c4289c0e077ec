"""The staff console in a real browser (Debian's headless Chromium driven by Playwright),
used as a nurse would: emergencies arriving live, claiming, replying, failures, logging out,
and the phone-sized layout."""

from __future__ import annotations

import re
from pathlib import Path

import redis.asyncio as aioredis

from bot.audit import AuditLog
from bot.handoff import HandoffStore
from bot.models import ButtonId, InboundKind
from bot.staff import StaffAccounts
from tests.browser_support import NEEDS_CHROMIUM, PHONE, WAIT_MS, Console, running_console

BOT_REPLY = "门诊时间为工作日上午八点。"
STAFF_REPLY = "您好，我是急诊护士，救护车已经在路上了吗？"
PHONE_NUMBER = "13912345678"

pytestmark = NEEDS_CHROMIUM


async def human(console: Console, patient: str, text: str | None = None) -> None:
    """The patient says something (optional), then presses "talk to a person"."""
    if text:
        await console.channel.submit(patient, text)
    await console.channel.submit(patient, ButtonId.HUMAN.value, InboundKind.BUTTON)


async def test_staff_member_handles_an_emergency_in_the_browser(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client) as console:
        page, channel = console.page, console.channel
        await console.login()
        await expect(page.locator("#queue-empty")).to_be_visible()

        # Two chats wait; an emergency arrives while the page is open and goes first.
        await human(console, "p-lab", "请问化验单在哪里取？")
        await channel.submit("p-browser", "我胸口剧痛，喘不上气")
        emergency = console.card("telegram:p-browser")
        await expect(emergency).to_have_class(re.compile("emergency"), timeout=WAIT_MS)
        await expect(page.locator("#queue li").first).to_have_attribute(
            "data-conversation", "telegram:p-browser"
        )
        await expect(emergency).to_contain_text("Telegram")
        await expect(emergency).to_contain_text("Chest pain / heart")
        await expect(page).to_have_title(re.compile(r"^\(1\)"), timeout=WAIT_MS)
        await expect(page.locator("#announce")).to_contain_text("New emergency")
        await console.screenshot("queue.png")

        await emergency.click()
        await expect(page.locator("#transcript")).to_contain_text("胸口剧痛")
        await expect(page.locator("#close")).to_be_disabled()  # claim an emergency first
        await page.click("#claim")
        await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
        await page.fill("#reply-text", STAFF_REPLY)
        await page.press("#reply-text", "Enter")  # Enter sends
        await channel.wait_for(lambda: any(o.text == STAFF_REPLY for o in channel.to("p-browser")))
        await expect(page.locator("#transcript li.staff")).to_contain_text(STAFF_REPLY)
        await expect(page.locator("#reply-text")).to_have_value("")
        await page.fill("#note-text", "已电话联系家属，救护车十分钟到")
        await page.click("#add-note")
        await expect(page.locator("#notes")).to_contain_text("救护车十分钟到", timeout=WAIT_MS)
        await console.screenshot("chat.png")

        await page.click("#release")  # confirmed (the dialog is accepted)
        await expect(console.card("telegram:p-browser")).to_have_count(0, timeout=WAIT_MS)
        await channel.wait_for(lambda: "交回" in channel.to("p-browser")[-1].text)
        await channel.submit("p-browser", "请问门诊几点开门？")
        await channel.wait_for(lambda: channel.to("p-browser")[-1].text.startswith(BOT_REPLY))


async def test_an_emergency_in_a_held_chat_reaches_its_holder(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client) as console:
        page = console.page
        await human(console, "p-first")
        await human(console, "p-held", "I have a question about my bill")
        await console.login()
        await console.card("telegram:p-held").click()
        await page.click("#claim")
        await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
        await expect(page).to_have_title("careline staff console")

        await console.channel.submit("p-held", "I took 40 sleeping pills, I want to die")
        held = console.card("telegram:p-held")
        await expect(held).to_have_class(re.compile("emergency"), timeout=WAIT_MS)
        await expect(page.locator("#queue li").first).to_have_attribute(
            "data-conversation", "telegram:p-held"
        )
        await expect(page.locator("#announce")).to_contain_text("Emergency in a chat you hold")
        await expect(page.locator("#chat-title")).to_contain_text("EMERGENCY")
        await expect(page.locator("#transcript")).to_contain_text("40 sleeping pills")


async def test_a_failed_reply_is_kept_shown_and_can_be_retried(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client) as console:
        page, channel = console.page, console.channel
        await human(console, "p-1", "我想问一下复查的时间")
        await console.login()
        await console.card("telegram:p-1").click()
        await page.click("#claim")
        await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)

        channel.failures = 1  # the platform answers 502 once
        await page.fill("#reply-text", STAFF_REPLY)
        await page.click("#send")
        await expect(page.locator("#chat-error")).to_contain_text("Not sent", timeout=WAIT_MS)
        await expect(page.locator("#reply-text")).to_have_value(STAFF_REPLY)
        await expect(page.locator("#retry")).to_be_visible()
        await expect(page.locator("#transcript li.staff")).to_have_count(0)
        actions = [e["action"] async for e in AuditLog(redis_client, prefix).entries()]
        assert "staff_message_failed" in actions and "staff_message" not in actions

        await page.click("#retry")
        await channel.wait_for(lambda: any(o.text == STAFF_REPLY for o in channel.to("p-1")))
        await expect(page.locator("#chat-error")).to_have_text("")
        await expect(page.locator("#retry")).to_be_hidden()
        await expect(page.locator("#reply-text")).to_have_value("")
        await expect(page.locator("#transcript li.staff")).to_contain_text(STAFF_REPLY)


async def test_logging_out_or_losing_the_session_clears_revealed_details(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client) as console:
        page = console.page
        await human(console, "p-1", f"我的电话是{PHONE_NUMBER}，请回电")
        for leave in ("logout", "disabled"):
            await console.login()
            await console.card("telegram:p-1").click()
            await page.click("#reveal")
            await expect(page.locator("#transcript")).to_contain_text(PHONE_NUMBER)
            if leave == "logout":
                await page.click("#logout")
            else:
                # The live stream ends at once; the page learns the session is gone.
                await StaffAccounts(redis_client, prefix).disable("nurse")
            await expect(page.locator("#login-view")).to_be_visible(timeout=WAIT_MS)
            await expect(page.locator("#console-view")).to_be_hidden()
            await expect(page.locator("#live")).not_to_have_class(re.compile("on"))
            assert PHONE_NUMBER not in await page.content()
            assert "请回电" not in await page.content()
            if leave == "logout":
                continue
            assert not await page.locator("#queue li").count()


async def test_closing_asks_first_and_labels_keep_time(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(
        redis_url, prefix, tmp_path, redis_client, accept_dialogs=False
    ) as console:
        page = console.page
        await page.clock.install()
        await human(console, "p-1", "请问明天能加号吗")
        await console.login()
        card = console.card("telegram:p-1")
        await expect(card).to_contain_text("waiting just now", timeout=WAIT_MS)
        await page.clock.fast_forward("03:00")  # no event comes; the label still moves on
        await expect(card).to_contain_text("waiting 3 min", timeout=WAIT_MS)

        await card.click()
        dialogs: list[str] = []

        async def dismiss(dialog: object) -> None:
            dialogs.append(dialog.message)  # type: ignore[attr-defined]
            await dialog.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", dismiss)
        await page.click("#close")
        await expect(card).to_have_count(1)
        assert dialogs and "Close this chat" in dialogs[0]
        store = HandoffStore(redis_client, prefix, 3600)
        assert (await store.chat("telegram:p-1")) is not None
        assert not [o for o in console.channel.to("p-1") if "结束" in o.text]


async def test_canned_replies_follow_the_patient_and_revealed_details_survive_updates(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client, locale="en-US") as c:
        page = c.page
        await human(c, "p-1", f"请打我电话{PHONE_NUMBER}")
        await c.login()
        await c.card("telegram:p-1").click()
        await page.click("#claim")
        await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
        # An English-speaking nurse gets the Chinese patient's canned replies in Chinese.
        await expect(page.locator("#canned option").nth(1)).to_contain_text(
            re.compile(r"[\u4e00-\u9fff]")
        )
        await page.click("#reveal")
        await expect(page.locator("#transcript")).to_contain_text(PHONE_NUMBER)
        await c.channel.submit("p-1", "我现在在家里")
        await expect(page.locator("#transcript")).to_contain_text("在家里", timeout=WAIT_MS)
        await expect(page.locator("#transcript")).to_contain_text(PHONE_NUMBER)
        await expect(page.locator("#chat-revealed")).to_be_visible()


async def test_phone_sized_screen_shows_the_queue_then_the_chat(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client, viewport=PHONE) as c:
        page = c.page
        await human(c, "p-1", "孩子发烧三天了，想请护士看看要不要来医院")
        await c.channel.submit("p-2", "我爸爸突然说话含糊，右边手脚没力气")
        await c.login()
        await expect(c.card("telegram:p-2")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#chat-pane")).to_be_hidden()
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"]
        await c.screenshot("phone-queue.png")
        await c.card("telegram:p-2").click()
        await expect(page.locator("#transcript")).to_contain_text("说话含糊")
        await expect(page.locator("#queue-pane")).to_be_hidden()
        await c.screenshot("phone-chat.png")
        assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        await page.click("#back")
        await expect(page.locator("#queue-pane")).to_be_visible()


async def test_filters_keyboard_and_history(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    async with running_console(redis_url, prefix, tmp_path, redis_client) as c:
        page = c.page
        await human(c, "p-calm", "想问一下体检报告")
        await c.channel.submit("p-sos", "我胸口剧痛，喘不上气")
        await c.login()
        await expect(page.locator("#queue li")).to_have_count(2, timeout=WAIT_MS)
        await page.click('.filters button[data-filter="emergency"]')
        await expect(page.locator("#queue li")).to_have_count(1)
        await expect(c.card("telegram:p-sos")).to_be_visible()
        await page.click('.filters button[data-filter="mine"]')
        await expect(page.locator("#queue-empty")).to_have_text("No chats match this filter.")
        await page.click('.filters button[data-filter="all"]')

        await page.keyboard.press("Alt+n")  # next chat: the first card, the emergency
        await expect(page.locator("#chat-title")).to_contain_text("EMERGENCY", timeout=WAIT_MS)
        await page.keyboard.press("Alt+c")  # claim it
        await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
        await page.click('.filters button[data-filter="mine"]')
        await expect(page.locator("#queue li")).to_have_count(1)
        await page.fill("#reply-text", "第一行")
        await page.press("#reply-text", "Shift+Enter")  # a new line, not a send
        await page.type("#reply-text", "第二行")
        await expect(page.locator("#reply-text")).to_have_value("第一行\n第二行")
        assert not [o for o in c.channel.to("p-sos") if "第一行" in o.text]
        await page.press("#reply-text", "Enter")
        await c.channel.wait_for(
            lambda: any(o.text == "第一行\n第二行" for o in c.channel.to("p-sos"))
        )
        await page.click("#close")  # confirmed
        await expect(c.card("telegram:p-sos")).to_have_count(0, timeout=WAIT_MS)

        await page.click("#tab-history")
        await page.select_option("#history-category", "cardiac")
        # The channel filter lists the registered channels by the names staff read.
        await page.select_option("#history-channel", label="WeChat")
        await page.click("#history-search")
        await expect(page.locator("#history-empty")).to_be_visible(timeout=WAIT_MS)
        await page.select_option("#history-channel", label="Telegram")
        await page.click("#history-search")
        await expect(page.locator("#history li")).to_have_count(1, timeout=WAIT_MS)
        await page.click("#history li button")
        await expect(page.locator("#chat-meta")).to_contain_text("ended (history)")
        await expect(page.locator("#transcript")).to_contain_text("胸口剧痛")
        await expect(page.locator("#send")).to_be_disabled()
