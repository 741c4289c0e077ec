"""WeChat webhook acknowledgement: latency under a burst, and messages accepted per second.

    .venv/bin/python bench/wechat_ack.py [--burst 200] [--rounds 5] [--messages 3000]
                                         [--concurrency 64] [--llm-delay 3] [--mode plain|safe]
                                         [--redis-url URL]

Runs a real `careline serve` process in active mode against the fake Ollama (answering in
``--llm-delay`` seconds) and the fake WeChat API, both as processes, and a real Redis
(``--redis-url`` / CARELINE_TEST_REDIS_URL, else an embedded redis-server).

- Latency: ``--rounds`` bursts of ``--burst`` concurrent deliveries (each from a different
  patient, signed as WeChat signs them), time from sending each request to its ``success``.
  The model is busy the whole time: answers queue behind the 3-second model. Each delivery
  carries a different question: real ones from ../shared/data when it is there, else ones
  made from templates.
- Throughput: ``--messages`` deliveries, ``--concurrency`` in flight, as fast as the server
  acknowledges them; also the server's CPU seconds used, from /proc.

The client sends requests built in advance over keep-alive connections (bench.measure), so
its own cost per request is small; on a small machine it still shares the CPU with the server.
``--per-burst`` prints each burst's median and maximum as well.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.measure import (  # noqa: E402
    RawConnection,
    bench_redis,
    burst,
    free_port,
    http_request,
    percentile,
    run_client,
    start_fake,
)
from tests.fakes.wechat_api import WeChatPush  # noqa: E402

TOKEN = "bench-token"
APP_ID = "wx00bench00000000a"
SECRET = "bench-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
VAULT_KEY = "u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc="
# Real patient questions (evaluation data, used here only as load) when ../shared is beside
# the project; otherwise distinct questions made from templates. Every delivery's text is
# different from the last few hundred, as real traffic is, so no cache of careline's
# answers a repeat.
SHARED_QUESTIONS = ROOT.parent / "shared" / "data" / "real" / "cmdd_questions_dev.jsonl"
MAX_QUESTION_CHARS = 300
DAYS = ["今天", "明天", "后天", "周一", "周二", "周三", "周四", "周五", "周六", "周日"]
TIMES = ["上午", "下午", "晚上", "早上八点", "中午"]
DEPTS = ["内科", "外科", "儿科", "妇科", "眼科", "皮肤科", "口腔科", "骨科", "耳鼻喉科", "中医科"]
ASKS = ["还能挂号吗？需要带什么材料？", "有专家号吗？怎么预约？", "几点开始看诊？要空腹吗？"]
START_TIMEOUT_S = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise SystemExit("careline serve exited; see its log")
            try:
                async with session.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("careline serve did not start")


def questions() -> list[str]:
    if SHARED_QUESTIONS.exists():
        lines = SHARED_QUESTIONS.read_text("utf-8").splitlines()
        return [json.loads(line)["text"][:MAX_QUESTION_CHARS] for line in lines]
    return [
        f"请问{day}{time}的{dept}门诊{ask}"
        for day in DAYS
        for time in TIMES
        for dept in DEPTS
        for ask in ASKS
    ]


QUESTIONS = questions()
_next_question = itertools.count()


def deliveries(push: WeChatPush, port: int, count: int, tag: str) -> list[bytes]:
    """``count`` deliveries, each from a different patient, as request bytes."""
    out = []
    for i in range(count):
        text = QUESTIONS[next(_next_question) % len(QUESTIONS)]
        xml, _ = push.text(f"oBENCH_{tag}_{i:06d}", text)
        query, body = push.deliver(xml)
        target = "/wechat?" + urlencode(query)
        out.append(http_request("POST", target, port, body, {"Content-Type": "text/xml"}))
    return out


IN_ACK = {"answers": 0}


def check(answers: list[tuple[int, bytes, float]]) -> list[float]:
    """Latencies in ms. Every answer is ``success``, or the reply an emergency carries in the
    acknowledgement itself (counted in ``IN_ACK``)."""
    for status, body, _ in answers:
        if status == 200 and body.startswith(b"<xml>"):
            IN_ACK["answers"] += 1
        elif status != 200 or body != b"success":
            raise SystemExit(f"unexpected answer {status}: {body[:80]!r}")
    return [elapsed * 1000 for _, _, elapsed in answers]


async def measure(args: argparse.Namespace, port: int, serve: subprocess.Popen[bytes]) -> None:
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode=args.mode)
    await wait_ready(f"http://127.0.0.1:{port}", serve)
    conns = [await RawConnection.open("127.0.0.1", port) for _ in range(args.burst)]
    try:
        for request in deliveries(push, port, 20, "warm"):
            check([await conns[0].exchange(request)])

        ms: list[float] = []
        cpu_before = cpu_seconds(serve.pid)
        for round_no in range(args.rounds):
            got = check(await burst(conns, deliveries(push, port, args.burst, f"r{round_no}")))
            if args.per_burst:
                print(f"  burst {round_no}: p50 {percentile(got, 0.5):.1f} max {max(got):.1f}")
            ms += got
            await asyncio.sleep(args.pause)
        cpu = cpu_seconds(serve.pid) - cpu_before
        print(
            f"ack latency, {args.rounds} bursts of {args.burst} concurrent deliveries "
            f"({args.mode} mode, model {args.llm_delay:g} s per answer, "
            f"{args.pause:g} s between bursts):"
        )
        print(
            f"  p50 {percentile(ms, 0.5):.1f} ms   p99 {percentile(ms, 0.99):.1f} ms   "
            f"max {max(ms):.1f} ms   mean {statistics.mean(ms):.1f} ms   n={len(ms)}   "
            f"server CPU {cpu * 1000 / len(ms):.2f} ms per delivery, background work included"
        )
        print(
            f"  texts: {len(QUESTIONS)} distinct questions in turn; "
            f"{IN_ACK['answers']} emergencies answered in the acknowledgement itself"
        )

        pending = deliveries(push, port, args.messages, "tp")

        async def worker(conn: RawConnection) -> None:
            while pending:
                check([await conn.exchange(pending.pop())])

        cpu_before = cpu_seconds(serve.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns[: args.concurrency]))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(serve.pid) - cpu_before
        print(
            f"throughput: {args.messages} deliveries, {args.concurrency} in flight: "
            f"{args.messages / elapsed:.0f} accepted/s per process "
            f"(server CPU {cpu:.2f} s while accepting)"
        )
    finally:
        for conn in conns:
            conn.close()


def wechat_env(redis_url: str, ollama_url: str, wechat_url: str) -> dict[str, str]:
    """The environment of a bench's `careline serve`: this machine's, without its own
    CARELINE_* settings, plus WeChat in active mode against the fakes."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "PYTHONPATH": str(ROOT),
        "CARELINE_REDIS_URL": redis_url,
        "CARELINE_VAULT_KEY": VAULT_KEY,
        "CARELINE_LOG_LEVEL": "WARNING",
        "CARELINE_OLLAMA_HOST": ollama_url,
        "CARELINE_WECHAT_TOKEN": TOKEN,
        "CARELINE_WECHAT_APP_ID": APP_ID,
        "CARELINE_WECHAT_APP_SECRET": SECRET,
        "CARELINE_WECHAT_AES_KEY": AES_KEY,
        "CARELINE_WECHAT_API_BASE": wechat_url,
        "CARELINE_WECHAT_REPLY_MODE": "active",
    }


