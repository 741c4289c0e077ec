"""A report as a readable table or as JSON; message text only with ``--show-text``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from bot.evaluation.common import Report

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
    "doubted_fn",
    "doubted_tn",
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
    "entries",
    "answerable",
    "recall_at_1",
    "recall_at_3",
    "mrr",
    "unanswerable",
    "confident_on_unanswerable",
    "confident_on_answerable",
    "confident_but_wrong",
)
_ID_LISTS = (
    "misses",
    "false_confident",
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
