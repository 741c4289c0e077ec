"""Output guard: the last step before a model answer reaches a patient.

The guard judges sentences and never edits words inside them: rewriting "一定是" inside
"不一定是" once turned a careful answer into false reassurance. It strips reasoning remnants,
splits the answer into sentences, and gives each the classes of ``data/guard_rules.toml``
whose patterns it matches, read with their scope (a prohibition or a hedge before a match
turns it around: "不要催吐", "不一定是恶性的"), plus contraindications from
``data/contraindications.toml`` (a medicine recommended while the answer or the patient's
message names a population it is not for). An offending sentence is dropped whole, with one
short note where it helps. When a dangerous class appears, or too little is left, the answer
is withheld: ``GuardResult.withheld`` with its ``reasons``; ``text`` is still what the patient
would see if it were sent. An answer that names an emergency gets the call-now line. The
length is capped on a sentence boundary and the disclaimer appended exactly once.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Collection, Container, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Any

import ahocorasick

from safety import _text, guard_model
from safety.emergency import assess
from safety.emergency.factors import _pattern_factors
from safety.pii import PLACEHOLDER_RE, identifiers

RULES_FILE = "guard_rules.toml"
CONTRAINDICATIONS_FILE = "contraindications.toml"
DISCLAIMER_SEPARATOR = "\n\n"
ELLIPSIS = "…"
CLASSES = (
    "false_certainty",
    "false_reassurance",
    "dosing",
    "stop_medicine",
    "dangerous_first_aid",
    "identity",
    "system_leak",
)

_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)
# A sentence ends at 。！？!?；; a newline, or a full stop before a space or the end.
_ABBREVIATION = "".join(
    rf"(?<!\b{a})"
    for a in ("[Dd]r", "[Mm]r", "[Mm]rs", "[Mm]s", "Prof", r"e\.g", r"i\.e", "etc", "vs")
)
_SENTENCE_RE = re.compile(
    r"[^。！？!?；;\n]*?(?:[。！？!?；;]+|" + _ABBREVIATION + r"\.(?=\s|$)|\n|$)"
)
_CLAUSE_MARK_RE = re.compile(r"[，,：:、]")
_LIST_MARK_RE = re.compile(r"(\d{1,2}[.)、]|[-*•])")
_SENTENCE_END_RE = re.compile(r"[。！？!?；;\n]|" + _ABBREVIATION + r"[.](?=\s|$)")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([，。！？、,.!?;；:])")
_CJK_RE = re.compile("[\u4e00-\u9fff]")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(
    r"(?<![\d])(?:\+?\d{1,3}[\s-]?)?(?:1[3-9]\d{9}|0\d{2,3}[\s-]?\d{7,8}|\(?\d{3}\)?[\s-]\d{3}[\s-]\d{4}|400[\s-]?\d{3}[\s-]?\d{4})(?![\d])"
)
_HANDLE_RE = re.compile(
    r"(?:微信|微信号|wechat|qq|whatsapp|telegram)[^，,。.]{0,4}?[:：]?\s*[A-Za-z0-9_-]{5,}"
    r"|\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|cn|net|org)\b",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d{3}")
# "先别吃了" (leave it for now) tells the patient to stop taking something; "就别停" and "先别停"
# stay prohibitions.
_PAUSE_RE = re.compile("(?:就先|先)别(?=[打吃用]了)")
# Where the masker's own detectors read a sentence too: seven digits or more in a run (a
# phone or record number; a dose never has so many), or an "@".
_IDENTIFIER_HINT_RE = re.compile(r"(?:\d[\s()+-]?){7,}|@")
# A Chinese ID number's shape (birth date inside), checksum or not: never the answer's to give.
_ID_SHAPE_RE = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dxX](?!\d)")
# A template's slot the model left unfilled: <FIRST_NAME>, <患者姓名>, {name}, [DATE_1].
_TEMPLATE_SLOT_RE = re.compile(
    r"<[A-Z][A-Z0-9_]{2,}>|<[\u4e00-\u9fff]{2,8}>|\{[a-z][a-z0-9_]{1,30}\}"
    r"|\[[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\]|\[[A-Z]{3,}\]"
)
_DIGIT_RE = re.compile(r"\d")
_HANDLE_WORDS = (
    *("微信", "wechat", "qq", "whatsapp", "telegram", "http", "www."),
    *(".com", ".cn", ".net", ".org"),
)
_ADDRESS_RE = re.compile(
    r"[\u4e00-\u9fff]{2,12}(?:路|街|大道|巷|胡同)[0-9一二三四五六七八九十百]+号"
    r"|\b\d{1,5}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s+(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd)\b"
)
# After a match, in the same clause: the answer calls it wrong ("催吐是错误的").
_JUDGED_WRONG_RE = re.compile(
    r"^[^，,。.;；!?！？]{0,12}?(是错误的|是错的|不可取|不对|有害|很危险|危险|不科学|不正确|误区|"
    r"\bis wrong\b|\bis dangerous\b|\bis a myth\b|\bis not advised\b|\bis harmful\b|"
    r"\bcan be dangerous\b)"
)


@dataclass(frozen=True)
class GuardResult:
    text: str
    changes: tuple[str, ...]
    withheld: bool = False
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Words:
    """A list of words from a data file, found in text: Chinese anywhere, English as whole
    words (a final "*" takes any ending), "re:" entries as regular expressions."""

    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, words: Iterable[str]) -> _Words:
        parts: list[str] = []
        prefixes: list[str] = []
        whole: list[str] = []
        for word in words:
            if word.startswith("re:"):
                parts.append(f"(?:{word[3:]})")
            elif _CJK_RE.search(word) or not re.match(r"[a-z]", word):
                parts.append(re.escape(word))
            elif word.endswith("*"):
                prefixes.append(re.escape(word[:-1]))
            else:
                whole.append(re.escape(word))
        # English words share one word-boundary test: far fewer steps per position than one
        # alternative each.
        if prefixes:
            parts.append(rf"\b(?:{'|'.join(prefixes)})")
        if whole:
            parts.append(rf"\b(?:{'|'.join(whole)})(?:s|es)?\b")
        return cls(re.compile("|".join(parts)) if parts else None)

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.pattern is not None else None

    def finditer(self, text: str) -> Iterable[re.Match[str]]:
        return self.pattern.finditer(text) if self.pattern is not None else ()


@dataclass(frozen=True)
class _Contraindication:
    id: str
    drugs: _Words
    who: tuple[str, ...]


@dataclass(frozen=True)
class _Compose:
    """A class told by what a sentence puts together rather than by one phrase: every group
    of words found in it (an action and what it is done to), the first not under a
    prohibition. A group listed in ``anywhere`` may be named anywhere in the answer or the
    patient's message (the situation: a seizure, someone unconscious)."""

    name: str
    cls: str
    groups: tuple[_Words, ...]
    anywhere: frozenset[int]


