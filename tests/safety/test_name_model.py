"""The person-name CRF: its decoder, its span rule and what it adds to masking."""

from __future__ import annotations

import math

import pytest

from safety import name_model, pii


def _persons(text: str) -> list[str]:
    return [text[s:e] for kind, s, e in pii.detect_entities(text) if kind == "PERSON"]


def test_marginals_are_probabilities() -> None:
    text = "上周三温丽娟陪着他母亲来做了胃镜\n结果还没出来"
    marg = name_model.model().marginals(name_model.features(text, pii.name_lexicon()))
    assert len(marg) == len(text)
    for row in marg:
        assert math.isclose(sum(row), 1.0, rel_tol=1e-9)
        assert all(0.0 <= p <= 1.0 for p in row)


def test_model_marks_an_uncued_name_not_the_words_around_it() -> None:
    text = "上周三温丽娟陪着他母亲来做了胃镜"
    marg = name_model.model().marginals(name_model.features(text, pii.name_lexicon()))
    spans = [text[s:e] for s, e, _ in name_model.name_spans(marg, pii.MODEL_ACCEPT)]
    assert spans == ["温丽娟"]


def test_marginals_match_brute_force_on_a_short_sequence() -> None:
    """Forward-backward against summing every label path (3**4 of them)."""
    import itertools

    text = "请找邓"
    model = name_model.model()
    feats = name_model.features(text, pii.name_lexicon())
    emis = model.emissions(feats)
    trans = [[math.log(x) for x in row] for row in model._trans]
    totals = [[0.0] * 3 for _ in text]
    for path in itertools.product(range(3), repeat=len(text)):
        score = sum(emis[k][y] for k, y in enumerate(path))
        score += sum(trans[a][b] for a, b in itertools.pairwise(path))
        for k, y in enumerate(path):
            totals[k][y] += math.exp(score)
    for got, tot in zip(model.marginals(feats), totals, strict=True):
        z = sum(tot)
        for g, t in zip(got, tot, strict=True):
            assert math.isclose(g, t / z, rel_tol=1e-6, abs_tol=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "上周三温丽娟陪着他母亲来做了胃镜\n结果还没出来",
        "欧阳明华和司马南说，王\t伟在３楼等你们",
        "克林顿·威尔逊先生昨天到了北京",
        "a",
        "==王==",
        "患者张建国，男，58岁，高血压十年，服用氨氯地平",
    ],
)
def test_text_emissions_give_the_marginals_of_the_feature_lists(text: str) -> None:
    """The fast path used when masking agrees with features() + emissions() (the build's)."""
    model = name_model.model()
    lex = pii.name_lexicon()
    slow = model.marginals(name_model.features(text, lex))
    fast = model.marginals_of(model.text_emissions(text, lex))
    assert len(fast) == len(slow) == len(text)
    for got, want in zip(fast, slow, strict=True):
        for g, w in zip(got, want, strict=True):
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12)


def test_name_spans_cut_where_a_new_name_begins() -> None:
    o, b, i = (0.0, 0.0, 1.0), (0.9, 0.05, 0.05), (0.05, 0.9, 0.05)
    weak = (0.2, 0.2, 0.6)
    assert name_model.name_spans([o, b, i, i, b, i, o], 0.5) == [
        (1, 4, pytest.approx(0.95)),
        (4, 6, pytest.approx(0.95)),
    ]
    assert name_model.name_spans([b, i, weak, b], 0.5) == [
        (0, 2, pytest.approx(0.95)),
        (3, 4, pytest.approx(0.95)),
    ]
    assert name_model.name_spans([b, i, weak], 0.3) == [(0, 3, pytest.approx(0.4))]


def test_parse_needs_every_transition_row() -> None:
    lines = ["trans=B\t0\t1\t0", "trans=I\t0\t0\t0", "u0=王\t1\t0\t-1"]
    with pytest.raises(ValueError, match="transition"):
        name_model.NameModel.parse(lines)
    model = name_model.NameModel.parse([*lines, "trans=O\t0\t0\t0"])
    assert model.weights["u0=王"] == (1.0, 0.0, -1.0)


