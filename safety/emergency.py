"""Emergency assessment of a raw patient message, in Chinese and English.

Rules live in ``safety/data/emergency_*.toml`` (a hospital extends them without code) and
context cues in ``emergency_context.toml``. A rule fires when each of its term groups has a
*live* hit: a hit that is not negated ("没有胸痛", "denies shortness of breath"), not
resolved ("胸痛已经好了"), not old history ("三年前心梗"), not hypothetical ("如果胸痛怎么办")
and not part of a general information question ("心梗有什么前兆？"). Self-harm rules ignore
negation words, because the phrases themselves contain them ("我不想活了").
"""

from __future__ import annotations

import importlib
import re
import threading
import tomllib
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import Any, Literal

import ahocorasick

from safety import _text, emergency_model
from safety.language import Lang, detect
from safety.pinyin import PinyinReader, looks_like_pinyin

Level = Literal["emergency", "urgent", "none"]
_LEVEL_RANK: dict[str, int] = {"none": 0, "urgent": 1, "emergency": 2}
# The rule id of an escalation the learned reading made: "learned.<category>".
LEARNED_PREFIX = "learned."
CATEGORIES = frozenset(
    {
        "cardiac",
        "stroke",
        "breathing",
        "bleeding",
        "allergy",
        "self_harm",
        "poisoning",
        "seizure",
        "unconscious",
        "pregnancy",
        "infant_fever",
        "trauma",
        "burn",
        "other",
    }
)
LEXICON_FILES: dict[str, str] = {"zh": "emergency_zh.toml", "en": "emergency_en.toml"}
CONTEXT_FILE = "emergency_context.toml"

