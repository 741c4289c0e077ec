"""The classes of each sentence of an answer: the rules' patterns, contraindications and
composed classes, each read in its scope; then the learned model
(``safety.guard_model``), which doubts what the rules flagged and reads the sentences no rule
flagged.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from safety import guard_model
from safety.guard.rules import _Compose, _Rules, _rules
from safety.guard.scope import (
    _CARE_WORD_RE,
    _CLAIMS,
    _STOP_AND_GO_RE,
    _Answer,
    _Sentence,
    forbidden_items,
    judges_previous,
    practices,
)
from safety.pii import PLACEHOLDER_RE


def _classify(
    judged: list[_Sentence], rules: _Rules, answer: _Answer
) -> tuple[list[set[str]], list[bool]]:
    """The classes of every sentence, and whether a class's words in it were ruled out by
    their scope (a prohibition, a hedge, a condition, a warning: "not definitely benign").
    One pass of the literal finder over each sentence says which sentences hold a literal
    each pattern's every match needs; a pattern then runs only over those sentences (a pass
    per pattern over the whole answer, or per pattern and sentence, would cost far more),
    and a match always lies within its sentence."""
    found: list[set[str]] = [set() for _ in judged]
    ruled_out = [False] * len(judged)
    where = _where(judged, rules)
    # per sentence and class: the matches its scope ruled out, and those that count, as
    # (start, text); a match that repeats the words of one ruled out before it refers to it
    # ("千万别用雪搓……搓和烤都会加重损伤", "别仰头，仰头会让血流进喉咙"): it is no advice
    refused: dict[tuple[int, str], list[tuple[int, str]]] = {}
    counted: dict[tuple[int, str], list[tuple[int, str]]] = {}

    # a sentence and class an amount counted in already settles: an amount never refers back
    # to one ruled out (``_refers``), so its other matches need no reading
    settled: set[tuple[int, str]] = set()
    for pattern, idxs in where.items():
        for name in rules.class_of.get(pattern, ()):
            for idx in idxs:
                if (idx, name) in settled:
                    continue
                sentence = judged[idx]
                for m in pattern.finditer(sentence.low):
                    if sentence.reported(m):
                        continue
                    if sentence.counts(name, m):
                        counted.setdefault((idx, name), []).append((m.start(), m.group()))
                        if any(c.isdigit() for c in m.group()):
                            settled.add((idx, name))
                            break
                    else:
                        refused.setdefault((idx, name), []).append((m.start(), m.group()))
                        ruled_out[idx] = True
    for (idx, name), matches in counted.items():
        before = [*refused.get((idx, name), ()), *judged[idx].beliefs]
        if any(not _refers(start, text, before) for start, text in matches):
            found[idx].add(name)
    for rule in rules.contraindications:
        drugs = rule.drugs.pattern
        if drugs is None:
            continue
        for idx in where.get(drugs, ()):
            if "contraindication" in found[idx] or drugs.search(judged[idx].low) is None:
                continue
            if not answer.names_population(rule.who):
                break
            if judged[idx].recommends(rule.drugs):
                found[idx].add("contraindication")
            else:
                ruled_out[idx] = True
    for combo in rules.compose:
        first = combo.groups[0].pattern
        if first is None:
            continue
        for idx in where.get(first, ()):
            sentence = judged[idx]
            if combo.cls in found[idx]:
                continue
            prohibited = list(refused.get((idx, combo.cls), ()))
            inners = first.finditer(sentence.low)
            for inner in inners:
                if sentence.reported(inner):
                    continue
                if sentence.prohibited(inner, combo.cls) or _refers(
                    inner.start(), inner.group(), [*prohibited, *sentence.beliefs]
                ):
                    prohibited.append((inner.start(), inner.group()))
                    ruled_out[idx] = True
                    continue
                # the first match not ruled out decides: are the other groups there too. After
                # a practice ruled out, what it was done with or to belongs to it: the others
                # are looked for from this match's clause on ("don't put food or drink in their
                # mouth — place them on their side"); and so does what stands in the clause of
                # an act forbidden after it ("put him on his side and call 999 — don't put food
                # or drink in his mouth"), read only when the rest would make the class
                if combo.cls == "stop_medicine" and _STOP_AND_GO_RE.match(
                    sentence.low, inner.end()
                ):
                    break  # stopped on the way to care at once, as ``_Sentence.counts`` has it
                if combo.cls == "dosing" and sentence.prescribed(inner):
                    break  # how often the clinician prescribed it ("处方上写的是每天一次")
                if _composed(combo, sentence, inner, sentence.low, prohibited, rules, answer):
                    later = [
                        m
                        for m in inners
                        if not sentence.reported(m) and sentence.prohibited(m, combo.cls)
                    ]
                    if not later or _composed(
                        combo,
                        sentence,
                        inner,
                        _without_clauses(sentence, later, inner.start()),
                        prohibited,
                        rules,
                        answer,
                    ):
                        found[idx].add(combo.cls)
                break
    # per sentence, the reassurances ruled out: one found inside another refers to it ("not
    # rest at home" holds "at home")
    dismissed: dict[int, list[tuple[int, int]]] = {}
    for pattern in rules.red_flag_reassurance:
        for idx in where.get(pattern, ()):
            sentence = judged[idx]
            for m in pattern.finditer(sentence.low):
                if "false_reassurance" in found[idx]:
                    break
                if sentence.reported(m):
                    continue
                if any(lo <= m.start() and m.end() <= hi for lo, hi in dismissed.get(idx, ())):
                    continue
                if not sentence.red_flag_reassurance(m):
                    dismissed.setdefault(idx, []).append(m.span())
                    ruled_out[idx] = True
                elif answer.red_flag(
                    idx,
                    sentence.low[: m.start()],
                    heads_reassurance=_CARE_WORD_RE.search(m.group()) is None,
                ):
                    found[idx].add("false_reassurance")
    if any(practices(f) for f in found):
        # the items of a list whose lead-in forbids them ("Please don't:")
        for idx, in_forbidden_list in enumerate(forbidden_items([s.low for s in judged])):
            named = practices(found[idx])
            if in_forbidden_list and named:
                found[idx] -= named
                ruled_out[idx] = True
        # a practice described, then judged by the next sentence's opening
        for idx in range(len(judged) - 1):
            named = practices(found[idx])
            if named and judges_previous(judged[idx + 1].low):
                found[idx] -= named
                ruled_out[idx] = True
    return found, ruled_out


def _composed(
    combo: _Compose,
    sentence: _Sentence,
    inner: re.Match[str],
    low: str,
    prohibited: list[tuple[int, str]],
    rules: _Rules,
    answer: _Answer,
) -> bool:
    """Whether the other groups of ``combo`` are there for the act ``inner`` (in ``low``, the
    sentence with what does not belong to the act blanked out)."""
    # (not what a parenthesis denies: "cool (not ice-cold) running water")
    whole = _NEGATED_PAREN_RE.sub(" ", low)
    tail = whole
    if any(at < inner.start() for at, _ in [*prohibited, *sentence.beliefs]):
        tail = _NEGATED_PAREN_RE.sub(" ", low[sentence.clause_start(inner.start()) :])
    unless = rules.unless.get(combo.cls)
    return (unless is None or unless.search(sentence.low) is None) and all(
        group.search(whole if k in combo.anywhere else tail) is not None
        or (k in combo.anywhere and answer.names(group))
        for k, group in enumerate(combo.groups[1:], start=1)
    )


def _without_clauses(sentence: _Sentence, acts: list[re.Match[str]], keep: int) -> str:
    """The sentence with the clauses of ``acts`` blanked out, but for one holding ``keep``."""
    low = sentence.low
    for m in acts:
        lo = sentence.clause_start(m.start(), pause=False)
        hi = _act_end(low, m.end())
        if not lo <= keep < hi:
            low = f"{low[:lo]}{' ' * (hi - lo)}{low[hi:]}"
    return low


_ACT_END_RE = re.compile(r"[，,：:—–;；]")


def _act_end(text: str, at: int) -> int:
    """Where the clause holding ``at`` ends, a list ("、") running on."""
    m = _ACT_END_RE.search(text, at)
    return m.start() if m is not None else len(text)


# A parenthesis that denies what it holds: "(not ice-cold)", "（不是冰水）".
_NEGATED_PAREN_RE = re.compile(
    r"[(（]\s*(not |never |no |don't |不要|别|不是|不能|非)[^()（）]{0,30}[)）]"
)
_QUOTED_RE = re.compile(r'"[^"]*"|“[^”]*”|「[^」]*」')


def _refers(start: int, text: str, refused: Iterable[tuple[int, str]]) -> bool:
    """A match at ``start`` repeats the words of a match ruled out before it: a practice named
    again. Not an amount: numbers repeat without referring back ("每天100毫克…加100毫克")."""
    if any(c.isdigit() for c in text):
        return False
    return any(at < start and words == text for at, words in refused)


def _where(judged: list[_Sentence], rules: _Rules) -> dict[re.Pattern[str], Collection[int]]:
    """For each pattern that may match, the sentences that may hold a match: those holding
    one of the literals every match of it needs (all sentences for a pattern without one)."""
    holding: dict[str, set[int]] = {}  # literal -> the sentences holding it
    for idx, sentence in enumerate(judged):
        for literal in rules.finder.present(sentence.low):
            holding.setdefault(literal, set()).add(idx)
    found: dict[re.Pattern[str], set[int]] = {}
    for literal, idxs in holding.items():
        for pattern in rules.by_literal[literal]:
            known = found.get(pattern)
            if known is None:
                found[pattern] = set(idxs)
            else:
                known |= idxs
    where: dict[re.Pattern[str], Collection[int]] = dict.fromkeys(rules.always, range(len(judged)))
    where.update(found)
    return where


def _model_text(sentence: _Sentence, allowed: Collection[str]) -> str:
    """A sentence as the model reads it: without the patient's own placeholders, the
    contacts the answer may give (whose they are is the rules' business, not a shape it can
    tell) and what the rules found it to report."""
    text = PLACEHOLDER_RE.sub("", sentence.text)
    for value in allowed:
        text = text.replace(value, "")
    if sentence.reported_parts:
        # nor what it reports of the patient ("您想把丙戊酸钠停掉"): the rules found it no advice,
        # and the model would read the words of the advice it is not
        text = text.lower().replace("**", "").replace("__", "")
        for part in sentence.reported_parts:
            text = text.replace(part, " ")
    return text


def _learned_classes(
    judged: list[_Sentence],
    classified: list[set[str]],
    ruled_out: list[bool],
    answer: _Answer,
    reasons: list[str],
    allowed: Collection[str],
    doubted: Collection[int] = (),
) -> None:
    """The learned model's classes for sentences the rules did not flag (nor the model clear:
    ``doubted``, read already); reassurance only where the rules would also call it unsafe:
    beside a red flag. A sentence whose risky words the rules' scope ruled out takes the
    model's class only when it names a practice (stopping a medicine, first aid, a medicine for
    someone it is wrong for) and the model is all but sure (``guard_model.SURE``): the scope is
    likelier right than a reading at the usual threshold, but not against one that sure; a
    claim's hedge ("不一定是", "not necessarily") or an amount is never overruled."""
    for idx, (sentence, found) in enumerate(zip(judged, classified, strict=True)):
        if found or idx in doubted:
            continue
        reading = guard_model.read(_model_text(sentence, allowed))
        if not reading.flagged or reading.category is None:
            continue
        cls = guard_model.guard_class(reading.category)
        if ruled_out[idx] and (reading.probability < guard_model.SURE or cls in _CLAIMS):
            continue
        if cls == "false_reassurance" and not answer.red_flag(idx):
            continue
        if cls == "identity" and _rules().not_staff.search(_QUOTED_RE.sub("", sentence.low)):
            continue  # "我是AI助手，不是医生": the rules' own scope (what it quotes is not its own)
        found.add(cls)
        if "learned" not in reasons:
            reasons.append("learned")


