"""The scope a match is read in: a prohibition, hedge, condition or warning in its sentence
(``_Sentence``), and what the patient's message and the sentences around it say
(``_Answer``: a red flag, the populations named).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from safety.emergency import assess
from safety.guard.rules import _CJK_RE, _Rules, _Words

_CLAUSE_MARK_RE = re.compile(r"[，,：:、]")
# "先别吃了" (leave it for now) tells the patient to stop taking something; "就别停" and "先别停"
# stay prohibitions.
_PAUSE_RE = re.compile("(?:就先|先)别(?=[打吃用]了)")
# A list of things not to do: "Don't cut the wound, suck out venom or apply a tourniquet",
# "不要揉眼睛、用手挤或者自己涂药膏". The prohibition at the head of the sentence covers every
# item of the list when the list is closed by "or" (或, 、) and no item turns to something to
# do instead ("but", "instead", "call", 而是, 应该).
_PROHIBITION_HEAD_RE = re.compile(
    r"^\s*(?:[-*•]\s*|\d+[.)、]\s*)?"
    r"(?:don'?t|do not|never|avoid|try not to|不要|别|切勿|勿|禁止|不可以?|千万不要)"
)
# The same at the head of a later clause: "…，也不要…或…", "…, and don't … or …"
_CLAUSE_PROHIBITION_RE = re.compile(
    r"\s*(?:也|更|还|并且|同时|and\s+|also\s+)?"
    r"(?:don'?t|do not|never|avoid|try not to|不要|别|切勿|勿|禁止|不可以?|千万不要|千万别|不能)"
)
_LIST_OR_RE = re.compile(r"\b(?:or|nor)\b|或者?|、")
_TURN_RE = re.compile(
    r"\b(?:but|instead|rather|however|then|call|seek|go|take|give|use)\b|而是|但|应该?|要|请|可以|改为"
)
# After a match, in the same clause: the answer calls it wrong ("催吐是错误的"), names the harm
# it does ("搓和烤都会加重损伤", "this can make the burn worse"), or refuses to give it
# ("背后的提示词不方便透露").
_JUDGED_WRONG_RE = re.compile(
    r"^[^，,。.;；!?！？]{0,12}?(是错误的|是错的|不可取|不对|有害|很危险|危险|不科学|不正确|误区|"
    r"(是个?|只是)?(老说法|谣言|迷信)|\bis an? (myth|old wives'? tale)\b|"
    r"(会|可能|容易|反而|只会)[^，,。.;；!?！？]{0,4}(加重|更严重|损伤|感染|窒息|呛|耽误|坏死|伤害)|"
    r"(不方便|不能|无法|不会|不可以)(透露|展示|公开|告诉|分享|提供)|"
    r"\bis wrong\b|\bis dangerous\b|\bis a myth\b|\bis not advised\b|\bis harmful\b|"
    r"\bcan be dangerous\b|"
    r"\b(can|could|may|might|will|would)\b (make (it|things|them|the \w+) worse|"
    r"cause (more |further )?(damage|harm|injury|infection|choking)|damage|harm|injure))"
)


# Later in the sentence, a verdict on all that came before it: "……或者让他在冷风里冻一冻，都是错误
# 做法", "these are all myths".
_ALL_WRONG_RE = re.compile(
    r"(都|均|全都)(是|属于)?(错误|错的|不对|不可取|不科学|误区|民间(流传|偏方|说法)|老说法)"
    r"|\b(these|both|all of these|they) are (all )?(myths|wrong|dangerous|harmful)\b"
)


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
        read only when a rule needs it, and once. A sentence of the answer that forbids,
        warns or sends to the pharmacist first ("喝酒的人或有肝病的人，用药前请先问医生",
        "do not drink alcohol with it") names a population to protect it: the answer's
        neutral mention of the medicine elsewhere does not recommend it to them."""
        if self._joined is None:
            rules = self._rules
            self._joined = "\n".join(
                (
                    self._context.lower(),
                    *(
                        low
                        for low in (t.lower() for t in self._parts)
                        if rules.permit.search(low) is None and rules.warning.search(low) is None
                    ),
                )
            )
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
            self._listed_prohibition(m)
            or self.rules.permit.search(before + inside) is not None
            or self.rules.disowned.search(clause) is not None
            or (cls in self.rules.refused and self.rules.refused[cls].search(clause) is not None)
            or (cls != "false_reassurance" and self.rules.no_need.search(before) is not None)
            or self._judged_after(m)
        )

    def _judged_after(self, m: re.Match[str]) -> bool:
        """The answer judges the match wrong after it: in its clause ("催吐是错误的"), or
        later in the sentence of what it listed ("灌醋或者让他冻一冻，都是错误做法")."""
        rest = self._clause_after(m.end())
        return _JUDGED_WRONG_RE.search(rest) is not None or _ALL_WRONG_RE.search(rest) is not None

    def _listed_prohibition(self, m: re.Match[str]) -> bool:
        """An item of a list the sentence's head forbids (see ``_PROHIBITION_HEAD_RE``), or
        the head of its clause ("…，也不要在抽搐时把孩子泡进冷水或用冰块敷全身", "…，不能往嘴里
        灌糖水、塞糖块")."""
        head = _PROHIBITION_HEAD_RE.match(self.low)
        if head is not None and m.start() >= head.end():
            between = self.low[head.end() : m.start()]
            if (
                _TURN_RE.search(between) is None
                and _LIST_OR_RE.search(self.low, head.end()) is not None
            ):
                return True
        marks = [
            c.end() for c in _CLAUSE_MARK_RE.finditer(self.low, 0, m.start()) if c.group() != "、"
        ]
        if not marks:
            return False
        head = _CLAUSE_PROHIBITION_RE.match(self.low, marks[-1])
        if head is None or m.start() < head.end():
            return False
        between = self.low[head.end() : m.start()]
        return _TURN_RE.search(between) is None and _LIST_OR_RE.search(between) is not None

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


def _names(words: _Words, joined: str, present: Collection[str], rules: _Rules) -> bool:
    """Whether ``joined`` holds one of ``words``; not searched when none of the literals the
    pattern needs is ``present``."""
    literals = rules.factors.get(words.pattern) if words.pattern is not None else frozenset()
    if literals is not None and literals.isdisjoint(present):
        return False
    return words.search(joined) is not None
