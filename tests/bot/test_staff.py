"""Staff accounts: `careline staff add/disable` as an operator runs them (a subprocess, the
password on standard input), Argon2 hashes in real Redis, and sessions that end with the
account."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.staff import StaffAccounts, StaffError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough secret"


async def careline(
    args: list[str], stdin: str, cwd: Path, redis_url: str, prefix: str
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "PYTHONPATH": str(ROOT),
        "CARELINE_REDIS_URL": redis_url,
        "CARELINE_REDIS_PREFIX": prefix,
        "CARELINE_DATA_DIR": str(cwd / "data"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_adds_and_disables_an_account(
    redis_url: str, prefix: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    code, out, err = await careline(
        ["staff", "add", "nurse.li"], PASSWORD + "\n", tmp_path, redis_url, prefix
    )
    assert code == 0, err
    assert "added" in out
    stored = await redis_client.hget(f"{prefix}:staff:nurse.li", "hash")
    assert stored is not None and stored.startswith(b"$argon2id$")
    assert PASSWORD.encode() not in stored

    accounts = StaffAccounts(redis_client, prefix)
    assert await accounts.verify("nurse.li", PASSWORD)
    assert not await accounts.verify("nurse.li", PASSWORD + "x")
    token, _session = await accounts.open_session("nurse.li")
    assert await accounts.session(token) is not None

    code, out, _ = await careline(["staff", "disable", "nurse.li"], "", tmp_path, redis_url, prefix)
    assert code == 0 and "disabled" in out
    assert await accounts.session(token) is None
    assert not await accounts.verify("nurse.li", PASSWORD)

    code, _, err = await careline(["staff", "disable", "nobody"], "", tmp_path, redis_url, prefix)
    assert code == 1 and "no staff account" in err
    code, _, err = await careline(["staff", "add", "x y"], PASSWORD, tmp_path, redis_url, prefix)
    assert code == 2 and "name" in err
    code, _, err = await careline(["staff", "add", "short"], "abc\n", tmp_path, redis_url, prefix)
    assert code == 2 and "at least" in err

    # Adding again sets a new password and enables the account.
    code, out, _ = await careline(
        ["staff", "add", "nurse.li"], "another long secret\n", tmp_path, redis_url, prefix
    )
    assert code == 0 and "updated" in out
    assert await accounts.verify("nurse.li", "another long secret")


async def test_unknown_names_and_bad_passwords(redis_client: aioredis.Redis, prefix: str) -> None:
    accounts = StaffAccounts(redis_client, prefix)
    assert not await accounts.verify("ghost", PASSWORD)
    assert not await accounts.verify("../../etc", PASSWORD)
    assert await accounts.session("not-a-token") is None
    assert await accounts.session(None) is None
    with pytest.raises(StaffError):
        await accounts.add("ok", "short")
