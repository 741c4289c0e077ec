"""A loopback fake of the WeChat Official Account API (developers.weixin.qq.com).

Speaks what careline uses: ``POST /cgi-bin/stable_token`` (normal mode returns the current
token while it is valid; ``force_refresh`` replaces it and invalidates the old one),
``GET /cgi-bin/token``, ``POST /cgi-bin/message/custom/send`` (text and msgmenu) and
``POST /cgi-bin/message/custom/typing``. Answers are WeChat's JSON: ``{"errcode": 0,
"errmsg": "ok"}`` or a real error code with its message. It checks what it receives: the
access token (40001 unknown or replaced, 42001 expired), JSON (47001), the fields of each
message type, WeChat's 2048-byte text limit (45002), the typing command (45072).

A test can make it fail the way WeChat fails: ``invalidate_token()`` (the next call gets
40001), ``send_errors`` (error codes returned by the next sends, e.g. 45015, 45047, -1),
``http_errors`` (HTTP statuses, e.g. 502, for the next API calls), ``out_of_window`` and
``quota_spent`` (openids that get 45015 / 45047 on every send).

As a process: ``python -m tests.fakes.wechat_api --port 0 --appid ID --secret S``; the first
stdout line is its URL; ``POST /_fake/control`` with JSON sets the failure fields above,
``GET /_fake/sent`` returns the messages accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import LOOPBACK, LoopbackFake, serve_until_signalled

TOKEN_TTL_S = 7200
TEXT_LIMIT_BYTES = 2048
MENU_MAX_OPTIONS = 10

ERRMSG: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    44002: "empty post data",
    45002: "content size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45072: "command invalid",
    47001: "data format error",
}


def _error(code: int) -> web.Response:
    rid = secrets.token_hex(4)
    return web.json_response({"errcode": code, "errmsg": f"{ERRMSG.get(code, 'error')} rid: {rid}"})


@dataclass
class FakeWeChatAPI(LoopbackFake):
    CHAT_PATH = "/cgi-bin/message/custom/send"

    appid: str = "wx0000000000000000"
    secret: str = "test-app-secret"
    token_ttl_s: int = TOKEN_TTL_S

    send_errors: list[int] = field(default_factory=list)
    http_errors: list[int] = field(default_factory=list)
    out_of_window: set[str] = field(default_factory=set)
    quota_spent: set[str] = field(default_factory=set)

    token_requests: list[dict[str, Any]] = field(default_factory=list, init=False)
    sent: list[dict[str, Any]] = field(default_factory=list, init=False)
    typing: list[dict[str, Any]] = field(default_factory=list, init=False)
    _token: str = field(default="", init=False)
    _expires_at: float = field(default=0.0, init=False)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_get("/cgi-bin/token", self._token_get)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/custom/typing", self._typing)
        app.router.add_post("/_fake/control", self._control)
        app.router.add_get("/_fake/sent", self._debug_sent)

    # -- what tests use -----------------------------------------------------------------

    def invalidate_token(self) -> None:
        """The current token stops working (as after a forced refresh elsewhere)."""
        self._token = ""

    def expire_token(self) -> None:
        self._expires_at = time.time() - 1

    @property
    def force_refreshes(self) -> int:
        return sum(1 for r in self.token_requests if r.get("force_refresh") is True)

    # -- token --------------------------------------------------------------------------

    def _new_token(self) -> None:
        self._token = "ACCESS_TOKEN_" + secrets.token_urlsafe(48)
        self._expires_at = time.time() + self.token_ttl_s

    def _token_answer(self) -> web.Response:
        return web.json_response(
            {"access_token": self._token, "expires_in": int(self._expires_at - time.time())}
        )

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        if not isinstance(body, dict):
            return _error(47001)
        self.token_requests.append(body)
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        if body.get("appid") != self.appid:
            return _error(40013)
        if body.get("secret") != self.secret:
            return _error(40125)
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            return _error(47001)
        if force or not self._token or self._expires_at <= time.time():
            self._new_token()
        return self._token_answer()

    async def _token_get(self, request: web.Request) -> web.Response:
        await self.record(request)
        q = request.query
        self.token_requests.append(dict(q))
        if q.get("grant_type") != "client_credential":
            return _error(40002)
        if q.get("appid") != self.appid:
            return _error(40013)
        if q.get("secret") != self.secret:
            return _error(40125)
        self._new_token()
        return self._token_answer()

    def _check_token(self, request: web.Request) -> int:
        token = request.query.get("access_token")
        if not token:
            return 41001
        if not self._token or not secrets.compare_digest(token, self._token):
            return 40001
        if self._expires_at <= time.time():
            return 42001
        return 0

    # -- messages -----------------------------------------------------------------------

    async def _api_call(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response]:
        """Common checks; returns the body, or None and the error response."""
        body = await self.record(request)
        with self.counting():
            if self.http_errors:
                status = self.http_errors.pop(0)
                return None, web.Response(status=status, text="<html>Bad Gateway</html>")
            code = self._check_token(request)
            if code:
                return None, _error(code)
            if body is None:
                return None, _error(44002)
            if not isinstance(body, dict):
                return None, _error(47001)
            return body, web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _send(self, request: web.Request) -> web.Response:
        body, response = await self._api_call(request)
        if body is None:
            return response
        touser = body.get("touser")
        if not isinstance(touser, str) or not touser:
            return _error(40003)
        code = self._check_message(body)
        if code:
            return _error(code)
        if self.send_errors:
            return _error(self.send_errors.pop(0))
        if touser in self.out_of_window:
            return _error(45015)
        if touser in self.quota_spent:
            return _error(45047)
        await self.pause(self.delay)
        self.sent.append(body)
        return response

    @staticmethod
    def _check_message(body: dict[str, Any]) -> int:
        msgtype = body.get("msgtype")
        if msgtype == "text":
            text = body.get("text")
            content = text.get("content") if isinstance(text, dict) else None
            if not isinstance(content, str) or not content:
                return 47001
            if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
                return 45002
            return 0
        if msgtype == "msgmenu":
            menu = body.get("msgmenu")
            if not isinstance(menu, dict):
                return 47001
            options = menu.get("list")
            if not isinstance(options, list) or not 0 < len(options) <= MENU_MAX_OPTIONS:
                return 47001
            for option in options:
                if not (
                    isinstance(option, dict)
                    and isinstance(option.get("id"), str)
                    and isinstance(option.get("content"), str)
                    and option["id"]
                    and option["content"]
                ):
                    return 47001
            head = menu.get("head_content", "")
            tail = menu.get("tail_content", "")
            if not isinstance(head, str) or not isinstance(tail, str):
                return 47001
            size = len((head + tail + "".join(o["content"] for o in options)).encode("utf-8"))
            return 45002 if size > TEXT_LIMIT_BYTES else 0
        return 47001

    async def _typing(self, request: web.Request) -> web.Response:
        body, response = await self._api_call(request)
        if body is None:
            return response
        if not isinstance(body.get("touser"), str) or not body.get("touser"):
            return _error(40003)
        if body.get("command") not in ("Typing", "CancelTyping"):
            return _error(45072)
        self.typing.append(body)
        return response

    # -- control (process mode) ----------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("invalidate_token"):
            self.invalidate_token()
        if "send_errors" in body:
            self.send_errors = [int(c) for c in body["send_errors"]]
        if "http_errors" in body:
            self.http_errors = [int(c) for c in body["http_errors"]]
        if "out_of_window" in body:
            self.out_of_window = set(body["out_of_window"])
        if "quota_spent" in body:
            self.quota_spent = set(body["quota_spent"])
        if "delay" in body:
            self.delay = float(body["delay"])
        return web.json_response({"ok": True})

    async def _debug_sent(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"sent": self.sent, "typing": self.typing, "token_requests": len(self.token_requests)}
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="A loopback fake of the WeChat API.")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--appid", default="wx0000000000000000")
    parser.add_argument("--secret", default="test-app-secret")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before a send answers")
    args = parser.parse_args(sys.argv[1:])
    fake = FakeWeChatAPI(
        host=args.host, port=args.port, appid=args.appid, secret=args.secret, delay=args.delay
    )
    asyncio.run(serve_until_signalled(fake))


if __name__ == "__main__":
    main()


# ------------------------------------------------------------------------------------------
# WeChat's side of the webhook: deliveries built and signed the way WeChat builds them.


@dataclass
class WeChatPush:
    """Builds webhook deliveries as WeChat's servers do: plain, compatible or safe mode.

    Signatures are SHA-1 over the sorted token, timestamp and nonce (plus the ciphertext for
    ``msg_signature``); encryption is wechatpy's own ``WeChatCrypto``.
    """

    token: str
    app_id: str = "wx0000000000000000"
    aes_key: str | None = None
    mode: str = "plain"  # plain | compat | safe
    account: str = "gh_careline_test"

    def next_msg_id(self) -> int:
        """A fresh 64-bit MsgId, unique across senders as WeChat's are."""
        return secrets.randbits(62) + 1

    def message(
        self,
        openid: str,
        msgtype: str,
        fields: dict[str, str | int],
        *,
        msg_id: int | None = None,
        create_time: int | None = None,
    ) -> tuple[str, int]:
        """The XML of one message, and its MsgId (0 for events)."""
        parts = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": msgtype,
            **fields,
        }
        mid = 0
        if msgtype != "event":
            mid = msg_id or self.next_msg_id()
            parts["MsgId"] = mid
        body = "".join(
            f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
            for k, v in parts.items()
        )
        return f"<xml>{body}</xml>", mid

    def text(self, openid: str, content: str, **kw: Any) -> tuple[str, int]:
        return self.message(openid, "text", {"Content": content}, **kw)

    def sign(self, *parts: str) -> str:
        import hashlib

        return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()

    def deliver(self, xml: str, *, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and body of one delivery of ``xml``."""
        timestamp = str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        openid = xml.split("<FromUserName><![CDATA[", 1)[1].split("]]>", 1)[0]
        query = {
            "signature": self.sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        if self.mode == "plain":
            return query, xml.encode()
        from wechatpy.crypto import WeChatCrypto

        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        envelope = crypto.encrypt_message(xml, nonce, timestamp)
        encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        query["encrypt_type"] = "aes"
        query["msg_signature"] = self.sign(self.token, timestamp, nonce, encrypt)
        inner = xml[len("<xml>") : -len("</xml>")] if self.mode == "compat" else ""
        if self.mode == "safe":
            inner = f"<ToUserName><![CDATA[{self.account}]]></ToUserName>"
        return query, f"<xml>{inner}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()

    def read_reply(self, body: str) -> dict[str, Any] | None:
        """The reply as a dict (decrypted and its signature checked), or None for
        ``success`` / an empty body."""
        import xmltodict  # type: ignore[import-untyped]

        if body in ("", "success"):
            return None
        data: dict[str, Any] = xmltodict.parse(body)["xml"]
        if "Encrypt" in data:
            from wechatpy.crypto import WeChatCrypto

            crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
            plain = crypto.decrypt_message(
                body, data["MsgSignature"], data["TimeStamp"], data["Nonce"]
            )
            inner: dict[str, Any] = xmltodict.parse(plain)["xml"]
            inner["_encrypted"] = True
            return inner
        return data