@dataclass(frozen=True)
class _Rules:
    classes: dict[str, tuple[re.Pattern[str], ...]]
    red_flag_reassurance: tuple[re.Pattern[str], ...]
    # Literals one of which each pattern's every match contains, found in one pass over an
    # answer: a pattern none of whose literals occurs is not run (most are not).
    factors: dict[re.Pattern[str], frozenset[str] | None]
    # The same, inverted: the patterns each literal lets run, and those that always run.
    by_literal: dict[str, frozenset[re.Pattern[str]]]
    always: frozenset[re.Pattern[str]]
    finder: Any
    unless: dict[str, _Words]
    permit: _Words
    hedge: _Words
    condition: _Words
    warning: _Words
    undecided: _Words
    no_need: _Words
    disowned: _Words
    window: dict[str, int]
    withhold: frozenset[str]
    min_kept_share: float
    notes: dict[str, dict[str, str]]
    emergency_names: re.Pattern[str]
    call_now: re.Pattern[str]
    populations: dict[str, _Words]
    contraindications: tuple[_Contraindication, ...]
    compose: tuple[_Compose, ...] = ()


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    with _text.data_path(RULES_FILE).open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    with _text.data_path(CONTRAINDICATIONS_FILE).open("rb") as fh:
        table: dict[str, Any] = tomllib.load(fh)
    classes = {
        name: tuple(
            re.compile(p) for lang in ("zh", "en") for p in data["class"][name].get(lang, [])
        )
        for name in CLASSES
    }
    reassurance = data["class"]["false_reassurance"]
    red_flag_reassurance = tuple(
        re.compile(p) for p in (*reassurance["red_flag_zh"], *reassurance["red_flag_en"])
    )
    contraindications = tuple(
        _Contraindication(r["id"], _Words.of(r["drugs"]), tuple(r["who"])) for r in table["rule"]
    )
    compose = tuple(
        _Compose(
            c["name"],
            c["class"],
            tuple(_Words.of(group) for group in c["all"]),
            frozenset(c.get("anywhere", [])),
        )
        for c in data.get("compose", [])
    )
    populations = {k: _Words.of(v) for k, v in table["population"].items()}
    factors = {
        p: _pattern_factors(p)
        for p in (
            *red_flag_reassurance,
            *(c.groups[0].pattern for c in compose if c.groups[0].pattern is not None),
            *(p for ps in classes.values() for p in ps),
            *(r.drugs.pattern for r in contraindications if r.drugs.pattern is not None),
            *(w.pattern for w in populations.values() if w.pattern is not None),
        )
    }
    finder = ahocorasick.Automaton()
    for literal in {f for fs in factors.values() for f in (fs or ())}:
        finder.add_word(literal, literal)
    finder.make_automaton()
    by_literal: dict[str, set[re.Pattern[str]]] = {}
    for p, fs in factors.items():
        for f in fs or ():
            by_literal.setdefault(f, set()).add(p)
    unless = {
        name: _Words.of(data["class"][name].get("unless", []))
        for name in CLASSES
        if data["class"][name].get("unless")
    }

    def both(key: str) -> _Words:
        return _Words.of([*data[key]["zh"], *data[key]["en"]])

    names = data["emergency_names"]
    return _Rules(
        classes=classes,
        red_flag_reassurance=red_flag_reassurance,
        factors=factors,
        by_literal={k: frozenset(v) for k, v in by_literal.items()},
        always=frozenset(p for p, fs in factors.items() if fs is None),
        finder=finder,
        unless=unless,
        permit=both("permit"),
        hedge=both("hedge"),
        condition=both("condition"),
        warning=both("warning"),
        undecided=both("undecided"),
        no_need=both("no_need"),
        disowned=both("disowned"),
        window=dict(data["permit"]["window"]),
        withhold=frozenset(data["withhold"]),
        min_kept_share=float(data["min_kept_share"]),
        notes={k: dict(v) for k, v in data["notes"].items()},
        emergency_names=re.compile(f"{names['zh']}|{names['en']}"),
        call_now=re.compile(f"{names['call_now']['zh']}|{names['call_now']['en']}"),
        populations=populations,
        contraindications=contraindications,
        compose=compose,
    )


