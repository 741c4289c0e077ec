"""The listening socket's first reader: acknowledges webhook deliveries without aiohttp.

A burst of webhook deliveries is hundreds of small POSTs, each answered at once. Through
aiohttp each costs about 0.1 ms of CPU in the framework alone (request and response
objects, a task per request). In ``bench/wechat_ack.py`` on a 2-core VM, answering
``success`` from here instead of from an aiohttp handler took the acknowledgement p99 of
200 concurrent deliveries from 38 ms to 18 ms when nothing else was done, and careline's
own from 81 ms to 54 ms (one repeated question). With distinct real questions, timed inside
the server, the emergency check was then the largest part of a delivery's handler (about
60-70 us of 100-115), reading the message the next (about 17 us); since the check learned
to read traditional characters, Cantonese, pinyin and paraphrase it takes about 0.45 ms,
nearly all of a delivery's handler.

So every connection starts with ``_Front``. It recognises one shape of request, and only
that one: ``POST`` over HTTP/1.1 to a path a channel registered as fast, with a single
``Content-Length`` (no ``Transfer-Encoding``, ``Expect`` or ``Upgrade``, no repeated, folded
or malformed header lines) and a body within the server's limit. For such a request it asks
the channel's ``FastHandler`` (query string, headers, body); a ``bytes`` answer is written
as a ``200 text/plain`` response.

The requests read in one pass of the event loop are answered together, right after that
pass's reads (``call_soon``): every handler, then every write. A burst's handlers then run
back to back with their code and data still in the CPU's caches, and the client is woken by
a run of answers instead of after each one. In ``bench/wechat_ack.py`` (60 bursts, runs
interleaved) this took the acknowledgement p99 from 47-48 ms to 39-41 ms. No answer waits
longer than before, since a pass's requests were answered one after another anyway; only
the earliest of a pass now wait for the later ones' handlers. A connection reads nothing
more until its staged request is answered, so pipelined requests keep their order.

Everything else, and every request the handler declines (it returns ``None``: a bad
signature, a body it cannot read, a message whose answer must wait), is handed to aiohttp
untouched: the connection's protocol becomes aiohttp's own request handler, fed the bytes
read so far, and aiohttp answers as it always does (403, 400, 413, the full route). The
connection stays with aiohttp from then on. The front never answers an error itself, so
every refusal, log line and status code is aiohttp's and the route's.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any, cast

from aiohttp import web

from adapters.base import FastAnswer, FastHandler

log = logging.getLogger(__name__)

FAST_ROUTES: web.AppKey[dict[str, FastHandler]] = web.AppKey("fast_routes", dict)

# aiohttp's own limit for a request line or header line (its ``max_line_size``); a head
# longer than this is not the small request the front looks for.
MAX_HEAD_BYTES = 8190
# Idle keep-alive connections are closed after this long, as aiohttp does (its default).
KEEPALIVE_S = 75.0
SWEEP_S = 15.0


class _Date:
    """The ``Date`` header, formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True).encode("ascii")
        return self._value


_date = _Date()


def _response(body: bytes, close: bool) -> bytes:
    return b"".join(
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ",
            str(len(body)).encode("ascii"),
            b"\r\nDate: ",
            _date(),
            b"\r\nServer: careline\r\n",
            b"Connection: close\r\n\r\n" if close else b"\r\n",
            body,
        )
    )


class _Request:
    """A fast request's head: where it goes, how long its body is, how it ends."""

    __slots__ = ("close", "handler", "head_end", "headers", "length", "query")

    def __init__(
        self,
        handler: FastHandler,
        query: str,
        headers: dict[bytes, bytes],
        head_end: int,
        length: int,
        close: bool,
    ) -> None:
        self.handler = handler
        self.query = query
        self.headers = headers
        self.head_end = head_end
        self.length = length
        self.close = close


CR = ord("\r")
_HANDOFF = object()  # the request is not one the front answers


def _read_head(buf: bytearray, routes: Mapping[str, FastHandler], max_body: int) -> Any:
    """The fast request starting at ``buf[0]``; None if its head is not complete yet;
    ``_HANDOFF`` if it is not a fast request."""
    line_end = buf.find(b"\n", 0, MAX_HEAD_BYTES + 1)
    if line_end < 0:
        return None if len(buf) <= MAX_HEAD_BYTES else _HANDOFF
    if line_end == 0 or buf[line_end - 1] != CR:
        return _HANDOFF  # a bare line feed: aiohttp decides
    line_end -= 1
    method, _, rest = bytes(buf[:line_end]).partition(b" ")
    target, _, version = rest.partition(b" ")
    if method != b"POST" or version != b"HTTP/1.1":
        return _HANDOFF
    path, _, query = target.partition(b"?")
    handler = routes.get(path.decode("ascii", "replace"))
    if handler is None:
        return _HANDOFF
    head_end = buf.find(b"\r\n\r\n", line_end, MAX_HEAD_BYTES + 4)
    headers = bytes(buf[line_end + 2 : head_end if head_end >= 0 else len(buf)])
    if headers.count(b"\n") != headers.count(b"\r\n"):
        return _HANDOFF  # bare line feeds would keep the head from ever ending here
    if head_end < 0:
        return None if len(buf) <= MAX_HEAD_BYTES else _HANDOFF
    length = -1
    close = False
    fields: dict[bytes, bytes] = {}
    for line in headers.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or not line.isascii() or b"\r" in line:
            return _HANDOFF  # folded, malformed or odd: aiohttp decides
        name = name.lower()
        value = value.strip()
        if name in fields:
            return _HANDOFF  # a repeated header: aiohttp decides what it means
        fields[name] = value
        if name == b"content-length":
            if not value.isdigit():
                return _HANDOFF
            length = int(value)
        elif name in (b"transfer-encoding", b"expect", b"upgrade"):
            return _HANDOFF
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"upgrade" in tokens:
                return _HANDOFF
            close = b"close" in tokens
    if length < 0 or length > max_body:
        return _HANDOFF
    try:
        query_text = query.decode("ascii")
    except UnicodeDecodeError:
        return _HANDOFF
    return _Request(handler, query_text, fields, head_end + 4, length, close)


