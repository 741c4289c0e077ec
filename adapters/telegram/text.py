"""Telegram's text rules, kept apart from the channel so they can be tested on their own.

Telegram counts a message's length in UTF-16 code units after entity parsing (an emoji
outside the Basic Multilingual Plane counts twice), so splitting measures that way and
happens on the plain text, before HTML escaping. Templates are rendered here too, because an
adapter may not import ``bot.replies``; the fields are the same ones that module fills.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

import prompts
from bot.config import EMERGENCY_NUMBERS, HospitalProfile

UTF16_UNIT_BYTES = 2
# Where a long text is best cut, most preferred first: a paragraph, a line, a sentence end,
# any white space. Each pattern matches the separator; the cut goes after it.
BOUNDARIES = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])"),
    re.compile(r"\s+"),
)
# A cut is only worth taking if it keeps at least this share of the allowed length;
# otherwise a weaker boundary further on is better than a tiny part.
MIN_PART_SHARE = 0.5

# Region subtags of an IETF language tag, mapped to careline's emergency-number regions.
# Telegram's ``language_code`` is the client's language setting: a weak hint of where the
# patient is, never proof, so it only ever adds a line to the hospital's numbers.
# fmt: off
EU_112_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "NO", "CH",
    "LI",
})
# fmt: on
REGION_BY_COUNTRY: Mapping[str, str] = {
    "CN": "CN",
    "US": "US",
    "GB": "UK",
    "UK": "UK",
    **{country: "EU" for country in EU_112_COUNTRIES},
}
COUNTRY_SUBTAG = re.compile(r"^[A-Za-z]{2}$")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // UTF16_UNIT_BYTES


def _fit(text: str, limit: int) -> int:
    """The largest prefix length (in characters) whose UTF-16 length is at most ``limit``."""
    if utf16_len(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_point(text: str, limit: int) -> int:
    """Where to end the next part of ``text``, at the best boundary within ``limit``."""
    room = _fit(text, limit)
    window = text[:room]
    for pattern in BOUNDARIES:
        ends = [m.end() for m in pattern.finditer(window) if 0 < m.end() <= room]
        if ends and ends[-1] >= room * MIN_PART_SHARE:
            return ends[-1]
    return max(room, 1)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` UTF-16 units, at sentence boundaries."""
    parts: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        cut = _cut_point(rest, limit)
        part = rest[:cut].strip()
        if part:
            parts.append(part)
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts


def clip(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units of ``text`` (for drafts, which are only previews)."""
    return text[: _fit(text, limit)]


def to_html(text: str, *, bold_first_line: bool = False) -> str:
    """Plain text as Telegram HTML: every character escaped, optionally a bold first line."""
    if not bold_first_line:
        return html.escape(text, quote=False)
    first, sep, rest = text.partition("\n")
    return f"<b>{html.escape(first, quote=False)}</b>{sep}{html.escape(rest, quote=False)}"


def region_hint(language_code: str | None) -> str | None:
    """careline's emergency-number region for a tag like ``en-GB``; None without a region."""
    if not language_code:
        return None
    for subtag in language_code.replace("_", "-").split("-")[1:]:
        if COUNTRY_SUBTAG.match(subtag):
            return REGION_BY_COUNTRY.get(subtag.upper())
    return None


def language_of(language_code: str | None) -> str | None:
    """careline's language for a Telegram ``language_code``: zh for any Chinese, else en."""
    if not language_code:
        return None
    return "zh" if language_code.lower().startswith("zh") else "en"


# ----------------------------------------------------------------- templates


def numbers_abroad(region: str, lang: str, hospital: HospitalProfile) -> str:
    """The line giving the emergency number of the region the patient may be in."""
    return hospital.render(
        "telegram_numbers_abroad",
        lang,
        region=prompts.labels("telegram_region_names", lang).get(region, region),
        ambulance=EMERGENCY_NUMBERS[region]["ambulance"],
    )


# ------------------------------------------------------------- message refs


@dataclass(frozen=True)
class MessageRef:
    """What an Inbound's ``message_id`` says about its Telegram origin.

    The dispatcher hands it back as ``Outbound.reply_to``, so the adapter learns, without
    keeping state, which Telegram message to quote and what the reply is for (a ``/start``
    welcome gets the language keyboard; the emergency-numbers button gets the local line).
    """

    message_id: int | None
    tags: tuple[str, ...] = ()

    def encode(self, prefix: str = "") -> str:
        head = prefix or str(self.message_id)
        return ".".join((head, *self.tags))

    @classmethod
    def decode(cls, value: str | None) -> MessageRef:
        if not value:
            return cls(None)
        head, *tags = value.split(".")
        return cls(int(head) if head.isdigit() else None, tuple(tags))
