"""Chinese typed in pinyin, read back in characters, so the Chinese lexicon can judge it.

A patient without a Chinese keyboard may write "wo xiong kou hao tong chuan bu shang qi".
:func:`looks_like_pinyin` tells such a message from English; :class:`PinyinReader` turns its
syllables into characters by choosing the likeliest words over the syllable sequence (a
unigram model on the counts of jieba's dictionary, the caller's preferred words, the emergency
lexicon's, made likelier). Readings come from pypinyin's character table, every reading of a
heteronym included for preferred words. The reader takes about a second to build, so it is
built once, in the background after start-up: pinyin messages are rare, and other messages
never pay for it.
"""

from __future__ import annotations

import heapq
import importlib.util
import math
import operator
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import product
from pathlib import Path

_TOKEN_RE = re.compile(r"[a-zü']+|[0-9]+(?:\.[0-9]+)?|[^\sa-zü0-9']")
_WORD_RE = re.compile(r"[a-zü']+")
_DEGREES_RE = re.compile(r"([0-9])\s*du\b")
_CJK_RE = re.compile("[\u4e00-\u9fff]")
_CJK_ONLY_RE = re.compile("[\u4e00-\u9fff]+")
_PUNCT = {",": "，", ".": "。", "!": "！", "?": "？", ";": "；", ":": "："}
# Words of English that are never pinyin syllables: one of them and the message is English.
_ENGLISH = frozenset(
    {
        *("the", "is", "my", "i", "to", "of", "and", "it", "in", "at", "was", "with", "for"),
        *("this", "that", "not", "have", "has", "can", "be", "are", "so", "do", "help"),
        *("please", "what", "how", "why", "when", "your", "we", "our", "they", "his", "her"),
        *("him", "am", "on", "from", "by", "or", "if", "no", "yes", "hi", "hello", "pain"),
        "chest",
    }
)
MIN_SYLLABLES = 3
MIN_PINYIN_SHARE = 0.8
MAX_WORD_SYLLABLES = 6
# The most frequent words of jieba's dictionary that the reader knows, besides preferred ones.
VOCABULARY_SIZE = 40_000
# A heteronym word gets at most this many readings (every combination of its characters').
MAX_READINGS = 8
# How much likelier a preferred word is taken to be than jieba's count says, and the least
# count it gets (many lexicon words, such as 嘴歪, are rare in jieba's news-based counts).
PREFERRED_BOOST = 20
PREFERRED_FLOOR = 5000
# Longest span respelled as a preferred word.
MAX_RESPELL = 4
# A character jieba counts this often (的, 了, 是, 有 …) is taken as written, never as a slip.
COMMON_CHAR = 50_000
# The count given to a syllable no word covers.
UNKNOWN_COUNT = 0.5
_TONE_DIGIT_RE = re.compile(r"(?<=[a-z])[1-5](?![0-9])")
_SPACES_RE = re.compile(r" {2,}")


