"""The staff console: a small web app under ``/console`` on ``careline serve``.

JSON API under ``/console/api`` and a page of plain HTML/JS/CSS (no build step). Every API
call needs a session cookie (401 without one); every change also needs the session's CSRF
token in ``X-CSRF-Token`` (403 without it). Patient text is shown masked; revealing it is
audited. Replies go to the patient through their own channel's sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from importlib import resources
from typing import Any

from aiohttp import web

from bot.audit import AuditLog
from bot.config import Settings
from bot.console.events import EventHub
from bot.console.transcript import Line, Transcript
from bot.console.worker import HandoffWorker, render, split_conversation
from bot.handoff import HandoffState, HandoffStore, HeldChat, Outcome
from bot.models import Outbound, OutboundKind
from bot.runtime import Runtime
from bot.staff import Session, StaffAccounts
from bot.summary import SummaryStore
from safety.pii import mask

log = logging.getLogger(__name__)

PREFIX = "/console"
COOKIE = "careline_session"
CSRF_HEADER = "X-CSRF-Token"
MAX_REPLY_CHARS = 2000
MAX_CONVERSATION_CHARS = 256
FALLBACK_LINES = 3
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


def _error(cls: type[web.HTTPError], message: str) -> web.HTTPError:
    return cls(
        text=json.dumps({"error": message}),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


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
        self.hub = EventHub(redis, self.store)
        self.worker = HandoffWorker(
            settings, self.store, self.transcript, self.summaries, runtime.llm, runtime.senders
        )
        self.cipher = runtime.dispatcher.cipher
        self.vault_key = runtime.dispatcher.context.vault_key


class StaffConsole:
    """Routes, live events and timers of the console; ``CONSOLE`` finds it in the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._parts: _Parts | None = None
        self._streams: set[web.StreamResponse] = set()

    # ------------------------------------------------------------ lifecycle

    @property
    def parts(self) -> _Parts:
        if self._parts is None:
            raise _error(web.HTTPServiceUnavailable, "the console is starting")
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
        from bot.server import RUNTIME

        await self.start(app[RUNTIME])
        app[CONSOLE] = self
        try:
            yield
        finally:
            await self.stop()

    async def shutdown(self, app: web.Application) -> None:
        """End the open event streams, so the server's shutdown does not wait on them."""
        if self._parts is not None:
            self._parts.hub.end_streams()

    def routes(self) -> list[web.RouteDef]:
        api = f"{PREFIX}/api"
        chat = f"{api}/chats/{{conversation}}"
        return [
            web.get(PREFIX, self.page),
            web.get(f"{PREFIX}/", self.page),
            web.get(f"{PREFIX}/static/{{name}}", self.static),
            web.post(f"{api}/login", self.login),
            web.post(f"{api}/logout", self._changing(self.logout)),
            web.get(f"{api}/me", self._reading(self.me)),
            web.get(f"{api}/queue", self._reading(self.queue)),
            web.get(f"{api}/events", self._reading(self.events)),
            web.get(f"{api}/canned", self._reading(self.canned)),
            web.get(chat, self._reading(self.chat)),
            web.post(f"{chat}/reveal", self._changing(self.reveal)),
            web.post(f"{chat}/claim", self._changing(self.claim)),
            web.post(f"{chat}/reply", self._changing(self.reply)),
            web.post(f"{chat}/release", self._changing(self.release)),
            web.post(f"{chat}/close", self._changing(self.close)),
        ]

    # ------------------------------------------------------------- security

    async def _session(self, request: web.Request) -> Session:
        session = await self.parts.accounts.session(request.cookies.get(COOKIE))
        if session is None:
            raise _error(web.HTTPUnauthorized, "log in first")
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
                raise _error(web.HTTPForbidden, "missing or wrong CSRF token")
            return await handler(request, session)

        return wrapped

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise _error(web.HTTPUnsupportedMediaType, "send application/json")
        try:
            body = await request.json()
        except ValueError:
            raise _error(web.HTTPBadRequest, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise _error(web.HTTPBadRequest, "the body must be a JSON object")
        return body

    def _conversation(self, request: web.Request) -> str:
        conversation = request.match_info["conversation"]
        if len(conversation) > MAX_CONVERSATION_CHARS or split_conversation(conversation) is None:
            raise _error(web.HTTPNotFound, "no such conversation")
        return conversation

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
            raise _error(web.HTTPForbidden, "cross-site login refused")
        body = await self._body(request)
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise _error(web.HTTPBadRequest, "name and password are required")
        accounts = self.parts.accounts
        address = request.remote or "?"
        if not await accounts.allow_attempt(name, address):
            await self.parts.audit.record(name[:64], "login_limited")
            raise _error(web.HTTPTooManyRequests, "too many attempts; wait a minute")
        if not await accounts.verify(name, password):
            await self.parts.audit.record(name[:64], "login_failed")
            raise _error(web.HTTPUnauthorized, "wrong name or password")
        token, session = await accounts.open_session(name)
        await self.parts.audit.record(name, "login")
        response = _json({"name": session.name, "csrf": session.csrf})
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
        response = _json({"ok": True})
        response.del_cookie(COOKIE, path=PREFIX)
        return response

    async def me(self, request: web.Request, session: Session) -> web.StreamResponse:
        return _json({"name": session.name, "csrf": session.csrf})

    # ---------------------------------------------------------------- views

    def _chat_view(self, chat: HeldChat, now: float) -> dict[str, Any]:
        channel, _, _ = chat.conversation.partition(":")
        return {
            "conversation": chat.conversation,
            "channel": channel,
            "language": chat.lang,
            "state": chat.state.value,
            "reason": chat.reason,
            "category": chat.category,
            "level": chat.level,
            "emergency": chat.emergency,
            "since": chat.since,
            "waited_s": max(0, round(now - chat.since)),
            "claimed_by": chat.claimed_by,
            "timed_out": chat.timed_out,
        }

    async def queue(self, request: web.Request, session: Session) -> web.StreamResponse:
        parts = self.parts
        chats = await parts.store.held()
        summaries = await parts.summaries.load_many([c.conversation for c in chats])
        now = parts.store.clock()
        items = []
        for chat, summary in zip(chats, summaries, strict=True):
            view = self._chat_view(chat, now)
            view["summary"] = summary.paragraph(chat.lang or "en") if summary else None
            if summary is None:
                lines = await parts.transcript.read(chat.conversation)
                view["last_messages"] = [asdict(x) for x in lines[-FALLBACK_LINES:]]
            items.append(view)
        return _json({"chats": items, "me": session.name})

    async def chat(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self._conversation(request)
        parts = self.parts
        record = await parts.store.chat(conversation)
        lines = await parts.transcript.read(conversation)
        if record is None and not lines:
            raise _error(web.HTTPNotFound, "no such conversation")
        now = parts.store.clock()
        view: dict[str, Any] = (
            self._chat_view(record, now)
            if record
            else {"conversation": conversation, "state": HandoffState.BOT.value}
        )
        [summary] = await parts.summaries.load_many([conversation])
        view["summary"] = summary.model_dump() if summary else None
        view["transcript"] = [asdict(x) for x in lines]
        view["mine"] = record is not None and record.claimed_by == session.name
        return _json(view)

    async def canned(self, request: web.Request, session: Session) -> web.StreamResponse:
        lang = request.query.get("lang", "")
        lang = lang if lang in ("zh", "en") else self.settings.default_language
        text = render("staff_canned", lang, self.settings)
        return _json({"replies": [line.strip() for line in text.splitlines() if line.strip()]})

    async def reveal(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self._conversation(request)
        parts = self.parts
        blob = await parts.redis.get(parts.vault_key(conversation))
        vault = parts.cipher.open(blob if isinstance(blob, bytes) else None)
        lines = await parts.transcript.read(conversation)
        await parts.audit.record(
            session.name, "reveal", conversation, f"values={len(vault)}", parts.store.clock()
        )
        shown = [Line(x.role, vault.restore(x.text)) for x in lines]
        return _json({"transcript": [asdict(x) for x in shown]})

    # -------------------------------------------------------------- actions

    @staticmethod
    def _outcome(outcome: Outcome) -> None:
        if outcome is Outcome.TAKEN:
            raise _error(web.HTTPForbidden, "another staff member holds this chat")
        if outcome is Outcome.NOT_HELD:
            raise _error(web.HTTPConflict, "this chat is not waiting for staff or held by you")

    async def claim(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self._conversation(request)
        outcome = await self.parts.store.claim(conversation, session.name)
        if outcome is Outcome.TAKEN:
            raise _error(web.HTTPConflict, "another staff member claimed this chat first")
        self._outcome(outcome)
        return _json({"ok": True, "already": outcome is Outcome.ALREADY})

    async def reply(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self._conversation(request)
        body = await self._body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _error(web.HTTPBadRequest, "the reply is empty")
        text = text.strip()
        if len(text) > MAX_REPLY_CHARS:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_REPLY_CHARS,
                actual_size=len(text),
                text=json.dumps({"error": f"a reply has at most {MAX_REPLY_CHARS} characters"}),
                content_type="application/json",
            )
        parts = self.parts
        record = await parts.store.chat(conversation)
        lang = (record.lang if record else "") or self.settings.default_language
        self._outcome(await parts.store.touch(conversation, session.name, f"chars={len(text)}"))
        await self._deliver(conversation, text, lang, session.name)
        key = parts.vault_key(conversation)
        raw = await parts.redis.get(key)
        vault = parts.cipher.open(raw if isinstance(raw, bytes) else None)
        before = len(vault)
        masked = mask(text, vault, lang).text
        if len(vault) != before:
            await parts.redis.set(key, parts.cipher.seal(vault), ex=self.settings.context_ttl_s)
        await parts.transcript.add_staff(conversation, masked)
        return _json({"ok": True})

    async def _deliver(self, conversation: str, text: str, lang: str, actor: str) -> None:
        target = split_conversation(conversation)
        sender = self.parts.runtime.senders.get(target[0]) if target else None
        if target is None or sender is None:
            raise _error(web.HTTPBadGateway, "this chat's channel is not running here")
        out = Outbound(
            channel=target[0],
            conversation_id=target[1],
            text=text,
            kind=OutboundKind.HANDOFF,
            lang=lang,
        )
        try:
            await sender.send(out)
        except Exception as exc:
            log.error("staff message not delivered (%s)", type(exc).__name__)
            await self.parts.audit.record(actor, "staff_message_failed", conversation)
            raise _error(web.HTTPBadGateway, "the channel did not take the message") from None

    async def _finish(
        self, request: web.Request, session: Session, action: str, template: str
    ) -> web.StreamResponse:
        conversation = self._conversation(request)
        parts = self.parts
        record = await parts.store.chat(conversation)
        if action == "close":
            outcome = await parts.store.close(conversation, session.name)
        else:
            outcome = await parts.store.release_by(conversation, session.name)
        self._outcome(outcome)
        lang = (record.lang if record else "") or self.settings.default_language
        notice = render(template, lang, self.settings)
        with contextlib.suppress(web.HTTPBadGateway):  # state changed; no notice possible
            await self._deliver(conversation, notice, lang, session.name)
        return _json({"ok": True})

    async def release(self, request: web.Request, session: Session) -> web.StreamResponse:
        return await self._finish(request, session, "release", "handoff_released")

    async def close(self, request: web.Request, session: Session) -> web.StreamResponse:
        return await self._finish(request, session, "close", "handoff_closed")

    # --------------------------------------------------------------- events

    async def events(self, request: web.Request, session: Session) -> web.StreamResponse:
        """Server-sent events: one JSON object per change; the page refetches what changed."""
        parts = self.parts
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        await response.write(f"retry: {SSE_RETRY_MS}\n\n".encode())
        token = request.cookies.get(COOKIE)
        async with parts.hub.subscribe() as queue:
            await response.write(b'data: {"event": "hello"}\n\n')
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    if await parts.accounts.session(token) is None:
                        break  # logged out or disabled: the stream ends with the session
                    await response.write(b": ping\n\n")
                    continue
                if event is None:
                    break
                data = json.dumps(event, ensure_ascii=False)
                try:
                    await response.write(f"data: {data}\n\n".encode())
                except (ConnectionResetError, RuntimeError):
                    break
        return response


CONSOLE: web.AppKey[StaffConsole] = web.AppKey("console", StaffConsole)
