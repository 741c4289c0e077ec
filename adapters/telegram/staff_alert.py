"""Alerts to the staff's Telegram group (``CARELINE_STAFF_TELEGRAM_CHAT_ID``), through PTB's
bot with the channel's flood-limit rate limiter and typed errors."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import TelegramError
from telegram.ext import ExtBot

from adapters.telegram.channel import make_bot
from adapters.telegram.limits import SendPriority
from adapters.telegram.settings import TelegramSettings
from bot.config import Settings

log = logging.getLogger(__name__)

ALERT_TIMEOUT_S = 10.0


class TelegramStaffAlerts:
    """Posts staff alerts (labels and times, never patient text) to one group chat."""

    def __init__(self, settings: Settings, bot: ExtBot[SendPriority] | None = None) -> None:
        """With ``bot``, the running channel's (started and stopped by the channel, and
        sharing its flood limits); otherwise a bot of its own."""
        cfg = settings.channel(TelegramSettings)
        self.group = cfg.staff_telegram_chat_id
        self._owned = bot is None
        self.bot = make_bot(settings) if bot is None else bot
        self._started = not self._owned

    async def alert_staff(self, text: str) -> bool:
        try:
            async with asyncio.timeout(ALERT_TIMEOUT_S):
                if not self._started:
                    await self.bot.initialize()
                    self._started = True
                await self.bot.send_message(
                    self.group, text, rate_limit_args=SendPriority.EMERGENCY
                )
        except (TelegramError, TimeoutError) as exc:
            log.error("staff group alert failed (%s)", type(exc).__name__)
            return False
        return True

    async def aclose(self) -> None:
        if self._owned and self._started:
            self._started = False
            try:
                await self.bot.shutdown()
            except TelegramError as exc:
                log.warning("staff alert bot did not shut down cleanly (%s)", type(exc).__name__)
