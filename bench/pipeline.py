"""Pipeline figures: per-message overhead without the model, Redis round trips, memory.

    .venv/bin/python bench/pipeline.py [--messages 500] [--redis-url URL]

- Overhead: time from ``Dispatcher.submit`` to the channel's ``send`` for 200-character
  Chinese messages, with a model client that answers instantly (so the figure is careline's
  own work: masking, emergency assessment, Redis, guard). Real patient questions from
  ../shared/data are used when present, else built-in sample text.
- Redis round trips per message, counted at the connection (a pipeline is one).
- Resident memory of a ``careline serve`` process after start, jieba loaded.

Uses CARELINE_TEST_REDIS_URL / --redis-url when given, else an embedded redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio.connection as redis_connection  # noqa: E402

from bench.measure import free_port, percentile  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.dispatcher import Dispatcher  # noqa: E402
from bot.llm import ChatMessage, M, OnStart, Readiness  # noqa: E402
from bot.models import Inbound, Outbound  # noqa: E402
from bot.redis_conn import open_redis  # noqa: E402

SHARED_QUESTIONS = ROOT.parent / "shared" / "data" / "real" / "cmdd_questions_dev.jsonl"
MESSAGE_CHARS = 200
SAMPLE = (
    "医生您好，我今年四十五岁，最近两个月经常感觉头晕乏力，早上起床的时候尤其明显，"
    "有时候还会耳鸣，晚上睡眠也不太好，容易醒。之前体检说血压有点偏高，一百四十五到九十五左右，"
    "没有吃药，平时饮食偏咸，工作压力比较大，经常熬夜。请问这种情况需要做哪些检查？"
    "是不是需要开始吃降压药？平时生活上要注意些什么？谢谢您。"
)


class InstantModel:
    """A model client that answers at once, so only careline's own work is timed."""

    async def complete(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> str:
        if on_start is not None:
            await on_start()
        return "建议您到心内科门诊测量血压并完善检查，平时注意低盐饮食、规律作息。"

    async def stream(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> AsyncIterator[str]:
        yield await self.complete(messages, on_start)

    async def complete_structured(self, messages: Sequence[ChatMessage], schema: type[M]) -> M:
        """The triage verdict, at once: no emergency."""
        return schema.model_validate({"emergency": False, "category": "none"})

    async def check(self) -> Readiness:
        return Readiness(True, True, "instant")

    async def aclose(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def send(self, out: Outbound) -> None:
        self.sent_at[out.conversation_id] = time.perf_counter()
        if len(self.sent_at) >= self.expected:
            self.done.set()


WARM_UP_WAIT_S = 8.0  # seconds after start-up before memory is measured again


def messages(count: int) -> list[str]:
    texts: list[str] = []
    if SHARED_QUESTIONS.exists():
        for line in SHARED_QUESTIONS.read_text("utf-8").splitlines():
            text = json.loads(line)["text"]
            if len(text) >= MESSAGE_CHARS:
                texts.append(text[:MESSAGE_CHARS])
            if len(texts) == count:
                break
    while len(texts) < count:
        texts.append((SAMPLE * 2)[:MESSAGE_CHARS])
    return texts


async def overhead(count: int, redis_url: str | None) -> None:
    round_trips = 0
    original = redis_connection.AbstractConnection.send_packed_command

    async def counting(self: object, command: object, check_health: bool = True) -> None:
        nonlocal round_trips
        round_trips += 1
        await original(self, command, check_health)  # type: ignore[arg-type]

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None,
            redis_url=redis_url,
            redis_prefix=f"careline-bench-{os.getpid()}",
            data_dir=Path(tmp),
            vault_key="u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc=",
            rate_limit="1000/minute",
        )
        handle = await open_redis(
            settings.redis_url, settings.data_dir, settings.redis_max_connections
        )
        clock = Clock()
        dispatcher = Dispatcher(settings, handle.client, InstantModel(), {"wechat": clock})
        texts = messages(count)
        warm = 20
        latencies: list[float] = []
        redis_connection.AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
        try:
            for i, text in enumerate(texts[:warm] + texts):
                conv = f"bench-{i}"
                msg = Inbound(
                    channel="wechat",
                    conversation_id=conv,
                    user_id=conv,
                    message_id=str(i),
                    text=text,
                )
                if i == warm:
                    round_trips = 0
                clock.expected = len(clock.sent_at) + 1
                clock.done.clear()
                start = time.perf_counter()
                await dispatcher.submit(msg)
                await clock.done.wait()
                if i >= warm:
                    latencies.append((clock.sent_at[conv] - start) * 1000)
        finally:
            redis_connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
            await dispatcher.aclose()
            keys = [k async for k in handle.client.scan_iter(match=f"{settings.redis_prefix}*")]
            if keys:
                await handle.client.delete(*keys)
            await handle.close()
    print(f"pipeline overhead, {len(latencies)} messages of {MESSAGE_CHARS} chars, model instant:")
    print(
        f"  p50 {statistics.median(latencies):.2f} ms   p99 {percentile(latencies, 0.99):.2f} ms"
        f"   max {max(latencies):.2f} ms"
    )
    print(f"  Redis round trips per message: {round_trips / len(latencies):.2f} in all")
    print(
        "    (rate limiter 1; gate = handoff state + context window + vault 1; "
        "append exchange + vault 1)"
    )


def serve_memory(redis_url: str | None) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")}
        env |= {
            "CARELINE_PORT": str(port),
            "CARELINE_DATA_DIR": tmp,
            "CARELINE_LOG_LEVEL": "WARNING",
        }
        if redis_url:
            env["CARELINE_REDIS_URL"] = redis_url
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], cwd=tmp, env=env | {"PYTHONPATH": str(ROOT)}
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("careline serve did not start") from None
                    time.sleep(0.1)
            ready_s = time.perf_counter() - started
            rss_ready = _rss_mb(proc.pid)
            # what the background thread loads after start (pinyin reader, learned weights,
            # given names) counts too: measure again once it has had time to finish
            time.sleep(WARM_UP_WAIT_S)
            rss_warm = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"careline serve: answering /healthz after {ready_s:.2f} s; resident memory "
        f"{rss_ready:.0f} MB then, {rss_warm:.0f} MB {WARM_UP_WAIT_S:.0f} s later"
    )


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    return kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--redis-url", default=os.environ.get("CARELINE_TEST_REDIS_URL"))
    args = parser.parse_args()
    where = args.redis_url or "embedded redis-server"
    print(f"Redis: {where}; machine: {os.cpu_count()} cores")
    asyncio.run(overhead(args.messages, args.redis_url))
    serve_memory(args.redis_url)


if __name__ == "__main__":
    main()