def start_fakes(llm_delay: float) -> tuple[subprocess.Popen[str], str, subprocess.Popen[str], str]:
    """The fake Ollama (answering in ``llm_delay`` s) and the fake WeChat API, as processes."""
    ollama, ollama_url = start_fake(
        "tests.fakes.ollama", "--delay", str(llm_delay), "--reply", "建议您提前在线预约。"
    )
    wechat, wechat_url = start_fake("tests.fakes.wechat_api", "--appid", APP_ID, "--secret", SECRET)
    return ollama, ollama_url, wechat, wechat_url


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="careline-bench-"))
    redis_url, embedded = bench_redis(tmp, args.redis_url)
    ollama, ollama_url, wechat, wechat_url = start_fakes(args.llm_delay)
    port = free_port()
    env = wechat_env(redis_url, ollama_url, wechat_url) | {
        "CARELINE_REDIS_PREFIX": f"careline-bench-{os.getpid()}",
        "CARELINE_DATA_DIR": str(tmp / "data"),
        "CARELINE_PORT": str(port),
    }
    with open(tmp / "serve.log", "wb") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], cwd=tmp, env=env, stdout=log, stderr=log
        )
        try:
            run_client(measure(args, port, serve))
        finally:
            serve.terminate()
            try:
                serve.wait(timeout=15)
            except subprocess.TimeoutExpired:
                serve.kill()
            for fake in (ollama, wechat):
                fake.terminate()
                fake.wait(timeout=10)
            if embedded is not None:
                embedded.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--llm-delay", type=float, default=3.0)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between bursts")
    parser.add_argument("--per-burst", action="store_true", help="print each burst's figures")
    parser.add_argument("--mode", choices=["plain", "safe"], default="plain")
    parser.add_argument("--redis-url")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
