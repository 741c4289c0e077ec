"""Telegram webhook acknowledgement under load while the model is slow.

    .venv/bin/python bench/telegram_ack.py [--burst 200] [--rounds 5] [--llm-delay 3]
                                           [--emergency-share 0.1] [--redis-url URL]

Runs a real `careline serve` process with the Telegram channel against the fake Ollama
(answering in ``--llm-delay`` seconds) and the fake Bot API, both as processes, and a real
Redis (``--redis-url`` / CARELINE_TEST_REDIS_URL, else careline's embedded redis-server).

``--rounds`` bursts of ``--burst`` concurrent webhook deliveries, each from a different
private chat, with the secret header, as Telegram posts them. Printed:

- acknowledgement latency (request sent -> 200 received): p50, p90, p99, max;
- for the ``--emergency-share`` of deliveries that describe an emergency, the time from the
  delivery to the emergency reply reaching the Bot API (its sendMessage), measured with the
  system-wide monotonic clock both processes share;
- how many ordinary answers had arrived when the bursts ended (the model is the bottleneck:
  two answers at a time, ``--llm-delay`` seconds each).

The client sends requests built in advance over keep-alive connections (bench.measure), so
its own cost per request is small; on a small machine it still shares the CPU with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from adapters.telegram.channel import SECRET_HEADER, WEBHOOK_PATH  # noqa: E402
from bench.measure import (  # noqa: E402
    RawConnection,
    burst,
    free_port,
    http_request,
    percentile,
    run_client,
    start_fake,
)
from tests.fakes.telegram_api import DEFAULT_TOKEN, text_update  # noqa: E402

SECRET = "bench-webhook-secret"
VAULT_KEY = "u8nN0m1ZQxJ0b3Z1Yk1XQ0x0aGZ6dUJ2cE9pQ2VvZGc="
# Every delivery asks something different, as real patients do (a repeated text would be
# answered by careline's normalisation cache and flatter the figures).
DAYS = ["today", "tomorrow", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
DEPARTMENTS = ["cardiology", "dermatology", "paediatrics", "orthopaedics", "ENT", "eye clinic"]
ASKS = [
    "Can I still book a {dept} appointment for {day} morning?",
    "What time does the {dept} clinic open {day}, and do I need to fast?",
    "Is there a specialist in {dept} on {day} afternoon? How do I book?",
    "Which documents should I bring to {dept} on {day}?",
]
QUESTIONS = [ask.format(dept=dept, day=day) for ask in ASKS for dept in DEPARTMENTS for day in DAYS]
EMERGENCY = "My husband has crushing chest pain and is sweating, what do I do"
START_TIMEOUT_S = 60.0
REPLY_WAIT_S = 30.0
STOP_WAIT_S = 5.0
POLL_S = 0.02
ERROR_LINES_SHOWN = 5
FIRST_CHAT_ID = 900_000_000
PERCENT = 100


async def wait_healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    end = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            if proc.returncode is not None:
                raise SystemExit("careline serve exited; see its log")
            try:
                async with session.get(url + "/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("careline serve did not start")


async def fake_calls(session: aiohttp.ClientSession, api: str, since: int) -> list[dict[str, Any]]:
    """The Bot API calls the fake received from index ``since`` on."""
    async with session.get(api + "/_fake/calls", params={"since": str(since)}) as r:
        calls: list[dict[str, Any]] = await r.json()
        return calls


async def run(args: argparse.Namespace, llm_url: str, api_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
            "PYTHONPATH": str(ROOT),
            "CARELINE_DATA_DIR": str(Path(tmp) / "data"),
            "CARELINE_VAULT_KEY": VAULT_KEY,
            "CARELINE_PORT": str(port),
            "CARELINE_LOG_LEVEL": "WARNING",
            "CARELINE_OLLAMA_HOST": llm_url,
            "CARELINE_LLM_TIMEOUT_S": str(args.llm_delay * 100),
            "CARELINE_TELEGRAM_TOKEN": DEFAULT_TOKEN,
            "CARELINE_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "CARELINE_TELEGRAM_API_BASE": api_url,
        }
        if args.redis_url:
            env["CARELINE_REDIS_URL"] = args.redis_url
            env["CARELINE_REDIS_PREFIX"] = f"bench-telegram-{os.getpid()}"
        log_path = Path(tmp) / "serve.log"
        with log_path.open("wb") as log:
            server = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", cwd=tmp, env=env, stderr=log, stdout=log
            )
            try:
                await wait_healthy(url, server)
                await burst_rounds(args, port, api_url)
            finally:
                # careline finishes accepted messages before it exits; with hundreds queued
                # behind a slow model that takes minutes, so the benchmark does not wait.
                server.terminate()
                try:
                    await asyncio.wait_for(server.wait(), STOP_WAIT_S)
                except TimeoutError:
                    server.kill()
                    await server.wait()
        problems = [
            line
            for line in log_path.read_text("utf-8", "replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        print(f"server log: {len(problems)} error lines")
        for line in problems[:ERROR_LINES_SHOWN]:
            print(f"  {line}")


async def burst_rounds(args: argparse.Namespace, port: int, api: str) -> None:
    chats = itertools.count(FIRST_CHAT_ID)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    emergencies: dict[int, float] = {}  # chat id -> when its delivery was sent
    every = max(1, round(1 / args.emergency_share)) if args.emergency_share > 0 else 0
    conns = [await RawConnection.open("127.0.0.1", port) for _ in range(args.burst)]
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    began = time.monotonic()
    try:
        for _ in range(args.rounds):
            requests, urgent_ids = [], []
            for index in range(args.burst):
                chat_id = next(chats)
                urgent = bool(every) and index % every == 0
                update = text_update(
                    EMERGENCY if urgent else QUESTIONS[chat_id % len(QUESTIONS)],
                    chat_id=chat_id,
                    user_id=chat_id,
                )
                body = json.dumps(update).encode()
                requests.append(http_request("POST", WEBHOOK_PATH, port, body, headers))
                if urgent:
                    urgent_ids.append(chat_id)
            sent_at = time.monotonic()
            emergencies.update(dict.fromkeys(urgent_ids, sent_at))
            for status, _body, elapsed in await burst(conns, requests):
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
            await asyncio.sleep(args.pause)
    finally:
        for conn in conns:
            conn.close()
    burst_s = time.monotonic() - began

    replied: dict[int, float] = {}
    end = time.monotonic() + REPLY_WAIT_S
    answers = seen = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            calls = await fake_calls(session, api, seen)
            seen += len(calls)
            for call in calls:
                if call["method"] != "sendMessage":
                    continue
                chat_id = int(call["params"]["chat_id"])
                if chat_id in emergencies and chat_id not in replied:
                    replied[chat_id] = call["at"] - emergencies[chat_id]
                else:
                    answers += 1
            if len(replied) == len(emergencies):
                break
            await asyncio.sleep(POLL_S)

    total = args.burst * args.rounds
    ms = [x * 1000 for x in latencies]
    print(
        f"{total} webhook deliveries: {args.rounds} bursts of {args.burst} concurrent, "
        f"model answering in {args.llm_delay:g} s, {args.pause:g} s between bursts; "
        f"bursts took {burst_s:.2f} s"
    )
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(
        f"ack latency ms: p50 {percentile(ms, 0.50):.1f}  p90 {percentile(ms, 0.90):.1f}  "
        f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}"
    )
    if emergencies:
        reply_ms = [x * 1000 for x in replied.values()]
        share = PERCENT * len(replied) / len(emergencies)
        line = f"emergency replies at the Bot API: {len(replied)}/{len(emergencies)} ({share:.0f}%)"
        if reply_ms:
            line += (
                f"; delivery -> sendMessage ms: p50 {percentile(reply_ms, 0.50):.1f}  "
                f"p99 {percentile(reply_ms, 0.99):.1f}  max {max(reply_ms):.1f}"
            )
        print(line)
    print(f"ordinary answers sent by then: {answers} of {total - len(emergencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between bursts")
    parser.add_argument("--llm-delay", type=float, default=3.0)
    parser.add_argument("--emergency-share", type=float, default=0.1)
    parser.add_argument("--redis-url", default=os.environ.get("CARELINE_TEST_REDIS_URL"))
    args = parser.parse_args()
    llm_proc, llm_url = start_fake("tests.fakes.ollama", "--delay", str(args.llm_delay))
    api_proc, api_url = start_fake("tests.fakes.telegram_api", "--token", DEFAULT_TOKEN)
    try:
        run_client(run(args, llm_url, api_url))
    finally:
        for proc in (llm_proc, api_proc):
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
