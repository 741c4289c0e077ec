"""Staff accounts and console sessions, in Redis so every replica shares them.

Passwords are stored only as Argon2id hashes (argon2-cffi's defaults). A session is a random
token in an HttpOnly cookie; Redis keeps only its SHA-256, the staff name and the session's
CSRF token. Disabling an account deletes its sessions, ends its open event streams (through
the console event stream, so on every replica), puts the chats it held back in the queue,
and every request re-checks the account, so a disabled member of staff is out at once.
Login attempts are rate-limited per name and per client address (the ``limits`` library on
the same Redis).

An account has a role: ``staff`` (answer the chats they claim) or ``lead`` (also take over
or reassign any chat, and see any held chat's details).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import re
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse

from bot.audit import AuditLog
from bot.config import Settings
from bot.handoff import EventType, HandoffStore
from bot.ratelimit import moving_window

SESSION_TTL_S = 12 * 3600
TOKEN_BYTES = 32
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOGIN_RATE_PER_NAME = "5/minute"
LOGIN_RATE_PER_ADDRESS = "20/minute"
# How long a chat taken from a disabled account may wait for a colleague (the CLI passes
# CARELINE_HANDOFF_CLAIM_TIMEOUT_S).
DEFAULT_CLAIM_WITHIN_S = 600.0
ROLE_STAFF = "staff"
ROLE_LEAD = "lead"
ROLES = (ROLE_STAFF, ROLE_LEAD)

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(TOKEN_BYTES))


class StaffError(ValueError):
    """A bad name or password for an account change (the message says which rule)."""


@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    token_hash: str
    role: str = ROLE_STAFF

    @property
    def lead(self) -> bool:
        return self.role == ROLE_LEAD


def valid_name(name: str) -> bool:
    return bool(NAME_PATTERN.match(name))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _decode(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class StaffAccounts:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.audit = AuditLog(redis, prefix)
        self._limiter = moving_window(redis, f"{prefix}:login-rl")
        self._per_name = parse(LOGIN_RATE_PER_NAME)
        self._per_address = parse(LOGIN_RATE_PER_ADDRESS)

    def _account(self, name: str) -> str:
        return f"{self._prefix}:staff:{name}"

    def _session(self, token_hash: str) -> str:
        return f"{self._prefix}:staff-session:{token_hash}"

    def _sessions_of(self, name: str) -> str:
        return f"{self._prefix}:staff-sessions:{name}"

    # -------------------------------------------------------------- accounts

    async def add(self, name: str, password: str, role: str = ROLE_STAFF) -> bool:
        """Create the account, or set a new password and role (and enable it); True when new."""
        if not valid_name(name):
            raise StaffError("a name is 1-64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise StaffError(f"a role is one of {', '.join(ROLES)}")
        if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise StaffError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
        digest = await asyncio.to_thread(_hasher.hash, password)
        key = self._account(name)
        created = not await self._redis.exists(key)
        await self._redis.hset(
            key,
            mapping={
                "hash": digest,
                "disabled": "0",
                "role": role,
                "updated": f"{time.time():.0f}",
            },
        )
        action = "staff_add" if created else "staff_password"
        await self.audit.record("cli", action, "", f"{name};role={role}")
        return created

    async def disable(self, name: str, claim_within_s: float = DEFAULT_CLAIM_WITHIN_S) -> bool:
        """Disable the account and end its sessions; False when there is no such account."""
        key = self._account(name)
        if not await self._redis.exists(key):
            return False
        await self._redis.hset(key, "disabled", "1")
        hashes = [_decode(h) for h in await self._redis.smembers(self._sessions_of(name))]
        await self._redis.delete(self._sessions_of(name), *(self._session(h) for h in hashes))
        await self.audit.record("cli", "staff_disable", "", name)
        # Consoles on every replica end this account's event streams at once, and the chats
        # it held go back to the queue for a colleague.
        store = HandoffStore(self._redis, self._prefix, ttl_s=1)  # neither call sets an expiry
        await store.publish(EventType.ACCOUNT_DISABLED, "", name=name)
        await store.unclaim_all(name, "account_disabled", claim_within_s)
        return True

    async def active(self, name: str) -> bool:
        return await self._redis.hget(self._account(name), "disabled") == b"0"

    async def role(self, name: str) -> str | None:
        """The role of an active account; None when there is no such active account."""
        disabled, role = await self._redis.hmget(self._account(name), ["disabled", "role"])
        if disabled != b"0":
            return None
        return _decode(role) if role else ROLE_STAFF

    async def names(self) -> list[tuple[str, bool]]:
        """Every account and whether it is active."""
        return [(name, active) for name, active, _role in await self.accounts()]

    async def accounts(self) -> list[tuple[str, bool, str]]:
        """Every account: name, whether it is active, role."""
        found: list[tuple[str, bool, str]] = []
        async for key in self._redis.scan_iter(match=self._account("*")):
            name = _decode(key).removeprefix(self._account(""))
            disabled, role = await self._redis.hmget(self._account(name), ["disabled", "role"])
            found.append((name, disabled == b"0", _decode(role) if role else ROLE_STAFF))
        return sorted(found)

    # ---------------------------------------------------------------- login

    async def allow_attempt(self, name: str, address: str) -> bool:
        """Both limits are charged, so a guesser cannot spread over names or addresses."""
        by_name = await self._limiter.hit(self._per_name, "name", name)
        by_address = await self._limiter.hit(self._per_address, "address", address)
        return by_name and by_address

    async def verify(self, name: str, password: str) -> bool:
        fields = await self._redis.hgetall(self._account(name)) if valid_name(name) else {}
        digest = _decode(fields.get(b"hash", b"")) or _DUMMY_HASH
        ok: bool
        try:
            ok = await asyncio.to_thread(_hasher.verify, digest, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not fields or fields.get(b"disabled") != b"0":
            return False
        if ok and _hasher.check_needs_rehash(digest):
            await self._redis.hset(self._account(name), "hash", _hasher.hash(password))
        return bool(ok)

    async def open_session(self, name: str) -> tuple[str, Session]:
        """A new session; returns the cookie token (never stored) and the session."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(name, secrets.token_urlsafe(TOKEN_BYTES), _token_hash(token))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._session(session.token_hash), mapping={"name": name, "csrf": session.csrf}
            )
            pipe.expire(self._session(session.token_hash), SESSION_TTL_S)
            pipe.sadd(self._sessions_of(name), session.token_hash)
            pipe.expire(self._sessions_of(name), SESSION_TTL_S)
            await pipe.execute()
        return token, session

    async def session(self, token: str | None) -> Session | None:
        """The live session for a cookie token; None if unknown, expired or disabled."""
        if not token:
            return None
        token_hash = _token_hash(token)
        fields = await self._redis.hgetall(self._session(token_hash))
        if not fields:
            return None
        name = _decode(fields[b"name"])
        role = await self.role(name)
        if role is None:
            await self.close_session(token_hash, name)
            return None
        return Session(name, _decode(fields[b"csrf"]), token_hash, role)

    async def close_session(self, token_hash: str, name: str) -> None:
        await self._redis.delete(self._session(token_hash))
        await self._redis.srem(self._sessions_of(name), token_hash)


