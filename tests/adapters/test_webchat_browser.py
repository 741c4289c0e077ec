"""The web chat in a real browser (Debian's headless Chromium driven by Playwright): the page
at /webchat/ used as a patient would, and the launcher another site embeds with embed.js."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from bot.server import build_app
from bot.staff import StaffAccounts
from tests.browser_support import NEEDS_CHROMIUM, PHONE, WAIT_MS, browser_page
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama
from tests.support import served

ANSWER = "门诊时间为工作日上午八点至下午五点。"
STAFF_REPLY = "您好，我是门诊护士，请问想约哪一天？"
PASSWORD = "correct horse battery"

pytestmark = NEEDS_CHROMIUM


async def staff_reply(port: int, text: str) -> None:
    """A nurse in the staff console claims the waiting web chat and answers it."""
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as staff:
        login = await staff.post("/console/api/login", json={"name": "nurse", "password": PASSWORD})
        csrf = {"X-CSRF-Token": (await login.json())["csrf"]}
        queue = await (await staff.get("/console/api/queue")).json()
        [chat] = [c for c in queue["chats"] if c["channel"] == "webchat"]
        path = f"/console/api/chats/{chat['conversation']}"
        assert (await staff.post(f"{path}/claim", json={}, headers=csrf)).status == 200
        resp = await staff.post(f"{path}/reply", json={"text": text}, headers=csrf)
        assert resp.status == 200


async def test_a_patient_uses_the_web_chat_page(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    await StaffAccounts(redis_client, prefix).add("nurse", PASSWORD)
    async with FakeOllama(reply=ANSWER) as fake:
        settings = make_settings(
            redis_url,
            prefix,
            tmp_path,
            ollama_host=fake.url,
            webchat_enabled=True,
            kb_direct_answers=False,  # the page shows the model's answer, not the FAQ's
        )
        async with (
            served(build_app(settings)) as server,
            browser_page(viewport=PHONE, locale="zh-CN") as page,
        ):
            await page.goto(f"http://127.0.0.1:{server.port}/webchat/")
            log = page.locator("#log")
            await expect(page).to_have_title("测试医院 在线咨询")
            await expect(page.locator("#status")).to_have_class("online", timeout=WAIT_MS)
            await expect(log.locator(".msg.bot.notice")).to_contain_text(
                "测试医院", timeout=WAIT_MS
            )

            # A question, sent with Enter; the answer carries the disclaimer and two chips.
            await page.fill("#text", "请问门诊几点开门？")
            await page.press("#text", "Enter")
            await expect(log.locator(".msg.me")).to_have_text(re.compile("请问门诊几点开门"))
            answer = log.locator(".msg.bot.answer")
            await expect(answer).to_contain_text(ANSWER, timeout=WAIT_MS)
            await expect(answer).to_contain_text("不能代替医生")
            chips = log.locator(".chips").last.locator(".chip")
            await expect(chips).to_have_text(["转人工", "紧急电话"])

            # An emergency: the red block at once, its numbers as tel: links, no model call.
            asked = len(fake.requests)
            await page.fill("#text", "我突然胸口剧痛，喘不上气")
            await page.click("#send")
            emergency = log.locator(".msg.bot.emergency")
            await expect(emergency).to_contain_text("120", timeout=WAIT_MS)
            await expect(emergency.locator('a.tel[href="tel:120"]').first).to_be_visible()
            assert len(fake.requests) == asked

            # "Talk to a person": the chat waits for staff; a nurse answers from the console.
            await log.locator('.chip[data-button="human"]').last.click()
            await expect(log.locator(".msg.bot.handoff").first).to_be_visible(timeout=WAIT_MS)
            await staff_reply(server.port, STAFF_REPLY)
            await expect(log.locator(".msg.bot.handoff").last).to_contain_text(
                STAFF_REPLY, timeout=WAIT_MS
            )
            await expect(log.locator(".msg.bot.handoff").last.locator(".who")).to_have_text(
                "医院工作人员"
            )

            # A reload keeps the conversation, once: the page reads on from its last entry.
            shown = await log.locator(".msg").count()
            await page.reload()
            await expect(page.locator("#status")).to_have_class("online", timeout=WAIT_MS)
            await expect(log.locator(".msg.bot.handoff").last).to_contain_text(STAFF_REPLY)
            await page.wait_for_timeout(500)  # a stream replaying old entries would add them
            assert await log.locator(".msg").count() == shown

            # "Erase this chat" (confirmed): the page forgets it now, careline confirms.
            await page.click("#forget")
            await expect(log.locator(".msg.bot")).to_have_count(1, timeout=WAIT_MS)
            await expect(log.locator(".msg")).to_have_count(2)
            await expect(log).not_to_contain_text(ANSWER)


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Hospital</title></head>
<body><h1>Example Hospital</h1>
<script src="{careline}/webchat/embed.js" data-lang="en" defer></script></body></html>"""


async def test_another_site_embeds_the_chat_and_only_listed_sites_may(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    careline_url: list[str] = []

    async def host(request: web.Request) -> web.Response:
        return web.Response(
            text=HOST_PAGE.format(careline=careline_url[0]), content_type="text/html"
        )

    listed, other = web.Application(), web.Application()
    for app in (listed, other):
        app.router.add_get("/", host)
    async with served(listed) as site, served(other) as stranger:
        # "localhost" and "127.0.0.1" are different origins to a browser.
        site_origin = f"http://localhost:{site.port}"
        async with FakeOllama(reply=ANSWER) as fake:
            settings = make_settings(
                redis_url,
                prefix,
                tmp_path,
                ollama_host=fake.url,
                webchat_enabled=True,
                webchat_origins=site_origin,
                kb_direct_answers=False,
            )
            async with served(build_app(settings)) as careline, browser_page() as page:
                base = f"http://127.0.0.1:{careline.port}"
                careline_url.append(base)
                await page.goto(site_origin + "/")
                await page.click("#careline-webchat-button")
                frame = page.frame_locator("#careline-webchat-frame")
                await expect(frame.locator(".msg.bot.notice")).to_contain_text(
                    "Welcome", timeout=WAIT_MS
                )
                await frame.locator("#text").fill("When does the outpatient clinic open?")
                await frame.locator("#send").click()
                await expect(frame.locator(".msg.bot.answer")).to_contain_text(
                    ANSWER, timeout=WAIT_MS
                )
                await expect(page.locator("#careline-webchat-button")).to_have_text("Close")

                # The listed site's own script may call the API; another site's may not.
                call = (
                    f"fetch('{base}/webchat/api/visitors', {{method: 'POST'}}).then(r => r.status)"
                )
                assert await page.evaluate(call) == 201
                await page.goto(f"http://localhost:{stranger.port}/")
                refusal = call.replace(
                    ".then(r => r.status)", ".then(r => r.status, e => 'refused')"
                )
                assert await page.evaluate(refusal) == "refused"
                # A site not listed cannot frame the page either (frame-ancestors).
                async with page.expect_console_message(
                    lambda m: "frame-ancestors" in m.text, timeout=WAIT_MS
                ):
                    await page.click("#careline-webchat-button")
                blocked = page.frame_locator("#careline-webchat-frame").locator("#log")
                await expect(blocked).to_have_count(0)
