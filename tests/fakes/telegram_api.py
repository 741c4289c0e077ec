"""A loopback fake of the Telegram Bot API (core.telegram.org/bots/api).

Speaks the documented wire format: ``/bot<token>/<method>`` over GET or POST with query
string, form, multipart or JSON parameters (values of object type arrive JSON-serialized);
answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"[,
"parameters": {"retry_after": N}]}``. Methods are case-insensitive, as in the real API.

It records every call, checks what careline depends on the way Telegram does (HTML parse
mode, the 4096-character limit after entity parsing, 1-64-byte callback data, a non-zero
draft id, HTTPS webhook URLs, getUpdates refused while a webhook is set), and can be told to
fail the next calls of a method (429 with ``retry_after``, any Bot API error) or to treat a
chat as having blocked the bot. After a 429, as Telegram does, it refuses every call to a
chat until ``retry_after`` has passed, and keeps those calls in ``early_calls``.

Run as a process: ``python -m tests.fakes.telegram_api --port 0 --token T``; the first
stdout line is its URL (the ``CARELINE_TELEGRAM_API_BASE``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import LOOPBACK, LoopbackFake, RecordedRequest, serve_until_signalled

DEFAULT_TOKEN = "123456:TEST-token_for-careline"
BOT_ID = 123456
BOT_USERNAME = "careline_test_bot"
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
UTF16_UNIT_BYTES = 2
RECHECK_S = 0.02
# Parameters whose values are JSON-serialized objects or arrays in a form-encoded request.
JSON_PARAMETERS = frozenset(
    {"reply_markup", "allowed_updates", "entities", "reply_parameters", "link_preview_options"}
)
# fmt: off
HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
})
# fmt: on
TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass(frozen=True)
class ApiCall:
    method: str  # as the API documents it, e.g. "sendMessage"
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # system-wide: comparable across processes


@dataclass
class ApiError(Exception):
    error_code: int
    description: str
    retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees after entity parsing; raises the Bot API's parse error."""
    if (parse_mode or "").upper() != "HTML":
        return text
    out: list[str] = []
    position = 0
    open_tags: list[str] = []
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = TAG.match(text, position)
            if tag is None or tag.group(2) not in HTML_TAGS:
                offset = len(text[:position].encode())
                name = tag.group(2) if tag else text[position + 1 : position + 8]
                raise ApiError(
                    400,
                    "Bad Request: can't parse entities: "
                    f'Unsupported start tag "{name}" at byte offset {offset}',
                )
            if tag.group(1):
                if not open_tags or open_tags.pop() != tag.group(2):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse entities: "
                        f"Unexpected end tag at byte offset {len(text[:position].encode())}",
                    )
            else:
                open_tags.append(tag.group(2))
            position = tag.end()
        elif char == "&":
            entity = ENTITY.match(text, position)
            end = entity.end() if entity else position + 1
            out.append(html.unescape(text[position:end]))
            position = end
        else:
            out.append(char)
            position += 1
    if open_tags:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag")
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // UTF16_UNIT_BYTES


