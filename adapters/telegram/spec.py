"""The Telegram channel as the registry knows it."""

from __future__ import annotations

from adapters.base import ChannelAdapter, ChannelSpec, StaffAlerts
from adapters.telegram.settings import TelegramSettings
from bot.config import Settings

NAME = "telegram"


def _make(settings: Settings, cfg: TelegramSettings) -> ChannelAdapter:
    from adapters.telegram.channel import TelegramChannel

    return TelegramChannel(settings)


def _staff_alerts(settings: Settings, cfg: TelegramSettings) -> StaffAlerts | None:
    if cfg.telegram_token is None or not cfg.staff_telegram_chat_id:
        return None
    from adapters.telegram.staff_alert import TelegramStaffAlerts

    return TelegramStaffAlerts(settings)


def _problems(cfg: TelegramSettings) -> list[str]:
    secret = cfg.telegram_webhook_secret
    # An empty secret (``CARELINE_TELEGRAM_WEBHOOK_SECRET=``) checks nothing either.
    if cfg.telegram_token is not None and not (secret and secret.get_secret_value()):
        return [
            "Telegram:  NO WEBHOOK SECRET: anyone who finds the webhook URL could post forged "
            "updates. Set CARELINE_TELEGRAM_WEBHOOK_SECRET."
        ]
    return []


SPEC = ChannelSpec(
    name=NAME,
    label="Telegram",
    settings=TelegramSettings,
    enabled=lambda cfg: cfg.telegram_token is not None,
    make=_make,
    max_reply_chars=3000,
    cli="adapters.telegram.cli",
    library_loggers=("telegram",),
    problems=_problems,
    staff_alerts=_staff_alerts,
)
