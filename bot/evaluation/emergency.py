"""``careline eval emergency``: emergency escalation against labelled or real messages."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import partial
from typing import Any

from bot.evaluation.common import Counts, Report, Row, _shape, _timed, latency_summary, ratio

# --------------------------------------------------------------------------- emergency


def evaluate_emergency(rows: list[Row]) -> Report:
    from safety import emergency

    emergency.warm_up()
    emergency.pinyin_reader()  # as `careline serve` has it soon after start-up
    shape = _shape(rows, "escalate")
    samples: list[float] = []
    results = [
        (r, _timed(partial(emergency.assess, r["text"], r.get("lang")), samples)) for r in rows
    ]
    texts = {r["id"]: r["text"] for r in rows}
    if shape == "unlabelled":
        flagged = [(r["id"], a.category) for r, a in results if a.escalate]
        learned = sum(1 for _, a in results if _learned(a))
        urgent = sum(1 for _, a in results if a.level == "urgent")
        data: dict[str, Any] = {
            "n": len(rows),
            "flagged": len(flagged),
            "flag_rate": ratio(len(flagged), len(rows)),
            "learned_flagged": learned,
            "urgent_rate": ratio(urgent, len(rows)),
            "flagged_by_category": dict(Counter(c or "?" for _, c in flagged)),
            "flagged_ids": [i for i, _ in flagged],
            "latency": latency_summary(samples),
        }
        return Report("emergency", shape, data, texts)
    overall = Counts()
    per_cat: dict[str, Counts] = defaultdict(Counts)
    cat_right = 0
    none_n = none_escalated = none_flagged = 0
    misses: list[dict[str, Any]] = []
    false_pos: list[dict[str, Any]] = []
    for r, a in results:
        gold = bool(r["escalate"])
        cat = str(r.get("category") or "none")
        if gold and a.escalate:
            overall.tp += 1
            per_cat[cat].tp += 1
            cat_right += int(a.category == r.get("category"))
        elif gold:
            overall.fn += 1
            per_cat[cat].fn += 1
            misses.append({"id": r["id"], "category": cat, "got": a.level})
        elif a.escalate:
            overall.fp += 1
            per_cat[str(a.category)].fp += 1
            false_pos.append({"id": r["id"], "level": r.get("level"), "got": a.category})
        if r.get("level") == "none":
            none_n += 1
            none_escalated += int(a.escalate)
            none_flagged += int(a.level != "none")
    negatives = sum(1 for r, _ in results if not r["escalate"])
    data = {
        "n": len(rows),
        **overall.metrics(),
        "false_positive_rate": ratio(overall.fp, negatives),
        "none_escalated_rate": ratio(none_escalated, none_n),
        "none_any_level_rate": ratio(none_flagged, none_n),
        "category_accuracy": ratio(cat_right, overall.tp),
        # escalations only the learned reading made (the lexicon alone would not have)
        "learned_tp": sum(1 for r, a in results if r["escalate"] and _learned(a)),
        "learned_fp": sum(1 for r, a in results if not r["escalate"] and _learned(a)),
        # lexicon emergencies the learned reading lowered to urgent: misses it made, and
        # false alarms it spared
        "doubted_fn": sum(1 for r, a in results if r["escalate"] and _doubted(a)),
        "doubted_tn": sum(1 for r, a in results if not r["escalate"] and _doubted(a)),
        "per_category": {c: v.metrics() for c, v in sorted(per_cat.items())},
        "per_style": _per_style(results),
        "misses": misses,
        "false_positives": false_pos,
        "latency": latency_summary(samples),
    }
    return Report("emergency", shape, data, texts)


def _learned(a: Any) -> bool:
    """Whether the learned reading made this escalation (``learned.<category>`` first)."""
    from safety.emergency import LEARNED_PREFIX

    return bool(a.escalate and a.matched and a.matched[0].startswith(LEARNED_PREFIX))


def _doubted(a: Any) -> bool:
    """Whether the learned reading lowered a lexicon emergency to urgent."""
    from safety.emergency.analysis import DOUBTED

    return bool(a.matched and a.matched[0] == DOUBTED)


def _per_style(results: list[tuple[Row, Any]]) -> dict[str, dict[str, Any]]:
    """Recall and false alarms by writing style, for rows that name one (``"style"``:
    zh, zh_trad, yue, en, pinyin, mixed ...)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # pos, tp, neg, fp
    for r, a in results:
        style = r.get("style")
        if not isinstance(style, str):
            continue
        counts = tally[style]
        if r["escalate"]:
            counts[0] += 1
            counts[1] += int(a.escalate)
        else:
            counts[2] += 1
            counts[3] += int(a.escalate)
    return {
        style: {
            "emergencies": pos,
            "recall": ratio(tp, pos),
            "negatives": neg,
            "false_alarm_rate": ratio(fp, neg),
        }
        for style, (pos, tp, neg, fp) in sorted(tally.items())
    }
