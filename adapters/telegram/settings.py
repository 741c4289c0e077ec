"""CARELINE_TELEGRAM_*: the bot's token, its webhook secret, and the staff group."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from bot.config import ChannelSettings, http_url


class TelegramSettings(ChannelSettings):
    # The channel is enabled when the token is set.
    telegram_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    # Long polling (getUpdates) instead of the webhook, for development; `serve --telegram-polling`.
    telegram_polling: bool = False
    # The staff group that gets emergency alerts (the bot must be a member).
    staff_telegram_chat_id: str = ""

    @field_validator("telegram_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)
