"""The scope a match is read in: a prohibition, hedge, condition or warning in its sentence
(``_Sentence``), and what the patient's message and the sentences around it say
(``_Answer``: a red flag, the populations named).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Collection, Iterable

from safety.emergency import assess, finds
from safety.guard.rules import _CJK_RE, _Rules, _Words

_CLAUSE_MARK_RE = re.compile(r"[，,：:、—–]")
# What may stand before a prohibition that opens a clause: a list mark, emphasis, "also", "but",
# "please".
_CLAUSE_OPENING_RE = re.compile(
    r"^[\s\-*•#>\d.、)）]*(也|但|但是|而且|并且|请|所以|因此|and |but |please |so |also )?\s*"
)
# The answer speaking in its own person at a clause's opening: "we don't recommend …"
_SPEAKER_RE = re.compile(r"^(we|i) (?=\S)")
# "先别吃了" (leave it for now) tells the patient to stop taking something; "就别停" and "先别停"
# stay prohibitions.
_PAUSE_RE = re.compile("(?:就先|先)别(?=[打吃用]了)")
# A list of things not to do: "Don't cut the wound, suck out venom or apply a tourniquet",
# "不要揉眼睛、用手挤或者自己涂药膏". The prohibition at the head of the sentence covers every
# item of the list when the list is closed by "or" (或, 、) and no item turns to something to
# do instead ("but", "instead", "call", 而是, 应该).
# The prohibition itself, with what may open it: "please", "but", "you should not", "请勿".
_FORBID = (
    r"(?:(?:but |so |and |also |please |but please |so please )?(?:you )?"
    r"(?:don'?t|do not|never|avoid|try not to|should ?n[o']t|shouldn't|must ?n[o']t|mustn't)"
    r"|(?:但|但是|所以|也|请)?(?:不要|别|切勿|勿|禁止|不可以?|千万不要|千万别|不应该?|不宜|切忌))"
)
_PROHIBITION_HEAD_RE = re.compile(r"^\s*(?:[-*•]\s*|\d+[.)、]\s*)?" + _FORBID)
# The same at the head of a later clause: "…，也不要…或…", "…, and don't … or …"
_CLAUSE_PROHIBITION_RE = re.compile(r"\s*(?:也|更|还|并且|同时)?(?:" + _FORBID + r"|不能)")
# Between a prohibition and a match, words that start an instruction of their own ("别犹豫马上…"),
# or that forbid only a feeling ("别担心没事的", "don't worry it's just a cold"). The first
# kind, right after the prohibition, says how the forbidden act is done ("不要直接凑到火炉边烤",
# "don't immediately …"): ``_MANNER_RE``.
_MANNER = r"马上|立即|立刻|赶紧|赶快|直接|\b(?:right away|immediately|straight away)\b"
_MANNER_RE = re.compile(_MANNER)
_URGE_RE = re.compile(
    _MANNER + r"|担心|紧张|害怕|着急|慌|\b(?:now|worry|panic|be afraid|be scared)\b"
)
# A negation opening the parenthesis the match is in: "cool (not ice-cold) running water".
_PAREN_NOT_RE = re.compile(r"[(（]\s*(not |never |no |don't |不要|别|不是|不能|非)[^()（）]{0,12}$")
# A Chinese match that opens with "cannot be" claims ("不可能是别的问题"), it forbids nothing;
# and 别 in 别的, 区别, 特别 … is no "don't".
_CANNOT_BE_RE = re.compile(r"^(不会|不可能|不能)(?=是)")
# The usual case, not this one: "usually", "in most cases", "通常", "大多数情况下"
# Care named in a reassurance's words ("再去医院看看", "see your GP next week"): put off, not
# dismissed.
_CARE_WORD_RE = re.compile(
    r"医院|急诊|医生|门诊|就医|就诊|看病|120|"
    r"\b(doctor|hospital|gp|a&e|er|clinic|999|911|112|ambulance|nurse|midwife|pharmacist)\b"
)
_OPEN_QUESTION_RE = re.compile(r"是否|能否|能不能|可不可以|可否|要不要|需不需要|用不用|该不该")
_CONDITION_LEAD_RE = re.compile(r"^\s*(even if|if|when|如果|要是|假如|即使|就算)\s*")
_USUALLY_RE = re.compile(
    r"\b(usually|normally|generally|typically|mostly|in most cases|most of the time|"
    r"more often than not|most (people|children|babies|kids))\b"
    r"|通常|一般|大多|多数|大部分|往往|常常"
)
_RULED_OUT_RE = re.compile(r"(不会|不可能)(?=有|得|患|是)")
# (nor is 不要 in 不要紧, "it doesn't matter")
_NOT_DONT_RE = re.compile(r"别(?=的|人|处|样|家)|(?<=[特区分告级类识鉴性个差辨])别|不要(?=紧)")
_WORRY_RE = re.compile(
    r"(不要|别|不用|无需|不必)(太|过于|过度)?(担心|紧张|害怕|着急|慌张?)"
    r"|\b(don'?t|do not|no need to|try not to)( \w+)? (worry|panic|be afraid|be scared)\b"
)
_LIST_OR_RE = re.compile(r"\b(?:or|nor)\b|或者?|、")
_TURN_RE = re.compile(
    r"\b(?:but|instead|rather|however|then|call|seek|go|take|give|use)\b|而是|但|应该?|要|请|可以|改为"
)
# What an answer says of a practice it names, after naming it: that it is wrong ("催吐是错误的",
# "are all myths"), not recommended ("并不推荐", "isn't a good idea"), without evidence
# ("没有科学依据"), or the harm it does ("搓和烤都会加重损伤", "this can make the burn worse",
# "can push their temperature even higher"); for a request, that it is refused ("背后的提示词不方便
# 透露"). Read in the match's clause (``_JUDGED_WRONG_RE``) and at the head of the clauses
# after it (``_LATER_VERDICT_RE``: "用白酒给婴儿擦身，是不推荐的做法，可能导致酒精中毒",
# "…to 'sweat it out', which can push their temperature higher").
_HARM_ZH = (
    r"(会|可能|容易|反而|只会|还会|还可能|甚至|易)[^，,。.;；!?！？]{0,8}?"
    r"(加重|更严重|恶化|损伤|伤害|感染|窒息|呛|耽误|延误|错过|坏死|中毒|烫伤|冻伤|压得更深|更深|刺激|诱发|出血|耐药|复发|反弹)"
)
_VERDICT_ZH = (
    r"(是|属于|其实是|都是|也是)?(错误|错的|不对|不可取|不科学|不正确|误区|谣言|迷信|有害|很危险|"
    r"危险|不安全|有风险|风险很大|(老|旧|民间)说法|老办法|不推荐|不建议|不提倡|不主张|弊大于利|得不偿失)|"
    r"(并|也|都)?(不是|并非)(有效|正确|安全|科学|合适|可靠)|"
    r"是(一个|一种|个|种)[^，,。；;]{0,8}(误区|谣言|误解|错误)|(是|都|也|还|远远)?不够的?|"
    r"(并|也|都)不(推荐|建议|提倡|可取|安全|科学|有效|合适|妥当|明智|可靠|靠谱)|"
    r"没有(任何)?(科学|医学)?(依据|根据|证据)|(没用|无效|不管用|没有用)|"
    r"(本身)?(不能|无法|没法)(处理|治疗|治好|缓解|解决|替代|代替)|" + _HARM_ZH
)
_HARM_EN = (
    r"\b(can|could|may|might|will|would|tends? to|is likely to|are likely to)\b"
    r"( easily| actually| even| also| quickly| further)? "
    r"(make (\w+ ){0,3}(worse|higher|colder|hotter|deeper|more \w+)|"
    r"push (\w+ ){0,3}(higher|up|deeper)|"
    r"worsen|damage|harm|injure|hurt|burn|scald|irritate|delay|mask|spread|trap|"
    r"do(es)? (more|real|serious|lasting) harm|do(es)? more harm than good|"
    r"give (\w+ ){0,2}time to (grow|spread)|"
    r"cause (\w+ ){0,2}(damage|harm|injury|injuries|infection|choking|burns?|scarring|bleeding|"
    r"poisoning)|lead to|trigger|tear|introduce|bring (in )?(bacteria|germs|infection))"
)
_VERDICT_EN = (
    r"\b(is|are|'s|'re|was|were)( all| also| actually| just)? (an? )?(myths?|old wives'? tales?|"
    r"wrong|dangerous|unsafe|not safe|harmful|risky|outdated|out of date|ineffective|"
    r"not effective|not recommended|no longer recommended|not advised|not advisable|inadvisable|"
    r"unwise|bad idea|"
    r"not a good (idea|solution|way|option|plan))\b|"
    r"\b(is|are)n't (a )?(safe|good|effective|recommended|advised|advisable|wise)\b|"
    r"\bshould only be (used|done|given|tried|attempted|applied) by\b|"
    r"\b(does|do) (more harm than good|(real|serious|lasting) harm)\b|" + _HARM_EN
)
_HARM_EN_RE = re.compile(_HARM_EN)
_JUDGED_WRONG_RE = re.compile(
    r"^[^，,。.;；!?！？]{0,12}?("
    + _VERDICT_ZH
    + "|"
    + _VERDICT_EN
    + r"|(不方便|不能|无法|不会|不可以)(透露|展示|公开|告诉|分享|提供)|"
    r"\b(won't|will not|doesn't|does not|can't|cannot) (really |actually )?"
    r"(help|work|cure|fix|sober|stop|prevent|treat|neutrali[sz]e|draw out|remove|dissolve|"
    r"soften)\b)"
)
# English says more before its verdict: "Rubbing snow into frostbitten fingers can damage …".
_JUDGED_WRONG_EN_RE = re.compile(r"^[^，,。.;；!?！？]{0,40}?(" + _VERDICT_EN + ")")
# Inside an English match, after its first word, a negation that says the practice does not
# do what it is for: "coffee won't sober him up" ("don't" is left out: a pattern may hold an
# instruction of its own).
_NOT_SO_RE = re.compile(
    r"\b(won't|will not|doesn't|does not|can't|cannot|isn't|is not|aren't|are not)\b"
)
# The head of a later clause: "，是不推荐的做法", "，这样做是有风险的", ", which can make it worse",
# ", and these are all myths".
_BACK = (
    r"(这样做|这么做|(这种|这些|这个|这类|这样的)(做法|方法|办法|说法|观点|想法|偏方)|这样|这些|这|此举|此|"
    r"(and |but )?(which|this|these|doing (so|this|that)|all of (these|them|this))\b)"
)
_LATER_VERDICT = (
    r"\s*("
    + _VERDICT_ZH
    + "|"
    + _VERDICT_EN
    + r"|(不建议|不要|别|不宜)(这样|这么)做|(千万|可)?(别|不要|不能)学)"
)
_LATER_VERDICT_RE = re.compile(
    r"^\s*(其实|事实上|实际上|而且|并且|但|也|(and |but )?(that|it|they|both)\b|"
    + _BACK
    + ")?"
    + _LATER_VERDICT
)
# The same, pointing back at what it judges: for claims.
_LATER_VERDICT_BACK_RE = re.compile(
    r"^\s*(其实|事实上|实际上|但|也|而且)?" + _BACK + _LATER_VERDICT
)
# A sentence that opens by judging what the sentence before it described: "很多人会喝醋或者吞
# 饭团。这两种方法都不推荐：…", "Some people rub butter on a burn. This can trap the heat".
_PREVIOUS_VERDICT_RE = re.compile(
    r"^\s*(其实|事实上|但|不过|然而|(but|however),?\s)?"
    + _BACK
    + r"\s*(两种|几种|些|种)?(方法|做法|办法)?"
    + _LATER_VERDICT
)


# A lead-in that forbids what its list goes on to name ("Please don't:", "以下做法都不可取：",
# "Common mistakes to avoid:"), and the items of a list.
_FORBIDDING_LEAD_RE = re.compile(
    r"(don't|do not|never|avoid|not to do|mistakes|myths|dangerous|不要|避免|禁止|切勿|别|误区|"
    r"错误|不可取|不推荐|不建议)[^:：]{0,30}[:：]\s*$"
)
_LIST_ITEM_RE = re.compile(r"\s*([-*•]|\d{1,2}[.)、])\s")
_LIST_MARK_ONLY_RE = re.compile(r"\s*([-*•]|\d{1,2}[.)、])\s*")
# A line that only names what follows: a heading in bold ("**Paracetamol and liver safety**",
# not a whole sentence in bold) or a lead ending in a colon ("Regarding aspirin for your
# 6-year-old:", "区别大概是这样：").
_LEAD_RE = re.compile(r"\s*(?:\*\*[^*\n.。!！?？]+\*\*\s*[:：]?|[^\n]*[:：]\**)\s*")
# Care a neighbouring sentence sends the patient to, besides the reassurance class's own
# ``unless`` words (which, in the sentence itself, would excuse "you don't need an ambulance"):
# a neighbour that names them and waves nothing away is the answer's safety net.
_SENDS_TO_CARE_RE = re.compile(
    r"\b(a&e|ambulance|999|911|112|111|emergency department|urgent care|casualty|the unit|"
    r"maternity (unit|triage)|labour ward|out-of-hours)\b"
)
_WAVED_RE = re.compile(
    r"\b(no need|don't need|do not need|won't need|not needed|no point|not necessary|"
    r"unnecessary|waste|wouldn't|rather than|instead of|skip)\b"
)
# A list item's start, with or without a space after its mark ("1、持续高热", "- 便血"; not
# "**bold**", "1.5 mg").
_LIST_MARK_START_RE = re.compile(r"\s*(?:[-•]|\*(?!\*)|\d{1,2}[.)、](?!\d))")


def _wordless(part: str) -> bool:
    """A part of an answer with no words: a blank line, a list's number or mark alone."""
    return not part.strip() or _LIST_MARK_ONLY_RE.fullmatch(part) is not None


