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

The model adds an escalation the lexicon did not make (``emergency.assess``). It never clears
one: where it finds the lexicon's emergency very unlikely (a figure of speech, a past event,
a question about signs), the message is urgent instead, so the patient still hears the
emergency number, the model's own triage reads it, and the answer is guarded as a flagged one.

It is a file of weights, ``data/emergency_model.tsv``, built offline and shipped
(``python -m safety.build_models emergency --negatives weibo_ner_train.jsonl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safety import _linear
from safety.pinyin import _WORD_RE, _fold, _table, looks_like_pinyin, split_syllables

MODEL_FILE = "emergency_model.tsv"
# Probability at or above which the model's reading escalates (THRESHOLD), below which it
# doubts an emergency the lexicon found (DOUBT; the message is then urgent, not an emergency:
# ``assess``), and the same for an emergency found by one concept alone (DOUBT_ALONE: a rule of
# one term group, "窒息", "seizure", read by its scopes with less to go on than a composed one;
# self-harm keeps DOUBT, its phrases carry their intent and a bare statement of it is acted on).
# All chosen on the training sets by leaving one set out at a time (the Weibo posts always
# in; 6,855 messages, session 17). Composed rules: under 0.03 fell 27 of their 73 false alarms
# and 2 of their 1,955 emergencies; rules of one concept: under 0.2 fell 53 of 70 false alarms
# and 2 of 741 emergencies. With both doubts, escalating at 0.9 gave recall 0.942 and 2.0 %
# false alarms, 0.85 gave 0.954 and 2.2 %, 0.8 gave 0.965 and 2.6 % (the lexicon alone: 0.830
# and 4.0 %; session 16's reading, no doubt and 0.9: 0.943 and 4.2 %). 0.85, because below it
# the model began to escalate short clauses and denials on its own ("现在背上也湿透了", "she
# denies chest pain but has a cough" scored 0.82 to 0.85) and ordinary questions.
THRESHOLD = 0.85
DOUBT = 0.03
DOUBT_ALONE = 0.2
# Probability at or above which the model escalates a message whose emergency words the
# lexicon's scopes ruled out (negated, past, a question, fiction): the scopes misread it. Of
# such messages in the left-out sets (before set i), 20 of 462 were emergencies; at 0.95, 10 of
# them and none of the rest were escalated (the highest of the rest scored 0.85).
OVERRULE = 0.95
# A message with fewer known features is scored as if it had this many: a short message
# ("现在背上也湿透了") has too few pieces to be judged by them alone. Chosen with the
# builder's --report and the rate on short clauses of real patient questions.
FEATURE_FLOOR = 60
_CJK = re.compile("[\u4e00-\u9fff]")
_TOKEN = re.compile(r"[\u4e00-\u9fff]|[a-z0-9']+|[^\s\w]")
_EN_WORD = re.compile(r"[a-z']+")
_EN_SUFFIX = re.compile(r"(?:ing|ed|es|s|ly)$")
_GAP = "|"  # not Chinese: no syllable n-gram spans it
# A negation and what it governs, up to the end of its clause: "没有很痛", "denies chest pain".
# The words after one are also features of their own ("n1:痛", "nw:pain"), so the model can
# learn that a denied symptom is not the symptom (in normalised text Cantonese 冇 is 没有).
_NEGATED = re.compile(
    r"(?:没有|没|不是|并不|并没|否认|无|未|从未|从没)(?P<zh>[\u4e00-\u9fff]{1,6})"
    r"|\b(?:no|not|never|denies|denied|deny|without|don't|doesn't|didn't|isn't|wasn't|"
    r"haven't|hasn't|hadn't|nor)\b(?P<en>(?:\s+[a-z']+){1,4})"
)
_EN_CLAUSE_END = re.compile(r"\b(?:but|and|though|although|just|only)\b")


def _stem(word: str) -> str:
    """A crude English stem: "bleeding", "bleeds" -> "bleed" (words of five letters or more)."""
    return _EN_SUFFIX.sub("", word) if len(word) > 4 else word


def _is_cjk(token: str) -> bool:
    """Whether a token of ``_TOKEN`` is a Chinese character (its tokens are one character
    then, and no other kind of token starts with one)."""
    return "\u4e00" <= token[0] <= "\u9fff"


def _ngrams(seq: list[str], joined: list[bool], prefix: str, out: set[str]) -> None:
    """One-, two- and three-grams of ``seq``: ``{prefix}{n}:{pieces}``, joined without a
    space where ``joined`` holds for both neighbours, with one otherwise."""
    add = out.add
    count = len(seq)
    for i in range(count):
        add(f"{prefix}1:{seq[i]}")
    for i in range(count - 1):
        a, b = seq[i], seq[i + 1]
        add(f"{prefix}2:{a}{b}" if joined[i] and joined[i + 1] else f"{prefix}2:{a} {b}")
    for i in range(count - 2):
        a, b, c = seq[i], seq[i + 1], seq[i + 2]
        if joined[i] and joined[i + 1] and joined[i + 2]:
            add(f"{prefix}3:{a}{b}{c}")
        else:
            add(f"{prefix}3:{a} {b} {c}")


def _syllable_grams(syllables: list[str], out: set[str]) -> None:
    """One- to three-grams of pinyin syllables, none across a gap: ``p{n}:a_b_c``."""
    add = out.add
    count = len(syllables)
    for i in range(count):
        s1 = syllables[i]
        if s1 == _GAP:
            continue
        add(f"p1:{s1}")
        if i + 1 < count and (s2 := syllables[i + 1]) != _GAP:
            add(f"p2:{s1}_{s2}")
            if i + 2 < count and (s3 := syllables[i + 2]) != _GAP:
                add(f"p3:{s1}_{s2}_{s3}")


def _negated(text: str, out: set[str]) -> None:
    """Features of what a negation governs: its characters and character pairs ("n1:", "n2:"),
    and its English word stems ("nw:"), up to "but", "and" and the like."""
    add = out.add
    for m in _NEGATED.finditer(text):
        if (zh := m.group("zh")) is not None:
            for i, ch in enumerate(zh):
                add(f"n1:{ch}")
                if i:
                    add(f"n2:{zh[i - 1]}{ch}")
        else:
            governed = _EN_CLAUSE_END.split(m.group("en"), maxsplit=1)[0]
            for word in _EN_WORD.findall(governed):
                add(f"nw:{_stem(word)}")


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
        cjk = [_is_cjk(t) for t in tokens]
        _ngrams(tokens, cjk, "c", out)
        syllables = []
        for tok, chinese in zip(tokens, cjk, strict=True):
            if chinese:
                reading = table.get(tok)
                syllables.append(reading[0] if reading else tok)
            else:
                syllables.append(_GAP)
    _syllable_grams(syllables, out)
    _negated(text, out)
    words = [_stem(w) for w in _EN_WORD.findall(text)]
    add = out.add
    for i, word in enumerate(words):
        add(f"w:{word}")
        if i:
            add(f"w2:{words[i - 1]}_{word}")
        framed = f"<{word}>"
        for j in range(len(framed) - 2):
            add(f"e3:{framed[j : j + 3]}")
        for j in range(len(framed) - 3):
            add(f"e4:{framed[j : j + 4]}")
    return out


@dataclass(frozen=True)
class Reading:
    probability: float  # that the message is an emergency
    category: str | None  # the likeliest category, when it escalates
    known: bool = True  # whether the message had any feature the model knows

    @property
    def escalate(self) -> bool:
        return self.probability >= THRESHOLD

    @property
    def overrules(self) -> bool:
        return self.probability >= OVERRULE

    def doubts(self, alone: bool) -> bool:
        """Whether the model doubts a lexicon emergency found by one concept (``alone``) or
        by a composed rule."""
        return self.known and self.probability < (DOUBT_ALONE if alone else DOUBT)


WEIGHTS = _linear.Shipped(MODEL_FILE)
load = WEIGHTS.load  # another weights file from now on; the shipped one again when None


def warm_up() -> None:
    """Load the weights and the pinyin table now rather than on the first message."""
    WEIGHTS.get()
    _table()


def read(norm: str) -> Reading:
    """The model's reading of a normalised message."""
    found = WEIGHTS.get().score(features(norm), FEATURE_FLOOR, THRESHOLD)
    return Reading(found.probability, found.category, found.known)
