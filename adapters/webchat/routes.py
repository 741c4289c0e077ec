"""The web chat's HTTP surface, all under ``/webchat``.

- ``GET /webchat/``: the chat page (its script and style under ``/webchat/static/``);
  ``GET /webchat/embed.js``: a launcher button and the page in a frame, for any site listed
  in ``CARELINE_WEBCHAT_ORIGINS`` (``<script src=".../webchat/embed.js" defer></script>``).
- ``POST /webchat/api/visitors``: a new visitor's token (``201 {"token": …}``); careline
  greets them in their stream.
- ``POST /webchat/api/messages`` (``Authorization: Bearer <token>``, JSON
  ``{"id", "text"}`` or ``{"id", "button", "lang"}``): ``202`` once careline has the message
  (an emergency's reply is already in the stream by then). The id is the page's own; a
  message sent again with the same id counts once.
- ``GET /webchat/api/stream`` (``Authorization``, ``Last-Event-ID``): server-sent events,
  ``message`` (careline's replies, in order, from the entry after the last one seen) and
  ``typing``.

The API faces the open internet. Every request is counted against its network address, and
messages against their visitor (``limits``, in Redis, so every replica counts together):
over either, ``429`` with ``Retry-After``. A request from a page on another site is answered
only when that site is listed (CORS); otherwise ``403``. Bodies are JSON and bounded
(``400`` malformed, ``413`` too long, ``415`` not JSON); an unknown token is ``401`` (the page
starts a new visitor). When careline cannot take a message (Redis unreachable, shutting down)
the answer is ``503`` with ``Retry-After``, and the page keeps the message and sends it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from functools import cache
from html import escape as html_escape
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis.exceptions
from aiohttp import web

import prompts
from adapters.base import TYPED_COMMANDS, NotAccepted
from adapters.webchat.spec import NAME
from bot.models import ButtonId, EventName, Inbound, InboundKind
from bot.ratelimit import ConversationLimiter

if TYPE_CHECKING:
    from adapters.webchat.channel import WebChatChannel

log = logging.getLogger(__name__)

PREFIX = "/webchat"
API = f"{PREFIX}/api"
STATIC = {"chat.js": "application/javascript", "chat.css": "text/css"}
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EVENT_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
BUTTONS = frozenset(b.value for b in ButtonId)
KEEPALIVE_S = 15.0
RETRY_MS = 3000
STREAMS_PER_VISITOR = 4
STREAMS_PER_PROCESS = 5000
READ_BATCH = 50
BUSY_RETRY_S = 5
UNAVAILABLE = (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text("utf-8")


@cache
def _file(name: str) -> str:
    """A static file's text, read once."""
    return _static(name)


def _page(lang: str, fields: dict[str, str]) -> str:
    """The page in a language, its text filled in (the hospital's name, its numbers)."""
    labels = {k: v.format_map(fields) for k, v in prompts.labels("webchat_page", lang).items()}
    # Inside <script type="application/json">: no "</script>" may appear.
    data = json.dumps(labels, ensure_ascii=False).replace("<", "\\u003c")
    html = _static("index.html").replace("{{lang}}", lang).replace("{{labels}}", data)
    return html.replace("{{title}}", html_escape(labels["title"]))


def _error(
    status: int, message: str, cors: dict[str, str], code: str = "", retry_s: int | None = None
) -> web.Response:
    body = {"error": message} | ({"code": code} if code else {})
    headers = cors | ({"Retry-After": str(retry_s)} if retry_s is not None else {})
    return web.json_response(body, status=status, headers=headers)


def _busy(cors: dict[str, str], message: str = "cannot take this now; try again") -> web.Response:
    return _error(503, message, cors, "busy", BUSY_RETRY_S)


