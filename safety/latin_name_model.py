"""A small word-level CRF that finds person names written in Latin letters (trained, shipped).

The rules of ``safety.pii.names_en`` find a Latin name after its cues ("my name is", "Dr.",
"this is … here") and in the shapes a name takes (two capitalised words starting with a given
name, initials, a name in capitals). Names people type in chat often have neither: "li na,
34, fever since monday", "my husband david has a cough", "cheung siu ming's report". This
model reads every word of a message in its context and gives each one a label, ``B`` (a
name starts), ``I`` (a name goes on) or ``O``, as ``safety.name_model`` does for Chinese
characters (the same weights format and decoder).

A word's features: the word itself (lower case, accents folded), its shape (capitalised,
capitals, hyphen, apostrophe), whether its capital is owed to the start of a sentence, how
common it is as a given name in gender-guesser's name dictionary (anywhere, and in English-
speaking countries), whether it is a family name of ``name_cues_en.toml`` or a word the cues
say is never a name, whether it reads as pinyin syllables, its last three letters, and the
same for the words around it (two each side; Chinese around a Latin word counts as one word,
"我叫" before "Emily").

The weights live in ``data/name_crf_latin.txt``; ``python -m safety.build_latin_name_model``
trains them (python-crfsuite, a build-time tool only) on informal English posts with person
spans (WNUT 2017) and messages written for this purpose (``bench/data/train``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from safety import _text, name_model

MODEL_FILE = "name_crf_latin.txt"
# Latin words (accents, inner apostrophes and hyphens: O'Brien, Jean-Luc; a possessive 's is
# words of its own), numbers, runs of Chinese, or one other character
_TOKEN_RE = re.compile(
    r"[A-Za-zß-öø-ÿÀ-ÖØ-Þ\u0100-\u024f\u1e00-\u1eff]+"
    r"(?:['’\-](?![sS]\b)[A-Za-zß-öø-ÿÀ-ÖØ-Þ\u0100-\u024f\u1e00-\u1eff]+)*"
    r"|[0-9]+|[\u4e00-\u9fff]+|\S"
)
_SENTENCE_END = frozenset(".!?。！？")
_NAME_PREFIX_RE = re.compile(r"(?:o['’]|mc|mac|al-|el-|abu-|abd)[a-z]{2,}")
_SUFFIX_MIN = 5  # a word this long also gives its last three letters


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str  # as written (case kept)
    kind: str  # "L" Latin word, "D" number, "Z" Chinese run, "P" anything else


def tokens(cased: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(cased):
        t = m.group()
        c = t[0]
        if c.isdigit():
            kind = "D"
        elif "\u4e00" <= c <= "\u9fff":
            kind = "Z"
        elif c.isalpha():
            kind = "L"
        else:
            kind = "P"
        out.append(Token(m.start(), m.end(), t, kind))
    return out


def _fold(word: str) -> str:
    word = word.lower().replace("’", "'")
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Lexicon:
    """What the features look up: per given name its frequency class anywhere and in
    English-speaking countries (gender-guesser's name dictionary), family names and words
    that are never names (``name_cues_en.toml``)."""

    given: dict[str, tuple[int, int]]
    surnames: frozenset[str]
    not_names: frozenset[str]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    from safety.pii.names_en import _latin_cues, _nam_dict

    cues = _latin_cues()
    return Lexicon(_nam_dict(), cues.surnames, cues.not_names)


def _freq_class(f: int) -> str:
    """gender-guesser's frequency digit (1–13) in three classes."""
    return "0" if f <= 0 else "1" if f < 4 else "2" if f < 8 else "3"


@lru_cache(maxsize=16384)
def _word_features(low: str) -> tuple[str, ...]:
    """The features of a word that do not depend on its place (cached: words repeat)."""
    lex = lexicon()
    f = ["w=" + low]
    parts = [p for p in re.split(r"[\-']", low) if p]
    given = max((lex.given.get(p, (0, 0)) for p in parts), default=(0, 0))
    f.append("g=" + _freq_class(given[0]))
    f.append("ge=" + _freq_class(given[1]))
    if any(p in lex.surnames for p in parts):
        f.append("sur")
    if low in lex.not_names:
        f.append("nn")
    if _NAME_PREFIX_RE.fullmatch(low):
        f.append("pre")
    if len(low) >= _SUFFIX_MIN:
        f.append("s3=" + low[-3:])
    from safety.pinyin import split_syllables

    syl = split_syllables(low) if low.isascii() and low.isalpha() else None
    if syl:
        f.append("py=" + str(min(len(syl), 3)))
    if len(low) <= 2:
        f.append("short")
    return tuple(f)


def _shape(tok: Token, all_lower: bool, all_upper: bool, after_end: bool) -> list[str]:
    t = tok.text
    out = []
    if "-" in t:
        out.append("hy")
    if "'" in t or "’" in t:
        out.append("ap")
    if all_lower:
        out.append("lowtext")
    elif all_upper:
        out.append("uptext")
    elif t.isupper() and len(t) > 1:
        out.append("caps")
    elif t[0].isupper():
        out.append("cap" if not after_end else "capstart")
    else:
        out.append("low")
    return out


def _context_word(tok: Token | None) -> str:
    """A neighbour as the features name it: a Latin word in lower case, the two Chinese
    characters nearest, a number as a digit sign, other characters as they are."""
    if tok is None:
        return "^"
    if tok.kind == "L":
        return _fold(tok.text)
    if tok.kind == "D":
        return "#"
    return tok.text


def features(cased: str, toks: list[Token] | None = None) -> list[list[str]]:
    """Feature names of each token of ``cased`` (normalised text, case kept)."""
    toks = tokens(cased) if toks is None else toks
    letters = [c for c in cased if c.isalpha() and c.isascii()]
    all_lower = bool(letters) and not any(c.isupper() for c in letters)
    all_upper = bool(letters) and not any(c.islower() for c in letters)
    out: list[list[str]] = []
    n = len(toks)
    base: list[tuple[str, ...]] = []
    ctx: list[str] = []
    for tok in toks:
        if tok.kind == "L":
            base.append(_word_features(_fold(tok.text)))
        else:
            base.append(("k=" + tok.kind,))
        ctx.append(_context_word(tok))
    for k, tok in enumerate(toks):
        f = ["b", *base[k]]
        prev = toks[k - 1] if k else None
        after_end = prev is None or (prev.kind == "P" and prev.text in _SENTENCE_END)
        if tok.kind == "L":
            f += _shape(tok, all_lower, all_upper, after_end)
        p1 = ctx[k - 1][-2:] if k and toks[k - 1].kind == "Z" else (ctx[k - 1] if k else "^")
        p2 = ctx[k - 2] if k > 1 else "^"
        n1 = (
            ctx[k + 1][:2]
            if k + 1 < n and toks[k + 1].kind == "Z"
            else (ctx[k + 1] if k + 1 < n else "$")
        )
        n2 = ctx[k + 2] if k + 2 < n else "$"
        if k > 1 and toks[k - 2].kind == "Z":
            p2 = "Z"
        if k + 2 < n and toks[k + 2].kind == "Z":
            n2 = "Z"
        f += ["w-1=" + p1, "w-2=" + p2, "w+1=" + n1, "w+2=" + n2, "w-2-1=" + p2 + "_" + p1]
        for name, j in (("-1", k - 1), ("+1", k + 1)):
            if 0 <= j < n and toks[j].kind == "L":
                f += [g + name for g in base[j][1:] if not g.startswith(("w=", "s3="))]
                if toks[j].text[0].isupper() and not all_upper:
                    f.append("cap" + name)
        if after_end:
            f.append("bos")
        out.append(f)
    return out


@lru_cache(maxsize=1)
def model() -> name_model.NameModel:
    lines = _text.data_path(MODEL_FILE).read_text(encoding="utf-8").splitlines()
    return name_model.NameModel.parse(lines)


def name_spans(cased: str, threshold: float) -> list[tuple[int, int, float]]:
    """Names the model finds in ``cased``: (start, end, the weakest word's name probability),
    spans of Latin words only."""
    if threshold > 1.0:  # the builder reads messages with the rules alone
        return []
    toks = tokens(cased)
    if not any(t.kind == "L" for t in toks):
        return []
    marg = model().marginals(features(cased, toks))
    out: list[tuple[int, int, float]] = []
    for s, e, p in name_model.name_spans(marg, threshold):
        run: list[Token] = []
        for tok in [*toks[s:e], None]:  # a run through a sign or a number: its words apart
            if tok is not None and tok.kind == "L":
                run.append(tok)
                continue
            if run:
                out.append((run[0].start, run[-1].end, p))
            run = []
    return out
