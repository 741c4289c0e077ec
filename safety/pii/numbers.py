"""Structured identifiers: phone numbers (mainland mobiles; landlines and other countries'
numbers through ``phonenumbers``; numbers spelt out in words), ID, bank card and record
numbers, passports, permits and other countries' identity numbers, WeChat and QQ
accounts, licence plates, dates of birth and e-mail addresses.
"""

from __future__ import annotations

import datetime as dt
import re

from safety.pii.base import (
    _CJK_RE,
    _LATIN_RE,
    _LATIN_WORD_RE,
    _NOT_DIGIT_RE,
    _NOT_DIGIT_X_RE,
    _Cand,
    _Scan,
)
from safety.pii.checks import (
    _id_shaped,
    _real_birth_date,
    luhn_ok,
    valid_cn_id,
    valid_cn_mobile,
    valid_hkid,
    valid_nric,
    valid_old_cn_id,
    valid_twid,
)

_BANK_LENGTHS = range(16, 20)
# Written as cards print their number: four groups of four digits, a fifth of one to three
_CARD_LAYOUT_RE = re.compile(
    r"[0-9]{4}(?:([ \-])[0-9]{4}){3}(?:\1[0-9]{1,3})?"
    r"|3[47][0-9]{2}([ \-])[0-9]{6}\2[0-9]{5}"  # American Express: 3759 876543 21004
)
# A card number the patient masked in part (its first and last digits still theirs):
# "6217 **** **** **** 019", "621483******6612", "4716 12** **** 8830"
_MASKED_CARD_RE = re.compile(
    r"(?<![0-9*])[0-9]{4}(?:[ \-]?[0-9]{2,4})?(?:[ \-]?[*xX＊]{2,4}){1,4}"
    r"[ \-]?[0-9*]{0,4}[ \-]?[0-9]{3,4}(?![0-9*])"
)
# An account after its cue: "acct 1047 2285", "account 38291047", "戶口 012-875-0-123456"
_ACCOUNT_RE = re.compile(
    r"(?<![a-z])(?:acct|account|a/c|户口|账户|帐户)(?:\s*(?:no\.?|number|#))?\s*(?:is|:|：|是)?\s*"
    r"(?:[\u4e00-\u9fff]{1,4}\s*)?"  # (the bank's name between: 中銀 012-…)
    r"((?<![0-9])[0-9](?:[ \-]?[0-9]){5,20})(?![0-9a-z])"
)
# An IBAN: country, two check digits, then up to 30 letters and digits, in fours or not
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
_MIN_DIGITS_FOR_PHONE_LIB = 7
_PHONE_CUE_WINDOW = 12
_PHONE_CUE_WINDOW_LATIN = 24  # "call first on (641) 555-0148"
_LOCAL_CUE_WINDOW = 30  # "call me back on 9123 4567", "…, mine is 9876 5432"
_LOCAL_CUE_RE = re.compile(r"(?<![a-z])(?:number|no\.)(?![a-z])")
# (after "No." too; not after a digit and a point: the decimals of a number)
_DIGIT_RUN_RE = re.compile(
    r"(?<![0-9a-z])(?<![0-9]\.)\+?[0-9](?:[ \-]?[0-9]){5,22}(?:[ \-]?x)?(?![0-9a-z])"
)
_EMAIL_RE = re.compile(
    r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
)
# An address spelt out against harvesters: "liwei2019 at qq dot com", "j.smith [at] outlook
# [dot] com", "zhang_wei#qq.com" (ending in a known suffix, so "at home" is none)
_SPELT_AT = r"(?:\s*[\[({]at[\])}]\s*|\s+at\s+|\s*[＠@]\s*|\s*(?:艾特|圈\s*a|圈圈|小老鼠)\s*|#)"
_SPELT_DOT = r"(?:\s*[\[({]dot[\])}]\s*|\s+dot\s+|\s\.\s|\.|\s*点\s*)"
_SPELT_JOIN = (
    r"(?:\s+(?:dot|underscore|dash|hyphen)\s+|\s*[\[({](?:dot|underscore)[\])}]\s*"
    r"|\s*(?:点|下划线|杠)\s*)"
)
_MAIL_SUFFIX = (
    r"(?:com|cn|net|org|edu|gov|hk|mo|tw|uk|co|io|me|info|jp|sg|au|ca|de|fr|fm|nz|in|kr|my|ph|"
    r"ie|es|it|nl|ch|se|eu|us|biz|ac|pl|ru|br|za|vn|th|id|tr|ae|sa|at|be|dk|no|fi|pt|cz|gr|il|"
    r"mx|ar|cl|pk|bd|lk|ng|ke|eg)"
)
_EMAIL_SPELT_RE = re.compile(
    # (the name before the "at" may be spelt out too: "maria dot gonzalez at hotmail dot com")
    # (or with its underscores and dashes: "tomasz underscore k", "zhaoyu 点 lin", "li 下划线 na")
    r"(?<![a-z0-9._%+-])(?:[a-z0-9][a-z0-9._%+-]*(?:"
    + _SPELT_JOIN
    + r"[a-z0-9][a-z0-9._%+-]*)+|[a-z0-9][a-z0-9._%+-]{2,})"
    + _SPELT_AT
    # (a provider named in Chinese: "艾特新浪点com")
    + r"(?:[a-z0-9-]+|新浪|网易|搜狐|腾讯|谷歌)(?:"
    + _SPELT_DOT
    + r"[a-z0-9-]+)*?"
    + _SPELT_DOT
    # (a second suffix: "hotmail dot co dot uk", "yahoo.com.hk")
    + _MAIL_SUFFIX
    + r"(?:"
    + _SPELT_DOT
    + _MAIL_SUFFIX
    + r")?(?![a-z0-9])"
)
_CUE_SEP = r"\s*(?:号码|卡号|号)?\s*(?:以前|之前|原来|现在|目前)?\s*(?:是|为|系|:|#)?\s*"
_EN_FILLER = (
    r"(?:\s+(?:is|was|there|here|at|of|to|number|no\.?|#|id|:|it['’]?s|—|–)){0,4}\s*(?::|系|是)?\s*"
)
# A card named, then its number a few words later: "my clinic card …, the number is C0045821"
_CARD_NUMBER_RE = re.compile(
    r"(?:clinic|hospital|patient|outpatient|inpatient|medical|health|insurance|member(?:ship)?)"
    r"\s+card\b[^.!?\n]{0,40}?\b(?:number|no\.?)\s*(?:is|was|:)?\s*"
    r"((?=[a-z\-]*[0-9])[a-z]{0,3}-?[0-9][a-z0-9\-]{4,15})(?![a-z0-9])"
)
_MRN_VALUE = (
    r"([0-9]{3,6}(?: [0-9]{3,6}){1,3}(?:\s?\([0-9a-z]\))?"
    r"|(?!(?:is|was|no|of|at|id|my|the) )[a-z]{1,3} [0-9]{4,12}"
    r"(?:-[0-9]{2,6}|(?: [0-9]{3,6}){1,2})?"
    # (letters and a digit, then groups: RJ1 884 2031)
    r"|[a-z]{1,3}[0-9]{1,2} [0-9]{3,6}(?: [0-9]{3,6}){1,2}"
    # (a check digit in brackets: HN07712043(4); a case number with slashes: 2024/OPD/18821)
    r"|(?=[a-z\-/]*[0-9])[a-z0-9][a-z0-9\-/]{3,19}(?:\([0-9a-z]\))?)(?![a-z0-9])"
)
_MRN_RE = re.compile(
    r"(?:病历号|病历|住院号|门诊号|就诊卡号|就诊卡|就诊号|病案号|登记号|健康卡号|档案号|检查号|"
    r"门诊卡号?|诊疗卡号?|医疗卡号?|健康卡|病人编号|患者编号|登记证号码?|"
    r"影像号|标本号|病理号|检查单号|报告单号|报告编号|(?:住院|门诊|就诊|病历|病案|医院)(?:id|编号)|"
    r"report (?:id|no\.?|number)|pathology (?:ref|no\.?|number)|"
    r"mrn|(?:medical|health|hospital|patient|case|chart)\s+record(?:\s+(?:number|no\.?))?|"
    r"(?:hospital|inpatient|outpatient|patient|admission|case|chart|clinic|record|hosp)"
    r"\s+(?:number|no\.?|id|#|card(?:\s+(?:number|no\.?))?)|patient id|(?<![a-z])hn(?![a-z])"
    # Australia's unit record number: "UR number 0384 7721", "URN 1234567"
    r"|(?<![a-z])(?:ur|urn|unit record)(?:\s+(?:number|no\.?))?(?![a-z]))"
    + r"(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"[“\"'「]?"
    + _MRN_VALUE
)
# A record number's own cue, a few words, then its verb: "住院号我记得是 …", "the hospital
# number on my wristband says …" (not a date: "… is 2024/03/05")
_MRN_LATER_RE = re.compile(
    r"(?:住院号|病历号|门诊号|就诊卡号|就诊号|病案号|登记号|档案号|病人编号|患者编号|登记证号码?|"
    r"(?<![a-z])(?:mrn|hn|hospital number|patient id|admission no\.?|case no\.?)(?![a-z]))"
    r"[^0-9，,。.!?！？；;\n]{1,20}?(?:是|为|係|系|:|：|(?<![a-z])(?:is|says|reads|either)(?![a-z]))"
    r"\s*[“\"'「]?(?!(?:19|20)[0-9]{2}[\-/.][01]?[0-9][\-/.])" + _MRN_VALUE
)
_PASSPORT_CUE_RE = re.compile(
    r"(?:护照|passport|(?<![a-z])pp\s*no\.?)(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"(?:,\s*)?"  # ("a French passport, 18FR20947")
    # (a Russian passport's series and number, "70 7718725")
    # (not the first group of an ID card's number as printed, 110105 20150921 7776)
    + r"((?=[a-z0-9]*[0-9][a-z0-9]*[0-9])[a-z0-9]{6,12}(?![ \-][0-9]{8}[ \-][0-9]{3}[0-9x])"
    + r"|[0-9]{2} [0-9]{7}"
    # a letter apart from the digits, as the booklet prints it ("P 3918274 A", "X 2918374"),
    # or nine digits in threes
    + r"|[a-z]{1,2} [0-9]{6,8}(?: [a-z](?![a-z]))?|[0-9]{3} [0-9]{3} [0-9]{3})(?![a-z0-9])"
)
_PASSPORT_BARE_RE = re.compile(
    r"(?<![a-z0-9])(e[0-9]{8}|e[a-hj-np-z][0-9]{7}|g[0-9]{8}"
    # the same in groups, as read off the page: "E 5820 3917", "G-2847-1930"
    r"|[eg][ \-][0-9]{4}[ \-]?[0-9]{4}|e[a-hj-np-z][ \-]?[0-9]{3}[ \-][0-9]{4})(?![a-z0-9])"
)
# Between an identifier written first and its cue: "…这个是我的", "…就是他", "… is my"
# A handle's shape (letters first, with a digit, "_" or "-" in it: not a word) a few words from
# a WeChat cue, either side, in the same sentence: "add me on wechat pls Sophie_Liu",
# "加个v yy_5201314", "mkt_dan77 <- that's my wechat"
_HANDLE = (
    r"(?<![a-z0-9_\-@.])(?!qq[0-9])"  # (not "QQ1739204856": a QQ number after its name)
    r"([a-z][a-z0-9]*[_\-0-9][a-z0-9_\-]*)(?![a-z0-9_\-@]|\.[a-z])"
)
_WECHAT_WORD = (
    r"(?:(?:微信|威信|薇信|weixin|wechat)(?!\s*(?:支付|群|公众号|小程序|pay|group))|vx|wx|v信"
    r"|加(?:个|我)?\s?v(?![a-z]))"
)
_WECHAT_NEAR_RE = re.compile(
    _WECHAT_WORD
    + r"[^。.!?！？\n0-9]{0,24}?"
    + _HANDLE
    + r"|"
    + _HANDLE
    + r"[^。.!?！？\n]{0,16}?"
    + _WECHAT_WORD
)
# After a WeChat cue, a handle further on in the message (corrected, a second one, after a
# question): "以前是wl19880312 现在是wanglei_run", "add me on WeChat? My ID is jake_miller_sh";
# one with "_" or three digits, which no word has
_WECHAT_CUE_RE = re.compile(_WECHAT_WORD)
_HANDLE_RE = re.compile(_HANDLE)
_WECHAT_LATER_REACH = 60
_OFFICIAL_ACCOUNT_RE = re.compile(r"official|公众号|服务号|订阅号|小程序|视频号")
_HANDLE_MARK_RE = re.compile(r"_|[0-9].*[0-9].*[0-9]")
_OWNER_AFTER = (
    r"[，,]?\s*(?:这个|这|那个)?\s*(?:就)?(?:是|係|系|is)\s*"
    r"(?:我|他|她|我妈|我爸|my|his|her)?\s*(?:的)?\s*"
)
_WECHAT_RE = re.compile(
    # (加我V：… — V for WeChat, after 加我 or before a colon)
    r"(?:微信|威信|薇信|vx|wx|v信|weixin|wechat|加我v|(?<![a-z0-9])v(?=\s*[:：]))"
    r"(?!\s*(?:支付|pay|群|公众号|小程序))"  # (微信支付的商户单号: a payment's)
    r"(?:[^。.!?！？\n]{0,20}?(?:号码|账号|号|\bid\b)|\s*(?:id)?)"
    # a particle or verb between: "加我微信吧 lily_chen1990", "微信搜 …", "wechat係…", "on
    # WeChat as 'DrLoveMom_88'", "search 'annie_chen_1992'"
    r"\s*(?:吧|呀|啊|搜|搜索|加|係|系|是|为|:|：|is|as|,?\s*search)?\s*(?:是|为|:|：)?\s*"
    r"['\"“‘]?([a-z][a-z0-9_\-]{5,19})(?![a-z0-9_\-])"
)
# An identifier written first and named after it: "C82731045，这是我的港澳通行证号码",
# "9434765919 - that's my NHS number", "TM 1314 呢部係我哋嘅車", "0038271645这个是住院号…"
_NAMED_AFTER_RE = re.compile(
    r"(?<![a-z0-9])((?!(?:not|no|is|or|and|my|the|it|was|to|of|at|on|in|so|its) )"
    r"[a-z]{0,3}[ \-]?[0-9](?:[ \-]?[0-9a-z]){3,20}(?:\([0-9a-z]\))?)(?![a-z0-9])"
    r"\s*(?:[，,\-–—]\s*)?(?:(?:这个|这|那个|呢部|呢个|呢架|that['’]s|that is|it['’]s|which is)\s*"
    r"(?:就)?(?:是|係|系|is)?|(?:就)?(?:是|係|系|is))"
    # (whose: "1048857是我妈的病案号")
    r"\s*(?:我|他|她|我们|我哋|my|his|her|our|the)?\s*"
    r"(?:妈|爸|母亲|父亲|老公|老婆|爱人|孩子|儿子|女儿|婆婆|公公|爷爷|奶奶|外公|外婆|"
    r"mum|mom|dad|wife|husband|son|daughter)?['’]?s?\s*(?:的|嘅)?\s*"
    r"(?:(?P<plate>车牌|车|(?:car|plate|reg)(?![a-z]))"
    r"|(?P<passport>港澳通行证|通行证|护照|passport(?![a-z]))"
    r"|(?P<mrn>住院号|门诊号|病历号|就诊卡号|病案号|(?:hospital|patient|mrn) (?:number|no))"
    r"|(?P<other>医保号|社保号|保单号|医保卡号|社保卡号|"
    r"(?:nhs|insurance|policy|medicare|membership|member) (?:number|no|id)))"
)
_NAMED_AFTER_KINDS = {"plate": "PLATE", "passport": "PASSPORT", "mrn": "MRN", "other": "OTHER_ID"}
# A WeChat handle written before its cue: "Tony_Ma-2008是我weixin", "wxid_… 是我微信"
_WECHAT_FIRST_RE = re.compile(
    r"(?<![a-z0-9_\-])([a-z][a-z0-9_\-]{5,19})\s*"
    + _OWNER_AFTER
    + r"(?:微信|威信|weixin|wechat|vx|wx)(?![a-z])"
)
# A handle of letters only straight after the Latin name of a channel, with no ":", "is", "ID"
# or 号 between, is a word ("WeChat account", "wechat group", "WhatsApp number"); one with a
# digit or "_" is a handle. (After 微信 in a Chinese sentence a Latin word is a handle.)
_WORD_AFTER_CHANNEL_RE = re.compile(
    r"(?:weixin|wechat|vx|wx|qq|whatsapp|telegram)\W{0,6}[a-z]+", re.IGNORECASE
)


def channel_word(found: str) -> bool:
    """Whether ``found`` (a channel's name and what follows it) is the channel named before a
    plain word, not a handle: shared by the masker and the output guard's contacts."""
    return _WORD_AFTER_CHANNEL_RE.fullmatch(found) is not None and not any(
        cue in found.lower() for cue in (":", "：", "号", " is ", " id ")
    )


_PERMIT_RE = re.compile(
    r"(?:港澳通行证|通行证|回乡证|台胞证|澳门身份证|香港身份证|居留证|社保卡号|社保卡|社保号|"
    r"社会保障卡号|社会保障号|医保卡号|医保卡|医保号|健保卡号|健保卡|会员号|会员卡号|保单号|保险单号|"
    r"social security(?: number| no\.?)?|ssn|national insurance(?: number| no\.?)?|nhs number|"
    r"insurance (?:number|no\.?|id)|member(?:ship)? (?:id|no\.?|number)|"
    r"policy (?:number|no\.?)|medicare(?: number| no\.?)?|medicaid(?: number| no\.?)?|"
    # France's social security number, spaced as its card prints it (1 57 10 13 691 994 74)
    r"(?:num[ée]ro de )?s[ée]cu(?:rit[ée] sociale)?|(?<![a-z])nir(?![a-z]))(?:"
    + _CUE_SEP
    + r"|"
    + _EN_FILLER
    + r")"
    + r"([a-z]{0,4}-?[0-9][0-9 \-]{5,20}[0-9](?:\([0-9a]\))?|[a-z]{0,2}[0-9]{7,10}"
    + r"|(?=(?:[a-z\-]*[0-9]){5})[a-z0-9][a-z0-9\-]{5,19})(?![a-z0-9])"
)
# (also in groups, as read off the card: "K 781 092 (A)", "XD 294017 (0)")
_HKID_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Z]{1,2} ?[0-9]{3} ?[0-9]{3})\s?\(?([0-9A])\)?(?![A-Za-z0-9])"
)
# New Zealand's NHI number after its cue: three letters, then four digits or two and two letters
_NHI_RE = re.compile(
    r"(?<![a-z])nhi(?:\s*(?:number|no\.?|#))?\s*[:：]?\s*([a-z]{3}[0-9]{4}|[a-z]{3}[0-9]{2}[a-z]{2})"
    r"(?![a-z0-9])"
)
_HKID_CUE_RE = re.compile(r"身份证|证件|hkid|id card|identity card")
_TWID_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][12][0-9]{8})(?![A-Za-z0-9])")
# Singapore NRIC/FIN (S1234567D), a US social security number (123-45-6789), a Malaysian MyKad
# (YYMMDD-PB-NNNN): shapes of their own, each checked
_NRIC_RE = re.compile(r"(?<![A-Za-z0-9])([STFG])([0-9]{7})([A-Z])(?![A-Za-z0-9])")
_SSN_RE = re.compile(r"(?<![0-9\-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![0-9\-])")
_MYKAD_RE = re.compile(r"(?<![0-9\-])([0-9]{6})-([0-9]{2})-([0-9]{4})(?![0-9\-])")
# Korea's resident registration number: the birth date, then a digit for the century and sex
_KOREAN_RRN_RE = re.compile(r"(?<![0-9\-])([0-9]{6})-[1-8][0-9]{6}(?![0-9\-])")
# India's PAN (the fourth letter says who holds it: P a person …) and the UK's National
# Insurance number (two letters, three pairs of digits, A-D); read in the message's own case
_PAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}[PCHFATBLJG][A-Z][0-9]{4}[A-Z](?![A-Za-z0-9])")
_UK_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D](?![A-Za-z0-9])"
)
_PLATE_RE = re.compile(
    r"(?<![a-z0-9])[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[a-hj-np-z][·\s\-]?(?:[a-hj-np-z0-9]{5,6}|[a-hj-np-z0-9]{4}[港澳])(?![a-z0-9])"
)
# After a cue, an identifier-shaped number is masked even when its check fails (a patient's
# typo is still their number): a few words may stand between ("身份证号我发你：…").
_CUE_GAP = (
    r"(?:[^0-9a-z。.!?！？\n]|[0-9]{1,2}\s*(?:位|digits?)|number|no\.|num|is|was|as|of|my|her|his|"
    r"the|to|into|please|pls|id|should|be|actually){0,8}?"
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
# Any identifier's cue, then an identifier-shaped run (six digits or more, a few letters
# before): the last net under the shapes above, for a number whose kind has no shape of its
# own here or whose shape is mistyped ("NHS no: 9434765919", "身份证号码 F228193746")
_ANY_ID_CUE_RE = re.compile(
    r"(?:身份证|身分证|证件|证号|护照|通行证|居留证|卡号|编号|账号|帐号|会员号|字第|"
    # insurance and social security: "保单号 …", "医保号", "policy 0173829-4", "BSN 123456782"
    r"保单号|医保号|社保号|电脑号|参保号|驾照|驾驶证|回乡证|台胞证|军官证|工号|学号|"
    # permits and cards of residents, workers, students and the old: 居留许可, 居住证, 学籍号 …
    r"居留许可|工作许可证?|居住证|健康证|优待证|离休证|新农合|学籍号|签证|"
    r"(?<![a-z])(?:visa(?: foil)?|dod id|tricare|upn|nhi|ihs(?: reference)?|brp|crn|hicn|"
    r"codice fiscale|group|dl)(?![a-z])|"
    r"(?<![a-z])(?:id|no\.?(?!\s*[,，])|number|num|#|nric|ic|policy|membership|bsn|nhs|medicare|"
    # other countries' identifiers by name: "SSN 593 47 5518", "Aadhaar …", "OHIP …"
    r"ssn|sin|aadhaa?r|ppsn?|ohip|mbi|hkid|tfn|pesel|curp|nino|licen[cs]e|permit|mykad|phn|"
    # an insurer's member, a health card: "member W743716326", "health card 8217-575-078-YM"
    # Singapore's passes: "FIN M4391025U", "visit pass G2148370K"
    r"member|health card|insurance|insurer|fin|(?:visit|work|employment|student|dependant)\s+pass)"
    r"(?![a-z]))"
    # ("is" a word of its own: "Policy IS-0038127745" holds the number's letters)
    r"\s*(?:号码|号|card|number|no\.?|id)?\s*[,，]?\s*(?:是|为|:|：|#|is(?=\s))?\s*[,，]?\s*"
    # (not a date: "policy 2024/03/05")
    r"(?!(?:19|20)[0-9]{2}[\-/.][01]?[0-9][\-/.])"
    # a few letters first, with dashes ("AXA-HK-2043755", "FITZG501214ES9XY"); a slash
    # inside ("5427725/004", "GRP59799/7598")
    # (letters and slashes first: "NH/HK/0738211", "TPP/2024/HK/291837")
    r"((?=(?:[a-z\-/]*[0-9]){6})(?:[a-z]{1,5}[\-/]){0,3}[a-z]{0,5}-?[0-9][0-9a-z\-/]{5,19}"
    r"(?:\s?[(（][0-9a-z][)）])?"
    # or letters (perhaps two, dashed) then digits in groups: "UHC 9928 4410 02",
    # "AXA-PPP 4471 8820 6", "DL 0038 2271 94"
    # (not a cue's own letters: "insurance: SIN 046 454 286")
    r"|(?!(?:is|was|no|of|at|id|my|the|and|or|for|are|its|sin|ssn|nhs|nric|ic|fin|mbi|phn|dl|"
    r"ohip|tfn|upn|nhi|ihs|brp|crn|hicn|bsn|pps|ppsn) )"
    r"[a-z]{1,5}(?:-[a-z]{1,5})? [0-9]{2,6}(?: [0-9]{1,6}){1,3}(?![0-9])"
    # or a Chinese office's prefix ending in 字 or 证: "穗居字0045938", "离字第1047号",
    # "穗健证2023-118274"
    r"|[\u4e00-\u9fff]{1,2}(?:字第?|证)[0-9]{4,12}(?:-[0-9]{2,8})?号?"
    # or letters, the digits, and a member's two-digit suffix apart: "VHI 4928173 05",
    # "U73829104 01"
    r"|(?!(?:is|was|no|of|at|id|my|the|and|or|for|are|its) )"
    r"(?:[a-z]{1,4} ?[0-9]{6,10} [0-9]{2}(?![0-9])|[a-z]{2,4} [0-9]{6,10})"
    # or ten digits or more in groups, as printed on a card: "8800 3217 6654 09"
    # (and a version code after it: "4532 281 947 KT")
    r"|(?=(?:[ \-]?[0-9]){9})[0-9]{2,6}(?:[ \-][0-9]{2,7}){1,4}(?:[ \-][0-9](?![0-9]))?"
    r"(?:[ \-][a-z]{2}(?![a-z]))?)"
    r"(?![0-9a-z])"
)
_IDENTITY_CUE_RE = re.compile(r"(?:身份证|身分证|证件|证号|ic\b|id\b)")
# What a cue's number may belong to that identifies no one: "order #4417-2290-3381",
# "药房订单号 3300128745", "tracking no. …", "排队号"
_VERSION_CODE_RE = re.compile(r"[0-9][ \-][a-z]{2}$")
NOT_PERSONAL_WORDS = (
    r"(?:order|tracking|invoice|receipt|parcel|shipment|delivery|courier|queue|ticket|"
    r"ref|reference|confirmation|booking|"
    r"订单|快递|运单|发票|取药|排队|物流|流水|叫号)"
)
_NOT_PERSONAL_BEFORE_RE = re.compile(NOT_PERSONAL_WORDS + r"\s*$")
# The words that make a code a thing's: a claim, a bill, a payment; a thing's batch, model,
# serial or registration; a sample's accession (acc); a parcel's carrier; a bank's routing
# code; a code of a diagnosis; a password
_THINGS_LATIN = (
    r"claim|estimate|refund|quote|quotation|statement|bill|transaction|batch|lot|"
    r"model|serial|s/n|approval|version|waybill|dhl|fedex|ups|ems|group|sample|specimen|"
    r"accession|routing|aba|swift|cnaps|rx|icd|wi-?fi|password|form (?:no|number|code)|"
    r"practice|facility|provider|vendor|merchant"
)
_THINGS_ZH = (
    r"表号|机构代码|医院代码|交易|配送|收据|收據|收费|收費|预约|預約|单号|批号|型号|序列号|准字|械注|"
    r"注准|注进|版本|理赔|赔案|挂号单|样本|标本|密码|顺丰"
)
THING_WORDS = rf"(?<![a-z])(?:{_THINGS_LATIN}|acc)s?(?![a-z])|{_THINGS_ZH}"
# a sample's, a device's or an appointment's word right before an identifier's generic cue:
# "sample no. …", "appointment #…" (a claim's number there stays a person's: "the claim # is …")
_THING_BEFORE_RE = re.compile(
    r"(?:(?<![a-z])(?:sample|specimen|accession|batch|lot|model|serial|s/n|version|waybill|"
    r"appointment|appt|icd|wi-?fi|password)s?(?![a-z])"
    r"|表号|机构代码|医院代码|交易|配送|收据|收據|收费|收費|预约|預約|单号|批号|型号|序列号|版本|样本|"
    # (an employer's, a form's own number: 单位编号, 表格编号)
    r"标本|密码|顺丰|单位|表格)\s*$"
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
    # or the number first: "545827864是我QQ", "…这个是我扣扣号"
    + r"|(?<![0-9])([1-9][0-9]{4,10})\s*"
    + _OWNER_AFTER
    + r"(?:qq|扣扣)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    # the months of French, Italian, Spanish, Portuguese and German, spelt out
    r"|janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    r"décembre|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|"
    r"dicembre|enero|febrero|abril|mayo|junio|julio|septiembre|octubre|noviembre|diciembre|"
    r"janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|dezembro|januar|februar|märz|"
    r"juni|juli|oktober|dezember)\.?"
)
# (a calendar may be named before the month: "1938年农历二月十五")
_ZH_MONTH = r"(?:农历|阴历|阳历|公历)?(?:[一二三四五六七八九十]{1,2}|元|正|冬|腊)月"
# A day in English words: "the twenty-third of May 1960"
_EN_DAY_WORD = (
    r"(?:(?:twenty|thirty)[ \-])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    r"|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    r"|nineteenth|twentieth|thirtieth"
)
# A year in English words: "nineteen seventy-five", "twenty eighteen", "two thousand and five"
_EN_UNIT = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_EN_YEAR = (
    r"(?:nineteen|twenty)[ \-](?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    rf"(?:[ \-]{_EN_UNIT})?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    rf"eighteen|nineteen|o[h]?[ \-]{_EN_UNIT})"
    rf"|two thousand(?:\s+and)?(?:[ \-](?:{_EN_UNIT}|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty(?:[ \-](?:one|two|three|four))?))?"
)
_ZH_DAY = r"(?:[一二三四五六七八九十]{1,3}[日号]?|初[一二三四五六七八九十]|廿[一二三四五六七八九])"
_DATE = (
    # (a year of an era: 民國68年, Japan's 平成4年)
    r"(?:(?:(?:19|20)?[0-9]{2}|民[國国]\s*[0-9]{2,3}|(?:昭和|平成|令和)[0-9]{1,2})\s*年"
    r"\s*(?:农历|阴历|阳历|公历)?"
    r"(?:[01]?[0-9]|元|正|冬|腊)\s*月"
    # the day with or without 日/号 ("78年2月14"), in Chinese numerals after a lunar month
    r"(?:\s*(?:[0-3]?[0-9](?:\s*[日号])?(?![0-9])|初[一二三四五六七八九十]"
    r"|(?<=[冬腊正元]月)[一二三四五六七八九十廿]{1,3}(?![一二三四五六七八九十])))?"
    r"|(?:19|20)[0-9]{2}(?:\s?[\-/.]\s?[01]?[0-9]\s?[\-/.]\s?[0-3]?[0-9]|[01][0-9][0-3][0-9]"
    r"|[\-/.][01]?[0-9](?![0-9\-/.]))"
    rf"|(?:[〇零一二三四五六七八九]{{4}}|[〇零一二三四五六七八九]{{2}}|(?:19|20)[0-9]{{2}})\s*年"
    rf"{_ZH_MONTH}(?:{_ZH_DAY})?"
    r"|[0-3]?[0-9][\-/.][0-3]?[0-9][\-/.](?:19|20)?[0-9]{2}"
    # a two-digit year first, with dots or slashes: "87.3.5", "87/03/05"
    r"|[0-9]{2}[./][01]?[0-9][./][0-3]?[0-9](?![0-9./])"
    rf"|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?,?\s+(?:19|20)[0-9]{{2}}"
    # ("the" belongs to a day with its ordinal: "the 9th of October 1990")
    rf"|(?:the\s+(?=[0-3]?[0-9](?:st|nd|rd|th)))?[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?"
    rf"\s+(?:19|20)[0-9]{{2}}"
    rf"|[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+['’][0-9]{{2}}"
    rf"|{_MONTH},?\s+(?:19|20)[0-9]{{2}}"
    rf"|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?,?\s+['’][0-9]{{2}}"
    rf"|(?:the\s+)?(?:{_EN_DAY_WORD})\s+(?:of\s+)?{_MONTH},?\s+(?:(?:19|20)[0-9]{{2}}|{_EN_YEAR})"
    # the year first, in words: "nineteen eighty-two, the fourth of July"
    rf"|{_EN_YEAR},?\s+(?:the\s+)?(?:{_EN_DAY_WORD})\s+(?:of\s+)?{_MONTH}"
    rf"|[0-3]?[0-9](?:st|nd|rd|th)?[\-/ ]{_MONTH}[\-/ ](?:19|20)?[0-9]{{2}})(?![0-9])"
)
# A registration form pasted in, the date right after the sex ("王建国/男/1962-07-14/…");
# a birthday by the age it brings ("she turns 5 on the 9th of Feb", "I'll be 70 on 14 July")
_DAY_MONTH = (
    rf"(?:the\s+)?[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}"
    rf"|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?(?![0-9])"
)
_FORM_DOB_RE = re.compile(
    r"(?:男|女|(?<![a-z])(?:male|female|m|f)(?![a-z]))\s*[/|,，、;；]\s*(" + _DATE + ")"
)
_AGE_TURN_DOB_RE = re.compile(
    r"(?<![a-z])(?:turns?|turning|will be|i'll be|is going to be)\s+[0-9]{1,3}\s+on\s+("
    + _DAY_MONTH
    + r")"
)
_DOB_RE = re.compile(
    r"(?:出生日期|出生年月日?|出生年份|出世年份|生日|出生于|出生在|生于|出生|生年月日|"
    r"date of birth|birth date|birthdate|birthday|dob|d\.o\.b\.?|born(?: on| in)?|n[ée]e? le|"
    r"geboren am)"
    + _CUE_GAP
    + r"("
    + _DATE
    + r")"
    # or the date first: "1987年3月15日出生", "87年3月生的"; a birth year: "1992年出生"
    + r"|(?<![0-9])("
    + _DATE
    # a year alone ("85年生的"); not "2026年出生的宝宝", a group
    + r"|(?:(?:19|20)?[0-9]{2}|[〇零一二三四五六七八九]{4})年"
    + r"(?=\s*出生(?!的(?:宝宝|孩子|小孩|人|一代|新生儿|婴儿|患者|老人))|\s*出世|\s*生(?:的|人)))"
    # (a time of day may stand between: "2023年9月2号早上生的")
    + r"\s*(?:早上|上午|中午|下午|晚上|凌晨|半夜|夜里)?\s*(?:出生|生人|生的|出世|生(?=[，,。\s]|$))"
    # a month and a day before 出生 or 生日: "4月3号出生的", "3月2号是我生日"
    + r"|(?<![0-9月])([01]?[0-9]月[0-3]?[0-9][日号]?|"
    + _ZH_MONTH
    + r"(?:"
    + _ZH_DAY
    + r"))"
    + r"(?=\s*(?:出生|生的|生日|是(?:我|他|她|孩子|宝宝)?的?生日))"
    # a year and the animal of its sign: "72年属鼠的"
    + r"|(?<![0-9])((?:(?:19|20)?[0-9]{2}|[〇零一二三四五六七八九]{2,4})年)"
    + r"(?=\s*(?:的\s*)?属[鼠牛虎兔龙蛇马羊猴鸡狗猪])"
    # after a birth cue, a year alone or a month and day: "born in 1974", "生日：5月20日"
    + r"|(?:出生年月|出生年份|出世年份|出生于|生于|生日(?:是|为)?|birthday\s*(?:是|为)|born in"
    + r"|born|birth year(?:\s+is)?|year of birth(?:\s+is)?|yob)"
    + r"\s*(?:是|为|係|系|填成了?|印成了?|写成了?)?\s*[:：]?\s*"
    + r"((?:19|20)[0-9]{2}(?![0-9年/\-]|\.[0-9])"
    + r"|(?:19|20)[0-9]{2}年(?!\s*[0-9一二三四五六七八九十元正冬腊])"
    # the same in Chinese numerals ("生于一九七八年", "生日：八月十五"), and "born in '85"
    + r"|[〇零一二三四五六七八九]{4}年(?!\s*[0-9一二三四五六七八九十元正冬腊])"
    + rf"|{_ZH_MONTH}(?:{_ZH_DAY})"
    + r"|['’][0-9]{2}(?![0-9])"
    + rf"|(?:{_EN_YEAR})(?![a-z\-])"
    # "born in 62": two digits alone, no weeks or hours after them
    + r"|(?<=born in )[0-9]{2}(?![0-9]|\s*(?:weeks?|wks?|days?|hours?|hrs?|minutes?|mins?|%))"
    + r"|[01]?[0-9]月[0-3]?[0-9][日号])"
    # a day and month after an English birthday cue: "my birthday is 20 March"
    + r"|(?:birthday|date of birth|dob|d\.o\.b\.?|born on|born)(?:\s+(?:is|was))?"
    + r"\s*[:：]?\s*(?:the\s+)?"
    + rf"([0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?)"
    + r"(?![0-9a-z])"
)
# A birth date named by what follows it ("一九七八年二月十四号，这是我生日", "1990-03-02 is my
# DOB"), the date an identity card shows (身份证上写的1939年1月27日), and a birth year said as
# people say it (我是85年的, 他是1962年生人)
# A person, then the year (and month) they were born in: "我1966年的", "老婆96年的", "我爸
# 1952年生", "爷爷是民国十四年的", "民國62年次", "我妈壬辰年生的" (not "我2016年的片子", "我
# 2016年的时候": what follows 的 says it is no birth)
_BORN_YEAR = (
    r"(?:(?:19|20)?[0-9]{2}\s*年(?:\s*[01]?[0-9]\s*月)?"
    r"|[〇零一二三四五六七八九]{2,4}年(?:[一二三四五六七八九十]{1,2}月)?"
    r"|民[国國]\s*(?:[0-9]{1,3}|[一二三四五六七八九十]{1,4})\s*年"
    r"|(?:明治|大正|昭和|平成|令和)\s*[0-9]{1,2}\s*年"
    r"|[甲乙丙丁戊己庚辛壬癸][子丑寅卯辰巳午未申酉戌亥]年)"
)
_PERSON_WORD = (
    r"(?:我|他|她|本人|老公|老婆|儿子|女儿|宝宝|孩子|大宝|二宝|老人|外婆|外公|爷爷|奶奶|阿爷|阿嫲"
    r"|男方|女方|[爸妈爹娘哥姐弟妹])"
)
_PERSON_YEAR_RE = re.compile(
    _PERSON_WORD + r"\s*(?:是|系|係)?\s*(?<![0-9])(" + _DATE + r"|" + _BORN_YEAR + r")(?:次)?\s*"
    r"(?=(?:的|嘅)(?!\s*(?:时候|時候|报告|片子|单子|检查|病历|结果|记录|药|卡|事|手术|体检))"
    r"|生(?!病|气|意|活|产|了病)|出生|出世)"
)
# A year of an era or of the sixty-year cycle before 生 / 出世 / 年次, no person needed:
# "民國62年次", "大正15年生", "甲子年正月生人"
# A birth year (and month) standing alone as a clause, as a form or a list says it: "85年的 男",
# "病人是我爸，1947年的", "她1962年，我1990年" has a person; "，1966年的，" none but 的 and the
# clause's end
_CLAUSE_YEAR_RE = re.compile(
    r"(?:^|(?<=[\s，,。；;：:（(）)]))("
    + _BORN_YEAR
    + r")\s*(?:的|嘅)(?=[\s，,。！？!?；;]|$|[男女])"
)
# A person and a year (and month) that end the clause: "她1962年，我1990年", "男方1994年5月，"
# (not one of the last few years: "我2024年，…" tells of a visit)
_PERSON_YEAR_END_RE = re.compile(
    r"(?:^|(?<=[\s，,。；;：:、]))"
    + _PERSON_WORD
    + r"\s*(?:是|系|係)?\s*(?<![0-9])((?:19|20)[0-9]{2}\s*年(?:\s*[01]?[0-9]\s*月)?)"
    + r"(?=\s*[，,。；;]|\s*$)"
)
_ERA_YEAR_RE = re.compile(
    r"(民[国國]\s*(?:[0-9]{1,3}|[一二三四五六七八九十]{1,4})\s*年|(?:明治|大正|昭和)\s*[0-9]{1,2}\s*年"
    r"|[甲乙丙丁戊己庚辛壬癸][子丑寅卯辰巳午未申酉戌亥]年(?:正月|[一二三四五六七八九十冬腊]{1,2}月)?)"
    r"(?=次|\s*(?:生(?!病|气|意|活)|出生|出世))"
)
# A staff, employee or student number after its cue may be short: "staff no C-11092", "工牌号
# SZ-08372", "员工卡号E10023", "Employee number: 48827"
_STAFF_NUMBER_RE = re.compile(
    r"(?:(?<![a-z])(?:staff|employee|student|pupil)(?: card)?\s*(?:id|no\.?|number|#)?"
    r"|工牌号?|员工(?:卡)?号|雇员编号|僱員編號|员工编号|学生证号?)"
    r"\s*(?:is|:|：|是)?\s*"
    r"((?=[a-z\-]*[0-9]{4})[a-z]{0,4}-?[0-9]{4,10}[a-z]?)(?![0-9a-z])"
)
# English ways with a birth year: "a 1985 baby", "a Dec 2021 baby", "born spring 1932";
# a birth date run together or spaced after its cue: "dob 090282", "DOB 01 01 1990"
_EN_BIRTH_YEAR_RE = re.compile(
    rf"(?<![a-z0-9])a\s+((?:{_MONTH}\s+)?(?:19|20)[0-9]{{2}})\s+baby(?![a-z])"
    # the year, then "born" (in a mixed sentence: "老人 1938年 born")
    r"|(?<![0-9])((?:19|20)[0-9]{2}年?)\s*born(?![a-z])"
    r"|(?<![a-z])born\s+(?:in\s+)?(?:the\s+)?(?:spring|summer|autumn|fall|winter|early|late|mid)"
    r"(?:\s+of)?\s+((?:19|20)[0-9]{2})(?![0-9])"
    r"|(?<![a-z])(?:dob|d\.o\.b\.?|date of birth|生日(?:是)?)\s*[:：]?\s*"
    r"((?:[0-3][0-9][01][0-9]|[0-9]{2}[01][0-9][0-3][0-9])[0-9]{0,2}(?![0-9])"
    r"|[0-3]?[0-9] [01]?[0-9] (?:19|20)[0-9]{2}(?![0-9]))"
)
_DOB_LATER_RE = re.compile(
    r"(?<![0-9])("
    + _DATE
    + r")\s*[，,]?\s*(?:这|这个|that|this|which)?(?:日期|date)?\s*(?:就是|是|is|was|'s)\s*"
    + r"(?:[我他她孩][\u4e00-\u9fff]{0,2}?的?|my|his|her|the|[a-z]+['’]s)?\s*(?:的)?\s*"
    + r"(?:生日|出生日期|出生年月|birthday|date of birth|birth date|dob|d\.o\.b)"
    + r"|(?:身份证|身分证|证件|户口本|护照|passport|id card)上(?:面)?"
    + r"(?:是|写的是?|写着|登记的是?|的)?"
    + r"\s*[:：]?\s*("
    + _DATE
    + r")"
    + r"|(?:^|[^\w])(?:我|他|她|我妈|我爸|孩子|老人)(?:是|系)("
    + r"(?:(?:19|20)?[0-9]{2}|[〇零一二三四五六七八九]{2,4})年)"
    + r"(?:的(?![\u4e00-\u9fff]{0,2}(?:报告|片子|单子|检查|病历|结果|记录|药|卡))|生人)"
)
# A whole date (day, month and a year of four digits) some years back is, in a patient's
# message, a birth date ("患者 女 1962.04.11 高血压", "my wife is 10/03/1988") unless an event
# is told with it: a stay, an operation, a diagnosis, a test ("出院记录上的日期是2019年11月4日")
_OLD_DATE_RE = re.compile(r"(?<![0-9a-z\-/])(" + _DATE + r")(?![\-/][0-9a-z])")
_OLD_DATE_YEARS = 5
EVENT_WORDS = (
    r"住院|出院|入院|手术|开刀|确诊|诊断|查出|检查|体检|复查|复诊|就诊|看病|挂号|化疗|放疗|"
    r"发病|发作|摔|去世|过世|死亡|病逝|接种|打针|做的|做过|开始|以来|至今|到期|有效期|签发|"
    r"发现|出现|感到|觉得|得了|患上|怀孕|分娩|生产|剖腹|顺产|月经|停经|受伤|骨折|车祸|服药|吃药|"
    r"(?<=[日号])(?:起|后|前|以后|之后|以前|之前)|"
    r"(?<![a-z])(?:admitted|discharged|surgery|operat(?:ed|ion)|diagnosed|seen|visit(?:ed)?|"
    r"scan(?:ned)?|tested|test|since|until|expir(?:es|y|ed)|issued|valid|died|passed away|"
    r"started|appointment|vaccinated)(?![a-z])"
)
_EVENT_NEAR_RE = re.compile(EVENT_WORDS)
_EVENT_REACH = 16
# A date written as the record has it or as it should be, soon after a birth date was named
_YEAR4_RE = re.compile(r"(?:19|20)[0-9]{2}")
_DIGIT_GROUP_RE = re.compile(r"[0-9]+")
_LETTER_RE = re.compile(r"[a-z]")
# where a clause ends (and, for English, a sentence's full stop)
CLAUSE_END_RE = re.compile(r"[，,。；;！？!?\n]")
SENTENCE_END_RE = re.compile(r"[，,。；;！？!?\n]|\.(?=\s)")
_DOB_AGAIN_REACH = 60
_DOB_AGAIN_RE = re.compile(
    r"(?:写成|登记成|录成|录入成|写的是|登记的是|录的是|错成|不是|应该是|其实是|实际是|明明是|显示|"
    r"打错了[，,]?\s*是|"
    r"(?<![a-z])(?:actually|should be|says|shows|written as|put as|wrong as)"
    # "not" right after the date it corrects: "… 1992年8月3日 not 1992年3月8日", "…21, not …"
    r"|(?:(?<=[0-9月日号] )|(?<=[0-9月日号][，,] )|(?<=[0-9月日号][，,]))not(?![a-z]))"
    r"\s*(?:了|是|it's|it is)?\s*[:：]?\s*("
    + _DATE
    + r"|(?:19|20)[0-9]{2}年(?![0-9一二三四五六七八九十])"
    + r"|[01]?[0-9]月[0-3]?[0-9][日号]|"
    + rf"{_ZH_MONTH}(?:{_ZH_DAY})"
    + r")"
)
_LATIN_PLATE_CUE_RE = re.compile(
    r"(?:车牌|車牌|牌照|(?:香港|港|澳门|澳門|内地|內地|大陆|新加坡)牌|"
    r"(?<![a-z])(?:(?:licen[cs]e |number |car )?plates?|registration|reg\.?|rego|"
    r"licen[cs]e|car)(?![a-z]))"
    r"(?:\s*(?:号码|號碼|号|號|number|no\.?))?\s*(?:是|为|係|系|:|is)?\s*"
    r"((?!(?:reg|rego|plate|number|no|is|registration)\b)"
    r"(?:[a-z0-9]{1,4}(?:[ \-][a-z0-9]{1,4}){1,2}|[a-z0-9]{2,8}))(?![a-z0-9])"
)
# Any region's plate after a word that names it: a province's character with Chinese numerals
# (京QDY七四三), a province in pinyin (yue b aw355), Japan's (品川 837 さ 40-50), Korea's
# (04가 8631); at least three digits or numerals, a few groups at most
_PLATE_CHARS = r"[a-z0-9\u3040-\u30ff\uac00-\ud7af〇零一二三四五六七八九]"
_ANY_PLATE_CUE_RE = re.compile(
    r"(?:车牌|車牌|牌照|(?<![a-z])(?:licen[cs]e plate|number plate|plate|car reg|rego)(?![a-z]))"
    r"(?:\s*(?:号码|號碼|号|號|number|no\.?))?\s*(?:是|为|係|系|:|：|is)?\s*"
    rf"((?:[\u4e00-\u9fff]{{1,2}}[ ·\-]?)?{_PLATE_CHARS}{{1,5}}"
    rf"(?:[ ·\-]?{_PLATE_CHARS}{{1,5}}){{0,7}})"
    r"(?![a-z0-9])"
)
_PLATE_DIGIT_RE = re.compile(r"[0-9〇零一二三四五六七八九]")
_PLATE_GROUP_RE = re.compile(r"[^ ·\-]+")
_PLATE_MAX_CHARS = 12
_UK_PLATE_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2} ?[A-Z]{3}(?![A-Za-z0-9])")
# (and as printed on the card, "5/183920/4")
_MACAU_ID_RE = re.compile(
    r"(?<![0-9a-z])(?:[157][0-9]{6}\s?\([0-9]\)|[157]/[0-9]{6}/[0-9](?![0-9/]))"
)
# An extension after a phone number: "…转8021", "ext. 204", "x 17"
_PHONE_LEAD_RE = re.compile(r"\(\+?[0-9]{1,4}\)[ \-]?$")
_PHONE_EXT_RE = re.compile(
    r",?\s*(?:转|分机|ext\.?|extension|x)\s*[0-9]{1,6}(?![0-9])|-[0-9]{1,5}(?![0-9\-])"
)
# a mainland area code first (010-, 0755-), and an extension after a dash at the end
_AREA_CODE_RE = re.compile(r"0[1-9][0-9]{1,2}[\- ]")
_DASH_EXT_RE = re.compile(r"-[0-9]{1,5}$")
# Eight digits after a phone cue: a Hong Kong or Macau number with no country code
# (not a piece of a longer run of digit groups: "6217 0000 1234 5678" is a card)
_LOCAL8_RE = re.compile(
    r"(?<![0-9])(?<![0-9][ \-])[2-9][0-9]{3}[ \-]?[0-9]{4}(?![0-9])(?![ \-][0-9])"
)
_INTL_PHONE_RE = re.compile(
    r"(?<![0-9a-z])\+[1-9][0-9]{0,2}(?:[ \-]?\(?[0-9]{1,5}\)?){2,5}(?![0-9])"
    # dialled from abroad with 00 for the +, "0044 7700 900 218"; or a code of the region
    # written without it, then a separator: "852-6193 8827", "86 139…"
    r"|(?<![0-9a-z])(?:00[1-9][0-9]{0,2}|852|853|886|86)[ \-](?:[ \-]?\(?[0-9]{1,5}\)?){2,5}"
    r"(?![0-9])"
    # or the code in brackets: "(852) 5858 1604", "(65) 9957 9591"
    r"|(?<![0-9a-z])\([1-9][0-9]{0,2}\)[ \-]?[0-9]{2,5}(?:[ \-]?[0-9]{2,5}){0,3}(?![0-9])"
)
_LATIN_PHONE_REGIONS = ("GB", "US", "AU")
_TW_MOBILE_RE = re.compile(r"(?<![0-9])09[0-9]{2}[ \-]?[0-9]{3}[ \-]?[0-9]{3}(?![0-9])")
# A number laid out as North America writes one, "(415) 867-5309" or "415-867-5309": a phone's
# layout, which no dose, result or date has, so it needs no cue before it
_NANP_LAYOUT_RE = re.compile(
    r"\([0-9]{3}\) ?[0-9]{3}[ .\-][0-9]{4}|[0-9]{3}([.\-])[0-9]{3}\1[0-9]{4}"
)
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
# (a digit may be doubled or tripled, "double five", and the groups set apart by dashes,
# commas or dots: "oh four one seven - three double two - two one nine")
# ("nine hundred": 900, as a number's middle is read out)
_EN_DIGIT_WORD = r"(?:(?:double|triple)\s+)?(?:" + "|".join(_EN_DIGIT_WORDS) + r")(?:\s+hundred)?"
_EN_DIGIT_WORDS_RE = re.compile(
    r"(?<![a-z])(?:plus\s+)?"  # (the "+" of a country code: "plus six five, …")
    + _EN_DIGIT_WORD
    + r"(?:(?:\s*[\-,.…]+\s*|\s+)"
    + _EN_DIGIT_WORD
    + r"){5,}(?![a-z])"
)
_EN_REPEAT = {"double": 2, "triple": 3}
# Digits in small groups set apart by spaces, a line break, a dash or Chinese commas
_SPACED_RUN_RE = re.compile(
    r"(?<![0-9a-z])\+?[0-9]{1,4}(?:(?:[ \n]{1,2}|[ ]?[\-、，,][ ]?)[0-9]{1,4}){2,10}(?![0-9a-z])"
)
# digit groups with a line break between them (spaces around it allowed)
_SPLIT_RUN_RE = re.compile(
    r"(?<![0-9a-z+])(\+[1-9][0-9]{0,2}[ \t]*)?"
    r"[0-9](?:[ \-]?[0-9])*(?:[ \t]*\n[ \t]*[0-9](?:[ \-]?[0-9])*)+[x]?(?![0-9a-z])"
)
# A Malaysian mobile as written there: "019-661 5514", "011-2345 6789"
_MY_MOBILE_RE = re.compile(r"(?<![0-9])01[0-9]-[0-9]{3,4} ?[0-9]{4}(?![0-9])")
_PHONE_CUE_RE = re.compile(
    r"(电话|電話|手机|手機|座机|联系|聯絡|聯繫|联络|号码|號碼|热线|打|致电|拨|tel|phone|call|fax|mobile|"
    r"cell|ring|whatsapp|(?:home|my|her|his|our) line|"
    r"text|contact|landline|office|reach|📱|☎|(?<![a-z])(?:hp|h/p)(?![a-z])|i['’]?m on)"
)


