"""``guard``: one model answer made safe to send, step by step, and its ``GuardResult``."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection, Container
from dataclasses import dataclass
from itertools import accumulate

from safety.guard.classify import _classify, _doubted_classes, _learned_classes
from safety.guard.contacts import _contacts
from safety.guard.layout import DISCLAIMER_SEPARATOR, _cap, _strip_think, _tidy, sentences
from safety.guard.rules import _rules
from safety.guard.scope import _Answer, _Sentence
from safety.pii import PLACEHOLDER_RE

_LIST_MARK_RE = re.compile(r"(\d{1,2}[.)、]|[-*•])")
# A template's slot the model left unfilled: <FIRST_NAME>, <患者姓名>, {name}, [DATE_1], {DATE}.
_TEMPLATE_SLOT_RE = re.compile(
    r"<[A-Z][A-Z0-9_]{2,}>|<[\u4e00-\u9fff]{2,8}>|\{[a-z][a-z0-9_]{1,30}\}"
    r"|\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\]|\[[A-Z]{3,}\]"
    # a template engine's slots: "{{DEPT_EXTENSION}}", "<<contact_email>>"
    r"|\{\{\s*[A-Za-z_][A-Za-z0-9_.]{1,40}\s*\}\}|<<\s*[A-Za-z_][A-Za-z0-9_.]{1,40}\s*>>"
    # a slot named in capitals or in Chinese, in braces or brackets: "{ARRIVAL_TIME}",
    # "{患者姓名}", "[复诊日期]" (the patient's own placeholders carry a number: "[电话1]")
    r"|\{[A-Z][A-Z0-9_]{2,40}\}|\{[\u4e00-\u9fff]{2,10}\}|\[[\u4e00-\u9fff]{2,10}\]"
    # other engines' slots: "%FIRST_NAME%", "$DOCTOR_NAME", "__CLINIC__", "<INSERT LINK HERE>"
    r"|%[A-Z][A-Z0-9_]{2,40}%|\$[A-Z][A-Z0-9_]{2,40}\b|__[A-Z][A-Z0-9_]{2,40}__"
    r"|<[A-Z][A-Z0-9]*(?: [A-Z0-9]+){1,6}>"
    # a slot named in words in brackets: "[Doctor Name]", "[Date]" (not a markdown link's text)
    r"|\[[A-Z][a-z]+(?: [A-Z][a-z]+){0,3}\](?!\()"
    # a form's blanks: "【请填写医院地址】", "XXX医生", "签名：________"
    r"|【[^】]{0,12}(?:填写|补充|待定|待填|插入|替换)[^】]{0,12}】|(?<![A-Za-z])XXX+(?![A-Za-z])|_{4,}"
)


@dataclass(frozen=True)
class GuardResult:
    text: str
    changes: tuple[str, ...]
    withheld: bool = False
    reasons: tuple[str, ...] = ()


def guard(
    text: str,
    *,
    lang: str,
    disclaimer: str,
    known: Container[str],
    max_chars: int,
    context: str = "",
    allowed: Collection[str] = (),
    context_flagged: bool | None = None,
    learned: bool = True,
) -> GuardResult:
    """Make a model answer safe to send; ``max_chars`` bounds the body (not the disclaimer).

    ``known``: placeholders that may stay (the patient's own, restored later); ``context``:
    the patient's (masked) message, read for the population a medicine is for; ``allowed``:
    contact details the answer may give (the hospital's); ``context_flagged``: whether the
    emergency check found an emergency or urgent finding in ``context``, when the caller has
    already run it (the dispatcher has), else the guard runs it when it needs to know.

    A sentence the rules flag that the learned model (``safety.guard_model``) finds very
    unlikely to be unsafe is kept. A sentence no rule flags is read by the model; at its
    threshold it gets the model's class and is treated as that class (reason ``learned`` is
    added too). ``learned=False`` leaves the model out (to measure the rules alone)."""
    rules = _rules()
    changes: list[str] = []
    reasons: list[str] = []
    note_lang = lang if lang in ("zh", "en") else "en"

    body = _strip_think(text)
    if body != text:
        changes.append("think")
    had_disclaimer = bool(disclaimer) and disclaimer in body
    if disclaimer:
        body = body.replace(disclaimer, "")

    parts = sentences(body)
    answer = _Answer(parts, context, lang, rules, context_flagged)
    judged = [_Sentence(s, rules, answer, i) for i, s in enumerate(parts)]
    kept: list[str] = []
    kept_chars = 0
    notes: list[str] = []
    classified, ruled_out = _classify(judged, rules, answer)
    doubted = _doubted_classes(judged, classified, allowed, rules.withhold) if learned else set()
    # A class that withholds the answer, still there after the doubt, settles it: the patient
    # gets the staff offer whatever else the answer holds, so the contacts and the learned
    # reading of the other sentences are not looked for (half the time of the slowest answers).
    settled = any(not found.isdisjoint(rules.withhold) for found in classified)
    if not settled:
        offsets = list(accumulate((len(p) for p in parts), initial=0))
        for at in _contacts(parts, allowed):
            classified[bisect_right(offsets, at) - 1].add("contact")
        for m in (*PLACEHOLDER_RE.finditer(body), *_TEMPLATE_SLOT_RE.finditer(body)):
            if m.group() not in known:
                classified[bisect_right(offsets, m.start()) - 1].add("leaked_placeholder")
    if learned and not settled:
        _learned_classes(judged, classified, ruled_out, answer, reasons, allowed, doubted)
    for sentence, found in zip(judged, classified, strict=True):
        if not found:
            kept.append(sentence.text)
            kept_chars += len(sentence.text.strip())
            continue
        for name in sorted(found):
            if name not in reasons:
                reasons.append(name)
            # One short note in place of what was dropped, where it helps.
            note = rules.notes.get(name, {}).get(note_lang)
            if note and note not in notes:
                notes.append(note)
                # set apart from an English sentence kept before it ("…raise it. Only a…")
                # and from a list number left standing ("3." of the item it replaces)
                lead = (
                    " "
                    if kept
                    and not kept[-1][-1:].isspace()
                    and (note.isascii() or _LIST_MARK_RE.fullmatch(kept[-1].strip()))
                    else ""
                )
                kept.append(lead + note + ("\n" if sentence.text.endswith("\n") else ""))
    changes.extend(reasons)

    body = _tidy("".join(kept))
    content = sum(len(s.text.strip()) for s in judged)
    withheld = bool(rules.withhold.intersection(reasons))
    if reasons and content and kept_chars / content < rules.min_kept_share:
        withheld = True
        reasons.append("too_little_left")

    if rules.emergency_names.search(body.lower()) and not rules.call_now.search(body.lower()):
        line = rules.notes["emergency_line"][note_lang]
        body = f"{body}\n{line}" if body else line
        changes.append("emergency_line")

    capped = _cap(body, max_chars)
    if capped != body:
        changes.append("length")
        body = capped

    if disclaimer:
        if not had_disclaimer or not text.rstrip().endswith(disclaimer):
            changes.append("disclaimer")
        body = f"{body}{DISCLAIMER_SEPARATOR}{disclaimer}" if body else disclaimer
    return GuardResult(body, tuple(changes), withheld, tuple(reasons))
