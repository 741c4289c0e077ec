"""The emergency lexicon, loaded: rules and concepts from ``emergency_*.toml``, context cues
from ``emergency_context.toml``, degree words composed into Chinese terms, one automaton
of every term's factors, and per message's scripts the plan of which rules it could fire.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from safety import _text
from safety._literals import Literals
from safety.emergency.factors import source_factors
from safety.emergency.terms import _REGEX_META, _compile_term_pattern, _literal_factors, _Term

Level = Literal["emergency", "urgent", "none"]
_LEVEL_RANK: dict[str, int] = {"none": 0, "urgent": 1, "emergency": 2}
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
    factor_finder: Literals = field(default_factory=lambda: Literals(()))
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
        occurring = {
            key
            for key, t in maybe.items()
            if (t.literal in norm if t.literal is not None else t.pattern.search(norm))
        }
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
        factors if factors is not None else source_factors(term.source),
        term.literal,
    )


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
    finder = Literals(f for t in cache.values() for f in (t.factors or ()))
    return _Lexicon(tuple(rules), context, facility, tuple(sorted(zh_words)), finder)


def _present_factors(norm: str, lex: _Lexicon) -> frozenset[str]:
    """Every lexicon factor that occurs in ``norm``."""
    return frozenset(lex.factor_finder.present(norm))


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


def term_sources() -> list[str]:
    """The regular expressions of all the lexicon's terms (``factors.FACTORS_FILE`` holds
    their factors worked out)."""
    return [
        term.source
        for rule in _lexicon().rules
        for group in (*rule.groups, rule.unless or (), rule.unless_message or ())
        for term in group
    ]


def compile_terms() -> None:
    """Compile every term's pattern now (about 0.3 s), which messages otherwise compile the
    first time they need one: for a background thread after start-up, so that no message
    pays for it later."""
    for rule in _lexicon().rules:
        for group in (*rule.groups, rule.unless or (), rule.unless_message or ()):
            for term in group:
                _ = term.pattern


def lexicon_words() -> tuple[str, ...]:
    """Chinese lexicon words, for jieba's user dictionary."""
    return _lexicon().zh_words


_text.register_words(lexicon_words)
