"""No test reaches the real network: the guard in conftest.py refuses any host but this one."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from tests.netguard import RealNetworkUsed


def test_a_public_address_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(RealNetworkUsed):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed


async def test_a_library_resolving_a_public_name_is_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises((RealNetworkUsed, aiohttp.ClientError)) as raised:
            await session.get("https://api.telegram.org/")
    cause: BaseException | None = raised.value
    while cause is not None and not isinstance(cause, RealNetworkUsed):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, RealNetworkUsed)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
