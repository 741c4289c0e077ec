"""bot.front: fast answers for the requests it recognises, aiohttp for every other byte.

A small application with one fast route (``POST /fast``) and full aiohttp routes, served as
``careline serve`` serves (tests.support.served); requests are written on raw sockets so
that framing (pipelining, split writes, chunked bodies, bare line feeds) is exactly what
the test says."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from adapters.base import FastAnswer
from bot import front
from bot.front import FAST_ROUTES
from bot.server import MAX_BODY_BYTES
from tests.support import Served, eventually, served

READ_S = 10.0


@dataclass
class Fast:
    """The fast route's handler: answers ``fast:<body>`` unless told to decline or fail."""

    seen: list[tuple[str, bytes]] = field(default_factory=list)
    headers: list[Mapping[bytes, bytes]] = field(default_factory=list)
    decline: bool = False
    fail: bool = False
    later: list[asyncio.Future[bytes | None]] | None = None  # answers still to come

    def __call__(self, query: str, headers: Mapping[bytes, bytes], body: bytes) -> FastAnswer:
        self.seen.append((query, body))
        self.headers.append(headers)
        if self.fail:
            raise RuntimeError("handler failed")
        if self.later is not None:
            answer: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
            self.later.append(answer)
            return answer
        return None if self.decline else b"fast:" + body


