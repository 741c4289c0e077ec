"""The output guard's learned reading (safety/guard_model.py): what it adds to the rules and
what it may never do. Sentences written for these tests; the small weights files here."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from safety import guard_model
from safety.guard import guard


@pytest.fixture
def weights(tmp_path: Path) -> Iterator[Path]:
    """A hand-written weights file to load; the shipped weights are back afterwards."""
    yield tmp_path / "weights.tsv"
    guard_model.load()


def write(path: Path, bias: float, category: str) -> None:
    """A model that says ``bias`` of every sentence (one known feature, the letter "e" or the
    character "的", weighing nothing), and names ``category``."""
    path.write_text(
        "\n".join(
            [
                "# written by a test",
                f"categories\t{category}\tdosing",
                f"bias\t{bias}\t1\t0",
                "e\t0\t",
                "的\t0\t",
            ]
        )
        + "\n",
        encoding="utf-8",
    )


def judge(text: str, lang: str = "en", **options: object) -> tuple[str, tuple[str, ...], bool]:
    result = guard(text, lang=lang, disclaimer="", known=(), max_chars=2000, **options)  # type: ignore[arg-type]
    return result.text, result.reasons, result.withheld


def test_the_shipped_model_reads_sentences() -> None:
    """The shipped weights load and name the class of a plainly unsafe sentence; a plain
    logistics sentence stays well under the threshold. (What the model adds to the rules is
    measured by `careline eval guard`, not pinned here: it moves with every rebuild.)"""
    unsafe = guard_model.read("老人家血糖高，可以先把胰岛素停几天，多吃苦瓜降糖。")
    assert unsafe.flagged and unsafe.category == "stop_medicine"
    certain = guard_model.read("您这个胸痛就是肋间神经痛，回家热敷几天就好了。")
    assert certain.flagged and certain.category == "false_certainty"
    plain = guard_model.read("门诊周一到周五上午八点开始挂号，请带好医保卡。")
    assert plain.probability < 0.5


def test_a_model_that_flags_everything_leaves_careful_sentences_alone(weights: Path) -> None:
    write(weights, 50.0, "false_certainty")
    guard_model.load(weights)
    careful = "This is not definitely benign, so please see a specialist."
    assert judge(careful) == (careful, (), False)
    plain = "Please bring your insurance card. The clinic opens at eight."
    text, reasons, _ = judge(plain)
    assert reasons[0] == "learned" and "false_certainty" in reasons
    assert "clinic opens" not in text


def test_learned_reassurance_counts_only_beside_a_red_flag(weights: Path) -> None:
    write(weights, 50.0, "false_reassurance")
    guard_model.load(weights)
    text = "Rest at home and drink plenty of water over the next few days."
    assert judge(text, context="I have a mild cold", context_flagged=False)[1] == ()
    _, reasons, withheld = judge(text, context="crushing chest pain", context_flagged=True)
    assert "false_reassurance" in reasons and withheld


def test_a_model_that_finds_nothing_unsafe_doubts_the_rules_but_never_a_dangerous_class(
    weights: Path,
) -> None:
    write(weights, -50.0, "dosing")
    guard_model.load(weights)
    dosing = "Take 2 tablets three times a day for a week. Drink water."
    assert "dosing" in judge(dosing, learned=False)[1]
    assert judge(dosing) == (dosing, (), False)  # the model doubts it: kept as written
    # a class that withholds the answer needs a reading under DOUBT_DANGEROUS: this one
    # (probability 0) is under it too, so a model this sure clears it as well ...
    first_aid = "If your child swallowed bleach, make them throw up right away."
    assert judge(first_aid, learned=False)[2]
    assert not judge(first_aid)[2]
    # ... but one merely doubtful (about 0.05) does not
    write(weights, -3.0, "dosing")
    guard_model.load(weights)
    assert guard_model.DOUBT_DANGEROUS < 0.05 < guard_model.DOUBT
    assert judge(dosing) == (dosing, (), False)
    assert judge(first_aid)[2]


def test_short_pieces_are_not_read(weights: Path) -> None:
    write(weights, 50.0, "dosing")
    guard_model.load(weights)
    assert not guard_model.read("## 建议").flagged
    assert guard_model.read("注意休息的同时多喝水。").flagged


def test_features_are_characters_pairs_triples_and_words() -> None:
    feats = guard_model.features("Take  TWO\ttablets。")
    assert {"t", "ta", "tak", "w:take", "w:two", "w:take_two", "s。"} <= feats
    assert not any("\t" in f or "\n" in f or "  " in f for f in feats)
    # markdown emphasis is not read: a bold sentence has the features of the plain one
    assert guard_model.features("**Take two tablets.**") == guard_model.features(
        "Take two tablets."
    )


def test_words_an_english_negation_governs_are_read_as_negated() -> None:
    # "give aspirin" advised and forbidden are different features; the clause ends the scope
    feats = guard_model.features("Don't give aspirin, but you can give paracetamol!")
    assert {"w:!give", "w:!aspirin", "w:give", "w:paracetamol"} <= feats
    assert "w:aspirin" not in feats and "w:!paracetamol" not in feats
    assert guard_model.features("No need to go to hospital.") >= {"w:!need", "w:!hospital"}
    # cues with no "n" in them too
    assert "w:!trouble" in guard_model.features("A scratch heals without trouble.")
    assert "w:!ice" in guard_model.features("Avoid ice.")


def test_the_patients_placeholders_and_allowed_contacts_are_not_read(weights: Path) -> None:
    # a model that takes any phone-like piece for a leak
    weights.write_text(
        "categories\tidentity_leak\tdosing\nbias\t-50\t1\t0\n[电\t2000\t\n010\t2000\t\n",
        encoding="utf-8",
    )
    guard_model.load(weights)
    assert guard_model.read("我们会打 [电话1] 给您。").flagged
    own = guard(
        "我们会打 [电话1] 给您。", lang="zh", disclaimer="", known={"[电话1]"}, max_chars=500
    )
    assert own.reasons == () and "[电话1]" in own.text
    hospital = guard(
        "请拨打医院总机 010-12345678 咨询。",
        lang="zh",
        disclaimer="",
        known=(),
        max_chars=500,
        allowed=("010-12345678",),
    )
    assert hospital.reasons == ()


def test_the_reading_finds_exactly_the_known_features_the_builder_trains_on(weights: Path) -> None:
    """``read`` finds a sentence's known features with automata, not with ``features`` (which
    the builder trains on): both must give the same set. Among them the features whose name
    is both a triple of characters and a word ("w:a": the letters "w", ":", "a", or the word
    "a"), a pair "w:" that is only characters, and a pair of words."""
    names = ["w:a", "w:", "w:ab_cd", "w:cd", "的", "ta", "abc", " a", "x", "w:!give", "w:!cd"]
    rows = [f"{name}\t{0.5 + i / 10}\t" for i, name in enumerate(names)]
    weights.write_text(
        "categories\tdosing\tidentity_leak\nbias\t-3\t0\t0\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    guard_model.load(weights)
    model = guard_model.WEIGHTS.get()
    for sentence in (
        "Ask: was it a dose?",  # "w:" as characters ("saw: " has no "w:a"); the word "a"
        "draw:ab line, ab cd",  # "w:a" as characters only; the pair "ab cd", the word "cd"
        "AB  CD\tthe 的 data",  # case and whitespace as ``features`` reads them
        "nothing known here",
        "的的的的的的",
        "Don't give ab cd, give x!",  # negated words, as ``features`` marks them
    ):
        expected = model.known & guard_model.features(sentence)
        want = model.score(expected, guard_model.FEATURE_FLOOR, 2.0)
        got = guard_model.read(sentence, category=False)
        assert (got.probability, got.known) == pytest.approx((want.probability, want.known))
    # and the category, worked out from the features found, is the builder's too
    weights.write_text(
        "categories\tdosing\tidentity_leak\nbias\t50\t1\t0\nab\t0\tidentity_leak:9\nxy\t0\t\n",
        encoding="utf-8",
    )
    guard_model.load(weights)
    assert guard_model.read("abc abc abc").category == "identity_leak"
    assert guard_model.read("xyz xyz xyz").category == "dosing"


def test_a_practice_the_scope_cleared_is_taken_only_when_the_model_is_all_but_sure(
    weights: Path,
) -> None:
    """The rules read "never" in "Never mind the leaflet and put butter on the burn" as
    forbidding the practice. A reading at the threshold does not overrule that scope; one at
    SURE does, for a practice only (a claim's hedge or an amount is never overruled: the test
    above)."""
    sentence = "Never mind the leaflet and put butter on the burn."
    alone = guard(sentence, lang="en", disclaimer="", known=(), max_chars=2000, learned=False)
    assert alone.reasons == ()  # what the scope rules out
    unsure = (guard_model.THRESHOLD + guard_model.SURE) / 2
    write(weights, math.log(unsure / (1 - unsure)), "dangerous_first_aid")
    guard_model.load(weights)
    assert judge(sentence) == (sentence, (), False)
    write(weights, 50.0, "dangerous_first_aid")
    guard_model.load(weights)
    _, reasons, withheld = judge(sentence)
    assert withheld and "dangerous_first_aid" in reasons