class _Front(asyncio.Protocol):
    __slots__ = ("_buf", "_idle_since", "_pending", "_site", "_transport", "_waiting")

    def __init__(self, site: FrontSite) -> None:
        self._site = site
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._pending: _Request | None = None
        self._waiting = False  # its request is staged: read no further until it is answered
        self._idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._site._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._site._connections.discard(self)
        self._transport = None

    def pause_writing(self) -> None:
        """The client is not reading its answers: stop reading its requests until it does."""
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def idle_for(self, now: float) -> float:
        return now - self._idle_since

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._idle_since = time.monotonic()
        self._buf += data
        if not self._waiting:
            self._read_request()

    def _read_request(self) -> None:
        """Stages the next request once it is complete, or hands the connection off."""
        request = self._pending or _read_head(self._buf, self._site.routes, self._site.max_body)
        if request is None:
            return
        if request is _HANDOFF:
            self._hand_off()
            return
        self._pending = request
        end = request.head_end + request.length
        if len(self._buf) < end:
            return  # the rest of the body is on its way
        self._waiting = True
        self._site.stage(self, request, bytes(self._buf[request.head_end : end]))

    def answered(self, request: _Request, answer: bytes | None) -> None:
        """The staged request's answer is ready (None: aiohttp's to answer); then the next
        request this connection has sent, if any."""
        self._waiting = False
        if answer is None:
            self._hand_off()
            return
        self._pending = None
        del self._buf[: request.head_end + request.length]
        transport = self._transport
        if transport is None:
            return
        transport.write(_response(answer, request.close))
        if request.close:
            transport.close()
        elif self._buf:
            self._read_request()

    @staticmethod
    def _answer(request: _Request, body: bytes) -> FastAnswer:
        try:
            return request.handler(request.query, request.headers, body)
        except Exception as exc:  # the full route will answer it properly
            log.error("fast path failed (%s); the request goes the full route", type(exc).__name__)
            return None

    def _hand_off(self) -> None:
        """From here on this connection is aiohttp's, starting with the bytes read so far."""
        transport = self._transport
        self._site._connections.discard(self)
        self._transport = None
        if transport is None or transport.is_closing():
            return
        handler = self._site.aiohttp_protocol()
        if handler is None:  # the server is shutting down
            transport.close()
            return
        data = bytes(self._buf)
        self._buf.clear()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if data:
            handler.data_received(data)


def _deliver(connection: _Front, request: _Request, answer: bytes | None) -> None:
    try:
        connection.answered(request, answer)
    except Exception as exc:  # one connection's trouble is not the others'
        log.error("fast answer not delivered (%s); connection closed", type(exc).__name__)
        connection.close()


def _deliver_later(
    connection: _Front, request: _Request, answer: asyncio.Future[bytes | None]
) -> None:
    result = None
    if not answer.cancelled() and answer.exception() is None:
        result = answer.result()
    _deliver(connection, request, result)


class FrontSite(web.BaseSite):
    """A TCP site whose connections meet ``_Front`` first (see the module docstring). The
    fast routes are the application's ``FAST_ROUTES``."""

    __slots__ = (
        "_connections",
        "_host",
        "_loop",
        "_port",
        "_staged",
        "_sweeper",
        "max_body",
        "routes",
    )

    def __init__(
        self, runner: web.AppRunner, host: str, port: int, *, max_body: int, backlog: int = 128
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._connections: set[_Front] = set()
        app = runner.app
        routes: dict[str, FastHandler] = app.get(FAST_ROUTES, {})
        self.routes = dict(routes)
        self.max_body = max_body
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._staged: list[tuple[_Front, _Request, bytes]] = []

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when ``port`` was 0)."""
        server = cast(asyncio.Server, self._server)
        return int(server.sockets[0].getsockname()[1])

    def stage(self, connection: _Front, request: _Request, body: bytes) -> None:
        """Queues a complete fast request to be answered with the rest of this pass's."""
        staged = self._staged
        if not staged:
            cast(asyncio.AbstractEventLoop, self._loop).call_soon(self._answer_staged)
        staged.append((connection, request, body))

    def _answer_staged(self) -> None:
        """Answers the fast requests read in one pass of the event loop: every handler, then
        every write (see the module docstring). An answer still to come (a future) is
        written when it comes."""
        staged, self._staged = self._staged, []
        answers = [_Front._answer(request, body) for _, request, body in staged]
        for (connection, request, _), answer in zip(staged, answers, strict=True):
            if isinstance(answer, asyncio.Future):
                answer.add_done_callback(partial(_deliver_later, connection, request))
            else:
                _deliver(connection, request, answer)

    def aiohttp_protocol(self) -> asyncio.Protocol | None:
        server = self._runner.server
        return None if server is None else cast(asyncio.Protocol, server())

    async def start(self) -> None:
        await super().start()
        loop = self._loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Front(self), self._host, self._port, backlog=self._backlog
        )
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        await super().stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._connections):
            connection.close()

    async def _sweep(self) -> None:
        """Closes keep-alive connections idle for ``KEEPALIVE_S``."""
        while True:
            await asyncio.sleep(SWEEP_S)
            now = time.monotonic()
            for connection in list(self._connections):
                if connection.idle_for(now) >= KEEPALIVE_S:
                    connection.close()
