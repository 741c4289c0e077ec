"""The audit log: who did what to which conversation, and when. Never any patient text.

Entries go to one Redis stream, ``<prefix>:audit``: escalations, claims, staff messages,
reveals, releases, closes and the timers' own actions (actor ``system``) are appended by the
handoff scripts or by the console, in the same step as the action they record.
``careline audit export --since DATE`` writes them as JSON Lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, TextIO

import redis.asyncio as aioredis

from bot.config import Settings

# Roughly how many entries the stream keeps (older ones are trimmed in whole blocks);
# export regularly if a longer history must be kept.
AUDIT_MAXLEN = 1_000_000
EXPORT_PAGE = 1000
MS_PER_S = 1000


def audit_stream_key(prefix: str) -> str:
    return f"{prefix}:audit"


def _decode(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class AuditLog:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self.stream = audit_stream_key(prefix)

    async def record(
        self, actor: str, action: str, conversation: str = "", detail: str = "", now: float = 0.0
    ) -> None:
        """Append one entry; ``detail`` is a label or a count, never patient text."""
        at = now or datetime.now(UTC).timestamp()
        await self._redis.xadd(
            self.stream,
            {
                "at": f"{at:.3f}",
                "actor": actor,
                "action": action,
                "conversation": conversation,
                "detail": detail,
            },
            maxlen=AUDIT_MAXLEN,
            approximate=True,
        )

    async def entries(self, since: datetime | None = None) -> AsyncIterator[dict[str, str]]:
        """Entries from ``since`` on (stream ids are millisecond times), oldest first."""
        start = f"{int(since.timestamp() * MS_PER_S)}-0" if since else "-"
        while True:
            page: Any = await self._redis.xrange(self.stream, min=start, max="+", count=EXPORT_PAGE)
            for entry_id, fields in page:
                entry = {_decode(k): _decode(v) for k, v in fields.items()}
                at = float(entry.get("at") or 0)
                entry["id"] = _decode(entry_id)
                entry["time"] = datetime.fromtimestamp(at, UTC).isoformat()
                yield entry
            if len(page) < EXPORT_PAGE:
                return
            start = "(" + _decode(page[-1][0])


async def export(settings: Settings, since: datetime | None, out: TextIO) -> int:
    """Write the audit entries as JSON Lines; returns how many."""
    from bot.redis_conn import open_redis

    handle = await open_redis(settings.redis_url, settings.data_dir, settings.redis_max_connections)
    count = 0
    try:
        log = AuditLog(handle.client, settings.redis_prefix)
        async for entry in log.entries(since):
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    finally:
        await handle.close()
    return count


def parse_since(value: str) -> datetime:
    """A date or date-time in ISO form; without a zone it is UTC."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _run_export(settings: Settings, args: argparse.Namespace) -> int:
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            count = asyncio.run(export(settings, args.since, out))
    else:
        count = asyncio.run(export(settings, args.since, sys.stdout))
    print(f"careline: {count} audit entries written", file=sys.stderr)
    return 0


def register_cli(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="the staff console's audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    exp = sub.add_parser("export", help="write audit entries as JSON Lines")
    exp.add_argument("--since", type=parse_since, default=None, help="first date (YYYY-MM-DD, UTC)")
    exp.add_argument("--output", "-o", help="file to write (default: standard output)")
    exp.set_defaults(run=_run_export)
