"""``careline telegram set-webhook URL`` and ``careline serve --telegram-polling``.

Setting the webhook is a one-off step an operator runs against the real Bot API; it fails
with a sentence that says what to do, never a traceback, and never prints the bot token.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

from adapters.telegram.channel import ALLOWED_UPDATES, WEBHOOK_PATH, make_bot
from adapters.telegram.settings import TelegramSettings
from bot.config import Settings

# Telegram's rule for secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CONFIG = 2


class SettingOverride(argparse.Action):
    """A flag that sets one setting, merged with other plug-ins' flags."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.setting: str = kwargs.pop("setting")
        self.value: Any = kwargs.pop("value")
        kwargs.setdefault("default", None)
        super().__init__(option_strings, "setting_overrides", nargs=0, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        overrides = dict(getattr(namespace, "setting_overrides", None) or {})
        overrides[self.setting] = self.value
        namespace.setting_overrides = overrides


def register_cli(subparsers: Any) -> None:
    serve = subparsers.choices.get("serve")
    if serve is not None:
        serve.add_argument(
            "--telegram-polling",
            action=SettingOverride,
            setting="telegram_polling",
            value=True,
            help="fetch Telegram updates by long polling instead of the webhook (development)",
        )
    telegram = subparsers.add_parser("telegram", help="Telegram bot set-up")
    commands = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = commands.add_parser(
        "set-webhook",
        help="register careline's webhook URL (and secret) with Telegram",
        description=(
            f"Registers URL (https, ending in {WEBHOOK_PATH}) as the bot's webhook, with "
            "CARELINE_TELEGRAM_WEBHOOK_SECRET and the update types careline handles."
        ),
    )
    set_webhook.add_argument("url", help=f"public https URL of careline's {WEBHOOK_PATH}")
    set_webhook.add_argument(
        "--drop-pending", action="store_true", help="discard updates Telegram is still holding"
    )
    set_webhook.set_defaults(run=run_set_webhook)


def run_set_webhook(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(set_webhook(settings, args.url, args.drop_pending, sys.stdout, sys.stderr))


async def set_webhook(
    settings: Settings, url: str, drop_pending: bool, out: TextIO, err: TextIO
) -> int:
    cfg = settings.channel(TelegramSettings)
    if cfg.telegram_token is None:
        err.write("careline: set CARELINE_TELEGRAM_TOKEN (the token from @BotFather) first.\n")
        return EXIT_CONFIG
    secret = cfg.telegram_webhook_secret
    if secret is None or not SECRET_TOKEN.match(secret.get_secret_value()):
        err.write(
            "careline: set CARELINE_TELEGRAM_WEBHOOK_SECRET to 1-256 characters of "
            "A-Z, a-z, 0-9, _ or - (for example: openssl rand -hex 32).\n"
        )
        return EXIT_CONFIG
    if not url.rstrip("/").endswith(WEBHOOK_PATH):
        err.write(f"careline: note: careline receives updates at {WEBHOOK_PATH}; is {url} right?\n")
    token = cfg.telegram_token.get_secret_value()
    bot = make_bot(settings)
    try:
        async with bot:
            await bot.set_webhook(
                url,
                secret_token=secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=drop_pending,
            )
            info = await bot.get_webhook_info()
    except InvalidToken:
        err.write("careline: Telegram refused the bot token; check CARELINE_TELEGRAM_TOKEN.\n")
        return EXIT_REFUSED
    except NetworkError as exc:
        # BadRequest is a NetworkError in PTB: Telegram answered, and said no.
        reason = str(exc).replace(token, "<token>")
        if isinstance(exc, BadRequest):
            err.write(f"careline: Telegram refused the webhook: {reason}\n")
        else:
            err.write(
                f"careline: cannot reach the Bot API at {cfg.telegram_api_base} "
                f"({reason}); check the network or CARELINE_TELEGRAM_API_BASE.\n"
            )
        return EXIT_REFUSED
    except TelegramError as exc:
        err.write(f"careline: Telegram refused: {str(exc).replace(token, '<token>')}\n")
        return EXIT_REFUSED
    out.write(
        f"Webhook set: {info.url}\n"
        f"Updates: {', '.join(info.allowed_updates or ALLOWED_UPDATES)}\n"
        f"Pending updates: {info.pending_update_count}\n"
    )
    if info.last_error_message:
        out.write(f"Last delivery error reported by Telegram: {info.last_error_message}\n")
    return EXIT_OK
