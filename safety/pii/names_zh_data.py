"""What Chinese name detection reads: the shipped word lists (surnames, given-name characters
and their scores, cues, words that are never names, which jieba also keeps whole), the
evidence weights and thresholds, and fixed sets of characters and patterns
(transliteration, medicines, places).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from safety import _text, name_model
from safety.pii.base import _CJK

_NAME_MAX_GIVEN = 2
_COMMON_WORD_FREQ = 50  # jieba dictionary frequency above which a word is "ordinary"
_COMMON_GIVEN_FREQ = 200  # a two-character given part this common is an ordinary word
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
    # (a royal title may stand between: 威尔斯亲王医院, 玛丽公主医院)
    r"(?:(?:亲王|公主|皇后|女皇|夫人)?(?:纪念)?医院|人民医院|妇幼|诊所|卫生院|中学|小学|大学|学院|"
    r"医科大学|医学院|卫校|幼儿园|路|街|大道|大街|广场|公园|"
    r"大药房|药房|药店|药业|制药|集团|公司|餐厅|饭店|超市|麻辣烫|凉茶|牌|"
    r"纪念馆|纪念堂|大厦|楼|村|镇|乡|县|市|区|小区|花园|"
    r"\s?(?:基金会|基金|研究所|研究院|奖学金)|"
    # (a place's surroundings or its station: 黄大仙附近, Jordan站)
    r"\s*(?:附近|一带|地铁站|车站|站(?![起立着住岗]))|\s*(?:hospital|clinic|road|street|"
    r"avenue|ave|blvd|boulevard|school|college|university|building|centre|center|tower|house|"
    r"court|plaza|bank|pharmacy|county|"
    r"mansion|estate|gardens?|memorial|hall|square|station|mall|hotel|church|"
    # (an institution named after its founder: the Michael J Fox Foundation, 宋庆龄基金会)
    r"foundation|fund|trust|institute|charity|pharmaceuticals|inc|ltd|corp|corporation)(?![a-z]))"
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
    # (a handle may hold rarer characters: 尐胖𫓦)
    # (handles run together, "@V_Jessie@waves_哥": an e-mail address has a dot after its @,
    # which ends no handle)
    r"@((?:[" + _CJK + r"\u3400-\u4dbf\U00020000-\U0002ffff]|[A-Za-z0-9_\-]){2,30}?)"
    # it ends at a space or punctuation, another handle, an emoticon's bracket or the 丶 of
    # screen names ("@半岛夏暖丶你也来")
    r"(?=[\s:：,，。!！?？/@\[\]【】()（）~～丶…'\"“”]|$)"
)
_NAMED_RE = re.compile(r"([" + _CJK + r"]{2,4}?)(?=[的是，,。.！!？?；;、\s]|$)")
_MENTION_NOT_NAMES = frozenset({"所有人", "全体成员", "all", "everyone"})
_ZH_SURNAME_ONLY_RE = re.compile(r"(?<![贵尊])姓([" + _CJK + r"])(?![名氏别])")


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
    kin_next: re.Pattern[str]
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
        # (a form's label may carry its English: "姓名 Name: 苏洋洋", "姓名/Name：…")
        left_strong=re.compile(
            f"(?:{_alternation(cues['left_strong'])})(?:\\s*/?\\s*[a-z]+(?: [a-z]+)?(?=\\s*[:：]))?"
            "[\\s:：,，是为]*"
        ),
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
        kin_next=re.compile(f"(?:他|她)?(?:{kin})"),
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
