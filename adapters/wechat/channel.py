"""The WeChat Official Account channel: webhook in, customer-service API or passive reply out.

Receiving (``/wechat``): the signature is checked in constant time before anything else;
compatible and safe (AES) modes are decrypted with wechatpy's ``WeChatCrypto`` and replies
are encrypted when the request was. WeChat delivers a message up to three times (5 s apart
when unanswered); a counter in Redis makes the first delivery, on any replica, the only one
handed to the pipeline.

Answering, by ``CARELINE_WECHAT_REPLY_MODE``:

- ``active`` (verified service accounts): the webhook answers ``success`` at once and the
  answer goes out through the customer-service API, with handoff choices as a ``msgmenu``.
- ``passive`` (subscription accounts): each delivery waits for the answer (up to
  ``CARELINE_WECHAT_PASSIVE_WAIT_S``), which ``send`` stores in Redis under the message it
  answers and announces on a pub/sub channel, so a retry landing on another replica returns
  the same answer. An early delivery that times out keeps the connection open until WeChat
  hangs up (that is what makes WeChat retry); the last one says the answer is being
  prepared, and the answer is carried with the patient's next message. When careline will
  not answer at all (``no_reply``), the delivery says ``success`` at once.

In both modes a reply produced while ``submit`` runs (an emergency: it needs no model) is
returned in the webhook response of the first delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Coroutine, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import redis.exceptions
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage
from wechatpy.replies import TextReply, TransferCustomerServiceReply

from adapters.base import ChannelContext, DispatcherClosed, FastHandler
from adapters.wechat.api import (
    QuotaExceeded,
    TokenManager,
    TypingCommand,
    Unavailable,
    WeChatAPI,
    WeChatAPIError,
)
from adapters.wechat.settings import WeChatSettings
from adapters.wechat.spec import NAME
from adapters.wechat.store import StoredReply, WeChatStore
from adapters.wechat.text import (
    TEXT_LIMIT_BYTES,
    keyword_button,
    render,
    split_text,
    utf8_len,
    with_typed_choices,
)
from bot.aio import stop_tasks
from bot.config import Settings
from bot.models import (
    ButtonId,
    EventName,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
    conversation_key,
    conversation_tag,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/wechat"
SUCCESS = "success"  # tells WeChat "handled, do not retry"
SUCCESS_BYTES = SUCCESS.encode()

# WeChat hangs up after 5 s and retries; three deliveries in all.
WECHAT_DEADLINE_S = 5.0
WECHAT_DELIVERIES = 3
# An early delivery without its answer is held open past WeChat's deadline, so that WeChat
# retries; if WeChat is somehow still there after this long, it is treated as the last.
HOLD_MAX_S = WECHAT_DEADLINE_S + 1.0
HOLD_POLL_S = 0.05
# Waiters re-read Redis this often even without a pub/sub notice (a lost notice costs this).
WAIT_POLL_S = 0.5
PUBSUB_READ_S = 1.0
PUBSUB_RETRY_S = 1.0
# Redis calls made before the pipeline sees a message: slower than this, act without them.
REDIS_FAST_S = 0.5
# Active mode: deliveries acknowledged before they are handed on, by INTAKE_WORKERS tasks
# (one keeps up: what queued up meanwhile is counted in one Redis round trip, and with one
# the event loop serves a burst of acknowledgements first; bench/wechat_ack.py).
# Past MAX_INTAKE_BACKLOG waiting, deliveries are handed on before they are acknowledged
# (WeChat waits up to 5 s), which slows intake down to what careline keeps up with.
INTAKE_WORKERS = 1
# Deliveries counted in Redis together, at most, when a burst has queued them up.
INTAKE_BATCH = 64
MAX_INTAKE_BACKLOG = 2000
# At shutdown, how long acknowledged deliveries may take to be handed on.
DRAIN_S = 5.0
INLINE_STORE_TIMEOUT_S = 2.0
# How long a transferred message's own notices are held back (its lane answers well within).
TRANSFER_MEMORY_S = 600.0

# Menu CLICK keys a hospital sets up in its account's custom menu.
MENU_KEY_HUMAN = "CARELINE_HUMAN"
MENU_KEY_NUMBERS = "CARELINE_EMERGENCY_NUMBERS"
MENU_KEYS: dict[str, ButtonId] = {
    MENU_KEY_HUMAN: ButtonId.HUMAN,
    MENU_KEY_NUMBERS: ButtonId.EMERGENCY_NUMBERS,
}
# A msgmenu option id is "<button id>:<language>", so a click answers in the right language.
MENU_ID_SEP = ":"
BUTTON_IDS = frozenset(b.value for b in ButtonId)
# Bytes kept free in the last part of an answer for the msgmenu options.
MENU_RESERVE_BYTES = 256
MAX_INBOUND_CHARS = 20_000
MEDIA_TYPES = frozenset({"image", "video", "shortvideo", "location", "link", "miniprogrampage"})
REDIS_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)
SEGMENT_SEP = "\n\n"


def _tag(openid: str) -> str:
    """Log name of a chat: the same short hash the dispatcher uses for ``wechat:<openid>``."""
    return conversation_tag(conversation_key(NAME, openid))


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _cdata_safe(text: str) -> str:
    """wechatpy writes text into CDATA unescaped; a ``]]>`` in an answer must not end it."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def _guess_lang(text: str, default: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return default


