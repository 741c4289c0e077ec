"""Speed of the safety layer, printed in one run: assess+mask vs jieba's own POS tagging.

Usage: .venv/bin/python bench/safety_speed.py [--data ../shared/data] [--n 300]
Texts are 200-character slices of real patient questions; each gets a unique suffix so that
no cache helps (the pipeline sees each message once). Start-up is measured in a fresh
interpreter: import safety and load every lexicon, word list and jieba. The timed messages come
after the background warm-up `careline serve` runs once it has started (the pinyin reader, the
lexicon's patterns compiled), and the garbage collector is frozen, as the server does.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGE_CHARS = 200
MS = 1000.0
WARM_UP = 5
P99 = 0.99


def _texts(data: Path, n: int) -> list[str]:
    rows = [
        json.loads(line)
        for line in (data / "real" / "cmdd_questions_dev.jsonl").open(encoding="utf-8")
        if line.strip()
    ]
    joined = "".join(str(r["text"]) for r in rows)
    return [joined[i * MESSAGE_CHARS : (i + 1) * MESSAGE_CHARS] for i in range(n)]


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(P99 * len(ordered)) - 1)]


STARTUP_RUNS = 3


def startup_seconds() -> float:
    """Median over a few fresh interpreters (the machine's noise is large)."""
    code = "import safety; safety.warm_up()"
    runs = []
    for _ in range(STARTUP_RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    import jieba
    import jieba.posseg

    from safety import emergency, pii, warm_up, warm_up_later

    warm_up()
    warm_up_later()  # run in the background by `careline serve` after start-up
    jieba.initialize()
    texts = _texts(args.data, args.n)
    for t in texts[:WARM_UP]:
        emergency.assess(t + "预热")
        pii.mask(t + "预热")
        list(jieba.posseg.cut(t + "预热"))
    # as `careline serve` does after its warm-up (bot/server.py): what start-up built is
    # never collected again, so a full collection walks only what messages create
    gc.collect()
    gc.freeze()
    ours: list[float] = []
    alone: list[float] = []
    base: list[float] = []
    for i, t in enumerate(texts):
        fresh = t[: MESSAGE_CHARS - 4] + f"{i:04d}"
        t0 = time.perf_counter()
        emergency.assess(fresh + "!")  # the webhook's check, before the pipeline
        alone.append((time.perf_counter() - t0) * MS)
        t0 = time.perf_counter()
        emergency.assess(fresh)
        pii.mask(fresh)
        ours.append((time.perf_counter() - t0) * MS)
        t0 = time.perf_counter()
        list(jieba.posseg.cut(fresh))
        base.append((time.perf_counter() - t0) * MS)
    print(f"{len(texts)} messages x {MESSAGE_CHARS} chars")
    print(
        f"assess alone  p50 {statistics.median(alone):6.2f} ms  p99 {_p99(alone):6.2f} ms  "
        f"mean {statistics.fmean(alone):6.2f} ms"
    )
    print(
        f"assess+mask   p50 {statistics.median(ours):6.2f} ms  p99 {_p99(ours):6.2f} ms  "
        f"mean {statistics.fmean(ours):6.2f} ms"
    )
    print(
        f"jieba.posseg  p50 {statistics.median(base):6.2f} ms  p99 {_p99(base):6.2f} ms  "
        f"mean {statistics.fmean(base):6.2f} ms"
    )
    ratio = statistics.fmean(ours) / statistics.fmean(base)
    print(f"ratio (mean assess+mask / mean posseg) {ratio:.2f}x")
    print(
        f"start-up (fresh interpreter, import + warm_up, median of {STARTUP_RUNS}) "
        f"{startup_seconds():.2f} s"
    )


if __name__ == "__main__":
    main()
