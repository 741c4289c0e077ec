"""Mask personal information in patient text before any model, log or store sees it.

Detection runs on the normalised text (full-width digits, traditional characters) and maps
every span back to the original text, so offsets always refer to what the patient wrote.
Numbers are validated, not just shaped: Chinese ID check digits and birth dates, Luhn for bank
cards, real mobile prefixes, ``phonenumbers`` for landlines. Names come from cues ("我叫",
"my name is"), titles ("张伟医生", "Dr."), jieba tokens that start with a surname, chat
mentions ("@刘晓燕"), middle-dot and list shapes, and a small character CRF
(``safety.name_model``) that finds names with no cue at all and must agree with the rules'
weaker guesses; minus a shipped list of herbs, medicines, lab tests and everyday words that
are never names. A name found once is masked wherever it recurs in the message.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from safety import _text, name_model, pii_address
from safety.language import detect

KINDS: tuple[str, ...] = (
    "PERSON",
    "PHONE",
    "ID_CARD",
    "BANK_CARD",
    "EMAIL",
    "ADDRESS",
    "PASSPORT",
    "MRN",
    "WECHAT_ID",
    "OTHER_ID",
    "DOB",
    "QQ",
    "PLATE",
)
ZH_LABELS: dict[str, str] = {
    "PERSON": "姓名",
    "PHONE": "电话",
    "ID_CARD": "身份证",
    "BANK_CARD": "银行卡",
    "EMAIL": "邮箱",
    "ADDRESS": "地址",
    "PASSPORT": "护照",
    "MRN": "病历号",
    "WECHAT_ID": "微信号",
    "OTHER_ID": "证件号",
    "DOB": "出生日期",
    "QQ": "QQ号",
    "PLATE": "车牌",
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
_PHONE_CUE_WINDOW_LATIN = 24  # "call first on (641) 555-0148"
_LOCAL_CUE_WINDOW = 30  # "call me back on 9123 4567", "…, mine is 9876 5432"
_LOCAL_CUE_RE = re.compile(r"(?<![a-z])(?:number|no\.)(?![a-z])")
_NAME_MAX_GIVEN = 2
_COMMON_WORD_FREQ = 50  # jieba dictionary frequency above which a word is "ordinary"
_COMMON_GIVEN_FREQ = 200  # a two-character given part this common is an ordinary word
_MIN_REMEMBERED_LEN = 2
# Name evidence (see _Detector.zh_names): a candidate needs NAME_ACCEPT points.
NAME_ACCEPT = 2.5
_EV_DICT_FULL = 2.0  # jieba's dictionary tags the whole surname+given word as a person
_EV_DICT_SHORT = 0.5  # ... a two-character one (many ordinary words are tagged nr too)
_EV_NEW_WORD = 1.0  # jieba's HMM made a new word of exactly this span
_EV_GIVEN_GOOD = 1.0  # every given character is name-like (score >= _GIVEN_GOOD)
_EV_LEFT_CUE = 2.0  # 患者/孩子/我妈妈 … before
_EV_TITLE = 2.0  # 主任/先生 … after
_EV_VERB = 1.0  # 说/表示 … after
_EV_WEAK_RIGHT = 0.5  # 在/和/的 … after
_EV_LIST = 2.0  # next to a name already found, joined by 、/和/与
_EV_DEMOGRAPHIC = 2.0  # "，男，58岁"
_PEN_COMMON_WORD = 3.0  # the whole candidate is an ordinary dictionary word
_PEN_COMMON_GIVEN = 2.0  # the given part is an ordinary word (段时间)
_GIVEN_GOOD = 0.5
_GIVEN_STRONG = (
    2.0  # a two-character dictionary "name" counts only with a very name-like given char
)
_GIVEN_FLOOR = -1.0  # a given character below this (的, 了, 有) rules a guess out
_GIVEN_FLOOR_CUED = -2.5  # ... unless a cue stands before it (孩子邓一鸣)
_GIVEN_UNKNOWN = -4.0
_MIN_FOREIGN_LEN = 3
# The name CRF (safety.name_model): a span whose every character is a name with at least this
# probability is taken; an ordinary dictionary word only when the model is sure.
MODEL_ACCEPT = 0.5
MODEL_SURE = 0.7
# A surname-first guess of the rules with no cue around it and less evidence than this is kept
# only if the CRF gives each of its characters at least UNCUED_MODEL_MIN (谷丙, 平时讨 are not).
UNCUED_SURE = 3.0
UNCUED_MODEL_MIN = 0.1
_MODEL_MIN_LEN = 2
_MODEL_MAX_WHOLE = 4  # a model span this short replaces the rule names inside it
_PET_HEADS = frozenset("小老阿")  # 小军, 老周, 阿强
_OLD_SURNAME_MAX_FREQ = 1000  # 老李 (298), 老张 (256) are names; 老师 (6415) is a word
_NAME_DOTS = frozenset("·•・‧")
_NUMERALS = frozenset("〇零一二三四五六七八九十百千万第")
_MIN_TRANSLIT_PART = 2
_TRANSLIT_NAME_MAX = 10
_NOT_TRANSLIT_PART = frozenset("比因加和与在的是")  # words of their own next to a name
# Surname characters that are also measure words, and what comes before a measure word.
_MEASURE_SURNAMES = frozenset("张支位条只种项门台份封段片层次回遍口根颗粒盒瓶袋包杯碗顿周年")
_COUNTING_BEFORE = frozenset("这那哪每几半两一二三四五六七八九十百千万俩仨0123456789")
_LIST_GAP_MIN = 2  # a name between two names of a list: two or three characters
_LIST_GAP_ONE = 3
_DOTTED_SIDE_MAX = 8  # characters of a name on one side of a middle dot
_DOTTED_TOUCH_FREQ = 2000  # below this, a word next to the dot is a rare one
_HEAD_REST_MIN = 2  # what follows a name at the head of a token must be a word of its own

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

# (after "No." too; not after a digit and a point: the decimals of a number)
_DIGIT_RUN_RE = re.compile(
    r"(?<![0-9a-z])(?<![0-9]\.)\+?[0-9](?:[ \-]?[0-9]){5,22}(?:[ \-]?x)?(?![0-9a-z])"
)
_EMAIL_RE = re.compile(
    r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
)
_CUE_SEP = r"\s*(?:号码|卡号|号)?\s*(?:是|为|系|:|#)?\s*"
_EN_FILLER = r"(?:\s+(?:is|was|there|here|at|of|number|no\.?|#|id|:)){0,4}\s*(?::|系|是)?\s*"
# A card named, then its number a few words later: "my clinic card …, the number is C0045821"
_CARD_NUMBER_RE = re.compile(
    r"(?:clinic|hospital|patient|outpatient|inpatient|medical|health|insurance|member(?:ship)?)"
    r"\s+card\b[^.!?\n]{0,40}?\b(?:number|no\.?)\s*(?:is|was|:)?\s*"
    r"((?=[a-z\-]*[0-9])[a-z]{0,3}-?[0-9][a-z0-9\-]{4,15})(?![a-z0-9])"
)
_MRN_RE = re.compile(
    r"(?:病历号|病历|住院号|门诊号|就诊卡号|就诊卡|就诊号|病案号|登记号|健康卡号|档案号|检查号|"
    r"影像号|标本号|(?:住院|门诊|就诊|病历|病案)(?:id|编号)|"
    r"mrn|(?:medical|health|hospital|patient|case|chart)\s+record(?:\s+(?:number|no\.?))?|"
    r"(?:hospital|inpatient|outpatient|patient|admission|case|chart|clinic|record)"
    r"\s+(?:number|no\.?|id|#|card(?:\s+(?:number|no\.?))?)|patient id)"
    + r"(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"([0-9]{3,6}(?: [0-9]{3,6}){1,3}|(?=[a-z\-]*[0-9])[a-z0-9][a-z0-9\-]{3,19})(?![a-z0-9])"
)
_PASSPORT_CUE_RE = re.compile(
    r"(?:护照|passport)(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"((?=[a-z0-9]*[0-9][a-z0-9]*[0-9])[a-z0-9]{6,12})(?![a-z0-9])"
)
_PASSPORT_BARE_RE = re.compile(
    r"(?<![a-z0-9])(e[0-9]{8}|e[a-hj-np-z][0-9]{7}|g[0-9]{8})(?![a-z0-9])"
)
_WECHAT_RE = re.compile(
    r"(?:微信|vx|wx|v信|weixin|wechat)"
    r"(?:[^。.!?！？\n]{0,20}?(?:号码|账号|号|\bid\b)|\s*(?:id)?)"
    r"\s*(?:是|为|:|：|is)?\s*([a-z][a-z0-9_\-]{5,19})(?![a-z0-9_\-])"
)
_PERMIT_RE = re.compile(
    r"(?:港澳通行证|通行证|回乡证|台胞证|澳门身份证|香港身份证|居留证|社保卡号|社保卡|社保号|"
    r"社会保障卡号|社会保障号|医保卡号|医保卡|医保号|健保卡号|健保卡|会员号|会员卡号|保单号|保险单号|"
    r"social security(?: number| no\.?)?|ssn|national insurance(?: number| no\.?)?|nhs number|"
    r"insurance (?:number|no\.?|id)|member(?:ship)? (?:id|no\.?|number)|"
    r"policy (?:number|no\.?)|medicare(?: number| no\.?)?|medicaid(?: number| no\.?)?)(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"([a-z]{0,4}-?[0-9][0-9 \-]{5,14}[0-9](?:\([0-9a]\))?|[a-z]{0,2}[0-9]{7,10}"
    + r"|(?=(?:[a-z\-]*[0-9]){5})[a-z0-9][a-z0-9\-]{5,19})(?![a-z0-9])"
)
_HKID_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2}[0-9]{6})\s?\(?([0-9A])\)?(?![A-Za-z0-9])")
_HKID_CUE_RE = re.compile(r"身份证|证件|hkid|id card|identity card")
_TWID_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][12][0-9]{8})(?![A-Za-z0-9])")
# Singapore NRIC/FIN (S1234567D), a US social security number (123-45-6789), a Malaysian MyKad
# (YYMMDD-PB-NNNN): shapes of their own, each checked
_NRIC_RE = re.compile(r"(?<![A-Za-z0-9])([STFG])([0-9]{7})([A-Z])(?![A-Za-z0-9])")
_SSN_RE = re.compile(r"(?<![0-9\-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9\-])")
_MYKAD_RE = re.compile(r"(?<![0-9\-])([0-9]{6})-([0-9]{2})-([0-9]{4})(?![0-9\-])")
_PLATE_RE = re.compile(
    r"(?<![a-z0-9])[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[a-hj-np-z][·\s]?(?:[a-hj-np-z0-9]{5,6}|[a-hj-np-z0-9]{4}[港澳])(?![a-z0-9])"
)
# After a cue, an identifier-shaped number is masked even when its check fails (a patient's
# typo is still their number): a few words may stand between ("身份证号我发你：…").
_CUE_GAP = (
    r"(?:[^0-9a-z。.!?！？\n]|[0-9]{1,2}\s*(?:位|digits?)|number|no\.|num|is|was|of|my|her|his|"
    r"the|to|into|please|pls|id){0,8}?"
)
# An ID number after its cue, or before it ("…是我身份证号"); 15 to 18 digits and a final X,
# so a digit too many or too few (a typo) is still masked
_ID_NUMBER = r"(?<![0-9])[0-9](?:[ \-]?[0-9]){14,17}(?:[ \-]?[0-9x])?(?![0-9a-z])"
_ID_CUE_RE = re.compile(
    r"(?:身份证|身分证|公民身份号码|证件号|证件|证号|"
    r"(?<![a-z])(?:id card|identity card|national id|resident id|citizen id|id)(?![a-z]))"
    + _CUE_GAP
    + rf"({_ID_NUMBER})"
    + rf"|({_ID_NUMBER})\s*(?:是|为)?(?:我|他|她|我们)?的?(?:身份证|证件号|身分证)"
)
_BANK_CUE_RE = re.compile(
    r"(?:银行卡|银行|卡号|账号|帐号|借记卡|信用卡|储蓄卡|工资卡|[工建农中交招]行卡|"
    r"退到|退回|退款到|打到|转到|汇到|"
    r"(?<![a-z])(?:refund(?:ed)?|pay into|transfer to|card)(?![a-z])|"
    r"bank card|card number|card no|debit card|credit card|account number|account no|"
    r"bank account)" + _CUE_GAP + r"((?<![0-9])[0-9](?:[ \-]?[0-9]){11,18})(?![0-9a-z])"
)
_QQ_RE = re.compile(
    r"(?:qq|扣扣|企鹅号|(?<![a-z])q(?=号|\s*[:：]))"
    + _CUE_GAP
    + r"((?<![0-9])[1-9](?: ?[0-9]){4,10})(?![0-9a-z@])"
    # or the number first: "545827864是我QQ"
    + r"|(?<![0-9])([1-9][0-9]{4,10})\s*(?:是我的?|是)\s*(?:qq|扣扣)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ZH_MONTH = r"(?:[一二三四五六七八九十]{1,2}|元|正|冬|腊)月"
_ZH_DAY = r"(?:[一二三四五六七八九十]{1,3}[日号]?|初[一二三四五六七八九十]|廿[一二三四五六七八九])"
_DATE = (
    r"(?:(?:19|20)?[0-9]{2}\s*年\s*(?:[01]?[0-9]|元|正|冬|腊)\s*月"
    r"(?:\s*(?:[0-3]?[0-9]\s*[日号]|初[一二三四五六七八九十]))?"
    r"|(?:19|20)[0-9]{2}(?:\s?[\-/.]\s?[01]?[0-9]\s?[\-/.]\s?[0-3]?[0-9]|[01][0-9][0-3][0-9]"
    r"|[\-/.][01]?[0-9](?![0-9\-/.]))"
    rf"|(?:[〇零一二三四五六七八九]{{4}}|[〇零一二三四五六七八九]{{2}})年{_ZH_MONTH}(?:{_ZH_DAY})?"
    r"|[0-3]?[0-9][\-/.][0-3]?[0-9][\-/.](?:19|20)?[0-9]{2}"
    rf"|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?,?\s+(?:19|20)[0-9]{{2}}"
    rf"|[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?:19|20)[0-9]{{2}}"
    rf"|[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+['’][0-9]{{2}}"
    rf"|{_MONTH},?\s+(?:19|20)[0-9]{{2}})(?![0-9])"
)
_DOB_RE = re.compile(
    r"(?:出生日期|出生年月日?|生日|出生于|出生在|生于|出生|date of birth|birth date|birthdate|"
    r"birthday|dob|d\.o\.b\.?|born(?: on| in)?)"
    + _CUE_GAP
    + r"("
    + _DATE
    + r")"
    # or the date first: "1987年3月15日出生", "87年3月生的"; a birth year: "1992年出生"
    + r"|(?<![0-9])("
    + _DATE
    + r"|(?:19|20)[0-9]{2}年(?=\s*出生(?!的)|\s*出世))"  # not "2026年出生的宝宝", a group
    + r"\s*(?:出生|生人|生的|出世|生(?=[，,。\s]|$))"
    # after a birth cue, a year alone or a month and day: "born in 1974", "生日：5月20日"
    + r"|(?:出生年月|出生于|生于|生日(?:是|为)?|born in|born)\s*[:：]?\s*"
    + r"((?:19|20)[0-9]{2}(?![0-9年./\-])|[01]?[0-9]月[0-3]?[0-9][日号])"
)
_LATIN_PLATE_CUE_RE = re.compile(
    r"(?:车牌|(?<![a-z])(?:(?:licen[cs]e |number |car )?plate|registration|reg\.?|rego|"
    r"licen[cs]e|car)(?![a-z]))"
    r"(?:\s*(?:号码|号|number|no\.?))?\s*(?:是|为|:|is)?\s*"
    r"((?!(?:reg|rego|plate|number|no|is|registration)\b)"
    r"(?:[a-z0-9]{1,4}(?:[ \-][a-z0-9]{1,4}){1,2}|[a-z0-9]{2,8}))(?![a-z0-9])"
)
_UK_PLATE_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2} ?[A-Z]{3}(?![A-Za-z0-9])")
_MACAU_ID_RE = re.compile(r"(?<![0-9a-z])[157][0-9]{6}\s?\([0-9]\)")
# An extension after a phone number: "…转8021", "ext. 204", "x 17"
_PHONE_EXT_RE = re.compile(r"\s*(?:转|分机|ext\.?|extension|x)\s*[0-9]{1,6}(?![0-9])")
# Eight digits after a phone cue: a Hong Kong or Macau number with no country code
_LOCAL8_RE = re.compile(r"(?<![0-9])[2-9][0-9]{3}[ \-]?[0-9]{4}(?![0-9])")
# Chinese numerals a phone or ID number may be written in (一三八…), one digit each
_ZH_DIGITS = str.maketrans("〇零一二三四五六七八九幺", "001234567891")
_ZH_DIGIT_RUN_RE = re.compile(r"[〇零一二三四五六七八九幺](?:[ \-]?[〇零一二三四五六七八九幺]){6,}")
_INTL_PHONE_RE = re.compile(
    r"(?<![0-9a-z])\+[1-9][0-9]{0,2}(?:[ \-]?\(?[0-9]{1,5}\)?){2,5}(?![0-9])"
)
_LATIN_PHONE_REGIONS = ("GB", "US")
# A stretch of text that may hold a phone number: digits with spaces, dashes, dots and
# brackets between them, and a "+" or "(" before
_PHONE_STRETCH_RE = re.compile(r"[+(]?[0-9][0-9 \-().]{5,40}[0-9]")
# A phone number spelt out in English words: "one three eight one two …"
_EN_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_EN_DIGIT_WORDS_RE = re.compile(
    r"(?<![a-z])(?:"
    + "|".join(_EN_DIGIT_WORDS)
    + r")(?:[ \-,]+(?:"
    + "|".join(_EN_DIGIT_WORDS)
    + r")){6,}(?![a-z])"
)
_PHONE_CUE_RE = re.compile(
    r"(电话|手机|座机|联系|联络|号码|热线|打|致电|拨|tel|phone|call|fax|mobile|cell|ring|whatsapp|"
    r"text|contact|landline|office|reach)"
)

_CJK = r"\u4e00-\u9fff"
_ZH_NUM = r"0-9一二三四五六七八九十百零〇两"
_DEMOGRAPHIC_RE = re.compile(r"[，,\s]*(?:(?:男|女)(?:性)?[，,\s]|[0-9]{1,3}\s*岁)")
# Characters used to transliterate foreign names (克林顿, 叶利钦): a new word made only of
# these, three or more long, is taken for a foreign name; drug names end in 素/唑/片 instead.
_TRANSLIT = frozenset(
    "阿埃艾爱安奥巴拜班邦鲍贝本比彼毕宾波伯博布查达戴丹道德迪蒂丁东杜多厄恩尔法菲费芬丰弗福夫"
    "盖甘冈高戈格哥古瓜圭哈海汉豪赫亨胡华怀霍基吉加贾杰金卡凯坎康考柯科克肯库拉莱赖兰朗劳勒雷"
    "蕾里理丽利莉连列林琳留卢鲁路伦罗洛马玛迈麦曼芒梅门蒙米密明莫姆穆纳娜奈南内尼妮涅宁纽努诺"
    "欧帕佩彭皮珀普奇齐恰乔切钦琼丘萨塞桑瑟森沙莎尚舍圣施什史舒斯松苏索塔泰坦汤唐特提图托瓦"
    "万旺威韦维温沃乌伍西希锡席夏谢辛休雅亚扬耶伊因英尤约泽扎詹兹卓佐朱略娃诺契茨"
    "逊登堡默瑙缪赛丝娅黛琪勃敦顿捷奎昆滕隆伏采策"
)
_TRANSLIT_RUN_RE = re.compile(f"[{''.join(sorted(_TRANSLIT))}]{{3,10}}")
_DRUG_TAIL = frozenset("素唑胺酮醇酸酯片丸散汀平林宁因韦松")
_DRUG_ONLY_TAIL = frozenset("素唑胺酮醇酸酯片丸散")  # ... of which none ends a name
# What follows a drug, herb or lab name, never a person's: 谷丙|转氨酶, 莫沙|必利, 乌灵|胶囊;
# and what follows the name in an eponymous disease: 克罗恩|病, 帕金森|综合征, 桥本|氏 (but a
# person can fall ill: 张伟|病了, 李娜|病情加重).
_MEDICAL_NEXT_RE = re.compile(
    r"(?:转氨|氨酸|必利|福韦|胶囊|颗粒|口服液|注射液|片|丸|散|膏|酶|素|唑|蛋白|冲剂|合剂|医院|牌"
    r"|[\u4e00-\u9fff][唑胺酮酯]"
    r"|综合[征症]|氏[病症综]|病(?![了倒情危重])|症候群)"
)
_DISEASE_ENDINGS = ("病", "症", "综合征", "综合症")
_PLACE_NEXT_RE = re.compile(
    r"(?:纪念医院|医院|人民医院|妇幼|诊所|卫生院|中学|小学|大学|学院|幼儿园|路|街|大道|大街|广场|公园|"
    r"大药房|药房|药店|药业|制药|集团|公司|餐厅|饭店|超市|麻辣烫|凉茶|牌|"
    r"纪念馆|纪念堂|大厦|楼|村|镇|乡|县|市|区|小区|花园|\s*(?:hospital|clinic|road|street|"
    r"avenue|school|college|university|building|centre|center|tower|house|court|plaza|"
    r"mansion|estate|gardens?|memorial|hall|square|station|mall|hotel|church)(?![a-z]))"
)
# What precedes a medicine, never a person: 吃|阿德福韦, 喝|神农金康.
_INTAKE_BEFORE = (
    "吃了",
    "吃",
    "服用",
    "服了",
    "服",
    "喝了",
    "喝",
    "用了",
    "打了",
    "注射",
    "涂",
    "抹",
    "口服",
    "换成",
    "改吃",
    "加用",
)
# Surname characters that are everyday function words: never masked alone (那医生, 和同学).
_FUNCTION_SURNAMES = frozenset(
    "那和向时但高于及与同将把被给让在对从自以为是有也都还就又才只很太最"
    "更可能会要应该全成相连常白易来"
)
# ... of which these are rarely anyone's surname (和, 都, 来): a name starting with one needs
# the name model's agreement even after a cue (老婆和妈妈, 孩子都特别). 高, 白, 于 … are common
# surnames and are left out.
_FUNCTION_FIRST = _FUNCTION_SURNAMES - frozenset("高白连易成时向于同")
# A chat mention: "@" and a handle of Chinese characters up to a space, colon or punctuation.
# Handles may mix letters, digits, "_" and "-" (@英子-殷, @dai_dai); one that runs straight
# into Chinese text is not taken, since where it ends cannot be told.
_MENTION_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])@((?:[" + _CJK + r"]|[A-Za-z0-9_\-]){2,30})"
    r"(?=[\s:：,，。!！?？/@]|$)"
)
_NAMED_RE = re.compile(r"([" + _CJK + r"]{2,4}?)(?=[的是，,。.！!？?；;、\s]|$)")
_MENTION_NOT_NAMES = frozenset({"所有人", "全体成员", "all", "everyone"})
_ZH_SURNAME_ONLY_RE = re.compile(r"(?<![贵尊])姓([" + _CJK + r"])(?![名氏别])")
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
# Latin Extended-A block holds capitals and small letters in turns, so it is in both
_LOWER = "a-zß-öø-ÿ\u0100-\u017f"
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_LATIN_WORD_RE = re.compile(rf"[ \t]{{0,2}}([{_LOWER}](?:[{_LOWER}'’\-]*[{_LOWER}])?)")
_NAME_HERE_RE = re.compile(
    r"(?:(?:hi|hello|hey)[,!]?\s+)?(?:it'?s\s+|this is\s+)?"
    rf"([{_LOWER}][{_LOWER}'’\-]*(?: [{_LOWER}][{_LOWER}'’\-]*){{0,2}})"
    r"\s+(?:here|again|speaking)\b"
)
# Initials and a family name: "J. Smith", "A.J. Thompson", "K. Osei"
_INITIALS_RE = re.compile(
    rf"(?<![A-Za-z.])(?:[A-Z]\.\s?){{1,2}}([{_UPPER}][{_LOWER}]{{2,}}(?:-[{_UPPER}][{_LOWER}]+)?)(?![{_LOWER}])"
)
# Two or three words in capitals that start with a given name: "FATOU DIALLO"
_CAPS_RUN_RE = re.compile(
    r"(?<![A-Za-z])([A-Z]{2,}(?:-[A-Z]{2,})?)(?=((?: [A-Z]{2,}(?:-[A-Z]{2,})?){1,2})(?![A-Za-z]))"
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
# Capitalised words that end the city and district words after a street ("…, Beijing. Please
# …", "…, Leeds Thanks"): greetings, weekdays, words of a sentence about the patient.
_NOT_ADDRESS_WORDS = frozenset(
    {
        "I",
        "Not",
        "Sure",
        "So",
        "Very",
        "Really",
        "Having",
        "Going",
        "Feeling",
        "Worried",
        "Pregnant",
        "Here",
        "Back",
        "Diabetic",
        "The",
        "A",
        "An",
        "Also",
        "Just",
        "Still",
        "Now",
        "In",
        "On",
        "At",
        "From",
        "Taking",
        "Currently",
        "Allergic",
        "Asking",
        "Writing",
        "Calling",
        "Concerned",
        "Scared",
        "Afraid",
        "Sorry",
        "Fine",
        "Okay",
        "Ok",
        "Well",
        "Sick",
        "Better",
        "Worse",
        "Tired",
        "Over",
        "Under",
        "About",
        "Trying",
        "Wondering",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Thank",
        "Thanks",
        "Hello",
        "Hi",
        "Dear",
        "Please",
        "Yes",
        "No",
        "Type",
        "Male",
        "Female",
        "Age",
        "English",
        "Chinese",
    }
)


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


def _ascii_digits(text: str) -> str:
    """``text`` with runs of seven or more Chinese numerals (一三八…) as ASCII digits, one
    for one, so offsets stay where they were."""
    return _ZH_DIGIT_RUN_RE.sub(lambda m: m.group().translate(_ZH_DIGITS), text)


class VaultFormatError(ValueError):
    """Serialized vault data is not readable (the message never contains values)."""


def _canonical(kind: str, value: str) -> str:
    """Key under which two spellings of the same value share a placeholder."""
    if kind in ("PHONE", "BANK_CARD"):
        digits = re.sub(r"[^0-9]", "", _ascii_digits(_text.normalize(value).text))
        if kind == "PHONE" and len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif kind == "PHONE" and len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return digits
    norm = _text.normalize(value).text
    if kind in ("ID_CARD", "EMAIL", "PASSPORT", "MRN", "WECHAT_ID", "OTHER_ID", "QQ", "PLATE"):
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
    if not _real_birth_date(n[6:14]):
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def valid_old_cn_id(number: str) -> bool:
    """15-digit mainland ID (issued before 1999): region and a real birth date (19YYMMDD);
    it has no check digit."""
    if len(number) != 15 or not number.isdigit() or number[0] not in "123456":
        return False
    return _real_birth_date("19" + number[6:12])


def _id_shaped(digits: str) -> bool:
    """18 digits with a region and a real birth date inside: an ID number with a typo in its
    check digit, not a bank card that passes Luhn by chance (one number in ten does)."""
    return len(digits) == 18 and digits[0] in "123456" and _real_birth_date(digits[6:14])


def _real_birth_date(yyyymmdd: str) -> bool:
    """A date of birth that exists, from 1900 to today."""
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= _ID_MIN_YEAR and born <= dt.date.today()


def valid_nric(prefix: str, digits: str, check: str) -> bool:
    """Singapore NRIC (S, T) or FIN (F, G): the check letter of the weighted digit sum."""
    total = sum(int(d) * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True))
    if prefix in "TG":
        total += 4
    letters = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return letters[total % 11] == check


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
    scores: dict[str, float]
    left_strong: re.Pattern[str]
    left_weak: re.Pattern[str]
    naming: re.Pattern[str]
    titles: tuple[str, ...]
    staff_titles: tuple[str, ...]
    verbs: tuple[str, ...]
    weak_right: tuple[str, ...]
    joiners: frozenset[str]
    kin_after: re.Pattern[str]
    nickname_left: re.Pattern[str]
    before_words: frozenset[str]


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _names() -> _Names:
    import tomllib

    words = [w for line in _text.read_lines("surnames_zh.txt") for w in line.split()]
    never = [w for line in _text.read_lines("never_names_zh.txt") for w in line.split()]
    scores: dict[str, float] = {}
    for line in (
        _text.data_path("given_name_scores_zh.txt").read_text(encoding="utf-8").splitlines()
    ):
        ch, _, val = line.partition(" ")
        if line and not line.startswith("#"):
            scores[ch] = float(val)
    with _text.data_path("name_cues_zh.toml").open("rb") as fh:
        cues = tomllib.load(fh)
    kin = _alternation(cues["kinship"])
    weak = tuple(cues["weak_after"])
    verbs = tuple(cues["verbs"]) + tuple(cues["after_subject"])
    return _Names(
        surnames=frozenset(w for w in words if len(w) == 1),
        compound=frozenset(w for w in words if len(w) == 2),
        never=frozenset(never) | frozenset(cues["kinship"]),
        given=frozenset(
            c
            for line in _text.read_lines("given_name_chars_zh.txt")
            for c in line
            if not c.isspace()
        ),
        scores=scores,
        left_strong=re.compile(f"(?:{_alternation(cues['left_strong'])})[\\s:：,，是为]*"),
        naming=re.compile(f"(?:{_alternation(cues['naming'])})[\\s:：,，是为]*"),
        left_weak=re.compile(f"(?:{_alternation(cues['left_weak'])}|(?:{kin}))[\\s:：,，是叫]*"),
        titles=tuple(sorted(cues["titles"], key=len, reverse=True)),
        staff_titles=tuple(sorted(cues["staff_titles"], key=len, reverse=True)),
        verbs=tuple(sorted(verbs, key=len, reverse=True)),
        weak_right=weak,
        joiners=frozenset(cues["joiners"]),
        kin_after=re.compile(f"是(?:我|他|她|我们)的?(?:{kin})"),
        nickname_left=re.compile(
            f"(?:{_alternation(cues['nickname_left'])}|(?:{kin}))[\\s:：,，是叫]*"
        ),
        before_words=frozenset(cues["left_strong"])
        | frozenset(cues["left_weak"])
        | frozenset(cues["kinship"]),
    )


@lru_cache(maxsize=1)
def name_lexicon() -> name_model.Lexicon:
    """What the name model's features look up (shared with its build script)."""
    names = _names()
    return name_model.Lexicon(
        surnames=names.surnames,
        compound=names.compound,
        scores=names.scores,
        translit=_TRANSLIT,
        person_words=_text.jieba_person_tags(),
        freq=_text.tokenizer().FREQ,
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
    )


