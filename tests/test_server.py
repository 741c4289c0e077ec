"""`careline serve`'s HTTP surface: liveness and readiness against real Redis and a fake model."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.server import build_app
from tests.conftest import make_settings
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
