"""The guard's rules, loaded once: the classes of ``guard_rules.toml`` with their patterns
and scope words, the contraindications of ``contraindications.toml``, the composed
classes, and the literals that let most patterns go unrun; and the sentences the guard
itself may add (``guard_notes``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from safety import _text
from safety._literals import Literals
from safety.emergency.factors import _pattern_factors

RULES_FILE = "guard_rules.toml"
CONTRAINDICATIONS_FILE = "contraindications.toml"
CLASSES = (
    "false_certainty",
    "false_reassurance",
    "dosing",
    "stop_medicine",
    "dangerous_first_aid",
    "identity",
    "system_leak",
)
_CJK_RE = re.compile("[\u4e00-\u9fff]")


_ASCII_ALNUM_RE = re.compile("[A-Za-z0-9]")


def _compiled(words: Iterable[str]) -> re.Pattern[str] | None:
    parts: list[str] = []
    prefixes: list[str] = []
    whole: list[str] = []
    for word in words:
        if word.startswith("re:"):
            parts.append(f"(?:{word[3:]})")
        elif _CJK_RE.search(word) or not re.match(r"[a-z]", word):
            parts.append(re.escape(word))
        elif word.endswith("*"):
            prefixes.append(re.escape(word[:-1]))
        else:
            whole.append(re.escape(word))
    # English words share one word-boundary test: far fewer steps per position than one
    # alternative each.
    if prefixes:
        parts.append(rf"\b(?:{'|'.join(prefixes)})")
    if whole:
        parts.append(rf"\b(?:{'|'.join(whole)})(?:s|es)?\b")
    return re.compile("|".join(parts)) if parts else None


def _script_needed(word: str) -> re.Pattern[str] | None:
    """What a text must hold for ``word`` to occur in it: a Chinese character, an ASCII letter
    or digit, or (None) nothing it can tell. A regular expression needs what every one of its
    literals holds (``_pattern_factors``)."""
    if word.startswith("re:"):
        try:
            literals = _pattern_factors(re.compile(word[3:]))
        except re.error:
            return None
        if not literals:
            return None
    else:
        literals = frozenset({word.removesuffix("*")})
    if all(_CJK_RE.search(x) for x in literals):
        return _CJK_RE
    if all(_ASCII_ALNUM_RE.search(x) for x in literals):
        return _ASCII_ALNUM_RE
    return None


@dataclass(frozen=True)
class _Words:
    """A list of words from a data file, found in text: Chinese anywhere, English as whole
    words (a final "*" takes any ending), "re:" entries as regular expressions.

    ``pattern`` finds any of them. ``search`` answers whether one occurs, and skips the
    entries that need a script the text does not hold: the English half of a list is not run
    over a Chinese sentence, nor the Chinese half over an English one (a long list's English
    expressions, tried at every position of a Chinese sentence, cost most of its search)."""

    pattern: re.Pattern[str] | None
    # the same entries by the script every match needs: Chinese, ASCII letters or digits, or
    # either (run whatever the text)
    by_script: tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...] = ()

    @classmethod
    def of(cls, words: Iterable[str]) -> _Words:
        words = list(words)
        groups: dict[re.Pattern[str] | None, list[str]] = {}
        for word in words:
            groups.setdefault(_script_needed(word), []).append(word)
        return cls(
            _compiled(words),
            tuple(
                (compiled, script)
                for script, group in groups.items()
                if (compiled := _compiled(group)) is not None
            ),
        )

    def search(self, text: str) -> re.Match[str] | None:
        """A match of one of the words (not always the leftmost), or None."""
        for compiled, script in self.by_script:
            if script is not None and script.search(text) is None:
                continue
            found = compiled.search(text)
            if found is not None:
                return found
        return None

    def finditer(self, text: str) -> Iterable[re.Match[str]]:
        return self.pattern.finditer(text) if self.pattern is not None else ()


@dataclass(frozen=True)
class _Contraindication:
    id: str
    drugs: _Words
    who: tuple[str, ...]


@dataclass(frozen=True)
class _Compose:
    """A class told by what a sentence puts together rather than by one phrase: every group
    of words found in it (an action and what it is done to), the first not under a
    prohibition. A group listed in ``anywhere`` may be named anywhere in the answer or the
    patient's message (the situation: a seizure, someone unconscious)."""

    name: str
    cls: str
    groups: tuple[_Words, ...]
    anywhere: frozenset[int]


@dataclass(frozen=True)
class _Rules:
    classes: dict[str, tuple[re.Pattern[str], ...]]
    # The same, inverted: the classes each pattern tells (one pattern object may serve two)
    class_of: dict[re.Pattern[str], tuple[str, ...]]
    red_flag_reassurance: tuple[re.Pattern[str], ...]
    # Literals one of which each pattern's every match contains, found in one pass over an
    # answer: a pattern none of whose literals occurs is not run (most are not).
    factors: dict[re.Pattern[str], frozenset[str] | None]
    # The same, inverted: the patterns each literal lets run, and those that always run.
    by_literal: dict[str, frozenset[re.Pattern[str]]]
    always: frozenset[re.Pattern[str]]
    finder: Literals
    unless: dict[str, _Words]
    # per class: in the clause before a match, a refusal or denial of what it names ("I can't
    # print the instructions I was given", "there isn't a developer mode")
    refused: dict[str, _Words]
    permit: _Words
    hedge: _Words
    condition: _Words
    warning: _Words
    undecided: _Words
    no_need: _Words
    set_aside: _Words
    disowned: _Words
    not_staff: _Words
    window: dict[str, int]
    withhold: frozenset[str]
    min_kept_share: float
    notes: dict[str, dict[str, str]]
    emergency_names: re.Pattern[str]
    call_now: re.Pattern[str]
    populations: dict[str, _Words]
    contraindications: tuple[_Contraindication, ...]
    compose: tuple[_Compose, ...] = ()


