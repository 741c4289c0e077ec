"""The channel contract: what a messaging channel offers careline, and what careline gives it.

A channel is a package ``adapters/<name>/`` whose ``spec.py`` declares a ``ChannelSpec``:
its name, its settings model (``CARELINE_<NAME>_*``), whether those settings enable it, how
to make its adapter, the longest answer it shows, and an optional command-line plug-in.
``adapters/registry.py`` lists the specs; the server and the command line iterate it.

The adapter turns platform payloads into ``Inbound`` messages (handing each to
``ChannelContext.submit``) and renders ``Outbound`` ones as platform calls (``send``). Its
webhook routes are added when the server is built; ``start`` runs once careline's runtime is
up. At shutdown ``drain`` comes first, while the pipeline still accepts messages (a channel
that acknowledged a delivery before handing it on hands it on now), then the pipeline
finishes, then ``stop``.

Optional capabilities are Protocols the dispatcher checks with ``isinstance``: ``Typing``,
``Drafts``, ``NoReply``; and one the server checks: ``Streams`` (a channel holding responses
open, told to end them when the server stops taking requests). A spec may also offer
``StaffAlerts`` (the staff group's chat on the same platform), which the handoff worker uses
for emergencies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar, runtime_checkable

import redis.asyncio as aioredis
from aiohttp import web

from bot.config import ChannelSettings, Settings
from bot.models import ButtonId, Inbound, Outbound

# Longest answer body, before the disclaimer, for a channel that does not say.
DEFAULT_MAX_REPLY_CHARS = 2000

# What a patient may type instead of pressing a button, on channels where typing is the way
# (the welcome text names the slash forms).
TYPED_COMMANDS = {
    "/human": ButtonId.HUMAN,
    "/numbers": ButtonId.EMERGENCY_NUMBERS,
    "/forget": ButtonId.FORGET,
    "转人工": ButtonId.HUMAN,
    "删除记录": ButtonId.FORGET,
}

FastAnswer: TypeAlias = bytes | asyncio.Future[bytes | None] | None
FastHandler = Callable[[str, Mapping[bytes, bytes], bytes], FastAnswer]
"""Given a POST's query string, headers (lowercase names) and body: the body of a ``200
text/plain`` answer, or None to give the request to aiohttp's full route (bot.front), or a
future of either (the answer waits for it: a delivery acknowledged once it is stored). Runs
inside the event loop's read callback: it must not block and must not raise (an exception is
logged by type and treated as None)."""


class NotAccepted(RuntimeError):
    """``submit`` did not accept the message: the channel must not acknowledge its delivery
    (the platform delivers it again, perhaps to another replica)."""


class DispatcherClosed(NotAccepted):
    """``submit`` after the pipeline began to shut down."""


class IntakeUnavailable(NotAccepted):
    """The intake stream could not store the message (Redis unavailable)."""


class Undelivered(Exception):
    """A channel's platform would not take a reply; the chat is already in front of staff.
    ``reason`` is the staff queue's reason (``telegram_blocked``, ``wechat_quota``, …), also
    the send-error metric's label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ChannelContext:
    settings: Settings
    redis: aioredis.Redis
    submit: Callable[[Inbound], Awaitable[None]]
    """Hands a message to the pipeline: returns once it is stored in the intake stream (an
    emergency: once its reply is sent; that needs no Redis). Raises ``NotAccepted`` when it
    was not accepted (shutting down, Redis unavailable): do not acknowledge the delivery."""
    submit_first: Callable[[Sequence[tuple[Inbound, str]]], Awaitable[list[int]]]
    """Hands on deliveries that a platform may repeat, each with the Redis key counting its
    deliveries, in one round trip: a message is stored only at its first delivery (the same
    script counts and stores it, so a counted delivery is a stored one). Returns each one's
    delivery count. Not for emergencies (``answers_at_intake``). Raises ``NotAccepted``."""
    escalate: Callable[[str, str], Awaitable[None]]
    """Puts a conversation (its key, ``<channel>:<id>``) in front of staff, with a reason;
    for what only the channel knows (a platform refusing to deliver). Never raises."""
    held_by_staff: Callable[[str], Awaitable[bool]]
    """Whether a conversation is waiting for or held by staff."""
    answers_at_intake: Callable[[Inbound], bool]
    """Whether ``submit`` will answer this message before it returns (an emergency: its
    reply needs no model); also True for a message too long to read on the event loop, which
    ``submit`` reads in a thread (so it is handed on with ``submit``, as an emergency would
    be). Channels that acknowledge deliveries before handing them on use it to keep such
    replies in the acknowledgement. Cheap and pure: no I/O."""