def _strip_think(text: str) -> str:
    text = _THINK_BLOCK_RE.sub("", text)
    text = _THINK_CLOSE_RE.sub("", text)  # a closing tag whose opening was cut off
    return _THINK_OPEN_RE.sub("", text)  # an opening tag never closed


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _SPACES_RE.sub(" ", text))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = 0
    for m in _SENTENCE_END_RE.finditer(text):
        if m.end() > max_chars:
            break
        cut = m.end()
    if cut == 0:
        return text[: max(0, max_chars - len(ELLIPSIS))].rstrip() + ELLIPSIS
    return text[:cut].rstrip()


def guard_notes() -> frozenset[str]:
    """Every sentence the guard itself may add (notes and the call-now line)."""
    return frozenset(text for note in _rules().notes.values() for text in note.values())


def sentences(text: str) -> list[str]:
    """The answer cut into sentences, each with its closing punctuation; joined, the text."""
    return [m.group() for m in _SENTENCE_RE.finditer(text) if m.group()]


def complete_part(text: str) -> str:
    """The answer up to its last finished sentence: what a draft may show of it."""
    cut = 0
    for m in _SENTENCE_END_RE.finditer(text):
        cut = m.end()
    return text[:cut]


class _Answer:
    """What the patient's message and the sentences around a claim say, read only when a
    sentence needs it (most answers never do): a red flag, and the populations named."""

    # Sentences each side of a reassurance read for a red flag: the symptom it answers is
    # named close by, and reading the whole answer would cost most of the guard's time.
    RED_FLAG_REACH = 2

    def __init__(
        self,
        parts: list[str],
        context: str,
        lang: str,
        rules: _Rules,
        context_flagged: bool | None = None,
    ) -> None:
        self._parts = parts
        self._context = context
        self._lang = lang
        self._rules = rules
        self._context_flag = context_flagged
        self._flags: dict[int, bool] = {}
        self._joined: str | None = None
        self._present: set[str] = set()
        self._population: dict[str, bool] = {}

    def _flagged(self, text: str, *, as_written: bool) -> bool:
        """Names an emergency or urgent finding. The model's own sentences are read as
        written; the patient's message also in the readings for typos and pinyin."""
        return bool(text) and assess(text, self._lang, as_written=as_written).level != "none"

    def red_flag(self, idx: int) -> bool:
        """The patient's message, or the answer near sentence ``idx``, names an emergency or
        urgent finding: then reassurance is unsafe even when it is conditional or ends by
        mentioning a doctor."""
        if self._context_flag is None:
            self._context_flag = self._flagged(self._context, as_written=False)
        if self._context_flag:
            return True
        lo, hi = (
            max(0, idx - self.RED_FLAG_REACH),
            min(len(self._parts), idx + self.RED_FLAG_REACH + 1),
        )
        for j in range(lo, hi):
            if j not in self._flags:
                self._flags[j] = self._flagged(self._parts[j], as_written=True)
            if self._flags[j]:
                return True
        return False

    def names(self, words: _Words) -> bool:
        """The patient's message or any sentence of the answer names one of ``words``."""
        return any(words.search(t.lower()) is not None for t in (self._context, *self._parts))

    def names_population(self, who: Iterable[str]) -> bool:
        """The patient's message or the answer names one of the populations ``who``: each
        read only when a rule needs it, and once."""
        if self._joined is None:
            self._joined = "\n".join(t.lower() for t in (self._context, *self._parts))
            self._present = (
                {literal for _end, literal in self._rules.finder.iter(self._joined)}
                if self._joined
                else set()
            )
        for name in who:
            if name not in self._population:
                self._population[name] = _names(
                    self._rules.populations[name], self._joined, self._present, self._rules
                )
            if self._population[name]:
                return True
        return False


