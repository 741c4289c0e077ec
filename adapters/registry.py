"""The channels careline knows. Adding one is adding its spec here (see adapters/base.py)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.base import (
    DEFAULT_MAX_REPLY_CHARS,
    AnySpec,
    ChannelAdapter,
    OffersStaffAlerts,
    StaffAlerts,
)
from adapters.telegram.spec import SPEC as TELEGRAM
from adapters.terminal.spec import SPEC as TERMINAL
from adapters.webchat.spec import SPEC as WEBCHAT
from adapters.wechat.spec import SPEC as WECHAT
from bot.config import Settings

SPECS: tuple[AnySpec, ...] = (WECHAT, TELEGRAM, WEBCHAT, TERMINAL)
_BY_NAME = {spec.name: spec for spec in SPECS}
if len(_BY_NAME) != len(SPECS):  # pragma: no cover - a programming error
    raise RuntimeError("two channels share a name")


def spec(name: str) -> AnySpec | None:
    return _BY_NAME.get(name)


def labels() -> dict[str, str]:
    """Every channel's name and what staff read for it."""
    return {s.name: s.label for s in SPECS}


def max_reply_chars(name: str) -> int:
    found = _BY_NAME.get(name)
    return found.max_reply_chars if found else DEFAULT_MAX_REPLY_CHARS


def rate_limited(name: str) -> bool:
    found = _BY_NAME.get(name)
    return found.rate_limited if found else True


def adapters(settings: Settings) -> list[ChannelAdapter]:
    """The adapters of the channels these settings enable (each by its credentials)."""
    return [s.adapter(settings) for s in SPECS if s.is_enabled(settings)]


def staff_alerts(
    settings: Settings, running: Mapping[str, object] | None = None
) -> list[StaffAlerts]:
    """Where staff alerts go: every enabled channel whose settings name a staff chat; through
    the channel's own client when it runs in this process (``running``: name -> adapter), so
    alerts share its rate limits."""
    found: list[StaffAlerts | None] = []
    for s in SPECS:
        if not s.is_enabled(settings):
            continue
        adapter = (running or {}).get(s.name)
        if isinstance(adapter, OffersStaffAlerts):
            found.append(adapter.staff_alerts())
        else:
            found.append(s.alerts(settings))
    return [a for a in found if a is not None]


def cli_modules() -> list[str]:
    return [s.cli for s in SPECS if s.cli]


def library_loggers() -> list[str]:
    return [name for s in SPECS for name in s.library_loggers]
