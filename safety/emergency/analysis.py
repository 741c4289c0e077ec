"""The assessment: the rules a message fires, as written and in its other readings, then
the learned model (``safety.emergency_model``) for a message no rule escalates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from safety import _text, emergency_model
from safety.emergency.lexicon import (
    _LEVEL_RANK,
    Level,
    _Lexicon,
    _lexicon,
    _present_factors,
    _Rule,
    _rule_order,
)
from safety.emergency.message import _CJK_CHAR_RE, _LATIN_CHAR_RE, _Message
from safety.emergency.readings import _other_readings
from safety.language import Lang, detect

# The rule id of an escalation the learned reading made: "learned.<category>".
LEARNED_PREFIX = "learned."
# The rule id, first in ``matched``, of a lexicon emergency the learned reading doubted.
DOUBTED = "doubted_by_model"


@dataclass(frozen=True)
class Assessment:
    escalate: bool
    level: Level
    category: str | None
    lang: Lang
    matched: tuple[str, ...] = ()


def warm_up() -> None:
    """Load lexicons and jieba once (the server calls this at start)."""
    _lexicon()
    _text.tokenizer()
    emergency_model.warm_up()


@dataclass
class _Firing:
    """The rules a reading fires, and whether it holds an emergency rule's words that its
    scopes ruled out (negated, past, hypothetical, a question, a figure of speech, fiction):
    the lexicon then read the message and found no emergency, and the learned model, which
    has no scopes, does not overrule it."""

    rules: list[_Rule] = field(default_factory=list)
    ruled_out: bool = False


def _fired(msg: _Message, rules: Iterable[_Rule], *, first: bool = False) -> _Firing:
    """The rules that fire; ``first``: only the first (whether any does), without the
    ruled-out reading."""
    out = _Firing()
    for rule in rules:
        if msg.info(rule.lang) or (
            rule.unless_message and any(msg.hits(t) for t in rule.unless_message)
        ):
            out.ruled_out = out.ruled_out or (not first and _words_seen(msg, rule))
            continue
        if all(any(msg.live(rule, t) for t in group) for group in rule.groups):
            out.rules.append(rule)
            if first:
                break
        elif not out.ruled_out and not first:
            out.ruled_out = _words_seen(msg, rule)
    return out


def _words_seen(msg: _Message, rule: _Rule) -> bool:
    """Whether every term group of an emergency rule occurs in the message at all."""
    return rule.level == "emergency" and all(
        any(msg.hits(t) for t in group) for group in rule.groups
    )


def _fire(
    norm: str, lex: _Lexicon, out_lang: str, emergency_only: bool, *, first: bool = False
) -> _Firing:
    """The rules a normalised message fires (``first``: see ``_fired``)."""
    has_cjk = _CJK_CHAR_RE.search(norm) is not None
    has_latin = _LATIN_CHAR_RE.search(norm) is not None
    plan = _rule_order(lex, out_lang, has_cjk, has_latin, emergency_only)
    # Only rules whose every term group has a term that occurs at all are read closely (most
    # messages have none): clause splitting, segmentation and negation come after.
    present = _present_factors(norm, lex)
    rules = plan.candidates(norm, present)
    if not rules:
        return _Firing()
    return _fired(_Message(norm, lex, present), rules, first=first)


def finds(text: str, lang: str | None = None) -> bool:
    """Whether the lexicon finds an emergency or urgent finding in ``text`` read as written:
    ``assess(text, lang, as_written=True).level != "none"``, for less work (the first rule
    that fires settles it). For a model's answer, which the output guard reads."""
    lex = _lexicon()
    out_lang: Lang = lang if lang in ("zh", "en") else detect(text)  # type: ignore[assignment]
    norm = _text.normalize(text).text
    return bool(norm.strip()) and bool(_fire(norm, lex, out_lang, False, first=True).rules)


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
    where the lexicon saw an emergency rule's words and its scopes ruled them out ("no chest
    pain", "气得我吐血", "what are the signs of a stroke?") it escalates only when it is all
    but certain (``Reading.overrules``: scopes misread, as "今晚就全吃掉。谢谢你们之前的照顾").
    Where the lexicon finds an emergency the model finds very unlikely (``Reading.doubts``:
    a higher bar for an emergency found by one concept alone, self-harm aside, than for a
    composed one), the message is urgent, not an emergency, with the same category and
    ``matched`` led by ``DOUBTED``: two independent readings disagree this sharply far more
    often over a false alarm than over an emergency (urgent still carries the numbers).
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
    if learned and not as_written and not any(r.level == "emergency" for r in fired):
        model = emergency_model.read(norm)
        if model.escalate and (not ruled_out or model.overrules):
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
    if (
        level == "emergency"
        and learned
        and not as_written
        and emergency_model.read(norm).doubts(
            alone=len(top.groups) == 1 and top.category != "self_harm"
        )
    ):
        return Assessment(False, "urgent", top.category, out_lang, (DOUBTED, *matched))
    return Assessment(level == "emergency", level, top.category, out_lang, matched)