@lru_cache(maxsize=1)
def _nam_dict() -> dict[str, tuple[int, int]]:
    """Given names of many countries in lower case, from the ``gender-guesser`` package's
    name dictionary (Jörg Michael's nam_dict: a name per line after a gender code, then a
    frequency digit per country, Great Britain, Ireland and the U.S.A. first): per name, its
    highest frequency anywhere and in those three countries."""
    from importlib import resources

    raw = resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_bytes()
    out: dict[str, tuple[int, int]] = {}
    for line in raw.decode("iso-8859-1").splitlines():
        if line[:1] in ("#", "=") or len(line) < _NAM_DICT_NAME_END:
            continue
        name = line[3:_NAM_DICT_NAME_END].strip().lower()
        if not name or not name.isascii() or "+" in name:
            continue
        cells = line[_NAM_DICT_NAME_END + 1 : _NAM_DICT_FREQ_END]
        freqs = [int(c, 16) if c.isalnum() else 0 for c in cells]
        anywhere, english = max(freqs, default=0), max(freqs[:_NAM_DICT_ENGLISH], default=0)
        old = out.get(name, (0, 0))
        out[name] = (max(old[0], anywhere), max(old[1], english))
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


def _never_names() -> Iterable[str]:
    return _names().never


_text.register_words(_never_names)