# ------------------------------------------------------------------- CLI


def read_password(stdin: Any = None) -> str:
    """Without echo at a terminal; one line from standard input otherwise (scripts, tests)."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise StaffError("the two passwords differ")
        return first
    return str(stream.readline()).rstrip("\r\n")


async def _with_accounts(settings: Settings, action: Any) -> Any:
    from bot.redis_conn import open_redis

    handle = await open_redis(settings.redis_url, settings.data_dir, settings.redis_max_connections)
    try:
        return await action(StaffAccounts(handle.client, settings.redis_prefix))
    finally:
        await handle.close()


def _run_add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if not valid_name(args.name):
            raise StaffError("a name is 1-64 letters, digits, '.', '_' or '-'")
        password = read_password()
        created = asyncio.run(
            _with_accounts(settings, lambda a: a.add(args.name, password, args.role))
        )
    except StaffError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 2
    print(f"careline: staff account {args.name} ({args.role}) {'added' if created else 'updated'}")
    return 0


def _run_disable(settings: Settings, args: argparse.Namespace) -> int:
    found = asyncio.run(
        _with_accounts(settings, lambda a: a.disable(args.name, settings.handoff_claim_timeout_s))
    )
    if not found:
        print(f"careline: no staff account {args.name}", file=sys.stderr)
        return 1
    print(
        f"careline: staff account {args.name} disabled; its sessions are ended and the chats "
        "it held are back in the queue"
    )
    return 0


def _run_list(settings: Settings, args: argparse.Namespace) -> int:
    for name, active, role in asyncio.run(_with_accounts(settings, lambda a: a.accounts())):
        print(f"{name}\t{role}\t{'active' if active else 'disabled'}")
    return 0


def register_cli(subparsers: Any) -> None:
    staff = subparsers.add_parser("staff", help="staff console accounts")
    sub = staff.add_subparsers(dest="staff_command", required=True)
    add = sub.add_parser(
        "add", help="add an account or set its password (read without echo, or from stdin)"
    )
    add.add_argument("name")
    add.add_argument(
        "--role",
        choices=ROLES,
        default=ROLE_STAFF,
        help="lead: may also take over or reassign any chat (default: staff)",
    )
    add.set_defaults(run=_run_add)
    disable = sub.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name")
    disable.set_defaults(run=_run_disable)
    sub.add_parser("list", help="list accounts").set_defaults(run=_run_list)
