"""Measure the safety package on the shared evaluation data; prints figures only.

Usage: .venv/bin/python bench/eval_safety.py [--data ../shared/data] [--show]
``--show`` prints the ids of misses (never the message text) for review.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from safety import (
    emergency,
    pii,
)


def _load(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def eval_emergency(data: Path, show: bool) -> None:
    rows = _load(data / "emergency_dev.jsonl")
    pos = [r for r in rows if r["escalate"]]
    none = [r for r in rows if r["level"] == "none"]
    missed = [r["id"] for r in pos if not emergency.assess(str(r["text"])).escalate]
    fp = [r["id"] for r in none if emergency.assess(str(r["text"])).level != "none"]
    fp_esc = [r["id"] for r in none if emergency.assess(str(r["text"])).escalate]
    cat_ok = sum(
        1 for r in pos if emergency.assess(str(r["text"])).category == r["category"]
    )
    print(f"emergency_dev: n={len(rows)} recall(escalate)={1 - len(missed) / len(pos):.3f} "
          f"({len(pos) - len(missed)}/{len(pos)}) "
          f"fpr(level none flagged any level)={len(fp) / len(none):.3f} "
          f"fpr(level none escalated)={len(fp_esc) / len(none):.3f} "
          f"category accuracy on escalations={cat_ok / len(pos):.3f}")
    if show:
        print("  missed:", missed)
        print("  false positives:", fp)
    cmdd = _load(data / "real" / "cmdd_questions_dev.jsonl")
    flagged = [r["id"] for r in cmdd if emergency.assess(str(r["text"])).escalate]
    print(f"cmdd_questions_dev: n={len(cmdd)} escalate rate={len(flagged) / len(cmdd):.4f}")
    if show:
        print("  escalated:", flagged)
    live = _load(data / "real" / "liveqa_questions_dev.jsonl")
    lflag = [r["id"] for r in live if emergency.assess(str(r["text"])).escalate]
    print(f"liveqa_questions_dev: n={len(live)} escalate rate={len(lflag) / len(live):.4f}")


def eval_pii(data: Path, show: bool) -> None:
    rows = _load(data / "pii_dev.jsonl")
    tp = fp = fn = 0
    kept_bad = 0
    misses: list[str] = []
    for r in rows:
        res = pii.mask(str(r["text"]))
        gold = {(e["start"], e["end"], e["kind"]) for e in r["entities"]}  # type: ignore[index, union-attr]
        got = {(e.start, e.end, e.kind) for e in res.entities}
        tp += len(gold & got)
        fp += len(got - gold)
        fn += len(gold - got)
        if gold != got:
            misses.append(str(r["id"]))
        kept_bad += sum(1 for k in r["keep"] if k not in res.text)  # type: ignore[union-attr]
    p = tp / max(1, tp + fp)
    rc = tp / max(1, tp + fn)
    print(f"pii_dev exact spans: precision={p:.3f} recall={rc:.3f} keep-terms lost={kept_bad}")
    if show:
        print("  rows differing:", misses)
    msra = _load(data / "real" / "msra_ner_test.jsonl")
    gold_chars = covered = 0
    spans = span_ok = 0
    for r in msra:
        res = pii.mask(str(r["text"]), lang="zh")
        mask_chars = set()
        person_spans = [(e.start, e.end) for e in res.entities if e.kind == "PERSON"]
        for s, e in person_spans:
            mask_chars.update(range(s, e))
        gold = [tuple(x) for x in r["persons"]]  # type: ignore[union-attr]
        gchars = {i for s, e in gold for i in range(s, e)}
        gold_chars += len(gchars)
        covered += len(gchars & {i for e in res.entities for i in range(e.start, e.end)})
        spans += len(person_spans)
        span_ok += sum(1 for sp in person_spans if any(sp[0] < e and s < sp[1] for s, e in gold))
    print(f"msra_ner_test: person chars masked={covered / max(1, gold_chars):.3f} "
          f"PERSON span precision (overlap)={span_ok / max(1, spans):.3f} spans={spans}")
    cmdd = _load(data / "real" / "cmdd_questions_dev.jsonl")
    with_person = [r["id"] for r in cmdd
                   if any(e.kind == "PERSON" for e in pii.mask(str(r["text"])).entities)]
    print(f"cmdd_questions_dev: messages with a PERSON mask={len(with_person) / len(cmdd):.4f}")
    if show:
        print("  with PERSON:", with_person[:40])


def eval_speed(data: Path) -> None:
    rows = _load(data / "real" / "cmdd_questions_dev.jsonl")
    texts = [str(r["text"])[:200] for r in rows if len(str(r["text"])) >= 200][:300]
    import jieba
    import jieba.posseg

    jieba.initialize()
    for t in texts[:5]:
        emergency.assess(t + "x")
        pii.mask(t + "x")
    ours: list[float] = []
    base: list[float] = []
    for i, t in enumerate(texts):
        fresh = t + str(i)  # defeat caches: the pipeline sees each message once
        t0 = time.perf_counter()
        emergency.assess(fresh)
        pii.mask(fresh)
        ours.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        list(jieba.posseg.cut(fresh))
        base.append((time.perf_counter() - t0) * 1000)
    ours.sort()
    base.sort()
    p99 = ours[int(0.99 * (len(ours) - 1))]
    print(f"speed on {len(texts)} x 200-char messages: "
          f"assess+mask p50={statistics.median(ours):.2f} ms "
          f"p99={p99:.2f} ms; jieba.posseg p50={statistics.median(base):.2f} ms "
          f"ratio(p50)={statistics.median(ours) / statistics.median(base):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    ap.add_argument("--data", type=Path, default=default_data)
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--only", choices=["emergency", "pii", "speed"])
    args = ap.parse_args()
    emergency.warm_up()
    pii.warm_up()
    if args.only in (None, "emergency"):
        eval_emergency(args.data, args.show)
    if args.only in (None, "pii"):
        eval_pii(args.data, args.show)
    if args.only in (None, "speed"):
        eval_speed(args.data)


if __name__ == "__main__":
    main()
