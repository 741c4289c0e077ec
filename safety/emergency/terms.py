"""Lexicon terms as regular expressions: "A~B" terms with a gap between their parts, English
words in every form ("passed": pass, passes, passing), "re:" terms as written; and the
literal a plain term needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from safety import _text
from safety.emergency.factors import Factors

# Characters allowed between the parts of an "A~B" term (same clause, a few characters/words).
_ZH_GAP = r"[^，,。.!！?？；;\n]{0,8}?"
_EN_GAP = r"(?:[^\w.!?;,\n]+[\w'-]+){0,4}?[^\w.!?;,\n]+"
_REGEX_META = set("\\^$.|?*+()[]{}")
_EN_STAR_RE = re.compile(r"(\w)\*")


@dataclass(frozen=True)
class _Term:
    key: str
    source: str  # the regular expression, compiled the first time a message needs it
    probe: str | None  # literal that must occur for the pattern to have a chance
    aligned: bool  # Chinese word terms must line up with jieba token boundaries
    gapped: bool = False
    factors: Factors = None  # a message without any of these cannot match the pattern
    # the pattern is this plain string, found with ``in`` (cheaper than a search)
    literal: str | None = None

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        # Most of the lexicon's thousands of terms never meet a message whose factors they
        # need: compiling them all at start-up would cost most of the start.
        return re.compile(self.source)


# Words of a multi-word English term that keep their one form: function words.
_EN_FIXED = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "his",
        "her",
        "our",
        "their",
        "your",
        "its",
        "it",
        "me",
        "him",
        "them",
        "us",
        "you",
        "i",
        "he",
        "she",
        "we",
        "they",
        "this",
        "that",
        "of",
        "to",
        "in",
        "on",
        "at",
        "up",
        "out",
        "off",
        "down",
        "over",
        "into",
        "onto",
        "from",
        "with",
        "for",
        "and",
        "or",
        "not",
        "no",
        "all",
        "any",
        "one",
        "too",
        "so",
        "very",
        "much",
        "many",
        "more",
        "less",
        "as",
        "by",
        "can",
        "will",
        "lot",
        "lots",
        "bit",
        "little",
        "few",
        "some",
        "several",
        "whole",
        "entire",
    ]
)
_EN_WORD = re.compile(r"[a-z]+")
_VOWELS = frozenset("aeiou")


@lru_cache(maxsize=1)
def _irregular_forms() -> dict[str, frozenset[str]]:
    """Each form in ``english_forms.txt`` -> every form of its word."""
    table: dict[str, frozenset[str]] = {}
    for line in _text.read_lines("english_forms.txt"):
        forms = frozenset(line.split())
        for form in forms:
            table[form] = table.get(form, frozenset()) | forms
    return table


def _regular_forms(base: str) -> set[str]:
    if base.endswith("e"):
        return {base, base + "s", base + "d", base[:-1] + "ing"}
    if len(base) > 2 and base.endswith("y") and base[-2] not in _VOWELS:
        return {base, base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    if base.endswith(("s", "x", "z", "ch", "sh")):
        return {base, base + "es", base + "ed", base + "ing"}
    forms = {base, base + "s", base + "ed", base + "ing"}
    # A short consonant-vowel-consonant word doubles its last letter: stop -> stopped.
    if (
        3 <= len(base) <= 4
        and base[-1] not in _VOWELS | {"w", "x", "y"}
        and base[-2] in _VOWELS
        and base[-3] not in _VOWELS
    ):
        forms |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    return forms


def _undoubled(stem: str) -> set[str]:
    """stopp -> stop; a letter English writes double anyway (pass, fall, buzz) stays."""
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS | set("slfz"):
        return {stem[:-1]}
    return set()


def _word_forms(word: str) -> frozenset[str]:
    """Every form of an English word, whichever form the lexicon wrote ("passed" -> pass,
    passes, passed, passing). Over-generation only adds strings no message contains."""
    irregular = _irregular_forms()
    if word in irregular:
        return irregular[word]
    bases = {word}
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        bases |= {stem, stem + "e"} | _undoubled(stem)
    if word.endswith("ied") and len(word) > 4:
        bases.add(word[:-3] + "y")
    elif word.endswith("ed") and len(word) > 4:
        stem = word[:-2]
        bases |= {stem, word[:-1]} | _undoubled(stem)
    if word.endswith("ies") and len(word) > 4:
        bases.add(word[:-3] + "y")
    elif word.endswith("es") and len(word) > 4:
        bases |= {word[:-2], word[:-1]}
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        bases.add(word[:-1])
    forms: set[str] = set()
    for base in bases:
        forms |= _regular_forms(base) | irregular.get(base, frozenset())
    return frozenset(forms)


def _en_word(word: str, inflect: bool) -> str:
    if word.endswith("*") and _EN_WORD.fullmatch(word[:-1]):
        return re.escape(word[:-1]) + r"[\w'-]*"
    if inflect and _EN_WORD.fullmatch(word) and len(word) > 2 and word not in _EN_FIXED:
        forms = sorted(_word_forms(word), key=lambda f: (-len(f), f))
        return "(?:" + "|".join(forms) + ")"
    return _EN_STAR_RE.sub(r"\1[\\w'-]*", word)


def _en_inflects(raw: str) -> bool:
    """A multi-word English term matches its words in any form ("took the whole bottle",
    "taken the whole bottle"); a one-word term is written in each form it should match."""
    return not raw.startswith("re:") and len(raw.replace("~", " ").split()) > 1


def _en_fragment(part: str, inflect: bool = False) -> str:
    """English term text to regex: "word*" takes any ending, spaces match any whitespace,
    and with ``inflect`` each plain word matches any of its forms."""
    return r"\s+".join(_en_word(w, inflect) for w in part.strip().split())


def _literal_factors(raw: str, lang: str) -> Factors:
    """Factors of a plain term straight from its words (parsing its regex costs start-up).

    Every word of "A~B" (Chinese) or "word word*" (English) occurs in any match as written,
    less an English word's final "*"; the longest one is the most selective. None when a
    word holds regex syntax.
    """
    if raw.startswith("re:") or (lang == "en" and _en_inflects(raw)):
        return None  # an inflected term's factors come from its pattern
    words = raw.split("~") if lang == "zh" else [w for p in raw.split("~") for w in p.split()]
    literals = [w[:-1] if lang == "en" and _EN_STAR_RE.fullmatch(w[-2:]) else w for w in words]
    if not literals or any(not w or set(w) & _REGEX_META for w in literals):
        return None
    return frozenset({max(literals, key=len)})


def _compile_term_pattern(raw: str, lang: str) -> _Term:
    if raw.startswith("re:"):
        return _Term(raw, raw[3:], None, False)
    parts = raw.split("~")
    if lang == "zh":
        body = _ZH_GAP.join(parts)
        first = parts[0]
        probe = first if not (set(first) & _REGEX_META) else None
        literal = body if len(parts) == 1 and not (set(body) & _REGEX_META) else None
        return _Term(raw, body, probe, True, len(parts) > 1, literal=literal)
    inflect = _en_inflects(raw)
    body = _EN_GAP.join(_en_fragment(p, inflect) for p in parts)
    first_word = parts[0].split()[0] if parts[0].split() else ""
    probe = (
        first_word.rstrip("*")
        if first_word and not (set(first_word.rstrip("*")) & _REGEX_META)
        else None
    )
    if probe and inflect and "(?:" in _en_word(first_word, True):
        probe = None  # the written form need not occur
    return _Term(raw, r"(?<![\w'])" + body + r"(?![\w])", probe, False)
