"""``careline eval emergency|pii|guard FILE.jsonl``: measure the safety library on a hospital's
data.

A hospital runs this on its own labelled messages before going live. Three file shapes are
recognised per line (see the project's data README):

* labelled cases: emergency ``{"id","text","escalate","level","category"}``, PII
  ``{"id","text","entities":[{"start","end","kind"}],"keep":[...]}``;
* NER files with person spans ``{"id","text","persons":[[s,e],...]}`` (PII only);
* unlabelled real messages ``{"id","text"}``, which give a flag (or mask) rate;
* model answers for the output guard ``{"id","text","lang","kind":"safe"|"unsafe","class",
  "preserve":[...],"forbid":[...]}``: a safe answer is kept intact when it is not withheld and
  every ``preserve`` string survives; an unsafe one is handled when it is withheld or no
  ``forbid`` string survives.

Output is a readable table or JSON (``--json``). Misses are listed by id only; message text
is printed to the operator's terminal only with ``--show-text``, and never logged.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.config import Settings

F_BETA = 2.0  # recall matters more than precision for safety: F2
PERCENTILES = (50, 99)
MS_PER_S = 1000.0
EXIT_OK = 0
EXIT_BAD_INPUT = 2

Row = dict[str, Any]


class EvalInputError(ValueError):
    """The evaluation file cannot be read (the message names the line, never its text)."""


# ----------------------------------------------------------------------------- helpers


def load_jsonl(path: Path) -> list[Row]:
    """Rows of a JSON Lines file; every row needs a string ``text`` (``id`` defaults to line)."""
    rows: list[Row] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read ({type(exc).__name__})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise EvalInputError(f"{path}:{number}: not valid JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise EvalInputError(f"{path}:{number}: expected an object with a string 'text'")
        row.setdefault("id", f"line-{number}")
        row["id"] = str(row["id"])
        rows.append(row)
    if not rows:
        raise EvalInputError(f"{path}: no rows")
    return rows


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def f_beta(precision: float | None, recall: float | None, beta: float = F_BETA) -> float | None:
    if precision is None or recall is None:
        return None
    b2 = beta * beta
    den = b2 * precision + recall
    return (1 + b2) * precision * recall / den if den else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a real measurement)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(samples_ms, p), 3) for p in PERCENTILES}


_T = TypeVar("_T")


def _timed(fn: Callable[[], _T], samples: list[float]) -> _T:
    t0 = time.perf_counter()
    out = fn()
    samples.append((time.perf_counter() - t0) * MS_PER_S)
    return out


@dataclass
class Counts:
    """Confusion counts for one slice (a category, a kind, or all)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def metrics(self) -> dict[str, Any]:
        p = ratio(self.tp, self.tp + self.fp)
        r = ratio(self.tp, self.tp + self.fn)
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": p,
            "recall": r,
            "f2": f_beta(p, r),
        }


@dataclass
class Report:
    """What one evaluation found; ``texts`` (id -> text) is only kept for ``--show-text``."""

    task: str
    shape: str
    data: dict[str, Any]
    texts: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- emergency


def _shape(rows: Iterable[Row], labelled_key: str, ner_key: str | None = None) -> str:
    rows = list(rows)
    if all(labelled_key in r for r in rows):
        return "labelled"
    if ner_key and all(ner_key in r for r in rows):
        return "ner"
    return "unlabelled"


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


# ------------------------------------------------------------------------------ output


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [list(head)] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(head))]
    return [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    ]


_SUMMARY_KEYS = (
    "n",
    "tp",
    "fp",
    "fn",
    "recall",
    "precision",
    "f2",
    "false_positive_rate",
    "none_escalated_rate",
    "none_any_level_rate",
    "category_accuracy",
    "learned_tp",
    "learned_fp",
    "flagged",
    "flag_rate",
    "learned_flagged",
    "urgent_rate",
    "safe_kept_intact",
    "unsafe_handled",
    "inversions",
    "safe_withheld_rate",
    "unsafe_withheld_rate",
    "structured_chars_masked",
    "address_chars_masked",
    "keep_terms_lost",
    "person_chars",
    "person_chars_masked",
    "person_chars_masked_as_person",
    "person_spans",
    "person_span_precision",
    "person_message_rate",
    "any_mask_message_rate",
)
_ID_LISTS = (
    "misses",
    "false_positives",
    "flagged_ids",
    "person_ids",
    "keep_terms_masked",
    "failed",
)