# A person's own phone cue (not a hotline's or a switchboard's), and digits in groups after it;
# "mobile" as international patients write it at home (portable, Handy, celular, 携帯, 휴대폰)
_PERSONAL_PHONE_CUE_RE = re.compile(
    r"(?<![a-z])(?:mobile|cell|landline|whatsapp|call me|reach me|i['’]?m on|"
    r"portable|handy|celular|m[óo]vil|telem[óo]vel|cellulare|"
    r"(?:my|her|his|our|their)(?: own| home| mobile)? (?:phone|number|line|tel))(?![a-z])"
    r"|手机|手機|座机|我的?电话|我的?電話|携帯|휴대폰|핸드폰"
)
_GROUPED_NUMBER_RE = re.compile(
    r"(?<![0-9a-z+])\(?0?[0-9]{2,5}\)?(?:[ \-][0-9]{2,5}){1,4}(?![0-9a-z])"
    r"|(?<![0-9a-z+])0[0-9]{9,11}(?![0-9])"
)
_DATE_START_RE = re.compile(r"(?:19|20)[0-9]{2}[ \-][01]?[0-9][ \-][0-3]?[0-9]$")
_MIN_CUED_PHONE = 9
# an organisation's number: "your pharmacy's phone", "科室电话", "the ward's line"
_ORG_BEFORE_RE = re.compile(
    r"(?<![a-z])(?:your|hospital|clinic|ward|desk|office|pharmacy|reception|department|centre|"
    r"center|service)s?(?![a-z])|医院|诊所|科室|护士站|总机|前台|药房|中心|窗口|办公室|客服|热线"
)
_ORG_REACH = 30
_MAX_CUED_PHONE = 13
# Kinds whose second writing is not read for a correction: names and addresses are not numbers,
# and a date of birth's shape is every date's
_LOCAL_DIGITS = 8  # Hong Kong, Macau and Singapore numbers
_SHORT_BY_ONE_MIN = 9  # a number this long written again with a digit left out is itself
_DIGIT_ONLY_RUN_RE = re.compile(r"(?<![0-9a-z])[0-9]+(?![0-9a-z])")
_NOT_CORRECTED = frozenset({"PERSON", "ADDRESS", "DOB", "EMAIL"})
# Another person's identifier named after one: a possessive or "is" just before it
_SIBLING_RE = re.compile(
    # (or the same identifier in another version: "…还是…", "以前是…，现在是…", "… or …")
    # (or the next of a list: "住院号分别是1872634、1923847、2018372")
    r"(?:的是|的|还是|或者|或是|现在是|现在的是|新的是|上是|改成了?|改为|、|，|,|和|及|"
    r"(?:'s|\bhers|\bhis|\btheirs|\bmine)\s+is|\band|\bor|\bnow\s+(?:it['’]s|is)"
    # ("the new one is …", "book is …, card is …")
    r"|\b(?:one|card|book|number)\s+is)\s*[:：]?\s*"
    r"(?<![0-9a-z_\-])([0-9a-z][0-9a-z_\-]{5,24})(?![0-9a-z_\-])"
    # (not an amount: "费用的是1250000元")
    r"(?!\s*(?:元|块|万|千|百|mg|ml|毫|克|kg|次|天|岁|号|点|分|个|%|°|cm|mm|rmb|yuan|dollars?)\b)"
)
_SENTENCE_END_RE = re.compile(r"[。！？!?\n]|\.(?:\s|$)")
_SIBLING_REACH = 40


