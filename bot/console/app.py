"""The staff console: a small web app under ``/console`` on ``careline serve``.

JSON API under ``/console/api`` and a page of plain HTML/JS/CSS (no build step). Every API
call needs a session cookie (401 without one); every change also needs the session's CSRF
token in ``X-CSRF-Token`` (403 without it). Patient text is shown masked; revealing it is
audited. Replies go to the patient through their own channel's sender.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from adapters import registry
from bot.audit import AuditLog
from bot.config import Settings
from bot.console.chats import JSON_HEADERS, ChatRoutes, api_error, as_json
from bot.console.events import EventHub
from bot.console.history import History
from bot.console.summary import SummaryStore
from bot.console.transcript import Transcript
from bot.console.worker import HandoffWorker
from bot.handoff import EventType, HandoffStore
from bot.runtime import RUNTIME, Runtime
from bot.staff import Session, StaffAccounts

log = logging.getLogger(__name__)

PREFIX = "/console"
COOKIE = "careline_session"
CSRF_HEADER = "X-CSRF-Token"
HEARTBEAT_S = 15.0
SSE_RETRY_MS = 2000
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
    ),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


class _Parts:
    """What the console uses once careline's runtime is up."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        redis = runtime.redis.client
        prefix = settings.redis_prefix
        self.runtime = runtime
        self.redis = redis
        self.store = HandoffStore(
            redis, prefix, settings.context_ttl_s, staff_idle_s=settings.handoff_staff_idle_s
        )
        self.accounts = StaffAccounts(redis, prefix)
        self.audit = AuditLog(redis, prefix)
        self.transcript = Transcript(redis, prefix, settings.context_turns, settings.context_ttl_s)
        self.summaries = SummaryStore(redis, prefix, settings.context_ttl_s)
        self.history = History(redis, prefix, settings.transcript_retention_days)
        self.hub = EventHub(redis, self.store)
        self.worker = HandoffWorker(
            settings,
            self.store,
            self.transcript,
            self.summaries,
            runtime.llm,
            runtime.senders,
            self.history,
            alerts=registry.staff_alerts(settings, runtime.senders),
        )
        self.cipher = runtime.dispatcher.cipher
        self.vault_key = runtime.dispatcher.context.vault_key