def _fold(text: str) -> str:
    """Lower case, tone marks and tone digits removed, ü kept as v."""
    text = text.lower().replace("ü", "v").replace("u:", "v")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return _TONE_DIGIT_RE.sub("", text)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, ...]]:
    """Character -> its toneless readings: pypinyin's character table, loaded on its own.
    Importing the pypinyin package would also load its phrase dictionary (tens of MB)."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pypinyin is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.py"
    loader = importlib.util.spec_from_file_location("_careline_pinyin_dict", path)
    if loader is None or loader.loader is None:
        raise ImportError("pypinyin's character table is missing")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    readings: dict[int, str] = module.pinyin_dict
    fold = lru_cache(maxsize=None)(_fold)  # some 1,500 toned syllables over 40,000 characters
    return {
        chr(code): tuple(dict.fromkeys(fold(r) for r in text.split(",")))
        for code, text in readings.items()
    }


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    return frozenset(r for readings in _table().values() for r in readings if r.isalpha())


def split_syllables(token: str) -> list[str] | None:
    """A run of letters as pinyin syllables, fewest first ("xian" stays one); an apostrophe
    separates ("xi'an"). None when it is not pinyin."""
    syllables = _syllables()
    parts: list[str] = []
    for piece in _fold(token).split("'"):
        if not piece:
            continue
        n = len(piece)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(1, n + 1):
            for j in range(max(0, i - 6), i):
                prev = best[j]
                current = best[i]
                if (
                    prev is not None
                    and piece[j:i] in syllables
                    and (current is None or len(prev) + 1 < len(current))
                ):
                    best[i] = [*prev, piece[j:i]]
        found = best[n]
        if found is None:
            return None
        parts.extend(found)
    return parts


def looks_like_pinyin(text: str) -> bool:
    """Whether a whole message is Chinese written in pinyin (toneless, tone marks or digits,
    syllables spaced or run together) rather than English."""
    if _CJK_RE.search(text):
        return False
    words = _WORD_RE.findall(_fold(text))
    if not words or any(w.strip("'") in _ENGLISH for w in words):
        return False
    split = [split_syllables(w) for w in words]
    syllables = sum(len(s) for s in split if s)
    pinyin_words = sum(1 for s in split if s)
    return syllables >= MIN_SYLLABLES and pinyin_words >= MIN_PINYIN_SHARE * len(words)


def _readings(word: str) -> list[tuple[str, ...]]:
    table = _table()
    options = [table.get(ch) for ch in word]
    if any(not o for o in options):
        return []
    combos = product(*options)  # type: ignore[arg-type]
    return [tuple(c) for _, c in zip(range(MAX_READINGS), combos, strict=False)]


class PinyinReader:
    """Reads pinyin back into characters, preferring ``preferred`` words where they fit."""

    def __init__(self, preferred: Iterable[str]) -> None:
        # syllables -> (cost, word): the likeliest word for each reading
        self._words: dict[tuple[str, ...], tuple[float, str]] = {}
        counts = dict(_vocabulary())
        total = float(sum(counts.values()))
        self._unknown = -math.log(UNKNOWN_COUNT / total)
        boosted = {w for w in preferred if 1 <= len(w) <= MAX_WORD_SYLLABLES}
        self._known = frozenset(counts)  # words of jieba's dictionary: never respelled
        # Characters too common to be a slip (的, 了, 是, 开 …): a span with one is kept.
        self._common = frozenset(w for w, c in counts.items() if len(w) == 1 and c >= COMMON_CHAR)
        # Preferred words of two to four characters with one character masked ("呼吸困?"):
        # a span of the message that matches one this way is a candidate slip.
        self._masked: dict[str, list[tuple[str, int]]] = {}
        # the characters at each place of those words, by the words' length: a span is a slip
        # of one only if all but one of its characters stand where one of them has them
        at: dict[int, list[set[str]]] = {}
        for word in sorted(boosted):
            if 2 <= len(word) <= MAX_RESPELL and all(_CJK_RE.match(c) for c in word):
                places = at.setdefault(len(word), [set() for _ in word])
                for k, c in enumerate(word):
                    places[k].add(c)
                    self._masked.setdefault(f"{word[:k]}?{word[k + 1 :]}", []).append((word, k))
        self._at = {size: tuple(map(frozenset, places)) for size, places in at.items()}
        # the usual readings of the masked characters of each pattern: a slip reads as one
        # (one set object for each distinct set: most are a single reading)
        table = _table()
        shared: dict[frozenset[str], frozenset[str]] = {}
        self._slip_readings = {
            key: shared.setdefault(readings, readings)
            for key, entries in self._masked.items()
            for readings in (frozenset(table[w[k]][0] for w, k in entries if w[k] in table),)
        }
        # (in a fixed order: of two words with one reading and one cost the first is kept, and
        # a set's order changes from one process to the next)
        for word in sorted(boosted):
            counts[word] = max(counts.get(word, 1) * PREFERRED_BOOST, PREFERRED_FLOOR)
        for word, count in counts.items():
            if not all(_CJK_RE.match(c) for c in word):
                continue
            cost = -math.log(count / total)
            readings = _readings(word) if word in boosted else _readings(word)[:1]
            for key in readings:
                old = self._words.get(key)
                if old is None or cost < old[0]:
                    self._words[key] = (cost, word)

    def respell(self, text: str) -> str:
        """Chinese text with sound-alike slips of preferred words put right ("呼吸困南" ->
        "呼吸困难", "心机梗塞" -> "心肌梗塞"), conservatively: a span of two to four
        characters that differs from a preferred word in one character with the same usual
        reading (one slip of the input method), is not itself a word
        of jieba's dictionary and cuts none in two. A word of one character is never changed."""
        table = _table()
        placed = self._placed(text)
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            found = None
            for size in range(min(MAX_RESPELL, n - i), 1, -1):
                if placed[size][i] >= size - 1:
                    found = self._slip(text, i, size, table)
                    if found is not None:
                        break
            if found is None:
                out.append(text[i])
                i += 1
            else:
                out.append(found)
                i += len(found)
        return "".join(out)

    def _placed(self, text: str) -> dict[int, list[int]]:
        """For each word length, how many characters of the span starting at each place of
        ``text`` stand where a preferred word of that length has them. A slip keeps all but one
        character of its word, so only a span with that many is looked at (most have none);
        counted a place at a time, with ``map``, so the work per character runs in C."""
        out: dict[int, list[int]] = {}
        n = len(text)
        for size in range(2, MAX_RESPELL + 1):
            starts = max(n - size + 1, 0)
            counts = [0] * starts
            for k, chars in enumerate(self._at.get(size, ())):
                counts = list(
                    map(operator.add, counts, map(chars.__contains__, text[k : k + starts]))
                )
            out[size] = counts
        return out

    def _slip(
        self, text: str, start: int, size: int, table: dict[str, tuple[str, ...]]
    ) -> str | None:
        """The preferred word the span at ``start`` is a one-character slip of, if any."""
        span = text[start : start + size]
        if span in self._known:
            return None
        for k in range(size):
            key = f"{span[:k]}?{span[k + 1 :]}"
            readings = self._slip_readings.get(key)
            if not readings or table.get(span[k], ("",))[0] not in readings:
                continue  # no word with this pattern, or none its character sounds like
            for word, at in self._masked[key]:
                slip = span[at]
                if (
                    at == k
                    and slip != word[at]
                    and slip not in self._common
                    and _CJK_RE.match(slip)
                    # both characters' usual readings: a rare one (刺 qì, 沾 tiān, 车 jū) is
                    # no slip
                    and table.get(slip, ("",))[0] == table.get(word[at], ("?",))[0]
                    and not self._straddles(text, start, start + size)
                ):
                    return word
        return None

    def _straddles(self, text: str, start: int, end: int) -> bool:
        """Whether the span cuts a known word in two at either end ("留意什么": 意什)."""
        before = text[max(0, start - 1) : start + 1]
        after = text[end - 1 : end + 1]
        return (len(before) == 2 and before in self._known) or (
            len(after) == 2 and after in self._known
        )

    def to_hanzi(self, text: str) -> str:
        """The message with its pinyin read as characters; punctuation and digits kept,
        anything that is not pinyin kept as it was."""
        out: list[str] = []
        run: list[str] = []
        folded = _DEGREES_RE.sub(r"\1度", _fold(text))
        for token in _TOKEN_RE.findall(folded):
            syllables = split_syllables(token) if _WORD_RE.fullmatch(token) else None
            if syllables:
                run.extend(syllables)
                continue
            out.append(self._decode(run))
            run = []
            out.append(_PUNCT.get(token, token))
        out.append(self._decode(run))
        return _SPACES_RE.sub(" ", "".join(out)).strip()

    def _decode(self, syllables: list[str]) -> str:
        """The likeliest words over the syllables (the lowest sum of -log probability)."""
        n = len(syllables)
        if not n:
            return ""
        best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(1, n + 1):
            for j in range(max(0, i - MAX_WORD_SYLLABLES), i):
                prev = best[j]
                if prev is None:
                    continue
                found = self._words.get(tuple(syllables[j:i]))
                if found is None:
                    if i - j > 1:
                        continue
                    found = (self._unknown, syllables[j])  # no character: keep the syllable
                cost = prev[0] + found[0]
                current = best[i]
                if current is None or cost < current[0]:
                    best[i] = (cost, [*prev[1], found[1]])
        final = best[n]
        return "".join(final[1]) if final else " ".join(syllables)


def _vocabulary() -> list[tuple[str, int]]:
    """The most frequent words of jieba's dictionary, with their frequencies."""
    import jieba

    def rows() -> Iterable[tuple[str, int]]:
        with jieba.dt.get_dict_file() as fh:
            for raw in fh:
                parts = raw.decode("utf-8").split()
                if len(parts) >= 2 and parts[1].isdigit() and len(parts[0]) <= MAX_WORD_SYLLABLES:
                    yield parts[0], int(parts[1])

    # Only the top words are ever held: the dictionary has some 350,000.
    return heapq.nlargest(VOCABULARY_SIZE, rows(), key=lambda r: r[1])
