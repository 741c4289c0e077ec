"""The kinds of personal information, their typed placeholders (``[电话1]``, ``[PHONE_1]``)
and the per-conversation vault that maps placeholders back to the values they replace.
"""

from __future__ import annotations

import json
import re

from safety import _text
from safety.pii.base import _NOT_DIGIT_RE, _ascii_digits

_SPACE_DASH_RE = re.compile(r"[\s\-]")
_SPACES_RE = re.compile(r"\s+")

KINDS: tuple[str, ...] = (
    "PERSON",
    "PHONE",
    "ID_CARD",
    "BANK_CARD",
    "EMAIL",
    "ADDRESS",
    "PASSPORT",
    "MRN",
    "WECHAT_ID",
    "OTHER_ID",
    "DOB",
    "QQ",
    "PLATE",
)
ZH_LABELS: dict[str, str] = {
    "PERSON": "姓名",
    "PHONE": "电话",
    "ID_CARD": "身份证",
    "BANK_CARD": "银行卡",
    "EMAIL": "邮箱",
    "ADDRESS": "地址",
    "PASSPORT": "护照",
    "MRN": "病历号",
    "WECHAT_ID": "微信号",
    "OTHER_ID": "证件号",
    "DOB": "出生日期",
    "QQ": "QQ号",
    "PLATE": "车牌",
}
_ZH_TO_KIND = {v: k for k, v in ZH_LABELS.items()}

PLACEHOLDER_RE: re.Pattern[str] = re.compile(
    r"\[(?:(?:" + "|".join(ZH_LABELS.values()) + r")[1-9][0-9]*"
    r"|(?:" + "|".join(KINDS) + r")_[1-9][0-9]*)\]"
)

VAULT_FORMAT = 1


class VaultFormatError(ValueError):
    """Serialized vault data is not readable (the message never contains values)."""


def _canonical(kind: str, value: str) -> str:
    """Key under which two spellings of the same value share a placeholder."""
    if kind in ("PHONE", "BANK_CARD"):
        digits = _NOT_DIGIT_RE.sub("", _ascii_digits(_text.normalize(value).text))
        if kind == "PHONE" and len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif kind == "PHONE" and len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return digits
    norm = _text.normalize(value).text
    if kind in ("ID_CARD", "EMAIL", "PASSPORT", "MRN", "WECHAT_ID", "OTHER_ID", "QQ", "PLATE"):
        return _SPACE_DASH_RE.sub("", norm)
    return _SPACES_RE.sub(" ", norm).strip()


class Vault:
    """Per-conversation map placeholder <-> original value.

    The same (kind, value) always gets the same placeholder, numbered per kind; the
    placeholder language is fixed by the first use so a conversation never mixes styles.
    """

    def __init__(self) -> None:
        self._lang: str | None = None
        self._by_key: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    @property
    def lang(self) -> str | None:
        return self._lang

    def placeholder_for(self, kind: str, value: str, lang: str) -> str:
        if kind not in ZH_LABELS:
            raise ValueError(f"unknown PII kind {kind!r}")
        if self._lang is None:
            self._lang = "zh" if lang == "zh" else "en"
        key = (kind, _canonical(kind, value))
        existing = self._by_key.get(key)
        if existing is not None:
            return existing
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        ph = f"[{ZH_LABELS[kind]}{n}]" if self._lang == "zh" else f"[{kind}_{n}]"
        self._by_key[key] = ph
        self._values[ph] = value
        return ph

    def known_values(self) -> list[tuple[str, str]]:
        """(kind, value) pairs in this vault, for re-masking values that recur."""
        return [(kind, self._values[ph]) for (kind, _), ph in self._by_key.items()]

    def restore(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            return self._values.get(m.group(), m.group())

        return PLACEHOLDER_RE.sub(sub, text)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Vault(lang={self._lang!r}, entries={len(self._values)})"

    def to_bytes(self) -> bytes:
        entries = [
            {"kind": kind, "key": key, "placeholder": ph, "value": self._values[ph]}
            for (kind, key), ph in self._by_key.items()
        ]
        doc = {"format": VAULT_FORMAT, "lang": self._lang, "entries": entries}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Vault:
        try:
            doc = json.loads(data.decode("utf-8"))
            if doc.get("format") != VAULT_FORMAT:
                raise VaultFormatError("unsupported vault format")
            vault = cls()
            vault._lang = doc.get("lang")
            for e in doc["entries"]:
                kind, key, ph, value = e["kind"], e["key"], e["placeholder"], e["value"]
                if kind not in ZH_LABELS or not PLACEHOLDER_RE.fullmatch(ph):
                    raise VaultFormatError("malformed vault entry")
                vault._by_key[(kind, key)] = ph
                vault._values[ph] = value
                n = int(_NOT_DIGIT_RE.sub("", ph))
                vault._counts[kind] = max(vault._counts.get(kind, 0), n)
        except VaultFormatError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VaultFormatError(f"unreadable vault data ({type(exc).__name__})") from None
        return vault


def kind_of(placeholder: str) -> str | None:
    """The PII kind a placeholder stands for, or None when it is not a placeholder."""
    if not PLACEHOLDER_RE.fullmatch(placeholder):
        return None
    inner = placeholder[1:-1]
    if "_" in inner:
        return inner.rsplit("_", 1)[0]
    return _ZH_TO_KIND.get(inner.rstrip("0123456789"))
