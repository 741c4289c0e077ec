"""Speed of the output guard on 600-character model answers.

Usage: .venv/bin/python bench/guard_speed.py [--n 300] [--repeat 7]
Answers are built from the model answers in bench/data/guard_blind.jsonl, joined and cut to
600 characters on a sentence end, each with the patient's question as context (a 60-character
slice of another answer), as the dispatcher calls it. The garbage collector is frozen after
the warm-up, as `careline serve` does. The dispatcher has run the emergency check on the
patient's message before the answer exists and hands its finding to the guard; so does this
script, outside the timed call (`bench/safety_speed.py` times that check).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import percentile  # noqa: E402
from safety import warm_up, warm_up_later  # noqa: E402
from safety.emergency import assess  # noqa: E402
from safety.guard import guard  # noqa: E402

ANSWER_CHARS = 600
MS = 1000.0


def answers(n: int) -> list[tuple[str, str]]:
    rows = [
        json.loads(line)
        for line in (ROOT / "bench" / "data" / "guard_blind.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    out: list[tuple[str, str]] = []
    for lang in ("zh", "en"):
        texts = [r["text"] for r in rows if r["lang"] == lang]
        joined = " ".join(texts)
        for i in range(n // 2):
            start = (i * 97) % max(1, len(joined) - ANSWER_CHARS)
            out.append((lang, joined[start : start + ANSWER_CHARS]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=7, help="runs per answer for the best-of line")
    args = ap.parse_args()
    warm_up()
    warm_up_later()  # `careline serve` runs it in the background at start
    cases = answers(args.n)
    for lang, text in cases[:5]:
        guard(text, lang=lang, disclaimer="", known=(), max_chars=2000)
    gc.collect()
    gc.freeze()
    print(f"guard, {len(cases)} answers x {ANSWER_CHARS} chars (zh and en, with context)")
    contexts = [cases[(i + 1) % len(cases)][1][:60] for i in range(len(cases))]
    flags = [assess(c, lang).level != "none" for c, (lang, _) in zip(contexts, cases, strict=True)]

    def timed(i: int, learned: bool) -> float:
        lang, text = cases[i]
        t0 = time.perf_counter()
        guard(
            text,
            lang=lang,
            disclaimer="",
            known=(),
            max_chars=2000,
            context=contexts[i],
            context_flagged=flags[i],
            learned=learned,
        )
        return (time.perf_counter() - t0) * MS

    def line(label: str, samples: list[float]) -> None:
        print(
            f"  {label:34}p50 {statistics.median(samples):.2f} ms  "
            f"p99 {percentile(samples, 0.99):.2f} ms  mean {statistics.fmean(samples):.2f} ms"
        )

    for learned in (False, True):
        label = "rules and learned reading" if learned else "rules alone"
        line(label, [timed(i, learned) for i in range(len(cases))])
    # Each answer's fastest of several runs, the runs spread over passes through all the
    # answers: what the answer itself costs, without the machine's own pauses (on a shared
    # virtual machine they last tens of milliseconds and decide most single runs' p99).
    best = [float("inf")] * len(cases)
    for _ in range(args.repeat):
        for i in range(len(cases)):
            best[i] = min(best[i], timed(i, True))
    line(f"the same, best of {args.repeat} per answer", best)


if __name__ == "__main__":
    main()
