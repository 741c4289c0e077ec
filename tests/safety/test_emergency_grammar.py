"""The composed emergency grammars (self-harm, overdose, poisoning scenes, conditions where
timing matters) and figures of speech: each rule with sentences it must escalate and
look-alikes it must leave alone. Sentences written for these tests."""

from __future__ import annotations

import pytest

from safety import emergency
from safety.emergency import Assessment


def assess(text: str, lang: str | None = None, **options: bool) -> Assessment:
    """The lexicon's verdict alone: these tests pin its grammar. The learned reading, which
    can only add an escalation, has its own tests (test_emergency_model.py)."""
    return emergency.assess(text, lang, learned=False, **options)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # self-harm: a wish to die or be free, with a means, a time or a farewell
        ("安眠药我都攒好了，今晚就解脱", "self_harm"),
        ("活着太累了，楼顶的门我已经找到怎么开了", "self_harm"),
        ("我就是大家的拖累，遗书写好放在抽屉里了", "self_harm"),
        ("刀片就在手边，对不起爸妈，我走以后替我照顾好猫", "self_harm"),
        ("控制不住一直在割自己，停不下来", "self_harm"),
        # overdose: a medicine and an amount
        ("我刚一口气吃了一整盒安眠药", "poisoning"),
        ("他吃了二十多片布洛芬", "poisoning"),
        ("她吞了8000mg的扑热息痛", "poisoning"),
        ("两岁的孙子偷吃了奶奶的降压药", "poisoning"),
        # poisoning scenes
        ("屋里烧炭取暖，现在一家人都头晕想吐", "poisoning"),
        ("把84和洁厕灵混在一起刷厕所，现在胸闷咳嗽", "poisoning"),
        ("宝宝把洗衣凝珠咬破了", "poisoning"),
        ("中午吃了山上采的野生菌，现在一直拉肚子还看见小人", "poisoning"),
        # chemical splash, hot liquid on a child
        ("管道疏通剂溅到眼睛里了", "burn"),
        ("孩子把热汤打翻了，烫到胸口", "burn"),
        # timing matters
        ("我爸打完胰岛素一个小时，现在说胡话叫不醒", "other"),
        ("糖尿病人一直呕吐，呼吸又深又快，有烂苹果味", "other"),
        ("吃着华法林，鼻血止不住", "bleeding"),
        ("孩子吃果冻卡住了，咳不出来脸都紫了", "breathing"),
        ("我这辈子从来没有这么疼过，头像要炸开一样", "other"),
        ("外婆今天早上突然不认人了，说话颠三倒四", "other"),
        ("他咳了一大口鲜血", "bleeding"),
        # a heart attack told across clauses, without the words "chest pain"
        ("左胳膊发麻，出了一身冷汗，胸口像压着东西", "cardiac"),
    ],
)
def test_composed_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        # one part of a grammar alone is not enough
        "今晚几点能去天台看烟花",
        "我觉得自己是家里的负担，看病花了太多钱",
        "这药一盒24片，一天吃几片",
        "一盒药吃完了要复诊吗",
        "药都吃了还是疼",
        "宝宝咳嗽吃了药还不好",
        "孩子不肯吃药怎么办",
        "冬天烧炭取暖要注意什么",
        "84消毒液能和洗衣粉一起用吗",
        "糖尿病人平时血糖高，嘴巴有点干",
        "打胰岛素的地方有点痒",
        "吃饭老是噎着，是不是食管有问题",
        "我一直在吃阿司匹林，刷牙有点出血正常吗",
        "我奶奶有老年痴呆，最近不认人了",
        # figures of speech
        "想你想死了",
        "排队排到窒息",
        "今天累得想死",
        "热死了，空调坏了",
        # a denial is not an emergency
        "我没有自杀的想法，只是最近睡不好",
    ],
)
def test_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


def test_a_figure_of_speech_hides_only_itself() -> None:
    result = assess("胸口疼得要死，出了一身冷汗")
    assert result.escalate and result.category == "cardiac"


