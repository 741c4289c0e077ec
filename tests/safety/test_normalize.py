"""Normalisation before matching: every traditional character (OpenCC), Cantonese and
colloquial forms as Mandarin, offsets kept."""

from __future__ import annotations

import pytest

from safety import _text
from safety.emergency import assess


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("癲癇發作", "癫痫发作"),  # characters the old hand table did not know
        ("腦溢血", "脑溢血"),
        ("過敏性休剋", "过敏性休克"),
        ("喉嚨腫", "喉咙肿"),
    ],
)
def test_every_traditional_character_is_simplified(written: str, read: str) -> None:
    norm = _text.normalize(written)
    assert norm.text == read
    assert norm.original_span(0, len(norm.text)) == (0, len(written))


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("我老豆郁唔到", "我爸爸动不了"),
        ("佢而家叫極都唔應", "他现在叫不醒"),
        ("細路俾滾水淥親", "小孩被开水烫伤"),
        ("佢發羊吊", "他癫痫发作"),
        ("我哋喺醫院門口", "我们在医院门口"),
    ],
)
def test_cantonese_reads_as_mandarin(written: str, read: str) -> None:
    assert _text.normalize(written).text == read


def test_rewrites_map_back_to_the_original_characters() -> None:
    written = "阿嫲跌低咗"
    norm = _text.normalize(written)
    assert norm.text == "奶奶摔倒了"
    start = norm.text.index("摔倒")
    assert written[slice(*norm.original_span(start, start + 2))] == "跌低"


def test_mandarin_words_that_share_a_cantonese_character_are_left_alone() -> None:
    # 食 (食道, 食物), 紧 (胸口发紧), 晒 (晒伤) and 抽筋 (a cramp) stay as written.
    for text in ("食道有灼烧感", "胸口发紧", "晒伤了", "小腿抽筋"):
        assert _text.normalize(text).text == text


def test_cantonese_emergencies_are_recognised() -> None:
    assert assess("我老豆突然郁唔到，講唔到嘢").category == "stroke"
    assert assess("阿嫲瞓低咗叫極都唔應").category == "unconscious"
    assert assess("個仔食咗成樽藥").category == "poisoning"


@pytest.mark.parametrize(
    "text",
    [
        "我胸口好痛，出了一身冷汗",
        "心口特别特别闷，出冷汗",
        "我爸胸口超级痛，左边胳膊也麻",
        "我胸口剧痛",  # 剧 is a degree word too: severe chest pain is a red flag
    ],
)
def test_degree_words_between_body_part_and_sensation(text: str) -> None:
    assert assess(text).category == "cardiac"


def test_degree_words_keep_negation_and_history() -> None:
    assert not assess("我胸口没有很痛，也没出汗").escalate
    assert not assess("三年前胸口特别痛，出过冷汗，现在好了").escalate


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("i cant breathe", "i can't breathe"),
        ("im scared, kms", "i'm scared, kill myself"),
        ("thinking of unaliving myself", "thinking of killing myself"),
        ("he od'd on pills", "he overdosed on pills"),
    ],
)
def test_informal_english_reads_as_the_lexicon_writes(written: str, read: str) -> None:
    assert _text.normalize(written).text == read


def test_english_rewrites_take_whole_words_only() -> None:
    for text in ("the cantonese menu", "a dontless word", "imaging results", "kmsx"):
        assert _text.normalize(text).text == text


def test_informal_english_emergencies_are_recognised() -> None:
    assert assess("honestly i wanna kms tonight").category == "self_harm"
    assert assess("i cant breath, my lips are turning blue").category == "breathing"
    assert not assess("im fine, just asking about my appointment").escalate