_MASKED_CARD_MIN_DIGITS = 7  # the first four and the last three at least
_RECENT_YEARS = 4


def _recent_year(text: str) -> bool:
    """Does ``text`` (a year, perhaps with its month) name one of the last few years? A year
    of two digits is read as this century's when it is not past this year."""
    digits = re.match(r"[0-9]+", text)
    if digits is None:
        return False  # in Chinese numerals or of an era: an old year
    year = int(digits.group())
    now = dt.date.today().year
    if year < 100:
        year += 2000 if year <= now % 100 else 1900
    return year > now - _RECENT_YEARS


def _iban_ok(value: str) -> bool:
    """The IBAN check (ISO 13616): the first four characters moved to the end, letters read
    as 10–35, the number modulo 97 is 1."""
    raw = value.replace(" ", "")
    digits = "".join(str(int(ch, 36)) for ch in raw[4:] + raw[:4])
    return int(digits) % 97 == 1


def _signature(value: str) -> str:
    """An identifier's shape with runs collapsed: "GK482913" and "AB123456" are both "a9"."""
    out: list[str] = []
    for ch in value:
        shape = _shape_of(ch)
        if not out or out[-1] != shape:
            out.append(shape)
    return "".join(out)


_CORRECTION_MIN_DIGITS = 6


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _shape_of(ch: str) -> str:
    """A character's place in an identifier's shape: a digit, a Latin letter, or itself."""
    if ch.isascii() and ch.isdigit():
        return "9"
    if ch.isascii() and ch.isalpha():
        return "a"
    return ch