def test_whitespace_in_text_stays_inside_feature_names() -> None:
    feats = name_model.features("王\t伟\n说", pii.name_lexicon())
    assert all("\t" not in f and "\n" not in f for fs in feats for f in fs)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("上周三温丽娟陪着他母亲来做了胃镜", "温丽娟"),
        ("麻烦转告一下，谭佳怡下午过来取报告", "谭佳怡"),
        ("我们楼下的汪振邦最近也查出了糖尿病", "汪振邦"),
        ("@刘晓燕 请问明天上午的门诊几点开始？", "刘晓燕"),
    ],
)
def test_names_without_cues_are_masked(text: str, name: str) -> None:
    assert name in _persons(text), pii.detect_entities(text)


@pytest.mark.parametrize(
    "text",
    [
        "我每天用金银花和连翘泡水，嗓子好一点了",
        "医生开了阿莫西林和奥美拉唑，要吃几天？",
        "老公最近总是失眠，白天没精神",
        "复查的时候血红蛋白和血小板都正常",
        "阿尔茨海默病人平时要注意什么",
    ],
)
def test_medical_and_family_words_stay(text: str) -> None:
    assert _persons(text) == [], pii.detect_entities(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我的主治医生是安德烈·伊万诺夫", "安德烈·伊万诺夫"),  # dotted parts are one name
        ("女儿很喜欢毕加索的画", "毕加索"),  # a foreign name that starts with a surname
        ("他们一直在学习邓小平理论", "邓小平"),  # a dictionary name at the head of a token
    ],
)
def test_rule_names_around_the_model(text: str, name: str) -> None:
    assert name in _persons(text), pii.detect_entities(text)


def test_a_name_at_a_token_head_needs_a_word_after_it() -> None:
    # 周而复始 holds the dictionary name 周而复, but 始 is no word of its own
    assert _persons("疼了一会儿又好了，周而复始，怎么回事") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我家乐乐发烧三天了，吃了退烧药还是反复", "乐乐"),  # a doubled pet name
        ("儿子小军最近晚上总咳嗽", "小军"),
        ("孩子阿强今天拉肚子拉了四次", "阿强"),
        ("女儿豆豆两岁了，还不太会说话", "豆豆"),
        ("老婆小丽怀孕八周，能吃感冒药吗", "小丽"),
        ("我老公老周血压一直偏高", "老周"),  # 老 + surname, a word of jieba's (56)
        ("女儿欣怡这两天一直发烧", "欣怡"),  # a given name without its surname
        ("我儿子浩然最近总是咳嗽", "浩然"),
    ],
)
def test_pet_names_after_a_family_word_are_masked(text: str, name: str) -> None:
    assert name in _persons(text), pii.detect_entities(text)


@pytest.mark.parametrize(
    "text",
    [
        "我家宝宝发烧到三十九度",  # 宝宝 is what every parent says, not a name
        "孩子小便发黄是怎么回事",
        "孩子天天哭闹不肯睡觉",
        "孩子小时候得过肺炎",
        "我爸老是失眠",
        "孩子偷偷吃了两片药",
        "宝宝阿莫西林过敏还能用什么",
        "孩子阿姨带的，不知道吃了什么",  # a family word never starts a name
        "乙肝小三阳需要吃药吗",  # 小三 is no pet name inside 小三阳
        "孩子老师说他上课总走神",  # 老师: 老 + a surname character, but an everyday word
        "孩子精神不好，晚上盗汗",
        "宝宝湿疹很严重",
        "女儿月经不调两个月了",
    ],
)
def test_family_words_before_ordinary_words_stay(text: str) -> None:
    assert _persons(text) == [], pii.detect_entities(text)


def test_a_lone_surname_cut_off_by_the_model_joins_the_name_after_it() -> None:
    from safety import _text
    from safety.pii.detector import _Detector

    det = _Detector(_text.normalize("昨天韩小燕来复诊了"))
    assert det._surname_joined([(2, 3, 0.8), (3, 5, 0.9)]) == [(2, 5, 0.8)]
    # not a surname (天), or not touching: left alone
    assert det._surname_joined([(1, 2, 0.8), (2, 4, 0.9)]) == [(1, 2, 0.8), (2, 4, 0.9)]
    assert det._surname_joined([(2, 3, 0.8), (4, 6, 0.9)]) == [(2, 3, 0.8), (4, 6, 0.9)]