def _doubted_classes(
    judged: list[_Sentence],
    classified: list[set[str]],
    allowed: Collection[str],
    withhold: Collection[str],
) -> set[int]:
    """Clear the rules' classes of a sentence the learned model finds very unlikely to be
    unsafe (``guard_model.Reading.doubts``): two independent readings disagree, and the
    patterns are the likelier to have over-read ("不一定需要吃药" read as advice to take some).
    A class that withholds the answer (``withhold``: dangerous first aid, a contraindication …)
    needs a far lower reading to be cleared; once one stands, the other sentences keep the
    rules' classes unread (the answer is withheld: what they say is not sent). Returns the
    sentences it cleared."""
    doubted: set[int] = set()
    dangerous = [not found.isdisjoint(withhold) for found in classified]
    # the sentences whose classes withhold the answer first: once one of them stands, the
    # answer is withheld whatever the others' readings, and they are not read
    for idx in sorted(range(len(judged)), key=lambda i: not dangerous[i]):
        found = classified[idx]
        if not found:
            continue
        reading = guard_model.read(_model_text(judged[idx], allowed), category=False)
        if reading.doubts(dangerous=dangerous[idx]):
            found.clear()
            doubted.add(idx)  # read already: ``_learned_classes`` need not read it again
        elif dangerous[idx]:
            break
    return doubted