def _valid_phone(number: str, region: str | None, possible: bool = False) -> bool:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return (phonenumbers.is_possible_number if possible else phonenumbers.is_valid_number)(parsed)


def _one_left_out(a: str, b: str) -> bool:
    """``b`` is ``a`` with one character left out."""
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(b))
    return a[:k] + a[k + 1 :] == b


def _near(a: str, b: str) -> bool:
    """Two strings of one length that differ in at most two places (a digit mistyped, two
    neighbours swapped): the same number written twice."""
    return sum(x != y for x, y in zip(a, b, strict=True)) <= 2


class _NumberScan(_Scan):
    """The detectors of numbers and other structured identifiers."""

    def numbers(self) -> None:
        for m in _DIGIT_RUN_RE.finditer(self.t):
            raw = m.group()
            digits = _NOT_DIGIT_X_RE.sub("", raw)
            s, e = m.span()
            if len(digits) == 18 and valid_cn_id(digits):
                self.add("ID_CARD", s, e)
                continue
            if len(digits) == 18 and _id_shaped(digits[:17] + "0") and digits[:17].isdigit():
                # a region and a real birth date inside, the check character wrong: a mistyped
                # ID number (an order number has a date in that place one time in a thousand)
                self.add("ID_CARD", s, e, validated=False)
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
            elif _CARD_LAYOUT_RE.fullmatch(raw):
                # a card's number by its layout, even mistyped (the check fails)
                self.add("BANK_CARD", s, e, validated=luhn_ok(digits))
        for m in _ID_CUE_RE.finditer(self.t):
            group = 1 if m.group(1) else 2
            digits = _NOT_DIGIT_X_RE.sub("", m.group(group))
            ok = valid_cn_id(digits) if len(digits) == 18 else valid_old_cn_id(digits)
            self.add("ID_CARD", *m.span(group), validated=ok)
        for m in _MASKED_CARD_RE.finditer(self.t):
            if sum(ch.isdigit() for ch in m.group()) >= _MASKED_CARD_MIN_DIGITS:
                self.add("BANK_CARD", *m.span(), validated=False)
        for m in _ACCOUNT_RE.finditer(self.t):
            if not _NOT_PERSONAL_BEFORE_RE.search(self.t, max(0, m.start() - 16), m.start()):
                self.add("BANK_CARD", *m.span(1), validated=False)
        for m in _IBAN_RE.finditer(self.n.cased):
            if _iban_ok(m.group()):
                self.add("BANK_CARD", *m.span())
            elif "iban" in self.t[max(0, m.start() - 24) : m.start()]:
                self.add("BANK_CARD", *m.span(), validated=False)  # a mistyped one after "IBAN"
        for m in _BANK_CUE_RE.finditer(self.t):
            digits = _NOT_DIGIT_RE.sub("", m.group(1))
            ok = len(digits) in _BANK_LENGTHS and luhn_ok(digits)
            self.add("BANK_CARD", *m.span(1), validated=ok)
        if sum(c.isdigit() for c in self.t) >= _MIN_DIGITS_FOR_PHONE_LIB:
            self.landlines()
            self.local_phones()
        for m in _EN_DIGIT_WORDS_RE.finditer(self.t):
            digits, times = "", 1
            for w in _LATIN_WORD_RE.findall(m.group()):
                if w == "plus":
                    continue
                if w == "hundred":
                    digits += "00"
                elif w in _EN_REPEAT:
                    times = _EN_REPEAT[w]
                else:
                    digits, times = digits + _EN_DIGIT_WORDS[w] * times, 1
            plus = m.group().startswith("plus")  # a country code: up to 13 digits in all
            if valid_cn_mobile(digits) or len(digits) in (8, 10, 11) or (plus and len(digits) > 8):
                self.add("PHONE", *m.span())
        if sum(c.isdigit() for c in self.t) >= _MIN_DIGITS_FOR_PHONE_LIB:
            self.spaced_phones()
        self.split_lines()
        self.my_mobiles()
        self.extensions()

    def my_mobiles(self) -> None:
        for m in _MY_MOBILE_RE.finditer(self.t):
            if _valid_phone(m.group(), "MY"):
                self.add("PHONE", *m.span())

    def split_lines(self) -> None:
        """A number broken over lines, as a chat window or a photo's transcript breaks it
        ("420106⏎20140709⏎0494"): taken when its digits make a valid ID card, bank card or
        mobile number."""
        if "\n" not in self.t:
            return
        for m in _SPLIT_RUN_RE.finditer(self.t):
            s, e = m.span()
            if any(c.start <= s and e <= c.end for c in self.cands):
                continue
            digits = _NOT_DIGIT_X_RE.sub("", m.group())
            if m.group(1):  # "+44 7700⏎958177": a number of that country (as "+" says)
                if not _valid_phone("+" + digits, None, possible=True):
                    continue
                kind = "PHONE"
            elif len(digits) == 18 and valid_cn_id(digits):
                kind = "ID_CARD"
            elif "x" in digits:
                continue
            elif valid_cn_mobile(digits) or (
                len(digits) == _LOCAL_DIGITS
                and _PHONE_CUE_RE.search(self.t, max(0, s - _PHONE_CUE_WINDOW), s)
                and any(_valid_phone(digits, region) for region in ("HK", "MO", "SG"))
            ):
                kind = "PHONE"
            elif len(digits) in _BANK_LENGTHS and luhn_ok(digits) and not _id_shaped(digits):
                kind = "BANK_CARD"
            else:
                continue
            self.cands = [c for c in self.cands if not (s <= c.start and c.end <= e)]
            self.add(kind, s, e)

    def local_phones(self) -> None:
        """Eight digits after a phone cue: a Hong Kong, Macau or Singapore number written
        without its country code ("call me on 9123 4567", "手机 6612 3456")."""
        for m in _LOCAL8_RE.finditer(self.t):
            s, e = m.span()
            before = self.t[max(0, s - _LOCAL_CUE_WINDOW) : s]
            phone_before = any(
                c.kind == "PHONE" and s - _LOCAL_CUE_WINDOW <= c.end <= s for c in self.cands
            )
            if not (_PHONE_CUE_RE.search(before) or _LOCAL_CUE_RE.search(before) or phone_before):
                continue
            digits = _NOT_DIGIT_RE.sub("", m.group())
            if any(_valid_phone(digits, region) for region in ("HK", "MO", "SG")):
                self.add("PHONE", s, e)

    def spaced_phones(self) -> None:
        """A phone written in small groups after its cue, the groups set apart by spaces, a
        line break or Chinese commas ("電話：9 8 7 3 - 2 1 5 0", "电话是135、2248、6917",
        "138\n2771 4409"): taken when its digits make a valid number."""
        for m in _SPACED_RUN_RE.finditer(self.t):
            s, e = m.span()
            inside = [c for c in self.cands if c.start < e and s < c.end]
            # (a phone found inside the run is a piece of it: "138\n2771 4409")
            if any(c.kind != "PHONE" or c.start < s or c.end > e for c in inside):
                continue
            if not _PHONE_CUE_RE.search(self.t[max(0, s - _PHONE_CUE_WINDOW) : s]):
                continue
            digits = _NOT_DIGIT_RE.sub("", m.group())
            local = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
            if valid_cn_mobile(local) or any(
                _valid_phone(digits, region) for region in ("CN", "HK", "MO")
            ):
                self.cands = [c for c in self.cands if c not in inside]
                self.add("PHONE", s, e)

    def cued_phones(self) -> None:
        """After a phone cue of a person's (mobile, landline, 手机 …), nine to thirteen digits in
        groups are a phone even when no country's plan here knows them: the patient's number
        as written at home ("Turkish mobile 0532 481 93 27", "手机090-4471-2386")."""
        for m in _GROUPED_NUMBER_RE.finditer(self.t):
            s, e = m.span()
            digits = _NOT_DIGIT_RE.sub("", m.group())
            if (
                _MIN_CUED_PHONE <= len(digits) <= _MAX_CUED_PHONE
                and _PERSONAL_PHONE_CUE_RE.search(self.t, max(0, s - _PHONE_CUE_WINDOW_LATIN), s)
                and not _ORG_BEFORE_RE.search(self.t, max(0, s - _ORG_REACH), s)
                and not _DATE_START_RE.match(m.group())
                and not any(c.start < e and s < c.end for c in self.cands)
            ):
                self.add("PHONE", s, e, validated=False)

    def extensions(self) -> None:
        """A phone number's extension belongs to it: "…转8021", "ext. 204"; so does a country
        or area code in brackets just before it: "(+86) 185-0217-3394", "(02)2758-6641"."""
        for i, c in enumerate(self.cands):
            if c.kind == "PHONE":
                ext = _PHONE_EXT_RE.match(self.t, c.end)
                lead = _PHONE_LEAD_RE.search(self.t, max(0, c.start - 10), c.start)
                start = lead.start() if lead is not None else c.start
                if ext or lead is not None:
                    self.cands[i] = _Cand("PHONE", start, ext.end() if ext else c.end, c.validated)

    def landlines(self) -> None:
        import phonenumbers

        taken = [(c.start, c.end) for c in self.cands]
        # a message mostly in Latin letters may give a number as dialled in the UK or the US
        latin = len(_LATIN_RE.findall(self.t)) > len(_CJK_RE.findall(self.t))
        regions = ("CN", *(_LATIN_PHONE_REGIONS if latin else ()))
        # The matcher reads only the stretches that hold a number (it is slow over prose).
        found: list[tuple[int, int, str]] = []
        for run in _PHONE_STRETCH_RE.finditer(self.t):
            if any(a <= run.start() and run.end() <= b for a, b in taken):
                continue
            text = run.group()
            # an extension after a dash ("010-62784413-8021") hides the whole number from the
            # matcher: it is read without it, and the extension joins it afterwards
            dashed = _DASH_EXT_RE.search(text) if _AREA_CODE_RE.match(text) else None
            text = text[: dashed.start()] if dashed else text
            for region in regions:
                for match in phonenumbers.PhoneNumberMatcher(
                    text, region, phonenumbers.Leniency.VALID
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
            laid_out = latin and _NANP_LAYOUT_RE.fullmatch(raw_string) is not None
            if raw.startswith(("+", "0")) or cue or laid_out:
                self.add("PHONE", s, e)
        for m in _INTL_PHONE_RE.finditer(self.t):
            s, e = m.span()
            if any(s < b and a < e for a, b in taken):
                continue
            raw = m.group()
            plus = raw.startswith(("+", "00"))  # 00 is dialled for the "+"
            raw = "+" + raw[2:] if raw.startswith("00") else raw if plus else "+" + raw
            bracketed = raw.startswith("+(")  # the code in brackets says what it is
            raw = raw.replace("(", "", 1).replace(")", " ", 1) if bracketed else raw
            try:
                num = phonenumbers.parse(raw, None)
            except phonenumbers.NumberParseException:
                continue
            # a code without its "+" is taken only for a number valid in that region
            if (
                phonenumbers.is_valid_number(num)
                if not (plus or bracketed)
                else phonenumbers.is_possible_number(num)
            ):
                self.add("PHONE", s, e)
                taken.append((s, e))
        # A Taiwan mobile as written there, "0919-203-775" (no mainland number starts 09)
        for m in _TW_MOBILE_RE.finditer(self.t):
            s, e = m.span()
            if any(s < b and a < e for a, b in taken):
                continue
            if _valid_phone(m.group(), "TW"):
                self.add("PHONE", s, e)

    def cued(self) -> None:
        for rx, kind in (
            (_MRN_RE, "MRN"),
            (_MRN_LATER_RE, "MRN"),
            (_CARD_NUMBER_RE, "MRN"),
            (_PASSPORT_CUE_RE, "PASSPORT"),
            (_WECHAT_RE, "WECHAT_ID"),
            (_WECHAT_FIRST_RE, "WECHAT_ID"),
            (_WECHAT_NEAR_RE, "WECHAT_ID"),
            (_PERMIT_RE, "OTHER_ID"),
            (_STAFF_NUMBER_RE, "OTHER_ID"),
        ):
            for m in rx.finditer(self.t):
                if kind == "WECHAT_ID" and channel_word(m.group()):
                    continue  # "the official WeChat account": a word, not a handle
                if rx is _WECHAT_NEAR_RE and _NOT_PERSONAL_BEFORE_RE.search(
                    self.t, max(0, m.start() - 16), m.start() + 4
                ):
                    continue  # "订单号 ab_12345 …": an order's
                s, e = m.span(1) if m.group(1) is not None else m.span(2)
                if kind == "MRN" and self.t[m.start() : s] == "hn":
                    s = m.start()  # the cue's letters are the number's own: HN18273645
                self.add(kind, s, e)
        for cue in _WECHAT_CUE_RE.finditer(self.t):
            if _OFFICIAL_ACCOUNT_RE.search(self.t, max(0, cue.start() - 12), cue.end() + 12):
                continue  # an organisation's account: "your WeChat official account HVH_Care"
            stop = min(len(self.t), cue.end() + _WECHAT_LATER_REACH)
            for m in _HANDLE_RE.finditer(self.t, cue.end(), stop):
                if _NOT_PERSONAL_BEFORE_RE.search(self.t, max(0, m.start() - 16), m.start()):
                    continue  # "微信支付的商户单号HZ…": an order's
                if _HANDLE_MARK_RE.search(m.group(1)) and not any(
                    c.start < m.end(1) and m.start(1) < c.end for c in self.cands
                ):
                    self.add("WECHAT_ID", *m.span(1), validated=False)
        for m in _NAMED_AFTER_RE.finditer(self.t):
            self.add(_NAMED_AFTER_KINDS[str(m.lastgroup)], *m.span(1), validated=False)
        for m in _PASSPORT_BARE_RE.finditer(self.t):
            self.add("PASSPORT", *m.span(1))
        for m in _NHI_RE.finditer(self.t):
            self.add("OTHER_ID", *m.span(1), validated=False)
        for m in _HKID_RE.finditer(self.n.cased):
            body = m.group(1).replace(" ", "")
            if valid_hkid(body[:-6], body[-6:], m.group(2)):
                self.add("OTHER_ID", m.start(1), m.end())
            elif _HKID_CUE_RE.search(self.t, max(0, m.start() - _LOCAL_CUE_WINDOW), m.start()):
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
        for rx in (_MYKAD_RE, _KOREAN_RRN_RE):  # a birth date (YYMMDD) first in both
            for m in rx.finditer(self.t):
                if _real_birth_date("19" + m.group(1)) or _real_birth_date("20" + m.group(1)):
                    self.add("OTHER_ID", *m.span())
        for rx in (_PAN_RE, _UK_NINO_RE):
            for m in rx.finditer(self.n.cased):
                self.add("OTHER_ID", *m.span())
        for m in _PLATE_RE.finditer(self.t):
            if any(c.isdigit() for c in m.group()):
                self.add("PLATE", *m.span())
        for m in _LATIN_PLATE_CUE_RE.finditer(self.t):
            plate = m.group(1)
            if any(c.isdigit() for c in plate) and any(c.isalpha() for c in plate):
                self.add("PLATE", *m.span(1))
        for m in _ANY_PLATE_CUE_RE.finditer(self.t):
            # the plate ends with its last group holding a digit ("04가 8631 korean")
            ends = [
                g.end()
                for g in _PLATE_GROUP_RE.finditer(m.group(1))
                if _PLATE_DIGIT_RE.search(g.group())
            ]
            plate = m.group(1)[: ends[-1]] if ends else ""
            bare = re.sub(r"[ ·\-]", "", plate)
            if len(_PLATE_DIGIT_RE.findall(bare)) >= 3 and len(bare) <= _PLATE_MAX_CHARS:
                self.add("PLATE", m.start(1), m.start(1) + len(plate), validated=False)
        for m in _UK_PLATE_RE.finditer(self.n.cased):
            self.add("PLATE", *m.span())
        for m in _MACAU_ID_RE.finditer(self.t):
            self.add("OTHER_ID", *m.span())
        for m in _QQ_RE.finditer(self.t):
            self.add("QQ", *m.span(1 if m.group(1) else 2))
        for m in _DOB_RE.finditer(self.t):
            group = next(g for g in range(1, (m.re.groups or 0) + 1) if m.group(g))
            self.add("DOB", *m.span(group))
        for rx in (_FORM_DOB_RE, _AGE_TURN_DOB_RE):
            for m in rx.finditer(self.t):
                self.add("DOB", *m.span(1))
        for rx in (_PERSON_YEAR_RE, _ERA_YEAR_RE, _CLAUSE_YEAR_RE, _PERSON_YEAR_END_RE):
            for m in rx.finditer(self.t):
                if rx in (_CLAUSE_YEAR_RE, _PERSON_YEAR_END_RE) and _recent_year(m.group(1)):
                    continue  # "2023年的，体检报告": a recent year alone is a report's, a visit's
                self.add("DOB", *m.span(1))
        for m in _EN_BIRTH_YEAR_RE.finditer(self.t):
            self.add("DOB", *m.span(next(g for g in (1, 2, 3, 4) if m.group(g))))
        for m in _DOB_LATER_RE.finditer(self.t):
            self.add("DOB", *m.span(next(g for g in (1, 2, 3) if m.group(g))))
        for m in _OLD_DATE_RE.finditer(self.t):
            if self._old_full_date(m.group(1)) and not self._event_near(*m.span(1)):
                self.add("DOB", *m.span(1), validated=False)
        births = [c.end for c in self.cands if c.kind == "DOB"]
        if births:
            # the birth date again soon after, as a record has it wrong or as corrected
            # ("系统里写成了一九九零年六月十六日", "it's actually 1990-12-06")
            for m in _DOB_AGAIN_RE.finditer(self.t, min(births)):
                near = any(0 <= m.start() - end <= _DOB_AGAIN_REACH for end in births)
                if near and not any(c.start < m.end(1) and m.start(1) < c.end for c in self.cands):
                    self.add("DOB", *m.span(1), validated=False)
        for m in _ANY_ID_CUE_RE.finditer(self.t):
            if _NOT_PERSONAL_BEFORE_RE.search(
                self.t, max(0, m.start() - 16), m.start()
            ) or _THING_BEFORE_RE.search(self.t, max(0, m.start() - 16), m.start()):
                continue  # the number of an order, a parcel, a sample: no one's identifier
            s, e = m.span(1)
            if _VERSION_CODE_RE.search(self.t, s, e) and not self.n.cased[e - 2 : e].isupper():
                e -= 3  # two letters after the groups are a version code only in capitals
            # unless another finding holds it all; one holding part of it is widened over the
            # rest when the overlaps are settled (a check digit in brackets)
            if not any(c.start <= s and e <= c.end for c in self.cands):
                # a Chinese ID's shape (region, birth date) after an identity card's cue ("IC
                # 4301…", "证件号 …") is one; after 编号 or "no." it is some other number
                digits = _NOT_DIGIT_X_RE.sub("", self.t[s:e])
                card = _IDENTITY_CUE_RE.match(m.group()) is not None
                kind = "ID_CARD" if card and _id_shaped(digits.replace("x", "0")) else "OTHER_ID"
                self.add(kind, s, e, validated=False)

    @staticmethod
    def _old_full_date(date: str) -> bool:
        """A day, a month and a year of four digits at least a few years back."""
        four = _YEAR4_RE.search(date)
        groups = _DIGIT_GROUP_RE.findall(date)
        whole = (
            len(groups) >= 3
            or (len(groups) == 2 and _LETTER_RE.search(date) is not None)
            or (len(date) == 8 and date.isdigit() and _real_birth_date(date))  # 19610618
        )
        now = dt.date.today().year
        if four is not None:
            year = int(four.group())
        elif len(groups) == 3 and all(len(g) <= 2 for g in groups):
            # a year of two digits, last (24/12/62) or first when it can be no day (87.3.5)
            yy_text = groups[0] if int(groups[0]) > 31 else groups[2]
            if len(yy_text) != 2 or (yy_text == groups[2] and "." in date):
                return False  # (3.9.12 is a version; 87.3.5 a date)
            yy = int(yy_text)
            year = yy + (2000 if yy <= now % 100 else 1900)
        else:
            return False
        return whole and year <= now - _OLD_DATE_YEARS

    def clause_window(
        self, start: int, end: int, before: int, after: int, cuts: re.Pattern[str] = CLAUSE_END_RE
    ) -> tuple[int, int]:
        """The stretch of ``start``..``end``'s clause reaching at most ``before`` characters
        back and ``after`` on."""
        lo, hi = max(0, start - before), min(len(self.t), end + after)
        cut = cuts.search(self.t, end, hi)
        hi = cut.start() if cut else hi
        for cut in cuts.finditer(self.t, lo, start):
            lo = cut.end()
        return lo, hi

    def _event_near(self, start: int, end: int) -> bool:
        """Is an event told within a few characters of a date, in its clause?"""
        lo, hi = self.clause_window(start, end, _EVENT_REACH, _EVENT_REACH)
        return _EVENT_NEAR_RE.search(self.t, lo, hi) is not None

    def _numbered(self, found: list[_Cand]) -> list[tuple[_Cand, str]]:
        """The identifiers found with enough digits to be written again, and their text."""
        values = [(c, self.t[c.start : c.end]) for c in found]
        return [
            (c, v) for c, v in values if sum(ch.isdigit() for ch in v) >= _CORRECTION_MIN_DIGITS
        ]

    def corrections(self) -> None:
        """An identifier written again with a digit or two changed, in the same shape, is the
        same identifier mistyped or corrected ("sorry typo, it's 9434765919 not 9434765910",
        "不是18711562390，是18711562309"): masked as its kind."""
        found = [c for c in self.cands if c.kind not in _NOT_CORRECTED]
        t = self.t
        for c, value in self._numbered(found):
            # compared character by character, not by a pattern built per message (which
            # would churn re's cache of compiled patterns)
            shape = [_shape_of(ch) for ch in value]
            size = len(value)
            for i in range(len(t) - size + 1):
                j = i + size
                if (
                    _shape_of(t[i]) != shape[0]
                    or (i and _ascii_alnum(t[i - 1]))
                    or (j < len(t) and _ascii_alnum(t[j]))
                ):
                    continue
                other = t[i:j]
                if (
                    other != value
                    and all(_shape_of(a) == b for a, b in zip(other, shape, strict=True))
                    and _near(value, other)
                    and not any(o.start < j and i < o.end for o in found)
                ):
                    self.add(c.kind, i, j, validated=False)
            if size >= _SHORT_BY_ONE_MIN and value.isdigit():
                # the same number with a digit left out ("少打了一位，1563033386")
                for m in _DIGIT_ONLY_RUN_RE.finditer(t):
                    other = m.group()
                    if (
                        len(other) == size - 1
                        and _one_left_out(value, other)
                        and not any(o.start < m.end() and m.start() < o.end for o in found)
                    ):
                        self.add(c.kind, *m.span(), validated=False)

    def siblings(self) -> None:
        """An identifier of the same kind and shape named for someone else right after one
        found ("qq号502839174，我婆婆的是1128830457", "my passport is …, hers is …", 身份证 18
        digits and an old one of 15 after 我妈的): masked as that kind, unvalidated."""
        t = self.t
        todo = self._numbered([c for c in self.cands if c.kind not in _NOT_CORRECTED])
        while todo:
            c, value = todo.pop()
            sign = _signature(value)
            end = _SENTENCE_END_RE.search(t, c.end)
            stop = min(end.start() if end else len(t), c.end + _SIBLING_REACH)
            for m in _SIBLING_RE.finditer(t, c.end, stop):
                other = m.group(1)
                if (
                    _signature(other) == sign
                    and abs(len(other) - len(value)) <= 3
                    and not any(o.start < m.end(1) and m.start(1) < o.end for o in self.cands)
                ):
                    self.add(c.kind, m.start(1), m.end(1), validated=False)
                    todo.append((self.cands[-1], other))

    def emails(self) -> None:
        for m in _EMAIL_RE.finditer(self.t):
            self.add("EMAIL", *m.span())
        for m in _EMAIL_SPELT_RE.finditer(self.t):
            self.add("EMAIL", *m.span())