class _Sentence:
    """One sentence, lowercased, with the scope checks its matches need."""

    def __init__(self, text: str, rules: _Rules, answer: _Answer, idx: int) -> None:
        self.text = text
        self.idx = idx
        self.low = text.lower()
        self.rules = rules
        self.answer = answer

    def _clause_before(self, start: int) -> str:
        marks = [m.end() for m in _CLAUSE_MARK_RE.finditer(self.low, 0, start)]
        lo = marks[-1] if marks else 0
        window = self.rules.window["zh" if _CJK_RE.match(self.low, start) else "en"]
        return self.low[max(lo, start - window) : start]

    def _clause_after(self, end: int) -> str:
        return self.low[end:]

    def prohibited(self, m: re.Match[str], cls: str = "") -> bool:
        """A prohibition before the match or inside it, or a judgement of it after it. For
        every class but reassurance, "no need" before it is one too ("一般不需要酒精擦浴");
        for reassurance "no need" is what is said."""
        before = self._clause_before(m.start())
        # Inside a Chinese match too ("降压药不能自己停"); an English pattern may hold its own
        # negation ("you don't need to see a doctor").
        inside = m.group() if _CJK_RE.search(m.group()) else ""
        inside = _PAUSE_RE.sub("", inside)
        marks = [c.end() for c in _CLAUSE_MARK_RE.finditer(self.low, 0, m.start())]
        clause = self.low[marks[-1] if marks else 0 : m.start()]
        return (
            self.rules.permit.search(before + inside) is not None
            or self.rules.disowned.search(clause) is not None
            or (cls != "false_reassurance" and self.rules.no_need.search(before) is not None)
            or _JUDGED_WRONG_RE.search(self._clause_after(m.end())) is not None
        )

    def red_flag_reassurance(self, m: re.Match[str]) -> bool:
        unless = self.rules.unless.get("false_reassurance")
        rest = f"{self.low[: m.start()]} {self.low[m.end() :]}"
        return not self.prohibited(m, "false_reassurance") and (
            unless is None or not unless.search(rest)
        )

    def counts(self, name: str, m: re.Match[str]) -> bool:
        if self.prohibited(m, name):
            return False
        unless = self.rules.unless.get(name)
        if unless is not None and unless.search(f"{self.low[: m.start()]} {self.low[m.end() :]}"):
            # the rest of the sentence makes it advice ("…，加重请就医"), unless it answers a
            # red flag: then even conditional reassurance is unsafe
            return name == "false_reassurance" and self.answer.red_flag(self.idx)
        if name == "false_certainty":
            return self.rules.hedge.search(self._clause_before(m.start())) is None
        if name == "false_reassurance":
            # the red flag is read last: it costs an emergency check of nearby sentences
            return self.rules.condition.search(self.low) is None or self.answer.red_flag(self.idx)
        return True

    def recommends(self, drugs: _Words) -> bool:
        """Names one of ``drugs`` without forbidding it, without leaving it open in its clause
        ("they'll decide if antibiotics are needed") and without warning of its
        harm ("与瑞氏综合征有关")."""
        rules = self.rules
        if self.low.lstrip().startswith("#"):
            return False  # a heading names a subject
        return (
            any(
                not self.prohibited(m)
                and rules.undecided.search(self._clause_before(m.start())) is None
                for m in drugs.finditer(self.low)
            )
            and rules.permit.search(self.low) is None
            and rules.warning.search(self.low) is None
        )