class StaffConsole:
    """Routes, live events and timers of the console; ``CONSOLE`` finds it in the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._parts: _Parts | None = None
        self.chats = ChatRoutes(self)

    # ------------------------------------------------------------ lifecycle

    @property
    def parts(self) -> _Parts:
        if self._parts is None:
            raise api_error(web.HTTPServiceUnavailable, "the console is starting")
        return self._parts

    async def start(self, runtime: Runtime) -> None:
        parts = _Parts(self.settings, runtime)
        await parts.hub.start()
        parts.worker.start()
        self._parts = parts

    async def stop(self) -> None:
        parts, self._parts = self._parts, None
        if parts is not None:
            await parts.hub.stop()
            await parts.worker.stop()

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """Runs inside the server's lifecycle, after the runtime and channels are up."""
        await self.start(app[RUNTIME])
        app[CONSOLE] = self
        try:
            yield
        finally:
            await self.stop()

    @staticmethod
    async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
        """Every console response, aiohttp's own errors (404, 405, 413) included, is
        ``nosniff`` and never cached."""
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Cache-Control", "no-store")

    async def shutdown(self, app: web.Application) -> None:
        """End the open event streams, so the server's shutdown does not wait on them."""
        if self._parts is not None:
            self._parts.hub.end_streams()

    def routes(self) -> list[web.RouteDef]:
        api = f"{PREFIX}/api"
        chat = f"{api}/chats/{{conversation}}"
        chats = self.chats
        return [
            web.get(PREFIX, self.page),
            web.get(f"{PREFIX}/", self.page),
            web.get(f"{PREFIX}/static/{{name}}", self.static),
            web.post(f"{api}/login", self.login),
            web.post(f"{api}/logout", self._changing(self.logout)),
            web.get(f"{api}/me", self._reading(self.me)),
            web.get(f"{api}/events", self._reading(self.events)),
            web.get(f"{api}/queue", self._reading(chats.queue)),
            web.get(f"{api}/history", self._reading(chats.history)),
            web.get(f"{api}/staff", self._reading(chats.staff)),
            web.get(f"{api}/canned", self._reading(chats.canned)),
            web.get(chat, self._reading(chats.chat)),
            web.post(f"{chat}/reveal", self._changing(chats.reveal)),
            web.post(f"{chat}/claim", self._changing(chats.claim)),
            web.post(f"{chat}/assign", self._changing(chats.assign)),
            web.post(f"{chat}/reply", self._changing(chats.reply)),
            web.post(f"{chat}/notes", self._changing(chats.note)),
            web.post(f"{chat}/release", self._changing(self._release)),
            web.post(f"{chat}/close", self._changing(self._close)),
        ]

    async def _release(self, request: web.Request, session: Session) -> web.StreamResponse:
        return await self.chats.finish(request, session, "release")

    async def _close(self, request: web.Request, session: Session) -> web.StreamResponse:
        return await self.chats.finish(request, session, "close")

    # ------------------------------------------------------------- security

    async def _session(self, request: web.Request) -> Session:
        session = await self.parts.accounts.session(request.cookies.get(COOKIE))
        if session is None:
            raise api_error(web.HTTPUnauthorized, "log in first")
        return session

    def _reading(
        self, handler: Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
    ) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            return await handler(request, await self._session(request))

        return wrapped

    def _changing(
        self, handler: Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
    ) -> Handler:
        """A change needs the session and its CSRF token (the page sends it as a header)."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            session = await self._session(request)
            token = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(token.encode(), session.csrf.encode()):
                raise api_error(web.HTTPForbidden, "missing or wrong CSRF token")
            return await handler(request, session)

        return wrapped

    @staticmethod
    async def body(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise api_error(web.HTTPUnsupportedMediaType, "send application/json")
        try:
            body = await request.json()
        except ValueError:
            raise api_error(web.HTTPBadRequest, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise api_error(web.HTTPBadRequest, "the body must be a JSON object")
        return body

    # --------------------------------------------------------------- static

    async def page(self, request: web.Request) -> web.StreamResponse:
        return self._file("index.html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.Response:
        suffix = name[name.rfind(".") :] if "." in name else ""
        folder = resources.files(__package__).joinpath("static")
        if "/" in name or "\\" in name or name.startswith(".") or suffix not in STATIC_TYPES:
            raise web.HTTPNotFound()
        item = folder.joinpath(name)
        if not item.is_file():
            raise web.HTTPNotFound()
        return web.Response(
            body=item.read_bytes(),
            headers={**SECURITY_HEADERS, "Content-Type": STATIC_TYPES[suffix]},
        )

    # ---------------------------------------------------------------- login

    async def login(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            raise api_error(web.HTTPForbidden, "cross-site login refused")
        body = await self.body(request)
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise api_error(web.HTTPBadRequest, "name and password are required")
        accounts = self.parts.accounts
        address = request.remote or "?"
        if not await accounts.allow_attempt(name, address):
            await self.parts.audit.record(name[:64], "login_limited")
            raise api_error(web.HTTPTooManyRequests, "too many attempts; wait a minute")
        if not await accounts.verify(name, password):
            await self.parts.audit.record(name[:64], "login_failed")
            raise api_error(web.HTTPUnauthorized, "wrong name or password")
        token, session = await accounts.open_session(name)
        await self.parts.audit.record(name, "login")
        response = as_json(_who(session))
        response.set_cookie(
            COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=_secure(request),
        )
        return response

    async def logout(self, request: web.Request, session: Session) -> web.StreamResponse:
        await self.parts.accounts.close_session(session.token_hash, session.name)
        await self.parts.audit.record(session.name, "logout")
        response = as_json({"ok": True})
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    async def me(self, request: web.Request, session: Session) -> web.StreamResponse:
        return as_json(_who(session))

    # --------------------------------------------------------------- events

    async def events(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Server-sent events: one JSON object per change; the page refetches what changed."""
        parts = self.parts
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                **JSON_HEADERS,
                "X-Accel-Buffering": "no",
            }
        )
        token = request.cookies.get(COOKIE)
        async with parts.hub.subscribe() as queue:  # before "hello": no event falls between
            await response.prepare(request)
            await response.write(f"retry: {SSE_RETRY_MS}\n\n".encode())
            await response.write(b'data: {"event": "hello"}\n\n')
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    if await parts.accounts.session(token) is None:
                        break  # logged out or expired: the stream ends with the session
                    chunk = b": ping\n\n"
                else:
                    if event is None:
                        break
                    if event.get("event") == EventType.ACCOUNT_DISABLED:
                        if event.get("name") == session.name:
                            break  # this account was disabled: end at once, on every replica
                        continue
                    chunk = f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()
                try:
                    await response.write(chunk)
                except (ConnectionResetError, RuntimeError, OSError):
                    break  # the page went away (a closed tab): nothing to report
        return response


CONSOLE: web.AppKey[StaffConsole] = web.AppKey("console", StaffConsole)


def _who(session: Session) -> dict[str, Any]:
    """The signed-in staff member, and the channels' names as staff read them."""
    return {
        "name": session.name,
        "csrf": session.csrf,
        "role": session.role,
        "channels": registry.labels(),
    }