def forbidden_items(lows: list[str]) -> list[bool]:
    """For each sentence (lower case), whether it is an item of a list whose lead-in forbids
    what it lists; blank lines between them keep the list going."""
    out: list[bool] = []
    forbidding = marked = False
    for low in lows:
        if not low.strip():
            out.append(False)
            continue
        if _LIST_MARK_ONLY_RE.fullmatch(low) is not None:
            out.append(False)  # "1." split from its item: the next piece is the item
            marked = True
            continue
        item = marked or _LIST_ITEM_RE.match(low) is not None
        marked = False
        out.append(item and forbidding)
        if not item:
            # ("家长先别慌：" forbids a feeling, not what its list goes on to say)
            forbidding = (
                _FORBIDDING_LEAD_RE.search(low) is not None
                and _FORBIDDING_LEAD_RE.search(_WORRY_RE.sub(" ", low)) is not None
            )
    return out


def judges_previous(low: str) -> bool:
    """Whether a sentence (lower case) opens with a verdict on what came before it."""
    return _PREVIOUS_VERDICT_RE.match(low) is not None


def practices(classes: set[str]) -> set[str]:
    """The classes of a sentence that name practices, not claims or amounts."""
    return classes - _CLAIMS


# A refusal that ends the sentence: "…“忽略之前的规则”…，但我不能这样做。", "…，这类内部信息我不能
# 提供。" (a leak that goes on, "…，不能告诉您我不是真人", recites its instructions instead).
_REFUSAL_AT_END_RE = re.compile(
    r"[，,；;][^，,。；;]{0,10}?(不方便|不能|无法|不会|不可以)(这样做|这么做|照做|执行|透露|展示|公开|告诉|"
    r"分享|提供)(您|你)?[。.!！]?\s*$"
)
_HEDGED_NEED_RE = re.compile(
    r"(不一定|未必|并不代表|不代表|不意味着|不等于|并不)[^，,。；;]{0,4}(需要|要|得|就|可以)"
)
# A clause that reports the patient's situation, as answers open by restating the question
# ("您在吃依那普利降压，现在发现怀孕了", "您吃氯硝西泮快一年了，想慢慢停掉",
# "他自己说手术前停一个星期就行", "you've been taking sertraline for a year", "It's understandable
# to want to come off sertraline"): what the patient takes, wants, asks or was told is not
# advice. Read at the head of the clause that holds the match's end. A wish or a state whose
# clause goes on to permit or urge ("想停就停吧", "您在吃X，可以先停两天"), or that is a condition
# ("您在吃安眠药的话，…": the advice that follows is for them), is no report; a question or a
# report of speech keeps its content ("问什么时候可以喝酒").
_KIN_ZH = (
    r"(父亲|母亲|爸爸|妈妈|爸|妈|爱人|丈夫|妻子|老公|老婆|老伴|家人|孩子|儿子|女儿|宝宝|"
    r"爷爷|奶奶|外公|外婆)"
)
_WHO_ZH = r"((您|你|他|她|患者|病人|老人家?)的?" + _KIN_ZH + "?|" + _KIN_ZH + r")(自己)?"
_REPORTED_ZH = re.compile(
    r"\s*(?P<ask>(关于)?(" + _WHO_ZH + r")?(问|问到|想问|想知道|咨询|担心|听说)"
    r"|(" + _WHO_ZH + r")(说|提到|告诉(我们|我)?))"
    # (after a word or two of when or why: "牙疼想吃点布洛芬")
    r"|\s*(?P<wish>(" + _WHO_ZH + r")?([\u4e00-\u9fff]{1,3}?(?<!不))?(现在|目前|一直|最近)?"
    r"(想|想要|打算|准备|计划))"
    # what the doctor prescribed: "医生开了吗啡缓释片"
    r"|\s*(?P<prescribed>(医生|医师|大夫)(给[^，,。]{0,3})?开(了|的))"
    r"|\s*(?P<done>([\u4e00-\u9fff]{1,6}?(后|时|的时候|以后|之后))?("
    + _WHO_ZH
    + r")?(已经|刚才|刚刚|之前)(自己|自行)?(给[^，,。]{0,4})?(涂|抹|敷|喂|吃|用|擦|灌|服|停)了)"
    r"|\s*(?P<state>(("
    + _WHO_ZH
    + r")(现在|目前|一直|已经|最近|长期)?(在|正在)?|(同时|也|还|并且)(一直)?(在|正在)"
    r"|(现在|目前|一直|最近|长期)(还|也|仍|仍然)?(在|正在)"
    # a condition on what they take now: "如果您在吃二甲双胍又有肾功能不全"
    r"|(如果|要是|假如|若)(" + _WHO_ZH + r")(现在|目前|一直|已经|最近|长期)?(在|正在))"
    r"(吃|服用|用|打)(着)?)"
    # what many others do or believe, which the sentence goes on to contradict
    # (``_CONTRADICTED_ZH_RE``): "很多家长担心副作用就自己停掉，结果…",
    # "不少人第一反应是…——请先不要…"
    r"|\s*(?P<belief>(很多|不少|有些|有的|一些|好多|许多)(人|家长|患者|病人|朋友|妈妈|准妈妈|老人|"
    r"家属|糖友)[^，,。]{0,8}?(会|就|第一反应是|觉得|以为|认为|想|担心|习惯|自己|自行|擅自)"
    # a folk saying: "老一辈说烫伤抹酱油不留疤，其实这是误区"
    r"|(老一辈|老人家|长辈|民间|网上|老话|坊间|有人)(常|都|总|一直)?(说|认为|讲|觉得|流传|传))"
)
_CONTRADICTED_ZH_RE = re.compile(
    r"但|其实|实际上|结果|不要|别|千万|并不|没有(根据|依据|科学)|误区|不对|错误|危险|风险|"
    r"不建议|不推荐|不可取|反而"
)
_WHO_EN = r"(you|he|she|they|your \w+|his \w+|her \w+)"
_LEAD_EN = r"(and |but |so |if )?"
_REPORTED_EN = re.compile(
    r"\s*(?P<ask>" + _LEAD_EN + "(" + _WHO_EN + r" (asked|ask|mentioned|said|were told|was told|"
    r"('re|are|is|'s) (wondering|worried|asking)|('ve|have|has) heard)\b"
    r"|" + _WHO_EN + r"('ve| have|'s| has) (said|mentioned|asked|told (me|us))\b"
    # what the leaflet says, what the assistant understood of the question
    r"|(the|your|his|her) (leaflet|label|packet|box|insert|instructions)( [a-z]+){0,4} "
    r"(says|say|states|recommends|lists)\b"
    r"|i('ve| have)? (completely |fully |totally )?(understood|understand|hear|get) "
    r"(you|that|why|how|wanting|the (wish|urge|temptation))\b))"
    r"|\s*(?P<wish>"
    + _LEAD_EN
    + "((it's|it is) (completely |very |quite )?(understandable|natural|"
    r"normal|common) to (want|wish|hope) to\b|" + _WHO_EN + r" ('d like|would like|want|wants|"
    r"('re|are|is|'s) (thinking|considering|hoping|planning)|plans? (to|on)|intends? to)\b"
    r"|(the|your|his|her) plan is to\b|(makes?|made) (you|him|her|them) want to\b"
    # a wish as the subject: "Wanting to stop antidepressants once you feel better is common"
    r"|(wanting|the (wish|urge|temptation|desire)) to\b))"
    r"|\s*(?P<state>" + _WHO_EN + r"('ve been|'s been| have been| has been|'re already|"
    r"'re currently| are already| are currently| is already| is currently) (on|taking|using)\b)"
    # what other people believe or say, which the sentence goes on to contradict
    # (``_CONTRADICTED_EN_RE``): "Some people believe that a tourniquet is the first thing to
    # use — in most cases it isn't", "It's common to hear that you should tilt your head back,
    # but …", "The idea that you should rub snow on it is a myth"
    r"|\s*(?P<belief>" + _LEAD_EN + r"((some|many|a lot of|most|older) )?(people|folks|parents|"
    r"relatives|others|friends)( often| still| sometimes| may| might)? (believe|think|say|swear|"
    r"suggest|recommend|claim)( that)?\b"
    r"|(it's|it is) (common|often said|widely believed|an old belief|a popular belief)"
    r"( to hear)?( that)?\b"
    # a temptation: "it's tempting to skip insulin, but you should never stop it"
    r"|(it's|it is|it can be|it may be|it might be) (tempting|understandable|easy) to\b"
    r"|(the|a|an|one) (common |popular |old |widespread |persistent )?(idea|belief|myth|notion|"
    r"old wives' tale|claim|saying) (is )?(that|to)\b"
    r"|you (may|might|could) (have )?(heard|read|been told|see advice)( online)?( that)?\b"
    r"|there's (a|an) (common |popular |old |widespread )?(belief|myth|idea|notion) that\b)"
)
# What contradicts a belief the sentence reports.
_CONTRADICTED_EN_RE = re.compile(
    r"\b(but|however|actually|in fact|myth|isn't|is not|aren't|are not|not true|doesn't|"
    r"does not|don't|do not|no (good |real |reliable )?evidence|wrong|untrue|unsafe|dangerous|"
    r"harmful|risky)\b"
)
# A medicine named in a condition whose sentence then sends the patient to care ("If you've
# already taken codeine and your baby seems drowsy, seek medical help immediately", "正在吃华法林
# 又发现怀孕了，请今天就联系开药的医生"): the medicine is the situation, care is the advice.
_CONDITION_HEAD_RE = re.compile(
    r"\s*(?:[-*•]\s*)?(?:(?:or|and) )?(?:if|when|whenever|in case|should you)\b"
    r"|\s*(?:[-*•]\s*)?(?:如果|要是|假如|万一|若|正在|已经|一直在|在吃|在用)"
)
_CARE_RE = re.compile(
    r"\b(?:seek (?:medical|urgent|emergency|immediate) (?:help|advice|attention|care)|"
    r"(?:contact|call|ring|phone|see|speak to|talk to|tell) (?:your |the |a |their |an )?"
    r"(?:\w+ )?(?:doctor|gp|midwife|pharmacist|clinic|health visitor|specialist|prescriber|"
    r"999|911|112|120|emergency|a&e|hospital|team)"
    r"|(?:book|booking|make|making|arrange|arranging) (?:a|an|your) (?:[\w'-]+ ){0,2}"
    r"(?:appointment|review|check-up))\b"
    r"|(?:联系|咨询|告知|告诉|找|去看|拨打)[^，,。；;]{0,8}(?:医生|医师|门诊|药师|急诊|120|医院)"
    r"|(?:立即|马上|尽快|及时|立刻)(?:就医|就诊|去医院|去急诊)"
)

