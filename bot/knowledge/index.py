"""Finding the entries a question is about: BM25 over words, with what lexical matching needs
to reach paraphrases and typos.

A text becomes weighted terms: jieba's words (Chinese) and word stems (English) at full
weight; the character pairs of Chinese runs and the character triples of longer English words
at less (a typo or another wording still shares most of them); and one term for each group
of ``prompts/knowledge/synonyms.txt`` the text names a word of (探视/看望, 化验单/检验报告,
sick note/medical certificate). Entries are scored by BM25 with those weights, their titles
(the FAQ question) and tags counting twice.

``confident`` says whether the best entry answers the question: most of the question's
weight (each term by its rarity; words no entry has count as the rarest) must be found in it,
and it must stand clear of the second, and hold a word of the question, not only pieces of
words.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.knowledge.entries import Entry
from safety.language import detect
from safety.text import normalize, words

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2.0
PAIR_WEIGHT = 0.5  # a Chinese character pair
TRIPLE_WEIGHT = 0.3  # a character triple of an English word
SYNONYM_WEIGHT = 1.5
OTHER_LANG = 0.7  # an entry in the other language scores this much of its score
# confident: at least this share of the question's weight found in the best entry, and the
# best entry's score at least this many times the second's
CONFIDENT_COVERAGE = 0.55
CONFIDENT_LEAD = 1.15
MIN_TRIPLE_WORD = 5
_PIECE_MARKS = "#%"  # the marks of character pairs and triples (terms, not words)

_CJK_RUN_RE = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'&\-]*")
_CJK_CHAR_RE = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    coverage: float = 0.0  # the share of the question's weight found in this entry
    words: bool = False  # a word of the question (not only character pieces) is in it


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    confident: bool

    def to_json(self) -> dict[str, object]:
        return {
            "results": [
                {"id": h.id, "score": round(h.score, 4), "title": h.title} for h in self.hits
            ],
            "confident": self.confident,
        }


@lru_cache(maxsize=1)
def _synonyms() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One pattern for every synonym, and the group term each stands for."""
    text = resources.files("prompts").joinpath("knowledge", "synonyms.txt").read_text("utf-8")
    group_of: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        items = [normalize(w.replace("_", " ")) for w in line.split()]
        for item in items:
            group_of.setdefault(item, "~" + items[0])
    if not group_of:
        return None, {}
    alternatives = sorted(group_of, key=len, reverse=True)
    parts = [
        re.escape(w) if _CJK_CHAR_RE.search(w) else rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])"
        for w in alternatives
    ]
    return re.compile("|".join(parts)), group_of


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    """Words that name no topic (``prompts/knowledge/stopwords.txt``)."""
    text = resources.files("prompts").joinpath("knowledge", "stopwords.txt").read_text("utf-8")
    return frozenset(w for line in text.splitlines() for w in line.split("#", 1)[0].split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> dict[str, float]:
    """The weighted terms of a text (see the module's docstring)."""
    norm = normalize(text)
    stop = _stopwords()
    out: dict[str, float] = defaultdict(float)
    for word in words(norm):
        word = word.strip()
        if word and _CJK_CHAR_RE.search(word) and word not in stop:
            out[word] += 1.0
    for run in _CJK_RUN_RE.findall(norm):
        for i in range(len(run) - 1):
            out["#" + run[i : i + 2]] += PAIR_WEIGHT
    for word in _LATIN_WORD_RE.findall(norm):
        if word in stop or word.isdigit():  # a number alone names no topic ("问题1", "2 pm")
            continue
        out[_stem(word)] += 1.0
        if len(word) >= MIN_TRIPLE_WORD:
            for i in range(len(word) - 2):
                out["%" + word[i : i + 3]] += TRIPLE_WEIGHT
    pattern, group_of = _synonyms()
    if pattern is not None:
        for match in pattern.finditer(norm):
            out[group_of[match.group()]] += SYNONYM_WEIGHT
    return out


class Index:
    """BM25 over a base's entries; build once per base version."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self._by_id = {e.id: e for e in self.entries}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lengths: list[float] = []
        for k, entry in enumerate(self.entries):
            counts = terms(entry.text)
            for term, weight in terms(" ".join((entry.title, *entry.tags))).items():
                counts[term] += TITLE_WEIGHT * weight
            for term, weight in counts.items():
                postings[term].append((k, weight))
            lengths.append(sum(counts.values()))
        n = len(self.entries)
        self._avg = (sum(lengths) / n) if n else 1.0
        self._norm = [K1 * (1 - B + B * length / self._avg) for length in lengths]
        # Postings kept flat, one array of entries and one of weights, each term a slice of
        # them: a tuple per posting would cost some ten times the memory.
        self._docs = array("I")
        self._weights = array("f")
        self._span: dict[str, tuple[int, int]] = {}
        self._idf: dict[str, float] = {}
        for term, items in postings.items():
            start = len(self._docs)
            self._docs.extend(k for k, _ in items)
            self._weights.extend(w for _, w in items)
            self._span[term] = (start, len(self._docs))
            self._idf[term] = math.log(1 + (n - len(items) + 0.5) / (len(items) + 0.5))
        self._max_idf = max(self._idf.values(), default=1.0)

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, text: str, lang: str | None = None, top: int = 3) -> SearchResult:
        query = terms(text)
        if not query or not self.entries:
            return SearchResult([], False)
        lang = lang if lang in ("zh", "en") else detect(text)
        scores: dict[int, float] = defaultdict(float)
        found: dict[int, float] = defaultdict(float)
        with_words: set[int] = set()
        for term, qw in query.items():
            span = self._span.get(term)
            if span is None:
                continue
            start, end = span
            idf = self._idf[term]
            piece = term[0] in _PIECE_MARKS
            for k, tf in zip(self._docs[start:end], self._weights[start:end], strict=True):
                scores[k] += qw * idf * tf * (K1 + 1) / (tf + self._norm[k])
                found[k] += qw * idf
                if not piece:
                    with_words.add(k)
        for k in scores:
            if self.entries[k].lang != lang:
                scores[k] *= OTHER_LANG
        ranked = sorted(scores, key=lambda k: (-scores[k], k))[: max(top, 2)]
        weight = self._weight(query)
        hits = [
            Hit(
                self.entries[k].id,
                scores[k],
                self.entries[k].title,
                found[k] / weight,
                k in with_words,
            )
            for k in ranked
        ]
        return SearchResult(hits[:top], self._confident(hits))

    def entry(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def _weight(self, query: dict[str, float]) -> float:
        """A question's whole weight: each term by its rarity, unknown ones as the rarest."""
        return sum(qw * self._idf.get(t, self._max_idf) for t, qw in query.items()) or 1.0

    @staticmethod
    def _confident(hits: list[Hit]) -> bool:
        if not hits:
            return False
        second = hits[1].score if len(hits) > 1 else 0.0
        best = hits[0]
        return (
            best.words
            and best.coverage >= CONFIDENT_COVERAGE
            and best.score >= CONFIDENT_LEAD * second
        )


def build(entries: Iterable[Entry]) -> Index:
    return Index(list(entries))
