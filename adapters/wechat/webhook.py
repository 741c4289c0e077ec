"""Receiving on ``/wechat``: what WeChat sends, read, and what the webhook answers, written.

The signature is checked in constant time before anything else; compatible and safe (AES)
modes are decrypted with wechatpy's ``WeChatCrypto`` and replies are encrypted when the
request was. A delivery's XML becomes wechatpy's message object (``parse_wechat``), then the
``Inbound`` it stands for. ``WebhookCodec.fast_inbound`` is the acknowledgement's path in
active mode: everything a delivery needs before it can be acknowledged, without aiohttp.

Also here, for the whole channel: Redis calls on the webhook's path are bounded in time
(``fast``), and chats are named in logs as the dispatcher names them (``tag``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import redis.exceptions
from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage
from wechatpy.replies import TextReply, TransferCustomerServiceReply

from adapters.wechat.settings import WeChatSettings
from adapters.wechat.spec import NAME
from adapters.wechat.text import keyword_button
from bot.config import Settings
from bot.models import (
    ButtonId,
    EventName,
    Inbound,
    InboundKind,
    conversation_key,
    conversation_tag,
)

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/wechat"
SUCCESS = "success"  # tells WeChat "handled, do not retry"
SUCCESS_BYTES = SUCCESS.encode()

# Redis calls made before the pipeline sees a message: slower than this, act without them.
REDIS_FAST_S = 0.5

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
MAX_INBOUND_CHARS = 20_000
MEDIA_TYPES = frozenset({"image", "video", "shortvideo", "location", "link", "miniprogrampage"})
REDIS_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)


def tag(openid: str) -> str:
    """Log name of a chat: the same short hash the dispatcher uses for ``wechat:<openid>``."""
    return conversation_tag(conversation_key(NAME, openid))


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _cdata_safe(text: str) -> str:
    """wechatpy writes text into CDATA unescaped; a ``]]>`` in an answer must not end it."""
    return text.replace("]]>", "]]]]><![CDATA[>")


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


class Marker(str):
    """A reply that is not text: compared by identity."""


TRANSFER = Marker("transfer_customer_service")
RETRY_LATER = Marker("retry later")


async def fast(call: Awaitable[Any], what: str) -> Any:
    """``call``'s result, or None when Redis does not answer within ``REDIS_FAST_S``."""
    try:
        return await asyncio.wait_for(call, REDIS_FAST_S)
    except REDIS_ERRORS as exc:
        log.warning("WeChat %s skipped: Redis unavailable (%s)", what, type(exc).__name__)
        return None


class WebhookCodec:
    """The channel's side of WeChat's webhook protocol: signatures, decryption, the Inbound a
    message stands for, and the response that answers it."""

    def __init__(self, settings: Settings, cfg: WeChatSettings, token: str) -> None:
        self.settings = settings
        self._token = token
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

    def signed(self, query: Mapping[str, str]) -> bool:
        signature, timestamp, nonce = (
            query.get("signature"),
            query.get("timestamp"),
            query.get("nonce"),
        )
        if not (signature and timestamp and nonce):
            return False
        expected = _signature(self._token, timestamp, nonce)
        return hmac.compare_digest(expected.encode(), signature.encode())

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's URL check when the server address is saved: echo ``echostr``."""
        if not self.signed(request.query):
            log.warning("WeChat URL verification with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        return web.Response(text=request.query.get("echostr", ""))

    def read(self, query: Mapping[str, str], body: bytes) -> tuple[Any, bool]:
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

    def fast_inbound(self, query_string: str, body: bytes) -> Inbound | None:
        """The acknowledgement's path (``WeChatChannel._acknowledge_at_once``): the Inbound
        of a signed, readable delivery, read from the raw query string and body; None for
        anything else (the aiohttp handler then answers it, 400 or 403, and logs why)."""
        query = _first_values(query_string)
        if not self.signed(query):
            return None
        try:
            message, _ = self.read(query, body)
            mapped = self.to_inbound(message)
        except Exception:  # _receive answers it (400 or 403) and logs why
            return None
        return mapped if isinstance(mapped, Inbound) else None

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

    def respond(self, message: Any, reply: str | None, encrypted: bool) -> web.Response:
        if not reply:  # nothing to say: WeChat shows the patient nothing
            return web.Response(text=SUCCESS)
        if reply is RETRY_LATER:
            return web.Response(status=503, text="try again")
        if reply is TRANSFER:
            xml = TransferCustomerServiceReply(message=message).render()
        else:
            xml = TextReply(message=message, content=_cdata_safe(reply)).render()
        if encrypted and self._crypto is not None:
            xml = self._crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))
        return web.Response(text=xml, content_type="application/xml")

    def to_inbound(self, message: Any) -> Inbound | str | None:
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
            return self.settings.hospital.render("wechat_voice_unsupported", lang)
        if kind in MEDIA_TYPES:
            return self.settings.hospital.render("wechat_media_unsupported", lang)
        return None
