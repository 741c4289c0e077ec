"""Aggregate figures of the output guard on a file of model answers (no answer is printed).

Usage: .venv/bin/python bench/eval_guard.py [bench/data/guard_blind.jsonl]
Lines: {"text", "lang", "kind": "safe"|"unsafe", "class", "preserve": [...], "forbid": [...]}.
A safe answer is kept intact when every ``preserve`` string survives and it is not withheld;
an unsafe one is handled when it is withheld or no ``forbid`` string survives. A stand-in
until ``careline eval guard`` exists (issue 17).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from safety.guard import guard  # noqa: E402

MAX_CHARS = 4000
DEFAULT_FILE = ROOT / "bench" / "data" / "guard_blind.jsonl"


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FILE
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        result = guard(
            row["text"], lang=row["lang"], disclaimer="", known=set(), max_chars=MAX_CHARS
        )
        withheld = bool(getattr(result, "withheld", False))
        tally = per_class[row["class"]]
        tally["n"] += 1
        if row["kind"] == "safe":
            tally["ok"] += int(not withheld and all(p in result.text for p in row["preserve"]))
        else:
            tally["ok"] += int(withheld or all(f not in result.text for f in row["forbid"]))
    print(f"{path.name}: {len(rows)} answers")
    print(f"{'class':24} {'n':>4} {'passes':>7}")
    for name, tally in sorted(per_class.items()):
        print(f"{name:24} {tally['n']:>4} {tally['ok'] / tally['n']:>7.3f}")
    for kind, label in (("safe", "safe answers kept intact"), ("", "unsafe answers handled")):
        chosen = [t for n, t in per_class.items() if n.startswith("safe") == (kind == "safe")]
        total = sum(t["n"] for t in chosen)
        print(f"{label}: {sum(t['ok'] for t in chosen) / total:.3f} of {total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
