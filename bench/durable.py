"""The durable intake under load, and across a killed worker.

    .venv/bin/python bench/durable.py [--messages 200] [--llm-delay 3] [--llm-parallel 32]
                                      [--redis-url URL]

Runs real `careline serve` processes (WeChat active mode) on one Redis (``--redis-url`` /
CARELINE_TEST_REDIS_URL, else an embedded redis-server), with the fake Ollama answering in
``--llm-delay`` seconds and the fake WeChat API, both as processes. Three runs:

1. one process (role all): a burst of ``--messages`` deliveries at once, each from a
   different patient; acknowledgement p50/p99, end-to-end latency (from the delivery to the
   customer-service send, as the fake API records it; sampled every 50 ms), Redis commands
   per message (INFO's ``total_commands_processed``, everything careline did), memory;
2. the same with a second process (role worker) reading the stream too;
3. the issue's check: the burst acknowledged by the first process, a worker beside it, and
   the first killed with SIGKILL once some answers are out: time until every message is
   answered, answers lost and answers sent twice.

``--llm-parallel`` is each process's bound on model calls at once (CARELINE_LLM_PARALLEL):
a model server that takes several seconds per answer is only worth many workers if it
answers many at once (a vLLM cluster, several Ollamas).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis  # noqa: E402

from bench.measure import (  # noqa: E402
    RawConnection,
    bench_redis,
    burst,
    free_port,
    http_request,
    percentile,
    run_client,
)
from bench.wechat_ack import AES_KEY, APP_ID, TOKEN, start_fakes, wechat_env  # noqa: E402
from tests.fakes.wechat_api import WeChatPush  # noqa: E402

QUESTION = "请问明天上午的内科门诊还能挂号吗？需要带什么材料？"
START_TIMEOUT_S = 60.0
ANSWER_TIMEOUT_S = 300.0


class Careline:
    """A `careline serve` process of the run."""

    def __init__(self, tmp: Path, name: str, env: dict[str, str], role: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = env | {
            "CARELINE_PORT": str(self.port),
            "CARELINE_ROLE": role,
            "CARELINE_DATA_DIR": str(tmp / name),
        }
        self.log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=tmp,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )

    async def ready(self) -> None:
        end = time.monotonic() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    raise SystemExit(f"careline serve exited; see {self.log.name}")
                try:
                    async with session.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("careline serve did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


async def sent_so_far(session: aiohttp.ClientSession, api: str) -> list[str]:
    async with session.get(api + "/_fake/sent") as r:
        return [m["touser"] for m in (await r.json())["sent"]]


async def one_run(
    args: argparse.Namespace,
    tmp: Path,
    env: dict[str, str],
    api: str,
    redis_client: redis.Redis,
    workers: int,
    kill_first: bool,
) -> None:
    tag = f"{'kill' if kill_first else 'load'}{workers}"
    env = env | {"CARELINE_REDIS_PREFIX": f"careline-bench-durable-{os.getpid()}-{tag}"}
    first = Careline(tmp, f"{tag}-a", env, "all")
    others = [Careline(tmp, f"{tag}-w{n}", env, "worker") for n in range(workers - 1)]
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="plain")
    try:
        for proc in (first, *others):
            await proc.ready()
        # the workers share the shards out: the first gives up its surplus at its next look
        # at the leases (a third of a lease), the second takes them at its own
        await asyncio.sleep(args.lease if others else 1.0)
        patients = [f"oDUR_{tag}_{i:05d}" for i in range(args.messages)]
        requests = []
        for patient in patients:
            query, body = push.deliver(push.text(patient, QUESTION)[0])
            target = "/wechat?" + urlencode(query)
            headers = {"Content-Type": "text/xml"}
            requests.append(http_request("POST", target, first.port, body, headers))
        conns = [await RawConnection.open("127.0.0.1", first.port) for _ in requests]
        async with aiohttp.ClientSession() as session:
            already = len(await sent_so_far(session, api))
            commands_before = redis_client.info("stats")["total_commands_processed"]
            started = time.perf_counter()
            answers = await burst(conns, requests)
            for conn in conns:
                conn.close()
            bad = [(s, b) for s, b, _ in answers if s != 200 or b != b"success"]
            if bad:
                raise SystemExit(f"unexpected acknowledgements: {bad[:3]}")
            acked = [elapsed * 1000 for _, _, elapsed in answers]
            answered_at: dict[str, float] = {}
            counts: collections.Counter[str] = collections.Counter()
            killed_at = None
            end = time.perf_counter() + ANSWER_TIMEOUT_S
            while time.perf_counter() < end:
                sent = (await sent_so_far(session, api))[already:]
                now = time.perf_counter() - started
                counts = collections.Counter(sent)
                for patient in counts:
                    answered_at.setdefault(patient, now)
                if kill_first and killed_at is None and len(counts) >= args.messages // 10:
                    first.proc.send_signal(signal.SIGKILL)
                    first.proc.wait()
                    killed_at = now
                if len(counts) >= args.messages:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # a late duplicate would show up now
            counts = collections.Counter((await sent_so_far(session, api))[already:])
            commands = redis_client.info("stats")["total_commands_processed"] - commands_before
        lost = [p for p in patients if counts[p] == 0]
        twice = [p for p in patients if counts[p] > 1]
        latencies = [answered_at[p] * 1000 for p in patients if p in answered_at]
        memory = " + ".join(f"{p.rss_mb():.0f}" for p in (first, *others) if p.proc.poll() is None)
        title = (
            f"{workers} process(es), first killed (SIGKILL) after {killed_at:.1f} s"
            if kill_first and killed_at is not None
            else f"{workers} process(es)"
        )
        print(
            f"{title}: {args.messages} deliveries at once, model {args.llm_delay:g} s, "
            f"{args.llm_parallel} model calls at once per process"
        )
        print(
            f"  ack p50 {percentile(acked, 0.5):.0f} ms, p99 {percentile(acked, 0.99):.0f} ms; "
            f"all answered after {max(latencies) / 1000:.1f} s "
            f"(end to end p50 {percentile(latencies, 0.5) / 1000:.1f} s, "
            f"p99 {percentile(latencies, 0.99) / 1000:.1f} s)"
        )
        print(
            f"  lost {len(lost)}, answered twice {len(twice)}; Redis commands per message "
            f"{commands / args.messages:.1f}; memory (RSS MB) {memory}"
        )
    finally:
        for proc in (first, *others):
            proc.stop()


async def measure(args: argparse.Namespace, tmp: Path, env: dict[str, str], api: str) -> None:
    client = redis.Redis.from_url(env["CARELINE_REDIS_URL"])
    try:
        await one_run(args, tmp, env, api, client, workers=1, kill_first=False)
        await one_run(args, tmp, env, api, client, workers=2, kill_first=False)
        await one_run(args, tmp, env, api, client, workers=2, kill_first=True)
    finally:
        client.close()


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="careline-bench-durable-"))
    redis_url, embedded = bench_redis(tmp, args.redis_url)
    ollama, ollama_url, wechat, wechat_url = start_fakes(args.llm_delay)
    env = wechat_env(redis_url, ollama_url, wechat_url) | {
        "CARELINE_LLM_PARALLEL": str(args.llm_parallel),
        "CARELINE_MODEL_TRIAGE": "false",
        "CARELINE_RATE_LIMIT": "1000/minute",
        "CARELINE_WORKER_LEASE_S": str(args.lease),
    }
    try:
        run_client(measure(args, tmp, env, wechat_url))
    finally:
        for fake in (ollama, wechat):
            fake.terminate()
            fake.wait(timeout=10)
        if embedded is not None:
            embedded.shutdown()
    print(json.dumps({"logs": str(tmp)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--llm-delay", type=float, default=3.0)
    parser.add_argument("--llm-parallel", type=int, default=32)
    parser.add_argument("--lease", type=float, default=10.0, help="CARELINE_WORKER_LEASE_S")
    parser.add_argument("--redis-url")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
