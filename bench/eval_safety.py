"""Run `careline eval` over the shared evaluation data, one table per file.

Usage: .venv/bin/python bench/eval_safety.py [--data ../shared/data] [--json] [--show-text]
A thin wrapper over bot.evaluation (the same code as `careline eval emergency|pii FILE`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluation import run_eval  # noqa: E402

FILES = (
    ("emergency", "emergency_dev.jsonl"),
    ("emergency", "real/cmdd_questions_dev.jsonl"),
    ("emergency", "real/liveqa_questions_dev.jsonl"),
    ("pii", "pii_dev.jsonl"),
    ("pii", "real/msra_ner_test.jsonl"),
    ("pii", "real/weibo_ner_dev.jsonl"),
    ("pii", "real/cmdd_questions_dev.jsonl"),
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-text", action="store_true")
    args = ap.parse_args()
    worst = 0
    for task, name in FILES:
        print(f"\n=== {task} {name}")
        worst = max(
            worst,
            run_eval(task, args.data / name, args.json, args.show_text, sys.stdout, sys.stderr),
        )
    return worst


if __name__ == "__main__":
    sys.exit(main())