# Characters allowed between the parts of an "A~B" term (same clause, a few characters/words).
_ZH_GAP = r"[^，,。.!！?？；;\n]{0,8}?"
_EN_GAP = r"(?:[^\w.!?;,\n]+[\w'-]+){0,4}?[^\w.!?;,\n]+"
_PUNCT_CLAUSE = r"[，,。！!？?；;\n]|(?<!\d)\.|\.(?!\d)|\s(?:but|however|although|though|whereas)\b"
# Chat Chinese often uses a space where writing would put a comma ("胸口痛 出冷汗"): a space
# between two Chinese characters ends a clause for time, hypothetical and veto cues. A
# negation still reads across it ("我没有 胸痛"), up to punctuation.
_CLAUSE_RE = re.compile(_PUNCT_CLAUSE + r"|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_NEGATION_SCOPE_RE = re.compile(_PUNCT_CLAUSE)
_SENTENCE_END_RE = re.compile(r"[。！!？?\n]|(?<!\d)\.(?!\d)")
_AFTER_WINDOW = 40
_REGEX_META = set("\\^$.|?*+()[]{}")
_EN_STAR_RE = re.compile(r"(\w)\*")
# Words for the negation scan; quotes around a word ("'denies") are not part of it.
_EN_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Scripts present in a normalised message decide which language's rules apply.
_CJK_CHAR_RE = re.compile("[\u4e00-\u9fff]")
_LATIN_CHAR_RE = re.compile("[a-z]")
_LATIN_WORD_RE = re.compile(r"\b[a-z]{3,}\b")
# A character class this small becomes one literal factor per member ("[左右]" -> 左, 右).
_MAX_CLASS_FACTORS = 12
# The regex parser behind ``re.compile``; used only to read which literals a term needs.
# It is private to the standard library: without it, regex terms just get no pre-check.
try:
    _re_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - other Python versions
    _re_parser = None

Factors = frozenset[str] | None  # literals one of which every match contains; None: unknown


@dataclass(frozen=True)
class Assessment:
    escalate: bool
    level: Level
    category: str | None
    lang: Lang
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Term:
    key: str
    source: str  # the regular expression, compiled the first time a message needs it
    probe: str | None  # literal that must occur for the pattern to have a chance
    aligned: bool  # Chinese word terms must line up with jieba token boundaries
    gapped: bool = False
    factors: Factors = None  # a message without any of these cannot match the pattern

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        # Most of the lexicon's thousands of terms never meet a message whose factors they
        # need: compiling them all at start-up would cost most of the start.
        return re.compile(self.source)


@dataclass(frozen=True)
class _Rule:
    id: str
    category: str
    level: Level
    lang: str
    groups: tuple[tuple[_Term, ...], ...]
    negatable: bool = True
    history: bool | Literal["past"] = True  # "past": habits ("经常", "often") stay live
    unless: tuple[_Term, ...] = ()
    unless_message: tuple[_Term, ...] = ()


@dataclass(frozen=True)
class _Context:
    window: int
    negations: frozenset[str]
    pseudo_tokens: frozenset[str]
    pseudo_re: re.Pattern[str] | None
    terminators: frozenset[str]
    ongoing_after: re.Pattern[str]
    resolved_after: re.Pattern[str]
    history: re.Pattern[str]
    habitual: re.Pattern[str] | None
    handled: re.Pattern[str]
    present: re.Pattern[str]
    hypothetical: re.Pattern[str]
    info_cue: re.Pattern[str]
    info_strip: re.Pattern[str]
    personal: re.Pattern[str]
    figurative: re.Pattern[str] | None = None
    fiction: re.Pattern[str] | None = None
    denied_after: re.Pattern[str] | None = None


@dataclass(frozen=True)
class _Lexicon:
    rules: tuple[_Rule, ...]
    context: dict[str, _Context]
    facility_after: re.Pattern[str]
    zh_words: tuple[str, ...] = field(default=())
    # Every term factor, found in a message in one pass (an Aho-Corasick automaton).
    factor_finder: Any = None
    # Rule plans per (reply language, has CJK, has Latin, emergency rules only): computed
    # once, not per message.
    orders: dict[tuple[str, bool, bool, bool], _RulePlan] = field(default_factory=dict)


@dataclass(frozen=True)
class _RulePlan:
    """Rules in the order they are tried, and how to find the few a message could fire.

    A rule fires only if each of its term groups has a live hit, so only if each has a term
    whose pattern occurs in the message at all; and a term can occur only where one of its
    factors does. So: the factors present (one automaton pass) give the terms worth
    searching for, each searched for once; the terms that occur give the rules worth
    evaluating. Each rule is filed under the terms of one group (the smallest with no
    factorless term); a rule whose every group has a factorless term is always evaluated."""

    rules: tuple[_Rule, ...]
    terms_by_factor: dict[str, tuple[_Term, ...]]
    by_term: dict[int, tuple[int, ...]]  # id(term) -> rule indices
    always: tuple[int, ...]

    @classmethod
    def of(cls, rules: tuple[_Rule, ...]) -> _RulePlan:
        terms_by_factor: dict[str, dict[int, _Term]] = {}
        by_term: dict[int, list[int]] = {}
        always: list[int] = []
        for i, rule in enumerate(rules):
            for group in rule.groups:
                for t in group:
                    for factor in t.factors or ():
                        terms_by_factor.setdefault(factor, {})[id(t)] = t
            indexable = [g for g in rule.groups if all(t.factors is not None for t in g)]
            if not indexable:
                always.append(i)
                continue
            for t in min(indexable, key=len):
                by_term.setdefault(id(t), []).append(i)
        return cls(
            rules,
            {f: tuple(ts.values()) for f, ts in terms_by_factor.items()},
            {k: tuple(v) for k, v in by_term.items()},
            tuple(always),
        )

    def candidates(self, norm: str, present: frozenset[str]) -> list[_Rule]:
        """In order, the rules each term group of which has a term whose pattern occurs in
        ``norm``, with no regard yet to word boundaries, negation or context."""
        maybe = {id(t): t for f in present for t in self.terms_by_factor.get(f, ())}
        occurring = {key for key, t in maybe.items() if t.pattern.search(norm)}
        picked = set(self.always)
        for key in occurring:
            picked.update(self.by_term.get(key, ()))
        return [
            rule
            for rule in (self.rules[i] for i in sorted(picked))
            if all(
                any(
                    id(t) in occurring if t.factors is not None else t.pattern.search(norm)
                    for t in group
                )
                for group in rule.groups
            )
        ]


class LexiconError(ValueError):
    """A lexicon data file is malformed (the message names the file and rule, not text)."""


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
_SPACES_RE = re.compile(" {2,}")


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


def _op_name(op: Any) -> str:
    return str(getattr(op, "name", op))


def _best(options: list[frozenset[str]]) -> Factors:
    """The most selective factor set: longest shortest literal, then fewest literals."""
    if not options:
        return None
    return max(options, key=lambda f: (min(len(x) for x in f), -len(f)))


def _seq_factors(items: Any) -> Factors:
    """Factors of a parsed regex sequence: a literal run, or one required element's factors."""
    options: list[frozenset[str]] = []
    run: list[str] = []
    for op, av in items:
        name = _op_name(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        if run:
            options.append(frozenset({"".join(run)}))
            run = []
        if name in ("ASSERT", "ASSERT_NOT", "AT"):
            continue  # zero width: neither requires nor breaks anything around it
        found = _item_factors(name, av)
        if found is not None:
            options.append(found)
    if run:
        options.append(frozenset({"".join(run)}))
    return _best(options)


def _item_factors(name: str, av: Any) -> Factors:
    if name == "IN":
        chars = [chr(v) for op, v in av if _op_name(op) == "LITERAL"]
        if len(chars) != len(av) or not chars or len(chars) > _MAX_CLASS_FACTORS:
            return None
        return frozenset(chars)
    if name == "SUBPATTERN":
        _group, add_flags, _del_flags, sub = av
        return None if add_flags & re.IGNORECASE else _seq_factors(sub)
    if name == "ATOMIC_GROUP":
        return _seq_factors(av)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, sub = av
        return _seq_factors(sub) if low >= 1 else None
    if name == "BRANCH":
        union: set[str] = set()
        for alt in av[1]:
            found = _seq_factors(alt)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    return None


def _pattern_factors(pattern: re.Pattern[str]) -> Factors:
    """Literals one of which every match of ``pattern`` must contain (None: cannot tell).

    Lets a message be checked against all lexicon terms in one cheap pass: a term none of
    whose factors occurs in the message cannot match, so its regex is never run.
    """
    if pattern.flags & re.IGNORECASE:
        return None
    return _source_factors(pattern.pattern, pattern.flags)


def _source_factors(source: str, flags: int = 0) -> Factors:
    """:func:`_pattern_factors` of a pattern not yet compiled."""
    if _re_parser is None:
        return None
    try:
        parsed = _re_parser.parse(source, flags)
    except Exception:  # an odd pattern just gets no pre-check
        return None
    found = _seq_factors(parsed)
    if found is None or not all(found):
        return None
    return found


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


@dataclass(frozen=True)
class _Degree:
    """Composition of body part x degree x sensation (``[degree]`` in emergency_zh.toml): a
    plain term written as a body part then a sensation ("胸口痛") also matches them with
    degree words between ("胸口好痛", "心口特别特别闷")."""

    body: tuple[str, ...]  # longest first
    sensation: frozenset[str]
    words: str  # a regex alternation of the degree words

    def split(self, raw: str) -> tuple[str, str] | None:
        for body in self.body:
            if raw.startswith(body) and raw[len(body) :] in self.sensation:
                return body, raw[len(body) :]
        return None


@lru_cache(maxsize=1)
def _degree() -> _Degree | None:
    with _text.data_path(LEXICON_FILES["zh"]).open("rb") as fh:
        table = tomllib.load(fh).get("degree")
    if not table:
        return None
    words = sorted(table["words"], key=len, reverse=True)
    return _Degree(
        tuple(sorted(table["body"], key=len, reverse=True)),
        frozenset(table["sensation"]),
        "|".join(map(re.escape, words)),
    )


def _compile_term(raw: str, lang: str) -> _Term:
    degree = _degree() if lang == "zh" and not (set(raw) & _REGEX_META) and "~" not in raw else None
    parts = degree.split(raw) if degree is not None else None
    if degree is not None and parts is not None:
        body, sensation = parts
        source = (
            f"{re.escape(raw)}|{re.escape(body)}(?:{degree.words}){{1,3}}{re.escape(sensation)}"
        )
        return _Term(raw, source, body, True, True, frozenset({max(parts, key=len)}))
    term = _compile_term_pattern(raw, lang)
    factors = _literal_factors(raw, lang)
    return _Term(
        term.key,
        term.source,
        term.probe,
        term.aligned,
        term.gapped,
        factors if factors is not None else _source_factors(term.source),
    )


def _compile_term_pattern(raw: str, lang: str) -> _Term:
    if raw.startswith("re:"):
        return _Term(raw, raw[3:], None, False)
    parts = raw.split("~")
    if lang == "zh":
        body = _ZH_GAP.join(parts)
        first = parts[0]
        probe = first if not (set(first) & _REGEX_META) else None
        return _Term(raw, body, probe, True, len(parts) > 1)
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


def _load_context(data: dict[str, Any], lang: str) -> _Context:
    pseudo = data["pseudo"]
    return _Context(
        window=int(data["negation_window"]),
        negations=frozenset(data["negations"]),
        pseudo_tokens=frozenset(pseudo) if isinstance(pseudo, list) else frozenset(),
        pseudo_re=re.compile(pseudo) if isinstance(pseudo, str) else None,
        terminators=frozenset(data["terminators"]),
        ongoing_after=re.compile(data["ongoing_after"]),
        resolved_after=re.compile(data["resolved_after"]),
        history=re.compile(data["history"]),
        habitual=re.compile(data["habitual"]) if data.get("habitual") else None,
        handled=re.compile(data["handled"]),
        present=re.compile(data["present"]),
        hypothetical=re.compile(data["hypothetical"]),
        info_cue=re.compile(data["info_cue"]),
        info_strip=re.compile(data["info_strip"]),
        personal=re.compile(data["personal"]),
        figurative=re.compile(data["figurative"]) if data.get("figurative") else None,
        fiction=re.compile(data["fiction"]) if data.get("fiction") else None,
        denied_after=re.compile(data["denied_after"]) if data.get("denied_after") else None,
    )


def _history_option(value: Any, where: str) -> bool | Literal["past"]:
    if value == "past" or isinstance(value, bool):
        return value  # type: ignore[no-any-return]
    raise LexiconError(f'{where}: history must be true, false or "past"')


def _expand(group: Any, concepts: dict[str, list[str]], where: str) -> list[str]:
    items = group if isinstance(group, list) else [group]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise LexiconError(f"{where}: terms must be strings")
        if item.startswith("@"):
            if item[1:] not in concepts:
                raise LexiconError(f"{where}: unknown concept {item}")
            out.extend(concepts[item[1:]])
        else:
            out.append(item)
    return out


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    rules: list[_Rule] = []
    zh_words: set[str] = set()
    cache: dict[tuple[str, str], _Term] = {}

    def term(raw: str, lang: str) -> _Term:
        key = (lang, raw)
        if key not in cache:
            cache[key] = _compile_term(raw, lang)
            if lang == "zh" and not raw.startswith("re:"):
                zh_words.update(p for p in raw.split("~") if not (set(p) & _REGEX_META))
        return cache[key]

    for lang, name in LEXICON_FILES.items():
        with _text.data_path(name).open("rb") as fh:
            data = tomllib.load(fh)
        concepts: dict[str, list[str]] = data.get("concepts", {})
        for entry in data.get("rule", []):
            where = f"{name}:{entry.get('id', '?')}"
            level = entry.get("level")
            if level not in ("emergency", "urgent") or entry.get("category") not in CATEGORIES:
                raise LexiconError(f"{where}: bad level or category")
            groups = tuple(
                tuple(term(t, lang) for t in _expand(g, concepts, where)) for g in entry["all"]
            )
            rules.append(
                _Rule(
                    id=entry["id"],
                    category=entry["category"],
                    level=level,
                    lang=lang,
                    groups=groups,
                    negatable=bool(entry.get("negatable", True)),
                    history=_history_option(entry.get("history", True), where),
                    unless=tuple(
                        term(t, lang) for t in _expand(entry.get("unless", []), concepts, where)
                    ),
                    unless_message=tuple(
                        term(t, lang)
                        for t in _expand(entry.get("unless_message", []), concepts, where)
                    ),
                )
            )
    with _text.data_path(CONTEXT_FILE).open("rb") as fh:
        ctx = tomllib.load(fh)
    context = {lang: _load_context(ctx[lang], lang) for lang in ("zh", "en")}
    facility = re.compile(ctx["facility"]["after"])
    finder = ahocorasick.Automaton()
    for factor in {f for t in cache.values() for f in (t.factors or ())}:
        finder.add_word(factor, factor)
    if len(finder):
        finder.make_automaton()
    return _Lexicon(tuple(rules), context, facility, tuple(sorted(zh_words)), finder)


def _present_factors(norm: str, lex: _Lexicon) -> frozenset[str]:
    """Every lexicon factor that occurs in ``norm``."""
    finder = lex.factor_finder
    if not len(finder):
        return frozenset()
    return frozenset(map(itemgetter(1), finder.iter(norm)))


def _rule_order(
    lex: _Lexicon, out_lang: str, has_cjk: bool, has_latin: bool, emergency_only: bool = False
) -> _RulePlan:
    """Rules that apply to the message's scripts, reply language first, then by level."""
    key = (out_lang, has_cjk, has_latin, emergency_only)
    plan = lex.orders.get(key)
    if plan is None:
        rules = [
            r
            for r in lex.rules
            if ((r.lang == "zh" and has_cjk) or (r.lang == "en" and has_latin))
            and (r.level == "emergency" or not emergency_only)
        ]
        rules.sort(key=lambda r: (r.lang != out_lang, -_LEVEL_RANK[r.level]))
        plan = lex.orders[key] = _RulePlan.of(tuple(rules))
    return plan


def lexicon_words() -> tuple[str, ...]:
    """Chinese lexicon words, for jieba's user dictionary."""
    return _lexicon().zh_words


_text.register_words(lexicon_words)


def warm_up() -> None:
    """Load lexicons and jieba once (the server calls this at start)."""
    _lexicon()
    _text.tokenizer()
    emergency_model.warm_up()


class _Message:
    """Per-message state shared by all rules: normalised text, clauses, tokens, cue flags."""

    def __init__(self, norm: str, lex: _Lexicon, present: frozenset[str]) -> None:
        self.norm = norm
        self.lex = lex
        self.present = present
        cuts = [0]
        for m in _CLAUSE_RE.finditer(norm):
            cuts.append(m.start())
            cuts.append(m.end())
        cuts.append(len(norm))
        self.clause_starts = cuts[0::2]
        self.clause_ends = cuts[1::2]
        self.scope_starts = [0, *(m.end() for m in _NEGATION_SCOPE_RE.finditer(norm))]
        sents = [0]
        for m in _SENTENCE_END_RE.finditer(norm):
            sents.append(m.end())
        self.sentence_starts = sents
        self.stretches = _text.Stretches(norm)  # segmented only where a term is checked
        self._hits: dict[str, list[tuple[int, int]]] = {}
        self._clause_flags: dict[tuple[str, int], tuple[bool, bool, bool]] = {}
        self._info: dict[str, bool] = {}
        self._figures: dict[str, list[tuple[int, int]]] = {}
        # A message in both scripts ("what are the signs of 一氧化碳中毒", "I had suicidal
        # thoughts 两年前"): its context cues count in either language.
        self.langs: dict[str, tuple[str, ...]] = (
            {"zh": ("zh", "en"), "en": ("en", "zh")}
            if _CJK_CHAR_RE.search(norm) and _LATIN_WORD_RE.search(norm)
            else {"zh": ("zh",), "en": ("en",)}
        )

    def info(self, lang: str) -> bool:
        """Is the message a general information question (for rules of ``lang``)?"""
        found = self._info.get(lang)
        if found is None:
            found = self._info[lang] = any(
                self._is_info(self.lex.context[each]) for each in self.langs[lang]
            )
        return found

    def _is_info(self, ctx: _Context) -> bool:
        """An information question, with nothing personal outside the question and outside
        sentences about something seen or read ("昨天刷到一个科普视频" is not a patient)."""
        if not ctx.info_cue.search(self.norm):
            return False
        ends = [*self.sentence_starts[1:], len(self.norm)]
        lived = " ".join(
            self.norm[lo:hi]
            for lo, hi in zip(self.sentence_starts, ends, strict=True)
            if ctx.fiction is None or not ctx.fiction.search(self.norm, lo, hi)
        )
        rest = ctx.info_cue.sub(" ", ctx.info_strip.sub(" ", lived))
        return not ctx.personal.search(rest)

    def clause_of(self, pos: int) -> int:
        return max(0, bisect_right(self.clause_starts, pos) - 1)

    def clause_text(self, idx: int) -> str:
        return self.norm[self.clause_starts[idx] : self.clause_ends[idx]]

    def flags(self, lang: str, idx: int) -> tuple[bool, bool, bool]:
        """(historical, hypothetical, past) for clause ``idx``: ``past`` is ``historical``
        with habits ("经常", "often") left out. A sentence about something seen on television
        or in a story counts as hypothetical.

        Time cues scope forward: the nearest cue at or before the clause, within its sentence,
        decides ("三年前心梗，今天胸口痛" keeps today's pain live; "今天胸口痛，之前有高血压"
        does not make it old). An event the sentence says was already seen to ("送到医院",
        "医生说是…") is historical wherever the cue stands, unless the clause says "now".
        """
        found = [(each, self._flags_in(each, idx)) for each in self.langs[lang]]
        # Chinese time cues (两年前, 小时候) date an English finding; English ones ("had a")
        # are too loose to date a Chinese one ("we just had a 车祸").
        dated = [f for each, f in found if each == lang or each == "zh"]
        return (
            any(f[0] for f in dated),
            any(f[1] for _, f in found),
            any(f[2] for f in dated),
        )

    def _flags_in(self, lang: str, idx: int) -> tuple[bool, bool, bool]:
        """``flags`` by the cues of one language."""
        key = (lang, idx)
        if key not in self._clause_flags:
            ctx = self.lex.context[lang]
            text = self.clause_text(idx)
            start = self.clause_starts[idx]
            si = max(0, bisect_right(self.sentence_starts, start) - 1)
            s_lo = self.sentence_starts[si]
            s_hi = (
                self.sentence_starts[si + 1]
                if si + 1 < len(self.sentence_starts)
                else len(self.norm)
            )
            historical = past = False
            if not ctx.present.search(text):
                handled = bool(ctx.handled.search(self.norm, s_lo, s_hi))
                historical = (
                    handled
                    or bool(self._time_cues(ctx, text, False))
                    or self._past_before(ctx, idx, s_lo, False)
                )
                past = historical and (
                    handled
                    or bool(self._time_cues(ctx, text, True))
                    or self._past_before(ctx, idx, s_lo, True)
                )
            # Seen on television or read in a story, not lived: as good as hypothetical.
            # A cue of something seen or read scopes forward in its sentence: "宝宝80天 发烧38.2
            # 我看网上说…" is a baby's fever, and what the web said follows it.
            clause_end = self.clause_ends[idx]
            imagined = bool(ctx.hypothetical.search(text)) or bool(
                ctx.fiction is not None and ctx.fiction.search(self.norm, s_lo, clause_end)
            )
            self._clause_flags[key] = (historical, imagined, past)
        return self._clause_flags[key]

    @staticmethod
    def _time_cues(ctx: _Context, text: str, past_only: bool) -> list[int]:
        """Ends of the history cues in ``text`` (habits left out when ``past_only``)."""
        return [
            m.end()
            for m in ctx.history.finditer(text)
            if not (past_only and ctx.habitual is not None and ctx.habitual.fullmatch(m.group()))
        ]

    def _past_before(self, ctx: _Context, idx: int, s_lo: int, past_only: bool) -> bool:
        """Walk back through earlier clauses of the sentence; the latest time cue wins."""
        for j in range(idx - 1, -1, -1):
            if self.clause_ends[j] <= s_lo:
                break
            text = self.clause_text(j)
            last_hist = max(self._time_cues(ctx, text, past_only), default=-1)
            last_pres = max((m.end() for m in ctx.present.finditer(text)), default=-1)
            if last_hist >= 0 or last_pres >= 0:
                return last_hist > last_pres
        return False

    def hits(self, term: _Term) -> list[tuple[int, int]]:
        found = self._hits.get(term.key)
        if found is None:
            found = []
            if (term.factors is None or not term.factors.isdisjoint(self.present)) and (
                term.probe is None or term.probe in self.norm
            ):
                for m in term.pattern.finditer(self.norm):
                    s, e = m.span()
                    if e <= s:
                        continue
                    if term.aligned and not self._aligned(term, s, e):
                        continue
                    if self.lex.facility_after.match(self.norm, e):
                        continue
                    found.append((s, e))
            self._hits[term.key] = found
        return found

    def _aligned(self, term: _Term, start: int, end: int) -> bool:
        """Literal words must be whole tokens; "A~B" terms need only start on a token."""
        bound = self.stretches.is_boundary
        if end - start == 1:  # a one-character word ends a token: 药 in 降糖药, 片 in 好几片
            return bound(end)
        if not bound(start):
            return False
        return term.gapped or bound(end)

    def negated(self, lang: str, start: int, end: int) -> bool:
        ctx = self.lex.context[lang]
        c_start = self.scope_starts[max(0, bisect_right(self.scope_starts, start) - 1)]
        if lang == "zh":
            before = [t.text for t in self.stretches.tokens(c_start, start) if t.text.strip()]
            window = before[-ctx.window :]
            for i in range(len(window) - 1, -1, -1):
                tok = window[i]
                pair = window[i - 1] + tok if i > 0 else tok
                if tok in ctx.pseudo_tokens or pair in ctx.pseudo_tokens:
                    break
                if tok in ctx.terminators:
                    break
                if tok in ctx.negations:
                    return True
        else:
            pre = self.norm[c_start:start]
            if not (ctx.pseudo_re and ctx.pseudo_re.search(pre)):
                words = _EN_WORD_RE.findall(pre)[-ctx.window :]
                for w in reversed(words):
                    if w in ctx.terminators:
                        break
                    if w in ctx.negations or w.endswith("n't"):
                        return True
        after = self.norm[end : end + _AFTER_WINDOW]
        stop = _SENTENCE_END_RE.search(after)
        if stop:
            after = after[: stop.start()]
        if ctx.ongoing_after.search(after):
            return False
        return bool(ctx.resolved_after.search(after))

    def figures(self, lang: str) -> list[tuple[int, int]]:
        """Spans of figures of speech ("想你想死了", "bored to death"): the "fig" groups of
        the context's ``figurative`` pattern. A finding that overlaps one is not read."""
        found = self._figures.get(lang)
        if found is None:
            found = _figure_spans(self.lex.context[lang].figurative, self.norm)
            self._figures[lang] = found
        return found

    def live(self, rule: _Rule, term: _Term) -> bool:
        figures = self.figures(rule.lang)
        for s, e in self.hits(term):
            if any(s < f_end and f_start < e for f_start, f_end in figures):
                continue
            clause = self.clause_of(s)
            historical, hypothetical, past = self.flags(rule.lang, clause)
            if hypothetical or (past if rule.history == "past" else rule.history and historical):
                continue
            if rule.negatable and self.negated(rule.lang, s, e):
                continue
            if rule.category == "self_harm" and self._denied_after(rule.lang, e):
                continue
            if rule.unless and self._vetoed(rule, clause):
                continue
            return True
        return False

    def _denied_after(self, lang: str, end: int) -> bool:
        """Self-harm denied after the phrase: "自杀的念头从来没有过", "suicide? no"."""
        pattern = self.lex.context[lang].denied_after
        return (
            pattern is not None and pattern.match(self.norm[end : end + _AFTER_WINDOW]) is not None
        )

    def _vetoed(self, rule: _Rule, clause: int) -> bool:
        lo, hi = self.clause_starts[clause], self.clause_ends[clause]
        return any(lo <= s < hi for t in rule.unless for s, _ in self.hits(t))


@dataclass
class _Firing:
    """The rules a reading fires, and whether it holds an emergency rule's words that its
    scopes ruled out (negated, past, hypothetical, a question, a figure of speech, fiction):
    the lexicon then read the message and found no emergency, and the learned model, which
    has no scopes, does not overrule it."""

    rules: list[_Rule] = field(default_factory=list)
    ruled_out: bool = False


def _fired(msg: _Message, rules: Iterable[_Rule]) -> _Firing:
    out = _Firing()
    for rule in rules:
        if msg.info(rule.lang) or (
            rule.unless_message and any(msg.hits(t) for t in rule.unless_message)
        ):
            out.ruled_out = out.ruled_out or _words_seen(msg, rule)
            continue
        if all(any(msg.live(rule, t) for t in group) for group in rule.groups):
            out.rules.append(rule)
        elif not out.ruled_out:
            out.ruled_out = _words_seen(msg, rule)
    return out


def _words_seen(msg: _Message, rule: _Rule) -> bool:
    """Whether every term group of an emergency rule occurs in the message at all."""
    return rule.level == "emergency" and all(
        any(msg.hits(t) for t in group) for group in rule.groups
    )


def _fire(norm: str, lex: _Lexicon, out_lang: str, emergency_only: bool) -> _Firing:
    """The rules a normalised message fires."""
    has_cjk = _CJK_CHAR_RE.search(norm) is not None
    has_latin = _LATIN_CHAR_RE.search(norm) is not None
    plan = _rule_order(lex, out_lang, has_cjk, has_latin, emergency_only)
    # Only rules whose every term group has a term that occurs at all are read closely (most
    # messages have none): clause splitting, segmentation and negation come after.
    present = _present_factors(norm, lex)
    rules = plan.candidates(norm, present)
    if not rules:
        return _Firing()
    return _fired(_Message(norm, lex, present), rules)


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


def _figure_spans(pattern: re.Pattern[str] | None, norm: str) -> list[tuple[int, int]]:
    """Spans of the "fig" groups of a context's ``figurative`` pattern in ``norm``."""
    if pattern is None:
        return []
    return [
        m.span(name)
        for m in pattern.finditer(norm)
        for name, value in m.groupdict().items()
        if value is not None and name.startswith("fig")
    ]


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


def assess(
    text: str,
    lang: str | None = None,
    *,
    emergency_only: bool = False,
    as_written: bool = False,
    learned: bool = True,
) -> Assessment:
    """Assess a raw patient message. Never raises on odd input; never logs the text.

    ``emergency_only`` evaluates only the emergency-level rules: the same ``escalate`` and,
    when it escalates, the same level and category, for less work (the webhook's check before
    its acknowledgement); ``matched`` then names emergency rules only.

    A message the lexicon does not escalate as written is read again in the ways
    ``_other_readings`` knows (a message in two languages in its main one); an emergency in
    another reading escalates. ``as_written`` skips those readings: for text that is neither
    typed by a patient nor mixed (a model's answer, which the output guard reads).

    A patient's message that no reading escalates is then read by the learned model
    (``safety.emergency_model``): at its threshold it escalates too, its category named by the
    model and its rule id ``learned.<category>``. It never clears what the lexicon found, and
    it is not asked when the lexicon saw an emergency rule's words and its scopes ruled them
    out ("no chest pain", "气得我吐血", "what are the signs of a stroke?").
    ``learned=False`` leaves it out (to measure the lexicon alone); ``as_written`` does too:
    it was trained on patients' messages, not on model answers."""
    lex = _lexicon()
    out_lang: Lang = lang if lang in ("zh", "en") else detect(text)  # type: ignore[assignment]
    norm = _text.normalize(text).text
    if not norm.strip():
        return Assessment(False, "none", None, out_lang)
    firing = _fire(norm, lex, out_lang, emergency_only)
    fired, ruled_out = firing.rules, firing.ruled_out
    if not as_written and not any(r.level == "emergency" for r in fired):
        for reading in _other_readings(norm):
            more = _fire(reading, lex, out_lang, emergency_only)
            ruled_out = ruled_out or more.ruled_out
            if any(r.level == "emergency" for r in more.rules):
                fired += more.rules
                break
    if (
        learned
        and not as_written
        and not ruled_out
        and not any(r.level == "emergency" for r in fired)
    ):
        model = emergency_model.read(norm)
        if model.escalate:
            category = model.category or "other"
            matched = (f"{LEARNED_PREFIX}{category}", *(r.id for r in fired))
            return Assessment(True, "emergency", category, out_lang, matched)
    if not fired:
        return Assessment(False, "none", None, out_lang)
    # The most specific rule names the category: "pregnant + bleeding" beats "bleeding".
    # On a tie, composed self-harm: an overdose taken to die needs the crisis line as well.
    top = max(
        fired,
        key=lambda r: (
            _LEVEL_RANK[r.level],
            len(r.groups),
            r.category == "self_harm" and len(r.groups) > 1,
        ),
    )
    level: Level = top.level
    matched = tuple(dict.fromkeys(r.id for r in sorted(fired, key=lambda r: -_LEVEL_RANK[r.level])))
    return Assessment(level == "emergency", level, top.category, out_lang, matched)