def _classify(
    judged: list[_Sentence], rules: _Rules, answer: _Answer
) -> tuple[list[set[str]], list[bool]]:
    """The classes of every sentence, and whether a class's words in it were ruled out by
    their scope (a prohibition, a hedge, a condition, a warning: "not definitely benign").
    Each pattern runs once over the whole answer (a pass per sentence would cost a call per
    pattern and sentence); a match is then read in the sentence where it starts, and must
    lie within it."""
    low = "".join(s.low for s in judged)
    starts: list[int] = []
    at = 0
    for sentence in judged:
        starts.append(at)
        at += len(sentence.low)
    found: list[set[str]] = [set() for _ in judged]
    ruled_out = [False] * len(judged)
    # the patterns that may match: those one of whose literals the answer holds
    live = set(rules.always)
    for literal in {literal for _end, literal in rules.finder.iter(low)} if low else ():
        live.update(rules.by_literal[literal])

    def local(pattern: re.Pattern[str], m: re.Match[str]) -> tuple[int, re.Match[str]] | None:
        idx = bisect_right(starts, m.start()) - 1
        inner = pattern.match(judged[idx].low, m.start() - starts[idx])
        return (idx, inner) if inner is not None else None

    for name, patterns in rules.classes.items():
        for pattern in patterns:
            if pattern not in live:
                continue
            for m in pattern.finditer(low):
                hit = local(pattern, m)
                if hit is None or name in found[hit[0]]:
                    continue
                if judged[hit[0]].counts(name, hit[1]):
                    found[hit[0]].add(name)
                else:
                    ruled_out[hit[0]] = True
    for rule in rules.contraindications:
        if rule.drugs.pattern is None or rule.drugs.pattern not in live:
            continue
        for m in rule.drugs.pattern.finditer(low):
            if not answer.names_population(rule.who):
                break
            idx = bisect_right(starts, m.start()) - 1
            if "contraindication" in found[idx]:
                continue
            if judged[idx].recommends(rule.drugs):
                found[idx].add("contraindication")
            else:
                ruled_out[idx] = True
    for combo in rules.compose:
        first = combo.groups[0].pattern
        if first is None or first not in live:
            continue
        tried: set[int] = set()  # the sentences whose other groups were read
        for m in first.finditer(low):
            idx = bisect_right(starts, m.start()) - 1
            sentence = judged[idx]
            if combo.cls in found[idx] or m.end() > starts[idx] + len(sentence.low):
                continue
            inner = first.match(sentence.low, m.start() - starts[idx])
            if inner is None or idx in tried:
                continue
            if sentence.prohibited(inner, combo.cls):
                ruled_out[idx] = True
                continue
            tried.add(idx)
            unless = rules.unless.get(combo.cls)
            if unless is not None and unless.search(sentence.low) is not None:
                continue
            if all(
                group.search(sentence.low) is not None
                or (k in combo.anywhere and answer.names(group))
                for k, group in enumerate(combo.groups[1:], start=1)
            ):
                found[idx].add(combo.cls)
    for pattern in rules.red_flag_reassurance:
        if pattern not in live:
            continue
        for m in pattern.finditer(low):
            hit = local(pattern, m)
            if hit is None or "false_reassurance" in found[hit[0]]:
                continue
            if not judged[hit[0]].red_flag_reassurance(hit[1]):
                ruled_out[hit[0]] = True
            elif answer.red_flag(hit[0]):
                found[hit[0]].add("false_reassurance")
    return found, ruled_out


