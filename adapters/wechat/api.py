"""The WeChat API careline calls, over aiohttp: one shared access token, typed errors.

Every replica uses the same access token. It lives in Redis; when it is missing or close to
expiry, one replica (holding a Redis lock) fetches a new one through ``/cgi-bin/stable_token``
and the others wait for it. A token WeChat rejects (40001/42001/40014) is refreshed once and
the call retried; server errors and timeouts are retried with a bounded backoff; the errors a
decision depends on (45015 outside the 48-hour window, 45047 quota) surface as their own types.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import redis.exceptions

log = logging.getLogger(__name__)

# Redis failing (redis-py raises its own errors for a refused, dropped or slow connection);
# not the WeChat API's network errors, which are the caller's to see
REDIS_ERRORS = (redis.exceptions.RedisError,)

STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
CUSTOM_SEND_PATH = "/cgi-bin/message/custom/send"
CUSTOM_TYPING_PATH = "/cgi-bin/message/custom/typing"

REQUEST_TIMEOUT_S = 5.0
TYPING_TIMEOUT_S = 2.0
# Server errors and timeouts: this many attempts in all, the pause doubling from the first.
MAX_ATTEMPTS = 3
BACKOFF_FIRST_S = 0.5
# A token is refreshed this long before WeChat says it expires (stable_token itself renews
# five minutes early, so a normal-mode call then returns the next token).
TOKEN_REFRESH_MARGIN_S = 300
TOKEN_LOCK_TTL_MS = 10_000
TOKEN_WAIT_POLL_S = 0.05
# WeChat allows 2000 access-token requests a day; warn well before.
TOKEN_DAILY_QUOTA = 2000
TOKEN_QUOTA_WARN = 1500
TOKEN_COUNT_TTL_S = 2 * 86_400

# Release a lock only if it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ErrCode:
    """WeChat error codes careline acts on."""

    OK = 0
    SYSTEM_BUSY = -1
    INVALID_CREDENTIAL = 40001  # token invalid or not the latest
    INVALID_TOKEN = 40014
    TOKEN_EXPIRED = 42001
    OUT_OF_WINDOW = 45015  # the user last wrote more than 48 hours ago
    QUOTA = 45047  # too many messages for the user's last message
    TYPING_NOT_ALLOWED = 45080
    ALREADY_TYPING = 45081


TOKEN_ERRORS = frozenset({ErrCode.INVALID_CREDENTIAL, ErrCode.INVALID_TOKEN, ErrCode.TOKEN_EXPIRED})


class WeChatAPIError(Exception):
    """WeChat answered with an error code (the message carries no patient text)."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg[:120]}")
        self.errcode = errcode
        self.errmsg = errmsg


class TokenRejected(WeChatAPIError):
    """The access token was refused even after one refresh."""


class OutsideWindow(WeChatAPIError):
    """45015: the patient has not written for 48 hours; WeChat will not deliver."""


class QuotaExceeded(WeChatAPIError):
    """45047 (or our own count): no more messages for this patient until they write again."""


class Unavailable(Exception):
    """WeChat could not be reached, or kept failing, after the bounded retries."""


class TypingCommand(StrEnum):
    TYPING = "Typing"
    CANCEL = "CancelTyping"


def _typed(errcode: int, errmsg: str) -> WeChatAPIError:
    if errcode == ErrCode.OUT_OF_WINDOW:
        return OutsideWindow(errcode, errmsg)
    if errcode == ErrCode.QUOTA:
        return QuotaExceeded(errcode, errmsg)
    if errcode in TOKEN_ERRORS:
        return TokenRejected(errcode, errmsg)
    return WeChatAPIError(errcode, errmsg)


class _Retryable(Exception):
    pass


@dataclass
class _Cached:
    token: str
    expires_at: float