def test_a_denial_of_suicidal_thoughts_is_urgent_not_an_emergency() -> None:
    result = assess("我没有自杀的念头，就是心情不好想聊聊")
    assert (result.escalate, result.level, result.category) == (False, "urgent", "self_harm")


@pytest.mark.parametrize(
    "text",
    ["I miss you to death", "this queue is suffocating", "I'm dying to see the new baby"],
)
def test_english_figures_of_speech_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I've been saving up my sleeping pills and tonight I'm going to end it", "self_harm"),
        ("everyone would be better off without me, the rope is in the garage", "self_harm"),
        ("I can't stop cutting, I think I cut too deep", "self_harm"),
        ("she swallowed about thirty of her sertraline tablets", "poisoning"),
        ("he took a whole box of paracetamol an hour ago", "poisoning"),
        ("my 3 year old got into grandpa's heart pills", "poisoning"),
        ("the gas heater was on all night and the whole family has headaches", "poisoning"),
        ("I mixed bleach with toilet cleaner and now I'm coughing and wheezing", "poisoning"),
        ("my toddler bit into a laundry pod", "poisoning"),
        ("we ate wild mushrooms at lunch and now we're all vomiting", "poisoning"),
        ("drain cleaner splashed in my eye", "burn"),
        ("my son pulled the kettle over and scalded his arm", "burn"),
        ("my husband is diabetic on insulin, he's confused and sweating buckets", "other"),
        ("I'm on warfarin and my nosebleed won't stop", "bleeding"),
        ("my daughter is choking on a grape and can't cry", "breathing"),
        ("my grandma suddenly doesn't recognise any of us since this morning", "other"),
        ("she has been vomiting large amounts of bright red blood", "bleeding"),
        ("my left arm is aching, I'm clammy and there's a heavy pressure", "cardiac"),
        # any form of the words of a phrase
        ("he keeps passing out", "unconscious"),
        ("she has taken the whole bottle", "poisoning"),
    ],
)
def test_composed_english_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        "How do I use an EpiPen?",
        "do I need to carry an epipen for a mild peanut allergy",
        "How many paracetamol can I take per day?",
        "the pharmacy gave me a whole box of ibuprofen, is that normal",
        "is it safe to use a gas heater in a small room",
        "can I clean the bathroom with bleach and vinegar",
        "we are going to pick wild mushrooms this weekend, any tips",
        "I feel like a burden to my family since the surgery",
        "my grandma has dementia and gets confused in the evenings",
        "I'm on warfarin, how often do I need blood tests",
        "I watched a movie last night where a man had a heart attack and collapsed",
        "when I was a teenager I thought about suicide, now I'm doing well",
    ],
)
def test_english_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    ["昨天看电视剧，主角心梗倒在地上了", "我小时候想过自杀，现在过得很好"],
)
def test_stories_and_childhood_history_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize("text", ["我经常想自杀", "I often think about killing myself"])
def test_a_habit_of_suicidal_thoughts_is_still_now(text: str) -> None:
    assert assess(text).category == "self_harm" and assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # an English word inside a Chinese sentence, a Chinese one inside an English sentence
        ("我chest好痛，出冷汗", "cardiac"),
        ("宝宝 fever 39度，才出生20天", "infant_fever"),
        ("my grandpa 晕倒了, we can't wake him", "unconscious"),
        # Cantonese
        ("我阿媽瞓喺度唔郁，叫唔返", "unconscious"),
        ("佢食咗成排安眠藥", "poisoning"),
        ("個仔俾熱水燙親，成隻手起晒泡", "burn"),
    ],
)
def test_code_switching_and_cantonese_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text", ["我想问一下 chest X-ray 要预约吗", "can I book a 心内科 appointment for next week"]
)
def test_code_switched_questions_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "everyone would be better off if I was gone",
        "I've been cutting and I can't stop",
        "my passwords are in the drawer, please give my cat to my sister",
        "I wrote goodbye letters, tonight is the night",
        "我把银行卡密码写在纸上了，以后你们用得着",
        "他说要从阳台跳下去",
        "我一直在拿刀划自己",
        "没有我，大家都会轻松",
    ],
)
def test_indirect_suicidal_intent_escalates(text: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, "self_harm")


