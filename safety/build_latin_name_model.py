"""Train ``data/name_crf_latin.txt``, the Latin-letter name CRF of ``safety.latin_name_model``
(run once, shipped).

Training data: JSONL texts with person spans (``{"text", "persons": [[s, e], …]}``, or
``{"text", "entities": [{"kind": "PERSON", "start", "end"}, …]}``), each file given with
``--train FILE[:WEIGHT]`` (a file's texts count WEIGHT times; 1 unless said); texts with no
name, ``--negatives FILE``, are taught as such where the rules find no person in them. The
shipped model (its command is the weights file's second line): the WNUT 2017 training posts
(informal English, lower-case names and nicknames), the helper-written messages with names
(``bench/data/train/names_latin_train.jsonl``, ``bench/data/tune/pii_tune_en*.jsonl``), and as
negatives the helper-written messages and model answers of ``bench/data/train`` (capitalised
drugs, devices, diseases and places that are no names).

``--folds K --fold-file FILE`` reports instead: FILE is cut into K parts, and each part is read
by a model trained on everything else; the figures say what share of the name characters the
model finds, and how many of the characters it finds are names, at several thresholds.

Needs the build-only extra: ``pip install python-crfsuite``.

    python -m safety.build_latin_name_model --train A.jsonl --train B.jsonl:2 \
        [--negatives C.jsonl] [--folds 5 --fold-file B.jsonl:2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safety import _text, latin_name_model, name_model
from safety.build_name_model import fit, write_model

_C1 = 0.05
_C2 = 0.01
_ITERATIONS = 150
_MIN_FEATURE_FREQ = 1
_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)

Sample = tuple[str, list[str]]  # normalised text (case kept), B/I/O per token


def read_samples(path: Path) -> Iterator[Sample]:
    """Each text of ``path`` as the model reads it, with a label per token."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            spans = [(int(s), int(e)) for s, e in row.get("persons", [])]
            spans += [
                (int(e["start"]), int(e["end"]))
                for e in row.get("entities", [])
                if e.get("kind") == "PERSON"
            ]
            yield labelled(row["text"], spans)


def read_negatives(path: Path) -> Iterator[Sample]:
    """Texts of ``path`` with Latin letters in which the rules of ``safety.pii`` find no
    person (the model itself left out): taught as holding none. Model answers and messages
    written for the other checks are full of capitalised words that are no names (drugs,
    devices, diseases, places)."""
    from safety.pii import detect_entities, names_en

    accept, names_en.MODEL_ACCEPT = names_en.MODEL_ACCEPT, 2.0
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                text = json.loads(line)["text"]
                if not any("a" <= c.lower() <= "z" for c in text):
                    continue
                if any(kind == "PERSON" for kind, _, _ in detect_entities(text)):
                    continue
                yield labelled(text, [])
    finally:
        names_en.MODEL_ACCEPT = accept


def labelled(text: str, spans: list[tuple[int, int]]) -> Sample:
    """The normalised text and its tokens' labels: a token inside a span is ``I``, the
    first of a span ``B``."""
    norm = _text.normalize(text)
    starts, ends = norm.starts, norm.ends
    out: list[str] = []
    for tok in latin_name_model.tokens(norm.cased):
        s, e = starts[tok.start], ends[tok.end - 1]
        hit = next(((a, b) for a, b in spans if a < e and s < b), None)
        if hit is None:
            out.append("O")
        else:
            out.append("B" if s <= hit[0] else "I")
    return norm.cased, out


def train(samples: list[tuple[Sample, int]], out: Path, source: str = "") -> int:
    """Train on (sample, weight) pairs and write the weights; the number of features."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for (text, labels), weight in samples:
        feats = latin_name_model.features(text)
        for _ in range(weight):
            trainer.append(feats, labels)
    info = fit(trainer, _C1, _C2, _ITERATIONS, _MIN_FEATURE_FREQ)
    write_model(
        info.state_features,
        info.transitions,
        out,
        source,
        builder="safety.build_latin_name_model",
        what="Latin-letter person-name CRF weights",
        about="safety/latin_name_model.py",
    )
    return len({a for a, _ in info.state_features})


def score(held: list[Sample], path: Path) -> dict[str, dict[str, float]]:
    """Name characters found, and found characters that are names, at each threshold."""
    model = name_model.NameModel.parse(path.read_text(encoding="utf-8").splitlines())
    out: dict[str, dict[str, float]] = {}
    for threshold in _THRESHOLDS:
        gold_n = pred_n = both = 0
        for text, labels in held:
            toks = latin_name_model.tokens(text)
            marg = model.marginals(latin_name_model.features(text, toks))
            pred = {
                k
                for s, e, _ in name_model.name_spans(marg, threshold)
                for k in range(s, e)
                if toks[k].kind == "L"
            }
            gold = {k for k, y in enumerate(labels) if y != "O"}
            size = [len(t.text) for t in toks]
            gold_n += sum(size[k] for k in gold)
            pred_n += sum(size[k] for k in pred)
            both += sum(size[k] for k in gold & pred)
        out[str(threshold)] = {
            "recall": round(both / gold_n, 3) if gold_n else 0.0,
            "precision": round(both / pred_n, 3) if pred_n else 0.0,
        }
    return out


def cross_validate(
    fixed: list[tuple[Sample, int]], fold_file: list[Sample], weight: int, folds: int
) -> dict[str, Any]:
    held_all: dict[str, dict[str, float]] = {}
    parts: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fold.txt"
        for k in range(folds):
            held = [s for j, s in enumerate(fold_file) if j % folds == k]
            rest = [(s, weight) for j, s in enumerate(fold_file) if j % folds != k]
            train(fixed + rest, path)
            parts.append(score(held, path))
    for threshold in parts[0]:
        held_all[threshold] = {
            key: round(sum(p[threshold][key] for p in parts) / folds, 3)
            for key in ("recall", "precision")
        }
    return held_all


def _spec(text: str) -> tuple[Path, int]:
    path, _, weight = text.rpartition(":")
    if not path or not weight.isdigit():
        return Path(text), 1
    return Path(path), int(weight)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--train", action="append", default=[], help="FILE.jsonl[:WEIGHT]")
    ap.add_argument("--negatives", action="append", default=[], help="FILE.jsonl[:WEIGHT] of texts")
    ap.add_argument("--folds", type=int, default=0)
    ap.add_argument("--fold-file", default=None, help="FILE.jsonl[:WEIGHT], cut into --folds")
    ap.add_argument("--out", type=Path, default=_text.data_path(latin_name_model.MODEL_FILE))
    args = ap.parse_args(argv)
    specs = [_spec(t) for t in args.train]
    fixed = [(s, w) for path, w in specs for s in read_samples(path)]
    negatives = [_spec(t) for t in args.negatives]
    fixed += [(s, w) for path, w in negatives for s in read_negatives(path)]
    if args.folds:
        if not args.fold_file:
            raise SystemExit("--folds needs --fold-file")
        path, weight = _spec(args.fold_file)
        report = cross_validate(fixed, list(read_samples(path)), weight, args.folds)
        print(json.dumps(report, indent=1))
        return
    source = "".join(f" --train {p.name}" + (f":{w}" if w != 1 else "") for p, w in specs)
    source += "".join(f" --negatives {p.name}" + (f":{w}" if w != 1 else "") for p, w in negatives)
    n = train(fixed, args.out, source)
    print(f"wrote {args.out}: {n} features", file=sys.stderr)


if __name__ == "__main__":
    main()
