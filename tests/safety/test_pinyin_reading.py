"""Messages typed in pinyin: told from English, read back in characters, judged by the Chinese
lexicon. Sentences written for these tests."""

from __future__ import annotations

import pytest

from safety.emergency import assess, pinyin_reader
from safety.language import detect
from safety.pinyin import looks_like_pinyin, split_syllables


@pytest.mark.parametrize(
    "text",
    [
        "wo xiong kou hao tong chuan bu shang qi",
        "woxiongkouhaotong",
        "xiōng kǒu tòng",
        "xiong1 kou3 tong4",
        "Wo Ba Ba Tu Ran Yun Dao Le, jiao bu xing!",
        "bao bao fa shao 39 du",
    ],
)
def test_pinyin_is_recognised(text: str) -> None:
    assert looks_like_pinyin(text)


@pytest.mark.parametrize(
    "text",
    [
        "my chest hurts",
        "I can't breathe",
        "he ran to the bank",
        "long time no see",
        "hang on",
        "hao",
        "胸口痛",
        "",
        "https://example.com",
    ],
)
def test_english_chinese_and_scraps_are_not_pinyin(text: str) -> None:
    assert not looks_like_pinyin(text)


def test_syllables_split_fewest_first_and_at_apostrophes() -> None:
    assert split_syllables("xian") == ["xian"]
    assert split_syllables("xi'an") == ["xi", "an"]
    assert split_syllables("xiongkou") == ["xiong", "kou"]
    assert split_syllables("chest") is None


@pytest.mark.parametrize(
    ("pinyin", "hanzi"),
    [
        ("hu xi kun nan", "呼吸困难"),
        ("wo bu xiang huo le", "我不想活了"),
        ("jiao tong", "交通"),  # a common word beats a lexicon word of the same sound
        ("wo xiong kou hao tong", "我胸口好痛"),
    ],
)
def test_pinyin_is_read_back_in_characters(pinyin: str, hanzi: str) -> None:
    assert pinyin_reader().to_hanzi(pinyin) == hanzi


def test_punctuation_and_digits_survive() -> None:
    read = pinyin_reader().to_hanzi("ta yun dao le, fa shao 39 du!")
    assert "，" in read and "39" in read and read.endswith("！")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("wo xiong kou hao tong, chu le yi shen leng han", "cardiac"),
        ("wo ma ma zui wai le, shuo hua bu qing chu", "stroke"),
        ("wo bu xiang huo le", "self_harm"),
    ],
)
def test_pinyin_emergencies_escalate(text: str, category: str) -> None:
    result = assess(text)
    assert (result.escalate, result.category) == (True, category)


@pytest.mark.parametrize(
    "text", ["qing wen ming tian men zhen ji dian kai men", "jiao tong shi gu hou yao dai shen me"]
)
def test_pinyin_questions_do_not_escalate(text: str) -> None:
    assert not assess(text).escalate


@pytest.mark.parametrize(
    ("slip", "meant"),
    [("呼吸困南", "呼吸困难"), ("心机梗塞", "心肌梗塞"), ("我云倒了", "我晕倒了")],
)
def test_a_sound_alike_slip_of_a_lexicon_word_is_put_right(slip: str, meant: str) -> None:
    assert pinyin_reader().respell(slip) == meant


@pytest.mark.parametrize(
    "text",
    [
        "交通很堵",  # a real word is never respelled
        "他抽出一张纸",
        "我胸口很通",  # a word of one character is never changed
        "需要留意什么",  # a span that would cut 留意 in two
        "高血压的药要一直吃吗",  # 的 is too common to be a slip
    ],
)
def test_real_words_and_common_characters_are_left_alone(text: str) -> None:
    assert pinyin_reader().respell(text) == text


def test_a_slip_in_an_emergency_escalates() -> None:
    pinyin_reader()  # as the server has it soon after start-up
    result = assess("我爸突然口齿不青")
    assert (result.escalate, result.category) == (True, "stroke")


def test_a_pinyin_message_is_answered_in_chinese() -> None:
    assert detect("wo xiong kou hao tong, chu le yi shen leng han") == "zh"
    assert assess("wo xiong kou hao tong, chu le yi shen leng han").lang == "zh"
    assert detect("my chest hurts and I am sweating") == "en"