def _first_values(query: str) -> dict[str, str]:
    """A query string's parameters, the first value of each (as aiohttp's ``request.query``
    gives them)."""
    out: dict[str, str] = {}
    if "%" in query or "+" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
    else:  # nothing to unquote (WeChat's own parameters): parse_qsl's result, sooner
        pairs = [(n, v) for n, _, v in (p.partition("=") for p in query.split("&") if p)]
    for name, value in pairs:
        out.setdefault(name, value)
    return out


# One field of the flat ``<xml>`` WeChat sends: a simple name, then one CDATA section or
# plain text that needs no decoding (no reference, no markup, no carriage return, no "]").
_FLAT_FIELD_RE = re.compile(
    r"[ \t\r\n]*<([A-Za-z_][A-Za-z0-9_]*)>(?:<!\[CDATA\[(.*?)\]\]>|([^<&\]\r]*))</\1>", re.S
)
# Characters XML 1.0 does not allow anywhere (a parser refuses the document).
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_SPACE = " \t\r\n"


def _flat_fields(xml: str) -> dict[str, Any] | None:
    """The fields of a document of exactly the shape WeChat sends: ``<xml>`` holding simple
    elements, each once, each with one CDATA section or plain text, whitespace between them.
    The same dict ElementTree gives (an empty value is None); None for any other document,
    which ElementTree then reads. On the acknowledgement's path, inside the server, reading
    a delivery took 17 us instead of 28 (a tight loop: 5.5 us instead of 8.6); tests
    compare the two readers on fuzzed documents."""
    if not (xml.startswith("<xml>") and xml.endswith("</xml>")) or _NOT_XML_RE.search(xml):
        return None
    out: dict[str, Any] = {}
    pos, end = 5, len(xml) - 6
    match = _FLAT_FIELD_RE.match
    while pos < end:
        found = match(xml, pos, end)
        if found is None:
            if xml[pos:end].strip(_XML_SPACE):
                return None
            break
        tag, cdata, text = found.groups()
        if cdata is not None:
            # A carriage return is turned into a line feed by a parser; a "]]>" means the
            # value is several sections (or the match ran past the end of the first one).
            if "\r" in cdata or "]]>" in cdata:
                return None
            text = cdata
        if tag in out:
            return None
        out[tag] = text or None
        pos = found.end()
    return out or None


def _xml_fields(xml: str) -> dict[str, Any]:
    """The children of a WeChat ``<xml>`` document as a dict, the shape wechatpy's message
    classes read (nested elements become dicts, repeated ones lists, empty ones None).
    ElementTree's C parser is several times faster than the pure-Python parser wechatpy's
    own ``parse_message`` uses, which matters on the acknowledgement's path; WeChat's own
    flat documents are read faster still, without a parser."""
    flat = _flat_fields(xml)
    if flat is not None:
        return flat
    root = ET.fromstring(xml)
    if root.tag != "xml":
        raise BadRequest("not a WeChat message")
    fields = _element_value(root)
    if not isinstance(fields, dict):
        raise BadRequest("empty message")
    return fields


def _element_value(element: ET.Element) -> Any:
    if len(element) == 0:
        return element.text
    out: dict[str, Any] = {}
    for child in element:
        value = _element_value(child)
        if child.tag in out:
            previous = out[child.tag]
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    return out


def parse_wechat(xml: str) -> Any:
    """A wechatpy message or event object for a delivery, chosen as wechatpy's own
    ``parse_message`` chooses it (subscribe-by-QR-scene included)."""
    fields = _xml_fields(xml)
    kind = str(fields.get("MsgType") or "").lower()
    if kind != "event":
        return MESSAGE_TYPES.get(kind, UnknownMessage)(fields)
    event = str(fields.get("Event") or "").lower()
    key = str(fields.get("EventKey") or "")
    if event == "subscribe" and key.startswith("qrscene_"):
        event = fields["Event"] = "subscribe_scan"
        fields["EventKey"] = key[len("qrscene_") :]
    return EVENT_TYPES.get(event, UnknownMessage)(fields)


