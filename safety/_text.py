"""Shared text layer: one normalisation with an offset map, one jieba segmentation.

``assess`` and ``mask`` both start from the same raw message, so both go through
:func:`analyse`, which is cached: the pipeline pays for normalisation and segmentation once.
Every normalised character remembers which original characters it came from, so that PII
spans found in normalised text map back to exact offsets in the original.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

_CACHE_SIZE = 256
# Frequency given to lexicon words so that jieba keeps them as one token.
_USER_WORD_FREQ = 60_000

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"}


def data_path(name: str) -> Path:
    """Path of a data file shipped in ``safety/data``."""
    return Path(str(resources.files("safety") / "data" / name))


def read_lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a data file."""
    out: list[str] = []
    for raw in data_path(name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in read_lines("t2s.txt"):
        for pair in line.split():
            if len(pair) == 2:
                table[pair[0]] = pair[1]
    return table


@lru_cache(maxsize=1)
def _colloquial() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One pattern for every rewrite: Chinese forms anywhere, English ones as whole words."""
    zh: dict[str, str] = {}
    for line in read_lines("colloquial_zh.txt"):
        parts = line.split()
        if len(parts) == 2:
            zh[parts[0]] = parts[1]
    en: dict[str, str] = {}
    for line in read_lines("colloquial_en.txt"):
        source, sep, target = line.partition("=>")
        if sep and source.strip() and target.strip():
            en[source.strip()] = target.strip()
    if not zh and not en:
        return None, {}
    alternatives = [re.escape(k) for k in sorted(zh, key=len, reverse=True)]
    if en:
        words = "|".join(re.escape(k) for k in sorted(en, key=len, reverse=True))
        alternatives.insert(0, rf"(?<![a-z'])(?:{words})(?![a-z'])")
    return re.compile("|".join(alternatives)), {**zh, **en}


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    if ch in "\u200d\ufe0e\ufe0f\u20e3":
        return True
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(ch) == "So" and cp > 0x2100


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, per character, the original span it came from."""

    text: str  # NFKC, traditional->simplified, colloquial rewrites, lowercase, no emoji
    # (laughing ones read as "haha")
    cased: str  # same, but case kept (for English names)
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) back to the original text."""
        return self.starts[start], self.ends[end - 1]


def normalize(text: str) -> Normalized:
    return _normalize_cached(text)


# Characters whose normalised form is remembered; past this many, the forms of further new
# characters are worked out each time they occur (odd input cannot grow the table without
# bound).
_CHAR_TABLE_LIMIT = 65_536
_CAPITAL_SIGMA = "\u03a3"  # lowercased by context in str.lower(), by itself here


class _CharTable(dict[int, str | None]):
    """Per character code: its normalised form, case kept (None drops an emoji). A
    ``str.translate`` table that learns each character the first time it meets it."""

    def __init__(self) -> None:
        super().__init__()
        self.uneven: set[str] = set()  # characters whose form is not one character
        self._uneven_re: re.Pattern[str] | None = None

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        form = _char_form(ch)
        if form is None or len(form) != 1:
            self.uneven.add(ch)
            self._uneven_re = None
        if len(self) < _CHAR_TABLE_LIMIT:
            self[code] = form
        return form

    def has_uneven(self, text: str) -> bool:
        """Does ``text`` hold a character whose form is not one character (so offsets need
        mapping)? Asked after ``text`` went through the table, so all of them are known."""
        if not self.uneven:
            return False
        if self._uneven_re is None:
            self._uneven_re = re.compile("[" + "".join(map(re.escape, sorted(self.uneven))) + "]")
        return self._uneven_re.search(text) is not None


_table = _CharTable()


@lru_cache(maxsize=1)
def _opencc() -> Any:
    """OpenCC's traditional->simplified converter (its character dictionary covers every
    traditional character; ``t2s.txt`` only overrides it)."""
    import opencc

    return opencc.OpenCC("t2s")


def _simplified(ch: str) -> str:
    """One character in simplified form: ``t2s.txt`` first, then OpenCC's character
    conversion when that gives one character (so offsets stay exact)."""
    mapped = _t2s().get(ch)
    if mapped is not None:
        return mapped
    if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff":
        converted: str = _opencc().convert(ch)
        if len(converted) == 1:
            return converted
    return ch


# Laughing emoji say what "haha" says: a joke (read by the figures of speech in
# data/emergency_context.toml, "想死了😂", "i wanna die 😂"); other emoji are dropped.
_LAUGHING = frozenset("\U0001f602\U0001f923\U0001f606\U0001f639")
_LAUGH_FORM = " haha "


def _char_form(ch: str) -> str | None:
    """Normalised form of one character, case kept; None for an emoji (dropped)."""
    if ch in _LAUGHING:
        return _LAUGH_FORM
    if _is_emoji(ch):
        return None
    piece = unicodedata.normalize("NFKC", ch)
    return "".join(_APOSTROPHES.get(c) or _simplified(c) for c in piece)


def _lower_piece(piece: str) -> str:
    low = piece.lower()
    return low if len(low) == len(piece) else piece


@lru_cache(maxsize=_CACHE_SIZE)
def _normalize_cached(text: str) -> Normalized:
    """Character by character (so offsets map back), through the table of seen characters."""
    table = _table
    cased = text.translate(table)
    # Lowercase each character's form on its own: the same as lowercasing the whole unless a
    # form grows when lowercased (kept as it is then) or a capital sigma takes its final form.
    lower = cased.lower()
    if len(lower) != len(cased) or _CAPITAL_SIGMA in cased:
        lower = "".join(_lower_piece(p) for p in map(table.__getitem__, map(ord, text)) if p)
    if not table.has_uneven(text):
        starts: tuple[int, ...] = tuple(range(len(text)))
        ends: tuple[int, ...] = tuple(range(1, len(text) + 1))
    else:
        s_list: list[int] = []
        for i, ch in enumerate(text):
            piece = table[ord(ch)]
            if piece:
                s_list.extend([i] * len(piece))
        starts = tuple(s_list)
        ends = tuple(i + 1 for i in s_list)
    pattern, rewrites = _colloquial()
    if pattern is None:
        return Normalized(lower, cased, starts, ends)
    out_l: list[str] = []
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    pos = 0
    for m in pattern.finditer(lower):
        out_l.append(lower[pos : m.start()])
        out_c.append(cased[pos : m.start()])
        out_s.extend(starts[pos : m.start()])
        out_e.extend(ends[pos : m.start()])
        repl = rewrites[m.group()]
        out_l.append(repl)
        out_c.append(repl)
        out_s.extend([starts[m.start()]] * len(repl))
        out_e.extend([ends[m.end() - 1]] * len(repl))
        pos = m.end()
    if pos == 0:
        return Normalized(lower, cased, starts, ends)
    out_l.append(lower[pos:])
    out_c.append(cased[pos:])
    out_s.extend(starts[pos:])
    out_e.extend(ends[pos:])
    return Normalized("".join(out_l), "".join(out_c), tuple(out_s), tuple(out_e))


# --- jieba ---------------------------------------------------------------------------------

_lock = threading.RLock()
_tokenizer: Any = None
_word_providers: list[Callable[[], Iterable[str]]] = []


def register_words(provider: Callable[[], Iterable[str]]) -> None:
    """Register a source of words (lexicon terms, never-names) that jieba must keep whole.

    Providers are called when the tokenizer is built, so importing a module stays cheap; one
    registered after the build is applied at once.
    """
    with _lock:
        _word_providers.append(provider)
        if _tokenizer is not None:
            _add_words(_tokenizer, provider())
            _segment.cache_clear()
            boundaries.cache_clear()


def _add_words(tok: Any, words: Iterable[str]) -> None:
    """Words jieba must keep whole. jieba adds each word's count to its total, which makes
    every other cut dearer: thousands of words would tip unrelated text into longer tokens
    ("糖尿病人" instead of "糖尿病/人"), by how many words happen to be registered. The total
    is kept as the dictionary has it."""
    total = tok.total
    for w in words:
        tok.add_word(w, _USER_WORD_FREQ)
    tok.total = total


def _import_jieba() -> Any:
    """jieba, imported so that it reads its data files straight from its folder, as it does
    wherever ``pkg_resources`` is missing: importing that (deprecated by setuptools) would
    cost some 0.07 s of start-up for the same files."""
    import sys

    if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # import fails at once
        try:
            import jieba
        finally:
            del sys.modules["pkg_resources"]
    import jieba

    return jieba


def tokenizer() -> Any:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba = _import_jieba()
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                if not _read_jieba_cache(jieba, tok):
                    tok.initialize()  # builds the cache (about 1.5 s) and writes it
                for provider in _word_providers:
                    _add_words(tok, provider())
                _tokenizer = tok
    return _tokenizer


def _read_jieba_cache(jieba: Any, tok: Any) -> bool:
    """Fill ``tok`` from the cache jieba keeps of its default dictionary, as
    ``Tokenizer.initialize`` would, but read in one piece: jieba hands ``marshal.load`` the open
    file, which then reads it a string at a time (some 500,000 reads, 0.7 s of a 1.5 s
    start-up, against 0.25 s for the same bytes read at once). False when there is no such
    cache or it does not hold what jieba writes; the caller then lets jieba build it."""
    import marshal
    import tempfile

    if tok.dictionary != jieba.DEFAULT_DICT or tok.initialized:
        return False
    path = Path(tok.tmp_dir or tempfile.gettempdir(), tok.cache_file or "jieba.cache")
    try:
        freq, total = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return False
    if not (isinstance(freq, dict) and freq and isinstance(total, int)):
        return False
    tok.FREQ, tok.total, tok.initialized = freq, total, True
    return True


PERSON_TAGS = frozenset({"nr", "nrt", "nrfg"})


@lru_cache(maxsize=1)
def jieba_person_tags() -> dict[str, str]:
    """Words jieba's dictionary tags as persons (``nr``, ``nrt``, ``nrfg``).

    Read from ``data/person_words_zh.txt`` (built from jieba's dictionary by
    ``python -m safety.build_name_stats``) because parsing jieba's whole dictionary at start-up
    costs more than the start-up budget allows.
    """
    names: dict[str, str] = {}
    for line in data_path("person_words_zh.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, _, tag = line.partition(" ")
            if tag in PERSON_TAGS:
                names[word] = tag
    return names


def jieba_name_words() -> frozenset[str]:
    """Words tagged ``nr`` (person name) in jieba's main dictionary."""
    return frozenset(w for w, t in jieba_person_tags().items() if t == "nr")


