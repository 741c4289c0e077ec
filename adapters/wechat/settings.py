"""CARELINE_WECHAT_*: the Official Account's credentials and how it replies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from bot.config import ChannelSettings, http_url


class WeChatSettings(ChannelSettings):
    # The channel is enabled when the token is set.
    wechat_token: SecretStr | None = None
    wechat_app_id: str = ""
    wechat_app_secret: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_reply_mode: Literal["active", "passive"] = "active"
    # Passive mode: how long each delivery waits for the answer (WeChat hangs up at 5 s).
    wechat_passive_wait_s: float = Field(default=4.5, ge=0.5, le=4.8)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_transfer_customer_service: bool = False

    @field_validator("wechat_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)
