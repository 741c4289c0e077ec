"""Names in Latin letters: after their cues (``name_cues_en.toml``), capitalised words inside
a sentence that start with a given or family name, initials, names in capitals, lists
and aliases; with the lists they read (the Latin cues, and the given names of
``gender-guesser``'s name dictionary).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from safety import _text, latin_name_model
from safety.pii.base import _CJK, _CJK_RE, _Scan

_CHUNK_RE = re.compile(r"[^\s,]+")
_NAME_JOIN_RE = re.compile(r"[\-'’]")

_EN_KIN = (
    r"mother|father|mom|mum|dad|wife|husband|son|daughter|sister|brother|grandmother|"
    r"grandfather|grandma|grandpa|partner|friend|aunt|uncle|cousin|niece|nephew|child|"
    r"boyfriend|girlfriend|fiancee?|carer|caregiver|neighbou?r|colleague|boss|doctor|gp"
)
_EN_NAME_BEFORE_RE = re.compile(
    r"\b([A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2}),?\s+(?i:is|was)\s+(?i:my|our)\s+(?i:"
    + _EN_KIN
    + r")\b"
)
_NAM_DICT_NAME_END = 29  # nam_dict.txt: the name stands in columns 4 to 29, then a
_NAM_DICT_FREQ_END = 86  # frequency digit (hex, 1-13) per country up to column 86
_NAM_DICT_MIN_FREQ = 3
_NAM_DICT_ENGLISH = 3  # the first three countries: Great Britain, Ireland, the U.S.A.
_LATIN_NAME_MAX_WORDS = 3
_ACRONYM_MAX = 3  # a word this short in capitals is an abbreviation (HK, NHS), not a name
_LATIN_PART_MIN = 3  # a part of a Latin name this long recurs on its own
_SURNAME_FIRST_MIN = 3  # a family name this long may start a two-word name (not He, Ma, Li)
# A word after a given name that reads as a verb or adverb, not a family name (checking, asked)
_NOT_SURNAME_RE = re.compile(r"[a-z]+(?:ing|ed|ly)")
# Latin letters with the accents of European names (José, Müller, Wiśniewska, Petrović); the
# Latin Extended-A block holds capitals and small letters in turns, so it is in both; and
# Cyrillic (Иван Петров)
_LOWER = "a-zß-öø-ÿ\u0100-\u024f\u1e00-\u1effа-яё"  # with Vietnamese (ầ, ố, ơ, ư)
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u024f\u1e00-\u1effА-ЯЁ"
_LATIN_WORD_RE = re.compile(rf"[ \t]{{0,2}}([{_LOWER}](?:[{_LOWER}'’\-]*[{_LOWER}])?)")
_PATRONYM_AFTER_RE = re.compile(
    r"\s+(?:bin|binti|bte|ibn|a/l|a/p|s/o|d/o)\s+[A-Z][a-z'’\-]+(?:\s+[A-Z][a-z'’\-]+)?"
)
_SIGNED_RE = re.compile(
    rf"(?:[.!?。！？\n]|\blol|\bthx|\bty)\s*([{_LOWER}][{_LOWER}'’\-]+(?:\s+[{_LOWER}][{_LOWER}'’\-]+){{1,2}})"
    r"[\s.!~]*$"
)
_NAME_HERE_RE = re.compile(
    r"(?:(?:hi|hello|hey)[,!]?\s+)?(?:it'?s\s+|this is\s+)?"
    rf"([{_LOWER}][{_LOWER}'’\-]*(?: [{_LOWER}][{_LOWER}'’\-]*){{0,2}})"
    r"\s+(?:here|again|speaking)\b"
)
# Initials and a family name: "J. Smith", "A.J. Thompson", "K. Osei"
_INITIALS_RE = re.compile(
    rf"(?<![A-Za-z./])(?:[A-Z]\.\s?){{1,2}}([{_UPPER}][{_LOWER}]{{2,}}(?:-[{_UPPER}][{_LOWER}]+)?)(?![{_LOWER}])"
)
# Two or three words in capitals that start with a given name: "FATOU DIALLO"
# "dr" as a title, and the words that follow it that name no one (my dr appointment, dr said)
_DR_RE = re.compile(r"dr\.?|doctor")
_DR_NAME_MIN = 3
_AFTER_DR_WORD_RE = re.compile(
    r"(?:appointment|appt|visit|office|note|letter|clinic|surgery|referral|report|said|says|"
    r"told|tells|asked|asks|wants|wanted|thinks|thought|gave|prescribed|recommended|"
    r"suggested|mentioned|called|wrote|put|ordered|checked|and|or|today|yesterday|tomorrow|"
    r"please|pls|who|what|when|where|why|how|here|there|consult|consultation)"
)
_VERB_PARTICLE_NEXT_RE = re.compile(r" (?:in|on|up|out|about|back|for|with)(?![a-z])")
_CAPITALISED_WORD_NEXT_RE = re.compile(rf" [{_UPPER}][{_LOWER}]{{2,}}(?![{_LOWER}{_UPPER}])")
_CAPS_RUN_RE = re.compile(
    # (not a code's letters: "NHI PKR3719")
    r"(?<![A-Za-z])([A-Z]{2,}(?:-[A-Z]{2,})?)"
    r"(?=((?: [A-Z]{2,}(?:-[A-Z]{2,})?){1,2})(?![A-Za-z0-9]))"
)
# Beside a Latin name found: the next name of a list, an alias in brackets, the name before
_NAME_WORDS = rf"[{_UPPER}][{_LOWER}]+(?:[ -][{_UPPER}][{_LOWER}]+){{0,2}}"
_LIST_AFTER_RE = re.compile(
    rf"\s*(?:&|\band\b)\s*(?:little\s+)?({_NAME_WORDS})(?![{_UPPER}{_LOWER}'’])"
)
_ALIAS_AFTER_RE = re.compile(
    rf"\s*\(\s*(?:we call (?:him|her) |aka |a\.k\.a\. )?({_NAME_WORDS})\s*\)"
)
_LIST_BEFORE_RE = re.compile(
    rf"(?<![{_UPPER}{_LOWER}])([{_UPPER}][{_LOWER}]+)\s*(?:&|\band\b)\s*(?:little\s+)?$"
)
_LATIN_LIST_ROUNDS = 3
_KIN_POSSESSIVE_RE = re.compile(
    rf"(?<![{_UPPER}{_LOWER}])([{_UPPER}][{_LOWER}]+)['’]s\s+(?:mum|mom|mother|dad|father|wife|"
    r"husband|son|daughter|sister|brother|partner|mummy|mommy|grandma|grandpa|parents|"
    r"boyfriend|girlfriend)\b"
)
_EPONYM_NEXT_RE = re.compile(r"\s*(?:disease|syndrome|palsy|sign|test|病|症|综合|患者|病人)")
_POSSESSIVE_RE = re.compile(r"['’]s(?![a-z])")
_NAME_PREFIX_RE = re.compile(r"(?:o['’]|mc|mac|al-|el-|abu-|abd)[a-z]{2,}")
_SENTENCE_END = frozenset(".!?。！？\n")
# The word CRF's name probability at or above which a span of Latin words is a name. Chosen
# on the helper-written messages of bench/data/train/names_latin_train.jsonl with a model
# trained without them: name characters masked 0.730 (rules alone) -> 0.853 at 0.5, 0.867 at
# 0.4 (0.840 at 0.5 with the sentence-start gate of ``_model_latin_names``); their 339 messages
# with no name keep the rules' 10 with a false name at 0.5, 12 at 0.4.
MODEL_ACCEPT = 0.5


# "from" after a verb of coming, moving or being: a place follows, not a person
_FROM_A_PLACE_RE = re.compile(
    r"\b(?:visiting|visit|come|comes|came|coming|am|i'm|is|are|we're|they're|he's|she's|"
    r"flew|flying|fly|moved|moving|move|travell?ing|travell?ed|originally|arrived|arriving|"
    r"returned|returning|back|here|live|lived|living|driving|drove|born)"
    r"(?:\s+(?:in|here|over|up|down|back|all the way|originally|just))?\s+from\s*$"
)


@dataclass(frozen=True)
class _LatinCues:
    """``name_cues_en.toml``: where a name in Latin letters is expected, and what is never one."""

    naming: re.Pattern[str]  # then any name-shaped words
    titled: re.Pattern[str]  # then words that look like names (listed, capitalised)
    weak: re.Pattern[str]  # then a listed given name or a capital
    listed: re.Pattern[str]  # then a listed given name only
    sign_off: re.Pattern[str]  # at the end of the message, the name that signs it
    not_names: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    word_names: frozenset[str]  # given names that are words at a sentence's start
    eponyms: frozenset[str]  # the names of diseases named after people
    korean: re.Pattern[str]  # a Korean name in Hangul right after a cue
    korean_cues: re.Pattern[str]


# What follows a Korean name: a particle, an honorific, a space or punctuation
_KOREAN_AFTER = (
    r"입니다|이에요|예요|이고|이라고|라고|이랑|랑|은|는|이|가|을|를|의|씨|님|에게|한테|도|과|와|하고"
    r"|[\s,.!?:;)，。！？、（(]|$"
)


def _cue_pattern(words: Iterable[str], tail: str = "") -> re.Pattern[str]:
    """Latin cues as whole words; Chinese ones touching the name ("我叫Emily")."""
    latin = sorted((w for w in words if w.isascii()), key=len, reverse=True)
    cjk = sorted((w for w in words if not w.isascii()), key=len, reverse=True)
    parts = []
    if latin:
        parts.append(r"(?<![a-z])(?:" + "|".join(map(re.escape, latin)) + r")(?![a-z])")
    if cjk:
        parts.append("(?:" + "|".join(map(re.escape, cjk)) + ")")
    return re.compile("(?:" + "|".join(parts) + ")" + tail)


@lru_cache(maxsize=1)
def _latin_cues() -> _LatinCues:
    import tomllib

    with _text.data_path("name_cues_en.toml").open("rb") as fh:
        cues = tomllib.load(fh)
    return _LatinCues(
        naming=_cue_pattern(cues["naming"], r"\s*:?\s*"),
        titled=_cue_pattern(cues["titles"], r"\.?\s*"),
        weak=_cue_pattern(cues["weak"], r",?\s*"),
        listed=_cue_pattern(cues["listed"], r",?\s*"),
        sign_off=_cue_pattern(cues["sign_off"], r"\s*[,!.:]?\s*"),
        not_names=frozenset(cues["not_names"]),
        surnames=frozenset(cues["surnames"]),
        places=frozenset(cues["places"]),
        word_names=frozenset(cues["word_names"]),
        eponyms=frozenset(cues["eponyms"]),
        korean=re.compile(
            r"[\s:：,，]*([" + "".join(cues["korean_surnames"]) + r"][가-힣]{1,2})"
            r"(?=" + _KOREAN_AFTER + r")"
        ),
        korean_cues=re.compile("|".join(map(re.escape, cues["korean_cues"]))),
    )


@lru_cache(maxsize=1)
def _nam_dict() -> dict[str, tuple[int, int]]:
    """Given names of many countries in lower case, from the ``gender-guesser`` package's
    name dictionary (Jörg Michael's nam_dict: a name per line after a gender code, then a
    frequency digit per country, Great Britain, Ireland and the U.S.A. first): per name, its
    highest frequency anywhere and in those three countries. Read once, a line at a time
    (the file has 48,000 lines: a list of them all would stay in the process's memory)."""
    from importlib import resources

    out: dict[str, tuple[int, int]] = {}
    path = resources.files("gender_guesser").joinpath("data/nam_dict.txt")
    with path.open("r", encoding="iso-8859-1") as fh:
        # (split as str.splitlines splits: the file's bytes 0x85 and 0x1c–0x1e end lines too)
        for line in (part for raw in fh for part in raw.splitlines()):
            if line[:1] in ("#", "=") or len(line) < _NAM_DICT_NAME_END:
                continue
            name = line[3:_NAM_DICT_NAME_END].strip().lower()
            if not name or not name.isascii() or "+" in name:
                continue
            cells = line[_NAM_DICT_NAME_END + 1 : _NAM_DICT_FREQ_END]
            freqs = [int(c, 16) if c.isalnum() else 0 for c in cells]
            anywhere, english = max(freqs, default=0), max(freqs[:_NAM_DICT_ENGLISH], default=0)
            old = out.get(name)
            if old is not None:
                anywhere, english = max(old[0], anywhere), max(old[1], english)
            out[name] = (anywhere, english)
    return out


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """Given names not rare everywhere (Take, Free, Fine are: they are more often words)."""
    return frozenset(n for n, (f, _) in _nam_dict().items() if f >= _NAM_DICT_MIN_FREQ)


@lru_cache(maxsize=1)
def english_given_names() -> frozenset[str]:
    """Given names not rare in Great Britain, Ireland or the U.S.A.: enough, with a capital
    after them, to take two words for a name with no cue (Mite is a name elsewhere)."""
    return frozenset(n for n, (_, f) in _nam_dict().items() if f >= _NAM_DICT_MIN_FREQ)


class _LatinNames(_Scan):
    """The detectors of names in Latin letters."""

    def korean_names(self) -> None:
        """A Korean name in Hangul after a cue of any language here: "제 이름은 김민준입니다",
        "my mother 박영희 is in ward 5", "患者：이서연"."""
        cues = _latin_cues()
        for rx in (cues.korean_cues, cues.naming, cues.titled, cues.weak):
            for m in rx.finditer(self.t):
                name = cues.korean.match(self.t, m.end())
                if name is not None:
                    self.add("PERSON", *name.span(1))

    def en_names(self) -> None:
        """Names in Latin letters, in any case, after their cues (``name_cues_en.toml``):
        "my name is li na", "this is sarah connor", "Dr. O'Brien", "我叫Emily Zhou",
        "thanks, priya"; and two capitalised words inside a sentence that start with a given
        name ("… then Kevin Wong called")."""
        cues = _latin_cues()
        for m in cues.naming.finditer(self.t):
            self._latin_name(m.end(), first_any=True)
        # a writer who capitalises ("I", sentences) capitalises others' names: after a title
        # or an everyday word, one in lower case is a word ("the nurse drew 4 tubes")
        careful = writer_capitalises(self.n.cased)
        for m in cues.titled.finditer(self.t):
            if not (careful and self._lower_word_at(m.end())):
                found = self._latin_name(m.end(), first_any=False, after_title=True, titled=True)
                if found is None and not careful:
                    self._doctor_in_lower_case(m)
        for m in cues.weak.finditer(self.t):  # ("Hi it's bethany": one's own name, any case)
            self._latin_name(m.end(), first_any=False, listed_only=True, after_title=True)
        for m in cues.listed.finditer(self.t):
            if careful and self._lower_word_at(m.end()):
                continue
            # only a given name common in English-speaking countries ("for Sofia"; not "to go"),
            # and after it only listed or capitalised words ("with Tomáš Novák")
            if _FROM_A_PLACE_RE.search(self.t, max(0, m.start() - 24), m.end()):
                continue  # where someone comes from: "visiting from Sydney", "is from Georgia"
            first = _LATIN_WORD_RE.match(self.t, m.end())
            word = _fold_accents(first.group(1)) if first else ""
            if (
                first
                and word not in cues.not_names
                and (
                    word in english_given_names()
                    or (word in given_names() and self._capitalised(first.start(1)))
                )
            ):
                self._latin_name(first.start(1), first_any=True, titled=True)
        for m in _INITIALS_RE.finditer(self.n.cased):  # "J. Smith", "A.J. Thompson"
            if m.group(1).lower() not in cues.not_names:
                self.add("PERSON", *m.span())
        for m in _CAPS_RUN_RE.finditer(self.n.cased):  # "FATOU DIALLO", a name in capitals
            words = [m.group(1).lower(), *m.group(2).lower().split()]
            if (
                words[0] in given_names()
                and not any(w in cues.not_names for w in words)
                and " ".join(words) not in cues.places
            ):
                self.add("PERSON", m.start(1), m.start(1) + len(" ".join(words)))
        for m in cues.sign_off.finditer(self.t):
            span = self._latin_name(m.end(), first_any=False, dry=True)
            if span and not self.t[span[1] :].strip(" .!~)") and m.start() > 0:
                self.add("PERSON", *span)
        # a message signed with a name alone on its last line or after its last sentence:
        # "… won't work in China lol. olivia bianchi"
        signed = _SIGNED_RE.search(self.t)
        if signed:
            words = signed.group(1).split()
            if words[0] in given_names() and not any(w in cues.not_names for w in words):
                self.add("PERSON", *signed.span(1))
        here = _NAME_HERE_RE.match(self.t)  # "Leila here, …", "zhang wei again (…)"
        if here:
            self._latin_name(here.start(1), first_any=False, listed_only=True)
        for m in _EN_NAME_BEFORE_RE.finditer(self.n.cased):  # "James Wilson is my husband"
            words = list(_CHUNK_RE.finditer(m.group(1)))
            if words and all(
                self._latin_plausible(m.start(1) + w.start(), w.group().lower(), after_title=True)
                for w in words
            ):
                self.add("PERSON", *m.span(1))
        self._title_case_names()
        for m in _CAP_RUN_ACTING_RE.finditer(self.n.cased):  # "Andrei Popescu asked me …"
            words = m.group(1).lower().split()
            if not any(w in cues.not_names for w in words) and m.group(1).lower() not in (
                cues.places
            ):
                self.add("PERSON", *m.span(1))
        self._model_latin_names()
        self._latin_name_company()
        if _CJK_RE.search(self.t):
            for m in _LATIN_IN_ZH_RE.finditer(self.n.cased):  # "Tom 说他明天来"
                word = m.group(1).lower()
                if word in given_names() and word not in cues.not_names:
                    self.add("PERSON", *m.span(1))
            # a capitalised name with a Chinese title after it: "O'Connor先生", "Smith 医生"
            for m in _LATIN_ZH_TITLE_RE.finditer(self.n.cased):
                if m.group(1).lower() not in cues.not_names:
                    self.add("PERSON", *m.span(1))

    def _model_latin_names(self) -> None:
        """Names the word CRF (``safety.latin_name_model``) finds with no cue or shape the
        rules know ("li na, 34, fever since monday", "my husband david has a cough"), minus
        what the cues say is never a name, a place, or a disease named after someone."""
        cues = _latin_cues()
        for s, e, _ in latin_name_model.name_spans(self.n.cased, MODEL_ACCEPT):
            words = self.t[s:e].split()
            # a verb and its particle after a name: "sarah checking in", "tom following up"
            if (
                len(words) > 1
                and _VERB_PARTICLE_NEXT_RE.match(self.t, e)
                and words[-1].endswith("ing")
            ):
                e -= len(words.pop()) + 1
            if (
                any(w in cues.not_names for w in words)
                or self.t[s:e] in cues.places
                or _EPONYM_NEXT_RE.match(self.t, e + 2 if self.t.startswith("'s", e) else e)
                or (len(words) == 1 and not self._listed(words[0]))
                # a lone word whose capital the start of a sentence explains: as in the rules,
                # only a given name common in English-speaking countries ("Mite Infestation:")
                or (
                    len(words) == 1
                    and self.n.cased[s].isupper()
                    and not self._capitalised(s)
                    and words[0] not in english_given_names()
                )
            ):
                continue
            self.add("PERSON", s, e)

    @staticmethod
    def _listed(word: str) -> bool:
        """A word some list knows as a name: a given name of any country, a family name of
        the cues, an O'/Mc/al- name. The CRF alone does not make one unknown word a name
        ("I take Xyzal nightly"); beside another name word it may ("ms okafor's letter")."""
        parts = [p for p in _NAME_JOIN_RE.split(_fold_accents(word)) if p]
        lex = latin_name_model.lexicon()
        return bool(_NAME_PREFIX_RE.fullmatch(word)) or any(
            p in lex.given or p in lex.surnames for p in parts
        )

    def _latin_name_company(self) -> None:
        """Names beside a Latin name already found: in a list ("Ahmed and Samira Haddad",
        "Rodrigo, Valentina and little Mateo Gómez"), an alias in brackets ("Zhang Li (Zoe)",
        "Bee (Beatrice Okafor)"); and a capitalised name before 's and a family word ("Sofia's
        mum")."""
        cues = _latin_cues()
        cased = self.n.cased
        for m in _KIN_POSSESSIVE_RE.finditer(cased):
            if m.group(1).lower() not in cues.not_names:
                self.add("PERSON", *m.span(1))
        for _ in range(_LATIN_LIST_ROUNDS):
            found = [c for c in self.cands if c.kind == "PERSON" and cased[c.start].isascii()]
            added = False
            for c in found:
                # a father's name joined by bin/binti/a/l: "Nurul Aisyah binti Ahmad"
                patronym = _PATRONYM_AFTER_RE.match(cased, c.end)
                if patronym:
                    added |= self._add_new("PERSON", c.start, patronym.end())
                for rx in (_LIST_AFTER_RE, _ALIAS_AFTER_RE):
                    after = rx.match(cased, c.end)
                    if after and not any(
                        w.lower() in cues.not_names for w in after.group(1).split()
                    ):
                        added |= self._add_new("PERSON", *after.span(1))
                before = _LIST_BEFORE_RE.search(cased, 0, c.start)
                if before and before.group(1).lower() not in cues.not_names:
                    added |= self._add_new("PERSON", *before.span(1))
            if not added:
                break

    def _add_new(self, kind: str, start: int, end: int) -> bool:
        """Add a candidate unless one of this kind already covers the span."""
        if any(c.kind == kind and c.start <= start and end <= c.end for c in self.cands):
            return False
        self.add(kind, start, end)
        return True

    def _latin_plausible(
        self, start: int, word: str, listed_only: bool = False, after_title: bool = False
    ) -> bool:
        """``word`` (at ``start``) looks like a name: a listed given name or family name, an
        O'/Mc/al- name, or a capital letter inside a sentence (anywhere ``after_title``);
        ``listed_only`` without ``after_title``: only a listed name ("leila here")."""
        cues = _latin_cues()
        parts = [p for p in _NAME_JOIN_RE.split(_fold_accents(word)) if p]
        if word in cues.not_names or any(p in cues.not_names for p in parts if len(p) > 2):
            return False  # "Chinese-Canadian"
        names = given_names()
        if any(p in names or p in cues.surnames for p in parts) or _NAME_PREFIX_RE.fullmatch(word):
            return True
        # a capital letter counts (after a weak cue too: "my daughter Ananya Iyer"), but not
        # in a short word all in capitals, an abbreviation ("its HK0099127")
        if listed_only and not after_title:
            return False
        cased = self.n.cased[start : start + len(word)]
        if len(word) <= _ACRONYM_MAX and cased.isupper() and self.n.cased.upper() != self.n.cased:
            return False
        return self._capitalised(start, after_title)

    def _doctor_in_lower_case(self, cue: re.Match[str]) -> None:
        """In a message all in lower case, the word after "dr" is the doctor's name whatever
        list knows it ("is dr patel in on friday", "tell dr adeyemi"), unless it is a word
        that follows "dr" as a noun or a verb does ("my dr appointment", "dr said")."""
        if _DR_RE.fullmatch(cue.group().strip()) is None:
            return
        word = _LATIN_WORD_RE.match(self.t, cue.end())
        if word is None:
            return
        w = word.group(1)
        if (
            len(w) >= _DR_NAME_MIN
            and w not in _latin_cues().not_names
            and _AFTER_DR_WORD_RE.fullmatch(w) is None
        ):
            self.add("PERSON", *word.span(1))

    def _word_name_with_surname(self, start: int, end: int) -> bool:
        """A given name that is also a word (Will, May, Sue), written with its capital inside a
        sentence and followed by a capitalised family name: "my son Will Tran"."""
        cased = self.n.cased
        return (
            self.t[start:end] in given_names()
            and cased[start].isupper()
            and not cased[start:end].isupper()
            and _CAPITALISED_WORD_NEXT_RE.match(cased, end) is not None
        )

    def _lower_word_at(self, at: int) -> bool:
        """The word starting at ``at`` (after spaces) is written in lower case."""
        m = _LATIN_WORD_RE.match(self.t, at)
        return m is not None and self.n.cased[m.start(1)].islower()

    def _capitalised(self, start: int, after_title: bool = False) -> bool:
        """A capital letter not owed to the start of a sentence (after a title's full stop,
        "Dr. Patel", it is not), in a text not all capitals."""
        cased = self.n.cased
        if not cased[start].isupper():
            return False
        if cased.upper() == cased:
            return after_title  # a text in capitals: only a cue says a word is a name
        before = cased[:start].rstrip()
        return after_title or (bool(before) and before[-1] not in _SENTENCE_END)

    def _latin_name(
        self,
        at: int,
        *,
        first_any: bool,
        listed_only: bool = False,
        after_title: bool = False,
        titled: bool = False,
        dry: bool = False,
    ) -> tuple[int, int] | None:
        """The name of one to three words starting at ``at``; added unless ``dry``."""
        cues = _latin_cues()
        words: list[tuple[int, int]] = []
        while len(words) < _LATIN_NAME_MAX_WORDS:
            m = _LATIN_WORD_RE.match(self.t, at)
            if m is None or (words and not m.group().startswith((" ", "\t"))):
                break
            word = m.group(1)
            s, e = m.span(1)
            possessive = _POSSESSIVE_RE.search(word)
            if possessive and _EPONYM_NEXT_RE.match(self.t, m.end(1)):
                return None  # Parkinson's disease, Crohn's 患者: a disease named after someone
            if possessive:  # "sarah's mum": the name without the 's
                word, e = word[: possessive.start()], s + possessive.start()
            word_name = (
                after_title
                and not words
                and word in cues.not_names
                and self._word_name_with_surname(s, e)
            )
            if len(word) < 2 or (word in cues.not_names and not word_name):
                break
            if not (
                word_name
                or (first_any and not words)
                or self._latin_plausible(
                    s, word, listed_only=listed_only and not words, after_title=after_title
                )
                # a family name in lower case after a given name: "sarah whitlock"
                or (words and not titled and len(word) > 2 and not _NOT_SURNAME_RE.fullmatch(word))
            ):
                break
            words.append((s, e))
            at = e
            if possessive or not _text_continues(self.t, e):
                break
        if not words or self.t[words[0][0] : words[-1][1]] in cues.places:
            return None
        if (
            listed_only
            and len(words) == 1
            and self.t[slice(*words[0])] not in given_names()
            and not self._capitalised(words[0][0], after_title)
        ):
            return None  # "my friend park": a lone word in lower case that no list names
        span = (words[0][0], words[-1][1])
        if not dry:
            self.add("PERSON", *span)
        return span

    def _title_case_names(self) -> None:
        """Two or three capitalised words that start with a given or family name: "Kevin
        Wong", "Chan Tai Man", "Anna Müller": inside a sentence; or at its start with a given
        name common in English-speaking countries first, or a listed given or family name
        after it, or a family name first."""
        names = given_names()
        cues = _latin_cues()
        for m in _TITLE_RUN_RE.finditer(self.n.cased):
            words = [m.group(1).lower(), *m.group(2).lower().split()]
            while len(words) > 1 and words[-1] in cues.not_names:
                words.pop()
            first, rest = words[0], words[1:]
            known = cues.surnames | names
            if (
                not rest
                or not any(part in known for part in first.split("-"))
                or any(w in cues.not_names for w in words)
                or " ".join(words) in cues.places
            ):
                continue
            if (
                self._capitalised(m.start(1))
                # a given name common in English-speaking countries and a capitalised word
                # after it, whose capital no sentence start explains ("Tyler Brooks - SSN …")
                or first in english_given_names()
                or any(part in known for w in rest for part in w.split("-"))
                # a family name first: "Chan Tai Man", "Liu Jianhua's results"
                or (
                    first in cues.surnames
                    and (len(words) == _LATIN_NAME_MAX_WORDS or len(first) >= _SURNAME_FIRST_MIN)
                )
            ):
                self.add("PERSON", m.start(1), m.start(1) + len(" ".join(words)))


# Two or three capitalised words (found overlapping: "Yesterday Kevin Wong" holds "Kevin
# Wong"); a hyphen may join a part ("Min-jun", "Abdul-Rahman").
_CAP_WORD = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}{_LOWER}][{_LOWER}]+)?"
_TITLE_RUN_RE = re.compile(
    rf"(?<![{_UPPER}{_LOWER}])({_CAP_WORD})(?=((?: {_CAP_WORD}){{1,2}})(?![{_UPPER}{_LOWER}]))"
)
# Two or three capitalised words that then act as a person does: "Andrei Popescu asked",
# "Nimali Perera has type 2 diabetes", "Ivana Petrović from Zagreb", "Diego López, patient …"
_CAP_RUN_ACTING_RE = re.compile(
    rf"(?<![{_UPPER}{_LOWER}])({_CAP_WORD}(?: {_CAP_WORD}){{1,2}})"
    r"(?:'s)?(?=\s+(?:has|had|asked|asks|needs|needed|wants|wanted|picks|picked|will|would|"
    r"can|could|gets|got|came|comes|went|goes|takes|took|keeps|kept|is my|was my|as the name|"
    r"from [A-Z]|here\b|again\b|speaking\b)|,\s+(?:patient|my|our|his|her|aged?)\b)"
)


