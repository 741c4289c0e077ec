"""The Latin-letter name CRF: its tokens and features, its training labels, and what it adds
to masking (names with no cue or shape the rules know)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from safety import latin_name_model, pii
from safety.build_latin_name_model import labelled, read_negatives


def _persons(text: str) -> list[str]:
    return [text[s:e] for kind, s, e in pii.detect_entities(text) if kind == "PERSON"]


def test_tokens_keep_names_whole_and_chinese_as_one_run() -> None:
    toks = latin_name_model.tokens("我叫Jean-Luc O'Brien，电话12345")
    assert [(t.text, t.kind) for t in toks] == [
        ("我叫", "Z"),
        ("Jean-Luc", "L"),
        ("O'Brien", "L"),
        ("，", "P"),
        ("电话", "Z"),
        ("12345", "D"),
    ]


def test_features_read_the_words_around_and_the_case_of_the_text() -> None:
    text = "this is li na here"
    feats = latin_name_model.features(text)
    li = feats[2]
    assert "w=li" in li and "w-1=is" in li and "w+1=na" in li and "w-2-1=this_is" in li
    assert "lowtext" in li  # a message all in lower case: its case says nothing
    upper = latin_name_model.features("Then Kevin Wong called.")[1]
    assert "cap" in upper and "cap+1" in upper
    assert "capstart" in latin_name_model.features("Kevin called.")[0]
    zh = latin_name_model.features("我叫Emily")[1]
    assert "w-1=我叫" in zh


def test_marginals_are_probabilities() -> None:
    text = "my husband david has had a cough since monday"
    marg = latin_name_model.model().marginals(latin_name_model.features(text))
    assert len(marg) == len(latin_name_model.tokens(text))
    for row in marg:
        assert math.isclose(sum(row), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my husband david has had a cough since monday, is that normal", "david"),
        ("cheung siu ming needs his blood test results", "cheung siu ming"),
        ("my daughter aisha is allergic to penicillin", "aisha"),
    ],
)
def test_model_finds_names_no_rule_cues(text: str, name: str) -> None:
    spans = [text[s:e] for s, e, _ in latin_name_model.name_spans(text, 0.5)]
    assert spans == [name]
    assert _persons(text) == [name]


@pytest.mark.parametrize(
    "text",
    [
        "Does Medicare cover a Pap smear at Mount Sinai?",
        "Parkinson's disease runs in my family, should I worry",
        "Restless Leg Syndrome. What can help at night?",
    ],
)
def test_model_leaves_capitalised_medical_words(text: str) -> None:
    assert latin_name_model.name_spans(text, 0.5) == []
    assert _persons(text) == []


def test_a_run_through_a_sign_gives_its_words_apart() -> None:
    """Whatever the model's labels, a span never covers a sign or a number."""
    text = "anna, 34 - ben"
    for s, e, _ in latin_name_model.name_spans(text, 0.0):
        assert text[s:e].replace(" ", "").isalpha()


def test_training_labels_follow_the_spans_through_normalisation() -> None:
    text = "Ｄｒ. Jean-Luc Martin and 我叫Emily"  # full-width letters are normalised
    start = text.index("Jean")
    spans = [(start, start + len("Jean-Luc Martin")), (text.index("Emily"), len(text))]
    cased, labels = labelled(text, spans)
    toks = latin_name_model.tokens(cased)
    assert [(t.text, y) for t, y in zip(toks, labels, strict=True)] == [
        ("Dr", "O"),
        (".", "O"),
        ("Jean-Luc", "B"),
        ("Martin", "I"),
        ("and", "O"),
        ("我叫", "O"),
        ("Emily", "B"),
    ]


def test_negatives_leave_out_texts_the_rules_find_a_person_in(tmp_path: Path) -> None:
    path = tmp_path / "neg.jsonl"
    rows = [
        {"text": "My name is Sarah Whitlock, I need a refill"},  # the rules find a name
        {"text": "Can I take Tylenol with my antibiotics?"},
        {"text": "只有中文的句子"},  # no Latin letter: nothing for this model to learn
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    got = list(read_negatives(path))
    assert [text for text, _ in got] == ["Can I take Tylenol with my antibiotics?"]
    assert all(y == "O" for _, labels in got for y in labels)
