"""Mask personal information in patient text before any model, log or store sees it.

Detection runs on the normalised text (full-width digits, traditional characters) and maps
every span back to the original text, so offsets always refer to what the patient wrote.
Numbers are validated, not just shaped: Chinese ID check digits and birth dates, Luhn for bank
cards, real mobile prefixes, ``phonenumbers`` for landlines. Names come from cues ("我叫",
"my name is"), titles ("张伟医生", "Dr."), and jieba tokens that start with a surname, minus
a shipped list of herbs, drugs and everyday words that are never names.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from safety import _text
from safety.language import detect

KINDS: tuple[str, ...] = (
    "PERSON", "PHONE", "ID_CARD", "BANK_CARD", "EMAIL", "ADDRESS", "PASSPORT", "MRN",
    "WECHAT_ID", "OTHER_ID",
)
ZH_LABELS: dict[str, str] = {
    "PERSON": "姓名", "PHONE": "电话", "ID_CARD": "身份证", "BANK_CARD": "银行卡",
    "EMAIL": "邮箱", "ADDRESS": "地址", "PASSPORT": "护照", "MRN": "病历号",
    "WECHAT_ID": "微信号", "OTHER_ID": "证件号",
}
_ZH_TO_KIND = {v: k for k, v in ZH_LABELS.items()}

PLACEHOLDER_RE: re.Pattern[str] = re.compile(
    r"\[(?:(?:" + "|".join(ZH_LABELS.values()) + r")[1-9][0-9]*"
    r"|(?:" + "|".join(KINDS) + r")_[1-9][0-9]*)\]"
)

VAULT_FORMAT = 1

# Valid mainland mobile prefixes (first three digits).
_MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_MIN_YEAR = 1900
_BANK_LENGTHS = range(16, 20)
_MIN_DIGITS_FOR_PHONE_LIB = 7
_PHONE_CUE_WINDOW = 12
_NAME_MAX_GIVEN = 2
_COMMON_WORD_FREQ = 50
_MIN_REMEMBERED_LEN = 2  # jieba dictionary frequency above which a word is "ordinary"

# Priority when candidates overlap: explicit cues beat shapes, shapes beat guesses.
_PRIORITY = {
    "MRN": 5, "PASSPORT": 5, "WECHAT_ID": 5, "OTHER_ID": 4, "ID_CARD": 4, "EMAIL": 4,
    "BANK_CARD": 3, "PHONE": 3, "ADDRESS": 2, "PERSON": 1,
}

_DIGIT_RUN_RE = re.compile(
    r"(?<![0-9a-z.])\+?[0-9](?:[ \-]?[0-9]){5,22}(?:[ \-]?x)?(?![0-9a-z])"
)
_EMAIL_RE = re.compile(
    r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
)
_CUE_SEP = r"\s*(?:号码|号)?\s*(?:是|为|:|#)?\s*"
_MRN_RE = re.compile(
    r"(?:病历号|病历|住院号|门诊号|就诊卡号|就诊卡|就诊号|病案号|登记号|健康卡号|医保卡号|"
    r"mrn|medical record(?:\s+(?:number|no\.?))?|hospital (?:number|no\.?)|patient id)"
    + _CUE_SEP + r"([a-z0-9][a-z0-9\-]{3,19})(?![a-z0-9])"
)
_PASSPORT_CUE_RE = re.compile(
    r"(?:护照|passport(?:\s*(?:no\.?|number|#))?)" + _CUE_SEP
    + r"([a-z]{1,2}[0-9]{6,9}|[0-9]{8,9})(?![a-z0-9])"
)
_PASSPORT_BARE_RE = re.compile(
    r"(?<![a-z0-9])(e[0-9]{8}|e[a-hj-np-z][0-9]{7}|g[0-9]{8})(?![a-z0-9])"
)
_WECHAT_RE = re.compile(
    r"(?:微信|vx|wx|v信|weixin|wechat(?:\s*id)?)" + r"\s*(?:号码|号|id)?\s*(?:是|为|:)?\s*"
    + r"([a-z][a-z0-9_\-]{5,19})(?![a-z0-9_\-])"
)
_PERMIT_RE = re.compile(
    r"(?:港澳通行证|通行证|回乡证|台胞证|澳门身份证|香港身份证|居留证)" + _CUE_SEP
    + r"([a-z]?[0-9]{7,10}(?:\([0-9a]\))?)(?![a-z0-9])"
)
_HKID_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2}[0-9]{6})\s?\(?([0-9A])\)?(?![A-Za-z0-9])")
_TWID_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][12][0-9]{8})(?![A-Za-z0-9])")
_PLATE_RE = re.compile(
    r"(?<![a-z0-9])[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[a-hj-np-z][·\s]?[a-hj-np-z0-9]{5,6}(?![a-z0-9])"
)
_PHONE_CUE_RE = re.compile(
    r"(电话|手机|座机|联系|号码|热线|打|tel|phone|call|fax|mobile|cell|ring)"
)

_CJK = r"\u4e00-\u9fff"
_ZH_NUM = r"0-9一二三四五六七八九十百零〇两"
_ADDR_ROAD = (
    rf"(?:[{_CJK}]{{2,6}}(?:省|自治区))?(?:[{_CJK}]{{1,6}}?(?:市|州|盟))?"
    rf"(?:[{_CJK}]{{1,6}}?(?:区|县|旗))?(?:[{_CJK}]{{1,8}}?(?:镇|乡|街道))?"
    rf"[{_CJK}0-9]{{1,10}}?(?:路|街|大道|巷|胡同|弄|里|村)"
    rf"[{_ZH_NUM}]+(?:号|弄|巷)"
)
_ADDR_UNIT = rf"(?:[{_ZH_NUM}a-z\-]+(?:号院|号楼|栋|幢|座|单元|楼|层|室|号|户))"
_ADDR_ESTATE = rf"(?:[{_CJK}]{{0,8}}?(?:小区|花园|大厦|公寓|苑|院|家园|新村|广场|公馆|府))"
_ADDR_ZH_RE = re.compile(
    rf"{_ADDR_ROAD}{_ADDR_ESTATE}?{_ADDR_UNIT}*(?:[0-9]{{2,5}}(?![0-9]))?"
    rf"|[{_CJK}]{{2,8}}?(?:小区|花园|家园|新村|公寓|大厦|苑){_ADDR_UNIT}{{1,4}}(?:[0-9]{{2,5}}(?![0-9]))?"
)
_ADDR_LEAD_RE = re.compile(
    r"^(?:.*?(?:住在|住址|地址|家住|家在|寄到|送到|位于|搬到|来自|住|在|是|到|于))+"
)
_ADDR_EN_RE = re.compile(
    r"(?<![a-z0-9])[0-9]{1,5}[a-z]?\s+(?:[a-z]+\s+){1,3}"
    r"(?:street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|crescent|close|highway|hwy)\b\.?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|flat|#)\.?\s*[a-z0-9\-]+)?"
)

_ZH_NAME_CUE_RE = re.compile(
    r"(?P<strong>我叫|我的名字是|名字叫|名字是|姓名|联系人|收件人|本人)"
    r"|(?P<weak>我是|患者|病人|家属|病患|"
    r"我(?:的)?(?:妈妈|妈|爸爸|爸|父亲|母亲|老公|老婆|爱人|丈夫|妻子|儿子|女儿|奶奶|爷爷|外婆|"
    r"姥姥|外公|姥爷|哥哥|哥|姐姐|姐|弟弟|弟|妹妹|妹|婆婆|公公|岳母|岳父|孩子|闺女|同事|朋友))"
)
_ZH_TITLE_RE = re.compile(r"(医生|大夫|护士长|护士|主任|教授|院长|先生|女士|小姐|老师)")
_ZH_SURNAME_ONLY_RE = re.compile(r"(?<![贵尊])姓([" + _CJK + r"])(?![名氏别])")
_EN_NAME_CUE_RE = re.compile(
    r"(?i:\b(?:my name is|my name's|name is|name:|this is|i am|i'm|patient|"
    r"my (?:mother|father|mom|mum|dad|wife|husband|son|daughter)(?:'s name is| is called|,)?))"
    r"\s+([A-Z][a-z]+(?:[ \-][A-Z][a-z]+){0,2})"
)
_EN_TITLE_RE = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Miss|Prof|Doctor|Nurse)\.?\s+([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
)
_EN_NOT_NAMES = frozenset({
    "I", "Not", "Sure", "So", "Very", "Really", "Having", "Going", "Feeling", "Worried",
    "Pregnant", "Here", "Back", "Diabetic", "The", "A", "An", "Also", "Just", "Still", "Now",
    "In", "On", "At", "From", "Taking", "Currently", "Allergic", "Asking", "Writing", "Calling",
    "Concerned", "Scared", "Afraid", "Sorry", "Fine", "Okay", "Ok", "Well", "Sick", "Better",
    "Worse", "Tired", "Over", "Under", "About", "Trying", "Wondering", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Thank", "Thanks", "Hello", "Hi",
    "Dear", "Please", "Yes", "No", "Type", "Male", "Female", "Age", "English", "Chinese",
})


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int
    placeholder: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class MaskResult:
    text: str
    entities: tuple[Entity, ...]


class VaultFormatError(ValueError):
    """Serialized vault data is not readable (the message never contains values)."""


def _canonical(kind: str, value: str) -> str:
    """Key under which two spellings of the same value share a placeholder."""
    if kind in ("PHONE", "BANK_CARD"):
        digits = re.sub(r"[^0-9]", "", _text.normalize(value).text)
        if kind == "PHONE" and len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif kind == "PHONE" and len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return digits
    norm = _text.normalize(value).text
    if kind in ("ID_CARD", "EMAIL", "PASSPORT", "MRN", "WECHAT_ID", "OTHER_ID"):
        return re.sub(r"[\s\-]", "", norm)
    return re.sub(r"\s+", " ", norm).strip()


class Vault:
    """Per-conversation map placeholder <-> original value.

    The same (kind, value) always gets the same placeholder, numbered per kind; the
    placeholder language is fixed by the first use so a conversation never mixes styles.
    """

    def __init__(self) -> None:
        self._lang: str | None = None
        self._by_key: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    @property
    def lang(self) -> str | None:
        return self._lang

    def placeholder_for(self, kind: str, value: str, lang: str) -> str:
        if kind not in ZH_LABELS:
            raise ValueError(f"unknown PII kind {kind!r}")
        if self._lang is None:
            self._lang = "zh" if lang == "zh" else "en"
        key = (kind, _canonical(kind, value))
        existing = self._by_key.get(key)
        if existing is not None:
            return existing
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        ph = f"[{ZH_LABELS[kind]}{n}]" if self._lang == "zh" else f"[{kind}_{n}]"
        self._by_key[key] = ph
        self._values[ph] = value
        return ph

    def known_values(self) -> list[tuple[str, str]]:
        """(kind, value) pairs in this vault, for re-masking values that recur."""
        return [(kind, self._values[ph]) for (kind, _), ph in self._by_key.items()]

    def restore(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            return self._values.get(m.group(), m.group())

        return PLACEHOLDER_RE.sub(sub, text)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Vault(lang={self._lang!r}, entries={len(self._values)})"

    def to_bytes(self) -> bytes:
        entries = [
            {"kind": kind, "key": key, "placeholder": ph, "value": self._values[ph]}
            for (kind, key), ph in self._by_key.items()
        ]
        doc = {"format": VAULT_FORMAT, "lang": self._lang, "entries": entries}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Vault:
        try:
            doc = json.loads(data.decode("utf-8"))
            if doc.get("format") != VAULT_FORMAT:
                raise VaultFormatError("unsupported vault format")
            vault = cls()
            vault._lang = doc.get("lang")
            for e in doc["entries"]:
                kind, key, ph, value = e["kind"], e["key"], e["placeholder"], e["value"]
                if kind not in ZH_LABELS or not PLACEHOLDER_RE.fullmatch(ph):
                    raise VaultFormatError("malformed vault entry")
                vault._by_key[(kind, key)] = ph
                vault._values[ph] = value
                n = int(re.sub(r"[^0-9]", "", ph))
                vault._counts[kind] = max(vault._counts.get(kind, 0), n)
        except VaultFormatError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VaultFormatError(f"unreadable vault data ({type(exc).__name__})") from None
        return vault


# --- validators ---------------------------------------------------------------------------


def valid_cn_id(number: str) -> bool:
    """18-character mainland ID: region, real birth date, GB 11643 check character."""
    n = number.upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return False
    if not (n[0] in "123456" or n[:2] in ("81", "82", "83")):
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    if born.year < _ID_MIN_YEAR or born > dt.date.today():
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def valid_cn_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[:3] in _MOBILE_PREFIXES


def valid_hkid(letters: str, digits: str, check: str) -> bool:
    vals = [36] if len(letters) == 1 else []
    vals += [ord(c) - ord("A") + 10 for c in letters]
    vals += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(vals, range(9, 1, -1), strict=True))
    expect = (11 - total % 11) % 11
    return check == ("A" if expect == 10 else str(expect))


_TW_LETTERS = {c: v for v, c in enumerate("ABCDEFGHJKLMNPQRSTUVXYWZIO", start=10)}


def valid_twid(value: str) -> bool:
    code = _TW_LETTERS.get(value[0])
    if code is None:
        return False
    nums = [code // 10, code % 10] + [int(c) for c in value[1:]]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(n * w for n, w in zip(nums, weights, strict=True)) % 10 == 0


# --- word lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    surnames: frozenset[str]
    compound: frozenset[str]
    never: frozenset[str]
    given: frozenset[str]


@lru_cache(maxsize=1)
def _names() -> _Names:
    words = [w for line in _text.read_lines("surnames_zh.txt") for w in line.split()]
    never = [w for line in _text.read_lines("never_names_zh.txt") for w in line.split()]
    return _Names(
        surnames=frozenset(w for w in words if len(w) == 1),
        compound=frozenset(w for w in words if len(w) == 2),
        never=frozenset(never),
        given=frozenset(c for line in _text.read_lines("given_name_chars_zh.txt") for c in line
                        if not c.isspace()),
    )


def _never_names() -> Iterable[str]:
    return _names().never


_text.register_words(_never_names)


def warm_up() -> None:
    """Load word lists, jieba and the phone metadata once (the server calls this at start)."""
    _names()
    _text.tokenizer()
    _text.jieba_name_words()
    import phonenumbers

    phonenumbers.parse("+8613800000000", None)


# --- detection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cand:
    kind: str
    start: int  # normalised offsets
    end: int


class _Detector:
    def __init__(self, norm: _text.Normalized) -> None:
        self.n = norm
        self.t = norm.text
        self.cands: list[_Cand] = []

    def add(self, kind: str, start: int, end: int) -> None:
        if end > start:
            self.cands.append(_Cand(kind, start, end))

    def run(self, known: Iterable[tuple[str, str]] = ()) -> list[_Cand]:
        self.remembered(known)
        self.numbers()
        self.cued()
        self.emails()
        self.addresses()
        if re.search(f"[{_CJK}]", self.t):
            self.zh_names()
        if re.search("[a-z]", self.t):
            self.en_names()
        return self.resolve()

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

    def numbers(self) -> None:
        for m in _DIGIT_RUN_RE.finditer(self.t):
            raw = m.group()
            digits = re.sub(r"[^0-9x]", "", raw)
            s, e = m.span()
            if len(digits) == 18 and valid_cn_id(digits):
                self.add("ID_CARD", s, e)
                continue
            if "x" in digits:
                continue
            local = digits
            for prefix in ("0086", "86"):
                if local.startswith(prefix) and len(local) == 11 + len(prefix):
                    local = local[len(prefix):]
            if valid_cn_mobile(local):
                self.add("PHONE", s, e)
            elif len(digits) in _BANK_LENGTHS and luhn_ok(digits):
                self.add("BANK_CARD", s, e)
        if sum(c.isdigit() for c in self.t) >= _MIN_DIGITS_FOR_PHONE_LIB:
            self.landlines()

    def landlines(self) -> None:
        import phonenumbers

        taken = [(c.start, c.end) for c in self.cands]
        for match in phonenumbers.PhoneNumberMatcher(self.t, "CN", phonenumbers.Leniency.VALID):
            s, e = match.start, match.end
            if any(s < b and a < e for a, b in taken):
                continue
            if (s > 0 and self.t[s - 1].isdigit()) or (e < len(self.t) and self.t[e].isdigit()):
                continue
            raw = match.raw_string.lstrip("(")
            cue = _PHONE_CUE_RE.search(self.t[max(0, s - _PHONE_CUE_WINDOW):s])
            if raw.startswith(("+", "0")) or cue:
                self.add("PHONE", s, e)

    def cued(self) -> None:
        for rx, kind in ((_MRN_RE, "MRN"), (_PASSPORT_CUE_RE, "PASSPORT"),
                         (_WECHAT_RE, "WECHAT_ID"), (_PERMIT_RE, "OTHER_ID")):
            for m in rx.finditer(self.t):
                self.add(kind, *m.span(1))
        for m in _PASSPORT_BARE_RE.finditer(self.t):
            self.add("PASSPORT", *m.span(1))
        for m in _HKID_RE.finditer(self.n.cased):
            if valid_hkid(m.group(1)[:-6], m.group(1)[-6:], m.group(2)):
                self.add("OTHER_ID", m.start(1), m.end())
        for m in _TWID_RE.finditer(self.n.cased):
            if valid_twid(m.group(1)):
                self.add("OTHER_ID", *m.span(1))
        for m in _PLATE_RE.finditer(self.t):
            if any(c.isdigit() for c in m.group()):
                self.add("OTHER_ID", *m.span())

    def emails(self) -> None:
        for m in _EMAIL_RE.finditer(self.t):
            self.add("EMAIL", *m.span())

    def addresses(self) -> None:
        for m in _ADDR_ZH_RE.finditer(self.t):
            s, e = m.span()
            lead = _ADDR_LEAD_RE.match(m.group())
            if lead:
                s += lead.end()
            if e - s >= 4:
                self.add("ADDRESS", s, e)
        for m in _ADDR_EN_RE.finditer(self.t):
            self.add("ADDRESS", *m.span())

    # -- names --

    def _is_cjk(self, s: str) -> bool:
        return all("\u4e00" <= c <= "\u9fff" for c in s)

    def _surname_len(self, pos: int) -> int:
        names = _names()
        if self.t[pos:pos + 2] in names.compound:
            return 2
        return 1 if self.t[pos:pos + 1] in names.surnames else 0

    def _plausible(self, cand: str, strong: bool) -> bool:
        """Strong cues ("我叫") accept any Chinese word that is not a never-name; otherwise
        the word must be rare in jieba's dictionary and use given-name characters."""
        names = _names()
        if not self._is_cjk(cand) or cand in names.never:
            return False
        if any(cand.startswith(w) or cand.endswith(w) for w in names.never if len(w) >= 2
               and len(w) <= len(cand)):
            return False
        if strong:
            return True
        if _text.word_freq(cand) >= _COMMON_WORD_FREQ:
            return False
        given = cand[self._surname_len_of(cand):]
        return bool(given) and all(c in names.given for c in given)

    def _surname_len_of(self, cand: str) -> int:
        names = _names()
        return 2 if cand[:2] in names.compound else 1

    def _name_at(self, pos: int, strong: bool) -> tuple[int, int] | None:
        """Longest plausible name starting at ``pos`` that ends on a token boundary."""
        sl = self._surname_len(pos)
        if not sl:
            return None
        bounds = _text.boundaries(self.t)
        for given in range(_NAME_MAX_GIVEN, 0, -1):
            end = pos + sl + given
            if end > len(self.t) or end not in bounds:
                continue
            if self._plausible(self.t[pos:end], strong):
                return pos, end
        return None

    def zh_names(self) -> None:
        for m in _ZH_NAME_CUE_RE.finditer(self.t):
            pos = m.end()
            while pos < len(self.t) and self.t[pos] in " :：,，":
                pos += 1
            found = self._name_at(pos, strong=m.group("strong") is not None)
            if found:
                self.add("PERSON", *found)
        for m in _ZH_TITLE_RE.finditer(self.t):
            s = m.start()
            for length in (3, 2):
                pos = s - length
                if pos < 0:
                    continue
                found = self._name_at(pos, strong=False)
                if found and found[1] == s:
                    self.add("PERSON", *found)
                    break
        for m in _ZH_SURNAME_ONLY_RE.finditer(self.t):
            if m.group(1) in _names().surnames:
                self.add("PERSON", *m.span(1))
        nr = _text.jieba_name_words()
        for tok in _text.tokens(self.t):
            w = tok.text
            if not (2 <= len(w) <= 4) or not self._is_cjk(w):
                continue
            sl = self._surname_len(tok.start)
            if not sl or len(w) - sl not in (1, 2):
                continue
            if (w in nr or _text.word_freq(w) == 0) and self._plausible(w, strong=False):
                self.add("PERSON", tok.start, tok.end)

    def en_names(self) -> None:
        cased = self.n.cased
        for rx in (_EN_NAME_CUE_RE, _EN_TITLE_RE):
            for m in rx.finditer(cased):
                words = m.group(1).split()
                keep: list[str] = []
                for w in words:
                    if w in _EN_NOT_NAMES:
                        break
                    keep.append(w)
                if keep:
                    s = m.start(1)
                    self.add("PERSON", s, s + len(" ".join(keep)))

    def resolve(self) -> list[_Cand]:
        ordered = sorted(
            self.cands, key=lambda c: (-_PRIORITY[c.kind], -(c.end - c.start), c.start)
        )
        chosen: list[_Cand] = []
        for c in ordered:
            if all(c.end <= o.start or o.end <= c.start for o in chosen):
                chosen.append(c)
        return sorted(chosen, key=lambda c: c.start)


