"""The staff console in a real browser (Debian's headless Chromium driven by Playwright):
log in, see an emergency arrive live, claim it, reply, check the patient's channel got the
reply, release, and check the bot answers the patient again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.server import build_app
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
BOT_REPLY = "门诊时间为工作日上午八点。"
STAFF_REPLY = "您好，我是急诊护士，救护车已经在路上了吗？"
WAIT_MS = 10_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


async def test_staff_member_handles_an_emergency_in_the_browser(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import async_playwright, expect

    await StaffAccounts(redis_client, prefix).add("nurse", PASSWORD)
    channel = RecordingChannel()
    async with FakeOllama(reply=BOT_REPLY) as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
        server = TestServer(build_app(settings, adapters=[channel]), host="127.0.0.1")
        await server.start_server()
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                page = await browser.new_page()
                await page.goto(str(server.make_url("/console")))
                await page.fill("#login-name", "nurse")
                await page.fill("#login-password", PASSWORD)
                await page.click("#login-submit")
                await expect(page.locator("#console-view")).to_be_visible(timeout=WAIT_MS)
                await expect(page.locator("#live")).to_have_class(re.compile("on"), timeout=WAIT_MS)
                await expect(page.locator("#queue-empty")).to_be_visible()

                # A patient writes an emergency; the open console shows it without a reload.
                await channel.submit("p-browser", "我胸口剧痛，喘不上气")
                item = page.locator("#queue li.emergency")
                await expect(item).to_have_count(1, timeout=WAIT_MS)
                await expect(item).to_contain_text("telegram")
                await expect(page).to_have_title(re.compile(r"^\(1\)"), timeout=WAIT_MS)

                await item.click()
                await expect(page.locator("#transcript")).to_contain_text("胸口剧痛")
                await page.click("#claim")
                await expect(page.locator("#send")).to_be_enabled(timeout=WAIT_MS)
                await page.fill("#reply-text", STAFF_REPLY)
                await page.click("#send")
                await channel.wait_for(
                    lambda: any(o.text == STAFF_REPLY for o in channel.to("p-browser"))
                )
                await expect(page.locator("#transcript li.staff")).to_contain_text(STAFF_REPLY)

                await page.click("#release")
                await expect(page.locator("#queue li")).to_have_count(0, timeout=WAIT_MS)
                await channel.wait_for(lambda: "交回" in channel.to("p-browser")[-1].text)
                await channel.submit("p-browser", "请问门诊几点开门？")
                await channel.wait_for(
                    lambda: channel.to("p-browser")[-1].text.startswith(BOT_REPLY)
                )
                await browser.close()
        finally:
            await server.close()
