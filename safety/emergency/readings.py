"""Other readings of a message the lexicon did not escalate as written: a message in two
languages in each of them (``code_switch.txt``), pinyin in characters, and sound-alike
slips of lexicon words put right.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from safety import _text
from safety.emergency.lexicon import LEXICON_FILES, _lexicon, lexicon_words
from safety.emergency.message import _CJK_CHAR_RE, _figure_spans
from safety.emergency.terms import _EN_WORD
from safety.pinyin import PinyinReader, looks_like_pinyin

_SPACES_RE = re.compile(" {2,}")


@dataclass(frozen=True)
class _Glossary:
    """code_switch.txt: English words inside Chinese, Chinese words inside English."""

    to_zh: re.Pattern[str]
    zh_of: dict[str, str]
    to_en: re.Pattern[str]
    en_of: dict[str, str]


@lru_cache(maxsize=1)
def _glossary() -> _Glossary:
    zh_of: dict[str, str] = {}
    en_of: dict[str, str] = {}
    for line in _text.read_lines("code_switch.txt"):
        english, sep, chinese = line.partition("=")
        english, chinese = " ".join(english.split()), chinese.strip()
        if sep and english and chinese:
            zh_of[english] = chinese
            en_of.setdefault(chinese, english)
    words = "|".join(re.escape(w) for w in sorted(zh_of, key=len, reverse=True))
    chinese = "|".join(re.escape(w) for w in sorted(en_of, key=len, reverse=True))
    return _Glossary(
        re.compile(rf"\s*(?<![a-z'])(?:{words})(?![a-z'])\s*"),
        zh_of,
        re.compile(chinese),
        en_of,
    )


def _code_switched(norm: str) -> list[str]:
    """A message in two languages, read in each: its main one first ("我 chest 好痛" ->
    "我胸口好痛", "my dad 晕倒了" -> "my dad fainted"), then the other, for a message that
    is half and half ("心口 really 好痛, cold sweat 出晒"). Empty when there is nothing to
    translate."""
    cjk = len(_CJK_CHAR_RE.findall(norm))
    latin = len(_EN_WORD.findall(norm))
    if not cjk or not latin:
        return []
    norm = _without_figures(norm)
    glossary = _glossary()
    as_zh = glossary.to_zh.sub(lambda m: glossary.zh_of[" ".join(m.group().split())], norm)
    as_en = _SPACES_RE.sub(
        " ", glossary.to_en.sub(lambda m: f" {glossary.en_of[m.group()]} ", norm)
    )
    # Mostly Chinese is about two characters to an English word.
    readings = [as_zh, as_en] if cjk >= latin * 2 else [as_en, as_zh]
    return [r for r in dict.fromkeys(readings) if r != norm]


_PINYIN_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _pinyin_reader() -> PinyinReader:
    with _text.data_path(LEXICON_FILES["zh"]).open("rb") as fh:
        degree = tomllib.load(fh).get("degree", {})
    context = _lexicon().context["zh"]
    preferred = {
        *lexicon_words(),
        *(w for key in ("body", "sensation", "words") for w in degree.get(key, [])),
        *context.negations,
        *context.terminators,
    }
    return PinyinReader(preferred)


def pinyin_reader() -> PinyinReader:
    """The reader of pinyin messages, built once (about a second; the server builds it in
    the background after start, so the first pinyin message does not wait for it)."""
    with _PINYIN_LOCK:
        return _pinyin_reader()


def _without_figures(norm: str) -> str:
    """The message with its figures of speech blanked out, so that a translation cannot
    lift one out of the words that made it figurative ("the smog is choking me")."""
    spans = [
        span for ctx in _lexicon().context.values() for span in _figure_spans(ctx.figurative, norm)
    ]
    for start, end in sorted(spans, reverse=True):
        norm = norm[:start] + " " * (end - start) + norm[end:]
    return norm


def _other_readings(norm: str) -> Iterable[str]:
    """Other ways to read a message the lexicon did not escalate, cheapest first: a message
    in two languages in each of them, figures of speech blanked; a message typed in pinyin,
    in characters; Chinese with sound-alike slips of lexicon words put right (once the
    reader is built: this reading never waits for it)."""
    yield from _code_switched(norm)
    if _CJK_CHAR_RE.search(norm) is None:
        if looks_like_pinyin(norm):
            yield pinyin_reader().to_hanzi(norm)
        return
    if _pinyin_reader.cache_info().currsize:
        respelled = _pinyin_reader().respell(norm)
        if respelled != norm:
            yield respelled