@pytest.mark.parametrize(
    "text",
    ["我忘了银行卡密码怎么办", "how do I reset my password for the patient portal"],
)
def test_affairs_alone_are_not_farewells(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "我不想自杀，就是压力大",
        "I don't want to die, I just can't sleep",
        "我并不是想死，只是太累了",
    ],
)
def test_a_denial_before_the_phrase_is_urgent(text: str) -> None:
    result = assess(text)
    assert (result.escalate, result.level, result.category) == (False, "urgent", "self_harm")


@pytest.mark.parametrize(
    "text",
    [
        "新生儿多少度算发烧？",
        "what temperature counts as a fever in a newborn?",
        "I carry an epipen because I had anaphylaxis to peanuts years ago",
        "宝宝睡着的时候手脚会抽一下，正常吗",
    ],
)
def test_questions_and_everyday_things_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我爸从梯子上摔下来，头磕到了，现在一直犯困", "trauma"),
        ("my son fell off his bike, hit his head and keeps throwing up", "trauma"),
        ("吃了虾以后嘴唇肿得很厉害，头晕心慌", "allergy"),
        ("胸口闷痛，还一直恶心想吐", "cardiac"),
        ("怀孕35周，头痛得厉害，看东西模糊", "pregnancy"),
        ("she is 30 weeks pregnant and seeing spots with a bad headache", "pregnancy"),
        ("孩子牙关紧闭，身体发硬一直抖", "seizure"),
        ("my baby is 5 weeks old and her temp is 38.4", "infant_fever"),
        ("奶奶倒在卫生间，怎么喊都喊不应", "unconscious"),
        ("我老公被毒蛇咬了", "poisoning"),
    ],
)
def test_everyday_words_for_other_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        "骑电动车摔了一下，膝盖擦破点皮",
        "怀孕20周，偶尔头痛正常吗",
        "my baby is 5 weeks old, what is a normal temperature?",
    ],
)
def test_milder_versions_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "自杀的念头我从来没有过",
        "想死？不会的，放心",
        "suicide? no, I just feel low",
        "想自杀吗？没有。",
    ],
)
def test_a_denial_after_the_phrase_is_urgent(text: str) -> None:
    result = assess(text)
    assert (result.escalate, result.level, result.category) == (False, "urgent", "self_harm")


@pytest.mark.parametrize(
    "text",
    ["我想自杀，没有人理解我", "I want to kill myself, no one cares", "不想活了，没有意思"],
)
def test_a_negation_after_the_phrase_that_is_no_denial_still_escalates(text: str) -> None:
    assert assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("阿爺瞓喺度，叫極都唔醒", "unconscious"),
        ("個仔手腳唔停咁震，反白眼", "seizure"),
        ("BB啱啱出世兩個禮拜，發燒三十八度半", "infant_fever"),
        ("佢心口痛緊，出晒冷汗", "cardiac"),
    ],
)
def test_more_cantonese_escalates(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("阿爸瞓喺地下，叫佢唔應", "unconscious"),
        ("個仔鯁親，面都紫晒", "breathing"),
        ("佢話想跳落去", "self_harm"),
        ("大肚三十六週，穿咗羊水", "pregnancy"),
    ],
)
def test_cantonese_everyday_words_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize("text", ["想死倒不至于，就是很累", "还没到想死的地步", "我不至于想自杀"])
def test_softened_denials_are_not_emergencies(text: str) -> None:
    result = assess(text)
    assert not result.escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my calf is swollen and painful and now I'm short of breath", "breathing"),
        ("sudden severe pain in my testicle", "other"),
        ("I'm on the roof and I'm about to jump off", "self_harm"),
    ],
)
def test_clots_torsion_and_jumping_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


