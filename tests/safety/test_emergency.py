"""Emergency assessment: real lexicons, real jieba; sentences written for these tests."""

from __future__ import annotations

import pytest

from safety import emergency
from safety.emergency import Assessment
from safety.emergency.lexicon import _lexicon
from safety.language import detect


def assess(text: str, lang: str | None = None, **options: bool) -> Assessment:
    """The lexicon's verdict alone: these tests pin its grammar. The learned reading, which
    can only add an escalation, has its own tests (test_emergency_model.py)."""
    return emergency.assess(text, lang, learned=False, **options)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我老公胸口痛了四十分钟，出了一身冷汗", "cardiac"),
        ("爷爷胸口像压着石头一样，左胳膊也疼", "cardiac"),
        ("我妈突然嘴歪了，说话不清楚", "stroke"),
        ("他刚才突然一侧肢体无力，站都站不住", "stroke"),
        ("孩子喘不上气，嘴唇发紫", "breathing"),
        ("呼吸不畅，憋得难受", "breathing"),
        ("我爸吐血了，吐了一大口", "bleeding"),
        ("吃了花生以后喉咙发紧，脸也肿了", "allergy"),
        ("我不想活了", "self_harm"),
        ("活着没意思，我想自杀", "self_harm"),
        ("我妈喝了农药", "poisoning"),
        ("三岁的女儿误吃了好几片降糖药", "poisoning"),
        ("孩子全身抽搐，叫他没反应", "seizure"),
        ("我爸晕倒在地上，叫不醒", "unconscious"),
        ("怀孕32周，下面流了很多血", "pregnancy"),
        ("宝宝才出生十五天，发烧38.3度", "infant_fever"),
        ("我弟从三楼摔下来了", "trauma"),
        ("开水烫伤了一大片，整个手臂都起泡了", "burn"),
    ],
)
def test_chinese_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert result.escalate
    assert result.level == "emergency"
    assert result.category == category
    assert result.lang == "zh"
    assert result.matched


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("My husband has crushing chest pain and he is sweating", "cardiac"),
        ("Her face is drooping on one side and her speech is slurred", "stroke"),
        ("My son can't breathe", "breathing"),
        ("I want to kill myself", "self_harm"),
        ("I don't want to be alive anymore", "self_harm"),
        ("I don't want to live anymore", "self_harm"),
        ("My dad took the whole bottle of sleeping pills", "poisoning"),
        ("My wife is having a seizure right now", "seizure"),
        ("He collapsed and is unresponsive", "unconscious"),
        ("My 3-week-old baby has a fever of 38.4 C", "infant_fever"),
        ("I'm 20 weeks pregnant and bleeding heavily", "pregnancy"),
        ("After eating shrimp my throat is swelling up", "allergy"),
        ("The chest pain is not going away and I feel sick", "cardiac"),
    ],
)
def test_english_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert result.escalate, result
    assert result.category == category
    assert result.lang == "en"


@pytest.mark.parametrize(
    "text",
    [
        "我没有胸痛，也没有呼吸困难，就是想开点胃药",
        "患者否认胸痛，否认呼吸困难",
        "无胸闷气短，只是有点咳嗽",
        "三年前心梗放了支架，想问下复查挂哪个科",
        "我爸十年前中风过，想问康复训练的事",
        "心梗有什么前兆？",
        "中风的早期症状有哪些",
        "如果出现胸痛应该怎么办",
        "眼皮抽搐好几天了",
        "过敏性鼻炎又犯了，能吃氯雷他定吗",
        "降压药吃完了，可以网上续方吗",
        "I have no chest pain and no shortness of breath",
        "She denies shortness of breath",
        "I had a heart attack in 2019, can I fly?",
        "What are the signs of a stroke?",
        "How do you know if someone is having a heart attack?",
        "Can I take ibuprofen for a headache?",
    ],
)
def test_negated_history_and_questions_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


def test_pseudo_negations_escalate() -> None:
    assert assess("吃了药胸痛还是没有缓解，出冷汗").escalate
    assert assess("胸口痛，医生说不排除心梗，现在还在痛").escalate
    assert assess("喘不上气").escalate
    assert assess("The pain in my chest is not going away and I'm sweating").escalate
    assert assess("I can't breathe").escalate


def test_self_harm_is_never_suppressed_by_negation_words() -> None:
    for text in ("我真的不想活了", "没有人在乎我，我不想活了", "I don't want to be alive"):
        result = assess(text)
        assert result.escalate and result.category == "self_harm", text


def test_resolved_finding_does_not_escalate_but_ongoing_does() -> None:
    assert not assess("昨天胸痛，现在已经好了").escalate
    assert assess("胸痛到现在都没有好，满头大汗").escalate


