"""Chinese names the character CRF (``safety.name_model``) finds with no cue around them,
minus what is never a name.
"""

from __future__ import annotations

from safety import _text, name_model
from safety.pii.names_zh_data import (
    _COMMON_WORD_FREQ,
    _DISEASE_ENDINGS,
    _DRUG_ONLY_TAIL,
    _DRUG_TAIL,
    _INTAKE_BEFORE,
    _MEDICAL_NEXT_RE,
    _MIN_FOREIGN_LEN,
    _MODEL_MAX_WHOLE,
    _MODEL_MIN_LEN,
    _NAME_MAX_GIVEN,
    _PET_HEADS,
    _TRANSLIT,
    MODEL_ACCEPT,
    MODEL_SURE,
    _names,
    _old_surname,
)
from safety.pii.names_zh_shapes import _ZhShapes


class _ZhModelNames(_ZhShapes):
    """The names of the CRF."""

    def _model_p(self, start: int, end: int) -> float:
        """The CRF's weakest name probability over t[start:end]."""
        return min(1.0 - self._marg[k][2] for k in range(start, end))

    def _model_names(self, found: dict[int, tuple[int, int]]) -> None:
        """Add the names the CRF finds, minus what is never a name, to ``found``.

        A model span that holds shorter names found by the rules (梁栋|材) replaces them; a
        longer run (a list of names) keeps them and adds what is left of it.
        """
        marg = self._marg
        taken = sorted(found.values())
        never = [(k.start, k.end) for k in _text.tokens(self.t) if k.text in _names().never]
        out: list[tuple[int, int]] = []
        for start, end, p in self._surname_joined(name_model.name_spans(marg, MODEL_ACCEPT)):
            if any(start < b and a < end for a, b in never):
                continue
            inside = [(a, b) for a, b in taken if start < b and a < end]
            if (
                inside
                # (or one name around its middle dot: 阿不都热合曼·库尔班 holds 库尔班)
                and (end - start <= _MODEL_MAX_WHOLE or "·" in self.t[start + 1 : end - 1])
                and all(start <= a and b <= end for a, b in inside)
                and self._model_ok(start, end, p)
            ):
                for a, _ in inside:
                    del found[a]
                out.append((start, end))
                continue
            # names already found cut the span; what is left of it is taken on its own
            pieces = [(start, end)]
            for a, b in taken:
                pieces = (
                    [
                        piece
                        for s, e in pieces
                        for piece in ((s, min(e, a)), (max(s, b), e))
                        if piece[1] > piece[0]
                    ]
                    if any(s < b and a < e for s, e in pieces)
                    else pieces
                )
            for s, e in pieces:
                if self._model_ok(s, e, p):
                    out.append((s, e))
                else:  # two names run together in a list: 汪啸风|沙健孙
                    out.extend(self._two_names(s, e))
        for s, e in out:
            found[s] = (s, e)

    def _surname_joined(self, spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
        """A lone surname cut off the given name right after it is one name again: 谢|小玲."""
        out: list[tuple[int, int, float]] = []
        for s, e, p in spans:
            if out:
                ps, pe, pp = out[-1]
                if pe == s and pe - ps == 1 and self._surname_len(ps) and e - s <= _NAME_MAX_GIVEN:
                    out[-1] = (ps, e, min(p, pp))
                    continue
            out.append((s, e, p))
        return out

    def _model_ok(self, s: int, e: int, p: float) -> bool:
        names = _names()
        cand = self.t[s:e]
        if self._measure_word_at(s):
            return False
        if len(cand) < _MODEL_MIN_LEN or not self._is_cjk(cand.replace("·", "")):
            return False
        if cand in names.never or any(w in names.never for w in (cand[1:], cand[:-1])):
            return False
        if (
            _MEDICAL_NEXT_RE.match(self.t, e)
            or self.t[:s].endswith(_INTAKE_BEFORE)
            or cand.endswith(_DISEASE_ENDINGS)  # 克罗恩病 read whole
        ):
            return False
        # a pet-name shape (乐乐, 小军) must be a word of its own and no everyday word, even one
        # jieba also tags as a person (宝宝, 小便; 小三 of 小三阳)
        if (
            len(cand) == 2
            and (cand[0] in _PET_HEADS or cand[0] == cand[1])
            and (
                s not in self._bounds
                or e not in self._bounds
                or (_text.word_freq(cand) >= _COMMON_WORD_FREQ and not _old_surname(cand))
            )
        ):
            return False
        if cand in self._person_tags:
            return True
        if _text.word_freq(cand) >= _COMMON_WORD_FREQ and p < MODEL_SURE:
            return False
        sl = self._surname_len(s)
        if sl and len(cand) - sl <= _NAME_MAX_GIVEN:
            # surname + given name: every given character must be a plausible one
            return True
        if len(cand) >= _MIN_FOREIGN_LEN and all(c in _TRANSLIT for c in cand.replace("·", "")):
            return cand[-1] not in _DRUG_TAIL  # 克林顿, not 阿莫西林
        if "·" in cand[1:-1]:
            return True  # a name of two parts around its middle dot: 阿不都热合曼·库尔班
        return p >= MODEL_SURE and cand[-1] not in _DRUG_ONLY_TAIL  # 艾普拉唑
