"""The detector that runs them all (numbers, addresses, Chinese and Latin names), settles
overlaps and maps spans back to the original text; and the entry points built on it:
``mask``, ``detect_entities`` and ``identifiers``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from safety import _text, name_model
from safety.language import detect
from safety.pii import address
from safety.pii.address import _NOT_ADDRESS_WORDS
from safety.pii.base import _CJK_RE, _DIGIT_RE, _LATIN_RE, _NOT_DIGIT_RE, _Cand
from safety.pii.checks import valid_cn_mobile
from safety.pii.names_en import (
    _FROM_A_PLACE_RE,
    _LATIN_PART_MIN,
    _latin_cues,
    _LatinNames,
    given_names,
    writer_capitalises,
)
from safety.pii.names_zh import _ZhNames
from safety.pii.names_zh_data import (
    _DISEASE_ENDINGS,
    _NAME_DOTS,
    _PLACE_NEXT_RE,
    _TRANSLIT,
    _names,
    name_lexicon,
)
from safety.pii.numbers import (
    _DATE,
    EVENT_WORDS,
    NOT_PERSONAL_WORDS,
    SENTENCE_END_RE,
    THING_WORDS,
    _NumberScan,
)
from safety.pii.vault import Vault

_MIN_REMEMBERED_LEN = 2
_NANP_LAYOUT_RE = re.compile(r"\+?1[ \-.]\(?[0-9]{3}\)?[ \-.][0-9]{3}[ \-.][0-9]{4}")
# a Japanese mobile as Japan writes it (080-8346-0846), which the UK's 0808 numbers are not
_JP_MOBILE_LAYOUT_RE = re.compile(r"0[789]0[ \-][0-9]{4}[ \-][0-9]{4}")
# the number of an invoice, an order or a queue, which reads like a local phone number
_NOT_A_PHONE_BEFORE_RE = re.compile(
    NOT_PERSONAL_WORDS + r"\s*(?:number|no\.?|#|号码?|单号)?\s*(?:is|was|:|：|是|为)?\s*$"
)
# A code of letters and five digits or more that nothing else took ("MOL-88021-3310",
# "BVH2019/0027813", "5TQ9-HA2-XK41"), or of nine digits or more ("医保 444894257320"), is
# someone's identifier, unless the words before it make it a document's or a thing's: an
# invoice, a claim, an order, a batch, a device's model, a bank's routing number
_CODE_RE = re.compile(
    r"(?<![A-Za-z0-9_\-/.])(?=[A-Za-z0-9\-/.]*[0-9])[A-Za-z0-9]+(?:[\-/.][A-Za-z0-9]+)*"
    r"(?![A-Za-z0-9_\-/@])"
)
# or digits in three groups or more, as a card prints them ("3676 3741 6039")
_SPACED_CODE_RE = re.compile(
    r"(?<![0-9A-Za-z.,:])[0-9]{2,6}(?: [0-9]{3,6}){2,4}(?![0-9A-Za-z:]|[.,][0-9])"
)
_SPACED_MIN_DIGITS = 10
_CODE_MIN_DIGITS = 5
_RUN_MIN_DIGITS = 9  # digits alone: longer than any count or amount a patient writes
_DECIMAL_END_RE = re.compile(r"[0-9][.,][0-9]{1,2}$")
# an area code or a service number's prefix, then a dash: a phone's layout, which the phone
# rules have judged (a switchboard's, a 400 line's: kept)
_PHONE_LAYOUT_RE = re.compile(r"(?:0[0-9]{2,3}|[48]00)-")
_AMOUNT_RE = re.compile(r"[0-9]{1,5}(?:[.,/][0-9]{1,4}){0,2}[a-z]{1,5}")  # 12.5mg, 500ml, 1000iu
_NOT_A_CODE_BEFORE_RE = re.compile(NOT_PERSONAL_WORDS[:-1] + "|" + THING_WORDS + ")")
# the code's own label names an employer's or a form's number (单位编号：…, 表格编号：…)
_ORGANISATIONS_CODE_RE = re.compile(r"(?:单位|表格)(?:编号|代码)\s*[:：]?\s*$")
# a diagnosis's code (E11.900, O24.4): a letter, two digits, a dot
_ICD_RE = re.compile(r"[a-z][0-9]{2}\.[0-9a-z]{1,4}")
# a code after one judged a thing's, joined to it ("transaction IDs 4200… and 4200…")
_CODE_LIST_JOIN_RE = re.compile(r"\s*(?:and|or|&|和|及|与|、|,|，|/)\s*$")
_CODE_LIST_REACH = 8
_NOT_A_CODE_REACH = 40  # before the code; and after it, in its clause
_NOT_A_CODE_AFTER = 12
_SERVICE_NUMBER_RE = re.compile(
    r"(?:86)?[48]00[0-9]{7}|1?8(?:00|33|44|55|66|77|88)[2-9][0-9]{6}|(?:44|0)80[08][0-9]{6,7}"
)
# An organisation's number by the words before it in its clause, unless a person's come after;
# a fax machine is an office's, unless it is said to be someone's ("my fax")
_ORG_PHONE_RE = re.compile(
    r"总机|總機|热线|熱線|护士站|護士站|科室|住院部|急诊|急診|前台|体检中心|医院|醫院|门诊|分院|药房|"
    r"(?<![我他她]的)(?<!家里的)(?:传真|傳真)|(?<![a-z])(?<!my )(?<!our )(?<!home )fax(?![a-z])|"
    r"(?<![a-z])(?:hotline|switchboard|helpline|ward|reception|front desk|main line|general line|"
    r"website|your|hospital|clinic|department|dept|pharmacy|nurses['’]? station)(?![a-z])"
)
# the desk named in brackets after its number
_ORG_IN_BRACKETS_AFTER_RE = re.compile(
    r"\s*[（(]\s*(?:" + _ORG_PHONE_RE.pattern + r")[^)）]{0,6}[)）]"
)
_MY_PHONE_RE = re.compile(
    r"我|他|她|家属|(?<![a-z])(?:my|mine|me|her|his|our|ours|we|their|mobile|cell|new|own)(?![a-z])"
    r"|手机|家里|老公|老婆|妈|爸"
)
_ORG_PHONE_REACH = 30
# and the UK's 03 numbers, which public bodies and charities have, as the UK writes them
# ("0300 123 4567"; a Chinese 03xx area code is written 0310-1234567)
_UK_03_RE = re.compile(r"(?:\+44\s?|0)3[0-9]{2}\s[0-9]{3}\s[0-9]{4}")
# a date right after a name is a birth date when it is at least this many years ago
_BIRTH_MIN_YEARS_AGO = 2
_DATE_AFTER_NAME_RE = re.compile(
    # (a form of address may stand between: "宋女士，1972年11月")
    r"(?:女士|先生|小姐|阿姨|叔叔|伯伯|大爷|大妈|奶奶|爷爷|老师|师傅|同学)?"
    r"[ \t,，:：、/(（]{0,3}(" + _DATE + ")"
)
# (a word of receiving or calling may stand between: "何志偉收，6628 3107", "Faiz, tel 8766 3574")
_PHONE_AFTER_NAME_RE = re.compile(
    r"(?:收|先生|女士|小姐|太太)?[ \t,，:：、/(（]{0,3}(?:tel|mob|phone|电话|電話)?[ \t.:：]{0,2}"
    r"([2-9][0-9]{3}[ \-]?[0-9]{4})(?![0-9])"
)
# an event told right after a date (not a record's name: 住院号)
_EVENT_NEXT_RE = re.compile(r"\s*(?:" + EVENT_WORDS + r")(?![号號卡证證])")
_YEAR4_RE = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_YEAR2_RE = re.compile(r"^([0-9]{2})(?:\s*年|[./])|['’]([0-9]{2})$")
# the word before one part of a Latin name recurring on its own that makes it a place
_PLACE_BEFORE_RE = re.compile(r"(?:\b(?:in|near|around|outside)|[在从]|来自)\s*$")
_LATIN_PART_RE = re.compile(r"\S+")
# a title just before a Latin name ("Dr. Parkinson"); the start of a sentence before a word
# (the text's start, or after . ! ? or a line break, perhaps with quotes); a capitalised word
# next (a family name: "Hope Lee")
_TITLE_BEFORE_RE = re.compile(r"(?:\bdr|\bdoctor|\bprof|\bmr|\bmrs|\bms)\.?\s*$")
_CYRILLIC_RE = re.compile("[а-яё]")  # names in Cyrillic take the Latin names' cues
_HANGUL_RE = re.compile("[가-힣]")  # names in Hangul follow a cue of any language here
_SENTENCE_START_RE = re.compile(r"(?:^|[.!?。！？\n])[\s\"'“‘(]*$")
_CAPITALISED_NEXT_RE = re.compile(r"[ \t]+[A-Z][a-z]")
# what makes a person of the word before it: a title, or a verb of speech a few words on
_PERSON_NEXT_RE = re.compile(
    r"\s*(?:姑娘|医生|护士|姐|先生|小姐|话|说|讲)"
    r"|(?:\s+[a-z']+){0,4}\s+(?:said|says|told|asked|mentioned|explained|called)\b"
)
# a "name" that took the street's word and its house number follows: 江虹路|1511号
# (a number that is no day of a month: 李路12号来 is a person and a date)
_STREET_TAKEN_RE = re.compile(r"[路街道巷弄](?:[0-9]{3,5}|3[2-9]|[4-9][0-9])号")
# "to" makes a place of the word after it only after a verb of going ("flying to Jordan")
_GOING_TO_RE = re.compile(
    r"\b(?:fly|flying|flew|travel\w*|trip|mov\w*|go|going|goes|went|gone|driv\w*|drove|"
    r"return\w*|back|heading|head|relocat\w*|emigrat\w*)\s+(?:back\s+)?to\s+$"
)
_PLACE_WORDS = (
    r"(?:hospital|clinic|infirmary|centre|center|medical|university|college|school|road|street|"
    r"avenue|ave|boulevard|blvd|square|station|bank|pharmacy|county|regional|lodge|"
    r"foundation|trust|institute|fund|charity)"
    # (not Park, Lane: surnames)
)
_PLACE_WORD_END_RE = re.compile(rf"\s{_PLACE_WORDS}$")
# a place's word first: "Mount Elizabeth", "Mt Sinai", "Fort William"
_PLACE_WORD_FIRST_RE = re.compile(r"(?:mount|mt|fort|lake|port|saint|st|san|santa)\.?\s")
# (or right before a name found on its own: "Mount | Elizabeth", where Elizabeth recurs)
_PLACE_WORD_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:mount|mt|fort|lake|port|saint|st|san|santa)\.?\s$"
)
# a Latin "name" that is a disease's: "Kawasaki disease", "Lou Gehrig('s disease)"
_DISEASE_WORD_END_RE = re.compile(r"\s(?:disease|syndrome|palsy|sign|test)$")
# a score, a stage, a test or a sign named after someone follows the name ("Bishop score",
# "Tanner stage 3", "Glasgow coma scale")
_SCORE_AFTER_RE = re.compile(
    r"\s+(?:coma\s+)?(?:score|stage|scale|criteria|classification|maneuver|manoeuvre|reflex|"
    r"index|grade|method|procedure|test|sign)s?(?![a-z])"
)
_CAPITALISED_THEN_PLACE_RE = re.compile(
    rf"(?:\s+[A-Z][a-z]+){{1,3}}\s+(?i:{_PLACE_WORDS})(?![a-z])"
)
_POSSESSIVE_AFTER_RE = re.compile(r"['’]s?(?![a-z])")
# a month's name with a day after it or a word of time before it is a date, no one's name
_MONTH_WORD_RE = re.compile(
    r"jan|feb|mar|apr|may|jun|june|jul|july|aug|sep|sept|oct|nov|dec|january|february|march|"
    r"april|august|september|october|november|december"
)
_DAY_AFTER_RE = re.compile(r"\.?\s+[0-3]?[0-9](?:st|nd|rd|th)?(?![0-9])")
_WHEN_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:since|until|till|in|by|from|early|late|mid|last|next)\s+$"
)
# What follows a name that a sign, a score, a test or a method is named after (巴宾斯基征,
# 阿普加评分, 韦氏智力测验, 海姆立克急救法, 贝尔面瘫, 雷诺现象), and the last character of a
# place's name (a building, a pond, a bridge, a temple: 嘉庚楼, 左家塘, 卢沟桥)
_EPONYM_NOUN_NEXT_RE = re.compile(
    r"征(?![求询集文得收])|评分|[^\s，,。]{0,2}量表|[^\s，,。]{0,3}测验|试验|"
    r"[^\s，,。]{0,2}(?:急救法|呼吸法|疗法)|现象|效应|定律|指数|分级|分期|面瘫|体育馆|分院|院区|"
    r"麻辣烫|犬|梗(?![概])"
)
# What only a medicine has after its name: a dose, side effects, a leaflet
_DOSE_NEXT_RE = re.compile(
    r"(?:的|儿童|小儿|成人|孕妇)?(?:剂量|用量|用法|副作用|说明书|不良反应|禁忌|适应症|药效|疗程|"
    r"一天几次|一次几)"
)
_PLACE_END_RE = re.compile(r"[\u4e00-\u9fff]{2,}[楼馆塘桥寺湾犬梗]$")
# an everyday word and a department's, a road's or an institution's ending: 麻醉科, 林荫路, 修道院
_UNIT_ENDINGS = frozenset("科路街院")
_UNIT_WORD_FREQ = 50
# an insurer named like a person ("Insurance: William Russell", "insurance 是 Bupa")
_INSURER_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:insurance|insurer|insurance company|保险公司|保险)\s*(?:[:：]|是|is|=)\s*$"
)
_EPONYM_AFTER_RE = re.compile(r"(?:['’]s?)?\s*(?:disease|syndrome|palsy|病|症|综合征)")

# Priority when candidates overlap: explicit cues beat shapes, shapes beat guesses.
_PRIORITY = {
    "MRN": 5,
    "PASSPORT": 5,
    "WECHAT_ID": 5,
    "OTHER_ID": 4,
    "ID_CARD": 4,
    "QQ": 4,
    "DOB": 4,
    "PLATE": 4,
    "EMAIL": 4,
    "BANK_CARD": 3,
    "PHONE": 3,
    "ADDRESS": 2,
    "PERSON": 1,
}


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int
    placeholder: str
    value: str = field(repr=False)
    # False for an identifier masked for its cue and shape although its check digit, Luhn
    # sum or date does not hold (a typo is still the patient's number)
    validated: bool = True


@dataclass(frozen=True)
class MaskResult:
    text: str
    entities: tuple[Entity, ...]


def warm_up() -> None:
    """Load word lists, jieba and the phone metadata once (the server calls this at start)."""
    _names()
    _text.tokenizer()
    _text.jieba_person_tags()
    name_lexicon()
    name_model.model()
    _latin_cues()
    import phonenumbers

    phonenumbers.parse("+8613800000000", None)


class _Detector(_NumberScan, _ZhNames, _LatinNames):
    """Every detector over one message (``run``), and the overlaps settled (``resolve``)."""

    def run(self, known: Iterable[tuple[str, str]] = ()) -> list[_Cand]:
        self.remembered(known)
        self.numbers()
        self.cued()
        self.emails()
        self.cued_phones()
        self.corrections()
        self.siblings()
        self.addresses()
        self.mentions()
        if _CJK_RE.search(self.t):
            self.zh_names()
        if _LATIN_RE.search(self.t) or _CYRILLIC_RE.search(self.t):
            self.en_names()
        if _HANGUL_RE.search(self.t):
            self.korean_names()
        self._name_bounds()
        self.recurring_names()  # what the bounds left of each name, wherever it recurs
        self._name_bounds()
        self.dates_after_names()
        self.phones_after_names()
        self.codes()
        self.cands = [c for c in self.cands if not self._service_number(c)]
        self._join_persons(self._dotted_pieces)
        self._join_persons(self._family_name_first)
        return self.resolve()

    def _join_persons(self, joins: Callable[[_Cand | None, _Cand, _Cand], bool]) -> None:
        """Two person findings, in order, are made one where ``joins(before, last, next)``
        says so (``before``: the finding before ``last``, if any)."""
        persons = sorted(
            {(c.start, c.end): c for c in self.cands if c.kind == "PERSON"}.values(),
            key=lambda c: c.start,
        )
        joined: list[_Cand] = []
        for c in persons:
            if joined and joins(joined[-2] if len(joined) > 1 else None, joined[-1], c):
                last = joined[-1]
                joined[-1] = _Cand("PERSON", last.start, c.end, last.validated and c.validated)
            else:
                joined.append(c)
        if len(joined) < len(persons):
            self.cands = [c for c in self.cands if c.kind != "PERSON"] + joined

    def _dotted_pieces(self, _before: _Cand | None, last: _Cand, c: _Cand) -> bool:
        """Pieces of one name found apart around its middle dot (乌云·其 and ·其木格) are one
        name: overlapping person findings whose union holds a dot."""
        return c.start < last.end < c.end and any(
            ch in _NAME_DOTS for ch in self.t[last.start : c.end]
        )

    def _family_name_first(self, before: _Cand | None, last: _Cand, c: _Cand) -> bool:
        """A family name, a comma, then the given names, as forms write them after their label
        ("Patient name: Turner, Mia", "Applicant 2: KONG, BO", "Name O'Connor, Sean"), found as
        two names, are one: the first word is in capitals or no given name (a list of given
        names, "Sarah, Tom", stays two; "Dr Okafor, Mary Jones here" has no form's label)."""
        cased = self.n.cased
        first = cased[last.start : last.end]
        return bool(
            # (not the family name of a given name before it, in a list: "Sophie | Clarke,
            # Hannah Lewis"; a family name of two words may be: "Dela | Cruz, Angelica")
            (
                before is None
                or last.start - before.end > 1
                or cased[before.start : before.end].split()[-1].lower() not in given_names()
            )
            and _FAMILY_COMMA_RE.fullmatch(self.t, last.end, c.start)
            and _FORM_LABEL_BEFORE_RE.search(self.t, max(0, last.start - 30), last.start)
            and _LATIN_ONE_WORD_RE.fullmatch(first)
            and (first.isupper() or first.lower() not in given_names())
            and cased[c.start : c.end].isascii()
            and not any(
                o.kind != "PERSON" and o.start < c.end and last.start < o.end for o in self.cands
            )
        )

    def _service_number(self, c: _Cand) -> bool:
        """A phone number that only organisations have: China's 400 and 800 numbers, North
        American toll-free numbers (1-800, 888, 877, 866, 855, 844, 833), the UK's 0800 and
        0808, and its 03 numbers as the UK writes them: a pharmacy's or a helpline's number,
        no patient's."""
        if c.kind != "PHONE":
            return False
        raw = self.t[c.start : c.end]
        if _NOT_A_PHONE_BEFORE_RE.search(
            self.t, max(0, c.start - 30), c.start
        ) and not valid_cn_mobile(_NOT_DIGIT_RE.sub("", raw)):
            return True  # "the invoice number is 88201934" (a mobile's number stays masked)
        if _UK_03_RE.fullmatch(raw):
            return True
        if self._organisation_number(c):
            return True
        digits = _NOT_DIGIT_RE.sub("", raw)
        if _SERVICE_NUMBER_RE.fullmatch(digits) is None or _JP_MOBILE_LAYOUT_RE.fullmatch(raw):
            return False
        # 1-800-… is also the shape of a mainland mobile (180…): the layout tells them apart
        return not valid_cn_mobile(digits) or _NANP_LAYOUT_RE.fullmatch(raw) is not None

    def codes(self) -> None:
        """A code of letters and digits that no other finding holds (``_CODE_RE``)."""
        spaced = [m for m in _SPACED_CODE_RE.finditer(self.t) if m.group().count(" ") >= 2]
        things: list[int] = []  # where the codes judged a thing's end
        for m in [*_CODE_RE.finditer(self.t), *spaced]:
            code = m.group()
            s, e = m.span()
            digits = sum(ch.isdigit() for ch in code)
            if (
                digits < (_CODE_MIN_DIGITS if any(ch.isalpha() for ch in code) else _RUN_MIN_DIGITS)
                or (" " in code and digits < _SPACED_MIN_DIGITS)
                or _AMOUNT_RE.fullmatch(code)
                or _DECIMAL_END_RE.search(code)
                or _ICD_RE.fullmatch(code)
                or (code[0].isdigit() and _PHONE_LAYOUT_RE.match(code))
                or any(c.start < e and s < c.end for c in self.cands)
            ):
                continue
            if self._thing_code(s, e) or any(
                0 <= s - end <= _CODE_LIST_REACH
                and _CODE_LIST_JOIN_RE.match(self.t[end:s]) is not None
                for end in things
            ):
                things.append(e)
                continue
            self.add("OTHER_ID", s, e, validated=False)

    def _thing_code(self, start: int, end: int) -> bool:
        """Do the words before a code, or after it in its clause, name a document or a thing?"""
        if _NOT_A_CODE_BEFORE_RE.search(
            self.t, max(0, start - _NOT_A_CODE_REACH), start
        ) or _ORGANISATIONS_CODE_RE.search(self.t, max(0, start - 16), start):
            return True
        _, stop = self.clause_window(start, end, 0, _NOT_A_CODE_AFTER)
        return _NOT_A_CODE_BEFORE_RE.search(self.t, end, stop) is not None

    def phones_after_names(self) -> None:
        """A local number of eight digits right after a person's name is their phone: a
        contact line as people write it ("陳美玲 9123 4876", "何志偉收，6628 3107")."""
        for c in [c for c in self.cands if c.kind == "PERSON"]:
            m = _PHONE_AFTER_NAME_RE.match(self.t, c.end)
            if m is not None and not any(
                o.start < m.end(1) and m.start(1) < o.end for o in self.cands
            ):
                self.add("PHONE", *m.span(1), validated=False)

    def _organisation_number(self, c: _Cand) -> bool:
        """A number named as the hospital's, a ward's or a desk's (总机, 热线, 护士站的电话,
        "the hospital switchboard", "your hotline"), with no person's cue nearer to it."""
        if valid_cn_mobile(_NOT_DIGIT_RE.sub("", self.t[c.start : c.end])):
            return False  # a mobile is a person's
        if _ORG_IN_BRACKETS_AFTER_RE.match(self.t, c.end):
            return True  # "020-87755766（护士站）"
        start, _ = self.clause_window(c.start, c.start, _ORG_PHONE_REACH, 0, SENTENCE_END_RE)
        orgs = list(_ORG_PHONE_RE.finditer(self.t, start, c.start))
        if not orgs:
            return False
        return _MY_PHONE_RE.search(self.t, orgs[-1].end(), c.start) is None

    def dates_after_names(self) -> None:
        """A date of some years ago right after a person's name is that person's birth date:
        a list of people ("刘建 1972.3.5，王梅 1974.7.9"), "Kenji Watanabe, 1979-11-30"."""
        latest = datetime.date.today().year - _BIRTH_MIN_YEARS_AGO
        for c in [c for c in self.cands if c.kind == "PERSON"]:
            m = _DATE_AFTER_NAME_RE.match(self.t, c.end)
            if m is None:
                continue
            year = _year_of(m.group(1))
            s, e = m.span(1)
            if (
                year is not None
                and year <= latest
                and not _EVENT_NEXT_RE.match(self.t, e)  # "张伟 2024年3月5日复诊": a visit's
                and not any(o.start < e and s < o.end for o in self.cands)
            ):
                self.add("DOB", s, e, validated=False)

    def _name_bounds(self) -> None:
        """A name stops where a medical word starts (王芳|糖尿病复诊: the model must keep the
        disease) and is no name when it starts inside one (杜仲泡水); a name that a hospital,
        school or street is named after is not a person there (孙逸仙纪念医院, 中山路)."""
        if not any(c.kind == "PERSON" for c in self.cands):
            return
        names = _names()
        never = names.never
        medical = (  # words of Chinese only: an English message is not segmented for this
            [
                (k.start, k.end)
                for k in _text.tokens(self.t)
                if len(k.text) > 1 and (k.text in never or k.text.endswith(_DISEASE_ENDINGS))
            ]
            if _CJK_RE.search(self.t)
            else []
        )
        kept: list[_Cand] = []
        for c in self.cands:
            if c.kind == "PERSON":
                end = c.end
                for a, b in medical:
                    if a <= c.start < b:  # it starts with the word (杜仲|泡水)
                        end = c.start
                    elif c.start < a < end < b:  # it takes the word's start (王芳糖|尿病)
                        end = a
                title = next(
                    (w for w in names.staff_titles if self.t.endswith(w, c.start, end)), ""
                )
                if title and self.t[c.start - 1 : c.start] != "@":  # a handle stays whole
                    end -= len(title)  # 张医生 read whole: the name is 张
                if end <= c.start or not any(ch.isalpha() for ch in self.t[c.start : end]):
                    continue  # (digits alone name no one: "password hosp@2024")
                if self._place_next(c.start, end) or _STREET_TAKEN_RE.match(self.t, end - 1):
                    continue
                if _DOSE_NEXT_RE.match(self.t, end):
                    continue  # 达菲儿童剂量, 潘生丁的副作用: a medicine's
                # (past the rest of a transliterated name: 巴宾斯|基征)
                rest = end
                while rest < len(self.t) and rest - end < 2 and self.t[rest] in _TRANSLIT:
                    rest += 1
                if (
                    _EPONYM_NOUN_NEXT_RE.match(self.t, end)
                    or _EPONYM_NOUN_NEXT_RE.match(self.t, rest)
                    or _PLACE_END_RE.search(self.t, c.start, end)
                ):
                    continue  # 巴宾斯基征, 阿普加评分, 汉密尔顿量表; 嘉庚楼, 左家塘, 卢沟桥
                if (
                    end - c.start >= 3
                    and self.t[end - 1] in _UNIT_ENDINGS
                    and _text.word_freq(self.t[c.start : end - 1]) >= _UNIT_WORD_FREQ
                ):
                    continue  # 麻醉科, 林荫路: a department's, a road's
                end = self._without_lowercase_tail(c.start, end)
                if (
                    self._latin_word_not_a_person(c.start, end)
                    or self._named_place(c.start, end)
                    or (
                        self.t[c.start : end].isascii()
                        and _INSURER_BEFORE_RE.search(self.t, max(0, c.start - 16), c.start)
                    )
                ):
                    continue
                c = _Cand("PERSON", c.start, end, c.validated)
            kept.append(c)
        self.cands = kept

    def _place_next(self, start: int, end: int) -> bool:
        """A place's word follows the name (孙逸仙|纪念医院), or starts in its last characters
        and runs on past it (玛丽公|主医院: the name took the royal title's first character)."""
        for k in (end, end - 1, end - 2):
            m = _PLACE_NEXT_RE.match(self.t, k) if k > start else None
            if m is not None and m.end() > end:
                return True
        return False

    def _without_lowercase_tail(self, start: int, end: int) -> int:
        """A capitalised Latin name does not end in a word written in lower case: "my father
        Emeka Okonkwo last week", "ZHANG Wei (surname first)" keep their words."""
        words = self.n.cased[start:end].split(" ")
        if (
            len(words) >= 2
            and words[0][:1].isupper()
            and words[-1].isascii()
            and words[-1].isalpha()
            and words[-1].islower()
        ):
            return end - len(words[-1]) - 1
        return end

    def _latin_word_not_a_person(self, start: int, end: int) -> bool:
        """One Latin word that is a place where someone goes or is ("flying to Jordan",
        "near Chester", "在Sydney") or a disease named after someone ("Graves' disease")."""
        word = self.t[start:end]
        if not word.replace("ö", "o").replace("é", "e").replace("ç", "c").isascii():
            return False
        if not word.isalpha():
            return False
        if _EPONYM_AFTER_RE.match(self.t, end):
            return True
        if _MONTH_WORD_RE.fullmatch(word) and (
            _DAY_AFTER_RE.match(self.t, end)
            or _WHEN_BEFORE_RE.search(self.t, max(0, start - 8), start)
        ):
            return True  # "discharged Mar 4", "since Jan." (not "May Chan called")
        cues = _latin_cues()
        if word in cues.eponyms and not _TITLE_BEFORE_RE.search(self.t, max(0, start - 9), start):
            return True  # "Hashimoto 要吃什么药", "my mum's Parkinson's" (not "Dr. Parkinson")
        if (
            word in cues.word_names
            and _SENTENCE_START_RE.search(self.t, 0, start)
            and not _CAPITALISED_NEXT_RE.match(self.n.cased, end)
            and not _PERSON_NEXT_RE.match(self.t, end)
        ):
            # "Hope you can help", "Drew blood at 7" (not "Hope Lee called", "Sue at the front
            # desk said …", "Grace 姑娘話 …")
            return True
        return _POSSESSIVE_AFTER_RE.match(self.t, end) is None and self._place_before(start)

    def _named_place(self, start: int, end: int) -> bool:
        """A Latin name that a place, an institution or a disease is named after, with more
        capitalised words between ("Tan Tock Seng Hospital", "Pamela Youde Nethersole Eastern
        Hospital"), the place's word in it ("Madison Ave", "Mount Elizabeth", "Hope Lodge") or
        the disease's ("Kawasaki disease", "Lou Gehrig's disease")."""
        cased = self.n.cased
        if not cased[start:end].isascii():
            return False
        if (
            _PLACE_WORD_END_RE.search(self.t, start, end)
            or _PLACE_WORD_FIRST_RE.match(self.t, start, end)
            or _PLACE_WORD_BEFORE_RE.search(self.t, max(0, start - 8), start)
        ):
            return True
        if _DISEASE_WORD_END_RE.search(self.t, start, end) or (
            " " in self.t[start:end] and _EPONYM_AFTER_RE.match(self.t, end)
        ):
            return True
        if _SCORE_AFTER_RE.match(self.t, end):
            return True  # "Bishop score", "Tanner stage"
        return _CAPITALISED_THEN_PLACE_RE.match(cased, end) is not None

    def _place_before(self, start: int) -> bool:
        """The words before ``start`` make a place of what follows: "in", "near", 在, "came
        from" ("from" alone does not: "change the name from mia to mia lopez")."""
        return any(
            rx.search(self.t, max(0, start - 24), start) is not None
            for rx in (_PLACE_BEFORE_RE, _GOING_TO_RE, _FROM_A_PLACE_RE)
        )

    def remembered(self, known: Iterable[tuple[str, str]]) -> None:
        """Values the conversation already revealed are masked again wherever they recur."""
        for kind, value in known:
            needle = _text.normalize(value).text
            if len(needle) < _MIN_REMEMBERED_LEN:
                continue
            start = self.t.find(needle)
            while start != -1:
                self.add(kind, start, start + len(needle))
                start = self.t.find(needle, start + len(needle))

    def recurring_names(self) -> None:
        """A name found once is masked wherever else it appears in the message (张浩说… 张浩的)."""
        cased = self.n.cased
        # value -> whether every finding of it starts with a capital
        capital: dict[str, bool] = {}

        def note(value: str, start: int) -> None:
            capital[value] = capital.get(value, True) and cased[start].isupper()

        for c in self.cands:
            if c.kind != "PERSON" or c.end - c.start < _MIN_REMEMBERED_LEN:
                continue
            value = self.t[c.start : c.end]
            note(value, c.start)
            if value.isascii() and " " in value:
                # each part of a name in Latin letters recurs on its own too: "Ethan Clarke … Ethan"
                for m in _LATIN_PART_RE.finditer(value):
                    part = m.group()
                    if len(part) >= _LATIN_PART_MIN and part not in _latin_cues().not_names:
                        note(part, c.start + m.start())
        # in a message that uses capitals, a name found capitalised recurs only capitalised:
        # "Mark O'Brien … please mark the date", "Grace Lee … a grace period"
        uses_case = writer_capitalises(cased)
        for value, was_capital in capital.items():
            latin = value[0].isascii()
            # a Latin-letter name only as a whole word (Will, not "will" inside "willing")
            edge = r"(?<![a-z0-9])" if latin else ""
            tail = r"(?![a-z0-9])" if value[-1].isascii() else ""
            for m in re.finditer(edge + re.escape(value) + tail, self.t):
                if latin and uses_case and was_capital and not cased[m.start()].isupper():
                    continue
                if latin and " " not in value and self._place_before(m.start()):
                    continue  # "Jordan Lin … back from Jordan": a place there
                if latin and self._named_place(m.start(), m.end()):
                    continue  # "Tan Wei Ling … Tan Tock Seng Hospital"
                self.add("PERSON", *m.span())

    def addresses(self) -> None:
        """Postal addresses, read as a structure of parts (``safety.pii.address``); not the
        hospital's own ("你们医院地址是中山二路58号吗", "is your clinic at 12 Hill Road?")."""
        spans: list[tuple[int, int]] = []
        if _CJK_RE.search(self.t):
            spans += address.zh_addresses(self.t)
        if _DIGIT_RE.search(self.t):
            spans += address.en_addresses(self.t, self.n.cased, _NOT_ADDRESS_WORDS)
            spans += [
                (s, e)
                for s, e in address.pinyin_addresses(self.t)
                if not any(a < e and s < b for a, b in spans)
            ]
        for s, e in spans:
            if not address.institution_before(self.t, s):
                self.add("ADDRESS", s, e)

    def resolve(self) -> list[_Cand]:
        ordered = sorted(
            self.cands,
            # a checked number before one masked for its cue alone, then the likelier kind
            key=lambda c: (not c.validated, -_PRIORITY[c.kind], -(c.end - c.start), c.start),
        )
        chosen: list[_Cand] = []
        dropped: list[_Cand] = []
        for c in ordered:
            if all(c.end <= o.start or o.end <= c.start for o in chosen):
                chosen.append(c)
            else:
                dropped.append(c)
        return sorted(_whole(chosen, dropped), key=lambda c: c.start)


_NOT_IDENTIFIERS = frozenset({"PERSON", "ADDRESS"})
_FAMILY_COMMA_RE = re.compile(r", ?")
# a form's label before a name written family name first ("Patient name:", "Applicant 2:",
# "姓名/Name：", "put exactly:")
_FORM_LABEL_BEFORE_RE = re.compile(
    r"(?:name|姓名|applicant|patient|holder|insured|member|exactly)[^\n,.;]{0,14}[:：]?\s*$"
)
_LATIN_ONE_WORD_RE = re.compile(r"(?:[A-Z][a-z]?['’])?[A-Z][A-Za-z'’\-]+")


def _year_of(date: str) -> int | None:
    """The year of a date as ``_DATE`` reads it, four digits or two ("85年3月12号")."""
    four = _YEAR4_RE.search(date)
    if four is not None:
        return int(four.group())
    two = _YEAR2_RE.search(date)
    if two is None:
        return None
    year = int(two.group(1) or two.group(2))
    return year + (1900 if year > datetime.date.today().year % 100 else 2000)


def _whole(chosen: list[_Cand], dropped: list[_Cand]) -> list[_Cand]:
    """An identifier's mask covers all of it: where a finding that lost to an overlapping one
    reaches further (a check digit in brackets, the rest of a number), the winner is widened
    to cover both, as long as it meets no other finding. Names and addresses stay as found."""
    for d in dropped:
        if d.kind in _NOT_IDENTIFIERS:
            continue
        hits = [i for i, c in enumerate(chosen) if c.start < d.end and d.start < c.end]
        if len(hits) != 1 or chosen[hits[0]].kind in _NOT_IDENTIFIERS:
            continue
        c = chosen[hits[0]]
        start, end = min(c.start, d.start), max(c.end, d.end)
        if (start, end) == (c.start, c.end) or any(
            o is not c and o.start < end and start < o.end for o in chosen
        ):
            continue
        chosen[hits[0]] = _Cand(c.kind, start, end, c.validated)
    return chosen


def detect_entities(text: str, known: Iterable[tuple[str, str]] = ()) -> list[tuple[str, int, int]]:
    """(kind, start, end) spans of personal information in the original ``text``.

    ``known`` holds (kind, value) pairs already seen in the conversation.
    """
    return [(c.kind, c.start, c.end) for c in _detect(text, known)]


def _detect(text: str, known: Iterable[tuple[str, str]]) -> list[_Cand]:
    """The detector's findings, in offsets of the original ``text``. An identifier typed one
    character at a time (护照E 9 7 2 1 4 0 3 6, 车牌皖 A 9 2 K 7 1) is read with its spaces
    taken out."""
    out = _found(text, known)
    runs = [m.span() for m in _SPACED_CHARS_RE.finditer(text)]
    runs = [(a, b) for a, b in runs if not any(c.start <= a and b <= c.end for c in out)]
    if runs:
        kept = [i for i in range(len(text)) if not (text[i] == " " and _inside(i, runs))]
        compact = "".join(text[i] for i in kept)
        for c in _found(compact, known):
            start, end = kept[c.start], kept[c.end - 1] + 1
            if (
                c.kind not in _NOT_IDENTIFIERS
                and any(a < end and start < b for a, b in runs)
                and not any(o.start < end and start < o.end for o in out)
            ):
                out.append(_Cand(c.kind, start, end, False))
        out.sort(key=lambda c: c.start)
    breaks = [m.span() for m in _DIGIT_LINE_BREAK_RE.finditer(text)]
    if breaks:
        out = _rejoined(text, known, out, breaks)
    return out


def _rejoined(
    text: str, known: Iterable[tuple[str, str]], out: list[_Cand], breaks: list[tuple[int, int]]
) -> list[_Cand]:
    """A number a line break cut in two (a form pasted from a narrow window: 身份证：1501021980
    / 06073589) is read whole: with the break taken out, an identifier found across it
    replaces the pieces found on either side, if they were only unvalidated identifiers. Two
    numbers on two lines make a run too long for any identifier: nothing is found across.
    (``split_lines`` takes the numbers whose check holds with no cue; this reads the rest after
    their cue, and other countries' phones.)"""
    kept = [i for i in range(len(text)) if not any(a <= i < b for a, b in breaks)]
    compact = "".join(text[i] for i in kept)
    for c in _found(compact, known):
        start, end = kept[c.start], kept[c.end - 1] + 1
        if c.kind not in _REJOINED_KINDS:
            continue
        if not any(start < a and b < end for a, b in breaks):
            continue
        pieces = [o for o in out if o.start < end and start < o.end]
        if any(
            o.kind in _NOT_IDENTIFIERS or o.validated or o.start < start or o.end > end
            for o in pieces
        ):
            continue
        out = [o for o in out if o not in pieces] + [_Cand(c.kind, start, end, c.validated)]
    return sorted(out, key=lambda c: c.start)


# the kinds whose shape says where they end (a code of any length would run on into the next
# line's numbering)
_REJOINED_KINDS = frozenset({"ID_CARD", "PHONE", "BANK_CARD", "PASSPORT"})
# a line break (and the spaces around it) between two digits
_DIGIT_LINE_BREAK_RE = re.compile(r"(?<=[0-9])[ \t]*\r?\n[ \t]*(?=[0-9])")

# five characters or more, each alone between spaces
_SPACED_CHARS_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z0-9\u4e00-\u9fff](?: [A-Za-z0-9]){4,}(?![A-Za-z0-9])"
)