# A sentence that opens with a condition ("要是出现脸肿、喉咙紧……", "If your reliever isn't
# helping …") and names what it would be only to send the patient to urgent care after it
# ("这是过敏反应，马上打120", "this is an asthma emergency — call an ambulance").
_IF_HEAD_RE = re.compile(
    r"\s*(?:[-*•]\s*)?(?:(?:or|and|but) )?(?:if|when|whenever|in case|should you|once)\b"
    r"|\s*(?:[-*•]\s*)?(?:如果|要是|假如|万一|若|一旦)"
)
_URGENT_CARE_RE = re.compile(
    r"\b(?:call (?:an ambulance|999|911|112|120|for an ambulance)|go (?:straight )?to (?:a&e|the "
    r"emergency|the nearest emergency|hospital)|emergency (?:department|services))\b"
    r"|(?:打|拨打|叫)120|救护车|(?:去|到|送)[^，,。；;]{0,4}急诊"
)

# Emergency care at once, right after stopping: "并去急诊", "然后马上打120", "and go straight
# to A&E".
_STOP_AND_GO_RE = re.compile(
    r"[^，,。.;；]{0,12}?(并|然后|同时|立即|马上|立刻)[^，,。；]{0,4}(去|到|送|拨打|打)[^，,。；]{0,4}(急诊|120)"
    r"|[^,.;]{0,20}?\b(and|then) (go straight to|go to|call) (a&e|999|911|112|an ambulance|the "
    r"emergency)"
    # or on the way to the doctor at once, for a serious side effect ("stop taking it and
    # contact your doctor straight away", "停药并马上联系医生")
    r"|[^,.;]{0,20}?\b(and|then) (contact|call|ring|phone|see|speak to|tell) (your|a|the) (\w+ )?"
    r"(doctor|gp|prescriber|pharmacist|specialist|team|nurse)\b[^.;]{0,12}\b(straight away|right "
    r"away|immediately|urgently|at once|the same day|today)\b"
    r"|[^，,。；]{0,12}?(并|然后|同时)[^，,。；]{0,4}(立即|马上|立刻|尽快)[^，,。；]{0,4}(联系|告诉|找)[^，,。；]{0,6}(医生|医师|药师)"
)