@dataclass
class FakeTelegramAPI(LoopbackFake):
    token: str = DEFAULT_TOKEN
    calls: list[ApiCall] = field(default_factory=list, init=False)
    blocked: set[int] = field(default_factory=set)
    """Chats whose user has blocked the bot: sending there is 403 Forbidden."""
    webhook: dict[str, Any] = field(default_factory=dict, init=False)
    """What setWebhook registered (url, secret_token, allowed_updates...)."""
    early_calls: list[ApiCall] = field(default_factory=list, init=False)
    """Calls to a chat that came before the ``retry_after`` of a 429 had passed."""

    _failures: dict[str, list[ApiError]] = field(default_factory=dict, init=False, repr=False)
    _updates: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    _changed: asyncio.Event | None = field(default=None, init=False, repr=False)
    _next_message_id: int = field(default=1000, init=False, repr=False)
    _flood_until: float = field(default=0.0, init=False, repr=False)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._call)
        app.router.add_get("/_fake/calls", self._debug_calls)

    async def _debug_calls(self, request: web.Request) -> web.Response:
        """Process mode: the calls from index ``since`` on, with their monotonic times."""
        since = int(request.query.get("since", "0"))
        return web.json_response(
            [{"method": c.method, "params": c.params, "at": c.at} for c in self.calls[since:]]
        )

    async def close(self) -> None:
        self._closing.set()
        self._notify()  # long polls end now
        await super().close()

    # -- what tests do ------------------------------------------------------------------

    def fail_next(self, method: str, error: ApiError, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get ``error``."""
        self._failures.setdefault(method.lower(), []).extend([error] * times)

    def push_update(self, update: dict[str, Any]) -> None:
        """An update for getUpdates (polling) to deliver."""
        self._updates.append(update)
        self._notify()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for(self, check: Callable[[], bool], deadline_s: float = 10.0) -> None:
        """Wait until ``check()`` holds; TimeoutError names the calls seen so far.

        Checked again after every API call, and every ``RECHECK_S`` for conditions on other
        things (a fake model's counters, Redis)."""
        try:
            async with asyncio.timeout(deadline_s):
                while not check():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._event().wait(), RECHECK_S)
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise TimeoutError(f"condition not met; calls so far: {seen}") from None

    # -- the API ------------------------------------------------------------------------

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        """Wake every waiter; each looks at its condition again."""
        self._event().set()
        self._changed = asyncio.Event()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else "<file>"
        for key in JSON_PARAMETERS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params

    async def _call(self, request: web.Request) -> web.Response:
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            return web.json_response(
                ApiError(400, "Bad Request: invalid request").body(), status=400
            )
        method = request.match_info["method"]
        self.requests.append(RecordedRequest(request.method, f"/bot…/{method}", {}, params))
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        with self.counting():
            try:
                call = ApiCall(_canonical(method), params)
                if method.lower() != "getupdates":
                    self.calls.append(call)
                    self._notify()
                self._check_flood_control(call)
                queued = self._failures.get(method.lower())
                if queued:
                    error = queued.pop(0)
                    if error.retry_after is not None:
                        self._flood_until = time.monotonic() + error.retry_after
                    raise error
                await self.pause(self.delay)
                result = await handler(params)
            except ApiError as error:
                return web.json_response(error.body(), status=error.error_code)
        return web.json_response({"ok": True, "result": result})

    def _check_flood_control(self, call: ApiCall) -> None:
        """Within the ``retry_after`` of a 429, a call to a chat is refused again."""
        left = self._flood_until - time.monotonic()
        if "chat_id" in call.params and left > 0:
            self.early_calls.append(call)
            raise too_many_requests(math.ceil(left))

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "careline test",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self._bot_user()

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> int:
        try:
            return int(params["chat_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat_id is empty") from None

    def _check_markup(self, params: dict[str, Any]) -> None:
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        text = visible_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_markup(params)
        self._next_message_id += 1
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "from": self._bot_user(),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _m_sendmessagedraft(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if chat_id <= 0:
            raise ApiError(400, "Bad Request: chat not found")  # drafts: private chats only
        if int(params.get("draft_id") or 0) == 0:
            raise ApiError(400, "Bad Request: draft_id must be non-zero")
        text = visible_text(str(params.get("text") or ""), params.get("parse_mode"))
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return True

    async def _m_sendchataction(self, params: dict[str, Any]) -> Any:
        self._chat_id(params)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(params) if url else {}
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "allowed_updates": self.webhook.get("allowed_updates", []),
        }

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            raise ApiError(409, CONFLICT)
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while not self._updates and not self._closing.is_set():
                        await self._event().wait()
        return list(self._updates)


def _canonical(method: str) -> str:
    """Bot API methods are case-insensitive; record them in their documented spelling."""
    known = {
        "sendmessage": "sendMessage",
        "sendmessagedraft": "sendMessageDraft",
        "sendchataction": "sendChatAction",
        "answercallbackquery": "answerCallbackQuery",
        "setwebhook": "setWebhook",
        "deletewebhook": "deleteWebhook",
        "getwebhookinfo": "getWebhookInfo",
        "getupdates": "getUpdates",
        "getme": "getMe",
    }
    return known.get(method.lower(), method)


# ------------------------------------------------------------------------------------
# What Telegram sends: Update JSON as documented (core.telegram.org/bots/api#update). Field
# names, nesting and types follow the documentation; ids are made up. Each function returns a
# fresh dict, ready for a webhook body, ``Update.de_json`` or ``push_update`` (getUpdates).

_update_ids = itertools.count(700_000_000)
_message_ids = itertools.count(10)

PATIENT_ID = 555_000_111
GROUP_ID = -1_001_234_567_890


def next_update_id() -> int:
    return next(_update_ids)


def user(user_id: int = PATIENT_ID, language_code: str | None = "en") -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Alex"}
    if language_code is not None:
        found["language_code"] = language_code
    return found


def chat(chat_id: int = PATIENT_ID) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "first_name": "Alex", "type": "private"}
    return {"id": chat_id, "title": "Ward 3 family group", "type": "supergroup"}


def message(
    text: str | None = None,
    *,
    chat_id: int = PATIENT_ID,
    user_id: int = PATIENT_ID,
    language_code: str | None = "en",
    message_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": user(user_id, language_code),
        "chat": chat(chat_id),
        "date": int(time.time()),
    }
    if text is not None:
        found["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            found["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    found.update(content)
    return found


def text_update(text: str, **kwargs: Any) -> dict[str, Any]:
    return {"update_id": next_update_id(), "message": message(text, **kwargs)}


def edited_update(original: dict[str, Any], new_text: str) -> dict[str, Any]:
    edited = dict(original["message"], text=new_text, edit_date=int(time.time()) + 5)
    return {"update_id": next_update_id(), "edited_message": edited}


def photo_update(caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
    sizes = [
        {"file_id": "AgACAgIAAxkBAAI", "file_unique_id": "AQADsmall", "width": 90, "height": 67},
        {"file_id": "AgACAgIAAxkBAAJ", "file_unique_id": "AQADlarge", "width": 1280, "height": 960},
    ]
    content: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    return {"update_id": next_update_id(), "message": message(None, **content, **kwargs)}


def voice_update(**kwargs: Any) -> dict[str, Any]:
    voice = {
        "file_id": "AwACAgIAAxkBAAIB",
        "file_unique_id": "AgADvoice",
        "duration": 4,
        "mime_type": "audio/ogg",
    }
    return {"update_id": next_update_id(), "message": message(None, voice=voice, **kwargs)}


def sticker_update(**kwargs: Any) -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAIC",
        "file_unique_id": "AgADsticker",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    return {"update_id": next_update_id(), "message": message(None, sticker=sticker, **kwargs)}


def callback_update(
    data: str,
    *,
    chat_id: int = PATIENT_ID,
    user_id: int = PATIENT_ID,
    language_code: str | None = "en",
) -> dict[str, Any]:
    shown = {
        "message_id": next(_message_ids),
        "from": {"id": 123456, "is_bot": True, "first_name": "careline test"},
        "chat": chat(chat_id),
        "date": int(time.time()),
        "text": "An earlier answer",
    }
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": str(4_382_000_000_000_000_000 + next(_message_ids)),
            "from": user(user_id, language_code),
            "message": shown,
            "chat_instance": "-8123456789012345678",
            "data": data,
        },
    }


def blocked_update(user_id: int = PATIENT_ID) -> dict[str, Any]:
    """my_chat_member: the patient blocked the bot (status "kicked")."""
    now = int(time.time())
    bot = {"id": 123456, "is_bot": True, "first_name": "careline test"}
    return {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": chat(user_id),
            "from": user(user_id),
            "date": now,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        },
    }


def reaction_update(user_id: int = PATIENT_ID) -> dict[str, Any]:
    """An update careline does not act on (no message at all): a reaction to a message."""
    return {
        "update_id": next_update_id(),
        "message_reaction": {
            "chat": chat(user_id),
            "message_id": next(_message_ids),
            "user": user(user_id),
            "date": int(time.time()),
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="A loopback fake of the Telegram Bot API.")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(sys.argv[1:])
    fake = FakeTelegramAPI(host=args.host, port=args.port, token=args.token, delay=args.delay)
    asyncio.run(serve_until_signalled(fake))


if __name__ == "__main__":
    main()
