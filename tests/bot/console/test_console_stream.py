"""The console's live event stream: a page that goes away is no error, and a session that
ends takes its stream with it. Served as ``careline serve`` serves it (``bot.front``)."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession, CookieJar, web

from bot.console import app as console_app
from bot.server import build_app, start_site
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama

PASSWORD = "correct horse battery"
API = "/console/api"
SHORT_HEARTBEAT_S = 0.2


@pytest.fixture
async def base(
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    redis_client: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[str]:
    monkeypatch.setattr(console_app, "HEARTBEAT_S", SHORT_HEARTBEAT_S)
    await StaffAccounts(redis_client, prefix).add("alice", PASSWORD)
    async with FakeOllama(reply="x") as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
        runner = web.AppRunner(build_app(settings, adapters=[RecordingChannel()]))
        await runner.setup()
        try:
            site = await start_site(runner, "127.0.0.1", 0)
            yield f"http://127.0.0.1:{site.port}"
        finally:
            await runner.cleanup()


async def login(http: ClientSession, base: str) -> tuple[str, str]:
    resp = await http.post(f"{base}{API}/login", json={"name": "alice", "password": PASSWORD})
    assert resp.status == 200
    return resp.cookies["careline_session"].value, (await resp.json())["csrf"]


async def open_stream(base: str, cookie: str) -> tuple[asyncio.StreamReader, Any]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET {API}/events HTTP/1.1\r\nHost: x\r\nCookie: careline_session={cookie}\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"200 OK" in head and b"nosniff" in head
    return reader, writer


async def test_a_closed_tab_is_no_error(base: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        cookie, _csrf = await login(http, base)
    for abrupt in (False, True):
        _reader, writer = await open_stream(base, cookie)
        if abrupt:  # a browser killed mid-stream: the connection is reset, not closed
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()  # the nurse closed the tab
    await asyncio.sleep(SHORT_HEARTBEAT_S * 5)  # several heartbeats into closed connections
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert "Traceback" not in caplog.text


async def test_logging_out_ends_the_stream(base: str) -> None:
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        cookie, csrf = await login(http, base)
        reader, writer = await open_stream(base, cookie)
        logout = await http.post(f"{base}{API}/logout", headers={"X-CSRF-Token": csrf})
        assert logout.status == 200
    # The response ends at the next heartbeat: its last (empty) chunk arrives.
    seen = b""
    async with asyncio.timeout(5):
        while not seen.endswith(b"\r\n0\r\n\r\n"):
            chunk = await reader.read(1024)
            assert chunk, "the connection closed instead"
            seen += chunk
    writer.close()
