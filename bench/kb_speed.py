"""Knowledge search speed on a large base: p50/p99 of ``Index.search`` and the index's size.

    .venv/bin/python bench/kb_speed.py [--entries 2000] [--questions FILE]

The base is the example base grown to ``--entries`` entries: each copy of an entry gets a
new id and a sentence taken from another entry, so the words overlap as they do in a real
hospital's FAQ (many entries about fees, hours, departments). Questions: ``--questions``
(``{"text", "lang"}`` lines; default bench/data/train/kb_dev.jsonl), each searched 20 times.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import EXAMPLE_DIR, Index, read_paths  # noqa: E402
from bot.knowledge.entries import Entry  # noqa: E402


def grown(n: int) -> list[Entry]:
    base = read_paths([EXAMPLE_DIR])
    rng = random.Random(7)
    out = list(base)
    while len(out) < n:
        e, other = rng.choice(base), rng.choice(base)
        piece = rng.choice(
            [s for s in other.text.replace("。", "。\n").replace(". ", ".\n").splitlines() if s]
            or [other.text]
        )
        out.append(
            Entry(f"{e.id}-{len(out)}", e.lang, e.title, f"{e.text} {piece}", e.tags, e.source)
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--questions", type=Path, default=ROOT / "bench/data/train/kb_dev.jsonl")
    args = ap.parse_args()
    entries = grown(args.entries)
    Index(entries[:5])  # jieba and the word lists loaded before measuring
    tracemalloc.start()
    t0 = time.perf_counter()
    index = Index(entries)
    built = time.perf_counter() - t0
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rows = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines() if line]
    samples = []
    for _ in range(20):
        for row in rows:
            t = time.perf_counter()
            index.search(row["text"], row.get("lang"), 3)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"{len(entries)} entries: index built in {built:.2f} s, {size / 1e6:.1f} MB")
    print(
        f"search, {len(samples)} questions: p50 {statistics.median(samples):.2f} ms, "
        f"p99 {p99:.2f} ms, max {samples[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