def _learned_classes(
    judged: list[_Sentence],
    classified: list[set[str]],
    ruled_out: list[bool],
    answer: _Answer,
    reasons: list[str],
    allowed: Collection[str],
) -> None:
    """The learned model's classes for sentences the rules neither flagged nor ruled out by
    scope; reassurance only where the rules would also call it unsafe: beside a red flag.
    The model reads a sentence without the patient's own placeholders and the contacts the
    answer may give: whose they are is the rules' business, not a shape it can tell."""
    for idx, (sentence, found) in enumerate(zip(judged, classified, strict=True)):
        if found or ruled_out[idx]:
            continue
        text = PLACEHOLDER_RE.sub("", sentence.text)
        for value in allowed:
            text = text.replace(value, "")
        reading = guard_model.read(text)
        if not reading.flagged or reading.category is None:
            continue
        cls = guard_model.guard_class(reading.category)
        if cls == "false_reassurance" and not answer.red_flag(idx):
            continue
        found.add(cls)
        if "learned" not in reasons:
            reasons.append("learned")


def _names(words: _Words, joined: str, present: Collection[str], rules: _Rules) -> bool:
    """Whether ``joined`` holds one of ``words``; not searched when none of the literals the
    pattern needs is ``present``."""
    literals = rules.factors.get(words.pattern) if words.pattern is not None else frozenset()
    if literals is not None and literals.isdisjoint(present):
        return False
    return words.search(joined) is not None


def _contacts(parts: list[str], allowed: Collection[str]) -> list[int]:
    """Where the answer (its sentences, ``parts``) gives a phone number, e-mail, street
    address, handle or web address the patient did not give and the hospital does not publish
    (``allowed``): start offsets."""
    text = "".join(parts)
    # Each pattern runs only where the text holds what every one of its matches needs (an
    # "@", three digits, a 号 or a digit, a handle's word or a web suffix): most answers hold
    # none, and the address and handle patterns are slow to run over plain prose.
    low = text.lower()
    three_digits = _DIGITS_RE.search(text) is not None
    found = (
        *(_EMAIL_RE.finditer(text) if "@" in text else ()),
        *(_PHONE_RE.finditer(text) if three_digits else ()),
        *(_ADDRESS_RE.finditer(text) if "号" in text or _DIGIT_RE.search(text) else ()),
        *(_HANDLE_RE.finditer(text) if any(w in low for w in _HANDLE_WORDS) else ()),
    )
    starts: list[int] = []
    for m in found:
        if not _allowed(m.group(), allowed):
            starts.append(m.start())
    if three_digits or "@" in text:
        # A second, independent reading: the masker's detectors (phone numbers of any
        # country, record numbers, addresses), sentence by sentence where one may be.
        at = 0
        for part in parts:
            if _IDENTIFIER_HINT_RE.search(part) and any(
                not _allowed(value, allowed) for _kind, value in identifiers(part)
            ):
                starts.append(at)
            at += len(part)
        starts.extend(m.start() for m in _ID_SHAPE_RE.finditer(text))
    return starts


