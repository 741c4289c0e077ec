"""The web chat channel as the registry knows it."""

from __future__ import annotations

from adapters.base import ChannelAdapter, ChannelSpec
from adapters.webchat.settings import WebChatSettings
from bot.config import Settings

NAME = "webchat"


def _make(settings: Settings, cfg: WebChatSettings) -> ChannelAdapter:
    from adapters.webchat.channel import WebChatChannel

    return WebChatChannel(settings, cfg)


def _problems(cfg: WebChatSettings) -> list[str]:
    insecure = sorted(o for o in cfg.origins if o.startswith("http://"))
    if cfg.webchat_enabled and insecure:
        return [
            "Web chat:  CARELINE_WEBCHAT_ORIGINS names plain-http sites "
            f"({', '.join(insecure)}): patients' messages would cross the network unencrypted. "
            "Serve those sites over https."
        ]
    return []


SPEC = ChannelSpec(
    name=NAME,
    label="Web chat",
    settings=WebChatSettings,
    enabled=lambda cfg: cfg.webchat_enabled,
    make=_make,
    max_reply_chars=3000,
    problems=_problems,
)
