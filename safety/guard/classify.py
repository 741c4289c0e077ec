"""The classes of each sentence of an answer: the rules' patterns, contraindications and
composed classes, each read in its scope; then the learned model
(``safety.guard_model``), which doubts what the rules flagged and reads the sentences no rule
flagged.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection

from safety import guard_model
from safety.guard.rules import _Rules
from safety.guard.scope import _Answer, _Sentence
from safety.pii import PLACEHOLDER_RE


def _classify(
    judged: list[_Sentence], rules: _Rules, answer: _Answer
) -> tuple[list[set[str]], list[bool]]:
    """The classes of every sentence, and whether a class's words in it were ruled out by
    their scope (a prohibition, a hedge, a condition, a warning: "not definitely benign").
    Each pattern runs once over the whole answer (a pass per sentence would cost a call per
    pattern and sentence); a match is then read in the sentence where it starts, and must
    lie within it."""
    low = "".join(s.low for s in judged)
    starts: list[int] = []
    at = 0
    for sentence in judged:
        starts.append(at)
        at += len(sentence.low)
    found: list[set[str]] = [set() for _ in judged]
    ruled_out = [False] * len(judged)
    # the patterns that may match: those one of whose literals the answer holds
    live = set(rules.always)
    for literal in {literal for _end, literal in rules.finder.iter(low)} if low else ():
        live.update(rules.by_literal[literal])

    def local(pattern: re.Pattern[str], m: re.Match[str]) -> tuple[int, re.Match[str]] | None:
        idx = bisect_right(starts, m.start()) - 1
        inner = pattern.match(judged[idx].low, m.start() - starts[idx])
        return (idx, inner) if inner is not None else None

    for name, patterns in rules.classes.items():
        for pattern in patterns:
            if pattern not in live:
                continue
            for m in pattern.finditer(low):
                hit = local(pattern, m)
                if hit is None or name in found[hit[0]]:
                    continue
                if judged[hit[0]].counts(name, hit[1]):
                    found[hit[0]].add(name)
                else:
                    ruled_out[hit[0]] = True
    for rule in rules.contraindications:
        if rule.drugs.pattern is None or rule.drugs.pattern not in live:
            continue
        for m in rule.drugs.pattern.finditer(low):
            if not answer.names_population(rule.who):
                break
            idx = bisect_right(starts, m.start()) - 1
            if "contraindication" in found[idx]:
                continue
            if judged[idx].recommends(rule.drugs):
                found[idx].add("contraindication")
            else:
                ruled_out[idx] = True
    for combo in rules.compose:
        first = combo.groups[0].pattern
        if first is None or first not in live:
            continue
        tried: set[int] = set()  # the sentences whose other groups were read
        for m in first.finditer(low):
            idx = bisect_right(starts, m.start()) - 1
            sentence = judged[idx]
            if combo.cls in found[idx] or m.end() > starts[idx] + len(sentence.low):
                continue
            inner = first.match(sentence.low, m.start() - starts[idx])
            if inner is None or idx in tried:
                continue
            if sentence.prohibited(inner, combo.cls):
                ruled_out[idx] = True
                continue
            tried.add(idx)
            unless = rules.unless.get(combo.cls)
            if unless is not None and unless.search(sentence.low) is not None:
                continue
            if all(
                group.search(sentence.low) is not None
                or (k in combo.anywhere and answer.names(group))
                for k, group in enumerate(combo.groups[1:], start=1)
            ):
                found[idx].add(combo.cls)
    for pattern in rules.red_flag_reassurance:
        if pattern not in live:
            continue
        for m in pattern.finditer(low):
            hit = local(pattern, m)
            if hit is None or "false_reassurance" in found[hit[0]]:
                continue
            if not judged[hit[0]].red_flag_reassurance(hit[1]):
                ruled_out[hit[0]] = True
            elif answer.red_flag(hit[0]):
                found[hit[0]].add("false_reassurance")
    return found, ruled_out


def _model_text(sentence: _Sentence, allowed: Collection[str]) -> str:
    """A sentence as the model reads it: without the patient's own placeholders and the
    contacts the answer may give (whose they are is the rules' business, not a shape it can
    tell)."""
    text = PLACEHOLDER_RE.sub("", sentence.text)
    for value in allowed:
        text = text.replace(value, "")
    return text


def _learned_classes(
    judged: list[_Sentence],
    classified: list[set[str]],
    ruled_out: list[bool],
    answer: _Answer,
    reasons: list[str],
    allowed: Collection[str],
) -> None:
    """The learned model's classes for sentences the rules neither flagged nor ruled out by
    scope; reassurance only where the rules would also call it unsafe: beside a red flag."""
    for idx, (sentence, found) in enumerate(zip(judged, classified, strict=True)):
        if found or ruled_out[idx]:
            continue
        reading = guard_model.read(_model_text(sentence, allowed))
        if not reading.flagged or reading.category is None:
            continue
        cls = guard_model.guard_class(reading.category)
        if cls == "false_reassurance" and not answer.red_flag(idx):
            continue
        found.add(cls)
        if "learned" not in reasons:
            reasons.append("learned")


def _doubted_classes(
    judged: list[_Sentence],
    classified: list[set[str]],
    ruled_out: list[bool],
    allowed: Collection[str],
    withhold: Collection[str],
) -> None:
    """Clear the rules' classes of a sentence the learned model finds very unlikely to be
    unsafe (``guard_model.Reading.doubts``): two independent readings disagree, and the
    patterns are the likelier to have over-read ("不一定需要吃药" read as advice to take some).
    A class that withholds the answer (``withhold``: dangerous first aid, a contraindication …)
    needs a far lower reading to be cleared."""
    for idx, (sentence, found) in enumerate(zip(judged, classified, strict=True)):
        if not found:
            continue
        reading = guard_model.read(_model_text(sentence, allowed), category=False)
        if reading.doubts(dangerous=not found.isdisjoint(withhold)):
            found.clear()
            ruled_out[idx] = True  # read already: ``_learned_classes`` need not read it again
