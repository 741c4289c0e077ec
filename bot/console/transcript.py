"""A held chat's transcript, read from (and staff replies written to) the context window.

The window (``bot.context``) holds masked exchanges ``{"u": patient, "a": answer}``. Staff
replies go into the same window, so the model sees them once the chat is back with the bot:
a reply fills the answer of the patient's last unanswered message, or starts an exchange of
its own; either way the element is marked ``"by": "staff"`` (``bot.context`` ignores the
mark). Only masked text is ever written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis

Role = Literal["patient", "bot", "staff"]
STAFF_MARK = "staff"

# KEYS[1] window. ARGV: masked text, turns, ttl
_APPEND_STAFF = """
local last = redis.call('LINDEX', KEYS[1], -1)
if last then
  local ok, ex = pcall(cjson.decode, last)
  if ok and type(ex) == 'table' and ex['a'] == '' and ex['by'] == nil then
    ex['a'] = ARGV[1]
    ex['by'] = 'staff'
    redis.call('LSET', KEYS[1], -1, cjson.encode(ex))
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 1
  end
end
redis.call('RPUSH', KEYS[1], cjson.encode({u = '', a = ARGV[1], by = 'staff'}))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 2
"""


@dataclass(frozen=True)
class Line:
    role: Role
    text: str
    sources: tuple[str, ...] = ()  # the knowledge entries a bot answer used


def window_key(prefix: str, conversation: str) -> str:
    """The same key as ``ContextStore.window_key``."""
    return f"{prefix}:ctx:{conversation}"


def parse_window(raw: list[Any]) -> list[Line]:
    lines: list[Line] = []
    for item in raw:
        try:
            data = json.loads(item)
            user, answer = str(data.get("u", "")), str(data.get("a", ""))
        except (ValueError, AttributeError, TypeError):
            continue
        if user:
            lines.append(Line("patient", user))
        if answer:
            staff = data.get("by") == STAFF_MARK
            sources = () if staff else tuple(str(s) for s in data.get("s") or ())
            lines.append(Line("staff" if staff else "bot", answer, sources))
    return lines


class Transcript:
    def __init__(self, redis: aioredis.Redis, prefix: str, turns: int, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._turns = max(1, turns)
        self._ttl_s = ttl_s
        self._append: Any = redis.register_script(_APPEND_STAFF)

    async def read(self, conversation: str) -> list[Line]:
        return parse_window(await self._redis.lrange(window_key(self._prefix, conversation), 0, -1))

    async def add_staff(self, conversation: str, masked: str) -> None:
        await self._append(
            keys=[window_key(self._prefix, conversation)],
            args=[masked, self._turns, self._ttl_s],
        )
