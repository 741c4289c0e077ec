"""`careline chat` as a user runs it: a subprocess, piped input, the embedded Redis (no
CARELINE_REDIS_URL), and a loopback fake of Ollama's HTTP API — or no model at all."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.ollama import FakeOllama

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13812345678"


async def run_chat(lines: list[str], cwd: Path, **env: str) -> tuple[int, str, str]:
    environment = (
        {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")}
        | {"CARELINE_DATA_DIR": str(cwd / "data"), "PYTHONPATH": str(ROOT)}
        | env
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "chat",
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate("\n".join(lines).encode() + b"\n"), 90)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_piped_chat_answers_escalates_and_hands_off(tmp_path: Path) -> None:
    async with FakeOllama(reply="多喝温水，注意休息。") as fake:
        code, out, err = await run_chat(
            [f"我叫李雷，电话{PHONE}，嗓子疼怎么办", "1", "我胸口剧痛，喘不上气"],
            tmp_path,
            CARELINE_OLLAMA_HOST=fake.url,
        )
        sent = str(fake.chat_bodies)
    assert code == 0, err
    assert "embedded redis-server" in err
    assert out.startswith("careline> 多喝温水")
    assert out.count("仅供健康参考") == 1
    assert "1. 转人工" in out
    staff = out.index("careline [staff]> 好的，已为您转接人工")
    emergency = out.index("careline [EMERGENCY]>")
    assert staff < emergency
    assert "120" in out[emergency:]
    assert PHONE not in sent and "李雷" not in sent
    # The button and the emergency never reached the model; the question got an answer and
    # a triage verdict.
    assert len(fake.answer_bodies) == 1 and len(fake.triage_bodies) == 1
    assert "Traceback" not in err


async def test_chat_without_a_model_still_protects_the_patient(tmp_path: Path) -> None:
    async with FakeOllama() as fake:
        closed = fake.url  # nothing listens here once the fake is closed
    code, out, err = await run_chat(
        ["Is it ok to take ibuprofen with coffee?", "I want to kill myself", "hello?"],
        tmp_path,
        CARELINE_OLLAMA_HOST=closed,
    )
    assert code == 0, err
    assert err.count("ollama pull") == 1  # told once how to start the model
    assert "staff member will reply" in out  # the fallback
    assert "careline [EMERGENCY]>" in out and "988" not in out and "12356" in out
    assert "Traceback" not in err
