"""A learned second reading for the emergency check: a linear model over letters and sounds.

The lexicon (``data/emergency_*.toml``) reads a message by its grammar: concepts composed in
clauses, with negation, history and fiction in scope. It misses what nobody wrote a rule for.
This model reads the same normalised text by its pieces, and was trained on labelled messages
(``python -m safety.build_models emergency``), so it reaches phrasings no rule names:

* character n-grams (one to three) of the normalised text (traditional characters and
  Cantonese already rewritten to Mandarin by ``_text.normalize``);
* pinyin syllable n-grams (one to three) of its Chinese, so a sound-alike slip (心机梗塞) and
  a message typed in pinyin ("wo xiong kou hen tong") share features with the right characters;
* English word stems, pairs of stems, and letter n-grams (three and four) inside words, so an
  inflection, a typo or slang shares most of its features with the usual form.

The weights and how a message is scored by them are ``safety._linear``'s: a logistic
probability of "emergency", and for a message that escalates, its likeliest category.

The model only ever adds an escalation the lexicon did not make (``emergency.assess``); it
never clears one. It is a file of weights, ``data/emergency_model.tsv``, built offline and
shipped (``python -m safety.build_models emergency``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safety import _linear
from safety.pinyin import _WORD_RE, _fold, _table, looks_like_pinyin, split_syllables

MODEL_FILE = "emergency_model.tsv"
# Probability at or above which the model's reading escalates. Chosen on the training sets
# by leaving one set out at a time (see the builder's --report): at 0.9 no left-out set had
# more than 3.5 % false alarms among its non-emergencies.
THRESHOLD = 0.9
# A message with fewer known features is scored as if it had this many: a short message
# ("现在背上也湿透了") has too few pieces to be judged by them alone. Chosen with the
# builder's --report and the rate on short clauses of real patient questions.
FEATURE_FLOOR = 60
_CJK = re.compile("[\u4e00-\u9fff]")
_TOKEN = re.compile(r"[\u4e00-\u9fff]|[a-z0-9']+|[^\s\w]")
_EN_WORD = re.compile(r"[a-z']+")
_EN_SUFFIX = re.compile(r"(?:ing|ed|es|s|ly)$")
_GAP = "|"  # not Chinese: no syllable n-gram spans it


def _stem(word: str) -> str:
    """A crude English stem: "bleeding", "bleeds" -> "bleed" (words of five letters or more)."""
    return _EN_SUFFIX.sub("", word) if len(word) > 4 else word


def _grams(seq: list[str], prefix: str, joiner: str, out: set[str], skip: str | None) -> None:
    for n in (1, 2, 3):
        for i in range(len(seq) - n + 1):
            gram = seq[i : i + n]
            if skip is not None and skip in gram:
                continue
            out.add(f"{prefix}{n}:{joiner.join(gram)}")


def features(norm: str) -> set[str]:
    """The model's features of a normalised message (``_text.normalize(text).text``)."""
    text = norm.lower()
    out: set[str] = set()
    syllables: list[str]
    if _CJK.search(text) is None and looks_like_pinyin(text):
        syllables = [s for w in _WORD_RE.findall(_fold(text)) for s in split_syllables(w) or ()]
    else:
        table = _table()
        tokens = _TOKEN.findall(text)
        for n in (1, 2, 3):
            for i in range(len(tokens) - n + 1):
                gram = tokens[i : i + n]
                joined = "".join(gram) if all(_CJK.match(t) for t in gram) else " ".join(gram)
                out.add(f"c{n}:{joined}")
        syllables = []
        for tok in tokens:
            reading = table.get(tok) if _CJK.match(tok) else None
            syllables.append(reading[0] if reading else (tok if _CJK.match(tok) else _GAP))
    _grams(syllables, "p", "_", out, _GAP)
    words = [_stem(w) for w in _EN_WORD.findall(text)]
    for i, word in enumerate(words):
        out.add(f"w:{word}")
        if i:
            out.add(f"w2:{words[i - 1]}_{word}")
        framed = f"<{word}>"
        for n in (3, 4):
            for j in range(len(framed) - n + 1):
                out.add(f"e{n}:{framed[j : j + n]}")
    return out


@dataclass(frozen=True)
class Reading:
    probability: float  # that the message is an emergency
    category: str | None  # the likeliest category, when it escalates

    @property
    def escalate(self) -> bool:
        return self.probability >= THRESHOLD


WEIGHTS = _linear.Shipped(MODEL_FILE)
load = WEIGHTS.load  # another weights file from now on; the shipped one again when None


def warm_up() -> None:
    """Load the weights and the pinyin table now rather than on the first message."""
    WEIGHTS.get()
    _table()


def read(norm: str) -> Reading:
    """The model's reading of a normalised message."""
    found = WEIGHTS.get().score(features(norm), FEATURE_FLOOR, THRESHOLD)
    return Reading(found.probability, found.category)