def detect_entities(
    text: str, known: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, int, int]]:
    """(kind, start, end) spans of personal information in the original ``text``.

    ``known`` holds (kind, value) pairs already seen in the conversation.
    """
    norm = _text.normalize(text)
    out: list[tuple[str, int, int]] = []
    for c in _Detector(norm).run(known):
        s, e = norm.original_span(c.start, c.end)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((c.kind, s, e))
    return out


def mask(text: str, vault: Vault | None = None, lang: str | None = None) -> MaskResult:
    """Replace personal information by typed placeholders; ``vault`` remembers the values."""
    if vault is None:
        vault = Vault()
    ph_lang = vault.lang or (lang if lang in ("zh", "en") else None) or detect(text)
    parts: list[str] = []
    entities: list[Entity] = []
    pos = 0
    for kind, s, e in detect_entities(text, vault.known_values()):
        value = text[s:e]
        ph = vault.placeholder_for(kind, value, ph_lang)
        entities.append(Entity(kind, s, e, ph, value))
        parts.append(text[pos:s])
        parts.append(ph)
        pos = e
    parts.append(text[pos:])
    return MaskResult("".join(parts), tuple(entities))


def kind_of(placeholder: str) -> str | None:
    """The PII kind a placeholder stands for, or None when it is not a placeholder."""
    if not PLACEHOLDER_RE.fullmatch(placeholder):
        return None
    inner = placeholder[1:-1]
    if "_" in inner:
        return inner.rsplit("_", 1)[0]
    return _ZH_TO_KIND.get(inner.rstrip("0123456789"))
