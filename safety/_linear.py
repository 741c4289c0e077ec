"""Linear models over sets of text features, shipped as plain weight files.

Two learned readings use this: the emergency check's (``emergency_model``) and the output
guard's (``guard_model``). Each has a yes/no weight per feature (a logistic probability) and,
for a yes, category weights (the best category's score wins). A text's known features (those
the model was trained with) weigh 1/sqrt(their number, at least ``floor``), so a long text does
not score high for being long and a short one is not judged by a handful of pieces.

A weights file: ``#`` comments; a ``categories`` line with their names; a ``bias`` line with
the yes/no bias and each category's; then one line per known feature: the feature, its weight
and its category weights (``name:weight`` pairs, those not near zero), tab-separated. Built by
``safety.build_models``; editing one by hand is pointless, rebuild it instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from safety import _text

_CATEGORY_NAME = re.compile(r"([^\s:]+):")


def feature_weight(known: int, floor: int) -> float:
    """The weight of each known feature of a text with ``known`` of them (the builder trains
    with the same)."""
    return 1.0 / math.sqrt(max(known, floor))


@dataclass(frozen=True)
class Score:
    probability: float
    category: str | None  # the likeliest category; only worked out at or above the threshold
    known: bool = True  # False: the text had no feature the model knows (probability 0)


@dataclass(frozen=True)
class Model:
    name: str
    categories: tuple[str, ...]
    bias: float
    category_bias: tuple[float, ...]
    weights: dict[str, float]
    category: dict[str, str]  # feature -> its category weights as written, read when needed
    parsed: dict[str, tuple[tuple[int, float], ...]] = field(default_factory=dict)

    @cached_property
    def known(self) -> frozenset[str]:
        """The weights' features, for a quick intersection (made on first use: a reading
        that finds its features its own way, as the guard's does, never needs it)."""
        return frozenset(self.weights)

    def score(self, features: Collection[str], floor: int, threshold: float) -> Score:
        feats = self.known & (features if isinstance(features, (set, frozenset)) else set(features))
        weights = self.weights
        return self.score_known(
            sum(map(weights.__getitem__, feats)),
            len(feats),
            lambda scale: self._category_of(feats, scale),
            floor,
            threshold,
        )

    def score_known(
        self,
        weight: float,
        count: int,
        category: Callable[[float], str],
        floor: int,
        threshold: float,
    ) -> Score:
        """The score of a text whose ``count`` known features weigh ``weight`` in all, for a
        caller that found them its own way; ``category`` gives their likeliest category for
        the features' weight (``feature_weight``), asked for only at or above
        ``threshold``."""
        if not count:
            return Score(0.0, None, known=False)
        scale = feature_weight(count, floor)
        total = self.bias + scale * weight
        probability = 1.0 / (1.0 + math.exp(-total)) if total > -30 else 0.0
        if probability < threshold:
            return Score(probability, None)
        return Score(probability, category(scale))

    def _category_of(self, feats: Iterable[str], scale: float) -> str:
        scores = list(self.category_bias)
        for f in feats:
            for i, value in self._category_weights(f):
                scores[i] += scale * value
        return self.categories[max(range(len(scores)), key=scores.__getitem__)]

    def best_category(self, sums: Iterable[float], scale: float) -> str:
        """The likeliest category of a text whose known features' category weights add up
        to ``sums`` (one per category)."""
        scores = [b + scale * s for b, s in zip(self.category_bias, sums, strict=True)]
        return self.categories[max(range(len(scores)), key=scores.__getitem__)]

    def read_categories(self) -> None:
        """Read every feature's category weights now (for a background thread: messages
        otherwise read those they need on first use)."""
        for feature in self.category:
            self._category_weights(feature)

    def _category_weights(self, feature: str) -> tuple[tuple[int, float], ...]:
        """A feature's category weights, read from the file's text on first use."""
        found = self.parsed.get(feature)
        if found is None:
            found = self.parsed[feature] = self.read_category_weights(feature)
        return found

    def read_category_weights(self, feature: str) -> tuple[tuple[int, float], ...]:
        """A feature's category weights read from the file's text, not kept (for a caller
        that keeps them its own way)."""
        index = {c: i for i, c in enumerate(self.categories)}
        pairs = [item.partition(":") for item in self.category.get(feature, "").split()]
        if any(name not in index for name, _, _ in pairs):
            # (the feature itself is not named: it is a piece of the text being read)
            raise ValueError(f"{self.name}: a feature names an unknown category")
        return tuple((index[name], float(value)) for name, _, value in pairs)


def parse(path: Path) -> Model:
    """A weights file; a clear ``ValueError`` naming the file and line if it is broken.

    Read a line at a time into the two tables: a weights file has some 100,000 lines, and a
    list of them all (or of their cells) would take tens of megabytes while it is read, which
    the process would keep as its own long after."""
    name = path.name
    head: dict[str, list[str]] = {}
    weights: dict[str, float] = {}
    category: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if len(head) < 2:
                cells = line.split("\t")
                head[cells[0]] = cells[1:]
                continue
            feature, tab, rest = line.partition("\t")
            value, tab2, written = rest.partition("\t")
            try:
                weight = float(value)
            except ValueError:
                weight = math.nan
            if not (tab and tab2) or "\t" in written or weight != weight:
                raise ValueError(f"{name}: line {n} is not feature, weight, categories")
            if feature in weights:
                raise ValueError(f"{name}: a feature has more than one line")
            weights[feature] = weight
            if written:
                category[feature] = written
    if "categories" not in head or "bias" not in head:
        raise ValueError(f"{name}: expected the categories and bias lines first")
    categories = tuple(head["categories"])
    bias, *category_bias = (float(v) for v in head["bias"])
    if len(category_bias) != len(categories):
        raise ValueError(f"{name}: categories and their biases do not match")
    _check_category_names(name, categories, category.values())
    return Model(name, categories, bias, tuple(category_bias), weights, category)


def _check_category_names(name: str, categories: tuple[str, ...], cells: Iterable[str]) -> None:
    """Every ``name:value`` must name a category. This runs at start-up over some 100,000
    pairs, so the usual case is counted in C (each category's `` name:`` against all colons);
    only a file that fails is read pair by pair, to name what is wrong."""
    written = " " + " ".join(cells)
    colons = written.count(":")
    if sum(written.count(f" {c}:") for c in categories) == colons:
        return
    named = _CATEGORY_NAME.findall(written)
    unknown = set(named) - set(categories)
    if unknown or colons != len(named):
        raise ValueError(f"{name}: unknown category {sorted(unknown)}")


class Shipped:
    """A weights file shipped in ``safety/data``, parsed on first use. ``load(path)`` puts
    another file's weights in its place (to measure a rebuilt model before shipping it);
    ``load()`` goes back to the shipped file. Each learned reading has one, as ``WEIGHTS``,
    and offers its ``load``."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._model: Model | None = None

    def get(self) -> Model:
        if self._model is None:
            self._model = parse(_text.data_path(self.filename))
        return self._model

    def load(self, path: Path | None = None) -> None:
        self._model = parse(path) if path is not None else None