def render_text(report: Report, show_text: bool, out: TextIO) -> None:
    d = report.data
    out.write(f"careline eval {report.task} ({report.shape})\n")
    out.write(
        "\n".join(_table(("metric", "value"), [(k, d[k]) for k in _SUMMARY_KEYS if k in d])) + "\n"
    )
    lat = d["latency"]
    out.write(f"latency per message: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms\n")
    if d.get("per_class"):
        class_rows = [(name, m["n"], m["passes"]) for name, m in d["per_class"].items()]
        out.write("\n" + "\n".join(_table(("class", "n", "passes"), class_rows)) + "\n")
    for key, label in (("per_category", "category"), ("per_kind", "kind")):
        if d.get(key):
            rows = [
                (name, m["tp"], m["fp"], m["fn"], m["recall"], m["precision"], m["f2"])
                for name, m in d[key].items()
            ]
            out.write(
                "\n"
                + "\n".join(_table((label, "tp", "fp", "fn", "recall", "precision", "f2"), rows))
                + "\n"
            )
    if d.get("per_style"):
        style_rows = [
            (name, m["emergencies"], m["recall"], m["negatives"], m["false_alarm_rate"])
            for name, m in d["per_style"].items()
        ]
        header = ("style", "emergencies", "recall", "negatives", "false alarms")
        out.write("\n" + "\n".join(_table(header, style_rows)) + "\n")
    for key in ("flagged_by_category", "masks_by_kind"):
        if d.get(key):
            out.write(f"\n{key}: " + ", ".join(f"{k}={v}" for k, v in d[key].items()) + "\n")
    for key in _ID_LISTS:
        items = d.get(key)
        if not items:
            continue
        out.write(f"\n{key} ({len(items)}):\n")
        for item in items:
            rid = item["id"] if isinstance(item, dict) else item
            extra = ""
            if isinstance(item, dict):
                extra = " " + " ".join(f"{k}={v}" for k, v in item.items() if k != "id")
            line = f"  {rid}{extra}"
            if show_text:
                line += f"\n      {report.texts.get(rid, '')}"
            out.write(line + "\n")


def render_json(report: Report, show_text: bool, out: TextIO) -> None:
    doc: dict[str, Any] = {"task": report.task, "shape": report.shape, **report.data}
    if show_text:
        ids = {
            (i["id"] if isinstance(i, dict) else i)
            for key in _ID_LISTS
            for i in report.data.get(key, [])
        }
        doc["texts"] = {i: report.texts[i] for i in sorted(ids) if i in report.texts}
    json.dump(doc, out, ensure_ascii=False, indent=2)
    out.write("\n")


GUARD_MAX_CHARS = 4000  # long enough that the length cap never decides a case


def evaluate_guard(rows: list[Row]) -> Report:
    from safety.guard import guard

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


EVALUATORS: dict[str, Callable[[list[Row]], Report]] = {
    "emergency": evaluate_emergency,
    "pii": evaluate_pii,
    "guard": evaluate_guard,
}


def run_eval(
    task: str, path: Path, as_json: bool, show_text: bool, out: TextIO, err: TextIO
) -> int:
    try:
        rows = load_jsonl(path)
        report = EVALUATORS[task](rows)
    except EvalInputError as exc:
        err.write(f"careline eval: {exc}\n")
        return EXIT_BAD_INPUT
    except (KeyError, TypeError, ValueError) as exc:
        err.write(
            f"careline eval: {path}: rows do not match the {task} format ({type(exc).__name__})\n"
        )
        return EXIT_BAD_INPUT
    (render_json if as_json else render_text)(report, show_text, out)
    return EXIT_OK


def _run(settings: Settings, args: argparse.Namespace) -> int:
    del settings  # evaluation needs no service
    try:
        return run_eval(
            args.task, Path(args.file), args.json, args.show_text, sys.stdout, sys.stderr
        )
    except BrokenPipeError:  # `careline eval … | head`
        return EXIT_OK


def register_cli(subparsers: Any) -> None:
    """Add ``careline eval emergency|pii|guard FILE.jsonl``."""
    p = subparsers.add_parser(
        "eval", help="measure emergency assessment, PII masking or the output guard on a file"
    )
    tasks = p.add_subparsers(dest="task", required=True)
    for task, what in (
        ("emergency", "emergency escalation"),
        ("pii", "PII masking"),
        ("guard", "the output guard on model answers"),
    ):
        t = tasks.add_parser(task, help=f"evaluate {what}")
        t.add_argument("file", help="JSON Lines file (labelled, NER, or unlabelled messages)")
        t.add_argument("--json", action="store_true", help="print JSON instead of a table")
        t.add_argument(
            "--show-text",
            action="store_true",
            help="also print the text of misses to this terminal (never logged)",
        )
        t.set_defaults(run=_run)
