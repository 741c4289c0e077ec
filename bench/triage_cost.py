"""What the model triage costs a patient in waiting, and the model in work.

    .venv/bin/python bench/triage_cost.py [--messages 20] [--answer-s 2.0] [--triage-s 0.6]

No model runs here, so the model's speed is simulated by the loopback Ollama fake: an answer
takes ``--answer-s`` seconds and a triage verdict ``--triage-s`` (set them to what your GPU
shows in Ollama's logs: ``total_duration`` of an answer and of a short JSON reply). The
script sends the same questions through the real dispatcher, real Redis and the real Ollama
client with ``CARELINE_MODEL_TRIAGE`` off and on, at ``CARELINE_LLM_PARALLEL`` 1 and 2, and
prints the time from submit to the answer's send, and the size of what triage asks.

Uses CARELINE_TEST_REDIS_URL / --redis-url when given, else an embedded redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.dispatcher import Dispatcher  # noqa: E402
from bot.llm import make_llm  # noqa: E402
from bot.models import Inbound, Outbound  # noqa: E402
from bot.redis_conn import open_redis  # noqa: E402
from bot.triage import triage_messages  # noqa: E402
from tests.fakes.ollama import FakeOllama  # noqa: E402

QUESTIONS = (
    "最近总是失眠，晚上两三点才能睡着，白天没精神，需要吃药吗？",
    "孩子咳嗽一个星期了，不发烧，晚上咳得厉害一点，要不要去医院？",
    "体检说尿酸偏高，平时饮食要注意什么？",
    "请问胃镜检查前需要空腹多久？",
)


class Clock:
    def __init__(self) -> None:
        self.sent = asyncio.Event()

    async def send(self, out: Outbound) -> None:
        self.sent.set()


async def run(
    fake: FakeOllama, redis_url: str | None, triage: bool, parallel: int, count: int
) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None,
            redis_url=redis_url,
            redis_prefix=f"careline-bench-triage-{os.getpid()}",
            data_dir=Path(tmp),
            ollama_host=fake.url,
            llm_parallel=parallel,
            model_triage=triage,
            vault_key="u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc=",
            rate_limit="1000/minute",
        )
        handle = await open_redis(
            settings.redis_url, settings.data_dir, settings.redis_max_connections
        )
        clock = Clock()
        llm = make_llm(settings)
        dispatcher = Dispatcher(settings, handle.client, llm, {"wechat": clock})
        waits: list[float] = []
        try:
            for i in range(count):
                conv = f"bench-{i}"
                clock.sent.clear()
                started = time.perf_counter()
                await dispatcher.submit(
                    Inbound(
                        channel="wechat",
                        conversation_id=conv,
                        user_id=conv,
                        message_id=str(i),
                        text=QUESTIONS[i % len(QUESTIONS)],
                    )
                )
                await clock.sent.wait()
                waits.append(time.perf_counter() - started)
        finally:
            await dispatcher.aclose()
            await llm.aclose()
            keys = [k async for k in handle.client.scan_iter(match=f"{settings.redis_prefix}*")]
            if keys:
                await handle.client.delete(*keys)
            await handle.close()
    return waits


async def main_async(args: argparse.Namespace) -> None:
    async with FakeOllama(reply="建议您到门诊就诊，完善相关检查。") as fake:
        fake.delay = args.answer_s
        fake.triage_delay = args.triage_s
        print(
            f"simulated model: answer {args.answer_s:.2f} s, triage verdict {args.triage_s:.2f} s; "
            f"{args.messages} questions one after another"
        )
        for parallel in (1, 2):
            for triage in (False, True):
                waits = await run(fake, args.redis_url, triage, parallel, args.messages)
                print(
                    f"  LLM_PARALLEL={parallel} MODEL_TRIAGE={str(triage).lower():5}: "
                    f"answer after {statistics.mean(waits):.2f} s mean, {max(waits):.2f} s max"
                )
    asked = triage_messages(QUESTIONS[0], [], "zh")
    prompt_chars = sum(len(m.content) for m in asked)
    print(
        f"triage asks per message: one structured call, {prompt_chars} prompt characters "
        "(the system prompt is the same every time, so Ollama reuses its cache), "
        'and a reply of about 15 tokens ({"emergency": false, "category": "none"})'
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--answer-s", type=float, default=2.0)
    parser.add_argument("--triage-s", type=float, default=0.6)
    parser.add_argument("--redis-url", default=os.environ.get("CARELINE_TEST_REDIS_URL"))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
