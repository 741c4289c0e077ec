"""``careline eval kb QUESTIONS.jsonl``: how well the knowledge search finds the entries that
answer questions. Rows: ``{"id", "lang", "text", "expect": [ids]}``; an empty ``expect``
means the base does not answer the question."""

from __future__ import annotations

from functools import partial
from typing import Any

from bot.evaluation.common import EvalInputError, Report, Row, _timed, latency_summary, ratio
from bot.knowledge import Index

RANKS = 10  # MRR reads this far down


def evaluate_kb(rows: list[Row], index: Index) -> Report:
    if not rows:
        raise EvalInputError("no questions")
    samples: list[float] = []
    at1 = at3 = 0
    reciprocal = 0.0
    answerable = unanswerable = confident_unanswered = confident_answered = confident_wrong = 0
    misses: list[str] = []
    false_confident: list[str] = []
    for row in rows:
        expect = row["expect"]
        if not isinstance(expect, list):
            raise EvalInputError(f"{row.get('id')}: 'expect' must be a list of entry ids")
        result = _timed(partial(index.search, str(row["text"]), row.get("lang"), RANKS), samples)
        ranked = [h.id for h in result.hits]
        if not expect:
            unanswerable += 1
            if result.confident:
                confident_unanswered += 1
                false_confident.append(str(row["id"]))
            continue
        answerable += 1
        first = next((k for k, hid in enumerate(ranked) if hid in expect), None)
        at1 += int(first == 0)
        at3 += int(first is not None and first < 3)
        reciprocal += 1.0 / (first + 1) if first is not None else 0.0
        if first is None or first >= 3:
            misses.append(str(row["id"]))
        if result.confident:
            confident_answered += 1
            if first != 0:
                confident_wrong += 1
                false_confident.append(str(row["id"]))
    data: dict[str, Any] = {
        "n": len(rows),
        "entries": len(index),
        "answerable": answerable,
        "recall_at_1": ratio(at1, answerable),
        "recall_at_3": ratio(at3, answerable),
        "mrr": ratio(reciprocal, answerable),
        "unanswerable": unanswerable,
        "confident_on_unanswerable": ratio(confident_unanswered, unanswerable),
        "confident_on_answerable": ratio(confident_answered, answerable),
        "confident_but_wrong": ratio(confident_wrong, confident_answered),
        "misses": misses,
        "false_confident": false_confident,
        "latency": latency_summary(samples),
    }
    return Report("kb", "kb", data, {str(r["id"]): str(r["text"]) for r in rows})