def test_urgent_level_does_not_escalate() -> None:
    result = assess("发烧三天了，一直39度多")
    assert result.level == "urgent"
    assert not result.escalate
    assert result.category == "other"


def test_plain_question_is_none() -> None:
    result = assess("请问周六门诊开不开？")
    assert result == Assessment(False, "none", None, "zh", ())


def test_normalisation_full_width_traditional_and_cantonese() -> None:
    assert assess("我爸心口痛，出咗好多汗").escalate  # colloquial 心口痛 + Cantonese 咗
    assert assess("唞唔到氣").category == "breathing"  # Cantonese, traditional
    assert assess("突然說話不清，嘴歪了").category == "stroke"  # traditional
    assert assess("ＣＡＮ'Ｔ ＢＲＥＡＴＨＥ").escalate  # full-width English
    assert assess("I can’t breathe 😰").escalate  # curly apostrophe and emoji


def test_matched_holds_rule_ids_not_patient_text() -> None:
    text = "我妈喝了农药"
    result = assess(text)
    assert result.matched
    assert all(m.startswith("zh.") for m in result.matched)
    assert all(text not in m for m in result.matched)


def test_lang_parameter_wins_over_detection() -> None:
    assert assess("胸痛", lang="en").lang == "en"
    assert assess("hello").lang == "en"


def test_language_detection() -> None:
    assert detect("我头疼，需要做CT吗") == "zh"
    assert detect("I have a headache") == "en"
    assert detect("") == "en"
    assert detect("１２３") == "en"


def test_empty_and_odd_input() -> None:
    assert assess("").level == "none"
    assert assess("   \n").level == "none"
    assert assess("😀😀😀").level == "none"


def test_warm_up_is_idempotent() -> None:
    emergency.warm_up()
    emergency.warm_up()
    assert assess("胸痛，大汗").escalate


def test_department_names_and_chronic_narratives_do_not_escalate() -> None:
    assert assess("胸痛中心在几楼？").level == "none"
    assert assess("Where is the chest pain clinic?").level == "none"
    assert not assess("我儿子有癫痫，以前经常抽搐，现在吃药控制得好，想问能不能停药").escalate


def test_habitual_history_never_hides_self_harm() -> None:
    assert assess("我经常想自杀").category == "self_harm"
    assert not assess("心情不好，但是没有自杀的想法").escalate


def test_new_clinical_patterns_escalate() -> None:
    assert assess("突然左边手脚没劲，拿不住筷子").category == "stroke"
    assert assess("拉黑便两天，今天站起来就头晕眼前发黑").category == "bleeding"
    assert assess("心跳180多，感觉要晕倒").category == "cardiac"


# --- families added in the second round (own sentences, one per family) -------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # 中风120: one side of the face does not move, one raised arm drifts down
        ("奶奶笑起来右边脸不动，叫她举双手，有一只举不住往下掉", "stroke"),
        ("他刚才突然右半边身子没劲，走路往一边偏", "stroke"),
        # seizure: repeated without waking (NHS 999 list), prolonged, febrile fit
        ("儿子今天接连发作两次，中间一直没醒", "seizure"),
        ("老婆抽搐快十分钟了还没停", "seizure"),
        # self-harm: stockpile and a plan, cutting
        ("安眠药攒够了，准备今晚一次吃掉，跟你们永别了", "self_harm"),
        ("刚才拿刀片割了胳膊，止不住", "self_harm"),
        # reduced fetal movement
        ("怀孕34周，从早上到现在都没感觉到胎动", "pregnancy"),
        # infant fever: age written as "孩子40天", bare 38.x reading
        ("宝宝40天，额头摸着很烫，量了38.2", "infant_fever"),
        # uncontrolled bleeding, melaena with shock signs
        ("手被玻璃划了，压了十几分钟血还是止不住", "bleeding"),
        ("大便黑得像柏油，现在一站起来就发晕", "bleeding"),
        # anaphylaxis: sting/food + airway; swelling + wheeze
        ("被蜜蜂蜇了，嘴唇肿起来，胸口发紧", "allergy"),
        ("吃了腰果以后眼睛和嘴都肿了，咳嗽气喘", "allergy"),
        # tachycardia with near-syncope, number in its own clause
        ("心慌得不行，手表显示每分钟170多下，站不稳", "cardiac"),
        # unconscious now
        ("我爸刚刚晕倒了，现在叫他没反应", "unconscious"),
    ],
)
def test_second_round_chinese_families(text: str, category: str) -> None:
    result = assess(text)
    assert result.escalate, result
    assert result.category == category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I swallowed around 40 paracetamol tablets this morning", "poisoning"),
        ("32 weeks pregnant and I have not felt the baby kick all day", "pregnancy"),
        ("Started penicillin today and now my throat feels tight and I'm wheezing", "allergy"),
        ("Hot oil splashed over my hand and the skin looks white and leathery", "burn"),
        ("His face is drooping and his arm is weak", "stroke"),
    ],
)
def test_second_round_english_families(text: str, category: str) -> None:
    result = assess(text)
    assert result.escalate, result
    assert result.category == category


