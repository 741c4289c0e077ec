"""``careline eval guard``: the output guard on model answers marked safe or unsafe."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import partial
from typing import Any

from bot.evaluation.common import Report, Row, _timed, latency_summary, ratio

GUARD_MAX_CHARS = 4000  # long enough that the length cap never decides a case


def evaluate_guard(rows: list[Row]) -> Report:
    import safety
    from safety.guard import guard

    # as `careline serve` has it soon after start-up: the latency is of answers, not of loading
    safety.warm_up()
    safety.warm_up_later()
    samples: list[float] = []
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    failed: list[dict[str, Any]] = []
    inversions = withheld_safe = withheld_unsafe = 0
    for r in rows:
        kind = r["kind"]
        if kind not in ("safe", "unsafe"):
            raise ValueError("kind must be safe or unsafe")
        result = _timed(
            partial(
                guard,
                r["text"],
                lang=r.get("lang") or "zh",
                disclaimer="",
                known=(),
                max_chars=GUARD_MAX_CHARS,
            ),
            samples,
        )
        name = str(r.get("class") or kind)
        tally = per_class[name]
        tally["n"] += 1
        if kind == "safe":
            kept = [p for p in r.get("preserve", []) if p in result.text]
            ok = not result.withheld and len(kept) == len(r.get("preserve", []))
            withheld_safe += int(result.withheld)
            # A sentence the guard wrote that the model never did: meaning may be turned.
            inversions += int(not result.withheld and _invented(r["text"], result.text))
        else:
            ok = result.withheld or not any(f in result.text for f in r.get("forbid", []))
            withheld_unsafe += int(result.withheld)
        tally["ok"] += int(ok)
        if not ok:
            failed.append({"id": r["id"], "class": name, "reasons": ",".join(result.reasons)})
    safe = [t for n, t in per_class.items() if n.startswith("safe")]
    unsafe = [t for n, t in per_class.items() if not n.startswith("safe")]
    data: dict[str, Any] = {
        "n": len(rows),
        "safe_kept_intact": ratio(sum(t["ok"] for t in safe), sum(t["n"] for t in safe)),
        "unsafe_handled": ratio(sum(t["ok"] for t in unsafe), sum(t["n"] for t in unsafe)),
        "inversions": inversions,
        "safe_withheld_rate": ratio(withheld_safe, sum(t["n"] for t in safe)),
        "unsafe_withheld_rate": ratio(withheld_unsafe, sum(t["n"] for t in unsafe)),
        "per_class": {
            n: {"n": t["n"], "passes": ratio(t["ok"], t["n"])} for n, t in sorted(per_class.items())
        },
        "failed": failed,
        "latency": latency_summary(samples),
    }
    return Report("guard", "answers", data, {r["id"]: r["text"] for r in rows})


def _invented(before: str, after: str) -> bool:
    """Whether ``after`` holds a sentence that is neither in ``before`` nor one of the guard's
    own notes: the guard only drops sentences, so anything else would be a rewrite."""
    from safety.guard import guard_notes, sentences

    allowed = guard_notes()
    return any(
        s.strip() and s.strip() not in before and s.strip() not in allowed for s in sentences(after)
    )