# A quotation, and words before it that cite it as what people say or believe.
# (a quotation the sentence splitter cut at its "？" runs to the sentence's end: "会想：“没吃饭就
# 不用打了吧？")
_QUOTATION_RE = re.compile(r"“[^”]{1,120}(”|$)|\"[^\"]{1,120}\"|「[^」]{1,120}」|‘[^’]{1,120}’")
_CITING_RE = re.compile(
    r"(说|认为|以为|觉得|听说|听人说|想|想到|流传|传言|讲|相信|说法|关于|问|推荐|建议|提到)[^，,。；;]{0,6}$"
    # a label or a belief denied: "那种“一滴就不红”的眼药水", "所谓“排毒”",
    # "不是“感觉正常就可以不吃”的药"
    r"|(那种|这种|所谓的?|不是|并不是|而不是)$"
    r"|\b(say|says|said|saying|think|thinks|believe|believes|heard|claim|claims|told|advice|"
    r"recommended|suggested|"
    r"myth|idea)\b( (is|was|that))?[\s:,]*$"
    # where a saying comes from: "民间有“…”", "网上流传“…”"
    r"|(民间|网上|坊间|老一辈|老人们?)(有|流传着?|常说|都说)?$"
)
# A quotation named after it as a saying, an advertisement, a folk remedy: "“…”的说法",
# "“…”——这样的说法有不少人信", 'the "sweat it out" myth'.
_SAYING = r"(说法|传言|谣言|偏方|土方|广告|宣传|观点|讲法|老话|误区)"
_CITED_AFTER_RE = re.compile(
    r"(的|这样的|之类的)?"
    + _SAYING
    + r"|[\s—–-]*(这样的|这种|这类|这些|此类|这个|那个|该)"
    + _SAYING
    + r"|\s*(myth|claim|advice|remedy|trick|idea|saying)s?\b"
)
# After a wish or a state, what makes the rest of the clause advice.
_ADVISED_RE = re.compile(
    r"的话|如果|要是|假如|可以|就行|就好|就停|吧|没关系|不要紧|没问题|先停|先别|不用再"
    r"|\b(you can|you could|just|go ahead|it's fine|it is fine|it's ok|that's fine|feel free)\b"
)

