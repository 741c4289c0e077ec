"""Loopback fakes of the services careline talks to but tests cannot run here.

Each fake is a real aiohttp server on 127.0.0.1 speaking the service's documented wire
format, so the real client libraries (``ollama``, ``openai``) are exercised end to end.
A fake records every request body it receives, counts attempts and concurrent requests,
and can be told to fail in the ways the real service fails.

Use one in a test::

    async with FakeOllama(reply="hello") as fake:
        ...  # point the client at fake.url
        assert fake.chat_bodies[0]["options"]["temperature"] == 0.3

or as a process (end-to-end tests)::

    python -m tests.fakes.ollama --port 0 --reply "hello"   # first stdout line: its URL

A fake running as a process exposes what it recorded at ``GET /_fake/requests`` and its
counters at ``GET /_fake/stats`` (paths no real service has).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

from aiohttp import web

LOOPBACK = "127.0.0.1"
DEFAULT_MODEL = "qwen3:4b-instruct"
DEFAULT_REPLY = "您好，这里是示例回复。Hello, this is a sample reply."
DEFAULT_CHUNK_CHARS = 4
NOT_AN_EMERGENCY = '{"emergency": false, "category": "none"}'
"""The fake model's default triage verdict."""
SHUTDOWN_TIMEOUT_S = 1.0

ReplyText = str | Sequence[str]
"""A whole reply, or the reply already cut into the stream chunks to send."""

Reply = ReplyText | Callable[[dict[str, Any]], ReplyText]
"""A reply, or a function of the request body that returns one."""