class TokenManager:
    """One access token per app, shared by every replica through Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        app_id: str,
        secret: str,
        api_base: str,
        session: aiohttp.ClientSession,
    ) -> None:
        self._redis = redis
        self._app_id = app_id
        self._secret = secret
        self._api_base = api_base
        self._session = session
        self._key = f"{prefix}:wechat:token:{app_id}"
        self._lock_key = f"{prefix}:wechat:token-lock:{app_id}"
        self._count_prefix = f"{prefix}:wechat:token-refreshes:{app_id}"
        self._release: Any = redis.register_script(_RELEASE)
        self._local: _Cached | None = None
        self._local_lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token, fetching one only when none is fresh enough."""
        local = self._local
        if local is not None and local.expires_at - TOKEN_REFRESH_MARGIN_S > time.time():
            return local.token
        async with self._local_lock:
            try:
                cached = await self._read()
                if cached is not None and cached.expires_at - TOKEN_REFRESH_MARGIN_S > time.time():
                    self._local = cached
                    return cached.token
                return await self._refresh(force=False, rejected=None)
            except REDIS_ERRORS as exc:
                # stable_token in normal mode hands every caller the current token without
                # invalidating it, so asking WeChat directly is safe for the other replicas
                log.warning(
                    "WeChat token store unavailable (Redis %s): asking WeChat directly",
                    type(exc).__name__,
                )
                fresh = await self._fetch(False, counted=False)
                self._local = fresh
                return fresh.token

    async def rejected(self, token: str, errcode: int) -> str:
        """WeChat refused ``token``: get the next one (once for all replicas)."""
        async with self._local_lock:
            self._local = None
            cached = await self._read()
            if cached is not None and cached.token != token:
                self._local = cached  # another replica already replaced it
                return cached.token
            # An expired token renews normally; an invalid one needs a forced refresh.
            force = errcode != ErrCode.TOKEN_EXPIRED
            return await self._refresh(force=force, rejected=token)

    async def refreshes_today(self) -> int:
        raw = await self._redis.get(self._count_key())
        return int(raw or 0)

    def _count_key(self) -> str:
        return f"{self._count_prefix}:{datetime.now(UTC):%Y%m%d}"

    async def _read(self) -> _Cached | None:
        raw = await self._redis.get(self._key)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return _Cached(str(data["token"]), float(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None

    async def _refresh(self, *, force: bool, rejected: str | None) -> str:
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + TOKEN_LOCK_TTL_MS / 1000
        while not await self._redis.set(self._lock_key, owner, nx=True, px=TOKEN_LOCK_TTL_MS):
            # Another replica is fetching: use its token when it lands.
            await asyncio.sleep(TOKEN_WAIT_POLL_S)
            cached = await self._read()
            if (
                cached is not None
                and cached.token != rejected
                and cached.expires_at - TOKEN_REFRESH_MARGIN_S > time.time()
            ):
                self._local = cached
                return cached.token
            if time.monotonic() > deadline:
                raise Unavailable("timed out waiting for another replica's access token")
        try:
            cached = await self._read()
            if (
                cached is not None
                and cached.token != rejected
                and cached.expires_at - TOKEN_REFRESH_MARGIN_S > time.time()
            ):
                self._local = cached
                return cached.token
            fresh = await self._fetch(force)
            ttl = max(1, int(fresh.expires_at - time.time()))
            await self._redis.set(
                self._key,
                json.dumps({"token": fresh.token, "expires_at": fresh.expires_at}),
                ex=ttl,
            )
            self._local = fresh
            return fresh.token
        finally:
            await self._release(keys=[self._lock_key], args=[owner])

    async def _fetch(self, force: bool, counted: bool = True) -> _Cached:
        """A token from stable_token; ``counted``: the day's fetches counted in Redis."""
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._secret,
            "force_refresh": force,
        }
        count = 0
        if counted:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(self._count_key())
                pipe.expire(self._count_key(), TOKEN_COUNT_TTL_S)
                count, _ = await pipe.execute()
        if int(count) >= TOKEN_QUOTA_WARN:
            log.warning(
                "WeChat access token fetched %s times today (daily quota %s)",
                count,
                TOKEN_DAILY_QUOTA,
            )
        data = await _post_json(self._session, self._api_base + STABLE_TOKEN_PATH, body)
        errcode = int(data.get("errcode") or 0)
        if errcode != ErrCode.OK or "access_token" not in data:
            raise _typed(errcode, str(data.get("errmsg", "")))
        log.info("WeChat access token refreshed (force=%s)", force)
        return _Cached(str(data["access_token"]), time.time() + float(data.get("expires_in", 0)))


async def _post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any],
    *,
    params: Mapping[str, str] | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
    attempts: int = MAX_ATTEMPTS,
) -> dict[str, Any]:
    """POST JSON (UTF-8, not \\u-escaped), retrying server errors and timeouts with backoff."""
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    pause = BACKOFF_FIRST_S
    for attempt in range(1, attempts + 1):
        try:
            async with session.post(
                url,
                data=payload,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                if response.status >= 500:
                    raise _Retryable(f"HTTP {response.status}")
                if response.status != 200:
                    raise Unavailable(f"HTTP {response.status}")
                data = json.loads(await response.read())
                if not isinstance(data, dict):
                    raise Unavailable("unexpected response body")
                if int(data.get("errcode") or 0) == ErrCode.SYSTEM_BUSY:
                    raise _Retryable("system busy (-1)")
                return data
        except (_Retryable, aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, _Retryable) else type(exc).__name__
            if attempt == attempts:
                raise Unavailable(
                    f"WeChat API failed after {attempts} attempts ({reason})"
                ) from None
            log.info("WeChat API %s, retrying in %.1fs", reason, pause)
            await asyncio.sleep(pause)
            pause *= 2
        except ValueError:
            raise Unavailable("response is not JSON") from None
    raise Unavailable("unreachable")  # pragma: no cover


class WeChatAPI:
    """The customer-service message calls careline makes."""

    def __init__(self, tokens: TokenManager, api_base: str, session: aiohttp.ClientSession) -> None:
        self.tokens = tokens
        self._api_base = api_base
        self._session = session

    async def send_text(self, openid: str, text: str) -> None:
        await self._call(
            CUSTOM_SEND_PATH, {"touser": openid, "msgtype": "text", "text": {"content": text}}
        )

    async def send_menu(
        self, openid: str, head: str, options: list[tuple[str, str]], tail: str = ""
    ) -> None:
        """A ``msgmenu`` message: clickable options that come back as text with an id."""
        menu = {
            "head_content": head,
            "list": [{"id": oid, "content": label} for oid, label in options],
            "tail_content": tail,
        }
        await self._call(
            CUSTOM_SEND_PATH, {"touser": openid, "msgtype": "msgmenu", "msgmenu": menu}
        )

    async def typing(self, openid: str, command: TypingCommand) -> None:
        await self._call(
            CUSTOM_TYPING_PATH,
            {"touser": openid, "command": str(command)},
            timeout_s=TYPING_TIMEOUT_S,
            attempts=1,
        )

    async def _call(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
        attempts: int = MAX_ATTEMPTS,
    ) -> None:
        token = await self.tokens.token()
        for retried in (False, True):
            data = await _post_json(
                self._session,
                self._api_base + path,
                body,
                params={"access_token": token},
                timeout_s=timeout_s,
                attempts=attempts,
            )
            errcode = int(data.get("errcode") or 0)
            if errcode == ErrCode.OK:
                return
            if errcode in TOKEN_ERRORS and not retried:
                log.info("WeChat refused the access token (%s); refreshing once", errcode)
                token = await self.tokens.rejected(token, errcode)
                continue
            raise _typed(errcode, str(data.get("errmsg", "")))