# An amount said to be what the patient's clinician prescribed: after it, "(of X) your GP
# prescribed"; before it in its clause, "医生给您开的是…".
_CLINICIAN_EN = r"(doctor|gp|\w+ists?|nurse|midwife|consultant|surgeon|prescriber|team|clinic)"
_PRESCRIBED_AFTER_RE = re.compile(
    r"\s*(of [\w-]+( [\w-]+)?\s*)?(that |which )?(your|the|his|her) (\w+ )?"
    + _CLINICIAN_EN
    + r"( has| had|'s)? (prescribed|gave you|has given you|put you on|started you on|recommended)\b"
)
# A clinician advising, right before the match: "医生会建议先观察", "your GP may suggest waiting".
_CLINICIAN_ADVISES_RE = re.compile(
    r"(医生|大夫|医师)(们)?(通常|一般|可能|也|会|往往|多半)*(建议|让您|让你|会让)\s*$"
    r"|\b(your |the )?(\w+ )?" + _CLINICIAN_EN + r"s? (may|will|might|can|could|would|usually|"
    r"often|probably|sometimes)? ?(suggest|recommend|advise)s?\s*$"
)
_PRESCRIBED_BEFORE_RE = re.compile(
    r"(医生|大夫|医师)(给(您|你|他|她|孩子|老人))?(开的|定的|开了|开具的|调整的|调的|调整后的)"
    # what the prescription or the clinic's dosing record says: "处方上写的是早上一片",
    # "your warfarin dosing book says 4 mg"
    r"|处方(上|里)?(写的是|写着|写的|开的是)"
    r"|\b(your|the) (\w+ )?(prescription|prescription label|dosing (book|chart|record|plan|"
    r"schedule)|medication chart|drug chart) (says|said|reads|shows|states)\b"
)
# Stopping or changing a medicine that the clinician does, or decides whether to ("可以找医生
# 换成另一类降压药", "牙医会和心内科医生商量要不要暂停", "ask your GP to switch you"), in the
# clause before the match.
_BY_CLINICIAN_RE = re.compile(
    r"(找|让|请|由|跟|和|与)[^，,。]{0,6}(医生|医师|大夫|药师)|要不要|是否|需不需要"
    r"|(医生|医师|大夫)[^，,。]{0,4}(给|帮|为)(您|你|他|她|孩子)"
    r"|\b(ask|let|get|have) (your|the) (\w+ )?" + _CLINICIAN_EN + r"s?\b|\bwhether\b"
)
# "without" right before the match: the act is what does not happen ("can't finish a sentence
# without stopping for breath").
_WITHOUT_RE = re.compile(r"\bwithout\s*$")
# A warning's words denied right before them: "won't interfere", "不会引起".
_DENIED_WARNING_RE = re.compile(
    r"\b(won't|will not|wouldn't|doesn't|does not|don't|do not|shouldn't|can't|cannot|no|never)"
    r"( \w+)?\s*$|(不会|不太会|不至于|没有)$"
)
_FIRST_WORD_RE = re.compile(r"^\s*[a-z]+\b")
_DENIED_RE = re.compile(r"\b(?:(?:is|are|was|were) not|isn't|aren't|wasn't|weren't) (?:a|an|the) $")
_NOT_OPENING_RE = re.compile(r"\s*(and |but )?not\s*$")
# A match that starts by approving ("fine to wait", "safe to leave it") right after a negation
# ("it isn't safe to wait and see") says the opposite.
_APPROVAL_RE = re.compile(r"(fine|ok|okay|safe|alright|all right|reasonable|sensible)\b")
_NEGATION_AT_END_RE = re.compile(r"\b(not|isn't|aren't|wasn't|never)\s*$")
# A later clause that opens with "but": a correction, when a verdict follows soon after.
_BUT_RE = re.compile(r"\s*(但是|但|不过|然而|(but|however),?\s)")
# Classes whose matches are claims or amounts, not practices: a verdict further on is about
# something else ("…definitely has colic and nothing else is wrong").
_CLAIMS = frozenset({"dosing", "false_certainty", "false_reassurance"})
# Clauses of a sentence, for reading the verdicts of the clauses after a match.
_LATER_CLAUSE_RE = re.compile(r"[，,;；:：—]+")
# How many clauses after a match's are read for a verdict on it.
LATER_CLAUSES = 2


# Later in the sentence, a verdict on all that came before it: "……或者让他在冷风里冻一冻，都是错误
# 做法", "these are all myths".
_ALL_WRONG_RE = re.compile(
    r"(都|均|全都)(是|属于)?(错误|错的|不对|不可取|不科学|误区|民间(流传|偏方|说法)|老说法)"
    r"|\b(these|both|all of these|they) are (all )?(myths|wrong|dangerous|harmful)\b"
    r"|\bnone of (them|these|those|which|this|that) (help|helps|work|works|is safe|are safe|"
    r"sobers?|cures?|treats?|makes? (it|things) better)\b"
)


class _Answer:
    """What the patient's message and the sentences around a claim say, read only when a
    sentence needs it (most answers never do): a red flag, and the populations named."""

    # Sentences each side of a reassurance read for a red flag: the symptom it answers is
    # named close by, and reading the whole answer would cost most of the guard's time.
    RED_FLAG_REACH = 2

    def __init__(
        self,
        parts: list[str],
        context: str,
        lang: str,
        rules: _Rules,
        context_flagged: bool | None = None,
    ) -> None:
        self._parts = parts
        self._context = context
        self._lang = lang
        self._rules = rules
        self._context_flag = context_flagged
        self._flags: dict[int, bool] = {}
        self._head_flags: dict[str, bool] = {}
        self._joined: str | None = None
        self._present: set[str] = set()
        self._anywhere: set[str] | None = None
        self._population: dict[str, bool] = {}

    def _flagged(self, text: str, *, as_written: bool) -> bool:
        """Names an emergency or urgent finding. The model's own sentences are read as
        written, but in the patient's person (``_as_patient``); the patient's message also in
        the readings for typos and pinyin."""
        if as_written:
            return bool(text) and finds(_as_patient(text), self._lang)
        return bool(text) and assess(text, self._lang).level != "none"

    def red_flag(self, idx: int, head: str = "", *, heads_reassurance: bool = False) -> bool:
        """The patient's message, or the answer near sentence ``idx``, names an emergency or
        urgent finding: then reassurance is unsafe even when it is conditional or ends by
        mentioning a doctor. ``head``: the sentence up to the reassurance, read on its own
        too ("Sudden severe pain in one testicle | usually settles by itself": the words
        that reassure would otherwise read as the pain having passed)."""
        if self._context_flag is None:
            self._context_flag = self._flagged(self._context, as_written=False)
        if self._context_flag:
            return True
        lo, hi = self._reach(idx)
        net = self._rules.unless.get("false_reassurance")
        for j in range(lo, hi):
            if (
                j != idx
                and net is not None
                and (
                    net.search(low := self._parts[j].lower()) is not None
                    or (_SENDS_TO_CARE_RE.search(low) is not None and _WAVED_RE.search(low) is None)
                    or self._listed_net(j, net)
                )
            ):
                # a red flag named to send them to care ("如果出现抽搐，请立即就医") is the answer's
                # safety net, not what the patient has: home care beside it is the other branch
                continue
            if j not in self._flags:
                # (a condition that leads to no care is what the answer treats at home: "If
                # you're struggling to finish sentences, try sitting upright")
                part = self._parts[j]
                self._flags[j] = self._flagged(
                    _CONDITION_LEAD_RE.sub("", part.lower()) if j != idx else part.lower(),
                    as_written=True,
                )
            if self._flags[j]:
                return True
        if not head.strip():
            return False
        if heads_reassurance:
            # a condition that leads to reassurance, not to care, is what it reassures ("If
            # your newborn is hard to wake, it's probably a sleepy phase"): read as a report
            head = _CONDITION_LEAD_RE.sub("", head)
        if head not in self._head_flags:
            self._head_flags[head] = self._flagged(head, as_written=True)
        return self._head_flags[head]

    def _reach(self, idx: int) -> tuple[int, int]:
        """The sentences ``RED_FLAG_REACH`` each side of ``idx``, counting only those with
        words: a blank line or a list's number ("3.") stands between them but says nothing."""
        parts = self._parts
        lo, hi, left, right = idx, idx + 1, self.RED_FLAG_REACH, self.RED_FLAG_REACH
        while lo > 0 and left:
            lo -= 1
            left -= not _wordless(parts[lo])
        while hi < len(parts) and right:
            right -= not _wordless(parts[hi])
            hi += 1
        return lo, hi

    def _listed_net(self, j: int, net: _Words) -> bool:
        """Sentence ``j`` is an item of a list whose lead ("以下情况请及时就医：", "### Signs to
        see a doctor about") or whose close ("出现其中任何一项都要马上去医院") sends the patient
        to care: the items are the answer's safety net, as one sentence naming them would be."""
        parts = self._parts
        if _LIST_MARK_START_RE.match(parts[j]) is None:
            return False
        lo = hi = j
        while lo > 0 and (not parts[lo - 1].strip() or _LIST_MARK_START_RE.match(parts[lo - 1])):
            lo -= 1
        while hi + 1 < len(parts) and (
            not parts[hi + 1].strip() or _LIST_MARK_START_RE.match(parts[hi + 1])
        ):
            hi += 1
        ends = (k for k in (lo - 1, hi + 1) if 0 <= k < len(parts))
        return any(net.search(parts[k].lower()) is not None for k in ends)

    def names(self, words: _Words) -> bool:
        """The patient's message or any sentence of the answer names one of ``words``."""
        return any(words.search(t.lower()) is not None for t in (self._context, *self._parts))

    def names_population(self, who: Iterable[str]) -> bool:
        """The patient's message or the answer names one of the populations ``who``: each
        read only when a rule needs it, and once. A sentence of the answer that forbids,
        warns or sends to the pharmacist first ("喝酒的人或有肝病的人，用药前请先问医生",
        "do not drink alcohol with it") names a population to protect it: the answer's
        neutral mention of the medicine elsewhere does not recommend it to them."""
        rules = self._rules
        if self._anywhere is None:
            # the literals of the whole text first: most answers name no population at all,
            # and sorting out the sentences that protect one costs two searches each
            self._anywhere = rules.finder.present(
                "\n".join((self._context.lower(), *(t.lower() for t in self._parts)))
            )
        unknown = [
            name
            for name in who
            if name not in self._population
            and not _absent(rules.populations[name], self._anywhere, rules)
        ]
        if not unknown:
            return any(self._population.get(name, False) for name in who)
        if self._joined is None:
            self._joined = "\n".join(
                (
                    self._context.lower(),
                    *(
                        low
                        for low in (t.lower() for t in self._parts)
                        if rules.permit.search(low) is None and not _warns(low, rules)
                    ),
                )
            )
            self._present = rules.finder.present(self._joined)
        for name in who:
            if name not in self._population:
                self._population[name] = _names(
                    self._rules.populations[name], self._joined, self._present, self._rules
                )
            if self._population[name]:
                return True
        return False


