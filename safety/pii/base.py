"""What every detector of personal information shares: the span of a candidate, the state
of one scan of a message (its normalised text and the candidates found so far), and
Chinese numerals read as digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safety import _text

_CJK = r"\u4e00-\u9fff"
# Compiled once here, not left to ``re``'s cache of 512 patterns, which the thousands of
# compiled rules of the safety checks would keep evicting (each miss costs a compile)
_CJK_RE = re.compile(f"[{_CJK}]")
_LATIN_RE = re.compile("[a-z]")
_DIGIT_RE = re.compile("[0-9]")
_NOT_DIGIT_RE = re.compile("[^0-9]")
_NOT_DIGIT_X_RE = re.compile("[^0-9x]")
_LATIN_WORD_RE = re.compile("[a-z]+")
# Chinese numerals a phone or ID number may be written in (一三八…), one digit each
# (幺, 洞 and 拐 are 1, 0 and 7 as numbers are read out over a phone or a radio)
_ZH_DIGITS = str.maketrans("〇零一二三四五六七八九幺洞拐", "00123456789107")
# (or mixed with ASCII digits, as people type a number half in each: "133 八八六二 0147"; in
# groups set apart by commas: "幺三八，零零九二，七七五一")
_ZH_DIGIT_RUN_RE = re.compile(
    r"[〇零一二三四五六七八九幺洞拐0-9](?:[ \-、，,\n]?[〇零一二三四五六七八九幺洞拐0-9]){6,}"
)
_ZH_DIGIT_RE = re.compile("[〇零一二三四五六七八九幺洞拐]")


def _ascii_digits(text: str) -> str:
    """``text`` with runs of seven or more digits written as Chinese numerals (一三八…),
    alone or mixed with ASCII digits, as ASCII digits, one for one, so offsets stay where
    they were."""
    if _ZH_DIGIT_RE.search(text) is None:
        return text
    return _ZH_DIGIT_RUN_RE.sub(lambda m: m.group().translate(_ZH_DIGITS), text)


@dataclass(frozen=True)
class _Cand:
    kind: str
    start: int  # normalised offsets
    end: int
    validated: bool = True


class _Scan:
    """One scan of a message: the detectors of each kind (``safety.pii.numbers``,
    ``names_zh``, ``names_en``) add their candidates to it; ``safety.pii.detector``
    combines them."""

    def __init__(self, norm: _text.Normalized) -> None:
        self.n = norm
        self.t = _ascii_digits(norm.text)
        self.cands: list[_Cand] = []
        self._bounds: frozenset[int] = frozenset()
        self._person_tags: dict[str, str] = {}
        self._new_words: set[tuple[int, int]] = set()
        self._marg: list[tuple[float, float, float]] = []  # the CRF's P(B, I, O) per character

    def add(self, kind: str, start: int, end: int, validated: bool = True) -> None:
        if end > start:
            self.cands.append(_Cand(kind, start, end, validated))