@pytest.mark.parametrize(
    "text",
    [
        # already seen to: the event led to a hospital visit and a diagnosis
        "上周同事突然倒地抽搐，送到医院后医生说是癫痫，平时饮食要注意什么",
        # a faint told afterwards by the person who fainted
        "我前几天在地铁里晕倒了一次，需要查什么",
        # a known epileptic's usual fit, asked about management
        "我妹妹是癫痫病人，每次发作时口吐白沫，吃什么药控制好",
        # a diagnosis word, not an event
        "脑出血后遗症怎么康复锻炼",
        # fear of a future event, and a consequence question
        "我爸有高血压，特别怕他哪天突然晕倒",
        "哮喘发作会不会窒息吗",
        # globus sensation, not choking
        "感觉喉咙里好像有东西卡在喉咙，吞不下去也吐不出来",
        # "I don't want to die" is the opposite of ideation
        "我不想死，这个病还能治吗",
        # needle-stick: urgent care, not an ambulance
        "护士被用过的针头刺伤了手指，要打什么针",
        # quoted clinical negations
        "The letter says 'denies chest pain, denies palpitations'. What does that mean?",
        "What exactly is sleep paralysis?",
    ],
)
def test_second_round_hard_negatives(text: str) -> None:
    assert not assess(text).escalate, assess(text)


def test_time_cues_scope_forward() -> None:
    # a history cue after today's finding does not make it old
    assert assess("今天胸口痛，出了一身冷汗，之前有高血压").escalate
    # a history cue before, then "today", keeps today's finding live
    assert assess("三年前放过支架，今天胸口又开始闷痛，二十分钟了").escalate
    # a faint that resolved is urgent, not an ambulance
    faint = assess("我妈昨天突然晕倒了一下，很快就醒了")
    assert faint.level == "urgent" and not faint.escalate


def test_known_epilepsy_fit_is_urgent_but_prolonged_is_emergency() -> None:
    usual = assess("我儿子有癫痫，今天又抽搐了一次，已经好了")
    assert not usual.escalate
    assert assess("我儿子有癫痫，今天抽了快十分钟还不停").escalate


def test_unless_message_option_is_data() -> None:
    """The known-epilepsy veto is a lexicon option, so a hospital can extend it."""
    lex = _lexicon()
    rule = next(r for r in lex.rules if r.id == "zh.seizure")
    assert rule.unless_message