def _inside(i: int, runs: list[tuple[int, int]]) -> bool:
    return any(a < i < b for a, b in runs)


def _found(text: str, known: Iterable[tuple[str, str]]) -> list[_Cand]:
    norm = _text.normalize(text)
    out: list[_Cand] = []
    for c in _Detector(norm).run(known):
        s, e = norm.original_span(c.start, c.end)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(_Cand(c.kind, s, e, c.validated))
    return out


def identifiers(text: str) -> list[tuple[str, str]]:
    """(kind, value) of the identifiers in ``text`` that need no name model: phone numbers,
    ID, bank and record numbers, e-mail and street addresses. The output guard reads a model
    answer with it for details the patient never gave."""
    detector = _Detector(_text.normalize(text))
    detector.numbers()
    detector.cued()
    detector.emails()
    detector.addresses()
    return [(c.kind, detector.t[c.start : c.end]) for c in detector.cands]


def mask(text: str, vault: Vault | None = None, lang: str | None = None) -> MaskResult:
    """Replace personal information by typed placeholders; ``vault`` remembers the values."""
    if vault is None:
        vault = Vault()
    ph_lang = vault.lang or (lang if lang in ("zh", "en") else None) or detect(text)
    parts: list[str] = []
    entities: list[Entity] = []
    pos = 0
    for c in _detect(text, vault.known_values()):
        kind, s, e = c.kind, c.start, c.end
        value = text[s:e]
        ph = vault.placeholder_for(kind, value, ph_lang)
        entities.append(Entity(kind, s, e, ph, value, c.validated))
        parts.append(text[pos:s])
        parts.append(ph)
        pos = e
    parts.append(text[pos:])
    return MaskResult("".join(parts), tuple(entities))
