"""Chinese names of particular shapes: transliterated foreign names (克林顿, 赖尔登市长), names
joined by a middle dot (亚历山大·克瓦希涅夫斯基) and names in an unpunctuated list
(李锡铭王丙乾); with the surname and given-character checks every Chinese name detector
uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

from safety import _text
from safety.pii.base import _Scan
from safety.pii.names_zh_data import (
    _COMMON_WORD_FREQ,
    _COUNTING_BEFORE,
    _DOTTED_SIDE_MAX,
    _DOTTED_TOUCH_FREQ,
    _DRUG_TAIL,
    _GIVEN_FLOOR,
    _GIVEN_GOOD,
    _GIVEN_UNKNOWN,
    _INTAKE_BEFORE,
    _LIST_GAP_MIN,
    _LIST_GAP_ONE,
    _MEASURE_SURNAMES,
    _MEDICAL_NEXT_RE,
    _MIN_FOREIGN_LEN,
    _MIN_TRANSLIT_PART,
    _NAME_DOTS,
    _NOT_TRANSLIT_PART,
    _NUMERALS,
    _TRANSLIT,
    _TRANSLIT_NAME_MAX,
    _TRANSLIT_RUN_RE,
    _names,
)


class _ZhShapes(_Scan):
    """Surnames and given characters; foreign, dotted and listed names."""

    def _is_cjk(self, s: str) -> bool:
        return bool(s) and all("\u4e00" <= c <= "\u9fff" for c in s)

    def _surname_len(self, pos: int) -> int:
        names = _names()
        if self.t[pos : pos + 2] in names.compound:
            return 2
        return 1 if self.t[pos : pos + 1] in names.surnames else 0

    def _given_scores(self, given: str) -> list[float]:
        names = _names()
        return [
            max(
                names.scores.get(c, _GIVEN_UNKNOWN),
                _GIVEN_GOOD if c in names.given else _GIVEN_UNKNOWN,
            )
            for c in given
        ]

    def _titled_foreign(self, found: dict[int, tuple[int, int]]) -> list[tuple[int, int]]:
        """赖尔登市长, 塞迪略总统, 主席海因兹: a run of transliteration characters with a title or
        a verb of speech right after it, or a title right before it, is a foreign name.

        The run may hold the title's own characters (主席|海因兹 runs on from 席), so its
        stretches that end where a title starts or start where one ends are tried, longest first.
        """
        names = _names()
        after_words = names.titles + names.verbs
        out: list[tuple[int, int]] = []
        for m in _TRANSLIT_RUN_RE.finditer(self.t):
            run_s, run_e = m.span()
            starts = [k for k in range(run_s, run_e) if self.t.endswith(names.titles, 0, k)]
            ends = [k for k in range(run_s + 1, run_e + 1) if self.t.startswith(after_words, k)]
            options = sorted(
                {(a, run_e) for a in starts} | {(run_s, b) for b in ends},
                key=lambda span: span[0] - span[1],
            )
            for s, e in options:
                if e - s >= _MIN_FOREIGN_LEN and self._foreign_ok(s, e, found):
                    out.append((s, e))
                    break
        return out

    def _foreign_ok(self, s: int, e: int, found: dict[int, tuple[int, int]]) -> bool:
        names = _names()
        cand = self.t[s:e]
        return not (
            # names found inside the run give way to it (昔卡|普瓦夏 -> 卡普瓦夏中将)
            any(a < e and s < b and not (s <= a and b <= e) for a, b in found.values())
            or cand in names.never
            or cand[-1] in _DRUG_TAIL
            or _MEDICAL_NEXT_RE.match(self.t, e)
            or (_text.word_freq(cand) >= _COMMON_WORD_FREQ and cand not in self._person_tags)
        )

    def _translit_extended(
        self,
        span: tuple[int, int],
        by_start: Mapping[int, _text.Token],
        by_end: Mapping[int, _text.Token],
    ) -> tuple[int, int]:
        """A foreign name jieba cut short takes in the transliteration word next to it:
        瓦西里|斯, 奥|纳西斯 (``by_start``/``by_end``: the tokens by where they start/end)."""
        s, e = span
        if e - s < _MIN_TRANSLIT_PART or not all(c in _TRANSLIT for c in self.t[s:e]):
            return span
        while e - s < _TRANSLIT_NAME_MAX and (k := by_start.get(e)) and self._translit_part(k):
            e = k.end
        while e - s < _TRANSLIT_NAME_MAX and (k := by_end.get(s)) and self._translit_part(k):
            s = k.start
        return s, e

    def _translit_part(self, k: _text.Token) -> bool:
        w = k.text
        if not all(c in _TRANSLIT for c in w) or w in _names().never:
            return False
        return (len(w) == 1 and w not in _NOT_TRANSLIT_PART) or (
            _text.word_freq(w) < _COMMON_WORD_FREQ or w in self._person_tags
        )

    def _list_gaps(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Names between two names of an unpunctuated list: 李锡铭|王丙乾|王光英.

        A gap of two to six Chinese characters between names is read as one or two names when
        every piece starts with a surname, has name-like given characters and is no common word.
        """
        out: list[tuple[int, int]] = []
        for (_, gap_start), (gap_end, _) in itertools.pairwise(spans):
            size = gap_end - gap_start
            if not _LIST_GAP_MIN <= size <= 2 * _LIST_GAP_ONE or not self._is_cjk(
                self.t[gap_start:gap_end]
            ):
                continue
            if size <= _LIST_GAP_ONE:
                if self._list_name(gap_start, gap_end):
                    out.append((gap_start, gap_end))
            else:
                out.extend(self._two_names(gap_start, gap_end))
        return out

    def _list_name(self, start: int, end: int) -> bool:
        names = _names()
        cand = self.t[start:end]
        sl = self._surname_len(start)
        if not sl or end - start <= sl or cand in names.never:
            return False
        if _text.word_freq(cand) >= _COMMON_WORD_FREQ and cand not in self._person_tags:
            return False
        return min(self._given_scores(cand[sl:])) >= _GIVEN_FLOOR

    def _dotted_names(self, toks: Sequence[_text.Token]) -> list[tuple[int, int]]:
        """亚历山大·克瓦希涅夫斯基, 阿兰·陈: Chinese characters on both sides of a middle dot.

        The word touching the dot on each side belongs to the name unless it is a title, a
        cue or an everyday word; beyond it, only transliteration-only words, words jieba knows
        as persons and words jieba's dictionary has never seen are taken.
        """
        out: list[tuple[int, int]] = []
        for k, tok in enumerate(toks):
            if tok.text not in _NAME_DOTS or not (0 < k < len(toks) - 1):
                continue
            left, left_rare = self._dotted_side(reversed(toks[:k]), unseen=False)
            right, right_rare = self._dotted_side(iter(toks[k + 1 :]), unseen=True)
            if left is None or right is None or not (left_rare or right_rare):
                continue
            if out and left.start < out[-1][1]:  # 阿卜杜勒·卡里姆·哈米德: one name, two dots
                out[-1] = (out[-1][0], right.end)
            else:
                out.append((left.start, right.end))
        return out

    def _dotted_side(
        self, side: Iterator[_text.Token], unseen: bool
    ) -> tuple[_text.Token | None, bool]:
        """The farthest word of the name on one side of a middle dot (None: no name there), and
        whether the word touching the dot is a rare one (one side at least must have one).

        ``unseen``: words unknown to jieba's dictionary may continue the name on this side
        (after the dot: 安德烈斯·阿亚|曼多; before it they are more often verbs: 立着|亚历山大).
        """
        names = _names()
        outer: _text.Token | None = None
        rare = False
        size = 0
        for tok in side:
            w = tok.text
            size += len(w)
            if (
                not self._is_cjk(w)
                or size > _DOTTED_SIDE_MAX
                or any(c in _NUMERALS for c in w)  # 《三国演义·第一回》, 一二·九
                or w in names.never
                or w in names.before_words
                or w in names.titles
                or w in names.verbs
                or w in names.weak_right
            ):
                break
            if outer is None:  # the word touching the dot
                rare = (
                    _text.word_freq(w) < _DOTTED_TOUCH_FREQ
                    or w in self._person_tags
                    or (len(w) == 1 and w in names.surnames)  # 阿兰·陈
                )
            elif not (
                all(c in _TRANSLIT for c in w)
                or w in self._person_tags
                or (unseen and _text.word_freq(w) == 0 and len(w) > 1)
            ):
                break
            outer = tok
        return outer, rare

    def _join_dotted(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """本雅明·内塔尼亚胡: two names joined by a middle dot are one."""
        out: list[tuple[int, int]] = []
        for s, e in spans:
            if out and s == out[-1][1] + 1 and self.t[s - 1] in _NAME_DOTS:
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
        return out

    def _two_names(self, start: int, end: int) -> list[tuple[int, int]]:
        """``t[start:end]`` cut into two surname-first names, or nothing."""
        if not 2 * _LIST_GAP_MIN <= end - start <= 2 * _LIST_GAP_ONE:
            return []
        for mid in range(start + _LIST_GAP_MIN, end - _LIST_GAP_MIN + 1):
            if (
                mid - start <= _LIST_GAP_ONE
                and end - mid <= _LIST_GAP_ONE
                and self._list_name(start, mid)
                and self._list_name(mid, end)
            ):
                return [(start, mid), (mid, end)]
        return []

    def _measure_word_at(self, pos: int) -> bool:
        """A surname character used as a measure word: 这张, 两位, 一支, 每周."""
        return self.t[pos] in _MEASURE_SURNAMES and self.t[pos - 1 : pos] in _COUNTING_BEFORE

    def _foreign_token(self, k: _text.Token) -> bool:
        return (
            len(k.text) >= _MIN_FOREIGN_LEN
            and self._foreign(k.text)
            and not (
                _MEDICAL_NEXT_RE.match(self.t, k.end) or self.t[: k.start].endswith(_INTAKE_BEFORE)
            )
        )

    def _foreign(self, word: str) -> bool:
        """A transliterated foreign name (克林顿): jieba tags it, or its HMM made it."""
        names = _names()
        if word in names.never or (word[-1] in _DRUG_TAIL and word not in self._person_tags):
            return False
        if not all(c in _TRANSLIT for c in word):
            return False
        return word in self._person_tags or _text.word_freq(word) == 0
