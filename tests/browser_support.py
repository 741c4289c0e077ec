"""A running careline with the staff console, and Debian's headless Chromium driven by
Playwright, for the console's browser tests.

``CONSOLE_SCREENSHOTS=DIR`` makes the tests that show the console save PNG screenshots
there (the README's pictures are made this way, on a machine with a CJK font installed).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.config import Settings
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
# A browser test module's ``pytestmark``.
NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)
WAIT_MS = 10_000
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@dataclass
class Console:
    page: Any
    channel: RecordingChannel
    settings: Settings
    redis: aioredis.Redis
    url: str

    async def login(self, name: str = "nurse") -> None:
        from playwright.async_api import expect

        await self.page.goto(self.url)
        await self.page.fill("#login-name", name)
        await self.page.fill("#login-password", PASSWORD)
        await self.page.click("#login-submit")
        await expect(self.page.locator("#console-view")).to_be_visible(timeout=WAIT_MS)
        await expect(self.page.locator("#live")).to_have_class(re.compile("on"), timeout=WAIT_MS)

    def card(self, conversation: str) -> Any:
        return self.page.locator(f'#queue li[data-conversation="{conversation}"]')

    async def screenshot(self, name: str) -> None:
        folder = os.environ.get("CONSOLE_SCREENSHOTS")
        if folder:
            await asyncio.to_thread(Path(folder).mkdir, parents=True, exist_ok=True)
            await self.page.screenshot(path=str(Path(folder) / name), full_page=True)


@asynccontextmanager
async def browser_page(*, accept_dialogs: bool = True, **context: Any) -> AsyncIterator[Any]:
    """A page in a new headless Chromium; ``context`` as Playwright's ``new_context`` takes."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(**context)).new_page()
            if accept_dialogs:
                page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            yield page
        finally:
            await browser.close()


@asynccontextmanager
async def running_console(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis: aioredis.Redis,
    *,
    reply: str = "门诊时间为工作日上午八点。",
    viewport: dict[str, int] | None = None,
    locale: str = "en-US",
    accept_dialogs: bool = True,
    **overrides: Any,
) -> AsyncIterator[Console]:
    accounts = StaffAccounts(redis, prefix)
    await accounts.add("nurse", PASSWORD)
    await accounts.add("lina", PASSWORD)
    await accounts.add("head", PASSWORD, "lead")
    channel = RecordingChannel()
    async with FakeOllama(reply=reply) as fake:
        # the console is under test, with the model's answers (not the FAQ's)
        values: dict[str, Any] = {"kb_direct_answers": False} | overrides
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, **values)
        server = TestServer(build_app(settings, adapters=[channel]), host="127.0.0.1")
        await server.start_server()
        try:
            async with browser_page(
                viewport=viewport or DESKTOP, locale=locale, accept_dialogs=accept_dialogs
            ) as page:
                yield Console(page, channel, settings, redis, str(server.make_url("/console")))
        finally:
            await server.close()
