"""`careline serve`'s HTTP surface: liveness and readiness against real Redis and a fake model."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import Streams
from bot.server import build_app
from tests.conftest import TEST_VAULT_KEY, make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama


async def test_health_and_readiness(redis_url: str, prefix: str, tmp_path: Path) -> None:
    async with FakeOllama() as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
        async with TestClient(TestServer(build_app(settings))) as client:
            assert (await client.get("/healthz")).status == 200
            ready = await client.get("/readyz")
            body = await ready.json()
            assert ready.status == 200, body
            assert body["checks"]["redis"]["ok"] and body["checks"]["llm"]["ok"]
            assert body["checks"]["intake"] == {"ok": True, "waiting": 0, "oldest_s": 0.0}
            fake.models = ["llama3:8b"]
            missing = await client.get("/readyz")
            assert missing.status == 503
            assert (
                "ollama pull qwen3:4b-instruct" in (await missing.json())["checks"]["llm"]["detail"]
            )


async def test_not_ready_without_model_server(redis_url: str, prefix: str, tmp_path: Path) -> None:
    async with FakeOllama() as fake:
        closed = fake.url
    settings = make_settings(redis_url, prefix, tmp_path, ollama_host=closed)
    async with TestClient(TestServer(build_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["llm"]["ok"] is False


def test_serve_that_cannot_start_says_why_without_a_traceback(
    redis_url: str, tmp_path: Path
) -> None:
    """An unreachable Redis, a service that is not Redis, then a port already taken: exit
    status 1 and one clear line, and nothing said to have started."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    not_redis = socketserver.TCPServer(("127.0.0.1", 0), _NotRedis)
    threading.Thread(target=not_redis.serve_forever, daemon=True).start()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "CARELINE_VAULT_KEY": TEST_VAULT_KEY,
        "CARELINE_DATA_DIR": str(tmp_path / "data"),
        "CARELINE_REDIS_PREFIX": f"careline-test-start-{os.getpid()}",
    }
    cases = [
        ({"CARELINE_REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis is not reachable"),
        (
            {"CARELINE_REDIS_URL": f"redis://127.0.0.1:{not_redis.server_address[1]}/0"},
            "what answers is not Redis",
        ),
        (
            {
                "CARELINE_REDIS_URL": redis_url,
                "CARELINE_PORT": str(taken.getsockname()[1]),
            },
            "cannot listen on",
        ),
    ]
    try:
        for extra, expected in cases:
            done = subprocess.run(
                [sys.executable, "-m", "bot", "serve"],
                env=base | extra,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 1
            assert expected in done.stderr
            assert "Traceback" not in done.stderr
            assert "started" not in done.stderr
    finally:
        taken.close()
        not_redis.shutdown()
        not_redis.server_close()


class _NotRedis(socketserver.BaseRequestHandler):
    """Another service on the port: answers anything with an HTTP error."""

    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")


class StreamingChannel(RecordingChannel):
    """A channel that holds an event stream open until the server tells it to end them."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()
        self.opened = asyncio.Event()
        self.order: list[str] = []

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.get("/stream", self._stream)]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b": open\n\n")
        self.opened.set()
        await self.ended.wait()
        await response.write(b"event: bye\ndata: {}\n\n")
        return response

    def end_streams(self) -> None:
        self.order.append("end_streams")
        self.ended.set()

    async def drain(self) -> None:
        self.order.append("drain")


async def test_shutdown_ends_a_channels_open_streams_first(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    """A channel that holds responses open (``Streams``) is told to end them when the server
    stops taking requests, before it is drained: the stream closes with its last event
    instead of being cut when the server's shutdown timeout runs out."""
    channel = StreamingChannel()
    assert isinstance(channel, Streams)
    async with FakeOllama() as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
        runner = web.AppRunner(build_app(settings, adapters=[channel]), shutdown_timeout=60)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/stream") as resp,
        ):
            await channel.opened.wait()
            cleanup = asyncio.create_task(runner.cleanup())
            body = await resp.content.read()
            await cleanup
    assert body == b": open\n\nevent: bye\ndata: {}\n\n"
    assert channel.order == ["end_streams", "drain"]


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    """CARELINE_LOG_FORMAT=json: what `careline serve` logs is JSON, one object a line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "CARELINE_VAULT_KEY": TEST_VAULT_KEY,
        "CARELINE_DATA_DIR": str(tmp_path / "data"),
        "CARELINE_REDIS_URL": "redis://127.0.0.1:1/0",
        "CARELINE_LOG_FORMAT": "json",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert entries and {"time", "level", "logger", "message"} <= set(entries[-1])
    assert entries[-1]["level"] == "ERROR" and "Redis is not reachable" in entries[-1]["message"]


def test_json_log_entries_name_the_conversation_by_its_tag() -> None:
    import logging

    from bot.cli import JsonLogFormatter

    record = logging.LogRecord(
        "bot.dispatcher",
        logging.WARNING,
        __file__,
        1,
        "emergency conv=%s category=%s",
        ("3f9a0c1d2e", "cardiac"),
        None,
    )
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["conversation"] == "3f9a0c1d2e"
    assert entry["message"] == "emergency conv=3f9a0c1d2e category=cardiac"


class HookedChannel(RecordingChannel):
    """A recording channel with a webhook."""

    path = "/hook"

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        async def hook(request: web.Request) -> web.Response:
            return web.Response(text="taken")

        return [web.post(self.path, hook)]


async def test_a_worker_takes_no_webhooks(redis_url: str, prefix: str, tmp_path: Path) -> None:
    settings = make_settings(redis_url, prefix, tmp_path, role="worker")
    async with TestClient(TestServer(build_app(settings, [HookedChannel()]))) as client:
        assert (await client.get("/healthz")).status == 200
        assert (await client.post(HookedChannel.path, data=b"{}")).status == 404
    web_only = make_settings(redis_url, prefix, tmp_path, role="web")
    async with TestClient(TestServer(build_app(web_only, [HookedChannel()]))) as client:
        assert (await client.post(HookedChannel.path, data=b"{}")).status == 200


def test_the_vault_key_without_a_setting_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    from bot.config import load_settings
    from bot.vault_cipher import KEY_FILE, vault_key

    settings = load_settings(_env_file=None, data_dir=tmp_path / "data")
    key = vault_key(settings)
    assert vault_key(settings) == key  # a second process on this machine reads the same key
    path = tmp_path / "data" / KEY_FILE
    assert path.read_text().strip() == key
    assert path.stat().st_mode & 0o777 == 0o600
    given = load_settings(_env_file=None, data_dir=tmp_path / "data", vault_key=TEST_VAULT_KEY)
    assert vault_key(given) == TEST_VAULT_KEY
