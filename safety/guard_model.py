"""A learned second reading for the output guard: is this sentence of a model's answer unsafe?

The guard's rules (``data/guard_rules.toml``, ``data/contraindications.toml``) judge each
sentence by its classes' patterns and compositions. A sentence no rule flags is also read by
this model: a logistic regression over the sentence's characters, pairs and triples of
characters, and English words and word pairs, trained on model answers whose unsafe
sentences are marked (``python -m safety.build_models guard``). At its threshold the sentence
gets the model's class (dosing, false_certainty, contraindication …) and the guard treats it
as it treats that class from a rule: dropped with the class's note, or the answer withheld.

It reads sentences one at a time, so a hedge ("不一定是", "not necessarily") is read with the
words around it, and it never edits a sentence. It also doubts the rules: a sentence they
flagged that the model finds very unlikely to be unsafe (under ``DOUBT``) is kept.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from itertools import pairwise
from operator import itemgetter
from pathlib import Path

from safety import _linear
from safety._literals import Literals

MODEL_FILE = "guard_model.tsv"
# Probability at or above which a sentence is taken as unsafe. Chosen on the training sets,
# each left out in turn (`python -m safety.build_models guard --report` gives the figures):
# the lowest of 0.98, 0.95, 0.9, 0.85 that keeps careful answers intact within one point of
# 0.98 over all left-out sets. Last checked over 41 sets (session 26, after en20/zh20, with
# negated English words marked): careful answers intact at 0.98 / 0.95 / 0.9 / 0.85 0.987 /
# 0.986 / 0.984 / 0.980 (0.85: 0.7 points below, so 0.85 stays), unsafe answers handled
# 0.800 / 0.836 / 0.868 / 0.884 (without the marks: 0.988 / 0.986 / 0.983 / 0.979 and 0.798 /
# 0.836 / 0.865 / 0.883).
THRESHOLD = 0.85
# Probability at or above which a sentence whose risky words (of a practice: stopping a
# medicine, first aid, a contraindication) the rules' scope ruled out still takes the model's
# class (``guard.classify._learned_classes``): the lowest of 0.995, 0.98, 0.95 that cost no
# careful answer on the training and tuning sets (session 23: 0.98 took 5 more unsafe answers
# there and none careful, 0.95 lost a careful one).
SURE = 0.98
# Probability below which the model doubts the classes the rules found in a sentence: they
# are cleared (``guard.classify._doubted_classes``); below DOUBT_DANGEROUS when one of them
# withholds the answer (dangerous first aid, a contraindication, stopping medicine …), whose
# sentences the model reads less surely ("make them throw up right away" after bleach: 0.04).
# Chosen on the training sets, each left out in turn: over all of them careful answers kept
# intact 0.941 -> 0.956 (0.05: 0.954, 0.2: 0.958) and unsafe answers handled 0.835 -> 0.833
# (4 of 2,595 fewer); doubting every class below 0.1 would have kept 0.968 intact but let
# 6 unsafe answers through, dangerous ones among them.
DOUBT = 0.1
DOUBT_DANGEROUS = 0.01
# A sentence with fewer known features is scored as if it had this many.
FEATURE_FLOOR = 20
# Sentences shorter than this (headings, list markers, "您好！") are not read.
MIN_CHARS = 6
_WORD = re.compile(r"!?[a-z0-9']+")
# A word feature's key in the word finder: one word or two, as they stand in `_words_line`.
_WORD_FEATURE = re.compile(r"w:(!?[a-z0-9']+)(?:_(!?[a-z0-9']+))?")
# An English negation and the rest of its clause, whose words the model reads as negated
# ("don't !give !aspirin"): "give aspirin" advised and forbidden are then different features.
_NEGATION_EN = re.compile(
    r"\b(?:not|no|never|nor|without|avoid|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|"
    r"won't|can't|cannot|couldn't|shouldn't|mustn't|wouldn't|needn't)\b([^,.;:!?()\n—–-]*)"
)
_PLAIN_WORD = re.compile(r"[a-z0-9']+")


def _negated(m: re.Match[str]) -> str:
    cue = m.group()[: m.start(1) - m.start()]
    return cue + _PLAIN_WORD.sub(lambda w: "!" + w.group(), m.group(1))


def _reading_text(sentence: str) -> str:
    """A sentence as the model reads it: lower case, without markdown emphasis ("**…**", which
    answers use freely and which says nothing of safety), its spaces one apart (no tab or
    line break inside a feature), the words an English negation governs marked "!"."""
    # ("!" is the mark: the answer's own exclamation marks say nothing of safety)
    text = " ".join(
        sentence.lower().replace("**", " ").replace("__", " ").replace("!", " ").split()
    )
    # (every cue but "avoid" and "without" holds an "n": a sentence with none of the three,
    # most Chinese ones, has no cue, and the search would cost a third of the reading's text)
    if "n" in text or "avoid" in text or "without" in text:
        return _NEGATION_EN.sub(_negated, text)
    return text


def features(sentence: str) -> set[str]:
    """The model's features of a sentence of an answer, as written: its characters, pairs and
    triples of characters (lower case), and for Latin script its words and pairs of words.
    Built with set comprehensions over the string: the guard reads every sentence of every
    answer, so this must be cheap."""
    text = _reading_text(sentence)
    out = {text[i : i + 2] for i in range(len(text) - 1)}
    out.update(text[i : i + 3] for i in range(len(text) - 2))
    out.update(text)
    words = _WORD.findall(text)
    out.update("w:" + w for w in words)
    out.update(f"w:{a}_{b}" for a, b in pairwise(words))
    return out


@dataclass(frozen=True)
class Reading:
    probability: float  # that the sentence is unsafe
    category: str | None  # the guard class it most likely is, when it is flagged
    known: bool = True  # False: too short to read, or no feature the model knows

    @property
    def flagged(self) -> bool:
        return self.probability >= THRESHOLD

    def doubts(self, dangerous: bool) -> bool:
        """Whether the model doubts the rules' classes of the sentence: one of them
        withholds the answer (``dangerous``), or none does."""
        return self.known and self.probability < (DOUBT_DANGEROUS if dangerous else DOUBT)


class _Finder:
    """The model's known features of a sentence, found without making ``features``' strings:
    one pass of an Aho-Corasick automaton over the sentence's text finds the known characters,
    pairs and triples, and one over its words, written one space apart, the known words and
    pairs of words. A feature's number is its place among the characters' strings, or after
    them among the words' ("w:x" is both a word and the triple "w", ":", "x": one number), so
    a sentence's known features are a set of numbers (a feature found twice counts once, as
    in a set). It finds exactly the features ``model.known & features(sentence)`` holds:
    every sentence of every answer is read."""

    def __init__(self, model: _linear.Model) -> None:
        self.model = model
        chars: list[str] = []
        words: dict[str, str] = {}  # the words' form in the automaton -> the feature
        for name in model.weights:
            word = _WORD_FEATURE.fullmatch(name)
            if word is not None:
                words[" " + " ".join(w for w in word.groups() if w) + " "] = name
            # "w:x" is also the triple of characters "w", ":", "x" (a pair "w:" is only that)
            if word is None or len(name) <= 3:
                chars.append(name)
        self._chars = Literals(chars)
        self._words = Literals(words)
        number = {name: i for i, name in enumerate(self._chars.words)}
        self._word_number = [
            number.setdefault(words[form], len(number)) for form in self._words.words
        ]
        self.names = [""] * len(number)
        for name, i in number.items():
            self.names[i] = name
        self.weights = [model.weights[name] for name in self.names]
        # each category's weight of every feature, by number: a sentence's category is a sum
        # per category over its features (a loop over each feature's weights would cost
        # most of a reading). Lists, not arrays: picking a sentence's hundred weights out of
        # one with ``itemgetter`` is a single call, where an array makes a float of each
        # (three times the time); the zeros, most of them, are one object.
        zero = 0.0
        self.columns = [[zero] * len(self.names) for _ in model.categories]
        for at, name in enumerate(self.names):
            for i, value in model.read_category_weights(name):
                self.columns[i][at] = value

    def category(self, hits: set[int], scale: float) -> str:
        """The likeliest category of a sentence with the known features ``hits``."""
        if len(hits) == 1:
            (only,) = hits
            return self.model.best_category((column[only] for column in self.columns), scale)
        pick = itemgetter(*hits)
        return self.model.best_category((sum(pick(column)) for column in self.columns), scale)

    def weight(self, hits: set[int]) -> float:
        """The yes/no weights of the known features ``hits``, added up."""
        if len(hits) > 1:
            picked: tuple[float, ...] = itemgetter(*hits)(self.weights)
            return sum(picked)
        return sum(self.weights[at] for at in hits)

    def found(self, sentence: str) -> set[int]:
        """The numbers of the known features of ``sentence``."""
        text = _reading_text(sentence)
        hits = set(map(_FIRST, self._chars.matches(text)))
        words = _WORD.findall(text)
        if words and len(self._words):
            line = " " + " ".join(words) + " "
            hits.update(map(self._word_number.__getitem__, map(_FIRST, self._words.matches(line))))
        return hits


_FIRST = itemgetter(0)
WEIGHTS = _linear.Shipped(MODEL_FILE)
_finder: _Finder | None = None
_finder_lock = threading.Lock()


def load(path: Path | None = None) -> None:
    """Another weights file from now on; the shipped one again when None."""
    WEIGHTS.load(path)


def _current() -> _Finder:
    """The finder of the weights in use, built on first use (and again after ``load``)."""
    global _finder
    model = WEIGHTS.get()
    finder = _finder
    if finder is None or finder.model is not model:
        with _finder_lock:
            finder = _finder
            if finder is None or finder.model is not model:
                finder = _finder = _Finder(model)
    return finder


def warm_up() -> None:
    """Load the weights and build their finder, which holds every feature's class weights
    (run in the background after start-up: the first answers are not slowed by it)."""
    _current()


# The training sets' class names that the guard spells otherwise.
_GUARD_CLASS = {"identity_leak": "identity"}


def guard_class(category: str) -> str:
    """The guard's name for a class the model names."""
    return _GUARD_CLASS.get(category, category)


def read(sentence: str, *, category: bool = True) -> Reading:
    """The model's reading of one sentence of an answer; ``category=False`` leaves its class
    unnamed (to doubt the rules, the probability is enough, and naming the class costs most
    of a reading)."""
    if len(sentence.strip()) < MIN_CHARS:
        return Reading(0.0, None, False)
    finder = _current()
    hits = finder.found(sentence)
    found = finder.model.score_known(
        finder.weight(hits),
        len(hits),
        lambda scale: finder.category(hits, scale),
        FEATURE_FLOOR,
        THRESHOLD if category else 2.0,
    )
    return Reading(found.probability, found.category, found.known)
