"""Train the learned readings' weight files (run offline; the files ship in ``safety/data``).

    python -m safety.build_models emergency [--negatives PATH] [--report] [FILE ...]
    python -m safety.build_models guard [--report] [FILE ...]

``emergency`` -> ``data/emergency_model.tsv`` (``safety.emergency_model``): one example per
labelled message ``{"text", "escalate", "category"}``; by default every
``bench/data/tune/emergency_tune_*.jsonl`` and ``bench/data/train/emergency_train_*.jsonl``.
``--negatives`` adds real text that is no emergency (``{"text"}`` lines; the Weibo NER training
split: social-media posts full of the figures of speech, "累死", "笑死", that a model trained on
symptoms alone would take for emergencies).

``guard`` -> ``data/guard_model.tsv`` (``safety.guard_model``): one example per sentence of a
labelled model answer ``{"text", "kind", "class", "forbid"}``; a sentence of an unsafe answer
that holds (or lies inside) one of its ``forbid`` passages is unsafe, of the answer's class;
every other sentence is not. By default every ``bench/data/tune/guard_tune*.jsonl`` and
``bench/data/train/guard_train_*.jsonl``.

The labelled files were written by helper sessions that saw the categories or classes and the
format, never ``safety/data`` or the tests. Check sets (``*_check_*``) and blind sets
(``bench/data/*_blind.jsonl``) are never trained on: they measure. Two logistic regressions per
model (``safety._linear``): yes or no (classes balanced), and, among the yeses, which category.
Features seen in fewer than three examples are dropped (as good as two when each set is left
out, with half the features: the weights load at start-up). ``--report`` first prints, for each
labelled file, the figures with a model trained without that file, beside the rules' alone;
for the guard at each candidate threshold (``GUARD_THRESHOLDS``) and pooled over the files,
which is what ``guard_model.THRESHOLD`` is chosen on.

Needs the build-only extra: ``pip install -e ".[model]"`` (scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safety import _linear, _text, emergency_model, guard_model

_ROOT = Path(__file__).resolve().parent.parent
_C = 10.0
_DIGITS = 3
_MIN_WEIGHT = 0.005  # smaller weights are written as 0 (they move no verdict)
_MIN_CATEGORY_WEIGHT = 0.05
_GUARD_LEAVE_OUT_UNDER = 0.05

Row = dict[str, Any]


@dataclass(frozen=True)
class Example:
    features: frozenset[str]
    label: bool
    category: str | None


@dataclass(frozen=True)
class Target:
    name: str
    globs: tuple[str, ...]
    out: str
    floor: int
    min_df: int  # features seen in fewer examples are dropped
    examples: Callable[[list[Row]], list[Example]]
    # with the model currently loaded: a line of figures, and counts to pool over the files
    figures: Callable[[list[Row]], tuple[str, Counter[str]]]
    load: Callable[[Path | None], None]
    # A feature whose yes/no weight is under this and that has no category weight is left
    # out of the file (0: every feature is written, as each counts toward a text's scale)
    leave_out_under: float = 0.0


def _load(path: Path, negatives: bool = False) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append({"text": row["text"], "escalate": False} if negatives else row)
    return rows


def _fig(flags: list[bool], gold: list[bool]) -> str:
    pos = sum(gold)
    tp = sum(f and g for f, g in zip(flags, gold, strict=True))
    fp = sum(f and not g for f, g in zip(flags, gold, strict=True))
    return f"{tp / max(pos, 1):.3f} / {fp / max(len(gold) - pos, 1):.3f}"


def _emergency_examples(rows: list[Row]) -> list[Example]:
    return [
        Example(
            frozenset(emergency_model.features(_text.normalize(str(r["text"])).text)),
            bool(r["escalate"]),
            str(r.get("category")) if r["escalate"] else None,
        )
        for r in rows
    ]


def _emergency_figures(rows: list[Row]) -> tuple[str, Counter[str]]:
    from safety import emergency

    gold = [bool(r["escalate"]) for r in rows]
    alone = [emergency.assess(str(r["text"]), learned=False).escalate for r in rows]
    both = [emergency.assess(str(r["text"])).escalate for r in rows]
    figures = f"recall / false alarms: rules {_fig(alone, gold)}; with the model {_fig(both, gold)}"
    return figures, Counter()


def _guard_examples(rows: list[Row]) -> list[Example]:
    from safety.guard import sentences

    out = []
    for r in rows:
        forbid = [str(f) for f in r.get("forbid", [])] if r["kind"] == "unsafe" else []
        for s in sentences(str(r["text"])):
            core = s.strip()
            if len(core) < guard_model.MIN_CHARS:
                continue
            bad = any(f in s or core in f for f in forbid)
            category = str(r["class"]) if bad else None
            out.append(Example(frozenset(guard_model.features(s)), bad, category))
    return out


# The learned reading's candidate thresholds: ``guard_model.THRESHOLD`` is the lowest of them
# that keeps careful answers intact, pooled over the left-out files, within one point of the
# highest (``--report`` prints the pooled figures at each).
GUARD_THRESHOLDS = (0.98, 0.95, 0.9, 0.85)


def _guard_figures(rows: list[Row]) -> tuple[str, Counter[str]]:
    from safety.guard import guard

    def judged(learned: bool) -> Counter[str]:
        counts: Counter[str] = Counter()
        for r in rows:
            g = guard(
                str(r["text"]),
                lang=str(r.get("lang") or "zh"),
                disclaimer="",
                known=(),
                max_chars=100_000,
                learned=learned,
            )
            if r["kind"] == "unsafe":
                counts["unsafe"] += 1
                counts["handled"] += g.withheld or not any(f in g.text for f in r.get("forbid", []))
            else:
                counts["safe"] += 1
                counts["intact"] += not g.withheld and all(
                    p in g.text for p in r.get("preserve", [])
                )
        return counts

    counts = Counter({f"rules {k}": v for k, v in judged(False).items()})
    shipped = guard_model.THRESHOLD
    try:
        for threshold in GUARD_THRESHOLDS:
            guard_model.THRESHOLD = threshold
            counts.update({f"{threshold} {k}": v for k, v in judged(True).items()})
    finally:
        guard_model.THRESHOLD = shipped
    return _guard_line(counts), counts


def _guard_line(counts: Counter[str]) -> str:
    """Unsafe answers handled / careful answers kept intact, by the rules alone and with the
    model at each candidate threshold."""

    def pair(key: str) -> str:
        handled = counts[f"{key} handled"] / max(counts[f"{key} unsafe"], 1)
        intact = counts[f"{key} intact"] / max(counts[f"{key} safe"], 1)
        return f"{handled:.3f} / {intact:.3f}"

    readings = ", ".join(f"{t}: {pair(str(t))}" for t in GUARD_THRESHOLDS)
    return f"unsafe handled / safe intact: rules {pair('rules')}; with the model at {readings}"


TARGETS = {
    "emergency": Target(
        "emergency",
        ("bench/data/tune/emergency_tune_*.jsonl", "bench/data/train/emergency_train_*.jsonl"),
        emergency_model.MODEL_FILE,
        emergency_model.FEATURE_FLOOR,
        3,  # as good as 2 when each set is left out, and half the features (start-up)
        _emergency_examples,
        _emergency_figures,
        emergency_model.load,
    ),
    "guard": Target(
        "guard",
        ("bench/data/tune/guard_tune*.jsonl", "bench/data/train/guard_train_*.jsonl"),
        guard_model.MODEL_FILE,
        guard_model.FEATURE_FLOOR,
        3,
        _guard_examples,
        _guard_figures,
        guard_model.load,
        # a quarter of the guard's 114,000 features: the same figures on every check set
        # (0.05 to 0.2 tried; 0.1 and up cost careful answers), 20 MB less in the server
        _GUARD_LEAVE_OUT_UNDER,
    ),
}


class _Fit:
    """The two regressions, trained on ``examples``; ``lines()`` is the weights file."""

    def __init__(
        self, examples: list[Example], floor: int, min_df: int, leave_out_under: float = 0.0
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        self.floor = floor
        self.leave_out_under = leave_out_under
        df = Counter(f for e in examples for f in e.features)
        self.vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= min_df))}
        x = self._matrix([e.features for e in examples])
        y = [int(e.label) for e in examples]
        self.binary = LogisticRegression(C=_C, max_iter=5000, class_weight="balanced").fit(x, y)
        yes = [i for i, e in enumerate(examples) if e.label]
        self.multi = LogisticRegression(C=_C, max_iter=5000, class_weight="balanced").fit(
            x[yes], [str(examples[i].category) for i in yes]
        )

    def _matrix(self, feats: list[frozenset[str]]) -> Any:
        from scipy.sparse import csr_matrix

        data: list[float] = []
        cols: list[int] = []
        ptr = [0]
        for fs in feats:
            idx = sorted(self.vocab[f] for f in fs if f in self.vocab)
            scale = _linear.feature_weight(len(idx), self.floor) if idx else 0.0
            cols.extend(idx)
            data.extend([scale] * len(idx))
            ptr.append(len(cols))
        return csr_matrix((data, cols, ptr), shape=(len(feats), len(self.vocab)))

    def lines(self) -> list[str]:
        cats = [str(c) for c in self.multi.classes_]
        biases = [float(self.binary.intercept_[0]), *map(float, self.multi.intercept_)]
        out = [
            "categories\t" + "\t".join(cats),
            "bias\t" + "\t".join(f"{v:.{_DIGITS}f}" for v in biases),
        ]
        wb = self.binary.coef_[0]
        wm = self.multi.coef_
        for f, i in sorted(self.vocab.items()):
            # Every known feature is written, even with no weight worth keeping (a text is
            # scaled by the number of its features the model knows), unless the target
            # leaves out the least of them
            weight = f"{wb[i]:.{_DIGITS}f}" if abs(wb[i]) >= _MIN_WEIGHT else "0"
            cat = " ".join(
                f"{c}:{wm[k, i]:.{_DIGITS}f}"
                for k, c in enumerate(cats)
                if abs(wm[k, i]) >= _MIN_CATEGORY_WEIGHT
            )
            if not cat and abs(wb[i]) < self.leave_out_under:
                continue
            out.append(f"{f}\t{weight}\t{cat}")
        return out


def _report(target: Target, sets: dict[str, list[Row]], extra: list[Example]) -> None:
    examples = {name: target.examples(rows) for name, rows in sets.items()}
    print(f"{target.name}: each file left out of training in turn")
    pooled: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fold.tsv"
        for held, rows in sets.items():
            train = [e for n, es in examples.items() if n != held for e in es] + extra
            fit = _Fit(train, target.floor, target.min_df, target.leave_out_under)
            path.write_text("\n".join(fit.lines()) + "\n", encoding="utf-8")
            target.load(path)
            line, counts = target.figures(rows)
            pooled.update(counts)
            print(f"  {held:34} {line}", flush=True)
    target.load(None)
    if pooled and target.name == "guard":
        print(f"  {'all left-out files':34} {_guard_line(pooled)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("target", choices=sorted(TARGETS))
    ap.add_argument("files", nargs="*", type=Path, help="labelled JSONL files")
    ap.add_argument(
        "--negatives",
        type=Path,
        action="append",
        default=[],
        help="JSONL of real text that is no emergency ({'text'} lines)",
    )
    ap.add_argument("--report", action="store_true", help="leave-one-file-out figures first")
    ap.add_argument("--out", type=Path, help="where to write (default: the shipped file)")
    args = ap.parse_args(argv)
    target = TARGETS[args.target]
    files = args.files or sorted(p for g in target.globs for p in _ROOT.glob(g))
    sets = {p.name: _load(p) for p in files}
    if not sets:
        print("no training files", file=sys.stderr)
        return 2
    extra_rows = [r for p in args.negatives for r in _load(p, negatives=True)]
    extra = target.examples(extra_rows) if extra_rows else []
    if args.report:
        _report(target, sets, extra)
    examples = [e for rows in sets.values() for e in target.examples(rows)] + extra
    lines = _Fit(examples, target.floor, target.min_df, target.leave_out_under).lines()
    labelled = sum(len(rs) for rs in sets.values())
    header = [
        f"# Weights of the {target.name} check's learned reading (safety/_linear.py), built by",
        f"# `python -m safety.build_models {target.name}`. Do not edit by hand: rebuild.",
        f"# Trained on {labelled} labelled texts ({', '.join(sorted(sets))})",
        *([f"# and {len(extra_rows)} real texts that are no emergency."] if extra_rows else []),
        f"# C={_C}; features seen at least {target.min_df} times; weights under {_MIN_WEIGHT}",
        f"# (categories {_MIN_CATEGORY_WEIGHT}) as 0"
        + (
            f"; features under {target.leave_out_under} with no category weight left out."
            if target.leave_out_under
            else "."
        ),
    ]
    out = args.out or _text.data_path(target.out)
    out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(lines) - 2} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