class Sender(Protocol):
    """A channel's way out: what the dispatcher and the handoff worker need of a channel."""

    async def send(self, out: Outbound) -> None:
        """Deliver ``out``; raise ``Undelivered`` when the platform would not take it (after
        putting the chat in front of staff), anything else when it could not be tried."""
        ...


class ChannelAdapter(Sender, Protocol):
    channel: str
    """Its spec's name."""

    def routes(self) -> Sequence[web.AbstractRouteDef]: ...

    def fast_routes(self) -> Mapping[str, FastHandler]:
        """POST routes the server's front may answer without aiohttp (see bot.front)."""
        ...

    async def start(self, context: ChannelContext) -> None: ...

    async def drain(self) -> None:
        """Hand on everything already acknowledged; called before the pipeline closes."""
        ...

    async def stop(self) -> None: ...


@runtime_checkable
class Typing(Protocol):
    async def typing(self, msg: Inbound) -> None:
        """Show that an answer is being written."""
        ...


@runtime_checkable
class Drafts(Protocol):
    async def draft(self, msg: Inbound, text: str) -> None:
        """Show the answer so far (asked only for messages whose ``extras`` carry
        ``EXTRA_DRAFTS``; the text is guarded and unmasked)."""
        ...


@runtime_checkable
class NoReply(Protocol):
    async def no_reply(self, msg: Inbound) -> None:
        """careline has finished with the message and sends nothing in answer to it (a repeat
        over the rate limit, an answer withheld after an emergency): a channel holding the
        delivery open for the answer can stop waiting."""
        ...


@runtime_checkable
class Streams(Protocol):
    def end_streams(self) -> None:
        """The server is shutting down: end the responses held open (event streams), so
        that its shutdown does not wait on them. Called before ``drain``."""
        ...


class StaffAlerts(Protocol):
    """Where a channel's platform also carries the staff's own group chat."""

    async def alert_staff(self, text: str) -> bool:
        """Post a staff alert (labels and times, never patient text); False when the
        platform refused it or could not be reached (logged, never raised)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class OffersStaffAlerts(Protocol):
    """A running channel whose own platform client (and its rate limiter) can carry staff
    alerts: preferred over a second client made from the spec."""

    def staff_alerts(self) -> StaffAlerts | None: ...


S = TypeVar("S", bound=ChannelSettings)


@dataclass(frozen=True)
class ChannelSpec(Generic[S]):
    """A channel as careline knows it before it is made."""

    name: str
    """The channel's name in conversation keys (``wechat:<openid>``); never changes."""
    label: str
    """What staff read in the console ("WeChat")."""
    settings: type[S]
    """Its settings model; the variables are ``CARELINE_<NAME>_*``."""
    enabled: Callable[[S], bool]
    """Whether these settings switch the channel on (its credentials are set)."""
    make: Callable[[Settings, S], ChannelAdapter]
    """The adapter; imports the platform's library only when called."""
    max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS
    """Longest answer body before the disclaimer; the channel splits further if it must."""
    rate_limited: bool = True
    """Whether patients' messages count against CARELINE_RATE_LIMIT (not the terminal's)."""
    cli: str | None = None
    """A module with ``register_cli(subparsers)`` adding the channel's commands."""
    library_loggers: tuple[str, ...] = ()
    """Loggers of the platform's library that are chatty at INFO: kept at WARNING."""
    problems: Callable[[S], list[str]] | None = None
    """Set-up problems ``careline check`` reports (one sentence each, what to do)."""
    staff_alerts: Callable[[Settings, S], StaffAlerts | None] | None = None
    """Staff alerts through this platform, when its settings name a staff chat."""

    def load(self, settings: Settings) -> S:
        return settings.channel(self.settings)

    def is_enabled(self, settings: Settings) -> bool:
        return self.enabled(self.load(settings))

    def adapter(self, settings: Settings) -> ChannelAdapter:
        return self.make(settings, self.load(settings))

    def check(self, settings: Settings) -> list[str]:
        return self.problems(self.load(settings)) if self.problems is not None else []

    def alerts(self, settings: Settings) -> StaffAlerts | None:
        if self.staff_alerts is None:
            return None
        return self.staff_alerts(settings, self.load(settings))


AnySpec = ChannelSpec[Any]