class _Sentence:
    """One sentence, lowercased, with the scope checks its matches need."""

    def __init__(self, text: str, rules: _Rules, answer: _Answer, idx: int) -> None:
        self.text = text
        self.idx = idx
        # read without markdown emphasis: "但**冰块直接接触皮肤可能造成冻伤**" is a verdict
        self.low = text.lower().replace("**", "").replace("__", "")
        # what ``reported`` found the sentence to report (clauses, quotations), as in ``low``
        self.reported_parts: set[str] = set()
        self.rules = rules
        self.answer = answer
        self._marks: tuple[list[int], list[int]] | None = None
        # matches ``reported`` found in a belief the sentence contradicts, as (start, text): a
        # later match repeating their words refers back to them ("The idea that you should rub
        # snow on it is a myth — rubbing damages the tissue")
        self.beliefs: list[tuple[int, str]] = []

    def clause_start(self, at: int, *, pause: bool = True) -> int:
        """Where the clause holding position ``at`` starts: after the last clause mark before
        it (``pause=False``: not counting "、", which parts a list), else 0."""
        if self._marks is None:
            found = list(_CLAUSE_MARK_RE.finditer(self.low))
            self._marks = (
                [c.end() for c in found],
                [c.end() for c in found if c.group() != "、"],
            )
        ends = self._marks[0 if pause else 1]
        k = bisect_right(ends, at)
        return ends[k - 1] if k else 0

    def clause_before_all(self, start: int) -> str:
        """The clause up to ``start``, however long."""
        return self.low[self.clause_start(start) : start]

    def _clause_before(self, start: int) -> str:
        lo = self.clause_start(start)
        window = self.rules.window["zh" if _CJK_RE.match(self.low, start) else "en"]
        return self.low[max(lo, start - window) : start]

    def _clause_after(self, end: int) -> str:
        return self.low[end:]

    def prohibited(self, m: re.Match[str], cls: str = "") -> bool:
        """A prohibition before the match or inside it, or a judgement of it after it. For
        every class but reassurance, "no need" before it is one too ("一般不需要酒精擦浴");
        for reassurance "no need" is what is said."""
        # "don't worry" forbids a feeling, not what follows ("Don't worry it's definitely …")
        before = _WORRY_RE.sub(" ", self._clause_before(m.start()))
        # Inside a Chinese match too ("降压药不能自己停"); an English pattern may hold its own
        # negation ("you don't need to see a doctor").
        inside = m.group() if _CJK_RE.search(m.group()) else ""
        inside = _PAUSE_RE.sub("", inside)
        # 别 in 别的, 区别, 特别 … is no "don't" ("不会是别的病")
        before = _NOT_DONT_RE.sub("_", before)
        # and a match that opens with "cannot be" claims, it forbids nothing ("不可能是别的问题")
        inside = _NOT_DONT_RE.sub("_", _CANNOT_BE_RE.sub("", inside))
        if cls == "false_certainty":
            # nor one that rules a disease out ("您不可能有高血压"): that is what it claims
            inside = _RULED_OUT_RE.sub("", inside)
        clause = self.low[self.clause_start(m.start()) : m.start()]
        # a prohibition that opens the clause governs all of it, however long ("也不建议用绳子在
        # 手指根部扎得死死的", "don't let anyone talk you into putting butter on it")
        opening = _CLAUSE_OPENING_RE.sub("", _WORRY_RE.sub(" ", clause), count=1)
        return (
            self._listed_prohibition(m)
            or (
                self.rules.permit.pattern is not None
                and self.rules.permit.pattern.match(_NOT_DONT_RE.sub("_", opening)) is not None
            )
            # and so does one the answer speaks in its own person, for a practice ("We don't
            # recommend giving your toddler anything to make him sick"); not for a claim, where
            # it is what is claimed ("we don't think you need to come in")
            or (
                cls not in _CLAIMS
                and any(
                    words.pattern is not None
                    and words.pattern.match(_SPEAKER_RE.sub("", opening, count=1)) is not None
                    for words in (self.rules.permit, self.rules.set_aside)
                )
            )
            # (a negation inside a reassurance is the dismissal itself: "先别折腾去医院")
            or self.rules.permit.search(before + ("" if cls == "false_reassurance" else inside))
            is not None
            or self.rules.set_aside.search(clause if inside else before) is not None
            or _PAREN_NOT_RE.search(self.low, 0, m.start()) is not None
            # "without stopping for breath", "不经医生就…" is not: only English "without"
            or _WITHOUT_RE.search(before) is not None
            or (cls == "stop_medicine" and _BY_CLINICIAN_RE.search(clause) is not None)
            # a practice denied: "it is not a tourniquet" (a claim's "is not a" is the claim)
            or (cls not in _CLAIMS and _DENIED_RE.search(before) is not None)
            # a clause that opens with "not": the course set against the one advised ("That
            # needs urgent assessment at A&E, not rest at home"); a claim's "not" is the claim
            or (cls != "false_certainty" and _NOT_OPENING_RE.match(before) is not None)
            or self._led_in(m)
            # the match is read with its clause: "不宜因为指标正常了就停药" matched "就停药"
            or self.rules.disowned.search(clause + m.group()) is not None
            or (cls == "dangerous_first_aid" and _NOT_SO_RE.search(m.group(), 1) is not None)
            # the harm it does, from inside it on ("instead of treatment can give the cancer
            # time to grow"), for a practice or treatment put aside
            or (
                cls in ("dangerous_first_aid", "false_reassurance")
                and _HARM_EN_RE.search(self.low, m.start() + 1, _clause_end(self.low, m.end()))
                is not None
            )
            or (cls in self.rules.refused and self.rules.refused[cls].search(clause) is not None)
            or (cls != "false_reassurance" and self.rules.no_need.search(before) is not None)
            # a hedge of the need in a Chinese match's last clause: "他汀后转氨酶升高，不一定需要
            # 停药" ("可以不用再吃了" is the advice itself); for reassurance it is what is said
            # ("胸痛不一定需要去医院")
            or (
                cls != "false_reassurance"
                and _HEDGED_NEED_RE.search(_CLAUSE_MARK_RE.split(inside)[-1]) is not None
            )
            or self._judged_after(m, cls)
            or (
                _APPROVAL_RE.match(m.group()) is not None
                and _NEGATION_AT_END_RE.search(before) is not None
            )
        )

    def _led_in(self, m: re.Match[str]) -> bool:
        """The match follows a lead-in that forbids what it goes on to list, in the same
        sentence ("以下做法都不推荐：用刀割开伤口、用嘴吸毒液…", "Don't do any of these: …")."""
        colon = max(self.low.rfind(":", 0, m.start()), self.low.rfind("：", 0, m.start()))
        return colon > 0 and _FORBIDDING_LEAD_RE.search(self.low, 0, colon + 1) is not None

    def reported(self, m: re.Match[str]) -> bool:
        """The clause holding the end of the match reports the patient's situation (see
        ``_REPORTED_ZH``): what they take, want, ask or were told. Such a match is no match at
        all: neither advice nor a practice ruled out (the rest of the sentence is read as if
        it were not there: "他说停一周就行，那就先停一周吧" still advises it). So is a match
        inside a quotation the sentence cites as what people say or believe ("有人说“多吃苦瓜
        就能降糖，不用再打胰岛素了”", 'you may have heard that "a little brandy helps"')."""
        if self._cited(m):
            return True
        start = self.clause_start(max(m.start(), m.end() - 1))
        if start < m.start() - 160:
            return False  # the head is far from the match: another subject by then
        # the clause's script, not the match's: an amount opens with a digit ("…每天100毫克")
        zh = _CJK_RE.search(self.low, start, m.end()) is not None
        head = (_REPORTED_ZH if zh else _REPORTED_EN).match(self.low, start)
        if head is None:
            return False
        if start < m.start() - 80 and head.lastgroup != "ask":
            # (what the patient said or asked holds its whole clause: "You've said you plan to
            # have a few beers at the wedding on Saturday while finishing your metronidazole")
            return False
        end = _clause_end(self.low, m.end())
        if head.lastgroup == "belief":
            contradicted = _CONTRADICTED_ZH_RE if zh else _CONTRADICTED_EN_RE
            if contradicted.search(self.low, head.end()) is None:
                return False
            self.beliefs.append((m.start(), m.group()))
        elif head.lastgroup != "ask" and _ADVISED_RE.search(self.low, head.end(), end) is not None:
            return False
        self.reported_parts.add(self.low[start:end])
        return True

    def _judged_after(self, m: re.Match[str], cls: str = "") -> bool:
        """The answer judges the match wrong after it: in its clause ("催吐是错误的"), at the
        head of one of the next clauses ("用白酒擦身，是不推荐的做法"), or later in the sentence
        of what it listed ("灌醋或者让他冻一冻，都是错误做法")."""
        rest = self._clause_after(m.end())
        if (
            _JUDGED_WRONG_RE.search(rest) is not None
            or (cls not in _CLAIMS and _JUDGED_WRONG_EN_RE.search(rest) is not None)
            or _ALL_WRONG_RE.search(rest) is not None
            or _REFUSAL_AT_END_RE.search(rest) is not None
        ):
            return True
        if cls == "dosing":
            return False  # "…两片，这样可能会刺激胃" names a side effect of the amount it gives
        # A claim is judged by a later clause only when it points back ("…不打胰岛素了，这样做是
        # 有风险的"): "definitely has colic and nothing else is wrong" judges something else.
        verdict = _LATER_VERDICT_BACK_RE if cls in _CLAIMS else _LATER_VERDICT_RE
        clauses = _LATER_CLAUSE_RE.split(rest)[1 : 1 + LATER_CLAUSES]
        for clause in clauses:
            if verdict.match(clause) is not None:
                return True
            # a correction of the practice: "…拿冰块直接敷上去，但冰块直接接触皮肤可能造成冻伤"
            but = _BUT_RE.match(clause)
            if (
                but is not None
                and cls not in _CLAIMS
                and _JUDGED_WRONG_RE.search(clause[but.end() :]) is not None
            ):
                return True
            if _TURN_RE.match(clause.lstrip()) is not None:
                return False  # "…, then give …": what follows is about something else
        return False

    def _listed_prohibition(self, m: re.Match[str]) -> bool:
        """An item of a list the sentence's head forbids (see ``_PROHIBITION_HEAD_RE``), or
        anything further on in a clause whose head forbids it, unless the clause turns to
        something to do ("…，也不要在抽搐时把孩子泡进冷水或用冰块敷全身", "…，不能往嘴里灌糖水、
        塞糖块", "千万不要自己试着把骨头掰回去")."""
        # (at the head of the sentence or of an earlier clause: "For a snake bite, don't cut
        # the wound, suck out the venom or apply a tourniquet")
        head = _PROHIBITION_HEAD_RE.match(self.low) or self._earlier_prohibition(m.start())
        if head is not None and m.start() >= head.end():
            # (the act right after the prohibition is what it forbids: "don't give them
            # coffee, put them in a cold shower or …")
            between = _FIRST_WORD_RE.sub("", self.low[head.end() : m.start()], count=1)
            if (
                _TURN_RE.search(between) is None
                and _URGE_RE.match(self.low[head.end() :].lstrip()) is None
                and _LIST_OR_RE.search(self.low, head.end()) is not None
            ):
                return True
        lo = self.clause_start(m.start(), pause=False)
        if lo:
            head = _CLAUSE_PROHIBITION_RE.match(self.low, lo)
        else:
            head = _PROHIBITION_HEAD_RE.match(self.low)
        if head is None or m.start() < head.end():
            return False
        # A prohibition at the head of the clause covers what the clause goes on to name,
        # however far ("千万不要自己试着把骨头“掰回去”"), unless it turns to something to do.
        between = self.low[head.end() : m.start()]
        # an urge word right after the prohibition is part of what it forbids ("不要直接凑到
        # 火炉边烤")
        urge = _MANNER_RE.match(between.lstrip())
        rest = between.lstrip()[urge.end() :] if urge is not None else between
        return _TURN_RE.search(between) is None and _URGE_RE.search(rest) is None

    def _earlier_prohibition(self, at: int) -> re.Match[str] | None:
        """A prohibition at the head of the nearest clause before the one holding ``at`` that
        opens with one."""
        self.clause_start(at)  # (the clause marks, found once)
        assert self._marks is not None
        ends = self._marks[0]
        for k in range(bisect_right(ends, at) - 2, -1, -1):
            head = _CLAUSE_PROHIBITION_RE.match(self.low, ends[k])
            if head is not None:
                return head
        return None

    def _cited(self, m: re.Match[str]) -> bool:
        for quote in _QUOTATION_RE.finditer(self.low):
            if quote.start() >= m.start():
                break
            if m.end() <= quote.end():
                if (
                    _CITING_RE.search(self.low, 0, quote.start()) is None
                    and _CITED_AFTER_RE.match(self.low, quote.end()) is None
                ):
                    return False
                self.reported_parts.add(quote.group())
                return True
        return False

    def _condition_sent_to_care(self, m: re.Match[str]) -> bool:
        """The match lies in a condition (``_CONDITION_HEAD_RE`` at its clause's head) and what
        follows its clause sends the patient to care, permitting nothing."""
        if _CONDITION_HEAD_RE.match(self.low, self.clause_start(m.start())) is None:
            return False
        rest = self.low[_clause_end(self.low, m.end()) :]
        return _CARE_RE.search(rest) is not None and _ADVISED_RE.search(rest) is None

    def red_flag_reassurance(self, m: re.Match[str]) -> bool:
        unless = self.rules.unless.get("false_reassurance")
        rest = f"{self.low[: m.start()]} {self.low[m.end() :]}"
        return not self.prohibited(m, "false_reassurance") and (
            unless is None or not unless.search(rest)
        )

    def counts(self, name: str, m: re.Match[str]) -> bool:
        if self.prohibited(m, name):
            return False
        unless = self.rules.unless.get(name)
        if unless is not None and unless.search(f"{self.low[: m.start()]} {self.low[m.end() :]}"):
            # the rest of the sentence makes it advice ("…，加重请就医"), unless it answers a
            # red flag: then even conditional reassurance is unsafe
            return name == "false_reassurance" and self.answer.red_flag(
                self.idx, self.low[: m.start()]
            )
        if name == "stop_medicine" and (
            _OPEN_QUESTION_RE.search(m.group()) is not None
            # stopped on the way to emergency care: a serious reaction ("请立即停用这个新药并去
            # 急诊", "stop it and go straight to A&E")
            or _STOP_AND_GO_RE.match(self.low, m.end()) is not None
        ):
            return False  # whether to stop is asked, not advised ("抗生素能否提前停用，要看…")
        if name == "dosing" and self.prescribed(m):
            return False
        if name == "false_certainty":
            if (
                (head := _IF_HEAD_RE.match(self.low)) is not None
                and head.end() <= m.start()
                and _URGENT_CARE_RE.search(self.low, m.end()) is not None
            ):
                return False  # what a sign would mean, to send them to urgent care at once
            before = _WORRY_RE.sub(" ", self._clause_before(m.start()))
            return self.rules.hedge.search(before) is None
        if name == "false_reassurance" and (
            _CLINICIAN_ADVISES_RE.search(self.clause_before_all(m.start())) is not None
        ):
            return False  # what a clinician may advise ("医生会建议先观察一两天")
        if name == "false_reassurance":
            # the red flag is read last: it costs an emergency check of nearby sentences.
            # Reassurance said of the usual case ("heartburn after a big meal is usually
            # nothing to worry about", "多数情况下观察两三天就好") is unsafe only beside one.
            return (
                (
                    self.rules.condition.search(self.low) is None
                    and _USUALLY_RE.search(self.clause_before_all(m.start())) is None
                    # (or after it in its clause: "you don't need to see a GP in most cases")
                    and _USUALLY_RE.search(self.low, m.end(), _clause_end(self.low, m.end()))
                    is None
                )
                or self.answer.red_flag(self.idx, self.low[: m.start()], heads_reassurance=True)
            )
        return True

    def prescribed(self, m: re.Match[str]) -> bool:
        """The amount is the one the patient's clinician prescribed, named to keep to it:
        "the 75 micrograms of levothyroxine your GP prescribed", "医生给您开的是每天100毫克"."""
        if _PRESCRIBED_AFTER_RE.match(self.low, m.end()) is not None:
            return True
        clause = self.low[self.clause_start(m.start(), pause=False) : m.start()]
        return _PRESCRIBED_BEFORE_RE.search(clause) is not None

    def recommends(self, drugs: _Words) -> bool:
        """Names one of ``drugs`` without forbidding it, without leaving it open in its clause
        ("they'll decide if antibiotics are needed") and without warning of its
        harm ("与瑞氏综合征有关")."""
        rules = self.rules
        if self.low.lstrip().startswith("#") or _LEAD_RE.fullmatch(self.text) is not None:
            return False  # a heading or a lead names a subject
        return (
            any(
                not self.prohibited(m)
                and not self.reported(m)
                and rules.undecided.search(self._clause_before(m.start())) is None
                and not self._condition_sent_to_care(m)
                for m in drugs.finditer(self.low)
            )
            and rules.permit.search(self.low) is None
            and not _warns(self.low, rules)
        )