def _language(request: web.Request) -> str:
    chosen = request.query.get("lang", "")
    if chosen in prompts.LANGUAGES:
        return chosen
    first = request.headers.get("Accept-Language", "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


class WebChatRoutes:
    def __init__(self, channel: WebChatChannel) -> None:
        self.channel = channel
        self.cfg = channel.cfg
        self._limiters: dict[str, ConversationLimiter] = {}
        fields = channel.settings.hospital.template_fields()
        self._pages = {lang: _page(lang, fields) for lang in prompts.LANGUAGES}
        frame = " ".join(["'self'", *sorted(self.cfg.origins)])
        self._page_headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                f"img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                f"frame-ancestors {frame}"
            ),
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(PREFIX, self.to_page),
            web.get(f"{PREFIX}/", self.page),
            web.get(f"{PREFIX}/static/{{name}}", self.static),
            web.get(f"{PREFIX}/embed.js", self.embed),
            web.options(f"{API}/{{name}}", self.preflight),
            web.post(f"{API}/visitors", self._api(self.new_visitor)),
            web.post(f"{API}/messages", self._api(self.message)),
            web.get(f"{API}/stream", self._api(self.stream)),
        ]

    # ------------------------------------------------------------------ the page

    async def to_page(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"{PREFIX}/" + (f"?{request.query_string}" if request.query else ""))

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=self._pages[_language(request)], headers=self._page_headers)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(
            text=_file(name),
            headers={
                "Content-Type": f"{STATIC[name]}; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def embed(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            text=_file("embed.js"),
            headers={
                "Content-Type": "application/javascript; charset=utf-8",
                "Cache-Control": "max-age=300",
                "X-Content-Type-Options": "nosniff",
            },
        )

    # ------------------------------------------------------------------ guards

    def _cors(self, request: web.Request) -> dict[str, str] | None:
        """Headers for a request's origin: none for the page's own site, CORS headers for a
        listed site, None (refuse) for any other."""
        origin = request.headers.get("Origin")
        if origin is None or urlsplit(origin).netloc.lower() == request.host.lower():
            return {}
        if origin.lower() in self.cfg.origins:
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Expose-Headers": "Retry-After",
                "Vary": "Origin",
            }
        return None

    def _address(self, request: web.Request) -> str:
        if self.cfg.webchat_forwarded_for:
            hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
            if hops[-1]:
                return hops[-1]
        return request.remote or "unknown"

    def _limiter(self, kind: str, rate: str) -> ConversationLimiter:
        found = self._limiters.get(kind)
        if found is None:
            context = self.channel.context
            assert context is not None
            prefix = f"{context.settings.redis_prefix}:webchat:{kind}"
            found = self._limiters[kind] = ConversationLimiter(context.redis, prefix, rate)
        return found

    async def _over(
        self, kind: str, rate: str, who: str, cors: dict[str, str]
    ) -> web.Response | None:
        """None when ``who`` is within the rate; otherwise the 429 to answer."""
        limiter = self._limiter(kind, rate)
        if await limiter.allow(who):
            return None
        wait = limiter.rate.get_expiry()
        return _error(429, "too many requests; wait a moment", cors, "rate", wait)

    def _api(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            cors = self._cors(request)
            if cors is None:
                return _error(403, "this site may not use the chat", {}, "origin")
            if self.channel.context is None or self.channel.closing:
                return _busy(cors, "starting or stopping; try again")
            try:
                over = await self._over(
                    "address", self.cfg.webchat_address_rate, self._address(request), cors
                )
                return over or await handler(request, cors)
            except UNAVAILABLE as exc:
                log.warning("web chat %s: Redis unavailable (%s)", request.path, type(exc).__name__)
                return _busy(cors)

        return guarded

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        cors = self._cors(request)
        if cors is None:
            return _error(403, "this site may not use the chat", {}, "origin")
        return web.Response(
            status=204,
            headers=cors
            | {
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID",
                "Access-Control-Max-Age": "600",
            },
        )

    async def _visitor(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        assert self.channel.store is not None
        return await self.channel.store.visitor(token.strip())

    async def _body(
        self, request: web.Request, cors: dict[str, str]
    ) -> dict[str, Any] | web.Response:
        if request.content_type != "application/json":
            return _error(415, "send JSON (Content-Type: application/json)", cors, "type")
        # A character takes at most 6 bytes in JSON (an escaped \\uXXXX), plus the fields.
        limit = self.cfg.webchat_max_message_chars * 6 + 1024
        if request.content_length is not None and request.content_length > limit:
            return _error(413, "message too long", cors, "too_long")
        raw = await request.read()
        if len(raw) > limit:
            return _error(413, "message too long", cors, "too_long")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body is not JSON", cors, "malformed")
        if not isinstance(body, dict):
            return _error(400, "the body is not a JSON object", cors, "malformed")
        return body

    # ------------------------------------------------------------------ the API

    async def new_visitor(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        over = await self._over(
            "new", self.cfg.webchat_new_visitor_rate, self._address(request), cors
        )
        if over is not None:
            return over
        context, store = self.channel.context, self.channel.store
        assert context is not None and store is not None
        token, vid = await store.new_visitor()
        greeting = Inbound(
            channel=NAME,
            conversation_id=vid,
            user_id=vid,
            message_id="welcome",
            kind=InboundKind.EVENT,
            text=EventName.SUBSCRIBE,
            language=_language(request),
        )
        try:
            await context.submit(greeting)
        except NotAccepted:
            return _busy(cors, "not accepted now; try again")
        return web.json_response({"token": token}, status=201, headers=cors)

    async def message(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        vid = await self._visitor(request)
        if vid is None:
            return _error(401, "unknown visitor; start again", cors, "visitor")
        body = await self._body(request, cors)
        if isinstance(body, web.Response):
            return body
        text, limit = body.get("text"), self.cfg.webchat_max_message_chars
        if isinstance(text, str) and len(text) > limit:
            return _error(413, f"message too long (at most {limit} characters)", cors, "too_long")
        inbound = self._inbound(vid, body)
        if isinstance(inbound, str):
            return _error(400, inbound, cors, "malformed")
        over = await self._over("visitor", self.cfg.webchat_visitor_rate, vid, cors)
        if over is not None:
            return over
        context, store = self.channel.context, self.channel.store
        assert context is not None and store is not None
        if not await store.first_time(vid, inbound.message_id):
            return web.json_response({"id": inbound.message_id, "repeat": True}, headers=cors)
        try:
            await context.submit(inbound)
        except NotAccepted:
            await store.unsee(vid, inbound.message_id)
            return _busy(cors, "not accepted now; try again")
        return web.json_response({"id": inbound.message_id}, status=202, headers=cors)

    def _inbound(self, vid: str, body: dict[str, Any]) -> Inbound | str:
        """The message a body stands for, or what is wrong with it."""
        message_id, text, button = body.get("id"), body.get("text"), body.get("button")
        if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
            return "id: 1 to 64 letters, digits, - or _"
        if (text is None) == (button is None):
            return "send either text or button"
        lang = body.get("lang")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                return "text: a non-empty string"
            button = TYPED_COMMANDS.get(text.strip().lower())
        if button is not None and button not in BUTTONS:
            return f"button: one of {', '.join(sorted(BUTTONS))}"
        return Inbound(
            channel=NAME,
            conversation_id=vid,
            user_id=vid,
            message_id=message_id,
            kind=InboundKind.BUTTON if button else InboundKind.TEXT,
            text=str(button or text),
            # A pressed button speaks the language of the page that showed it.
            language=lang if button and lang in prompts.LANGUAGES else None,
        )

    async def stream(self, request: web.Request, cors: dict[str, str]) -> web.StreamResponse:
        vid = await self._visitor(request)
        if vid is None:
            return _error(401, "unknown visitor; start again", cors, "visitor")
        after = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
        if not EVENT_ID.match(after):
            return _error(400, "Last-Event-ID: an id from this stream", cors, "malformed")
        channel, store = self.channel, self.channel.store
        assert store is not None
        if channel.streams_open(vid) >= STREAMS_PER_VISITOR:
            return _error(429, "too many open pages", cors, "streams", 30)
        if channel.streams_open() >= STREAMS_PER_PROCESS:
            return _error(503, "too busy; try again", cors, "busy", 30)
        response = web.StreamResponse(
            headers=cors
            | {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        with channel.waiting(vid) as waiter:
            await response.prepare(request)
            try:
                await response.write(f"retry: {RETRY_MS}\n\n".encode())
                while not waiter.ended:
                    waiter.news.clear()
                    entries = await store.read(vid, after, READ_BATCH)
                    for entry in entries:
                        after = entry.id
                        if entry.event:
                            data = json.dumps(entry.event, ensure_ascii=False)
                            await response.write(
                                f"id: {entry.id}\nevent: message\ndata: {data}\n\n".encode()
                            )
                    if len(entries) == READ_BATCH:
                        continue
                    if waiter.typing:
                        waiter.typing = False
                        await response.write(b"event: typing\ndata: {}\n\n")
                    try:
                        await asyncio.wait_for(waiter.news.wait(), KEEPALIVE_S)
                    except TimeoutError:
                        await response.write(b": ping\n\n")
            except (ConnectionError, *UNAVAILABLE) as exc:
                # The page went away, or Redis did: the page reconnects from its last entry.
                log.debug("web chat stream ended (%s)", type(exc).__name__)
        return response
