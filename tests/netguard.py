"""The refusal of any host but this machine, installed for every test by conftest.py."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest


class RealNetworkUsed(AssertionError):
    """A test tried to reach a host that is not this machine."""


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str) or host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # any other host name


def refuse_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolving or connecting to any host but this one raises RealNetworkUsed, whatever
    library tries it (aiohttp, httpx, redis-py all go through these)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            raise RealNetworkUsed(f"a test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return  # a socket file on this machine (the embedded Redis)
        host = address[0] if isinstance(address, tuple) else address
        if not is_loopback(host):
            raise RealNetworkUsed(f"a test tried to connect to {host!r}")

    def connect(self: socket.socket, address: Any) -> None:
        checked(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        checked(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
