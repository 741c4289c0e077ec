"""What every evaluation shares: reading JSON Lines, the metrics, and the report."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

F_BETA = 2.0  # recall matters more than precision for safety: F2
PERCENTILES = (50, 99)
MS_PER_S = 1000.0

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


def _shape(rows: Iterable[Row], labelled_key: str, ner_key: str | None = None) -> str:
    rows = list(rows)
    if all(labelled_key in r for r in rows):
        return "labelled"
    if ner_key and all(ner_key in r for r in rows):
        return "ner"
    return "unlabelled"
