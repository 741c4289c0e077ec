"""The WeChat channel as the registry knows it."""

from __future__ import annotations

from adapters.base import ChannelAdapter, ChannelSpec
from adapters.wechat.settings import WeChatSettings
from bot.config import Settings

NAME = "wechat"


def _make(settings: Settings, cfg: WeChatSettings) -> ChannelAdapter:
    from adapters.wechat.channel import WeChatChannel

    return WeChatChannel(settings)


SPEC = ChannelSpec(
    name=NAME,
    label="WeChat",
    settings=WeChatSettings,
    enabled=lambda cfg: cfg.wechat_token is not None,
    make=_make,
    max_reply_chars=600,  # about one 2048-byte WeChat message in Chinese
)