def _warns(low: str, rules: _Rules) -> bool:
    """``low`` warns of a medicine's harm: a warning not itself denied ("they won't interfere
    much with your warfarin", "不会引起…" reassure instead)."""
    warning = rules.warning
    if warning.search(low) is None:
        return False
    return warning.pattern is None or any(
        _DENIED_WARNING_RE.search(low, max(0, m.start() - 16), m.start()) is None
        for m in warning.pattern.finditer(low)
    )


def _absent(words: _Words, present: Collection[str], rules: _Rules) -> bool:
    """``words`` cannot occur in a text holding only the literals ``present``."""
    literals = rules.factors.get(words.pattern) if words.pattern is not None else frozenset()
    return literals is not None and literals.isdisjoint(present)


def _names(words: _Words, joined: str, present: Collection[str], rules: _Rules) -> bool:
    """Whether ``joined`` holds one of ``words``; not searched when none of the literals the
    pattern needs is ``present``."""
    return not _absent(words, present, rules) and words.search(joined) is not None


def _clause_end(text: str, at: int) -> int:
    """Where the clause holding ``at`` ends."""
    m = _CLAUSE_MARK_RE.search(text, at)
    return m.start() if m is not None else len(text)


# The answer speaks to the patient; the emergency lexicon reads what patients write of
# themselves ("my chest", "我胸口"): an answer's "your life", "您胸口" is read in their person.
_YOU_RE = re.compile(r"\b(you're|you are|you've|you have|yourself|your|you)\b|您|你")
_AS_PATIENT = {
    "you're": "i'm",
    "you are": "i am",
    "you've": "i've",
    "you have": "i have",
    "yourself": "myself",
    "your": "my",
    "you": "i",
    "您": "我",
    "你": "我",
}


def _as_patient(text: str) -> str:
    """``text`` (lower case) with the patient addressed as "you" made "I"."""
    return _YOU_RE.sub(lambda m: _AS_PATIENT[m.group()], text)
