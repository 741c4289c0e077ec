"""``careline chat``: talk to careline in this terminal, or pipe lines in."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from typing import Any, TextIO

from adapters.base import NotAccepted
from adapters.terminal.channel import TerminalChannel
from bot.config import Settings


def register_cli(subparsers: Any) -> None:
    chat_parser = subparsers.add_parser(
        "chat", help="talk to careline in the terminal (stdin may be piped)"
    )
    chat_parser.add_argument(
        "--conversation", help="conversation id to resume (default: a new one)"
    )
    chat_parser.set_defaults(run=run_chat)


def run_chat(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(chat(settings, args.conversation, sys.stdin, sys.stdout))


async def _read_line(stream: TextIO) -> str | None:
    line = await asyncio.to_thread(stream.readline)
    return line if line else None


async def chat(settings: Settings, conversation: str | None, stdin: TextIO, stdout: TextIO) -> int:
    from bot.runtime import open_runtime

    interactive = stdin.isatty()
    user = getpass.getuser()
    channel = TerminalChannel(
        stdout, conversation_id=conversation or f"{user}-{int(time.time())}", user_id=user
    )
    async with open_runtime(settings, {channel.channel: channel}) as runtime:
        print(f"careline: Redis is {runtime.redis.description}", file=sys.stderr)
        readiness = await runtime.llm.check()
        if not (readiness.reachable and readiness.model_present):
            print(
                f"careline: the model is not available ({readiness.detail}). "
                "Emergency replies, masking and the staff fallback still work.",
                file=sys.stderr,
            )
        if interactive:
            print(
                "careline chat: type a message; a number picks a choice; "
                "/human, /numbers, /forget; Ctrl-D ends.\n",
                file=stdout,
            )
        while True:
            if interactive:
                stdout.write("you> ")
                stdout.flush()
            line = await _read_line(stdin)
            if line is None:
                break
            msg = channel.parse(line)
            if msg is None:
                continue
            try:
                await runtime.dispatcher.submit(msg)
            except NotAccepted:
                print(
                    "(careline could not store the message: Redis is unavailable; try again)",
                    file=stdout,
                )
                continue
            await runtime.dispatcher.drain()
    return 0
