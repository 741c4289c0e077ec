"""The literal pre-check of emergency assessment: it may skip work, never change a decision."""

from __future__ import annotations

import re

import pytest

from safety import _text
from safety.emergency import assess, factors
from safety.emergency.analysis import _fired
from safety.emergency.factors import _pattern_factors
from safety.emergency.lexicon import _compile_term, _lexicon, _present_factors, term_sources
from safety.emergency.message import _Message
from safety.emergency.terms import _Term

SENTENCES = [
    "我老公胸口痛了四十分钟，出了一身冷汗",
    "我妈突然嘴歪了，左边脸耷拉下来，说话不清楚",
    "孩子喘不上气，嘴唇发紫",
    "我爸流血半个小时了按不住",
    "三岁的女儿误吃了好几片降糖药",
    "我不想活了，想把攒的药一口气吃了",
    "没有胸痛，也不气短，就是有点咳嗽",
    "三年前心梗过，今天想复查一下",
    "如果胸口痛应该怎么办？",
    "心梗有什么前兆？",
    "怀孕32周，下面流了很多血",
    "宝宝才出生十五天，发烧38.3度",
    "请问明天上午的内科门诊还能挂号吗？需要带什么材料？",
    "血氧只有85，心跳一分钟170",
    "My husband has crushing chest pain and he is sweating",
    "She denies chest pain but has a cough",
    "I want to kill myself",
    "My 3-week-old baby has a fever of 38.4 C",
    "What are the warning signs of a stroke?",
    "Can I take ibuprofen with my blood pressure pills?",
]


@pytest.mark.parametrize(
    ("pattern", "factors"),
    [
        ("胸口痛", {"胸口痛"}),
        ("(左|右)(边|侧)?脸", {"脸"}),
        ("(胸痛|心梗)了?", {"胸痛", "心梗"}),
        ("[左右]", {"左", "右"}),
        ("[左右]手", {"手"}),
        (r"(?<![\w'])chest\s+pain(?![\w])", {"chest"}),
        ("(多)?片", {"片"}),
    ],
)
def test_factors_are_literals_every_match_contains(pattern: str, factors: set[str]) -> None:
    assert _pattern_factors(re.compile(pattern)) == frozenset(factors)


def test_the_shipped_factor_table_is_up_to_date() -> None:
    """Every term's factors in data/emergency_factors.json are what its expression gives
    (after editing the lexicon: python -m safety.build_factors)."""
    shipped = factors._shipped()
    sources = term_sources()
    assert sources and not [s for s in sources if s not in shipped]
    for source in sources:
        computed = factors._source_factors(source)
        assert factors.source_factors(source) == computed, source


def test_a_term_missing_from_the_factor_table_is_read_afresh() -> None:
    source = "胸口[^，,。]{0,8}?(压着|揪着)从未见过"
    assert source not in factors._shipped()
    assert factors.source_factors(source) == factors._source_factors(source) is not None


def test_a_factor_table_entry_the_expression_does_not_hold_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = "胸口[^，,。]{0,8}?(压着|揪着)"
    monkeypatch.setattr(factors, "_shipped", lambda: {source: ["心梗"]})  # a wrong entry
    assert factors.source_factors(source) == factors._source_factors(source) == {"胸口"}


def test_gapped_term_factors_come_from_its_parts() -> None:
    assert _compile_term("胸口~痛得厉害", "zh").factors == frozenset({"痛得厉害"})


@pytest.mark.parametrize("pattern", ["(多)?", "[^，。]{0,4}", "(?i)chest", "a|b*", r"\d+"])
def test_patterns_without_a_required_literal_are_always_checked(pattern: str) -> None:
    assert _pattern_factors(re.compile(pattern)) is None


def _all_terms() -> list[_Term]:
    lex = _lexicon()
    terms: dict[str, _Term] = {}
    for rule in lex.rules:
        for term in (*[t for g in rule.groups for t in g], *rule.unless, *rule.unless_message):
            terms[term.key] = term
    return list(terms.values())


@pytest.mark.parametrize("text", SENTENCES)
def test_a_term_that_matches_always_has_a_factor_present(text: str) -> None:
    """Soundness over the real lexicon: the pre-check never hides a real match."""
    lex = _lexicon()
    norm = _text.normalize(text).text
    present = _present_factors(norm, lex)
    for term in _all_terms():
        if term.pattern.search(norm) and term.factors is not None:
            assert term.factors & present, term.key


@pytest.mark.parametrize("text", SENTENCES)
def test_pre_check_gives_the_decision_of_a_full_scan(text: str) -> None:
    """Evaluating every rule with every term let through fires exactly what assess reports."""
    lex = _lexicon()
    norm = _text.normalize(text).text
    everything = frozenset(f for t in _all_terms() for f in (t.factors or ()))
    full = _fired(_Message(norm, lex, everything), lex.rules).rules
    assert sorted(r.id for r in full) == sorted(assess(text, learned=False).matched)


def test_normalize_maps_expanded_and_dropped_characters_back() -> None:
    """A ligature expands to two characters of one origin; an emoji disappears."""
    for _ in range(2):  # the second call goes through the table of seen characters
        norm = _text.normalize("A😀ﬁ頭")
        assert norm.text == "afi头"
        assert norm.cased == "Afi头"
        assert norm.starts == (0, 2, 2, 3)
        assert norm.ends == (1, 3, 3, 4)
        _text._normalize_cached.cache_clear()


STRETCH_TEXTS = [
    *SENTENCES,
    "我爸爸今天早上8:30突然说话不清楚（右手也没力气），血压180/110，现在怎么办？",
    "孩子3.5岁 发烧39℃\r\n吃了布洛芬-还是不退\r\r\n怎么办",
    "胸口痛  出冷汗,\t喘不上气!!!  chest pain since 2am, HR 130 bpm",
    "",
    "。，！",
]


@pytest.mark.parametrize("text", STRETCH_TEXTS)
def test_stretches_segment_as_the_whole_text_does(text: str) -> None:
    """Segmenting only the stretches asked about gives the whole text's own tokens."""
    norm = _text.normalize(text).text
    whole = _text.tokens(norm)
    cuts = _text.boundaries(norm)
    stretches = _text.Stretches(norm)
    assert [p for p in range(len(norm) + 1) if stretches.is_boundary(p)] == sorted(cuts)
    for lo in range(len(norm) + 1):
        for hi in range(lo, len(norm) + 1, 3):
            inside = [t for t in whole if lo <= t.start and t.end <= hi]
            assert _text.Stretches(norm).tokens(lo, hi) == inside, (lo, hi)


@pytest.mark.parametrize("text", SENTENCES)
def test_emergency_only_escalates_exactly_as_the_full_assessment(text: str) -> None:
    full = assess(text)
    quick = assess(text, emergency_only=True)
    assert quick.escalate == full.escalate
    if full.escalate:
        assert (quick.level, quick.category) == (full.level, full.category)
    lex = _lexicon()
    levels = {r.id: r.level for r in lex.rules}
    # learned.* and the doubt are no lexicon rules: both readings ask the model alike
    assert quick.matched == tuple(
        m for m in full.matched if levels.get(m, "emergency") == "emergency"
    )


def test_normalize_lowercases_each_character_on_its_own() -> None:
    """A final capital sigma is not given its word-final form, and a capital whose lowercase
    is longer stays as it is, so normalised text keeps one character per original one."""
    norm = _text.normalize("ΟΔΟΣ İSTANBUL Ｘ")
    assert norm.text == "οδοσ İstanbul x"
    assert norm.cased == "ΟΔΟΣ İSTANBUL X"
    assert len(norm.starts) == len(norm.text)