def test_a_clot_told_in_chinese_escalates() -> None:
    # chest pain with breathlessness is also a cardiac emergency: either template is right
    result = assess("小腿肿痛了几天，今天突然胸口痛喘不上气")
    assert result.escalate and result.category in ("breathing", "cardiac")
    assert "zh.breathing.clot" in result.matched


@pytest.mark.parametrize(
    "text", ["商场大出血，全场五折", "气得我吐血", "加班加到不想活了", "作业多得头都要炸了"]
)
def test_more_figures_of_speech_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


def test_a_real_symptom_beside_a_figure_still_escalates() -> None:
    assert assess("我胸口疼得要死，刚才还吐血了").escalate


@pytest.mark.parametrize(
    "text",
    ["听说邻居大爷昨天心梗倒在地上了", "I read about a man who collapsed and stopped breathing"],
)
def test_something_heard_or_read_is_not_lived(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # a space where writing would put a comma ends a clause: the habit word in the
        # next clause no longer makes the finding old
        ("怀孕39周 今天一直没有胎动 平时动得很多", "pregnancy"),
        # present perfect and the progressive speak of now
        ("dad's had a squeezing pain in his chest for about 30 minutes, he's clammy", "cardiac"),
        ("my son is making a high pitched noise every time he breathes in", "breathing"),
        # pain and chest in either order, and the shoulder
        ("an ache in the middle of my chest that is spreading to my shoulder", "cardiac"),
        # a message half in each language, read in both
        ("我爸 one side of his body 没力, he can't hold the cup, 说话也不清楚", "stroke"),
        # the medicine all swallowed, with intent
        ("真的撑不住了 家里的药我全吞了", "self_harm"),
        ("安眠药要吃几片才会死", "self_harm"),
        ("im standing on my balcony on the 19th floor, just wanted someone to know", "self_harm"),
        ("bye. thank you for everything. tell my sister it was not her fault", "self_harm"),
        # composed scenes
        ("外公看东西重影 走路往一边倒", "stroke"),
        ("seeing double since lunch and I keep veering into the wall", "stroke"),
        ("两岁的孩子吃了几颗降压药 现在一直想睡", "poisoning"),
        ("she finished chemo ten days ago and now has a temperature of 38.6", "other"),
        ("little purple spots on his legs that don't fade when I press a glass on them", "other"),
        ("my blood sugar is 2.3 and I'm shaking and can't think straight", "other"),
        ("我爸肚子硬得跟木板一样 碰都不让碰", "other"),
        # Cantonese words
        ("阿爷睇嘢重影 行路拧拧下", "stroke"),
        ("个仔俾黄蜂叮咗 块面肿晒 仲有啲喘", "allergy"),
    ],
)
def test_grammar_round_three_escalates(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        # a negation reads across a space
        "我没有 胸痛 就是想开点胃药",
        # soft farewells never pair with a time alone
        "ok bye, see you tomorrow at the clinic. thanks for everything!",
        "谢谢你们之前的照顾 明天我来复诊",
        # figures of speech
        "这个会开到想死",
        "this queue is going to make me want to die lol, what time do you close?",
        "i laughed so hard i couldn't breathe, anyway when is the clinic open?",
        "blocked nose, can't breathe through it at night",
        # teaching and talking about suicide, not wishing it
        "how do I talk to my son about suicide after his friend died? he is doing okay",
        "I'm writing an essay on suicide prevention for my nursing course",
        # a numb face after the dentist
        "half my face is numb after the dentist's injection and my speech is a bit slurred",
        # a small burn on a finger, fewer movements hedged at 30 weeks
        "烫到手指 起了个小泡",
        "怀孕30周 胎动好像少了一点 但还是有动",
        # a finished bleed
        "fell off my bike and grazed my knee, the bleeding stopped",
    ],
)
def test_grammar_round_three_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # a means made ready, medicine kept back for a night, a room sealed around charcoal
        ("绳子我已经系好了", "self_harm"),
        ("药已经攒了一个月 今晚全部吃掉", "self_harm"),
        ("房间里放了炭盆，门缝都用胶带贴上了", "self_harm"),
        ("I've got the pills lined up and I'm alone tonight", "self_harm"),
        ("he has been saving up his tablets and says tonight is the night", "self_harm"),
        ("ctb tonight", "self_harm"),
        # a farewell, then nobody can reach them (a post on Moments is lived, not read)
        ("我弟在朋友圈发了一句再见了，现在电话打不通", "self_harm"),
        ("she texted me goodbye and now her phone is off", "self_harm"),
        # self-harm that does not stop, in Cantonese
        ("我喺廁所割緊手，停唔到", "self_harm"),
        # Cantonese aspect on symptoms
        ("阿爸扯緊氣，嘴唇紫晒", "breathing"),
        # a head knocked, told verb first
        ("奶奶摔了一跤撞到了头，吐了两次", "trauma"),
    ],
)
def test_grammar_round_four_escalates(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        # a denial jieba reads as one word ("没有想")
        "我没有想伤害自己，只是最近睡不好",
        # over and done with, or residual after a stroke that is over
        "I had a stroke in 2020 and am doing well now, how do I book a check-up?",
        "我爸前年中风过，现在说话还有点不清楚，能慢慢恢复吗",
        # figures of speech, said laughing or about traffic
        "加班加得快吐血了，体检几点开始",
        "塞車塞到透唔到氣，遲啲到得唔得",
        "功課多到想跳樓 haha 講笑咋",
        "牙痛到想死，今天能约吗",
        # a detector, a licked tablet spat out, a clinic's hours
        "Do you have a leaflet on carbon monoxide detectors?",
        "my toddler licked a dishwasher tablet but spat it out, she's fine and playing",
        "星期天门诊开不开门？",
        # "before tomorrow morning" is not history, and a fall with a graze is no emergency
        "我昨天摔了一跤，膝盖擦破皮了",
    ],
)
def test_grammar_round_four_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # the heart attack of the stomach: epigastric discomfort, sweat, breath
        ("我爸说胃那里堵得难受，出了一身冷汗，还有点喘", "cardiac"),
        ("他胸口像被大象踩住一样，喘到讲不出话", "cardiac"),
        # bleeding pressed for long and still coming; blood coughed by the cup
        ("我吃着华法林，手指割破了按了二十分钟还在往外冒血", "bleeding"),
        ("我爸咳血，刚才咳了小半碗", "bleeding"),
        # heatstroke, a blocked bowel, a dried-out child, a first fit told by its minutes
        ("我老公在工地干活中暑了，现在不出汗还说胡话", "other"),
        ("奶奶肚子胀，两天不放屁，一直吐", "other"),
        ("孩子拉了一天水，现在哭没有眼泪，一上午都没尿", "other"),
        ("他全身一抽一抽的，叫他也不理人", "seizure"),
        # a baby's age written in English in a Chinese sentence
        ("个baby先一个月大，摸着好热", "infant_fever"),
        # English: a drowsy child after a fall from a bike; CPR under way
        ("my son came off his scooter and hit his head, now he's drowsy and being sick", "trauma"),
        ("my dad collapsed at the gym and they're doing CPR", "cardiac"),
        ("my neighbour is on the floor and won't open her eyes", "unconscious"),
    ],
)
def test_grammar_round_five_escalates(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        "胃有点不舒服，想问下胃镜要不要空腹",
        "跑步出了一身汗，有点喘，正常吗",
        "我想学CPR，你们医院有急救培训课吗？",
        "孩子拉肚子两天了，精神还好，尿也正常",
    ],
)
def test_grammar_round_five_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # watching TV while it happens is lived; what the TV says is not
        ("奶奶看电视看着看着突然说看东西重影，走路往一边倒", "stroke"),
        # "for so many years" is how long, not how long ago
        ("拖累家里这么多年了，药已经准备好了", "self_harm"),
    ],
)
def test_scopes_of_time_and_of_what_was_seen(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


def test_what_the_tv_says_is_not_lived() -> None:
    assert not assess("看电视说中风要看脸歪不歪，是真的吗").escalate


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我爸血压只有85/50，人迷迷糊糊的，手脚冰凉", "other"),
        ("吃了两只虾以后嗓子像塞住了，咽不下去", "allergy"),
        ("已经给他打了肾上腺素笔，还是在喘", "allergy"),
        ("宝宝五周大，摸着凉凉的，体温35.4，哭声很弱", "infant_fever"),
        ("他疝气的鼓包推不回去了，又硬又疼", "other"),
        ("she used her epipen but her lips are still swelling", "allergy"),
        (
            "my son hasn't passed urine since morning, eyes sunken after vomiting all night",
            "other",
        ),
        ("my mum suddenly can't see out of her left eye, like a curtain came down", "stroke"),
        ("我妈刚才说看电视看着看着右边胳膊抬不起来了", "stroke"),
    ],
)
def test_grammar_round_six_escalates(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text",
    [
        "怎么使用肾上腺素笔？孩子刚确诊花生过敏",
        "我对花生严重过敏，坐飞机可以带肾上腺素笔吗",
        "我有糖尿病，明天要空腹抽血，早上胰岛素还打吗",
        "这个病房太闷了，人都要窒息了，能开窗吗",
        "孩子误食了一粒维生素软糖，问过药剂师说没事",
        "I always joke that I'll jump off the balcony when the kids fight, it's just a saying lol",
    ],
)
def test_grammar_round_six_look_alikes_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "what are the early signs of 心梗? it's for a school project",
        "I tried to kill myself 十年前, doing well now, want to ask about 疤痕 removal",
        "上高中的时候割过腕，现在很好，想问问疤痕能不能淡化",
        "食物中毒有咩徵狀？下星期去旅行想預備下",
        "in this game my guy keeps getting knocked out, so annoying",
        "my boss will have a fit when he sees my sick note",
    ],
)
def test_cues_in_either_language_and_more_scopes(text: str) -> None:
    """A message in both scripts takes its context cues from either language; a game is
    fiction; life stages date a finding; "have a fit" is an idiom."""
    assert not assess(text).escalate