def _allowed(value: str, allowed: Collection[str]) -> bool:
    digits = re.sub(r"\D", "", value)
    return any(
        value in a or value.lower() in a.lower() or (digits and digits == re.sub(r"\D", "", a))
        for a in allowed
    )


def guard(
    text: str,
    *,
    lang: str,
    disclaimer: str,
    known: Container[str],
    max_chars: int,
    context: str = "",
    allowed: Collection[str] = (),
    context_flagged: bool | None = None,
    learned: bool = True,
) -> GuardResult:
    """Make a model answer safe to send; ``max_chars`` bounds the body (not the disclaimer).

    ``known``: placeholders that may stay (the patient's own, restored later); ``context``:
    the patient's (masked) message, read for the population a medicine is for; ``allowed``:
    contact details the answer may give (the hospital's); ``context_flagged``: whether the
    emergency check found an emergency or urgent finding in ``context``, when the caller has
    already run it (the dispatcher has), else the guard runs it when it needs to know.

    A sentence no rule flags is read by the learned model (``safety.guard_model``); at its
    threshold it gets the model's class and is treated as that class (reason ``learned`` is
    added too). ``learned=False`` leaves the model out (to measure the rules alone)."""
    rules = _rules()
    changes: list[str] = []
    reasons: list[str] = []
    note_lang = lang if lang in ("zh", "en") else "en"

    body = _strip_think(text)
    if body != text:
        changes.append("think")
    had_disclaimer = bool(disclaimer) and disclaimer in body
    if disclaimer:
        body = body.replace(disclaimer, "")

    parts = sentences(body)
    answer = _Answer(parts, context, lang, rules, context_flagged)
    judged = [_Sentence(s, rules, answer, i) for i, s in enumerate(parts)]
    kept: list[str] = []
    kept_chars = 0
    notes: list[str] = []
    classified, ruled_out = _classify(judged, rules, answer)
    offsets = list(accumulate((len(p) for p in parts), initial=0))
    for at in _contacts(parts, allowed):
        classified[bisect_right(offsets, at) - 1].add("contact")
    for m in (*PLACEHOLDER_RE.finditer(body), *_TEMPLATE_SLOT_RE.finditer(body)):
        if m.group() not in known:
            classified[bisect_right(offsets, m.start()) - 1].add("leaked_placeholder")
    if learned:
        _learned_classes(judged, classified, ruled_out, answer, reasons, allowed)
    for sentence, found in zip(judged, classified, strict=True):
        if not found:
            kept.append(sentence.text)
            kept_chars += len(sentence.text.strip())
            continue
        for name in sorted(found):
            if name not in reasons:
                reasons.append(name)
            # One short note in place of what was dropped, where it helps.
            note = rules.notes.get(name, {}).get(note_lang)
            if note and note not in notes:
                notes.append(note)
                # set apart from an English sentence kept before it ("…raise it. Only a…")
                # and from a list number left standing ("3." of the item it replaces)
                lead = (
                    " "
                    if kept
                    and not kept[-1][-1:].isspace()
                    and (note.isascii() or _LIST_MARK_RE.fullmatch(kept[-1].strip()))
                    else ""
                )
                kept.append(lead + note + ("\n" if sentence.text.endswith("\n") else ""))
    changes.extend(reasons)

    body = _tidy("".join(kept))
    content = sum(len(s.text.strip()) for s in judged)
    withheld = bool(rules.withhold.intersection(reasons))
    if reasons and content and kept_chars / content < rules.min_kept_share:
        withheld = True
        reasons.append("too_little_left")

    if rules.emergency_names.search(body.lower()) and not rules.call_now.search(body.lower()):
        line = rules.notes["emergency_line"][note_lang]
        body = f"{body}\n{line}" if body else line
        changes.append("emergency_line")

    capped = _cap(body, max_chars)
    if capped != body:
        changes.append("length")
        body = capped

    if disclaimer:
        if not had_disclaimer or not text.rstrip().endswith(disclaimer):
            changes.append("disclaimer")
        body = f"{body}{DISCLAIMER_SEPARATOR}{disclaimer}" if body else disclaimer
    return GuardResult(body, tuple(changes), withheld, tuple(reasons))
