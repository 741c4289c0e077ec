"""``careline eval pii``: PII masking against labelled spans, NER files or real messages."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import partial
from typing import Any

from bot.evaluation.common import (
    Counts,
    Report,
    Row,
    _shape,
    _timed,
    f_beta,
    latency_summary,
    ratio,
)

# --------------------------------------------------------------------------------- PII


def _spans(items: Iterable[Any]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, dict):
            out.append((int(item["start"]), int(item["end"])))
        else:
            out.append((int(item[0]), int(item[1])))
    return out


def evaluate_pii(rows: list[Row]) -> Report:
    from safety import pii

    pii.warm_up()
    shape = _shape(rows, "entities", "persons")
    samples: list[float] = []
    results = [(r, _timed(partial(pii.mask, r["text"], lang=r.get("lang")), samples)) for r in rows]
    texts = {r["id"]: r["text"] for r in rows}
    if shape == "labelled":
        return Report("pii", shape, _pii_labelled(results, samples), texts)
    if shape == "ner":
        return Report("pii", shape, _pii_ner(results, samples), texts)
    with_person = [r["id"] for r, m in results if any(e.kind == "PERSON" for e in m.entities)]
    with_any = sum(1 for _, m in results if m.entities)
    kinds = Counter(e.kind for _, m in results for e in m.entities)
    data = {
        "n": len(rows),
        "person_message_rate": ratio(len(with_person), len(rows)),
        "any_mask_message_rate": ratio(with_any, len(rows)),
        "masks_by_kind": dict(sorted(kinds.items())),
        "person_ids": with_person,
        "latency": latency_summary(samples),
    }
    return Report("pii", shape, data, texts)


# Kinds that are not identifiers with a fixed shape: their characters are counted apart.
_NOT_STRUCTURED = frozenset({"PERSON", "ADDRESS"})


def _pii_labelled(results: list[tuple[Row, Any]], samples: list[float]) -> dict[str, Any]:
    overall = Counts()
    per_kind: dict[str, Counts] = defaultdict(Counts)
    misses: list[dict[str, Any]] = []
    keep_lost: list[dict[str, Any]] = []
    # characters of each gold kind, and of those, the ones under some mask
    chars: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    for r, m in results:
        gold = {(int(e["start"]), int(e["end"]), str(e["kind"])) for e in r["entities"]}
        got = {(e.start, e.end, e.kind) for e in m.entities}
        masked = {i for e in m.entities for i in range(e.start, e.end)}
        for s, e, k in gold:
            chars[k] += e - s
            covered[k] += len(masked.intersection(range(s, e)))
        for s, e, k in gold:
            hit = (s, e, k) in got
            per_kind[k].tp += int(hit)
            per_kind[k].fn += int(not hit)
            if not hit:
                misses.append({"id": r["id"], "kind": k, "start": s, "end": e, "type": "missed"})
        for s, e, k in got - gold:
            per_kind[k].fp += 1
            misses.append({"id": r["id"], "kind": k, "start": s, "end": e, "type": "extra"})
        lost = [i for i, term in enumerate(r.get("keep", [])) if term not in m.text]
        if lost:
            keep_lost.append({"id": r["id"], "keep_index": lost})
    for c in per_kind.values():
        overall.tp += c.tp
        overall.fp += c.fp
        overall.fn += c.fn
    structured = [k for k in chars if k not in _NOT_STRUCTURED]
    return {
        "n": len(results),
        **overall.metrics(),
        "structured_chars_masked": ratio(
            sum(covered[k] for k in structured), sum(chars[k] for k in structured)
        ),
        "person_chars_masked": ratio(covered["PERSON"], chars["PERSON"]),
        "address_chars_masked": ratio(covered["ADDRESS"], chars["ADDRESS"]),
        "keep_terms_lost": sum(len(k["keep_index"]) for k in keep_lost),
        "per_kind": {k: v.metrics() for k, v in sorted(per_kind.items())},
        "keep_terms_masked": keep_lost,
        "misses": misses,
        "latency": latency_summary(samples),
    }


def _pii_ner(results: list[tuple[Row, Any]], samples: list[float]) -> dict[str, Any]:
    gold_chars = masked_any = masked_person = 0
    spans = spans_ok = 0
    missed_ids: list[str] = []
    wrong_ids: list[str] = []
    for r, m in results:
        gold = _spans(r["persons"])
        gchars = {i for s, e in gold for i in range(s, e)}
        any_chars = {i for e in m.entities for i in range(e.start, e.end)}
        person = [(e.start, e.end) for e in m.entities if e.kind == "PERSON"]
        person_chars = {i for s, e in person for i in range(s, e)}
        gold_chars += len(gchars)
        masked_any += len(gchars & any_chars)
        masked_person += len(gchars & person_chars)
        ok = [sp for sp in person if any(sp[0] < e and s < sp[1] for s, e in gold)]
        spans += len(person)
        spans_ok += len(ok)
        if gchars - any_chars:
            missed_ids.append(r["id"])
        if len(ok) < len(person):
            wrong_ids.append(r["id"])
    precision = ratio(spans_ok, spans)
    recall = ratio(masked_any, gold_chars)
    return {
        "n": len(results),
        "person_chars": gold_chars,
        "person_chars_masked": recall,
        "person_chars_masked_as_person": ratio(masked_person, gold_chars),
        "person_spans": spans,
        "person_span_precision": precision,
        "f2": f_beta(precision, recall),
        "person_message_rate": ratio(
            sum(1 for _, m in results if any(e.kind == "PERSON" for e in m.entities)), len(results)
        ),
        "misses": missed_ids,
        "false_positives": wrong_ids,
        "latency": latency_summary(samples),
    }
