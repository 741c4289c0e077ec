"""Train ``data/emergency_model.tsv``, the learned reading of ``safety.emergency_model``.

Training data (JSONL, one message a line):

* labelled messages ``{"text", "escalate", "category"}``: by default every
  ``bench/data/tune/emergency_tune_*.jsonl`` and ``bench/data/train/emergency_train_*.jsonl``
  of this repository. They were written by helper sessions that saw the categories and the
  format, never ``safety/data`` or the tests. The check sets (``*_check_*``) and the blind set
  (``bench/data/emergency_blind.jsonl``) are never trained on: they measure;
* real text that is no emergency (``--negatives``, ``{"text"}`` lines): the Weibo NER
  training split, social-media posts full of the figures of speech ("累死", "笑死") that a
  model trained on symptoms alone would take for emergencies.

Two logistic regressions over the same features: emergency or not (classes balanced), and,
among emergencies, which category. Features seen in fewer than two messages are dropped;
weights near zero are not written. ``--report`` first prints, for each labelled file, the
figures of a model trained without that file, alone and together with the lexicon.

Needs the build-only extra: ``pip install scikit-learn``.

    python -m safety.build_emergency_model [--negatives PATH] [--report] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from safety import _text, emergency_model

_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_GLOBS = (
    "bench/data/tune/emergency_tune_*.jsonl",
    "bench/data/train/emergency_train_*.jsonl",
)
_C = 10.0
_MIN_DF = 2
_DIGITS = 3
_MIN_WEIGHT = 0.005  # smaller weights are written as 0 (they move no verdict)
_MIN_CATEGORY_WEIGHT = 0.05

Row = dict[str, Any]


def _load(path: Path, negatives: bool = False) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            if negatives:
                row = {"text": row["text"], "escalate": False, "category": None}
            rows.append(row)
    return rows


def _feats(rows: list[Row]) -> list[set[str]]:
    return [emergency_model.features(_text.normalize(str(r["text"])).text) for r in rows]


class _Model:
    """The two regressions, trained; ``rows`` of them as a shipped file would read them."""

    def __init__(self, feats: list[set[str]], rows: list[Row]) -> None:
        from sklearn.linear_model import LogisticRegression

        df = Counter(f for fs in feats for f in fs)
        self.vocab = {f: i for i, f in enumerate(sorted(f for f, c in df.items() if c >= _MIN_DF))}
        x = self._matrix(feats)
        y = [int(bool(r["escalate"])) for r in rows]
        self.binary = LogisticRegression(C=_C, max_iter=5000, class_weight="balanced").fit(x, y)
        em = [i for i, r in enumerate(rows) if r["escalate"]]
        cats = [str(rows[i]["category"]) for i in em]
        self.multi = LogisticRegression(C=_C, max_iter=5000, class_weight="balanced").fit(
            x[em], cats
        )

    def _matrix(self, feats: list[set[str]]) -> Any:
        from scipy.sparse import csr_matrix

        data: list[float] = []
        cols: list[int] = []
        ptr = [0]
        for fs in feats:
            idx = sorted(self.vocab[f] for f in fs if f in self.vocab)
            scale = emergency_model.scale_of(len(idx)) if idx else 0.0
            cols.extend(idx)
            data.extend([scale] * len(idx))
            ptr.append(len(cols))
        return csr_matrix((data, cols, ptr), shape=(len(feats), len(self.vocab)))

    def probabilities(self, feats: list[set[str]]) -> list[float]:
        return [float(p) for p in self.binary.predict_proba(self._matrix(feats))[:, 1]]

    def lines(self) -> list[str]:
        cats = [str(c) for c in self.multi.classes_]
        out = [
            "categories\t" + "\t".join(cats),
            "bias\t"
            + "\t".join(
                f"{v:.{_DIGITS}f}"
                for v in [float(self.binary.intercept_[0]), *map(float, self.multi.intercept_)]
            ),
        ]
        wb = self.binary.coef_[0]
        wm = self.multi.coef_
        for f, i in sorted(self.vocab.items()):
            # Every known feature is written, even with no weight worth keeping: a message
            # is scaled by the number of its features the model knows.
            esc = f"{wb[i]:.{_DIGITS}f}" if abs(wb[i]) >= _MIN_WEIGHT else "0"
            cat = " ".join(
                f"{c}:{wm[k, i]:.{_DIGITS}f}"
                for k, c in enumerate(cats)
                if abs(wm[k, i]) >= _MIN_CATEGORY_WEIGHT
            )
            out.append(f"{f}\t{esc}\t{cat}")
        return out


def _report(
    sets: dict[str, list[Row]],
    feats: dict[str, list[set[str]]],
    extra: list[Row],
    extra_feats: list[set[str]],
) -> None:
    from safety import emergency

    t = emergency_model.THRESHOLD
    print(f"left-out file: recall / false alarms (model alone at {t}; lexicon; careline)")
    with tempfile.TemporaryDirectory() as tmp:
        for held, rows in sets.items():
            train = [r for n, rs in sets.items() if n != held for r in rs] + extra
            fs = [f for n, f_ in feats.items() if n != held for f in f_] + extra_feats
            model = _Model(fs, train)
            path = Path(tmp) / "fold.tsv"
            path.write_text("\n".join(model.lines()) + "\n", encoding="utf-8")
            emergency_model.load(path)
            alone = [p >= t for p in model.probabilities(feats[held])]
            lexicon = [emergency.assess(str(r["text"]), learned=False).escalate for r in rows]
            both = [emergency.assess(str(r["text"])).escalate for r in rows]
            gold = [bool(r["escalate"]) for r in rows]
            print(f"  {held:34} {_fig(alone, gold)}; {_fig(lexicon, gold)}; {_fig(both, gold)}")
    emergency_model.load()


def _fig(flags: list[bool], gold: list[bool]) -> str:
    pos = sum(gold)
    tp = sum(f and g for f, g in zip(flags, gold, strict=True))
    fp = sum(f and not g for f, g in zip(flags, gold, strict=True))
    return f"{tp / max(pos, 1):.3f} / {fp / max(len(gold) - pos, 1):.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="labelled JSONL files")
    ap.add_argument(
        "--negatives",
        type=Path,
        action="append",
        default=[],
        help="JSONL of real text that is no emergency ({'text'} lines)",
    )
    ap.add_argument("--report", action="store_true", help="leave-one-file-out figures first")
    ap.add_argument("--out", type=Path, default=_text.data_path(emergency_model.MODEL_FILE))
    args = ap.parse_args(argv)
    files = args.files or sorted(p for g in _DEFAULT_GLOBS for p in _ROOT.glob(g))
    sets = {p.name: _load(p) for p in files}
    if not sets:
        print("no training files", file=sys.stderr)
        return 2
    extra = [r for p in args.negatives for r in _load(p, negatives=True)]
    feats = {n: _feats(rs) for n, rs in sets.items()}
    extra_feats = _feats(extra)
    if args.report:
        _report(sets, feats, extra, extra_feats)
    rows = [r for rs in sets.values() for r in rs] + extra
    model = _Model([f for fs in feats.values() for f in fs] + extra_feats, rows)
    lines = model.lines()
    labelled = sum(len(rs) for rs in sets.values())
    header = [
        "# Weights of the emergency check's learned reading (safety/emergency_model.py), built by",
        "# `python -m safety.build_emergency_model`. Do not edit by hand: rebuild.",
        f"# Trained on {labelled} labelled messages ({', '.join(sorted(sets))})",
        f"# and {len(extra)} real messages that are no emergency; C={_C}; features seen at least",
        f"# {_MIN_DF} times; weights under {_MIN_WEIGHT} (categories {_MIN_CATEGORY_WEIGHT}) as 0.",
    ]
    args.out.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(lines) - 2} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