def _old_surname(word: str) -> bool:
    """老 + a surname, how friends and spouses call someone (老李, 老张; not 老师, 老是)."""
    return (
        len(word) == 2
        and word[0] == "老"
        and word[1] in _names().surnames
        and word[1] not in _FUNCTION_SURNAMES
        and _text.word_freq(word) < _OLD_SURNAME_MAX_FREQ
    )


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


# --- detection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cand:
    kind: str
    start: int  # normalised offsets
    end: int
    validated: bool = True


class _Detector:
    def __init__(self, norm: _text.Normalized) -> None:
        self.n = norm
        self.t = _ascii_digits(norm.text)
        self.cands: list[_Cand] = []
        self._bounds: frozenset[int] = frozenset()
        self._person_tags: dict[str, str] = {}
        self._new_words: set[tuple[int, int]] = set()
        self._marg: list[tuple[float, float, float]] = []  # the CRF's P(B, I, O) per character

    def add(self, kind: str, start: int, end: int, validated: bool = True) -> None:
        if end > start:
            self.cands.append(_Cand(kind, start, end, validated))

    def run(self, known: Iterable[tuple[str, str]] = ()) -> list[_Cand]:
        self.remembered(known)
        self.numbers()
        self.cued()
        self.emails()
        self.addresses()
        self.mentions()
        if re.search(f"[{_CJK}]", self.t):
            self.zh_names()
        if re.search("[a-z]", self.t):
            self.en_names()
        self._name_bounds()
        self.recurring_names()  # what the bounds left of each name, wherever it recurs
        self._name_bounds()
        return self.resolve()

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
            if re.search(f"[{_CJK}]", self.t)
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
                if end <= c.start:
                    continue
                if _PLACE_NEXT_RE.match(self.t, end):
                    continue
                c = _Cand("PERSON", c.start, end, c.validated)
            kept.append(c)
        self.cands = kept

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
        values = {
            self.t[c.start : c.end]
            for c in self.cands
            if c.kind == "PERSON" and c.end - c.start >= _MIN_REMEMBERED_LEN
        }
        # each part of a name in Latin letters recurs on its own too: "Ethan Clarke … Ethan"
        values |= {
            part
            for v in values
            if v.isascii() and " " in v
            for part in v.split()
            if len(part) >= _LATIN_PART_MIN and part not in _latin_cues().not_names
        }
        for value in values:
            # a Latin-letter name only as a whole word (Will, not "will" inside "willing")
            edge = r"(?<![a-z0-9])" if value[0].isascii() else ""
            tail = r"(?![a-z0-9])" if value[-1].isascii() else ""
            for m in re.finditer(edge + re.escape(value) + tail, self.t):
                self.add("PERSON", *m.span())

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
                    local = local[len(prefix) :]
            if valid_cn_mobile(local):
                self.add("PHONE", s, e)
            elif len(digits) in _BANK_LENGTHS and luhn_ok(digits) and not _id_shaped(digits):
                self.add("BANK_CARD", s, e)
        for m in _ID_CUE_RE.finditer(self.t):
            group = 1 if m.group(1) else 2
            digits = re.sub(r"[^0-9x]", "", m.group(group))
            ok = valid_cn_id(digits) if len(digits) == 18 else valid_old_cn_id(digits)
            self.add("ID_CARD", *m.span(group), validated=ok)
        for m in _BANK_CUE_RE.finditer(self.t):
            digits = re.sub(r"[^0-9]", "", m.group(1))
            ok = len(digits) in _BANK_LENGTHS and luhn_ok(digits)
            self.add("BANK_CARD", *m.span(1), validated=ok)
        if sum(c.isdigit() for c in self.t) >= _MIN_DIGITS_FOR_PHONE_LIB:
            self.landlines()
            self.local_phones()
        for m in _EN_DIGIT_WORDS_RE.finditer(self.t):
            words = re.findall("[a-z]+", m.group())
            digits = "".join(_EN_DIGIT_WORDS[w] for w in words)
            if valid_cn_mobile(digits) or len(digits) in (8, 10, 11):
                self.add("PHONE", *m.span())
        self.extensions()

    def local_phones(self) -> None:
        """Eight digits after a phone cue: a Hong Kong or Macau number written without its
        country code ("call me on 9123 4567", "手机 6612 3456")."""
        import phonenumbers

        for m in _LOCAL8_RE.finditer(self.t):
            s, e = m.span()
            before = self.t[max(0, s - _LOCAL_CUE_WINDOW) : s]
            phone_before = any(
                c.kind == "PHONE" and s - _LOCAL_CUE_WINDOW <= c.end <= s for c in self.cands
            )
            if not (_PHONE_CUE_RE.search(before) or _LOCAL_CUE_RE.search(before) or phone_before):
                continue
            digits = re.sub(r"[^0-9]", "", m.group())
            if any(
                phonenumbers.is_valid_number(phonenumbers.parse(digits, region))
                for region in ("HK", "MO")
            ):
                self.add("PHONE", s, e)

    def extensions(self) -> None:
        """A phone number's extension belongs to it: "…转8021", "ext. 204"."""
        for i, c in enumerate(self.cands):
            if c.kind == "PHONE":
                ext = _PHONE_EXT_RE.match(self.t, c.end)
                if ext:
                    self.cands[i] = _Cand("PHONE", c.start, ext.end(), c.validated)

    def landlines(self) -> None:
        import phonenumbers

        taken = [(c.start, c.end) for c in self.cands]
        # a message mostly in Latin letters may give a number as dialled in the UK or the US
        latin = len(re.findall("[a-z]", self.t)) > len(re.findall(f"[{_CJK}]", self.t))
        regions = ("CN", *(_LATIN_PHONE_REGIONS if latin else ()))
        # The matcher reads only the stretches that hold a number (it is slow over prose).
        found: list[tuple[int, int, str]] = []
        for run in _PHONE_STRETCH_RE.finditer(self.t):
            if any(a <= run.start() and run.end() <= b for a, b in taken):
                continue
            for region in regions:
                for match in phonenumbers.PhoneNumberMatcher(
                    run.group(), region, phonenumbers.Leniency.VALID
                ):
                    at = run.start()
                    found.append((at + match.start, at + match.end, match.raw_string))
        # words are longer than characters: an English cue may stand further back
        window = _PHONE_CUE_WINDOW_LATIN if latin else _PHONE_CUE_WINDOW
        for s, e, raw_string in found:
            if any(s < b and a < e for a, b in taken):
                continue
            taken.append((s, e))
            if (s > 0 and self.t[s - 1].isdigit()) or (e < len(self.t) and self.t[e].isdigit()):
                continue
            raw = raw_string.lstrip("(")
            cue = _PHONE_CUE_RE.search(self.t[max(0, s - window) : s])
            if raw.startswith(("+", "0")) or cue:
                self.add("PHONE", s, e)
        for m in _INTL_PHONE_RE.finditer(self.t):
            s, e = m.span()
            if any(s < b and a < e for a, b in taken):
                continue
            try:
                num = phonenumbers.parse(m.group(), None)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(num):
                self.add("PHONE", s, e)

    def cued(self) -> None:
        for rx, kind in (
            (_MRN_RE, "MRN"),
            (_CARD_NUMBER_RE, "MRN"),
            (_PASSPORT_CUE_RE, "PASSPORT"),
            (_WECHAT_RE, "WECHAT_ID"),
            (_PERMIT_RE, "OTHER_ID"),
        ):
            for m in rx.finditer(self.t):
                self.add(kind, *m.span(1))
        for m in _PASSPORT_BARE_RE.finditer(self.t):
            self.add("PASSPORT", *m.span(1))
        for m in _HKID_RE.finditer(self.n.cased):
            if valid_hkid(m.group(1)[:-6], m.group(1)[-6:], m.group(2)):
                self.add("OTHER_ID", m.start(1), m.end())
            elif _HKID_CUE_RE.search(self.t, max(0, m.start() - _PHONE_CUE_WINDOW), m.start()):
                self.add("OTHER_ID", m.start(1), m.end(), validated=False)
        for m in _TWID_RE.finditer(self.n.cased):
            if valid_twid(m.group(1)):
                self.add("OTHER_ID", *m.span(1))
        for m in _NRIC_RE.finditer(self.n.cased):
            if valid_nric(*m.groups()):
                self.add("OTHER_ID", *m.span())
        for m in _SSN_RE.finditer(self.t):
            area, group, serial = m.groups()
            if area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000":
                self.add("OTHER_ID", *m.span())
        for m in _MYKAD_RE.finditer(self.t):
            if _real_birth_date("19" + m.group(1)) or _real_birth_date("20" + m.group(1)):
                self.add("OTHER_ID", *m.span())
        for m in _PLATE_RE.finditer(self.t):
            if any(c.isdigit() for c in m.group()):
                self.add("PLATE", *m.span())
        for m in _LATIN_PLATE_CUE_RE.finditer(self.t):
            plate = m.group(1)
            if any(c.isdigit() for c in plate) and any(c.isalpha() for c in plate):
                self.add("PLATE", *m.span(1))
        for m in _UK_PLATE_RE.finditer(self.n.cased):
            self.add("PLATE", *m.span())
        for m in _MACAU_ID_RE.finditer(self.t):
            self.add("OTHER_ID", *m.span())
        for m in _QQ_RE.finditer(self.t):
            self.add("QQ", *m.span(1 if m.group(1) else 2))
        for m in _DOB_RE.finditer(self.t):
            group = next(g for g in (1, 2, 3) if m.group(g))
            self.add("DOB", *m.span(group))

    def emails(self) -> None:
        for m in _EMAIL_RE.finditer(self.t):
            self.add("EMAIL", *m.span())

    def addresses(self) -> None:
        """Postal addresses, read as a structure of parts (``safety.pii_address``)."""
        if re.search(f"[{_CJK}]", self.t):
            for s, e in pii_address.zh_addresses(self.t):
                self.add("ADDRESS", s, e)
        if re.search(r"[0-9]", self.t):
            for s, e in pii_address.en_addresses(self.t, self.n.cased, _NOT_ADDRESS_WORDS):
                self.add("ADDRESS", s, e)

    # -- names --

    def mentions(self) -> None:
        """Chat handles: "@张医生：", "//@小雨:", "@dai_dai" name a person."""
        never = _names().never
        for m in _MENTION_RE.finditer(self.t):
            handle = m.group(1)
            if handle not in never and handle not in _MENTION_NOT_NAMES:
                self.add("PERSON", *m.span(1))

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

    def _right_evidence(self, end: int) -> float:
        names = _names()
        rest = self.t[end : end + 4]
        if _DEMOGRAPHIC_RE.match(self.t, end) or names.kin_after.match(self.t, end):
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
        if not given or given[0] == cand[0] or (given in names.never and not left):
            return None
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
        for m in _ZH_SURNAME_ONLY_RE.finditer(self.t):
            if m.group(1) in names.surnames:
                self.add("PERSON", *m.span(1))
        for k in toks:
            if k.start in found:
                continue
            if self._surname_len(k.start):
                function_word = k.text[0] in _FUNCTION_FIRST
                take(self._best_at(k.start, 0.0), check=math.inf if function_word else UNCUED_SURE)
                if k.start not in found:
                    self._token_head(k, found)
                if k.start not in found and k.text[-1] not in _DRUG_TAIL and self._foreign_token(k):
                    found[k.start] = (k.start, k.end)  # 毕加索, 兰德里: a surname starts them
                if k.start not in found and len(k.text) == 1:
                    # a lone surname before a title: 江主席, 王医生
                    rest = self.t[k.end : k.end + 4]
                    if (
                        any(rest.startswith(w) for w in names.titles)
                        and k.text not in _FUNCTION_SURNAMES
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

    def _model_p(self, start: int, end: int) -> float:
        """The CRF's weakest name probability over t[start:end]."""
        return min(1.0 - self._marg[k][2] for k in range(start, end))

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

    def _join_dotted(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """本雅明·内塔尼亚胡: two names joined by a middle dot are one."""
        out: list[tuple[int, int]] = []
        for s, e in spans:
            if out and s == out[-1][1] + 1 and self.t[s - 1] in _NAME_DOTS:
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
        return out

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
                and end - start <= _MODEL_MAX_WHOLE
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

    def _measure_word_at(self, pos: int) -> bool:
        """A surname character used as a measure word: 这张, 两位, 一支, 每周."""
        return self.t[pos] in _MEASURE_SURNAMES and self.t[pos - 1 : pos] in _COUNTING_BEFORE

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
        return p >= MODEL_SURE and cand[-1] not in _DRUG_ONLY_TAIL  # 艾普拉唑

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

    def en_names(self) -> None:
        """Names in Latin letters, in any case, after their cues (``name_cues_en.toml``):
        "my name is li na", "this is sarah connor", "Dr. O'Brien", "我叫Emily Zhou",
        "thanks, priya"; and two capitalised words inside a sentence that start with a given
        name ("… then Kevin Wong called")."""
        cues = _latin_cues()
        for m in cues.naming.finditer(self.t):
            self._latin_name(m.end(), first_any=True)
        for m in cues.titled.finditer(self.t):
            self._latin_name(m.end(), first_any=False, after_title=True, titled=True)
        for m in cues.weak.finditer(self.t):
            self._latin_name(m.end(), first_any=False, listed_only=True, after_title=True)
        for m in cues.listed.finditer(self.t):
            # only a given name common in English-speaking countries ("for Sofia"; not "to go"),
            # and after it only listed or capitalised words ("with Tomáš Novák")
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
        here = _NAME_HERE_RE.match(self.t)  # "Leila here, …", "zhang wei again (…)"
        if here:
            self._latin_name(here.start(1), first_any=False, listed_only=True)
        for m in _EN_NAME_BEFORE_RE.finditer(self.n.cased):  # "James Wilson is my husband"
            words = list(re.finditer(r"[^\s,]+", m.group(1)))
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
        self._latin_name_company()
        if re.search(f"[{_CJK}]", self.t):
            for m in _LATIN_IN_ZH_RE.finditer(self.n.cased):  # "Tom 说他明天来"
                word = m.group(1).lower()
                if word in given_names() and word not in cues.not_names:
                    self.add("PERSON", *m.span(1))

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
        parts = [p for p in re.split(r"[\-'’]", _fold_accents(word)) if p]
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
            if word in cues.not_names or len(word) < 2:
                break
            if not (
                (first_any and not words)
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

    def resolve(self) -> list[_Cand]:
        ordered = sorted(
            self.cands,
            # a checked number before one masked for its cue alone, then the likelier kind
            key=lambda c: (not c.validated, -_PRIORITY[c.kind], -(c.end - c.start), c.start),
        )
        chosen: list[_Cand] = []
        for c in ordered:
            if all(c.end <= o.start or o.end <= c.start for o in chosen):
                chosen.append(c)
        return sorted(chosen, key=lambda c: c.start)


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
_LATIN_IN_ZH_RE = re.compile(
    rf"(?:(?<=[{_CJK}])|(?<=[{_CJK}] )|^)([{_UPPER}][{_LOWER}]+)(?= ?[{_CJK}])"
)


def _fold_accents(word: str) -> str:
    """ciarán -> ciaran, amélie -> amelie: the list of given names is written without."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _text_continues(text: str, end: int) -> bool:
    """A name may go on after ``end``: a space and a letter follow."""
    return end < len(text) - 1 and text[end] in " \t" and text[end + 1 : end + 2].isalpha()


def detect_entities(text: str, known: Iterable[tuple[str, str]] = ()) -> list[tuple[str, int, int]]:
    """(kind, start, end) spans of personal information in the original ``text``.

    ``known`` holds (kind, value) pairs already seen in the conversation.
    """
    return [(c.kind, c.start, c.end) for c in _detect(text, known)]


def _detect(text: str, known: Iterable[tuple[str, str]]) -> list[_Cand]:
    """The detector's findings, in offsets of the original ``text``."""
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


def kind_of(placeholder: str) -> str | None:
    """The PII kind a placeholder stands for, or None when it is not a placeholder."""
    if not PLACEHOLDER_RE.fullmatch(placeholder):
        return None
    inner = placeholder[1:-1]
    if "_" in inner:
        return inner.rsplit("_", 1)[0]
    return _ZH_TO_KIND.get(inner.rstrip("0123456789"))
