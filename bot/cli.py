"""The ``careline`` command: chat, serve, check, config."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from adapters import registry
from bot.config import ConfigError, Settings, load_settings, redacted

log = logging.getLogger("careline")

# Modules that add commands: each has ``register_cli(subparsers)`` adding parsers whose
# defaults carry ``run=function(settings, args) -> exit code``.
# Channels add theirs through their spec (adapters.registry).
CLI_PLUGINS: tuple[str, ...] = ("bot.evaluation", "bot.staff", "bot.audit", "bot.knowledge.cli")

# Library loggers that are chatty at INFO (httpx logs every request line).
QUIET_LOGGERS = ("httpx", "httpcore", "jieba", "openai", "asyncio")


def setup_logging(level: str, fmt: str = "text") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLogFormatter())
    for name in (*QUIET_LOGGERS, *registry.library_loggers()):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


_CONV_RE = re.compile(r"\bconv=([0-9a-f]+)")


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line, for a log collector: time, level, logger, message, and the
    conversation's tag (the hash careline logs as ``conv=…``) as a field of its own. An
    exception is named by its type only (its text could quote what caused it)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        conv = _CONV_RE.search(message)
        if conv:
            entry["conversation"] = conv.group(1)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


# ------------------------------------------------------------------ check

# The phone number the settings ship with: a hospital must replace it.
PLACEHOLDER_PHONE = Settings.model_fields["hospital_phone"].default


async def check(settings: Settings, out: TextIO) -> int:
    """Tell in plain words what is configured, what is reachable, and what to do."""
    from bot.llm import make_llm
    from bot.redis_conn import open_redis
    from bot.staff import StaffAccounts

    problems: list[str] = []
    out.write(f"Hospital:  {settings.hospital_name} (region {settings.hospital_region})\n")
    if settings.hospital_phone == PLACEHOLDER_PHONE:
        problems.append("setup")
        out.write(
            f"Phone:     STILL THE PLACEHOLDER {PLACEHOLDER_PHONE}: emergency replies would give "
            "patients this number. Set CARELINE_HOSPITAL_PHONE.\n"
        )
    try:
        handle = await open_redis(
            settings.redis_url, settings.data_dir, settings.redis_max_connections
        )
        try:
            await asyncio.wait_for(handle.client.ping(), 5)
            out.write(f"Redis:     OK, {handle.description}\n")
            accounts = await StaffAccounts(handle.client, settings.redis_prefix).names()
            active = [name for name, on in accounts if on]
            if active:
                out.write(f"Staff:     {len(active)} active console account(s)\n")
            else:
                problems.append("setup")
                out.write(
                    "Staff:     NO ACTIVE ACCOUNTS: nobody can log in to the staff console to "
                    "answer escalated chats. Add one with `careline staff add NAME`.\n"
                )
        finally:
            await handle.close()
    except Exception as exc:
        problems.append("redis")
        out.write(
            f"Redis:     NOT REACHABLE ({type(exc).__name__}). Check CARELINE_REDIS_URL, "
            "or unset it to use the embedded redis-server.\n"
        )
    for spec in registry.SPECS:
        for problem in spec.check(settings):
            problems.append("setup")
            out.write(problem + "\n")
    target = settings.ollama_host if settings.llm_backend == "ollama" else settings.openai_base_url
    llm = make_llm(settings)
    try:
        readiness = await llm.check()
    finally:
        await llm.aclose()
    if readiness.reachable and readiness.model_present:
        out.write(
            f"LLM:       OK, {settings.llm_backend} at {target}, model {settings.llm_model}\n"
        )
    else:
        problems.append("llm")
        out.write(
            f"LLM:       NOT READY ({settings.llm_backend} at {target}): {readiness.detail}\n"
        )
    if settings.vault_key is None:
        out.write(
            f"Vault key: not set; careline keeps one in {settings.data_dir}/vault.key, which "
            "serves every process on this machine. Replicas on several machines must share "
            "CARELINE_VAULT_KEY (make one with `careline config --new-vault-key`).\n"
        )
    if not problems:
        out.write("All good: careline is ready.\n")
    elif problems == ["llm"]:
        out.write("1 problem: emergency replies and masking work, model answers do not.\n")
    else:
        out.write(f"{len(problems)} problem(s): fix them before careline goes live.\n")
    return 0 if not problems else 1


# ----------------------------------------------------------------- config


def show_config(settings: Settings, out: TextIO) -> int:
    shown = settings.redacted()
    for spec in registry.SPECS:
        shown.update(redacted(spec.load(settings)))
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        out.write(f"{key.ljust(width)}  {value}\n")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="careline", description="Patient-messaging bot for hospitals.")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the HTTP server (health, readiness, channel webhooks)"
    )
    serve.add_argument(
        "--role",
        dest="serve_role",
        choices=("all", "web", "worker"),
        help="web: take webhooks and store messages; worker: answer stored messages; all: both "
        "(default: CARELINE_ROLE, else all)",
    )
    sub.add_parser("check", help="say what is configured and reachable, and what to do")
    cfg = sub.add_parser("config", help="print the effective configuration, secrets hidden")
    cfg.add_argument("--new-vault-key", action="store_true", help="print a new CARELINE_VAULT_KEY")
    for module in (*CLI_PLUGINS, *registry.cli_modules()):
        importlib.import_module(module).register_cli(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "config" and args.new_vault_key:
        from cryptography.fernet import Fernet

        print(Fernet.generate_key().decode())
        return 0
    try:
        # Plug-in flags on existing commands (e.g. ``serve --telegram-polling``) set settings.
        overrides = dict(getattr(args, "setting_overrides", None) or {})
        if getattr(args, "serve_role", None):
            overrides["role"] = args.serve_role
        settings = load_settings(**overrides)
        for spec in registry.SPECS:
            spec.load(settings)  # a channel's invalid setting is named now, not at first use
    except ConfigError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 2
    if args.command == "config":
        return show_config(settings, sys.stdout)
    setup_logging(settings.log_level if args.command == "serve" else "WARNING", settings.log_format)
    try:
        run = getattr(args, "run", None)
        if run is not None:
            return int(run(settings, args))
        if args.command == "check":
            return asyncio.run(check(settings, sys.stdout))
        if args.command == "serve":
            from bot.server import serve

            return serve(settings)
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