class Failure(StrEnum):
    """The ways a fake can fail a chat request."""

    ERROR_500 = "error_500"
    """HTTP 500 with the service's error body."""
    OVERLOADED = "overloaded"
    """Ollama: 503 "server busy"; OpenAI: 429 rate limit."""
    MODEL_NOT_FOUND = "model_not_found"
    """404 for the requested model, even if it is installed."""
    HANG = "hang"
    """Accept the request and never answer."""
    DROP = "drop"
    """Close the connection before sending any response byte."""
    DROP_MID_STREAM = "drop_mid_stream"
    """Send the headers and part of the body, then close the connection."""
    ERROR_MID_STREAM = "error_mid_stream"
    """Send part of a stream, then an error object in the stream (status stays 200)."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def split_reply(text: str, chunk_chars: int) -> list[str]:
    """Cut a reply into stream chunks of ``chunk_chars`` characters."""
    size = max(1, chunk_chars)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class LoopbackFake:
    """Shared machinery: the server's lifetime, recording, counters and failure modes.

    Every field may be changed while the server runs; the next request sees the change.
    """

    models: list[str] = field(default_factory=lambda: [DEFAULT_MODEL])
    reply: Reply = DEFAULT_REPLY
    delay: float = 0.0
    """Seconds to wait before answering a chat request (a slow model)."""
    chunk_delay: float = 0.0
    """Seconds to wait between stream chunks."""
    chunk_chars: int = DEFAULT_CHUNK_CHARS
    fail: Failure | None = None
    fail_times: int | None = None
    """How many chat requests ``fail`` applies to; None means all of them."""
    # Triage questions (a structured request whose schema has an "emergency" field) are
    # answered apart from the answers, so a test of answers and their failures is not
    # disturbed by the verdict asked alongside each.
    triage_reply: Reply = NOT_AN_EMERGENCY
    triage_delay: float = 0.0
    triage_fail: Failure | None = None
    host: str = LOOPBACK
    port: int = 0

    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    attempts: int = field(default=0, init=False)
    """Chat requests received, including those failed or dropped (triage questions not)."""
    in_flight: int = field(default=0, init=False)
    """Requests being answered now (triage questions not counted)."""
    max_in_flight: int = field(default=0, init=False)

    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)
    _closing: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _bound_port: int = field(default=0, init=False, repr=False)

    # -- subclass hooks -----------------------------------------------------------------

    CHAT_PATH = ""

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # -- lifetime -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._bound_port:
            raise RuntimeError("the fake is not started")
        return f"http://{self.host}:{self._bound_port}"

    async def start(self) -> Self:
        app = web.Application()
        self.add_routes(app)
        app.router.add_get("/_fake/requests", self._debug_requests)
        app.router.add_get("/_fake/stats", self._debug_stats)
        self._closing = asyncio.Event()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._bound_port = sock.getsockname()[1]
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what tests read ----------------------------------------------------------------

    @property
    def chat_bodies(self) -> list[Any]:
        """The JSON bodies of every chat request, in arrival order."""
        return [r.body for r in self.requests if r.path == self.CHAT_PATH]

    @property
    def answer_bodies(self) -> list[Any]:
        """Chat requests for a free-text answer: not the structured ones (triage verdicts,
        staff handoff summaries), which may arrive at any moment after an escalation."""
        return [b for b in self.chat_bodies if not (isinstance(b, dict) and self.schema_of(b))]

    @property
    def triage_bodies(self) -> list[Any]:
        return [b for b in self.chat_bodies if self.is_triage(b)]

    def schema_of(self, body: Any) -> Any:
        """The JSON schema a chat request asks the answer to fit, if any (model fakes)."""
        return None

    def is_triage(self, body: Any) -> bool:
        schema = self.schema_of(body) if isinstance(body, dict) else None
        return isinstance(schema, dict) and "emergency" in (schema.get("properties") or {})

    # -- helpers for handlers -----------------------------------------------------------

    def model_installed(self, name: str) -> bool:
        return name in self.models

    async def record(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.headers), body)
        )
        return body

    def take_failure(self, body: Any = None) -> Failure | None:
        """The failure this request should suffer, consuming one of ``fail_times``."""
        if self.is_triage(body):
            return self.triage_fail
        if self.fail is None:
            return None
        if self.fail_times is not None:
            if self.fail_times <= 0:
                return None
            self.fail_times -= 1
        return self.fail

    @contextlib.contextmanager
    def counting(self, body: Any = None) -> Iterator[None]:
        if self.is_triage(body):
            yield
            return
        self.attempts += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the fake shuts down."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    async def hang(self) -> None:
        await self._closing.wait()

    def delay_for(self, body: Any) -> float:
        return self.triage_delay if self.is_triage(body) else self.delay

    def reply_chunks(self, body: dict[str, Any]) -> list[str]:
        chosen = self.triage_reply if self.is_triage(body) else self.reply
        reply = chosen(body) if callable(chosen) else chosen
        if isinstance(reply, str):
            return split_reply(reply, self.chunk_chars)
        return list(reply)

    @staticmethod
    def drop(request: web.Request) -> web.StreamResponse:
        """Close the socket under the request; the client sees a dropped connection."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    # -- debug endpoints (process mode) ------------------------------------------------

    async def _debug_requests(self, request: web.Request) -> web.Response:
        return web.json_response(
            [{"method": r.method, "path": r.path, "body": r.body} for r in self.requests]
        )

    async def _debug_stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "attempts": self.attempts,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
            }
        )


def cli_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--chunk-chars", type=int, default=DEFAULT_CHUNK_CHARS)
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        help=f"an installed model (repeatable; default {DEFAULT_MODEL})",
    )
    parser.add_argument("--fail", choices=[f.value for f in Failure])
    parser.add_argument("--fail-times", type=int, default=None)
    return parser


def fake_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "host": args.host,
        "port": args.port,
        "reply": args.reply,
        "delay": args.delay,
        "chunk_delay": args.chunk_delay,
        "chunk_chars": args.chunk_chars,
        "models": args.models or [DEFAULT_MODEL],
        "fail": Failure(args.fail) if args.fail else None,
        "fail_times": args.fail_times,
    }


async def serve_until_signalled(fake: LoopbackFake) -> None:
    """Run a fake as a process: print its URL as the first stdout line, stop on SIGTERM/INT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await fake.start()
    print(fake.url, flush=True)
    try:
        await stop.wait()
    finally:
        await fake.close()


def run_cli(make: Callable[[argparse.Namespace], LoopbackFake], description: str) -> None:
    args = cli_parser(description).parse_args(sys.argv[1:])
    asyncio.run(serve_until_signalled(make(args)))