def test_english_cues_do_not_date_a_chinese_finding() -> None:
    result = assess("we just had a 车祸 on the ring road, my son is 头部出血 and very drowsy")
    assert result.escalate


@pytest.mark.parametrize(
    "text",
    [
        "驾照又没考过，想死的心都有了，下个月再考",
        "这鬼天气闷得让人想死，空调还坏了",
        "this group project is killing me, i want to die lmao",
        "kms the printer jammed again lol",
    ],
)
def test_idioms_and_jokes_of_wanting_to_die(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "想死的心都有了，药我已经攒够了，今晚就吃",
        "i want to die, i wrote my goodbye letter lol no one cares",
    ],
)
def test_an_idiom_does_not_hide_a_plan(text: str) -> None:
    assert assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "做了个梦，梦见自己被车撞了，醒来一身冷汗，是不是压力太大",
        "I dreamt I was drowning and woke up gasping, what does that mean?",
        "我外公九十年代脑出血过一次，现在想问问他的降压药要不要换",
        "请问新生儿发烧多少度要去医院？我的预产期在下个月底",
        "不想活了，老板又让我改方案改到半夜，开玩笑的，就是累",
        "最近事情多到我喘不过气，想约个心理门诊",
    ],
)
def test_dreams_decades_due_dates_jokes_and_workload(text: str) -> None:
    """A dream is not lived; a decade dates a finding; a due date is no baby yet; "开玩笑的"
    further on takes back wanting to die; too much to do is no breathing trouble."""
    assert not assess(text).escalate


def test_a_chest_pressed_too_hard_to_breathe_is_still_breathing_trouble() -> None:
    assert assess("胸口像被石头压住，憋得我喘不过气，嘴唇都紫了").escalate
