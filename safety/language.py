"""Language of a patient message: Chinese when CJK characters dominate or the message is
Chinese typed in pinyin, else English."""

from __future__ import annotations

import re
from typing import Literal

from safety.pinyin import looks_like_pinyin

Lang = Literal["zh", "en"]

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+")


def detect(text: str) -> Lang:
    """ "zh" when there are at least as many CJK characters as Latin words, else "en".

    Chinese patients write drug names and tests in Latin letters (CT, MRI, mg), so a few
    Latin words inside Chinese text keep it Chinese; a message typed in pinyin is Chinese
    too (its writer reads characters); an empty message defaults to "en".
    """
    words = len(_LATIN_WORD_RE.findall(text))
    if not words:
        return "zh" if _CJK_RE.search(text) else "en"
    if looks_like_pinyin(text):
        return "zh"
    cjk = len(text) - len(_CJK_RE.sub("", text))  # counted without a string per character
    return "zh" if cjk and cjk >= words else "en"