def word_freq(word: str) -> int:
    """Frequency of ``word`` in the tokenizer's dictionary (0 when unknown)."""
    freq: dict[str, int] = tokenizer().FREQ
    return freq.get(word, 0)


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # offsets into the normalised text
    end: int


def tokens(norm: str) -> tuple[Token, ...]:
    return _segment(norm)


@lru_cache(maxsize=_CACHE_SIZE)
def _segment(norm: str) -> tuple[Token, ...]:
    out: list[Token] = []
    pos = 0
    for piece in tokenizer().cut(norm, HMM=True):
        out.append(Token(piece, pos, pos + len(piece)))
        pos += len(piece)
    return tuple(out)


@lru_cache(maxsize=_CACHE_SIZE)
def boundaries(norm: str) -> frozenset[int]:
    """Token start/end offsets of the normalised text."""
    cuts = {0, len(norm)}
    for t in _segment(norm):
        cuts.add(t.start)
        cuts.add(t.end)
    return frozenset(cuts)


class Stretches:
    """The whole text's jieba tokens, segmenting only the stretches asked about.

    jieba splits a text into blocks (runs of CJK characters, letters, digits and ``+#&._%-``),
    segments each block on its own, and yields every other character as a token of its own
    ("\\r\\n" stays one). So a stretch of text cut at a block edge, widened to whole blocks,
    segments exactly as it does inside the whole text, and most of a long message is never
    segmented when only a few places in it are asked about.
    """

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self._found = False  # blocks are found when first asked about
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._blocks: dict[int, frozenset[int]] = {}

    def _block_at(self, pos: int) -> int | None:
        """Index of the block ``pos`` lies strictly inside, if any."""
        if not self._found:
            tokenizer()
            import jieba

            for m in jieba.re_han_default.finditer(self.norm):
                self._starts.append(m.start())
                self._ends.append(m.end())
            self._found = True
        i = bisect_right(self._starts, pos) - 1
        if i >= 0 and self._starts[i] < pos < self._ends[i]:
            return i
        return None

    def _widen(self, pos: int, down: bool) -> int:
        """``pos``, or the nearest place below (``down``) or above it where the whole text's
        segmentation is sure to have a cut: the edge of a block, never inside "\\r\\n"."""
        block = self._block_at(pos)
        if block is not None:
            return self._starts[block] if down else self._ends[block]
        if 0 < pos < len(self.norm) and self.norm[pos - 1 : pos + 1] == "\r\n":
            return pos - 1 if down else pos + 1
        return pos

    def is_boundary(self, pos: int) -> bool:
        """Does a token of the whole text start or end at ``pos``?"""
        if pos <= 0 or pos >= len(self.norm):
            return True
        block = self._block_at(pos)
        if block is None:
            return self.norm[pos - 1 : pos + 1] != "\r\n"
        cuts = self._blocks.get(block)
        if cuts is None:
            start, end = self._starts[block], self._ends[block]
            cuts = self._blocks[block] = frozenset(
                start + c for c in boundaries(self.norm[start:end])
            )
        return pos in cuts

    def tokens(self, lo: int, hi: int) -> list[Token]:
        """The whole text's tokens that lie within [lo, hi)."""
        if hi <= lo:
            return []
        start, end = self._widen(lo, True), self._widen(hi, False)
        return [
            Token(t.text, start + t.start, start + t.end)
            for t in _segment(self.norm[start:end])
            if lo <= start + t.start and start + t.end <= hi
        ]