@contextlib.asynccontextmanager
async def app_with(fast: Fast) -> AsyncIterator[Served]:
    async def full(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(text=f"full:{request.query.get('q', '')}:{body.decode()}")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/fast", full)
    app.router.add_get("/hello", hello)
    app[FAST_ROUTES] = {"/fast": fast}
    async with served(app) as server:
        yield server


class Raw:
    """One client connection; reads whole responses (Content-Length framed)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next final response (an interim ``100 Continue`` is passed over)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_S)
        while head.startswith(b"HTTP/1.1 100 "):
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_S)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), READ_S)
        return status, headers, body

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), READ_S) == b""

    def close(self) -> None:
        self.writer.close()


def post(path: str, body: bytes, *extra: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: t", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


GET_HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_a_fast_request_is_answered_by_its_handler_on_a_kept_alive_connection() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        for i in range(3):
            await conn.send(post(f"/fast?q={i}&sig=a%20b", f"body{i}".encode(), "X-Token:  s3 "))
            status, headers, body = await conn.response()
            assert (status, body) == (200, f"fast:body{i}".encode())
            assert headers["content-type"] == "text/plain; charset=utf-8"
            assert "date" in headers and headers.get("connection") != "close"
        conn.close()
    assert fast.seen == [(f"q={i}&sig=a%20b", f"body{i}".encode()) for i in range(3)]
    assert all(h[b"x-token"] == b"s3" and h[b"content-length"] == b"5" for h in fast.headers)


async def test_a_body_in_pieces_and_pipelined_requests() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        request = post("/fast?q=1", b"0123456789")
        for piece in (request[:7], request[7:40], request[40:-3], request[-3:]):
            await conn.send(piece)
            await asyncio.sleep(0.01)
        assert (await conn.response())[2] == b"fast:0123456789"
        # Three requests in one write: fast, full (GET), then a fast one that aiohttp now
        # answers, because the connection became aiohttp's at the GET.
        await conn.send(post("/fast", b"a") + GET_HELLO + post("/fast?q=z", b"c"))
        answers = [(await conn.response())[2] for _ in range(3)]
        conn.close()
    assert answers == [b"fast:a", b"hello", b"full:z:c"]
    assert [body for _, body in fast.seen] == [b"0123456789", b"a"]


async def test_requests_read_together_are_each_answered_on_their_own_connection() -> None:
    """Fast requests read in one pass of the event loop are answered together after it:
    each on its own connection, a connection's pipelined requests in order, a declined one
    (and the rest of its connection) by aiohttp, and a client that has gone away costs the
    others nothing."""

    class Choosy(Fast):
        def __call__(self, query: str, headers: Mapping[bytes, bytes], body: bytes) -> bytes | None:
            self.seen.append((query, body))
            return None if body.startswith(b"full") else b"fast:" + body

    fast = Choosy()
    async with app_with(fast) as server:
        conns = [await Raw.open(server.port) for _ in range(40)]
        gone = await Raw.open(server.port)
        gone.writer.write(post("/fast", b"gone"))
        gone.close()
        for i, conn in enumerate(conns):
            first = f"full{i}" if i % 5 == 0 else f"first{i}"
            conn.writer.write(post(f"/fast?q={i}", first.encode()) + post(f"/fast?q={i}", b"2"))
        answers = [[(await conn.response())[2] for _ in range(2)] for conn in conns]
        for conn in conns:
            conn.close()
    assert answers == [
        [f"full:{i}:full{i}".encode(), f"full:{i}:2".encode()]
        if i % 5 == 0
        else [f"fast:first{i}".encode(), b"fast:2"]
        for i in range(40)
    ]
    assert len(fast.seen) == 40 + 32 + 1  # each first request, the fast seconds, "gone"


@pytest.mark.parametrize("decline", [True, False])
async def test_a_declined_or_failed_request_takes_the_full_route(decline: bool) -> None:
    fast = Fast(decline=decline, fail=not decline)
    async with app_with(fast) as server:
        response = await server.client.post("/fast", params={"q": "x"}, data=b"payload")
        assert response.status == 200 and await response.text() == "full:x:payload"
        other = await server.client.get("/hello")
        assert await other.text() == "hello"
    assert fast.seen == [("q=x", b"payload")]


@pytest.mark.parametrize(
    "request_bytes",
    [
        # chunked body
        b"POST /fast?q=c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n",
        # HTTP/1.0
        b"POST /fast?q=c HTTP/1.0\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
        # Expect: 100-continue
        b"POST /fast?q=c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
        b"Content-Length: 3\r\n\r\nabc",
        # a space before the colon
        b"POST /fast?q=c HTTP/1.1\r\nHost : t\r\nContent-Length: 3\r\n\r\nabc",
    ],
    ids=["chunked", "http10", "expect", "odd-header"],
)
async def test_requests_outside_the_fast_shape_go_to_aiohttp_untouched(
    request_bytes: bytes,
) -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        await conn.send(request_bytes)
        status, _, body = await conn.response()
        conn.close()
    assert fast.seen == []
    # aiohttp either answers through the full route or refuses the request itself.
    assert (status, body) == (200, b"full:c:abc") or status == 400


async def test_duplicate_content_lengths_and_bare_line_feeds_are_aiohttps_to_judge() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        await conn.send(post("/fast", b"abc", "Content-Length: 3"))
        status, _, _ = await conn.response()
        conn.close()
        assert status == 400  # aiohttp refuses a repeated Content-Length
        conn = await Raw.open(server.port)
        await conn.send(b"POST /fast HTTP/1.1\nHost: t\nContent-Length: 3\n\nabc")
        status, _, _ = await conn.response()  # an answer, whichever aiohttp chooses
        conn.close()
    assert fast.seen == []


async def test_an_oversized_body_is_refused_by_aiohttp_with_413() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        big = b"x" * (MAX_BODY_BYTES + 1)
        response = await server.client.post("/fast", data=big)
        assert response.status == 413
    assert fast.seen == []


async def test_connection_close_is_honoured() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        await conn.send(post("/fast", b"bye", "Connection: close"))
        status, headers, body = await conn.response()
        assert (status, body, headers["connection"]) == (200, b"fast:bye", "close")
        assert await conn.closed()
        conn.close()


async def test_idle_connections_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(front, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(front, "SWEEP_S", 0.05)
    async with app_with(Fast()) as server:
        conn = await Raw.open(server.port)
        await conn.send(post("/fast", b"1"))
        await conn.response()
        assert await conn.closed()  # nothing more sent: the front hangs up
        conn.close()


async def test_shutdown_closes_the_fronts_connections() -> None:
    fast = Fast()
    async with app_with(fast) as server:
        conn = await Raw.open(server.port)
        await conn.send(post("/fast", b"1"))
        await conn.response()
    assert await conn.closed()
    conn.close()


async def test_a_client_that_stops_reading_loses_no_answer() -> None:
    """Thousands of pipelined requests from a client that reads nothing until it has sent
    them all: 20 MB of answers back up, the front stops reading meanwhile, and every answer
    arrives, in order."""
    count = 10_000
    big = b"y" * 2000

    class Big(Fast):
        def __call__(self, query: str, headers: Mapping[bytes, bytes], body: bytes) -> bytes:
            return big + body

    async with app_with(Big()) as server:
        conn = await Raw.open(server.port)
        requests = b"".join(post("/fast", str(i).encode()) for i in range(count))
        sending = asyncio.create_task(conn.send(requests))
        await asyncio.sleep(0.2)  # the answers fill the socket buffers meanwhile
        bodies = [(await conn.response())[2] for _ in range(count)]
        await asyncio.wait_for(sending, READ_S)
        conn.close()
    assert bodies == [big + str(i).encode() for i in range(count)]


async def test_an_answer_still_to_come_is_written_when_it_comes() -> None:
    """A handler may answer with a future (a delivery acknowledged once it is stored): the
    response waits for it; a future that says None gives the request to aiohttp."""
    fast = Fast(later=[])
    async with app_with(fast) as server:
        first, second = await Raw.open(server.port), await Raw.open(server.port)
        await first.send(post("/fast?q=1", b"a"))
        await second.send(post("/fast?q=2", b"b"))
        later = fast.later
        assert later is not None
        await eventually(lambda: len(later) == 2)
        of_second = [body for _, body in fast.seen].index(b"b")
        later[of_second].set_result(None)  # declined after all: aiohttp's route answers
        later[1 - of_second].set_result(b"stored")
        assert (await first.response())[2] == b"stored"
        assert (await second.response())[2] == b"full:2:b"
        first.close()
        second.close()