class BadRequest(Exception):
    """The body cannot be read as a WeChat message (the reason names no content)."""


class BadSignature(Exception):
    pass


class WeChatChannel:
    """careline's WeChat Official Account channel (see the module docstring)."""

    channel = NAME

    def __init__(
        self,
        settings: Settings,
        *,
        passive_wait_s: float | None = None,
        hold_max_s: float = HOLD_MAX_S,
    ) -> None:
        cfg = self.cfg = settings.channel(WeChatSettings)
        if cfg.wechat_token is None:
            raise ValueError("the WeChat channel needs CARELINE_WECHAT_TOKEN")
        self.settings = settings
        self.passive = cfg.wechat_reply_mode == "passive"
        self._token = cfg.wechat_token.get_secret_value()
        self._wait_s = cfg.wechat_passive_wait_s if passive_wait_s is None else passive_wait_s
        self._hold_s = max(hold_max_s, self._wait_s)
        self._crypto: WeChatCrypto | None = None
        if cfg.wechat_aes_key is not None:
            try:
                self._crypto = WeChatCrypto(
                    self._token, cfg.wechat_aes_key.get_secret_value(), cfg.wechat_app_id
                )
            except Exception:
                log.error(
                    "CARELINE_WECHAT_AES_KEY is not a valid EncodingAESKey (43 characters): "
                    "encrypted messages cannot be read"
                )
        self._ctx: ChannelContext | None = None
        self._store: WeChatStore | None = None
        self._session: aiohttp.ClientSession | None = None
        self.api: WeChatAPI | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Deliveries acknowledged but not yet handed on (active mode), worked off by a few
        # workers; and whether shutdown has begun (then every delivery is handled before it
        # is acknowledged).
        self._intake: asyncio.Queue[Inbound] = asyncio.Queue()
        self._intake_workers: list[asyncio.Task[None]] = []
        self._draining = False
        self._listener: asyncio.Task[None] | None = None
        # Replies produced while a webhook handler is inside ``submit``, by message id.
        self._inline: dict[str, list[Outbound]] = {}
        # Passive waiters in this process, by message id.
        self._waiters: dict[str, set[asyncio.Event]] = {}
        # Messages handed to WeChat's customer-service staff (transfer), with when.
        self._transferred: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.get(WEBHOOK_PATH, self._verify), web.post(WEBHOOK_PATH, self._receive)]

    async def start(self, context: ChannelContext) -> None:
        self._ctx = context
        self._store = WeChatStore(context.redis, self.settings)
        self._session = aiohttp.ClientSession()
        secret = self.cfg.wechat_app_secret
        if secret is not None and self.cfg.wechat_app_id:
            tokens = TokenManager(
                context.redis,
                self.settings.redis_prefix,
                self.cfg.wechat_app_id,
                secret.get_secret_value(),
                self.cfg.wechat_api_base,
                self._session,
            )
            self.api = WeChatAPI(tokens, self.cfg.wechat_api_base, self._session)
        elif not self.passive:
            log.error(
                "WeChat active mode needs CARELINE_WECHAT_APP_ID and CARELINE_WECHAT_APP_SECRET;"
                " answers cannot be sent and chats will be put in front of staff"
            )
        if self.passive:
            self._listener = asyncio.create_task(self._listen())
        else:
            self._intake_workers = [
                asyncio.create_task(self._intake_worker()) for _ in range(INTAKE_WORKERS)
            ]
        log.info(
            "WeChat channel ready at %s (%s mode)",
            WEBHOOK_PATH,
            "passive" if self.passive else "active",
        )

    async def drain(self) -> None:
        """Hand on the deliveries already acknowledged, before the pipeline closes."""
        self._draining = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.settle(), DRAIN_S)

    async def settle(self) -> None:
        """Wait until every acknowledged delivery has been handed on."""
        if self._intake_workers:
            await self._intake.join()

    async def stop(self) -> None:
        self._draining = True
        await stop_tasks([*self._intake_workers, *self._tasks, self._listener], "WeChat channel")
        self._listener = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def store(self) -> WeChatStore:
        if self._store is None:
            raise RuntimeError("the WeChat channel is not started")
        return self._store

    @property
    def context(self) -> ChannelContext:
        if self._ctx is None:
            raise RuntimeError("the WeChat channel is not started")
        return self._ctx

    # -------------------------------------------------------------------- webhook

    def _signed(self, query: Mapping[str, str]) -> bool:
        signature, timestamp, nonce = (
            query.get("signature"),
            query.get("timestamp"),
            query.get("nonce"),
        )
        if not (signature and timestamp and nonce):
            return False
        expected = _signature(self._token, timestamp, nonce)
        return hmac.compare_digest(expected.encode(), signature.encode())

    async def _verify(self, request: web.Request) -> web.Response:
        """WeChat's URL check when the server address is saved: echo ``echostr``."""
        if not self._signed(request.query):
            log.warning("WeChat URL verification with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        return web.Response(text=request.query.get("echostr", ""))

    def _read(self, query: Mapping[str, str], body: bytes) -> tuple[Any, bool]:
        """The wechatpy message a signed delivery carries, and whether it came encrypted.
        Raises ``BadSignature`` for a bad ``msg_signature``, anything else for a body that
        cannot be read."""
        encrypted = query.get("encrypt_type", "").lower() == "aes"
        xml = self._decrypt(body, query) if encrypted else body.decode("utf-8")
        if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
            raise BadRequest("document type declarations are not accepted")
        message = parse_wechat(xml)
        if not message.source:
            raise BadRequest("no sender")
        return message, encrypted

    def fast_routes(self) -> dict[str, FastHandler]:
        return {WEBHOOK_PATH: self._acknowledge_at_once}

    def _acknowledge_at_once(
        self, query_string: str, headers: Mapping[bytes, bytes], body: bytes
    ) -> bytes | None:
        """``POST /wechat`` without aiohttp (bot.front): ``success`` for a delivery that
        active mode acknowledges before the rest of the work, exactly as ``_receive`` would
        acknowledge it. Every other delivery (a bad signature, an unreadable body, a reply
        to give, passive mode) gets None and takes ``_receive``, which answers it."""
        if self._ctx is None or self.passive or self._draining:
            return None
        query = _first_values(query_string)
        if not self._signed(query):
            return None
        try:
            message, _ = self._read(query, body)
            mapped = self._to_inbound(message)
        except Exception:  # _receive answers it (400 or 403) and logs why
            return None
        if not isinstance(mapped, Inbound) or not self._acknowledge_first(mapped):
            return None
        self._intake.put_nowait(mapped)
        return SUCCESS_BYTES

    async def _receive(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if not self._signed(request.query):
            log.warning("WeChat message with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("WeChat message refused: body too large")
            raise
        try:
            message, encrypted = self._read(request.query, body)
        except BadSignature:
            log.warning("WeChat message with a bad msg_signature refused")
            return web.Response(status=403, text="bad signature")
        except Exception as exc:
            log.warning("WeChat message refused: unreadable body (%s)", type(exc).__name__)
            return web.Response(status=400, text="malformed message")
        try:
            mapped = self._to_inbound(message)
        except ValueError as exc:  # a field WeChat would never send (pydantic refused it)
            log.warning("WeChat message not understood (%s)", type(exc).__name__)
            mapped = None
        if mapped is None or isinstance(mapped, str):
            return self._respond(message, mapped, encrypted)
        if self._acknowledge_first(mapped):
            self._intake.put_nowait(mapped)
            return web.Response(text=SUCCESS)
        reply = await self._handle(mapped, request, arrived)
        return self._respond(message, reply, encrypted)

    def _acknowledge_first(self, msg: Inbound) -> bool:
        """Active mode says ``success`` before the rest of the work (counting the delivery in
        Redis, handing it on) unless the acknowledgement itself must carry something: an
        emergency reply, or a transfer to WeChat's customer service."""
        return not (
            self.passive
            or self._draining
            or self._intake.qsize() >= MAX_INTAKE_BACKLOG
            or self.cfg.wechat_transfer_customer_service
            or self.context.answers_at_intake(msg)
        )

    async def _intake_worker(self) -> None:
        """Works off acknowledged deliveries, so that a burst of deliveries is acknowledged
        before the event loop turns to handing them on; what has queued up meanwhile is
        counted in Redis in one round trip."""
        while not self._draining or not self._intake.empty():
            batch = [await self._intake.get()]
            while len(batch) < INTAKE_BATCH and not self._intake.empty():
                batch.append(self._intake.get_nowait())
            try:
                await self._take(batch)
            finally:
                for _ in batch:
                    self._intake.task_done()

    async def _take(self, batch: list[Inbound]) -> None:
        """The rest of acknowledged deliveries: the first delivery of each message, on any
        replica, is handed on."""
        counts = await self._arrive_many(batch)
        for msg, delivery in zip(batch, counts, strict=True):
            if delivery != 1:
                continue
            try:
                await self.context.submit(msg)
            except Exception as exc:
                # Acknowledged already, so WeChat will not deliver it again: staff must see it.
                log.error(
                    "WeChat message conv=%s acknowledged but not handed on (%s)",
                    _tag(msg.conversation_id),
                    type(exc).__name__,
                )
                await self.context.escalate(
                    conversation_key(NAME, msg.conversation_id), "wechat_not_handed_on"
                )

    def _decrypt(self, body: bytes, q: Mapping[str, str]) -> str:
        if self._crypto is None:
            raise BadRequest("encrypted message but no usable CARELINE_WECHAT_AES_KEY")
        envelope = _xml_fields(body.decode("utf-8"))
        encrypt = envelope.get("Encrypt")
        if not encrypt:
            raise BadRequest("no Encrypt element")
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        expected = _signature(self._token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), q.get("msg_signature", "").encode()):
            raise BadSignature
        # The signature is already verified (in constant time); wechatpy checks it again.
        return str(self._crypto.decrypt_message(envelope, expected, timestamp, nonce))

    def _respond(self, message: Any, reply: str | None, encrypted: bool) -> web.Response:
        if not reply:  # nothing to say: WeChat shows the patient nothing
            return web.Response(text=SUCCESS)
        if reply is _RETRY_LATER:
            return web.Response(status=503, text="try again")
        if reply is _TRANSFER:
            xml = TransferCustomerServiceReply(message=message).render()
        else:
            xml = TextReply(message=message, content=_cdata_safe(reply)).render()
        if encrypted and self._crypto is not None:
            xml = self._crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))
        return web.Response(text=xml, content_type="application/xml")

    # -------------------------------------------------------------------- mapping

    def _to_inbound(self, message: Any) -> Inbound | str | None:
        """The Inbound a WeChat message stands for; a str is the adapter's own notice to
        return at once; None means acknowledge and ignore."""
        openid = str(message.source)[:200]
        lang = self.settings.default_language
        base: dict[str, Any] = {
            "channel": NAME,
            "conversation_id": openid,
            "user_id": openid,
        }
        kind = message.type
        if kind == "event":
            event = str(getattr(message, "event", "")).lower()
            base["message_id"] = f"{openid}:{message.time}:{event}"[:200]
            # The event's name is English; the patient's language is the hospital's default.
            base["language"] = lang
            if event in ("subscribe", "subscribe_scan"):
                return Inbound(**base, kind=InboundKind.EVENT, text=EventName.SUBSCRIBE)
            if event == "unsubscribe":
                return Inbound(**base, kind=InboundKind.EVENT, text=EventName.UNSUBSCRIBE)
            if event == "click":
                button = MENU_KEYS.get(str(getattr(message, "key", "") or ""))
                if button is not None:
                    return Inbound(**base, kind=InboundKind.BUTTON, text=button)
            return None
        base["message_id"] = str(message.id or f"{openid}:{message.time}:{kind}")
        if kind == "text":
            content = str(message.content or "")[:MAX_INBOUND_CHARS]
            data = getattr(message, "_data", {})
            menu_id = str(data.get("bizmsgmenuid") or "") if isinstance(data, dict) else ""
            if menu_id:
                button_id, _, button_lang = menu_id.partition(MENU_ID_SEP)
                if button_id in BUTTON_IDS:
                    return Inbound(
                        **base,
                        kind=InboundKind.BUTTON,
                        text=button_id,
                        language=button_lang or None,
                    )
            keyword = keyword_button(content)
            if keyword is not None:
                return Inbound(
                    **base, kind=InboundKind.BUTTON, text=keyword[0], language=keyword[1]
                )
            return Inbound(**base, kind=InboundKind.TEXT, text=content)
        if kind == "voice":
            recognition = str(getattr(message, "recognition", "") or "").strip()
            if recognition:
                return Inbound(**base, kind=InboundKind.VOICE, text=recognition[:MAX_INBOUND_CHARS])
            return render("wechat_voice_unsupported", lang, self.settings.hospital)
        if kind in MEDIA_TYPES:
            return render("wechat_media_unsupported", lang, self.settings.hospital)
        return None

    # ------------------------------------------------------------------- handling

    async def _handle(self, msg: Inbound, request: web.Request, arrived: float) -> str | None:
        openid = msg.conversation_id
        expects_reply = not (msg.kind is InboundKind.EVENT and msg.text == EventName.UNSUBSCRIBE)
        carry = self.passive and expects_reply
        # Messages, subscriptions and menu clicks open WeChat's 48-hour window.
        interaction = not self.passive and (
            msg.kind is not InboundKind.EVENT or msg.text == EventName.SUBSCRIBE
        )
        delivery = await self._arrive(msg.message_id, openid, carry, interaction)
        transfer = False
        if delivery == 1:
            transfer = await self._should_transfer(msg)
            inline, refused = await self._submit(msg)
            if refused:
                return _RETRY_LATER
            if inline:
                return await self._inline_reply(msg, inline)
            if transfer:
                return _TRANSFER
        elif not self.passive:
            # A repeat delivery: the answer is on its way through the API, unless it was an
            # inline reply (the first response got lost): then that again.
            stored = await self._fast(self.store.replies(msg.message_id), "replies read")
            if stored and stored[0]:
                return self._compose(self.store.open(stored[0]), [], msg, None)[0]
            return None
        if not self.passive or not expects_reply:
            return None
        return await self._passive_reply(msg, request, arrived, delivery)

    async def _arrive(self, message_id: str, openid: str, carry: bool, interaction: bool) -> int:
        """Which delivery this is (1 = the first, on any replica); 1 if Redis cannot say."""
        try:
            return await asyncio.wait_for(
                self.store.arrive(message_id, openid, carry=carry, interaction=interaction),
                REDIS_FAST_S,
            )
        except REDIS_ERRORS as exc:
            log.warning(
                "WeChat de-duplication unavailable (%s): handling conv=%s as new",
                type(exc).__name__,
                _tag(openid),
            )
            return 1

    async def _arrive_many(self, batch: list[Inbound]) -> list[int]:
        """``_arrive`` for acknowledged deliveries, which carry nothing, in one round trip."""
        deliveries = [
            (
                msg.message_id,
                msg.conversation_id,
                msg.kind is not InboundKind.EVENT or msg.text == EventName.SUBSCRIBE,
            )
            for msg in batch
        ]
        try:
            return await asyncio.wait_for(self.store.arrive_many(deliveries), REDIS_FAST_S)
        except REDIS_ERRORS as exc:
            log.warning(
                "WeChat de-duplication unavailable (%s): handling %d deliveries as new",
                type(exc).__name__,
                len(batch),
            )
            return [1] * len(batch)

    async def _fast(self, call: Awaitable[Any], what: str) -> Any:
        try:
            return await asyncio.wait_for(call, REDIS_FAST_S)
        except REDIS_ERRORS as exc:
            log.warning("WeChat %s skipped: Redis unavailable (%s)", what, type(exc).__name__)
            return None

    async def _submit(self, msg: Inbound) -> tuple[list[Outbound], bool]:
        """Hand the message on; returns replies made meanwhile and whether it was refused."""
        if self._ctx is None:
            raise RuntimeError("the WeChat channel is not started")
        captured: list[Outbound] = []
        self._inline[msg.message_id] = captured
        try:
            await self._ctx.submit(msg)
        except DispatcherClosed:
            # Shutting down: let WeChat deliver again (perhaps to another replica).
            log.warning("WeChat message not accepted: careline is stopping")
            await self._fast(self.store.forget_delivery(msg.message_id), "claim release")
            return captured, True
        finally:
            self._inline.pop(msg.message_id, None)
        return captured, False

    async def _inline_reply(self, msg: Inbound, inline: list[Outbound]) -> str:
        replies = [
            StoredReply(with_typed_choices(o.text, o.buttons, o.lang), o.lang) for o in inline
        ]
        carried: list[StoredReply] = []
        if self.passive:
            stored = await self._fast(self.store.replies(msg.message_id), "replies read")
            if stored:
                carried = self.store.open(stored[1])
        text, overflow = self._compose(replies, carried, msg, None)
        if overflow:
            self._spawn(self._carry_over(msg.conversation_id, overflow))
        return text

    async def _should_transfer(self, msg: Inbound) -> bool:
        """Transfer to WeChat's own customer-service staff: when asked for, and chats already
        waiting for or held by staff."""
        if not self.cfg.wechat_transfer_customer_service or msg.kind is InboundKind.EVENT:
            return False
        transfer = msg.kind is InboundKind.BUTTON and msg.text == ButtonId.HUMAN
        if not transfer:
            transfer = bool(await self._fast(self.context.held_by_staff(msg.key), "handoff read"))
        if transfer:
            now = time.monotonic()
            self._transferred = {
                k: t for k, t in self._transferred.items() if now - t < TRANSFER_MEMORY_S
            }
            self._transferred[msg.message_id] = now
        return transfer

    # ------------------------------------------------------------- passive replies

    async def _passive_reply(
        self, msg: Inbound, request: web.Request, arrived: float, delivery: int
    ) -> str | None:
        own, carried = await self._wait_for_reply(msg.message_id, arrived + self._wait_s)
        if own:
            await self._fast(self.store.close(msg.message_id), "close")
            return await self._finish(msg, own, carried, None)
        if delivery < WECHAT_DELIVERIES and await self._hold(request, arrived + self._hold_s):
            return None  # WeChat hung up and will deliver again; nobody reads this
        try:
            own = self.store.open(await self.store.close(msg.message_id))
        except REDIS_ERRORS:
            own = []
        notice = (
            None
            if own
            else render("wechat_answer_pending", self._lang(msg), self.settings.hospital)
        )
        log.info(
            "WeChat answer not ready by the last delivery conv=%s: it comes with the next message",
            _tag(msg.conversation_id),
        )
        return await self._finish(msg, own, carried, notice)

    async def _finish(
        self, msg: Inbound, own: list[StoredReply], carried: list[StoredReply], notice: str | None
    ) -> str:
        text, overflow = self._compose(own, carried, msg, notice)
        if overflow:
            await self._carry_over(msg.conversation_id, overflow)
        return text

    async def _carry_over(self, openid: str, overflow: list[StoredReply]) -> None:
        try:
            await self.store.carry_over(openid, [self.store.seal(r) for r in overflow])
        except REDIS_ERRORS as exc:
            log.error("WeChat reply remainder lost conv=%s (%s)", _tag(openid), type(exc).__name__)

    def _lang(self, msg: Inbound) -> str:
        if msg.language in ("zh", "en"):
            return msg.language
        return _guess_lang(msg.text, self.settings.default_language)

    def _compose(
        self,
        own: list[StoredReply],
        carried: list[StoredReply],
        msg: Inbound,
        notice: str | None,
    ) -> tuple[str, list[StoredReply]]:
        """One passive reply (earlier answers first), cut at WeChat's byte limit; the rest is
        returned to be carried with the next message."""
        own = [r for r in own if r.text]  # an empty reply only says "nothing to answer"
        carried = [r for r in carried if r.text]
        lang = own[0].lang if own else self._lang(msg)
        segments: list[str] = []
        if carried:
            segments.append(render("wechat_earlier_answer", carried[0].lang, None))
            segments.extend(r.text for r in carried)
        segments.extend(r.text for r in own)
        if notice:
            segments.append(notice)
        text = SEGMENT_SEP.join(segments)
        if utf8_len(text) <= TEXT_LIMIT_BYTES:
            return text, []
        continued = render("wechat_continued", lang, None)
        room = TEXT_LIMIT_BYTES - utf8_len(SEGMENT_SEP + continued)
        first, *rest = split_text(text, room)
        return first + SEGMENT_SEP + continued, [StoredReply(SEGMENT_SEP.join(rest), lang)]

    async def _wait_for_reply(
        self, message_id: str, deadline: float
    ) -> tuple[list[StoredReply], list[StoredReply]]:
        """This message's replies once there are any (or none by ``deadline``), and the
        earlier answers it carries."""
        event = asyncio.Event()
        self._waiters.setdefault(message_id, set()).add(event)
        carried: list[StoredReply] = []
        try:
            while True:
                event.clear()
                try:
                    own_raw, carried_raw = await self.store.replies(message_id)
                except REDIS_ERRORS as exc:
                    log.warning("WeChat reply read failed (%s)", type(exc).__name__)
                    own_raw, carried_raw = [], []
                carried = self.store.open(carried_raw)
                if own_raw:
                    return self.store.open(own_raw), carried
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], carried
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(remaining, WAIT_POLL_S))
        finally:
            waiters = self._waiters.get(message_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[message_id]

    def _notify(self, message_id: str) -> None:
        for event in self._waiters.get(message_id, ()):
            event.set()

    async def _hold(self, request: web.Request, until: float) -> bool:
        """Keep the connection open until WeChat hangs up (True) or ``until`` (False)."""
        while time.monotonic() < until:
            transport = request.transport
            if transport is None or transport.is_closing():
                return True
            await asyncio.sleep(HOLD_POLL_S)
        return False

    async def _listen(self) -> None:
        """Wake this process's waiters when any replica stores a reply."""
        if self._ctx is None:
            return
        while True:
            try:
                async with self._ctx.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.store.ready_channel)
                    while True:
                        item = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=PUBSUB_READ_S
                        )
                        if item and item.get("type") == "message":
                            data = item["data"]
                            self._notify(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except REDIS_ERRORS as exc:
                log.warning(
                    "WeChat reply notices interrupted (%s); waiters poll meanwhile",
                    type(exc).__name__,
                )
                await asyncio.sleep(PUBSUB_RETRY_S)

    # ---------------------------------------------------------------------- send

    async def send(self, out: Outbound) -> None:
        """Deliver one reply: into the webhook response being prepared, into Redis for a
        passive delivery, or through the customer-service API."""
        inline = self._inline.get(out.reply_to) if out.reply_to else None
        if inline is not None:
            inline.append(out)
            if self.passive:
                # Stored too, for a repeat delivery that lands elsewhere; never a long wait.
                await self._remember_inline(out, REDIS_FAST_S)
            else:
                self._spawn(self._remember_inline(out, INLINE_STORE_TIMEOUT_S))
            return
        if out.reply_to in self._transferred and out.kind is not OutboundKind.EMERGENCY:
            log.info("WeChat notice not sent: chat transferred conv=%s", _tag(out.conversation_id))
            return
        if self.passive:
            await self._store_passive(out)
        else:
            await self._send_active(out)

    async def _remember_inline(self, out: Outbound, timeout_s: float) -> None:
        """Keep an inline reply so that a repeat delivery returns it too."""
        reply = StoredReply(with_typed_choices(out.text, out.buttons, out.lang), out.lang)
        try:
            await asyncio.wait_for(
                self.store.store_reply(out.reply_to, out.conversation_id, self.store.seal(reply)),
                timeout_s,
            )
        except REDIS_ERRORS as exc:
            log.info("WeChat inline reply not kept (%s)", type(exc).__name__)

    async def no_reply(self, msg: Inbound) -> None:
        """careline sends nothing in answer to ``msg``: in passive mode an empty reply is
        stored for it, so the delivery waiting for the answer (on any replica) says
        ``success`` at once instead of holding WeChat through three deliveries."""
        if not self.passive or msg.channel != NAME:
            return
        nothing = self.store.seal(StoredReply("", self._lang(msg)))
        try:
            if await self.store.store_reply(msg.message_id, msg.conversation_id, nothing):
                self._notify(msg.message_id)
        except REDIS_ERRORS as exc:
            log.warning("WeChat no-reply mark not stored (%s)", type(exc).__name__)

    async def _store_passive(self, out: Outbound) -> None:
        reply = StoredReply(with_typed_choices(out.text, out.buttons, out.lang), out.lang)
        stored = await self.store.store_reply(
            out.reply_to, out.conversation_id, self.store.seal(reply)
        )
        if stored and out.reply_to:
            self._notify(out.reply_to)
        elif not stored:
            log.info("WeChat answer kept for the next message conv=%s", _tag(out.conversation_id))

    async def _send_active(self, out: Outbound) -> None:
        openid = out.conversation_id
        if self.api is None:
            await self._undeliverable(out, "wechat_not_configured")
            return
        options = [(f"{b.id}{MENU_ID_SEP}{out.lang}", b.label) for b in out.buttons]
        parts = split_text(out.text, TEXT_LIMIT_BYTES)
        if options and utf8_len(parts[-1]) > TEXT_LIMIT_BYTES - MENU_RESERVE_BYTES:
            # The options must fit beside the last part.
            parts[-1:] = split_text(parts[-1], TEXT_LIMIT_BYTES - MENU_RESERVE_BYTES)
        try:
            for index, part in enumerate(parts):
                if not await self.store.take_quota(openid):
                    raise QuotaExceeded(45047, "careline's own count")
                if options and index == len(parts) - 1:
                    await self.api.send_menu(openid, part, options)
                else:
                    await self.api.send_text(openid, part)
        except QuotaExceeded:
            await self._undeliverable(out, "wechat_quota")
        except WeChatAPIError as exc:
            reason = (
                "wechat_window_closed" if exc.errcode == 45015 else f"wechat_error_{exc.errcode}"
            )
            await self._undeliverable(out, reason)
        except Unavailable as exc:
            log.warning("WeChat API unavailable: %s", exc)
            await self._undeliverable(out, "wechat_unavailable")

    async def _undeliverable(self, out: Outbound, reason: str) -> None:
        """WeChat will not take the reply: staff must reach the patient another way."""
        log.warning(
            "WeChat reply not delivered conv=%s kind=%s reason=%s",
            _tag(out.conversation_id),
            out.kind,
            reason,
        )
        await self.context.escalate(conversation_key(NAME, out.conversation_id), reason)

    async def typing(self, msg: Inbound) -> None:
        """Show 'typing' while the model works (active mode; passive has no such call)."""
        if self.passive or self.api is None:
            return
        await self.api.typing(msg.conversation_id, TypingCommand.TYPING)


class _Marker(str):
    """A reply that is not text: compared by identity."""


_TRANSFER = _Marker("transfer_customer_service")
_RETRY_LATER = _Marker("retry later")