# A capitalised Latin word right beside Chinese (a name inside a Chinese sentence)
_LATIN_ZH_TITLE_RE = re.compile(
    rf"(?<![{_LOWER}{_UPPER}'’\-])((?:[Oo]['’]|Mc|Mac)?[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?)"
    r" ?(?:先生|女士|小姐|太太|医生|醫生|大夫|护士|護士|主任|教授|老师|老師)"
)
_LATIN_IN_ZH_RE = re.compile(
    rf"(?:(?<=[{_CJK}])|(?<=[{_CJK}] )|^)([{_UPPER}][{_LOWER}]+)(?= ?[{_CJK}])"
)


_UPPER_RE = re.compile(r"[A-Z]")
_LOWER_RE = re.compile(r"[a-z]")
_LOWER_I_RE = re.compile(r"(?<![A-Za-z'])i(?:'m|'ve|'ll|'d)?(?![A-Za-z'])")


def writer_capitalises(cased: str) -> bool:
    """The message mixes capitals and lower case and never has "i" for "I": its writer
    capitalises, names included (one who types "i'm rohit" may type any name so too)."""
    return (
        _UPPER_RE.search(cased) is not None
        and _LOWER_RE.search(cased) is not None
        and _LOWER_I_RE.search(cased) is None
    )


def _fold_accents(word: str) -> str:
    """ciarán -> ciaran, amélie -> amelie: the list of given names is written without."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _text_continues(text: str, end: int) -> bool:
    """A name may go on after ``end``: a space and a letter follow."""
    return end < len(text) - 1 and text[end] in " \t" and text[end + 1 : end + 2].isalpha()
