"""The terminal channel as the registry knows it: made by ``careline chat``, never by the
server, and exempt from the per-conversation rate limit (scripts pipe many lines in)."""

from __future__ import annotations

from adapters.base import ChannelAdapter, ChannelSpec
from bot.config import ChannelSettings, Settings

NAME = "terminal"


class TerminalSettings(ChannelSettings):
    """The terminal channel has no settings of its own."""


def _make(settings: Settings, cfg: TerminalSettings) -> ChannelAdapter:
    raise NotImplementedError("the terminal channel is made by `careline chat`")


SPEC = ChannelSpec(
    name=NAME,
    label="Terminal",
    settings=TerminalSettings,
    enabled=lambda cfg: False,
    make=_make,
    max_reply_chars=2000,
    rate_limited=False,
    cli="adapters.terminal.cli",
)
