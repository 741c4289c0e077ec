"""Active mode's sending (verified service accounts): answers go out through WeChat's
customer-service API, split at WeChat's byte limit, with handoff choices as a ``msgmenu`` on
the last part, within careline's own count of WeChat's quota. A reply WeChat will not take
puts the chat in front of staff.
"""

from __future__ import annotations

import logging

from adapters.base import ChannelContext, Undelivered
from adapters.wechat.api import QuotaExceeded, Unavailable, WeChatAPI, WeChatAPIError
from adapters.wechat.spec import NAME
from adapters.wechat.store import WeChatStore
from adapters.wechat.text import TEXT_LIMIT_BYTES, split_text, utf8_len
from adapters.wechat.webhook import MENU_ID_SEP, tag
from bot.models import Outbound, conversation_key

log = logging.getLogger(__name__)

# Bytes kept free in the last part of an answer for the msgmenu options.
MENU_RESERVE_BYTES = 256


async def send_active(
    api: WeChatAPI | None, store: WeChatStore, context: ChannelContext, out: Outbound
) -> None:
    """Send one reply through the customer-service API (see the module docstring)."""
    openid = out.conversation_id
    if api is None:
        await undeliverable(context, out, "wechat_not_configured")
        return
    options = [(f"{b.id}{MENU_ID_SEP}{out.lang}", b.label) for b in out.buttons]
    parts = split_text(out.text, TEXT_LIMIT_BYTES)
    if options and utf8_len(parts[-1]) > TEXT_LIMIT_BYTES - MENU_RESERVE_BYTES:
        # The options must fit beside the last part.
        parts[-1:] = split_text(parts[-1], TEXT_LIMIT_BYTES - MENU_RESERVE_BYTES)
    try:
        for index, part in enumerate(parts):
            if not await store.take_quota(openid):
                raise QuotaExceeded(45047, "careline's own count")
            if options and index == len(parts) - 1:
                await api.send_menu(openid, part, options)
            else:
                await api.send_text(openid, part)
    except QuotaExceeded:
        await undeliverable(context, out, "wechat_quota")
    except WeChatAPIError as exc:
        reason = "wechat_window_closed" if exc.errcode == 45015 else f"wechat_error_{exc.errcode}"
        await undeliverable(context, out, reason)
    except Unavailable as exc:
        log.warning("WeChat API unavailable: %s", exc)
        await undeliverable(context, out, "wechat_unavailable")


async def undeliverable(context: ChannelContext, out: Outbound, reason: str) -> None:
    """WeChat will not take the reply: staff must reach the patient another way (raises
    ``Undelivered``, so the caller counts a failed send, not a reply)."""
    log.warning(
        "WeChat reply not delivered conv=%s kind=%s reason=%s",
        tag(out.conversation_id),
        out.kind,
        reason,
    )
    await context.escalate(conversation_key(NAME, out.conversation_id), reason)
    raise Undelivered(reason)