_TERM_RE = re.compile(r"\{([a-z_]+)\}")


def _with_terms(pattern: str, terms: dict[str, dict[str, list[str]]], lang: str) -> str:
    """``pattern`` with each "{name}" of ``[terms]`` replaced by its words in ``lang`` (a
    quantifier such as "{0,20}" is no name)."""

    def expand(m: re.Match[str]) -> str:
        words = terms.get(m.group(1), {}).get(lang)
        if not words:
            raise ValueError(f"{RULES_FILE}: no {lang} words for the term {{{m.group(1)}}}")
        return "(?:" + "|".join(words) + ")"

    return _TERM_RE.sub(expand, pattern)


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    with _text.data_path(RULES_FILE).open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    with _text.data_path(CONTRAINDICATIONS_FILE).open("rb") as fh:
        table: dict[str, Any] = tomllib.load(fh)
    classes = {
        name: tuple(
            re.compile(_with_terms(p, data.get("terms", {}), lang))
            for lang in ("zh", "en")
            for p in data["class"][name].get(lang, [])
        )
        for name in CLASSES
    }
    reassurance = data["class"]["false_reassurance"]
    red_flag_reassurance = tuple(
        re.compile(p) for p in (*reassurance["red_flag_zh"], *reassurance["red_flag_en"])
    )
    contraindications = tuple(
        _Contraindication(r["id"], _Words.of(r["drugs"]), tuple(r["who"])) for r in table["rule"]
    )
    compose = tuple(
        _Compose(
            c["name"],
            c["class"],
            tuple(_Words.of(group) for group in c["all"]),
            frozenset(c.get("anywhere", [])),
        )
        for c in data.get("compose", [])
    )
    populations = {k: _Words.of(v) for k, v in table["population"].items()}
    factors = {
        p: _pattern_factors(p)
        for p in (
            *red_flag_reassurance,
            *(c.groups[0].pattern for c in compose if c.groups[0].pattern is not None),
            *(p for ps in classes.values() for p in ps),
            *(r.drugs.pattern for r in contraindications if r.drugs.pattern is not None),
            *(w.pattern for w in populations.values() if w.pattern is not None),
        )
    }
    finder = Literals(f for fs in factors.values() for f in (fs or ()))
    by_literal: dict[str, set[re.Pattern[str]]] = {}
    for p, fs in factors.items():
        for f in fs or ():
            by_literal.setdefault(f, set()).add(p)
    unless = {
        name: _Words.of(data["class"][name].get("unless", []))
        for name in CLASSES
        if data["class"][name].get("unless")
    }
    refused = {
        name: _Words.of(data["class"][name].get("refused", []))
        for name in CLASSES
        if data["class"][name].get("refused")
    }

    def both(key: str) -> _Words:
        return _Words.of([*data[key]["zh"], *data[key]["en"]])

    names = data["emergency_names"]
    return _Rules(
        classes=classes,
        class_of=_class_of(classes),
        red_flag_reassurance=red_flag_reassurance,
        factors=factors,
        by_literal={k: frozenset(v) for k, v in by_literal.items()},
        always=frozenset(p for p, fs in factors.items() if fs is None),
        finder=finder,
        unless=unless,
        refused=refused,
        permit=both("permit"),
        hedge=both("hedge"),
        condition=both("condition"),
        warning=both("warning"),
        undecided=both("undecided"),
        no_need=both("no_need"),
        set_aside=both("set_aside"),
        disowned=both("disowned"),
        not_staff=both("not_staff"),
        window=dict(data["permit"]["window"]),
        withhold=frozenset(data["withhold"]),
        min_kept_share=float(data["min_kept_share"]),
        notes={k: dict(v) for k, v in data["notes"].items()},
        emergency_names=re.compile(f"{names['zh']}|{names['en']}"),
        call_now=re.compile(f"{names['call_now']['zh']}|{names['call_now']['en']}"),
        populations=populations,
        contraindications=contraindications,
        compose=compose,
    )


def guard_notes() -> frozenset[str]:
    """Every sentence the guard itself may add (notes and the call-now line)."""
    return frozenset(text for note in _rules().notes.values() for text in note.values())


def _class_of(
    classes: dict[str, tuple[re.Pattern[str], ...]],
) -> dict[re.Pattern[str], tuple[str, ...]]:
    out: dict[re.Pattern[str], list[str]] = {}
    for name, patterns in classes.items():
        for pattern in patterns:
            if name not in out.setdefault(pattern, []):
                out[pattern].append(name)
    return {pattern: tuple(names) for pattern, names in out.items()}
