"""CARELINE_WEBCHAT_*: whether the web chat is on, which sites may use it, and its limits."""

from __future__ import annotations

from urllib.parse import urlsplit

from limits import parse
from pydantic import Field, field_validator

from bot.config import ChannelSettings


def _origin(value: str) -> str:
    """``scheme://host[:port]`` exactly, as browsers send it in ``Origin``."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(
            f"{value!r} is not an origin: write scheme://host[:port], e.g. https://www.example.org"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


class WebChatSettings(ChannelSettings):
    # The channel is enabled when this is true: /webchat/ serves the chat page.
    webchat_enabled: bool = False
    # Other sites that may embed the page or call its API from their own pages, comma-separated
    # origins (https://www.example.org). The page itself always works at /webchat/.
    webchat_origins: str = ""
    # Messages one visitor may send (a "limits" rate, e.g. 20/minute); over it: 429.
    webchat_visitor_rate: str = "20/minute"
    # Requests from one network address to the web chat API (a whole hospital ward's WiFi may
    # share one address: keep it generous); over it: 429.
    webchat_address_rate: str = "300/minute"
    # New visitors one address may start.
    webchat_new_visitor_rate: str = "60/hour"
    # Behind a reverse proxy: take the visitor's address from the last X-Forwarded-For entry.
    webchat_forwarded_for: bool = False
    # The longest message a visitor may send, in characters; longer: 413.
    webchat_max_message_chars: int = Field(default=2000, ge=100, le=20_000)
    # A visitor unseen this long is forgotten by the web chat (their token stops working).
    webchat_visitor_days: int = Field(default=30, ge=1, le=365)

    @field_validator("webchat_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        return ",".join(_origin(v.strip()) for v in value.split(",") if v.strip())

    @field_validator("webchat_visitor_rate", "webchat_address_rate", "webchat_new_visitor_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate such as 20/minute") from exc
        return value

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(o for o in self.webchat_origins.split(",") if o)
