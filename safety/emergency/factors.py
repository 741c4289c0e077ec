"""The literals a regular expression needs (its *factors*): every match of a pattern holds
one of them, so a message that holds none cannot match and the pattern is never run.
Read from the parsed pattern; the output guard uses it too.
"""

from __future__ import annotations

import importlib
import json
import re
from functools import cache
from typing import Any

from safety import _text

# A character class this small becomes one literal factor per member ("[左右]" -> 左, 右).
_MAX_CLASS_FACTORS = 12
# The regex parser behind ``re.compile``; used only to read which literals a term needs.
# It is private to the standard library: without it, regex terms just get no pre-check.
try:
    _re_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - other Python versions
    _re_parser = None

Factors = frozenset[str] | None  # literals one of which every match contains; None: unknown


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


# The factors of the lexicon's regular expressions, worked out once and shipped: reading them
# from regular expressions takes most of the lexicon's load at start-up. Keyed by the exact
# source, so a term a hospital adds or edits is simply read afresh; rebuilt with
# ``python -m safety.build_factors`` (a test fails while it is out of date).
FACTORS_FILE = "emergency_factors.json"


@cache
def _shipped() -> dict[str, list[str] | None]:
    try:
        table = json.loads(_text.data_path(FACTORS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table.get("factors", {}) if isinstance(table, dict) else {}


def source_factors(source: str) -> Factors:
    """:func:`_source_factors`, from the shipped table when it holds ``source``. An entry
    naming a literal the expression does not hold (a hand edit, a broken file) is not
    trusted: a wrong factor would keep the term from ever being searched for."""
    shipped = _shipped()
    if source in shipped:
        found = shipped[source]
        if found is None:
            return None
        plain = source.replace("\\", "")
        if (
            isinstance(found, list)
            and found
            and all(isinstance(f, str) and f and f in plain for f in found)
        ):
            return frozenset(found)
    return _source_factors(source)


def build_table(sources: list[str]) -> dict[str, Any]:
    """The table for ``sources``, as it is written to ``FACTORS_FILE``."""
    factors = {}
    for source in sorted(set(sources)):
        found = _source_factors(source)
        factors[source] = sorted(found) if found is not None else None
    return {
        "about": "Generated by `python -m safety.build_factors` from the emergency lexicon: "
        "the literals each term's regular expression needs. Do not edit by hand.",
        "factors": factors,
    }
