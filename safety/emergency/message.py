"""One message as the rules read it: its clauses, sentences and tokens, and the scopes a
hit is read in (negated, resolved, past, hypothetical, a figure of speech, a general
information question).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from safety import _text
from safety.emergency.lexicon import _Context, _Lexicon, _Rule
from safety.emergency.terms import _Term

_PUNCT_CLAUSE = r"[，,。！!？?；;\n]|(?<!\d)\.|\.(?!\d)|\s(?:but|however|although|though|whereas)\b"
# Chat Chinese often uses a space where writing would put a comma ("胸口痛 出冷汗"): a space
# between two Chinese characters ends a clause for time, hypothetical and veto cues. A
# negation still reads across it ("我没有 胸痛"), up to punctuation.
_CLAUSE_RE = re.compile(_PUNCT_CLAUSE + r"|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_NEGATION_SCOPE_RE = re.compile(_PUNCT_CLAUSE)
_SENTENCE_END_RE = re.compile(r"[。！!？?\n]|(?<!\d)\.(?!\d)")
_AFTER_WINDOW = 40
# Words for the negation scan; quotes around a word ("'denies") are not part of it.
_EN_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Scripts present in a normalised message decide which language's rules apply.
_CJK_CHAR_RE = re.compile("[\u4e00-\u9fff]")
_LATIN_CHAR_RE = re.compile("[a-z]")
_LATIN_WORD_RE = re.compile(r"\b[a-z]{3,}\b")


class _Message:
    """Per-message state shared by all rules: normalised text, clauses, tokens, cue flags."""

    def __init__(self, norm: str, lex: _Lexicon, present: frozenset[str]) -> None:
        self.norm = norm
        self.lex = lex
        self.present = present
        cuts = [0]
        for m in _CLAUSE_RE.finditer(norm):
            cuts.append(m.start())
            cuts.append(m.end())
        cuts.append(len(norm))
        self.clause_starts = cuts[0::2]
        self.clause_ends = cuts[1::2]
        self.scope_starts = [0, *(m.end() for m in _NEGATION_SCOPE_RE.finditer(norm))]
        sents = [0]
        for m in _SENTENCE_END_RE.finditer(norm):
            sents.append(m.end())
        self.sentence_starts = sents
        self.stretches = _text.Stretches(norm)  # segmented only where a term is checked
        self._hits: dict[str, list[tuple[int, int]]] = {}
        self._clause_flags: dict[tuple[str, int], tuple[bool, bool, bool]] = {}
        self._info: dict[str, bool] = {}
        self._figures: dict[str, list[tuple[int, int]]] = {}
        # A message in both scripts ("what are the signs of 一氧化碳中毒", "I had suicidal
        # thoughts 两年前"): its context cues count in either language.
        self.langs: dict[str, tuple[str, ...]] = (
            {"zh": ("zh", "en"), "en": ("en", "zh")}
            if _CJK_CHAR_RE.search(norm) and _LATIN_WORD_RE.search(norm)
            else {"zh": ("zh",), "en": ("en",)}
        )

    def info(self, lang: str) -> bool:
        """Is the message a general information question (for rules of ``lang``)?"""
        found = self._info.get(lang)
        if found is None:
            found = self._info[lang] = any(
                self._is_info(self.lex.context[each]) for each in self.langs[lang]
            )
        return found

    def _is_info(self, ctx: _Context) -> bool:
        """An information question, with nothing personal outside the question and outside
        sentences about something seen or read ("昨天刷到一个科普视频" is not a patient)."""
        if not ctx.info_cue.search(self.norm):
            return False
        ends = [*self.sentence_starts[1:], len(self.norm)]
        lived = " ".join(
            self.norm[lo:hi]
            for lo, hi in zip(self.sentence_starts, ends, strict=True)
            if ctx.fiction is None or not ctx.fiction.search(self.norm, lo, hi)
        )
        rest = ctx.info_cue.sub(" ", ctx.info_strip.sub(" ", lived))
        return not ctx.personal.search(rest)

    def clause_of(self, pos: int) -> int:
        return max(0, bisect_right(self.clause_starts, pos) - 1)

    def clause_text(self, idx: int) -> str:
        return self.norm[self.clause_starts[idx] : self.clause_ends[idx]]

    def flags(self, lang: str, idx: int) -> tuple[bool, bool, bool]:
        """(historical, hypothetical, past) for clause ``idx``: ``past`` is ``historical``
        with habits ("经常", "often") left out. A sentence about something seen on television
        or in a story counts as hypothetical.

        Time cues scope forward: the nearest cue at or before the clause, within its sentence,
        decides ("三年前心梗，今天胸口痛" keeps today's pain live; "今天胸口痛，之前有高血压"
        does not make it old). An event the sentence says was already seen to ("送到医院",
        "医生说是…") is historical wherever the cue stands, unless the clause says "now".
        """
        found = [(each, self._flags_in(each, idx)) for each in self.langs[lang]]
        # Chinese time cues (两年前, 小时候) date an English finding; English ones ("had a")
        # are too loose to date a Chinese one ("we just had a 车祸").
        dated = [f for each, f in found if each == lang or each == "zh"]
        return (
            any(f[0] for f in dated),
            any(f[1] for _, f in found),
            any(f[2] for f in dated),
        )

    def _flags_in(self, lang: str, idx: int) -> tuple[bool, bool, bool]:
        """``flags`` by the cues of one language."""
        key = (lang, idx)
        if key not in self._clause_flags:
            ctx = self.lex.context[lang]
            text = self.clause_text(idx)
            start = self.clause_starts[idx]
            si = max(0, bisect_right(self.sentence_starts, start) - 1)
            s_lo = self.sentence_starts[si]
            s_hi = (
                self.sentence_starts[si + 1]
                if si + 1 < len(self.sentence_starts)
                else len(self.norm)
            )
            historical = past = False
            if not ctx.present.search(text):
                handled = bool(ctx.handled.search(self.norm, s_lo, s_hi))
                historical = (
                    handled
                    or bool(self._time_cues(ctx, text, False))
                    or self._past_before(ctx, idx, s_lo, False)
                )
                past = historical and (
                    handled
                    or bool(self._time_cues(ctx, text, True))
                    or self._past_before(ctx, idx, s_lo, True)
                )
            # Seen on television or read in a story, not lived: as good as hypothetical.
            # A cue of something seen or read scopes forward in its sentence: "宝宝80天 发烧38.2
            # 我看网上说…" is a baby's fever, and what the web said follows it.
            clause_end = self.clause_ends[idx]
            imagined = bool(ctx.hypothetical.search(text)) or bool(
                ctx.fiction is not None and ctx.fiction.search(self.norm, s_lo, clause_end)
            )
            self._clause_flags[key] = (historical, imagined, past)
        return self._clause_flags[key]

    @staticmethod
    def _time_cues(ctx: _Context, text: str, past_only: bool) -> list[int]:
        """Ends of the history cues in ``text`` (habits left out when ``past_only``)."""
        return [
            m.end()
            for m in ctx.history.finditer(text)
            if not (past_only and ctx.habitual is not None and ctx.habitual.fullmatch(m.group()))
        ]

    def _past_before(self, ctx: _Context, idx: int, s_lo: int, past_only: bool) -> bool:
        """Walk back through earlier clauses of the sentence; the latest time cue wins."""
        for j in range(idx - 1, -1, -1):
            if self.clause_ends[j] <= s_lo:
                break
            text = self.clause_text(j)
            last_hist = max(self._time_cues(ctx, text, past_only), default=-1)
            last_pres = max((m.end() for m in ctx.present.finditer(text)), default=-1)
            if last_hist >= 0 or last_pres >= 0:
                return last_hist > last_pres
        return False

    def hits(self, term: _Term) -> list[tuple[int, int]]:
        found = self._hits.get(term.key)
        if found is None:
            found = []
            if (term.factors is None or not term.factors.isdisjoint(self.present)) and (
                term.probe is None or term.probe in self.norm
            ):
                for m in term.pattern.finditer(self.norm):
                    s, e = m.span()
                    if e <= s:
                        continue
                    if term.aligned and not self._aligned(term, s, e):
                        continue
                    if self.lex.facility_after.match(self.norm, e):
                        continue
                    found.append((s, e))
            self._hits[term.key] = found
        return found

    def _aligned(self, term: _Term, start: int, end: int) -> bool:
        """Literal words must be whole tokens; "A~B" terms need only start on a token."""
        bound = self.stretches.is_boundary
        if end - start == 1:  # a one-character word ends a token: 药 in 降糖药, 片 in 好几片
            return bound(end)
        if not bound(start):
            return False
        return term.gapped or bound(end)

    def negated(self, lang: str, start: int, end: int) -> bool:
        ctx = self.lex.context[lang]
        c_start = self.scope_starts[max(0, bisect_right(self.scope_starts, start) - 1)]
        if lang == "zh":
            before = [t.text for t in self.stretches.tokens(c_start, start) if t.text.strip()]
            window = before[-ctx.window :]
            for i in range(len(window) - 1, -1, -1):
                tok = window[i]
                pair = window[i - 1] + tok if i > 0 else tok
                if tok in ctx.pseudo_tokens or pair in ctx.pseudo_tokens:
                    break
                if tok in ctx.terminators:
                    break
                if tok in ctx.negations:
                    return True
        else:
            pre = self.norm[c_start:start]
            if not (ctx.pseudo_re and ctx.pseudo_re.search(pre)):
                words = _EN_WORD_RE.findall(pre)[-ctx.window :]
                for w in reversed(words):
                    if w in ctx.terminators:
                        break
                    if w in ctx.negations or w.endswith("n't"):
                        return True
        after = self.norm[end : end + _AFTER_WINDOW]
        stop = _SENTENCE_END_RE.search(after)
        if stop:
            after = after[: stop.start()]
        if ctx.ongoing_after.search(after):
            return False
        return bool(ctx.resolved_after.search(after))

    def figures(self, lang: str) -> list[tuple[int, int]]:
        """Spans of figures of speech ("想你想死了", "bored to death"): the "fig" groups of
        the context's ``figurative`` pattern. A finding that overlaps one is not read."""
        found = self._figures.get(lang)
        if found is None:
            found = _figure_spans(self.lex.context[lang].figurative, self.norm)
            self._figures[lang] = found
        return found

    def live(self, rule: _Rule, term: _Term) -> bool:
        hits = self.hits(term)
        if not hits:
            return False  # (most of a rule's terms: the figures of speech are not looked for)
        figures = self.figures(rule.lang)
        for s, e in hits:
            if any(s < f_end and f_start < e for f_start, f_end in figures):
                continue
            clause = self.clause_of(s)
            historical, hypothetical, past = self.flags(rule.lang, clause)
            if hypothetical or (past if rule.history == "past" else rule.history and historical):
                continue
            if rule.negatable and self.negated(rule.lang, s, e):
                continue
            if rule.category == "self_harm" and self._denied_after(rule.lang, e):
                continue
            if rule.unless and self._vetoed(rule, clause):
                continue
            return True
        return False

    def _denied_after(self, lang: str, end: int) -> bool:
        """Self-harm denied after the phrase: "自杀的念头从来没有过", "suicide? no"."""
        pattern = self.lex.context[lang].denied_after
        return (
            pattern is not None and pattern.match(self.norm[end : end + _AFTER_WINDOW]) is not None
        )

    def _vetoed(self, rule: _Rule, clause: int) -> bool:
        lo, hi = self.clause_starts[clause], self.clause_ends[clause]
        return any(lo <= s < hi for t in rule.unless for s, _ in self.hits(t))


def _figure_spans(pattern: re.Pattern[str] | None, norm: str) -> list[tuple[int, int]]:
    """Spans of the "fig" groups of a context's ``figurative`` pattern in ``norm``."""
    if pattern is None:
        return []
    return [
        m.span(name)
        for m in pattern.finditer(norm)
        for name, value in m.groupdict().items()
        if value is not None and name.startswith("fig")
    ]
