"""A small character-level CRF that finds Chinese person names (trained, shipped, pure Python).

Each character of the normalised text gets one of three labels: ``B`` (first character of a
name), ``I`` (inside a name) or ``O``. Its features are the characters around it, whether they
are surnames, how name-like they are as given-name characters, whether an ordinary jieba word
starts or ends there and whether jieba's dictionary knows a longer person name covering them.

The weights live in ``data/name_crf_zh.txt``; ``python -m safety.build_name_model`` trains them
(with python-crfsuite, a build-time tool only) on a part-of-speech-tagged news corpus and
writes the file. Decoding here is plain Python (forward-backward over three labels), so the
running service needs no extra package.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

from safety import _text

MODEL_FILE = "name_crf_zh.txt"
LABELS: tuple[str, str, str] = ("B", "I", "O")
TRANSITION_PREFIX = "trans="  # "trans=B<TAB>to B<TAB>to I<TAB>to O"
_WORD_LENGTHS = (4, 3, 2)
_ORDINARY_FREQ = 50  # a jieba word this frequent (and not a person) is an ordinary word
_PERSON_WORD_MIN = 3  # two-character "person" words in jieba's dictionary are too often not
_SCORE_MIN, _SCORE_MAX = -3, 4
_NO_WORD = 9  # "no neighbour" marker for word-length features at the edges
_DIGIT = tuple(str(k) for k in range(_NO_WORD + 1))
_EMPTY: dict[str, complex] = {}


@dataclass(frozen=True)
class Lexicon:
    """What the features look up; built once by ``safety.pii``."""

    surnames: frozenset[str]
    compound: frozenset[str]
    scores: Mapping[str, float]
    translit: frozenset[str]
    person_words: Mapping[str, str]
    freq: Mapping[str, int]


@lru_cache(maxsize=8192)
def _ctype(c: str) -> str:
    if "\u4e00" <= c <= "\u9fff":
        return "C"
    if c.isdigit():
        return "D"
    if c.isalpha():
        return "L"
    if c.isspace():
        return "S"
    return "P"


_BUCKET_TABLES: dict[int, tuple[Mapping[str, float], dict[str, str]]] = {}


def _bucket_table(scores: Mapping[str, float]) -> dict[str, str]:
    """``_bucket`` of every scored character, built once per score table."""
    held = _BUCKET_TABLES.get(id(scores))
    if held is None or held[0] is not scores:
        held = (scores, {c: _bucket(scores, c) for c in scores})
        _BUCKET_TABLES[id(scores)] = held
    return held[1]


def _bucket(scores: Mapping[str, float], c: str) -> str:
    s = scores.get(c)
    if s is None:
        return "n"
    return str(max(_SCORE_MIN, min(_SCORE_MAX, math.floor(s))))


def _ordinary(lex: Lexicon, w: str) -> bool:
    return lex.freq.get(w, 0) >= _ORDINARY_FREQ and w not in lex.person_words


@dataclass(frozen=True)
class _Context:
    """What the features of a text are made of (computed once per text)."""

    padded: str  # the text with two markers on each side, whitespace made a space
    starts: list[int]  # longest ordinary word starting at each character (0: none)
    ends: list[int]  # ... ending at each character
    person: list[str]  # "pB"/"pI" where jieba's dictionary knows a person, else ""
    types: list[str]  # character type of each padded character
    buckets: list[str]  # given-name score bucket of each padded character


def _context(text: str, lex: Lexicon) -> _Context:
    n = len(text)
    # whitespace (tabs, newlines) becomes a space: feature names stay on one line of the file
    padded = "^^" + "".join(" " if c.isspace() else c for c in text) + "$$"
    starts = [0] * n
    ends = [0] * n
    person = [""] * n
    for i in range(n):
        for size in _WORD_LENGTHS:
            if i + size > n:
                continue
            w = text[i : i + size]
            if (not starts[i] or not ends[i + size - 1]) and _ordinary(lex, w):
                starts[i] = starts[i] or size
                ends[i + size - 1] = ends[i + size - 1] or size
            if size >= _PERSON_WORD_MIN and w in lex.person_words and not person[i]:
                for k in range(i, i + size):
                    person[k] = person[k] or ("pB" if k == i else "pI")
    types = list(map(_ctype, padded))
    buckets = list(map(_bucket_table(lex.scores).get, padded, repeat("n")))
    return _Context(padded, starts, ends, person, types, buckets)


def _flags(text: str, i: int, ctx: _Context, lex: Lexicon) -> list[str]:
    """The yes/no features of character ``i``: surnames around it, transliteration, persons."""
    j = i + 2
    c, prev1, prev2 = ctx.padded[j], ctx.padded[j - 1], ctx.padded[j - 2]
    f = ["b"]
    if c in lex.surnames:
        f.append("sur0")
        if prev1 in lex.surnames:
            f.append("sursur")
    if text[i : i + 2] in lex.compound:
        f.append("csur0")
    if prev1 in lex.surnames:
        f.append("sur-1")
    if prev2 in lex.surnames:
        f.append("sur-2")
    if c in lex.translit:
        f.append("tr0")
    if ctx.person[i]:
        f.append(ctx.person[i])
    return f


def _valued(i: int, n: int, ctx: _Context) -> list[tuple[str, str]]:
    """The (template, value) features of character ``i``: "u0" and "王" make "u0=王"."""
    j = i + 2
    p = ctx.padded
    c, prev1, prev2, next1, next2 = p[j], p[j - 1], p[j - 2], p[j + 1], p[j + 2]
    types, buckets = ctx.types, ctx.buckets
    return [
        ("u0", c),
        ("u-1", prev1),
        ("u+1", next1),
        ("u-2", prev2),
        ("u+2", next2),
        ("b-1", prev1 + c),
        ("b0", c + next1),
        ("b-2", prev2 + prev1),
        ("b+1", next1 + next2),
        ("t", types[j - 1] + types[j] + types[j + 1]),
        ("g0", buckets[j]),
        ("g-1", buckets[j - 1]),
        ("g+1", buckets[j + 1]),
        ("ws", _DIGIT[ctx.starts[i]]),
        ("we", _DIGIT[ctx.ends[i]]),
        ("ws-1", _DIGIT[ctx.starts[i - 1] if i else _NO_WORD]),
        ("we+1", _DIGIT[ctx.ends[i + 1] if i + 1 < n else _NO_WORD]),
    ]


def features(text: str, lex: Lexicon) -> list[list[str]]:
    """Feature names of each character of ``text`` (normalised text)."""
    ctx = _context(text, lex)
    n = len(text)
    out: list[list[str]] = []
    for i in range(n):
        f = _flags(text, i, ctx, lex)
        f[1:1] = [name + "=" + value for name, value in _valued(i, n, ctx)]
        out.append(f)
    return out


class NameModel:
    """Weights of the CRF: one (B, I, O) triple per feature, and label transitions."""

    def __init__(
        self,
        weights: dict[str, tuple[float, float, float]],
        transitions: tuple[tuple[float, float, float], ...],
    ) -> None:
        self.weights = weights
        # exp of transitions, [previous][current]
        self._trans = [[math.exp(x) for x in row] for row in transitions]
        # the same weights by template for text_emissions, each as one complex number:
        # (B - O) + (I - O)j. Adding the same amount to every label of a character changes no
        # probability, so two numbers per feature say all, and Python sums complex numbers in C.
        self._valued: dict[str, dict[str, complex]] = {}
        self._flag: dict[str, complex] = {}
        for key, (b, i, o) in weights.items():
            name, eq, value = key.partition("=")
            w = complex(b - o, i - o)
            if eq:
                self._valued.setdefault(name, {})[value] = w
            else:
                self._flag[key] = w

    @classmethod
    def parse(cls, lines: list[str]) -> NameModel:
        weights: dict[str, tuple[float, float, float]] = {}
        transitions: dict[str, tuple[float, float, float]] = {}
        for line in lines:
            if not line or line.startswith("#"):
                continue
            key, *vals = line.rsplit("\t", len(LABELS))
            b, i, o = map(float, vals)
            if key.startswith(TRANSITION_PREFIX):
                transitions[key.removeprefix(TRANSITION_PREFIX)] = (b, i, o)
            else:
                weights[key] = (b, i, o)
        if set(transitions) != set(LABELS):
            raise ValueError("name model: expected one transition row per label")
        return cls(weights, tuple(transitions[y] for y in LABELS))

    def emissions(self, feats: list[list[str]]) -> list[tuple[float, float, float]]:
        w = self.weights
        out: list[tuple[float, float, float]] = []
        for fs in feats:
            b = i = o = 0.0
            for f in fs:
                v = w.get(f)
                if v is not None:
                    b += v[0]
                    i += v[1]
                    o += v[2]
            out.append((b, i, o))
        return out

    def text_emissions(self, text: str, lex: Lexicon) -> list[tuple[float, float, float]]:
        """``emissions(features(text, lex))`` less each character's O score (which changes no
        probability), computed a template at a time.

        Each template's values over the whole text are looked up with ``map`` and summed
        with ``zip``, so the per-character work runs in C; masking calls this on every message.
        """
        n = len(text)
        if not n:
            return []
        ctx = _context(text, lex)
        p, types, buckets = ctx.padded, ctx.types, ctx.buckets
        cur, prev1, prev2, next1, next2 = p[2 : n + 2], p[1 : n + 1], p[:n], p[3 : n + 3], p[4:]
        starts = [_DIGIT[x] for x in ctx.starts]
        ends = [_DIGIT[x] for x in ctx.ends]
        edge = _DIGIT[_NO_WORD]
        add = operator.add
        values: dict[str, Sequence[str]] = {
            "u0": cur,
            "u-1": prev1,
            "u+1": next1,
            "u-2": prev2,
            "u+2": next2[:n],
            "b-1": list(map(add, prev1, cur)),
            "b0": list(map(add, cur, next1)),
            "b-2": list(map(add, prev2, prev1)),
            "b+1": list(map(add, next1, next2)),
            "t": list(map(add, map(add, types[1 : n + 1], types[2 : n + 2]), types[3 : n + 3])),
            "g0": buckets[2 : n + 2],
            "g-1": buckets[1 : n + 1],
            "g+1": buckets[3 : n + 3],
            "ws": starts,
            "we": ends,
            "ws-1": [edge, *starts[:-1]],
            "we+1": [*ends[1:], edge],
        }
        sur = lex.surnames.__contains__
        sur0 = list(map(sur, cur))
        flags: dict[str, list[bool]] = {
            "sur0": sur0,
            "sursur": [a and sur(c) for a, c in zip(sur0, prev1, strict=True)],
            "csur0": [text[i : i + 2] in lex.compound for i in range(n)],
            "sur-1": list(map(sur, prev1)),
            "sur-2": list(map(sur, prev2)),
            "tr0": list(map(lex.translit.__contains__, cur)),
            "pB": [x == "pB" for x in ctx.person],
            "pI": [x == "pI" for x in ctx.person],
        }
        zero = 0j
        columns: list[Iterable[complex]] = [
            map(self._valued.get(name, _EMPTY).get, vals, repeat(zero))
            for name, vals in values.items()
        ]
        columns += [
            map(operator.mul, on, repeat(self._flag[name]))
            for name, on in flags.items()
            if name in self._flag
        ]
        bias = self._flag.get("b", zero)
        return [(z.real, z.imag, 0.0) for z in map(sum, zip(*columns, strict=True), repeat(bias))]

    def marginals(self, feats: list[list[str]]) -> list[tuple[float, float, float]]:
        """P(label) of each character (forward-backward, scaled per step)."""
        return self.marginals_of(self.emissions(feats))

    def marginals_of(
        self, emissions: list[tuple[float, float, float]]
    ) -> list[tuple[float, float, float]]:
        """P(label) of each character from its emission scores."""
        n = len(emissions)
        if not n:
            return []
        pot: list[tuple[float, float, float]] = []
        for b, i, o in emissions:
            m = max(b, i, o)
            pot.append((math.exp(b - m), math.exp(i - m), math.exp(o - m)))
        t = self._trans
        alpha: list[tuple[float, float, float]] = []
        a = pot[0]
        s = a[0] + a[1] + a[2]
        a = (a[0] / s, a[1] / s, a[2] / s)
        alpha.append(a)
        for k in range(1, n):
            p = pot[k]
            x0 = (a[0] * t[0][0] + a[1] * t[1][0] + a[2] * t[2][0]) * p[0]
            x1 = (a[0] * t[0][1] + a[1] * t[1][1] + a[2] * t[2][1]) * p[1]
            x2 = (a[0] * t[0][2] + a[1] * t[1][2] + a[2] * t[2][2]) * p[2]
            s = x0 + x1 + x2
            a = (x0 / s, x1 / s, x2 / s)
            alpha.append(a)
        out: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * n
        beta = (1.0, 1.0, 1.0)
        for k in range(n - 1, -1, -1):
            a = alpha[k]
            m0, m1, m2 = a[0] * beta[0], a[1] * beta[1], a[2] * beta[2]
            s = m0 + m1 + m2
            out[k] = (m0 / s, m1 / s, m2 / s)
            if k:
                p = pot[k]
                y0, y1, y2 = p[0] * beta[0], p[1] * beta[1], p[2] * beta[2]
                b0 = t[0][0] * y0 + t[0][1] * y1 + t[0][2] * y2
                b1 = t[1][0] * y0 + t[1][1] * y1 + t[1][2] * y2
                b2 = t[2][0] * y0 + t[2][1] * y1 + t[2][2] * y2
                s = b0 + b1 + b2
                beta = (b0 / s, b1 / s, b2 / s)
        return out


def name_spans(
    marg: list[tuple[float, float, float]], threshold: float
) -> list[tuple[int, int, float]]:
    """Runs of characters whose name probability is at least ``threshold``.

    A run is cut where a new name is more likely to begin (``B`` above ``I``); each span's
    score is its weakest character's name probability.
    """
    spans: list[tuple[int, int, float]] = []
    start = -1
    low = 1.0
    for k, (b, i, o) in enumerate(marg):
        name_p = 1.0 - o
        if name_p < threshold:
            if start >= 0:
                spans.append((start, k, low))
                start = -1
            continue
        if start >= 0 and b > i:
            spans.append((start, k, low))
            start = -1
        if start < 0:
            start, low = k, name_p
        else:
            low = min(low, name_p)
    if start >= 0:
        spans.append((start, len(marg), low))
    return spans


@lru_cache(maxsize=1)
def model() -> NameModel:
    lines = _text.data_path(MODEL_FILE).read_text(encoding="utf-8").splitlines()
    return NameModel.parse(lines)
