"""Contact details an answer must not give: phone numbers, e-mail and street addresses,
handles and web addresses that the patient did not give and the hospital does not
publish, found by the guard's own patterns and by the masker's detectors
(``safety.pii.identifiers``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from safety.pii import identifiers
from safety.pii.numbers import channel_word

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(
    r"(?<![\d])(?:\+?\d{1,3}[\s-]?)?(?:1[3-9]\d{9}|0\d{2,3}[\s-]?\d{7,8}|\(?\d{3}\)?[\s-]\d{3}[\s-]\d{4}|400[\s-]?\d{3}[\s-]?\d{4})(?![\d])"
)
_HANDLE_RE = re.compile(
    r"(?:微信|微信号|wechat|qq|whatsapp|telegram)[^，,。.]{0,4}?[:：]?\s*[A-Za-z0-9_-]{5,}"
    r"|\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|cn|net|org)\b",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d{3}")
# Where the masker's own detectors read a sentence too: seven digits or more in a run (a
# phone or record number; a dose never has so many), or an "@".
_IDENTIFIER_HINT_RE = re.compile(r"(?:\d[\s()+-]?){7,}|@")
# A Chinese ID number's shape (birth date inside), checksum or not: never the answer's to give.
_ID_SHAPE_RE = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dxX](?!\d)")
_DIGIT_RE = re.compile(r"\d")
_NOT_DIGIT_RE = re.compile(r"\D")
_HANDLE_WORDS = (
    *("微信", "wechat", "qq", "whatsapp", "telegram", "http", "www."),
    *(".com", ".cn", ".net", ".org"),
)
_ZH_ADDRESS_RE = re.compile(
    r"[\u4e00-\u9fff]{2,12}(?:路|街|大道|巷|胡同)[0-9一二三四五六七八九十百]+号"
)
_EN_ADDRESS_RE = re.compile(
    r"\b\d{1,5}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s+(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd)\b"
)
_ZH_STREET_RE = re.compile("(?:路|街|大道|巷|胡同)[0-9一二三四五六七八九十百]+号")


def _contacts(parts: list[str], allowed: Collection[str]) -> list[int]:
    """Where the answer (its sentences, ``parts``) gives a phone number, e-mail, street
    address, handle or web address the patient did not give and the hospital does not publish
    (``allowed``): start offsets."""
    text = "".join(parts)
    # Each pattern runs only where the text holds what every one of its matches needs (an
    # "@", three digits, a 号 or a digit, a handle's word or a web suffix): most answers hold
    # none, and the address and handle patterns are slow to run over plain prose.
    low = text.lower()
    three_digits = _DIGITS_RE.search(text) is not None
    found = (
        *(_EMAIL_RE.finditer(text) if "@" in text else ()),
        *(_PHONE_RE.finditer(text) if three_digits else ()),
        # (a Chinese address only where a street's number is: the pattern is slow over prose)
        *(_ZH_ADDRESS_RE.finditer(text) if _ZH_STREET_RE.search(text) else ()),
        *(_EN_ADDRESS_RE.finditer(text) if _DIGIT_RE.search(text) else ()),
        *(_HANDLE_RE.finditer(text) if any(w in low for w in _HANDLE_WORDS) else ()),
    )
    starts: list[int] = []
    for m in found:
        if channel_word(m.group()):
            continue  # "the official WeChat account": a word, no handle
        if not _allowed(m.group(), allowed):
            starts.append(m.start())
    if three_digits or "@" in text:
        # A second, independent reading: the masker's detectors (phone numbers of any
        # country, record numbers, addresses), sentence by sentence where one may be.
        at = 0
        for part in parts:
            if _IDENTIFIER_HINT_RE.search(part) and any(
                not _allowed(value, allowed) for _kind, value in identifiers(part)
            ):
                starts.append(at)
            at += len(part)
        starts.extend(m.start() for m in _ID_SHAPE_RE.finditer(text))
    return starts


def _allowed(value: str, allowed: Collection[str]) -> bool:
    digits = _NOT_DIGIT_RE.sub("", value)
    return any(
        value in a or value.lower() in a.lower() or (digits and digits == _NOT_DIGIT_RE.sub("", a))
        for a in allowed
    )
