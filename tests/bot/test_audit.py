"""`careline audit export --since DATE` writes the audit stream as JSON Lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from bot.audit import AuditLog
from bot.handoff import HandoffStore
from tests.bot.test_staff import careline


async def test_export_writes_json_lines_since_a_date(
    redis_url: str, prefix: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    store = HandoffStore(redis_client, prefix, 3600)
    await store.escalate("wechat:o-abc", "emergency", "stroke", "high")
    await store.claim("wechat:o-abc", "alice")
    await AuditLog(redis_client, prefix).record("alice", "reveal", "wechat:o-abc", "values=2")
    await store.close("wechat:o-abc", "alice")

    today = datetime.now(UTC).date().isoformat()
    code, out, err = await careline(
        ["audit", "export", "--since", today], "", tmp_path, redis_url, prefix
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("system", "escalate"),
        ("alice", "claim"),
        ("alice", "reveal"),
        ("alice", "close"),
    ]
    assert all(r["conversation"] == "wechat:o-abc" and r["time"].startswith(today) for r in rows)
    assert "4 audit entries" in err

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    target = tmp_path / "audit.jsonl"
    code, _, _ = await careline(
        ["audit", "export", "--since", tomorrow, "-o", str(target)], "", tmp_path, redis_url, prefix
    )
    assert code == 0 and target.read_text() == ""

    code, _, err = await careline(
        ["audit", "export", "--since", "last tuesday"], "", tmp_path, redis_url, prefix
    )
    assert code == 2 and "not a date" in err
