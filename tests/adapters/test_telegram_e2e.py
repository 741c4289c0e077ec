"""The Telegram channel end to end: `careline serve` and `careline telegram` processes, a real
Redis, the fake Ollama and the fake Bot API, updates posted as Telegram posts them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from adapters.telegram.channel import SECRET_HEADER, WEBHOOK_PATH
from tests.conftest import TEST_VAULT_KEY
from tests.fakes.ollama import FakeOllama
from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    PATIENT_ID,
    FakeTelegramAPI,
    callback_update,
    text_update,
    visible_text,
)
from tests.support import eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "e2e-webhook-secret_0123456789"
ANSWER = "The outpatient pharmacy is on the ground floor, next to the main entrance."
START_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 30.0


def _environment(tmp: Path, api: str, **env: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "PYTHONPATH": str(ROOT),
        "CARELINE_DATA_DIR": str(tmp / "data"),
        "CARELINE_VAULT_KEY": TEST_VAULT_KEY,
        "CARELINE_TELEGRAM_TOKEN": DEFAULT_TOKEN,
        "CARELINE_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "CARELINE_TELEGRAM_API_BASE": api,
        **env,
    }


@contextlib.asynccontextmanager
async def careline_serve(
    tmp: Path, redis_url: str, prefix: str, ollama: str, api: str, *args: str
) -> AsyncIterator[str]:
    """A `careline serve` process; yields its base URL."""
    port = free_port()
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    environment = _environment(
        tmp,
        api,
        CARELINE_REDIS_URL=redis_url,
        CARELINE_REDIS_PREFIX=prefix,
        CARELINE_HOST="127.0.0.1",
        CARELINE_PORT=str(port),
        CARELINE_OLLAMA_HOST=ollama,
        CARELINE_LLM_TIMEOUT_S="10",
    )
    log = await asyncio.to_thread(open, tmp / "serve.log", "wb")
    with log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", *args, cwd=tmp, env=environment, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                await eventually(lambda: _healthy(session, url, proc), START_TIMEOUT_S)
            yield url
        finally:
            if proc.returncode is None:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 20)
    text = (tmp / "serve.log").read_text("utf-8", "replace")
    assert "Traceback" not in text, text


async def _healthy(session: aiohttp.ClientSession, url: str, proc: Any) -> bool:
    assert proc.returncode is None, "careline serve exited"
    with contextlib.suppress(aiohttp.ClientError):
        async with session.get(url + "/healthz") as r:
            return r.status == 200
    return False


def keyboard_data(call: dict[str, Any]) -> list[str]:
    rows = (call.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


async def test_webhook_end_to_end(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    async with (
        FakeOllama(reply=ANSWER) as llm,
        FakeTelegramAPI() as api,
        careline_serve(tmp_path, redis_url, prefix, llm.url, api.url) as url,
        aiohttp.ClientSession() as session,
    ):

        async def post(update: dict[str, Any], secret: str = SECRET) -> int:
            headers = {SECRET_HEADER: secret}
            async with session.post(url + WEBHOOK_PATH, json=update, headers=headers) as r:
                return r.status

        def shown(index: int) -> str:
            return visible_text(api.calls_to("sendMessage")[index]["text"], "HTML")

        # A wrong secret: refused, nothing reaches the pipeline.
        assert await post(text_update("hello"), secret="guess") == 403

        # A question: answered with the keyboard.
        assert await post(text_update("Where is the pharmacy?")) == 200
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 1, 20)
        answer = api.calls_to("sendMessage")[0]
        assert ANSWER in shown(0) and answer["parse_mode"] == "HTML"
        assert keyboard_data(answer) == ["b:human", "b:emergency_numbers"]
        conversation = f"{prefix}:ctx:telegram:{PATIENT_ID}"
        assert await redis_client.exists(conversation)

        # /forget: the history is really gone.
        assert await post(text_update("/forget")) == 200
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 2)
        assert "erased" in shown(1)
        assert not await redis_client.exists(conversation)

        # An emergency: answered at once, without the model.
        asked = sum("patient-message assistant" in str(b["messages"][0]) for b in llm.chat_bodies)
        assert await post(text_update("My father collapsed and is not breathing")) == 200
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 3)
        assert "120" in shown(2) and "010-00000000" in shown(2)
        assert api.calls_to("sendMessage")[2]["text"].startswith("<b>")
        assert asked == sum(
            "patient-message assistant" in str(b["messages"][0]) for b in llm.chat_bodies
        )

        # The staff button: the callback is answered and the chat handed to staff.
        press = callback_update("b:human", user_id=777, chat_id=777)
        assert await post(press) == 200
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 4)
        assert "staff member" in shown(3)
        answered = [c["callback_query_id"] for c in api.calls_to("answerCallbackQuery")]
        assert answered == [press["callback_query"]["id"]]
        assert await redis_client.exists(f"{prefix}:handoff:telegram:777")


async def test_polling_mode_end_to_end(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    async with FakeOllama(reply=ANSWER) as llm, FakeTelegramAPI() as api:
        api.webhook = {"url": "https://old.example.org/telegram/webhook"}  # left over
        async with careline_serve(
            tmp_path, redis_url, prefix, llm.url, api.url, "--telegram-polling"
        ) as url:
            api.push_update(text_update("Where is the pharmacy?"))
            await api.wait_for(lambda: len(api.calls_to("sendMessage")) == 1, 20)
            assert ANSWER in visible_text(api.calls_to("sendMessage")[0]["text"], "HTML")
            assert api.calls_to("deleteWebhook"), "polling needs the webhook removed first"
            async with (
                aiohttp.ClientSession() as session,
                session.post(url + WEBHOOK_PATH, json={}) as r,
            ):
                assert r.status in (404, 405)  # no webhook route while polling


async def run_cli(tmp: Path, api: str, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        *args,
        cwd=tmp,
        env=_environment(tmp, api, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_set_webhook_registers_secret_and_update_types(tmp_path: Path) -> None:
    async with FakeTelegramAPI() as api:
        hook = "https://careline.example-hospital.org/telegram/webhook"
        code, out, err = await run_cli(tmp_path, api.url, "set-webhook", hook)
        assert code == 0, err
        assert api.webhook["url"] == hook
        assert api.webhook["secret_token"] == SECRET
        assert set(api.webhook["allowed_updates"]) >= {
            "message",
            "edited_message",
            "callback_query",
        }
        assert f"Webhook set: {hook}" in out

        # Telegram refuses a plain-http URL: a clear sentence, no traceback, no token.
        code, out, err = await run_cli(tmp_path, api.url, "set-webhook", "http://insecure/x")
        assert code == 1
        assert "https url must be provided" in err.lower()
        assert "Traceback" not in err and DEFAULT_TOKEN not in err + out

        # A token Telegram does not know.
        code, out, err = await run_cli(
            tmp_path, api.url, "set-webhook", hook, CARELINE_TELEGRAM_TOKEN="999:wrong"
        )
        assert code == 1 and "refused the bot token" in err and "Traceback" not in err

    # The Bot API unreachable.
    code, out, err = await run_cli(tmp_path, api.url, "set-webhook", hook)
    assert code == 1 and "cannot reach the Bot API" in err and "Traceback" not in err

    # No secret configured: refused before any call.
    code, out, err = await run_cli(
        tmp_path, api.url, "set-webhook", hook, CARELINE_TELEGRAM_WEBHOOK_SECRET=""
    )
    assert code == 2 and "CARELINE_TELEGRAM_WEBHOOK_SECRET" in err
