"""Chinese names: after their cues (我叫, 患者, 我妈妈), before titles and verbs (张伟医生,
李娜说), surname-first guesses weighed by their evidence, pet names (乐乐, 老周), chat
mentions (@刘晓燕), lists (王芳、李娜和张伟), and what the CRF and the shapes of
``names_zh_model`` and ``names_zh_shapes`` add.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from safety import _text, name_model
from safety.pii.names_zh_data import (
    _COMMON_GIVEN_FREQ,
    _COMMON_WORD_FREQ,
    _DEMOGRAPHIC_RE,
    _DRUG_TAIL,
    _EV_DEMOGRAPHIC,
    _EV_DICT_FULL,
    _EV_DICT_SHORT,
    _EV_GIVEN_GOOD,
    _EV_LEFT_CUE,
    _EV_LIST,
    _EV_NEW_WORD,
    _EV_TITLE,
    _EV_VERB,
    _EV_WEAK_RIGHT,
    _FUNCTION_FIRST,
    _FUNCTION_SURNAMES,
    _GIVEN_FLOOR,
    _GIVEN_FLOOR_CUED,
    _GIVEN_GOOD,
    _GIVEN_STRONG,
    _HEAD_REST_MIN,
    _INTAKE_BEFORE,
    _MEDICAL_NEXT_RE,
    _MENTION_NOT_NAMES,
    _MENTION_RE,
    _NAME_MAX_GIVEN,
    _NAMED_RE,
    _PEN_COMMON_GIVEN,
    _PEN_COMMON_WORD,
    _PET_HEADS,
    _ZH_SURNAME_ONLY_RE,
    NAME_ACCEPT,
    UNCUED_MODEL_MIN,
    UNCUED_SURE,
    _names,
    _old_surname,
    name_lexicon,
)
from safety.pii.names_zh_model import _ZhModelNames

# Surnames that are also everyday words, but not words that stand before a noun as "that",
# "to" or "even" do (那医生, 向医生请教, 连医生都…): at a clause start before a staff title they
# are a surname.
_WORD_SURNAMES = frozenset("高常白易成相时全")
# A compound surname before a given name is evidence of its own, unless it is an everyday
# word as often (东方 "the east", 西门 "the west gate": jieba counts them 3,993 and 967 times)
_EV_COMPOUND = 1.0
_COMPOUND_AS_WORD_FREQ = 900
# A given name alone: the score one of its characters must reach
_GIVEN_ALONE = 1.2
# Where a sentence or a clause starts: the text's start, after punctuation or a space.
_CLAUSE_START_RE = re.compile(r"(?:^|(?<=[\s，。！？,.!?；;：:]))(?=[\u4e00-\u9fff])")
# Kinds that are not identifiers a name is written beside in a form or a signature.
_NOT_IDENTIFIERS_FOR_NAMES = frozenset({"PERSON", "DOB"})
# Between a name and such an identifier: spaces and punctuation, nothing said.
_ID_GAP_RE = re.compile(r"[\s,，:：、/|()（）;；]{0,3}")


class _ZhNames(_ZhModelNames):
    """The detectors of names in Chinese characters."""

    def mentions(self) -> None:
        """Chat handles: "@张医生：", "//@小雨:", "@dai_dai" name a person."""
        never = _names().never
        for m in _MENTION_RE.finditer(self.t):
            handle = m.group(1)
            if handle not in never and handle not in _MENTION_NOT_NAMES:
                self.add("PERSON", *m.span(1))

    def _beside_identifier(self, pos: int, after: bool) -> bool:
        """Does an identifier found already (a phone, an ID, an address …) start right after
        ``pos`` (``after``) or end right before it, with only spaces or punctuation between?
        A form or a signature puts the name there: "18518877911葛秋菊", "…276 严立国"."""
        for c in self.cands:
            if c.kind in _NOT_IDENTIFIERS_FOR_NAMES:
                continue
            gap = self.t[pos : c.start] if after else self.t[c.end : pos]
            if (c.start >= pos if after else c.end <= pos) and _ID_GAP_RE.fullmatch(gap):
                return True
        return False

    def _full_name_before(self, end: int) -> bool:
        """Do a surname and two given characters end at ``end``?"""
        for sl in (1, 2):
            start = end - sl - 2
            if start >= 0 and self._surname_len(start) == sl:
                return True
        return False

    def _right_evidence(self, end: int) -> float:
        names = _names()
        rest = self.t[end : end + 4]
        if _DEMOGRAPHIC_RE.match(self.t, end) or names.kin_after.match(self.t, end):
            return _EV_DEMOGRAPHIC
        if self._beside_identifier(end, after=True) and self._full_name_before(end):
            return _EV_DEMOGRAPHIC
        if any(rest.startswith(w) for w in names.titles):
            return _EV_TITLE
        if any(rest.startswith(w) for w in names.verbs):
            return _EV_VERB
        if (
            any(rest.startswith(w) for w in names.weak_right)
            or end == len(self.t)
            or (not self._is_cjk(self.t[end : end + 1]))
        ):
            return _EV_WEAK_RIGHT
        return 0.0

    def _name_score(self, start: int, end: int, left: float, strong: bool) -> float | None:
        """Evidence that t[start:end] (surname first) is a person's name; None: never."""
        names = _names()
        cand = self.t[start:end]
        if not self._is_cjk(cand) or cand in names.never or cand[:2] in names.never:
            return None  # cand[:2]: a family word never starts a name (孩子阿姨|带的)
        sl = self._surname_len(start)
        given = cand[sl:]
        # (a given name that is also a word, 小雨, 平安, after a cue: 姓名：郑小雨)
        if not given or given[0] == cand[0] or (given in names.never and not (left or strong)):
            return None
        if any(self.t.startswith(w, start + sl) for w in names.titles):
            return None  # 汪|阿姨, 王|老师: the title is no part of the name
        if self._measure_word_at(start):  # 这张卡, 两张片子: 张 counts, it names no one
            return None
        if strong:
            return NAME_ACCEPT
        scores = self._given_scores(given)
        if min(scores) < (_GIVEN_FLOOR_CUED if left else _GIVEN_FLOOR):
            return None
        bounds = self._bounds
        right = self._right_evidence(end)
        if end not in bounds and right < _EV_VERB:
            return None
        if _MEDICAL_NEXT_RE.match(self.t, end) or self.t[:start].endswith(_INTAKE_BEFORE):
            return None
        ev = left + right
        tag = self._person_tags.get(cand)
        freq = _text.word_freq(cand)
        if tag is not None and (len(cand) >= 3 or max(scores) >= _GIVEN_STRONG):
            ev += _EV_DICT_FULL if len(cand) >= 3 else _EV_DICT_SHORT
        elif tag is not None:
            pass
        elif freq >= _COMMON_WORD_FREQ:
            ev -= _PEN_COMMON_WORD
        elif (start, end) in self._new_words:
            ev += _EV_NEW_WORD
        if min(scores) >= _GIVEN_GOOD:
            ev += _EV_GIVEN_GOOD
        if sl == 2 and _text.word_freq(cand[:2]) < _COMPOUND_AS_WORD_FREQ:
            ev += _EV_COMPOUND  # 上官, 欧阳, 端木: a compound surname is rarely anything else
        if (
            len(given) == 2
            and left + right < _EV_TITLE  # 段时间 with no context; 家属周建国 has one
            and tag is None
            and _text.word_freq(given) >= _COMMON_GIVEN_FREQ
            and given not in self._person_tags
        ):
            ev -= _PEN_COMMON_GIVEN
        return ev

    def _best_at(
        self, start: int, left: float, strong: bool = False, end_at: int | None = None
    ) -> tuple[int, int, float] | None:
        sl = self._surname_len(start)
        if not sl:
            return None
        best: tuple[int, int, float] | None = None
        for given in range(_NAME_MAX_GIVEN, 0, -1):
            end = start + sl + given
            if end > len(self.t) or (end_at is not None and end != end_at):
                continue
            ev = self._name_score(start, end, left, strong)
            if ev is not None and (best is None or ev > best[2]):
                best = (start, end, ev)
        return best

    def zh_names(self) -> None:
        names = _names()
        self._bounds = _text.boundaries(self.t)
        self._person_tags = _text.jieba_person_tags()
        toks = _text.tokens(self.t)
        self._new_words = {
            (k.start, k.end) for k in toks if len(k.text) > 1 and _text.word_freq(k.text) == 0
        }
        found: dict[int, tuple[int, int]] = {}
        model = name_model.model()
        self._marg = model.marginals_of(model.text_emissions(self.t, name_lexicon()))

        def take(span: tuple[int, int, float] | None, check: float = 0.0) -> bool:
            """Keep ``span`` if the rules accept it; below ``check`` the CRF must agree too."""
            if span is None or span[2] < NAME_ACCEPT:
                return False
            if span[2] < check and self._model_p(span[0], span[1]) < UNCUED_MODEL_MIN:
                return False
            if all(span[1] <= s or e <= span[0] for s, e in found.values()):
                found[span[0]] = (span[0], span[1])
                return True
            return False

        for m in names.left_strong.finditer(self.t):
            take(self._best_at(m.end(), 0.0, strong=True))
        for m in names.naming.finditer(self.t):
            # no surname: 我叫乐乐。, 一个名叫瓦里的教师: the name runs to 的 or punctuation
            named = _NAMED_RE.match(self.t, m.end())
            if named and m.end() not in found and self._plain_name(*named.span(1), toks):
                take((*named.span(1), NAME_ACCEPT))
        for m in names.left_weak.finditer(self.t):
            # 孩子都特别, 老婆和妈妈: a function word that is also a surname needs the model too
            function_word = self.t[m.end() : m.end() + 1] in _FUNCTION_FIRST
            take(self._best_at(m.end(), _EV_LEFT_CUE), check=math.inf if function_word else 0.0)
        for m in names.nickname_left.finditer(self.t):  # 我家乐乐, 儿子小军, 我老公老周
            if self._nickname_at(m.end()):
                take((m.end(), m.end() + 2, NAME_ACCEPT))
        for m in _CLAUSE_START_RE.finditer(self.t):
            # a pet name or a given name as the subject of a sentence: "乐乐昨天开始发烧",
            # "三娃他爹住院了", "老周说…"
            at = m.end()
            if at in found:
                continue
            # a pet name's shape (乐乐, 小胖, 阿毛, 老陈) needs only not to run on into 的
            # (X的… follows too many words); a given name alone needs a subject's verb or time
            pet = (
                self.t[at] in _PET_HEADS or self.t[at] == self.t[at + 1 : at + 2]
            ) and self._nickname_at(at)
            pet = pet and not self.t.startswith("的", at + 2)
            if pet or (self._given_alone_at(at) and self._subject_after(at + 2)):
                take((at, at + 2, NAME_ACCEPT))
        for m in _ZH_SURNAME_ONLY_RE.finditer(self.t):
            if m.group(1) in names.surnames:
                self.add("PERSON", *m.span(1))
        for k in toks:
            if k.start in found:
                continue
            if self._surname_len(k.start):
                function_word = k.text[0] in _FUNCTION_FIRST
                left = 0.0
                if self._beside_identifier(k.start, after=False):
                    # a whole name (surname and two characters) is what a form has there
                    best = self._best_at(k.start, _EV_DEMOGRAPHIC)
                    if best is not None and best[1] - best[0] - self._surname_len(k.start) >= 2:
                        left = _EV_DEMOGRAPHIC
                take(self._best_at(k.start, left), check=math.inf if function_word else UNCUED_SURE)
                if k.start not in found:
                    self._token_head(k, found)
                if k.start not in found and k.text[-1] not in _DRUG_TAIL and self._foreign_token(k):
                    found[k.start] = (k.start, k.end)  # 毕加索, 兰德里: a surname starts them
                if (
                    k.start not in found
                    and len(k.text) == 1
                    and not self.t[k.start - 1 : k.start].isdigit()
                ):
                    # a lone surname before a title: 江主席, 王医生 (not a floor's: 9楼护士站)
                    rest = self.t[k.end : k.end + 4]
                    if any(rest.startswith(w) for w in names.titles) and (
                        k.text not in _FUNCTION_SURNAMES
                        # 高医生, 常主任说…: a surname that is also a common word, before a
                        # staff title where a sentence or a clause starts, or after 是
                        or (
                            any(rest.startswith(w) for w in names.staff_titles)
                            and (
                                (
                                    _CLAUSE_START_RE.match(self.t, k.start)
                                    and k.text in _WORD_SURNAMES  # not 那医生, 连医生都…
                                )
                                or self._after_is(k.start)
                            )
                        )
                    ):
                        found[k.start] = (k.start, k.end)
            elif self._foreign_token(k):
                found[k.start] = (k.start, k.end)
        self._model_names(found)
        # lists and coordination: 王芳、李娜和张伟
        changed = True
        while changed:
            changed = False
            for s, e in list(found.values()):
                if self.t[e : e + 1] in names.joiners:
                    changed |= take(self._best_at(e + 1, _EV_LIST))
                if s > 0 and self.t[s - 1] in names.joiners:
                    for length in (3, 2):
                        pos = s - 1 - length
                        if (
                            pos >= 0
                            and pos not in found
                            and take(self._best_at(pos, _EV_LIST, end_at=s - 1))
                        ):
                            changed = True
                            break
        for s, e in self._titled_foreign(found):
            for key in [a for a, b in found.values() if s <= a and b <= e]:
                del found[key]
            found[s] = (s, e)
        for s, e in self._list_gaps(sorted(found.values())):
            found[s] = (s, e)
        by_start = {k.start: k for k in toks}
        by_end = {k.end: k for k in toks}
        for key, span in list(found.items()):
            found[key] = self._translit_extended(span, by_start, by_end)
        for s, e in self._join_dotted(sorted(found.values())):
            self.add("PERSON", s, e)
        for s, e in self._dotted_names(toks):
            self.add("PERSON", s, e)

    def _plain_name(self, start: int, end: int, toks: Sequence[_text.Token]) -> bool:
        """``t[start:end]`` may be a name given without a surname: no never-name, and neither it
        nor a word in it an everyday word (名字是|什么意思)."""
        word = self.t[start:end]
        if word in _names().never:
            return False
        if word in self._person_tags:
            return True
        return (
            all(
                _text.word_freq(k.text) < _COMMON_WORD_FREQ
                for k in toks
                if start <= k.start and k.end <= end and len(k.text) > 1
            )
            and _text.word_freq(word) < _COMMON_WORD_FREQ
        )

    def _after_is(self, start: int) -> bool:
        """Is ``start`` right after 是 (还是向医生, 是常主任)?"""
        return self.t[start - 1 : start] == "是"

    def _subject_after(self, end: int) -> bool:
        """Does what follows ``end`` make the word before it a person: a verb of speech, a time
        word, a title, or a parent named after the child (石头妈妈, 三娃他爹)? (Not 的: "X的…"
        follows too many words.)"""
        names = _names()
        if self._right_evidence(end) >= _EV_VERB:
            return True
        return names.kin_next.match(self.t, end) is not None

    def _given_alone_at(self, start: int) -> bool:
        """A given name of two characters used alone (明轩, 雨桐, 子涵): both characters
        name-like, one of them clearly, and no everyday word (明天, 永远, 文明 are words jieba
        counts hundreds of times; given names it hardly knows)."""
        cand = self.t[start : start + 2]
        if len(cand) != 2 or not self._is_cjk(cand) or cand in _names().never:
            return False
        if _text.word_freq(cand) >= _COMMON_WORD_FREQ:
            return False
        if start not in self._bounds or start + 2 not in self._bounds:
            return False
        scores = self._given_scores(cand)
        return min(scores) >= _GIVEN_GOOD and max(scores) >= _GIVEN_ALONE

    def _nickname_at(self, start: int) -> bool:
        """A two-character pet name at ``start``: 乐乐, 小军, 阿强, 老周 (not 宝宝, 小孩, 小便)."""
        names = _names()
        end = start + 2
        cand = self.t[start:end]
        if (
            len(cand) != 2
            or not self._is_cjk(cand)
            or cand in names.never
            or (_text.word_freq(cand) >= _COMMON_WORD_FREQ and not _old_surname(cand))
            or start not in self._bounds
            or end not in self._bounds
            or _MEDICAL_NEXT_RE.match(self.t, end)
        ):
            return False
        head, last = cand[0], cand[1]
        score = names.scores.get(last)
        if head == last:
            return score is not None and score >= _GIVEN_FLOOR
        good = last in names.given or (score is not None and score >= _GIVEN_GOOD)
        if head in _PET_HEADS and head != "老":
            return good or (last in names.surnames and last not in _FUNCTION_SURNAMES)
        if _old_surname(cand):
            return True
        # a given name alone (女儿欣怡): both characters name-like, one of them strongly
        scores = self._given_scores(cand)
        return min(scores) >= _GIVEN_GOOD and max(scores) >= _GIVEN_STRONG

    def _token_head(self, k: _text.Token, found: dict[int, tuple[int, int]]) -> None:
        """A name at the head of a longer token: 江|主席, 邓小平|理论 (jieba keeps them whole)."""
        names = _names()
        head = k.text[:1]
        if k.text[1:] in names.titles and head in names.surnames:
            if head not in _FUNCTION_SURNAMES:
                found[k.start] = (k.start, k.start + 1)
            return
        for size in (4, 3):
            word = k.text[:size]
            rest = k.text[size:]
            if (
                len(rest) >= _HEAD_REST_MIN  # 邓小平|理论, not 周而复|始
                and _text.word_freq(rest) >= _COMMON_WORD_FREQ
                and self._person_tags.get(word) == "nr"
                and word not in names.never
                and not _MEDICAL_NEXT_RE.match(rest)
            ):
                found[k.start] = (k.start, k.start + size)
                return
