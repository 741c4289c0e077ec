"""Output guard on model answers."""

from __future__ import annotations

from safety.guard import guard

ZH_DISCLAIMER = "以上内容仅供参考，不能替代医生的诊断。"
EN_DISCLAIMER = "This is general information, not a diagnosis."


def _zh(
    text: str, known: set[str] | None = None, max_chars: int = 500
) -> tuple[str, tuple[str, ...]]:
    r = guard(text, lang="zh", disclaimer=ZH_DISCLAIMER, known=known or set(), max_chars=max_chars)
    return r.text, r.changes


def test_disclaimer_is_appended_exactly_once() -> None:
    text, changes = _zh("多喝水，注意休息。")
    assert text.endswith(ZH_DISCLAIMER)
    assert text.count(ZH_DISCLAIMER) == 1
    assert "disclaimer" in changes
    again, changes2 = _zh(text)
    assert again == text
    assert "disclaimer" not in changes2
    assert changes2 == ()


def test_think_remnants_are_removed() -> None:
    text, changes = _zh("<think>病人可能是感冒</think>建议多休息。")
    assert "think" not in text and "病人可能" not in text
    assert text.startswith("建议多休息。")
    assert "think" in changes
    cut, _ = _zh("内部推理的尾巴</think>建议复诊。")
    assert cut.startswith("建议复诊。")


def test_unknown_placeholders_are_removed_known_kept() -> None:
    text, changes = _zh("您好[姓名1]，请联系[电话3]预约。", known={"[姓名1]"})
    assert "[姓名1]" in text
    assert "[电话3]" not in text
    assert "leaked_placeholder" in changes


def test_absolute_claims_are_hedged() -> None:
    text, changes = _zh("这肯定是胃炎，这个药100%安全，吃了绝对没问题。")
    assert "肯定是" not in text and "100%安全" not in text and "绝对没问题" not in text
    assert "可能是胃炎" in text
    assert "absolute_claim" in changes
    en = guard(
        "It is definitely a cold and this tea is guaranteed to cure it. It is 100% safe.",
        lang="en",
        disclaimer=EN_DISCLAIMER,
        known=(),
        max_chars=500,
    )
    assert "definitely" not in en.text and "guaranteed to cure" not in en.text
    assert "100% safe" not in en.text
    assert "absolute_claim" in en.changes


def test_specific_dosing_points_to_the_doctor() -> None:
    text, changes = _zh("可以用阿莫西林，每次500mg，每日三次，饭后服用。")
    assert "500mg" not in text and "每日三次" not in text
    assert "遵医嘱" in text
    assert text.count("遵医嘱") == 1
    assert "dosing" in changes
    text2, _ = _zh("退烧药一次2片。")
    assert "2片" not in text2
    en = guard(
        "You can take 400 mg every 6 hours with food.",
        lang="en",
        disclaimer=EN_DISCLAIMER,
        known=(),
        max_chars=500,
    )
    assert "400 mg" not in en.text and "6 hours" not in en.text
    assert "doctor" in en.text
    assert "dosing" in en.changes


def test_numbers_that_are_not_doses_survive() -> None:
    text, changes = _zh("体温超过38.5度请就医，门诊电话在工作日8点开放。")
    assert "38.5度" in text
    assert "dosing" not in changes


def test_length_cap_on_sentence_boundary_keeps_disclaimer() -> None:
    body = "第一句话说明情况。第二句话给出建议。第三句话补充说明很多很多内容。"
    text, changes = _zh(body, max_chars=20)
    assert text == "第一句话说明情况。第二句话给出建议。\n\n" + ZH_DISCLAIMER
    assert "length" in changes


def test_length_cap_without_boundary_uses_ellipsis() -> None:
    text, changes = _zh("一" * 50, max_chars=10)
    head = text.split("\n\n")[0]
    assert len(head) <= 10 and head.endswith("…")
    assert text.endswith(ZH_DISCLAIMER)
    assert "length" in changes


def test_clean_answer_unchanged_except_disclaimer() -> None:
    r = guard("Drink water and rest.", lang="en", disclaimer=EN_DISCLAIMER, known=(), max_chars=100)
    assert r.text == "Drink water and rest.\n\n" + EN_DISCLAIMER
    assert r.changes == ("disclaimer",)