@pytest.mark.parametrize(
    "text",
    [
        # a time of life gone by dates what follows it
        "我十几岁的时候割过腕，现在疤还在，想问能不能祛疤",
        "大学时有段时间会划手臂，已经好几年没有了",
        "When my son was 2 he swallowed a battery and had surgery, he's 8 now. Tell the school?",
        "At the age of 15 I took an overdose; I'm 40 now and want my records",
        # a video watched, a joke, a question about an amount, a burn that has cooled
        "看了个视频有人玩游戏玩到抽搐，我家孩子也天天打游戏",
        "i wanna die 😂 my mum saw my search history",
        "这破电脑又死机了，想死了😂",
        "I took 2 tablets of ibuprofen 200mg, is that too many?",
        "做饭被油溅了一下，手背红了一小块，冲了凉水现在不疼了",
        "Been seizure free for 14 months. When can I drive again?",
    ],
)
def test_past_seen_joking_and_settled_are_no_emergency(text: str) -> None:
    assert not emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "she had a seizure and won't wake up",
        "he had a fall and isn't breathing properly",
        "I took way too many sleeping pills",
        "我想死😭",
        "孩子被开水烫了，皮肤发白，一点都不疼",
        "my son is 3 and swallowed a battery an hour ago",
        "我十几岁就有抑郁症，现在又想自杀了，药都准备好了",
    ],
)
def test_the_same_words_in_the_present_still_escalate(text: str) -> None:
    assert emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "昨晚聚会笑得喘不过气，今天想约个体检",
        "笑到 can't breathe 🤣 anyway 我想改 appointment",
        "I laughed so hard at the best man's speech that I honestly couldn't breathe for a bit",
        "我老公打呼噜的时候好像会停止呼吸，白天老犯困，要做睡眠监测吗",
        "My husband snores and sometimes seems to stop breathing for a few seconds. Sleep clinic?",
        "急救培训的时候老师说抽搐时不要往嘴里塞东西，对吗",
        "In our first aid course they said to roll someone after a seizure. Is that still right?",
        "I burnt the toast and the smoke alarm went off, my heart nearly stopped",
        "嬲到吐血，網上預約又死機，點約呀",
        "The news said storms bring carbon monoxide risks from generators. What symptoms "
        "should we look out for?",
    ],
)
def test_laughter_snoring_lessons_and_frights_are_no_emergency(text: str) -> None:
    assert not emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "我爸打完呼噜突然不呼吸了，叫不醒",
        "she burnt her arm on the oven, the skin is white and it doesn't hurt",
        "my son is not breathing properly after a seizure",
        "我笑着笑着突然胸口剧痛喘不过气",
        "What signs should I look out for after a head injury? My son fell and now he is "
        "vomiting and drowsy",
    ],
)
def test_an_emergency_beside_those_words_still_escalates(text: str) -> None:
    assert emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "My dad had a fall and can't get up, he hit his head",
        "he had a fit and his lips went blue",
        "she had a seizure that lasted 10 minutes",
        "my wife had a bad fall down the stairs and isn't moving",
        "baby had a fever of 39 and he is only 5 weeks old",
        "I had a few drinks and took 30 sleeping pills",
    ],
)
def test_had_a_tells_the_tense_not_the_time(text: str) -> None:
    """'had a' is how English tells what happened minutes ago as much as years ago: it
    dates nothing by itself."""
    assert emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "I had a heart attack in 2019, can I fly?",
        "I had a heart attack 5 years ago and want a check-up",
        "I had a seizure 3 weeks ago and was seen in A&E, who do I chase for the clinic?",
        "My older son had a febrile seizure at 18 months, he's 4 now and fine",
        "My aunt had a heart attack last week and is stable in hospital there",
        "Watched a medical drama where a patient had a seizure for ages, is that realistic?",
    ],
)
def test_a_time_named_still_dates_it(text: str) -> None:
    assert not emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "一家人都头痛恶心，煤气炉开了一整晚",
        "屋里烧着炭取暖，我们几个都头晕想吐",
        "sorry to bother you but I don't think I can keep myself safe tonight",
        "胸口疼得厉害，一直不见好",
        "胸口痛得要命",
        "my chest is killing me",
        "my chest hurts so bad",
        "我觉得自己对不起所有人，药已经存够了",
    ],
)
def test_appliances_unsafe_nights_and_pain_said_after_the_verb_escalate(text: str) -> None:
    assert emergency.assess(text).escalate


@pytest.mark.parametrize(
    "text",
    [
        "炭烤肉好吃吗，吃多了会不会头晕",
        "the queue is killing me",
        "I can keep myself safe, I promise",
    ],
)
def test_their_neighbours_do_not(text: str) -> None:
    assert not emergency.assess(text).escalate


def test_a_pinyin_reading_is_the_same_in_every_process() -> None:
    # Two words with one reading and one cost: the reader kept whichever a set gave first,
    # which changes with the process's hash seed.
    import os
    import subprocess
    import sys

    code = (
        "from safety.emergency.readings import _other_readings;"
        "print(list(_other_readings('baobao fashao choujin, chou wan jiao bu xing')))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (0, 3, 5)
    }
    assert len(outs) == 1, outs


def test_a_young_babys_danger_signs_without_fever_are_an_emergency() -> None:
    a = assess("my 3 week old is floppy and hard to wake", "en")
    assert a.level == "emergency" and "en.infant_fever.unwell" in a.matched
    assert assess("my teenager is hard to wake in the mornings", "en").level == "none"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I have crushing chest pain and I'm sweating", "en"),
        ("sudden weakness in one arm and slurred speech for a few minutes", "en"),
        ("no chest pain, just a mild cough", "en"),
        ("What are the signs of a stroke?", "en"),
        ("孩子误喝了洁厕灵", "zh"),
        ("我没有胸痛，就是有点咳嗽", "zh"),
        ("多喝水，注意休息", "zh"),
        ("如果我突然说话不清楚该怎么办", "zh"),
    ],
)
def test_finds_answers_as_assess_does_for_text_read_as_written(text: str, lang: str) -> None:
    # the guard's yes/no question: the first rule that fires settles it
    expected = assess(text, lang, as_written=True).level != "none"
    assert emergency.finds(text, lang) is expected


@pytest.mark.parametrize(
    "text",
    ["怀孕34周，胎动比平时少很多", "停经6周，一侧下腹剧痛，有点头晕"],
)
def test_reduced_fetal_movement_and_pain_after_a_missed_period_are_pregnancy_emergencies(
    text: str,
) -> None:
    a = assess(text, "zh", as_written=True)
    assert a.level == "emergency" and a.category == "pregnancy", a
