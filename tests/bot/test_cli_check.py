"""``careline check`` says "All good" only when careline is fit to go live."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.cli import PLACEHOLDER_PHONE, check
from bot.staff import StaffAccounts
from tests.conftest import make_settings
from tests.fakes.ollama import FakeOllama

PASSWORD = "correct horse battery"


async def run_check(
    redis_url: str, prefix: str, tmp_path: Path, **overrides: Any
) -> tuple[int, str]:
    async with FakeOllama(reply="x") as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url, **overrides)
        out = io.StringIO()
        code = await check(settings, out)
    return code, out.getvalue()


async def test_a_fully_configured_setup_is_all_good(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    await StaffAccounts(redis_client, prefix).add("nurse.li", PASSWORD)
    code, text = await run_check(
        redis_url,
        prefix,
        tmp_path,
        telegram_token="123:abc",
        telegram_webhook_secret="s3cret-s3cret",
    )
    assert code == 0, text
    assert "All good" in text and "1 active console account" in text


async def test_no_staff_account_is_a_problem(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    code, text = await run_check(redis_url, prefix, tmp_path)
    assert code == 1
    assert "NO ACTIVE ACCOUNTS" in text and "careline staff add" in text
    assert "All good" not in text
    # A disabled account does not count.
    accounts = StaffAccounts(redis_client, prefix)
    await accounts.add("nurse.li", PASSWORD)
    await accounts.disable("nurse.li")
    code, text = await run_check(redis_url, prefix, tmp_path)
    assert code == 1 and "NO ACTIVE ACCOUNTS" in text


async def test_telegram_token_without_webhook_secret_is_a_problem(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    await StaffAccounts(redis_client, prefix).add("nurse.li", PASSWORD)
    code, text = await run_check(redis_url, prefix, tmp_path, telegram_token="123:abc")
    assert code == 1
    assert "CARELINE_TELEGRAM_WEBHOOK_SECRET" in text and "All good" not in text
    assert "fix them before careline goes live" in text
    # An empty secret (a bare ``CARELINE_TELEGRAM_WEBHOOK_SECRET=`` line) protects nothing.
    code, text = await run_check(
        redis_url, prefix, tmp_path, telegram_token="123:abc", telegram_webhook_secret=""
    )
    assert code == 1
    assert "CARELINE_TELEGRAM_WEBHOOK_SECRET" in text and "All good" not in text


async def test_the_placeholder_hospital_phone_is_a_problem(
    redis_url: str, prefix: str, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    await StaffAccounts(redis_client, prefix).add("nurse.li", PASSWORD)
    code, text = await run_check(redis_url, prefix, tmp_path, hospital_phone=PLACEHOLDER_PHONE)
    assert code == 1
    assert "CARELINE_HOSPITAL_PHONE" in text and PLACEHOLDER_PHONE in text
    assert "All good" not in text
