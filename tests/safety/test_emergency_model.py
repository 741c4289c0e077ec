"""The emergency check's learned reading (safety/emergency_model.py): what it adds to the
lexicon, what it may never do, and how its weights file is read. Sentences written for these
tests; the small weights files are written here, by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from safety import _text, emergency_model
from safety.emergency import assess
from safety.emergency.analysis import DOUBTED


@pytest.fixture
def weights(tmp_path: Path) -> Iterator[Path]:
    """A hand-written weights file to load; the shipped weights are back afterwards."""
    yield tmp_path / "weights.tsv"
    emergency_model.load()


def write(path: Path, bias: float, features: dict[str, str]) -> None:
    lines = [
        "# written by a test",
        "categories\tcardiac\tpoisoning",
        f"bias\t{bias}\t0\t0",
        *(
            f"{f}\t{w}\t{cats}"
            for f, (w, _, cats) in ((f, v.partition("|")) for f, v in features.items())
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我老爸刚刚一头栽倒在厕所里，喊他半天都没动静", "unconscious"),
        (
            "my flatmate has gone grey and clammy and says his chest feels like an elephant is "
            "sitting on it",
            "cardiac",
        ),
        ("孩子把洗碗机的清洁块咬破了，嘴里都是泡泡，一直哭", "poisoning"),
        (
            "he took every one of his sleeping tablets about an hour ago and now I can barely "
            "wake him",
            "poisoning",
        ),
    ],
)
def test_the_shipped_model_escalates_what_the_lexicon_misses(text: str, category: str) -> None:
    assert not assess(text, learned=False).escalate
    result = assess(text)
    assert result.escalate and result.level == "emergency"
    assert result.category == category
    assert result.matched[0] == f"learned.{category}"


def test_the_model_is_not_asked_for_model_answers() -> None:
    text = "我老爸刚刚一头栽倒在厕所里，喊他半天都没动静"
    assert assess(text).escalate
    assert not assess(text, as_written=True).escalate


def test_the_lexicons_scopes_hold_unless_the_model_is_all_but_certain(weights: Path) -> None:
    known = {"c1:的": "0|", "c1:胸": "0|", "w:chest": "0|"}
    write(weights, 2.5, known)  # about 0.92: escalates, but below OVERRULE
    emergency_model.load(weights)
    assert emergency_model.THRESHOLD < 0.92 < emergency_model.OVERRULE
    assert assess("请问明天的门诊几点开始").escalate  # no emergency words: the model decides
    # the lexicon saw these emergency words and ruled them out: they stay ruled out
    assert not assess("I have no chest pain and no shortness of breath").escalate
    assert not assess("我没有胸痛，也没有出汗").escalate
    write(weights, 50.0, known)  # certain
    emergency_model.load(weights)
    found = assess("我没有胸痛，也没有出汗")
    assert found.escalate and found.matched[0].startswith("learned.")


def test_a_model_that_doubts_an_emergency_lowers_it_to_urgent_never_clears_it(
    weights: Path,
) -> None:
    write(weights, -50.0, {"c1:胸": "0|"})
    emergency_model.load(weights)
    text = "我老公胸口痛了四十分钟，出了一身冷汗"
    result = assess(text)
    assert not result.escalate and result.level == "urgent" and result.category == "cardiac"
    assert result.matched[0] == DOUBTED and "zh.cardiac.chest_pain" in result.matched
    # the webhook's quick check agrees with the full one
    assert not assess(text, emergency_only=True).escalate
    # without the model (and for a model's own answer) the lexicon's emergency stands
    assert assess(text, learned=False).escalate
    assert assess(text, as_written=True).escalate


def test_one_concept_alone_is_doubted_sooner_than_a_composed_finding(weights: Path) -> None:
    # every message below has one known feature of weight 0: about 0.1, between the two bars
    write(weights, -2.2, {"c1:胸": "0|", "c1:气": "0|", "c1:死": "0|"})
    emergency_model.load(weights)
    assert emergency_model.DOUBT < 0.1 < emergency_model.DOUBT_ALONE
    lone = assess("孩子喘不上气")  # one rule of one term group
    assert (lone.escalate, lone.level, lone.matched[0]) == (False, "urgent", DOUBTED)
    composed = assess("我老公胸口痛了四十分钟，出了一身冷汗")  # chest pain with a cold sweat
    assert composed.escalate and composed.level == "emergency"
    # a statement of self-harm is one phrase too, and keeps the lower bar
    assert assess("我想死😭").escalate


def test_a_model_that_knows_none_of_the_words_doubts_nothing(weights: Path) -> None:
    write(weights, -50.0, {"c1:胸": "0|"})
    emergency_model.load(weights)
    assert assess("孩子喘不上气，嘴唇发紫").escalate  # no feature it knows: no opinion
    assert not assess("我老公胸口痛了四十分钟，出了一身冷汗").escalate  # it knows 胸


def test_a_model_in_two_minds_leaves_the_lexicons_emergency_alone(weights: Path) -> None:
    write(weights, 0.0, {"c1:胸": "0|"})  # probability 0.5: above DOUBT, below THRESHOLD
    emergency_model.load(weights)
    result = assess("我老公胸口痛了四十分钟，出了一身冷汗")
    assert result.escalate and result.level == "emergency" and result.category == "cardiac"
    assert result.matched[0] != DOUBTED


def test_weights_score_the_known_features_and_name_the_best_category(weights: Path) -> None:
    write(weights, -3.0, {"c2:毒药": "60|poisoning:9", "c1:毒": "0|cardiac:1"})
    emergency_model.load(weights)
    reading = emergency_model.read(_text.normalize("喝了毒药").text)
    # two known features, scored as if there were FEATURE_FLOOR of them
    expected = -3.0 + 60 / math.sqrt(emergency_model.FEATURE_FLOOR)
    assert reading.probability == pytest.approx(1 / (1 + math.exp(-expected)))
    assert reading.escalate and reading.category == "poisoning"
    quiet = emergency_model.read(_text.normalize("毒").text)
    assert not quiet.escalate and quiet.category is None


def test_class_weights_read_ahead_name_the_same_class(weights: Path) -> None:
    write(weights, -3.0, {"c2:毒药": "60|poisoning:9", "c1:毒": "0|cardiac:1"})
    emergency_model.load(weights)
    model = emergency_model.WEIGHTS.get()
    lazily = emergency_model.read(_text.normalize("喝了毒药").text)
    assert set(model.parsed) == {"c2:毒药", "c1:毒"}  # read as the message needed them
    model.parsed.clear()
    model.read_categories()
    assert model.parsed == {"c2:毒药": ((1, 9.0),), "c1:毒": ((0, 1.0),)}
    assert emergency_model.read(_text.normalize("喝了毒药").text) == lazily


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("bias\t0\t0\t0\n", "categories and bias lines first"),
        ("categories\tcardiac\nbias\t0\t0\t0\n", "do not match"),
        ("categories\tcardiac\nbias\t0\t0\nc1:胸\tx\t\n", "line 3"),
        ("categories\tcardiac\nbias\t0\t0\nc1:胸\t1\tstroke:1\n", "unknown category"),
        ("categories\tcardiac\nbias\t0\t0\nc1:胸\t1\tcardia:1\n", "unknown category"),
        ("categories\tcardiac\nbias\t0\t0\nc1:胸\t1\tcardiac:1 x_cardiac:2\n", "unknown"),
        ("categories\tcardiac\nbias\t0\t0\nc1:胸\t1\tcardiac:1:2\n", "unknown category"),
    ],
)
def test_a_broken_weights_file_says_where(weights: Path, body: str, message: str) -> None:
    weights.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        emergency_model.load(weights)


def test_pinyin_and_sound_alike_slips_share_features_with_the_characters() -> None:
    written = emergency_model.features(_text.normalize("我胸口很痛").text)
    typed = emergency_model.features(_text.normalize("wo xiong kou hen tong").text)
    assert "p2:xiong_kou" in written & typed
    slip = emergency_model.features(_text.normalize("心机梗塞").text)
    right = emergency_model.features(_text.normalize("心肌梗塞").text)
    assert "p3:xin_ji_geng" in slip & right
    assert "c2:心机" in slip and "c2:心机" not in right


def test_english_forms_share_stems() -> None:
    one = emergency_model.features("he is bleeding heavily")
    two = emergency_model.features("he bleeds heavily")
    assert "w:bleed" in one & two
