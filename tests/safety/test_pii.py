"""PII masking: validated numbers, names with cues, exact offsets, a stable vault."""

from __future__ import annotations

import datetime

import pytest

from safety import pii
from safety.pii import PLACEHOLDER_RE, Entity, Vault, VaultFormatError, mask


def _id_with_check(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def _luhn_complete(prefix: str) -> str:
    for last in "0123456789":
        if pii.luhn_ok(prefix + last):
            return prefix + last
    raise AssertionError("unreachable")


VALID_ID = _id_with_check("33010619900307123")
VALID_ID_X = next(
    _id_with_check(f"44030519851122{n:03d}")
    for n in range(1000)
    if _id_with_check(f"44030519851122{n:03d}").endswith("X")
)
CARD = _luhn_complete("622848001234567890")


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(e.kind, text[e.start : e.end]) for e in mask(text).entities]


def test_offsets_point_into_the_original_text() -> None:
    text = f"你好，我叫王晓明，电话１３９－１２３４－５６７８，身份证{VALID_ID}。"
    res = mask(text)
    for e in res.entities:
        assert text[e.start : e.end] == e.value
    assert ("PERSON", "王晓明") in _kinds(text)
    assert ("PHONE", "１３９－１２３４－５６７８") in _kinds(text)
    assert ("ID_CARD", VALID_ID) in _kinds(text)
    assert res.text == "你好，我叫[姓名1]，电话[电话1]，身份证[身份证1]。"


def test_id_card_checksum_and_x() -> None:
    assert pii.valid_cn_id(VALID_ID)
    assert pii.valid_cn_id(VALID_ID_X)
    assert pii.valid_cn_id(VALID_ID_X.lower())
    wrong = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    assert not pii.valid_cn_id(wrong)
    assert ("ID_CARD", VALID_ID_X) in _kinds(f"身份证号{VALID_ID_X}")
    # with no cue, an 18-digit number whose check fails is an ID only when it holds a region
    # and a real birth date, and then it is marked unvalidated
    found = [e for e in mask(f"编号{wrong}").entities if e.kind == "ID_CARD"]
    assert [e.validated for e in found] == [False]
    assert all(kind != "ID_CARD" for kind, _ in _kinds("编号990000202313450001"))


def test_cued_identifier_with_a_typo_is_masked_and_marked_unvalidated() -> None:
    wrong = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    res = pii.mask(f"身份证号码是{wrong}，麻烦查下")
    assert [(e.kind, e.value, e.validated) for e in res.entities] == [("ID_CARD", wrong, False)]
    res = pii.mask(f"身份证号码是{VALID_ID}")
    assert [(e.kind, e.validated) for e in res.entities] == [("ID_CARD", True)]
    broken = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    res = pii.mask(f"my bank card number is {broken}")
    assert [(e.kind, e.value, e.validated) for e in res.entities] == [("BANK_CARD", broken, False)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("NHS no: 4857773456, can I book online", "4857773456"),
        ("居民身份证号码 K204518733，请帮我改一下", "K204518733"),
        ("复查编号 B2031-00457", "B2031-00457"),
        ("the claim # is 55120437", "55120437"),
        ("身份证号 H0123456(7)", "H0123456(7)"),  # a check digit in brackets goes with it
    ],
)
def test_any_identifier_cue_masks_an_identifier_shape_no_other_rule_knows(
    text: str, value: str
) -> None:
    res = pii.mask(text)
    assert [(e.kind, e.value, e.validated) for e in res.entities] == [("OTHER_ID", value, False)]


@pytest.mark.parametrize(
    "text",
    ["room number 1203 please", "药品批号 20230512", "#2 bed, 3 pills", "每天走 10000 步"],
)
def test_short_or_uncued_numbers_are_not_identifiers(text: str) -> None:
    assert pii.mask(text).entities == ()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("门诊卡 123456789，能查到吗", "123456789"),
        ("就诊卡号是 JZ 00123456", "JZ 00123456"),
        ("诊疗卡号：MZ20231234", "MZ20231234"),
    ],
)
def test_clinic_card_numbers_after_their_cue(text: str, value: str) -> None:
    assert _kinds(text) == [("MRN", value)]


def test_old_fifteen_digit_id_after_its_cue() -> None:
    res = pii.mask("老身份证号码是110105870315231")
    assert [(e.kind, e.value, e.validated) for e in res.entities] == [
        ("ID_CARD", "110105870315231", True)
    ]
    res = pii.mask("身份证 110105871335231")  # no 13th month: masked, not validated
    assert [(e.kind, e.validated) for e in res.entities] == [("ID_CARD", False)]


def test_id_card_needs_real_region_and_date() -> None:
    bad_region = _id_with_check("93010619900307123")
    bad_date = _id_with_check("33010619901332123")
    assert not pii.valid_cn_id(bad_region)
    assert not pii.valid_cn_id(bad_date)


def test_phone_prefixes_and_longer_digit_runs() -> None:
    assert _kinds("手机13812345678") == [("PHONE", "13812345678")]
    assert _kinds("call +86 138 1234 5678 please") == [("PHONE", "+86 138 1234 5678")]
    # 120 is not a mobile prefix: no phone, though eleven digits nothing else took are masked
    # as some identifier; a mobile inside a longer run is none, though after an identifier's
    # cue such a number is still masked as one
    found = pii.mask("号码12012345678").entities
    assert [(e.kind, e.validated) for e in found] == [("OTHER_ID", False)]
    assert _kinds("订单号9913812345678012") == []
    assert _kinds("检查单编号13812345678901") == [("OTHER_ID", "13812345678901")]


def test_landline_with_area_code() -> None:
    assert ("PHONE", "010-62345678") in _kinds("家里电话010-62345678")


def test_bank_card_luhn() -> None:
    spaced = " ".join(CARD[i : i + 4] for i in range(0, len(CARD), 4))
    assert ("BANK_CARD", spaced) in _kinds(f"退款到卡号{spaced}")
    broken = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert all(k != "BANK_CARD" for k, _ in _kinds(f"退款编号{broken}"))


def test_email_mrn_passport_wechat() -> None:
    kinds = _kinds("邮箱 li.na@example.com，住院号：ZY2023001，护照E12345678，微信号 lina_2020")
    assert ("EMAIL", "li.na@example.com") in kinds
    assert ("MRN", "ZY2023001") in kinds
    assert ("PASSPORT", "E12345678") in kinds
    assert ("WECHAT_ID", "lina_2020") in kinds


def test_other_ids_hk_macau_and_plates() -> None:
    kinds = _kinds("香港身份证A123456(3)，车牌粤B12345，澳门身份证 1234567(8)")
    assert ("OTHER_ID", "A123456(3)") in kinds
    assert ("OTHER_ID", "1234567(8)") in kinds
    assert ("PLATE", "粤B12345") in kinds
    assert ("PLATE", "京A·D12345") in _kinds("新能源车京A·D12345停在地下")
    assert ("PLATE", "AB12 CDE") in _kinds("Parking: my car is AB12 CDE, a blue Ford")
    assert ("PLATE", "7ABC123") in _kinds("license plate 7ABC123, can I park overnight")
    assert _kinds("the plate was cold") == []


def test_qq_numbers_after_their_cue() -> None:
    assert _kinds("报告发我QQ：2837465910吧") == [("QQ", "2837465910")]
    assert _kinds("扣扣 58213947 加一下") == [("QQ", "58213947")]
    kinds = _kinds("QQ邮箱2837465910@qq.com")
    assert kinds == [("EMAIL", "2837465910@qq.com")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("患者出生日期：1987年3月15日，想约胃镜", "1987年3月15日"),
        ("宝宝生日是2023-11-02，打疫苗要带什么", "2023-11-02"),
        ("我妈一九五六年七月八日出生于上海", "一九五六年七月八日"),
        ("1987年3月15日出生，想建档", "1987年3月15日"),
        ("出生日期19870315", "19870315"),
        ("2026年出生的宝宝要打什么疫苗", None),
        ("DOB 15/03/1987, referred by my GP", "15/03/1987"),
        ("she was born on March 15, 1987 in Leeds", "March 15, 1987"),
        ("date of birth: 2nd of May 1990", "2nd of May 1990"),
    ],
)
def test_dates_of_birth_after_their_cue(text: str, value: str | None) -> None:
    dobs = [v for k, v in _kinds(text) if k == "DOB"]
    assert dobs == ([value] if value else [])


def test_a_date_with_no_birth_cue_is_left() -> None:
    assert all(k != "DOB" for k, _ in _kinds("复诊约在2026年3月15日上午"))
    assert all(k != "DOB" for k, _ in _kinds("my appointment is on March 15, 2027"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("电话一三八一二三四五六七八，晚上打", "一三八一二三四五六七八"),
        ("手机 138 1234 5678", "138 1234 5678"),
        ("call me on 9123 4567 after six", "9123 4567"),
        ("公司电话0571-87652913转8021", "0571-87652913转8021"),
        ("ring +44 20 7946 0958 ext. 204 please", "+44 20 7946 0958 ext. 204"),
    ],
)
def test_phone_shapes(text: str, value: str) -> None:
    assert ("PHONE", value) in _kinds(text)


def test_eight_digits_without_a_phone_cue_are_not_a_phone() -> None:
    assert _kinds("化验单编号 9123 4567") == []


def test_address_street_level_only() -> None:
    kinds = _kinds("我住在杭州市西湖区文三路138号东方大厦5楼502室，请问去你们医院心内科怎么走")
    assert kinds[0][0] == "ADDRESS"
    assert kinds[0][1].startswith("杭州市西湖区文三路138号")
    assert _kinds("我在杭州，想挂心内科") == []
    assert _kinds("请问北京协和医院的急诊科在几楼") == []
    # the town after a street address belongs to it; a bare town does not (above)
    assert ("ADDRESS", "221 Baker Street, London") in _kinds("I live at 221 Baker Street, London")


@pytest.mark.parametrize(
    "text",
    [
        "连翘和柴胡能一起煮水喝吗",
        "杜仲泡水喝有什么作用",
        "当归黄芪汤适合什么人",
        "今天小雨，体温38.5度",
    ],
)
def test_herbs_and_common_words_are_not_names(text: str) -> None:
    res = mask(text)
    assert res.entities == ()
    assert res.text == text


def test_names_with_cues_and_titles() -> None:
    assert ("PERSON", "周建国") in _kinds("家属周建国想问一下探视时间")
    assert ("PERSON", "李") in _kinds("患者姓李，今年六十岁")
    assert ("PERSON", "陈思远") in _kinds("陈思远医生今天出诊吗")
    assert ("PERSON", "Emily Clark") in _kinds("Hi, my name is Emily Clark")
    assert ("PERSON", "Patel") in _kinds("Is Dr. Patel available on Monday?")
    assert _kinds("I'm worried about my cough") == []


def test_medical_numbers_are_kept() -> None:
    text = "血压150/95，血糖7.8，布洛芬0.3g吃了一片"
    assert mask(text).text == text


def test_vault_is_stable_across_messages() -> None:
    vault = Vault()
    first = mask("我叫赵雅琴，电话13912345678", vault=vault)
    second = mask("电话是139 1234 5678，赵雅琴是我本人，备用号码13587654321", vault=vault)
    assert first.text == "我叫[姓名1]，电话[电话1]"
    assert "[电话1]" in second.text and "[电话2]" in second.text
    assert "[姓名1]" in second.text
    assert len(vault) == 3
    assert vault.restore("请拨打[电话1]联系[姓名1]") == "请拨打13912345678联系赵雅琴"


def test_vault_language_follows_first_use() -> None:
    vault = Vault()
    mask("my email is a.b@example.org", vault=vault)
    res = mask("我的邮箱是c.d@example.org", vault=vault)
    assert res.text == "我的邮箱是[EMAIL_2]"


def test_placeholder_language_from_lang_or_detection() -> None:
    assert mask("tel 13812345678", lang="zh").text == "tel [电话1]"
    assert mask("my phone is 13812345678").text == "my phone is [PHONE_1]"


def test_vault_round_trip() -> None:
    vault = Vault()
    mask("我叫孙丽华，邮箱slh@example.com", vault=vault)
    data = vault.to_bytes()
    again = Vault.from_bytes(data)
    assert len(again) == len(vault)
    assert "[邮箱1]" in again
    assert again.restore("[姓名1]/[邮箱1]") == "孙丽华/slh@example.com"
    assert again.placeholder_for("PHONE", "13800001111", "en") == "[电话1]"
    assert again.placeholder_for("PERSON", "孙丽华", "zh") == "[姓名1]"
    assert again.placeholder_for("PERSON", "另一人", "zh") == "[姓名2]"


def test_vault_from_bad_bytes_names_no_values() -> None:
    with pytest.raises(VaultFormatError) as info:
        Vault.from_bytes(b'{"format": 1, "entries": [{"kind": "PHONE", "value": "13812345678"}]}')
    assert "13812345678" not in str(info.value)
    with pytest.raises(VaultFormatError):
        Vault.from_bytes(b"\xff\xfe")


def test_repr_never_shows_values() -> None:
    vault = Vault()
    res = mask("我叫钱多多，手机13612345678", vault=vault)
    for shown in (repr(vault), repr(res), repr(res.entities[0]), str(res.entities)):
        assert "13612345678" not in shown
        assert "钱多多" not in shown
    assert isinstance(res.entities[0], Entity)


def test_placeholder_re_matches_both_languages() -> None:
    for ph in ("[电话1]", "[姓名12]", "[PHONE_1]", "[WECHAT_ID_3]", "[证件号2]"):
        assert PLACEHOLDER_RE.fullmatch(ph)
    for not_ph in ("[电话]", "[PHONE]", "[1]", "[PHONE_0]", "[xx_1]"):
        assert not PLACEHOLDER_RE.fullmatch(not_ph)
    assert pii.kind_of("[病历号2]") == "MRN"
    assert pii.kind_of("[ID_CARD_1]") == "ID_CARD"


def test_unknown_kind_is_rejected_without_value() -> None:
    with pytest.raises(ValueError) as info:
        Vault().placeholder_for("SECRET", "13812345678", "zh")
    assert "13812345678" not in str(info.value)


def test_vault_remasks_names_seen_earlier_without_a_cue() -> None:
    vault = Vault()
    mask("我叫欧阳娜娜", vault=vault)
    res = mask("欧阳娜娜明天来复查", vault=vault)
    assert res.text == "[姓名1]明天来复查"
    assert res.entities[0].start == 0 and res.entities[0].end == 4


# --- families added in the second round (own sentences) -----------------------------------


def _by_kind(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in pii.mask(text).entities:
        out.setdefault(e.kind, []).append(e.value)
    return out


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("My inpatient number is 2019887766, can you find my scans?", "MRN", "2019887766"),
        ("the hospital number there was KX55012398", "MRN", "KX55012398"),
        ("French passport 18AB93021, arriving Monday", "PASSPORT", "18AB93021"),
        ("Add me on WeChat, my ID is lily_chen2024", "WECHAT_ID", "lily_chen2024"),
        ("我的社保卡号是B12837465，能报销吗", "OTHER_ID", "B12837465"),
        ("Call my brother on +44 7700 900455", "PHONE", "+44 7700 900455"),
        ("家住杭州市西湖区文三道12号5栋301", "ADDRESS", "杭州市西湖区文三道12号5栋301"),
        (
            "Send it to Flat 3C, 12 Garden Road, Central, Hong Kong.",
            "ADDRESS",
            "Flat 3C, 12 Garden Road, Central, Hong Kong",
        ),
    ],
)
def test_second_round_structured_families(text: str, kind: str, value: str) -> None:
    assert value in _by_kind(text).get(kind, []), pii.mask(text).entities


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("孩子韩一航，今天复诊", "韩一航"),  # cue 孩子, 一 is rare in dictionary names
        ("我老婆孙小雪昨天住院了", "孙小雪"),  # kinship cue; 小雪 is also a weather word
        ("患者江雨，女，30岁，青霉素过敏", "江雨"),  # demographic right context
        ("宋立伟主任让我下周复查", "宋立伟"),  # title after the name
        ("住在三楼的秦建国是我爸", "秦建国"),  # "是我爸" after the name
        ("杨晓东昨天开始咳嗽", "杨晓东"),  # subject slot: a time word follows
        ("Please contact my sister Nora Lindqvist.", "Nora Lindqvist"),
        ("Oliver Grant is my husband.", "Oliver Grant"),
    ],
)
def test_second_round_name_families(text: str, name: str) -> None:
    assert name in _by_kind(text).get("PERSON", []), pii.mask(text).entities


@pytest.mark.parametrize(
    "text",
    [
        "谷丙转氨酶偏高要紧吗",  # lab test, not 谷 + 丙
        "吃了莫沙必利还是胀",  # drug after 吃, before a drug morpheme
        "那医生说没事，和同学一起去的",  # function words before titles are not surnames
        "节假日是门诊高峰吗",  # a two-character dictionary "name" with no cue
        "麻醉后多久能吃东西",
    ],
)
def test_second_round_medical_words_are_not_names(text: str) -> None:
    assert "PERSON" not in _by_kind(text), pii.mask(text).entities


@pytest.mark.parametrize(
    "text",
    [
        "我老公和宝宝都咳嗽",  # 和 after a kinship cue is the word "and", not a surname
        "有同事来家说这是哮喘",  # 来 + 家, a guess the name model does not share
        "我家孩子常嗳气",  # 常 "often", after a cue
        "帕金森病人手抖怎么办",  # an eponymous disease
        "我妈有克罗恩病",  # the name model reads 克罗恩病 whole; it ends in 病
        "化验单上白蛋白偏低要紧吗",  # a lab value that starts with a surname character
    ],
)
def test_function_words_lab_values_and_eponyms_are_not_names(text: str) -> None:
    assert "PERSON" not in _by_kind(text), pii.mask(text).entities


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我妈妈张秀英病了三天", "张秀英"),  # a person falls ill: 病了 is no eponym
        ("患者李娜病情加重了", "李娜"),
        ("我同事高建平发烧了", "高建平"),  # 高 is also "high": the name model agrees here
        ("孩子常乐乐今天咳嗽", "常乐乐"),
    ],
)
def test_names_next_to_disease_words_and_function_surnames_are_kept(text: str, name: str) -> None:
    assert name in _by_kind(text).get("PERSON", []), pii.mask(text).entities


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # transliterated names with middle dots are one name, however many dots
        ("患者阿卜杜勒·卡里姆·哈米德今天复查", "阿卜杜勒·卡里姆·哈米德"),
        ("翻译叫玛丽亚·费尔南达·冈萨雷斯", "玛丽亚·费尔南达·冈萨雷斯"),
        ("会诊专家亚历山德罗·德尔·皮耶罗明天到", "亚历山德罗·德尔·皮耶罗"),
        # a name between two names of an unpunctuated list, though 超人 is also a word
        ("排班表：汪卫平汪海涛韩超人陶秀琴", "韩超人"),
        # chat handles with letters, digits, "_" or "-"
        ("@lily_chen 明天复诊吗", "lily_chen"),
        ("我在群里@王小红-护士长 了", "王小红-护士长"),
    ],
)
def test_dotted_names_list_gaps_and_handles(text: str, name: str) -> None:
    assert name in _by_kind(text).get("PERSON", []), pii.mask(text).entities


@pytest.mark.parametrize(
    "text",
    [
        "《西游记·第三回》讲了什么",  # a dot in a title with a numeral
        "上午·下午各吃一次",  # everyday words on both sides of the dot
        "@所有人 明天停诊",  # a group-wide mention
        "联系 li.na@example.com 谢谢",  # an e-mail address is no handle
    ],
)
def test_dots_and_at_signs_that_are_not_names(text: str) -> None:
    assert "PERSON" not in _by_kind(text), pii.mask(text).entities


def test_a_transliterated_name_before_a_title_is_masked() -> None:
    # 加, 西, 亚 are transliteration characters and 大夫 a title; no dictionary knows the name
    assert _by_kind("护士说加西亚大夫下午到").get("PERSON") == ["加西亚"]
    assert "PERSON" not in _by_kind("去丹麦医生说要复查")  # a country is not a name


def test_a_name_found_once_is_masked_wherever_it_recurs() -> None:
    res = mask("I will ask Dr. Grant; Grant said it will heal")
    assert res.text == "I will ask Dr. [PERSON_1]; [PERSON_1] said it will heal"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我叫乐乐。", "乐乐"),  # after 我叫, a name needs no surname
        ("我女儿名字叫安妮，今年三岁", "安妮"),
        ("一个名叫瓦里的男孩", "瓦里"),
        ("主治医生是索菲娅·瓦西里斯，人很好", "索菲娅·瓦西里斯"),
    ],
)
def test_names_after_naming_words_and_foreign_names_cut_short(text: str, name: str) -> None:
    assert name in _by_kind(text).get("PERSON", []), pii.mask(text).entities


@pytest.mark.parametrize("text", ["我叫做什么检查比较好？", "本人很好。", "名字是什么意思"])
def test_naming_words_before_everyday_words(text: str) -> None:
    assert "PERSON" not in _by_kind(text), pii.mask(text).entities


@pytest.mark.parametrize(
    "text",
    [
        "医生开了洛赛克和斯达舒，可以一起吃吗",  # brand names of stomach medicines
        "体检报告上谷丙62，谷草40，要紧吗",  # ALT and AST by their Chinese short names
        "乌鸡白凤丸和六味地黄丸能一起吃吗",  # patent medicines
        "艾灸能缓解阴虚阳亢吗",  # Chinese medicine practice and terms
        "医生说艾普拉唑比奥美拉唑好吗",  # a drug the name model likes, but 唑 ends no name
    ],
)
def test_medicines_lab_values_and_chinese_medicine_terms_are_not_names(text: str) -> None:
    res = mask(text)
    assert res.text == text, res.entities


@pytest.mark.parametrize(
    "text", ["请把钱退到这张卡上", "拍了两张片子，医生说没事", "每周三复查一次", "开了三支药膏"]
)
def test_surname_characters_used_as_measure_words_are_not_names(text: str) -> None:
    assert "PERSON" not in _by_kind(text), pii.mask(text).entities


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("this is sarah connor, my mum is in ward 5", "sarah connor"),
        ("hi, my name is li na and i have a fever", "li na"),
        ("Dr. O'Brien said i need a scan", "O'Brien"),
        ("我叫Emily Zhou，想约体检", "Emily Zhou"),
        ("can i book under the name cheung siu ming", "cheung siu ming"),
        ("i'm worried about my son jack", "jack"),
        ("my daughter amy's rash is worse", "amy"),
        ("mother of min-jun kim here", "min-jun kim"),
        ("ok thanks, priya", "priya"),
        ("Yesterday Kevin Wong called the ward", "Kevin Wong"),
    ],
)
def test_names_in_latin_letters_after_their_cues(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "the doctor said it is fine",
        "i'm sorry to bother you, i'm free after 3pm",
        "I Have Chest Pain Since Monday",
        "we flew in from Hong Kong last week",
        "i am having headaches, this is my third message",
        "can i take it with food",
    ],
)
def test_ordinary_english_is_not_a_name(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("就诊卡号 8800 2317 5546，卡丢了能补办吗", "MRN", "8800 2317 5546"),
        ("我个门诊号系HN208177346，想改时间", "MRN", "HN208177346"),
        ("clinic card CC-0048213 is lost", "MRN", "CC-0048213"),
        ("商业保险会员号PA-88203417，理赔要什么", "OTHER_ID", "PA-88203417"),
        ("社保卡卡号S73918264，刷卡失效", "OTHER_ID", "S73918264"),
        ("my Medicare no. 4TW7-QP2-HN51", "OTHER_ID", "4TW7-QP2-HN51"),
        ("车牌粤Z·B123港的车能停吗", "PLATE", "粤Z·B123港"),
        ("My car 7KXM482 is in P2", "PLATE", "7KXM482"),
        ("电话 幺八六 零二三五 七七一九", "PHONE", "幺八六 零二三五 七七一九"),
        (
            "my number is one three eight one two three four five six seven eight",
            "PHONE",
            "one three eight one two three four five six seven eight",
        ),
        ("pls text 07911 123456 when it's in", "PHONE", "07911 123456"),
        ("contact number for her is 6123 4567, mine is 9876 5432", "PHONE", "9876 5432"),
        ("my DOB is 11/22/1983", "DOB", "11/22/1983"),
        ("我爸的老身份证是15位的：320102510823151", "ID_CARD", "320102510823151"),
    ],
)
def test_identifier_shapes_after_their_cues(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_a_card_number_is_not_read_as_a_plate() -> None:
    kinds = _kinds("Could you refund to my card 4539 1488 0343 6467?")
    assert kinds == [("BANK_CARD", "4539 1488 0343 6467")]


def test_hong_kong_id_with_a_wrong_check_after_its_cue() -> None:
    res = pii.mask("我个身份证K482915(5)，系统话唔啱")
    assert [(e.kind, e.value, e.validated) for e in res.entities] == [
        ("OTHER_ID", "K482915(5)", False)
    ]
    # after a cue of no identifier in particular: masked, but not read as a Hong Kong ID
    assert [(e.kind, e.validated) for e in pii.mask("编号K482915(5)").entities] == [
        ("OTHER_ID", False)
    ]
    assert pii.mask("样本K482915(5)").entities == ()


def test_a_name_stops_where_a_disease_starts() -> None:
    res = mask("患者王芳糖尿病复诊，约哪天")
    assert [e.value for e in res.entities if e.kind == "PERSON"] == ["王芳"]
    assert "糖尿病复诊" in res.text


@pytest.mark.parametrize(
    "text",
    [
        "帕金森一直吃美多芭，最近手抖更厉害了",
        "欧姆龙血压计测出来150/95，要加药吗",
        "孙逸仙纪念医院可以做核磁吗",
        "周几有专家门诊？",
        "I'm a Parkinson's patient, can I take this?",
    ],
)
def test_eponyms_brands_places_and_weekdays_are_not_names(text: str) -> None:
    assert [v for k, v in _kinds(text) if k == "PERSON"] == []


def test_a_full_name_before_a_staff_title_is_still_masked() -> None:
    assert ("PERSON", "韩雪梅") in _kinds("请问韩雪梅副主任医师周几有门诊")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Chan Tai Man，想问体检report几时出", "Chan Tai Man"),
        ("我叫José García，在广州工作", "José García"),
        ("德国病人Anna Müller需要英文病历", "Anna Müller"),
        ("韩国留学生Min-jun Park要办门诊卡", "Min-jun Park"),
        ("James Wilson is my husband", "James Wilson"),
    ],
)
def test_capitalised_names_of_many_origins(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_a_title_stays_outside_the_name() -> None:
    assert mask("张医生说下周一复查").text == "[姓名1]医生说下周一复查"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hi this is sarah whitlock, booked derm for monday", "sarah whitlock"),
        ("Leila here, my WeChat is leila-h_1990", "Leila"),
        ("pls text me when it's in, ta. Ryan", "Ryan"),
    ],
)
def test_names_in_chat_shapes(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_part_of_a_latin_name_recurs() -> None:
    kinds = _kinds("I'm the mother of Ethan Clarke, he's 4. Can Ethan come in today?")
    assert ("PERSON", "Ethan Clarke") in kinds
    assert ("PERSON", "Ethan") in kinds


@pytest.mark.parametrize(
    ("text", "word"),
    [
        # a writer who capitalises names and "I" wrote the word in lower case: a word there
        ("Hope Ng here. I hope the clinic is open on Friday.", "hope"),
        ("Brook Lam speaking. The brook by our house flooded and I cut my foot.", "brook"),
        # one part of a name after "from"/"在": a place there
        ("Austin Reed is my son; we come from Austin.", "Austin"),
    ],
)
def test_a_name_does_not_recur_as_a_word_or_a_place(text: str, word: str) -> None:
    masked = pii.mask(text).text
    assert word in masked
    assert "PERSON_1" in masked


@pytest.mark.parametrize(
    "text",
    [
        "We live near Preston, is there a clinic closer to us for the dressing change?",
        "I'm travelling to Florence next week, can I take my insulin pens on the plane?",
        "女儿在Madison上大学，放假回来想做个体检",
        "The neurologist thinks it could be Bell's palsy, is that serious?",
    ],
)
def test_one_latin_word_is_a_place_or_a_disease_there(text: str) -> None:
    assert not [e for e in pii.mask(text).entities if e.kind == "PERSON"]


def test_a_name_after_from_is_still_a_name_when_nobody_comes_from_it() -> None:
    kinds = _kinds("can i change the name on the booking from ellie to ellie tran-nguyen")
    assert ("PERSON", "ellie") in kinds


def test_a_name_recurs_in_lower_case_when_the_writer_types_so() -> None:
    kinds = _kinds("hi, i'm rohan, booked under Rohan Mehta for the 10:30 scan")
    assert ("PERSON", "rohan") in kinds


@pytest.mark.parametrize(
    ("text", "persons"),
    [
        ("Can my friend park at the hospital?", []),
        ("Flat B, Tak Fung Building is where I live", []),
        ("this is sarah checking in about my results", ["sarah"]),
    ],
)
def test_places_and_verbs_are_not_taken_into_names(text: str, persons: list[str]) -> None:
    assert [v for k, v in _kinds(text) if k == "PERSON"] == persons


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("地址：四川省成都市武侯区玉林北路附3号，麻烦寄发票", "四川省成都市武侯区玉林北路附3号"),
        (
            "我家在湖南省邵阳市隆回县石门乡青山村三组27号，离医院远",
            "湖南省邵阳市隆回县石门乡青山村三组27号",
        ),
        (
            "我住广州市越秀区中山三路东园新村5栋303房，离医院近",
            "广州市越秀区中山三路东园新村5栋303房",
        ),
        ("寄江苏省南京市鼓楼区北京西路9号4幢301室", "江苏省南京市鼓楼区北京西路9号4幢301室"),
        (
            "住浙江省杭州市西湖区古荡新村东区11幢3单元302，电话",
            "浙江省杭州市西湖区古荡新村东区11幢3单元302",
        ),
        ("我住新界沙田禾輋邨丰和楼1023室，可以寄药吗", "新界沙田禾輋邨丰和楼1023室"),
        ("我地址系香港北角英皇道420号海景楼15楼A室", "香港北角英皇道420号海景楼15楼A室"),
        (
            "请寄到天津市南开区鞍山西道雅安里21号楼3门501，谢谢",
            "天津市南开区鞍山西道雅安里21号楼3门501",
        ),
        (
            "send it to Flat B, 12/F, Tak Fung Building, 38 Nathan Road, Tsim Sha Tsui, Kowloon.",
            "Flat B, 12/F, Tak Fung Building, 38 Nathan Road, Tsim Sha Tsui, Kowloon",
        ),
        (
            "post it to 14 Willow Close, Didsbury, Manchester M20 6LT, thanks",
            "14 Willow Close, Didsbury, Manchester M20 6LT",
        ),
        (
            "my address is 123 Main St, Apt 4, Springfield, IL 62704",
            "123 Main St, Apt 4, Springfield, IL 62704",
        ),
        (
            "Her address is Room 1506, Block 2, Tai Po Centre, Tai Po, N.T. Please send",
            "Room 1506, Block 2, Tai Po Centre, Tai Po, N.T.",
        ),
        ("please post it to PO Box 8827, Dubai, UAE. - Hamad", "PO Box 8827, Dubai, UAE"),
    ],
)
def test_addresses_as_a_structure(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "我在广州市越秀区看病",
        "中山三路怎么走？",
        "住院部在3号楼5层吗",
        "walk 200 metres down the road",
    ],
)
def test_places_without_a_house_are_not_addresses(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("this is ciarán murphy, my new number is below", "ciarán murphy"),
        ("我女儿Chloe发烧38.9，今天能看吗", "Chloe"),
        ("Tom 说他明天来探病", "Tom"),
        ("请寄到这里, attn Kevin", "Kevin"),
        ("Liu Jianhua's results - are they back?", "Liu Jianhua"),
        ("Appointment for my daughter Ananya Iyer, she has a rash", "Ananya Iyer"),
    ],
)
def test_latin_names_in_mixed_and_informal_text(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_chat_shorthand_and_contractions_end_a_name() -> None:
    assert ("PERSON", "sean") in _kinds("its HK0099127 i think. im sean btw")
    assert ("PERSON", "Li Na") in _kinds("could you tell Dr. Li Na I'll be late?")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Q号 4816119013，有空加一下", "QQ", "4816119013"),
        ("我的qq是 135 748 616，微信不常用", "QQ", "135 748 616"),
        ("545827864是我QQ，加的时候备注", "QQ", "545827864"),
        ("出生年月 1990.06", "DOB", "1990.06"),
        ("1992年出生，想问乳腺筛查几岁开始", "DOB", "1992年"),
        ("出生日期为1968年元月6日", "DOB", "1968年元月6日"),
        ("老人家生日是农历1965年腊月初八", "DOB", "1965年腊月初八"),
        ("DOB - 21st Aug '82", "DOB", "21st Aug '82"),
        ("born in 1974, need a referral", "DOB", "1974"),
        ("生日：5月20日，能出院吗", "DOB", "5月20日"),
        ("我的证件：220104198101026670，能结算吗", "ID_CARD", "220104198101026670"),
        ("my old ID (15 digits): 610113461208768", "ID_CARD", "610113461208768"),
        ("reach me at 98765432 (HK number)", "PHONE", "98765432"),
        ("car reg AB12 CDE, do I need a permit?", "PLATE", "AB12 CDE"),
        # a birth date in Chinese numerals after its cue, a year with an apostrophe
        ("我外婆生于一九四二年，最近老是忘事", "DOB", "一九四二年"),
        ("孩子生日：腊月初八，打疫苗要带什么", "DOB", "腊月初八"),
        ("she was born in '85 and is a smoker", "DOB", "'85"),
        # a North American layout needs no cue; an Australian number after one
        ("US office (415) 867-5309, please forward my results", "PHONE", "(415) 867-5309"),
        ("or 303.555.0182 after five", "PHONE", "303.555.0182"),
        ("text me on 0412 345 678 when the report is ready", "PHONE", "0412 345 678"),
    ],
)
def test_identifier_formats(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_an_id_shaped_number_after_an_id_cue_is_no_bank_card() -> None:
    kinds = _kinds("我证件号450103196407053031，在住院部")
    assert [k for k, _ in kinds] == ["ID_CARD"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("No.110105198703152318 is my id", "110105198703152318"),
        ("110105198703152319是我身份证号", "110105198703152319"),
        ("身份证 11010519870315231，少打了一位", "11010519870315231"),
    ],
)
def test_id_numbers_with_the_cue_after_or_a_digit_missing(text: str, value: str) -> None:
    assert ("ID_CARD", value) in _kinds(text)


def test_decimals_are_not_the_start_of_a_number() -> None:
    assert _kinds("血糖7.8，订单号见附件") == []


def test_a_common_english_given_name_and_a_capital_after_it_need_no_cue() -> None:
    assert ("PERSON", "Tyler Brooks") in _kinds("Tyler Brooks - SSN on file, is this chat secure?")
    # a name only somewhere else in the world does not start one at the start of a sentence
    assert _kinds("Mite Infestation: what is the treatment?") == []


def test_phone_numbers_among_other_numbers_in_english_prose() -> None:
    text = "Take 2 tablets at 8 am. Call 020 7946 0958 or 0161 496 0734 if you feel worse on day 3."
    assert [v for k, v in _kinds(text) if k == "PHONE"] == ["020 7946 0958", "0161 496 0734"]


@pytest.mark.parametrize(
    "text", ["张仲景大药房有卖吗", "王老吉凉茶可以喝吗", "李时珍的本草纲目说", "王芳牌降压茶能喝吗"]
)
def test_brands_shops_and_physicians_of_history_are_not_patients(text: str) -> None:
    assert mask(text).text == text


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "update my address to Unit 1507, 88 Harbour St, Toronto, ON M5J 0C3.",
            "Unit 1507, 88 Harbour St, Toronto, ON M5J 0C3",
        ),
        (
            "we're renting 3/27 Beach Rd, Bondi NSW 2026 for six weeks",
            "3/27 Beach Rd, Bondi NSW 2026",
        ),
        (
            "Address: Blk 456 Ang Mo Kio Ave 10, #08-1234, Singapore 560456",
            "Blk 456 Ang Mo Kio Ave 10, #08-1234, Singapore 560456",
        ),
        (
            "Ship to No. 17 Xinyuan South Road, Chaoyang District, Beijing 100027 please.",
            "No. 17 Xinyuan South Road, Chaoyang District, Beijing 100027",
        ),
        (
            "pls send to flat 9b 60 lordship lane london se22 8hj thx",
            "flat 9b 60 lordship lane london se22 8hj",
        ),
        ("We are at RR 2 Box 145, Pella, IA 50219. It's a farm", "RR 2 Box 145, Pella, IA 50219"),
        (
            "Dublin address: 4 Haddington Road, Ballsbridge, Dublin 4, D04 C932. Please use it",
            "4 Haddington Road, Ballsbridge, Dublin 4, D04 C932",
        ),
    ],
)
def test_addresses_of_many_countries_in_english(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Appointment for J. Smith at 9:15 tomorrow", "J. Smith"),
        ("DMITRI VOLKOV\nROOM 815\nPLEASE SEND SOMEONE", "DMITRI VOLKOV"),
        ("Could you tell Agnieszka Wiśniewska that her results are in?", "Agnieszka Wiśniewska"),
        ("I'd like to come in with Tomáš Novák, my partner", "Tomáš Novák"),
    ],
)
def test_names_with_initials_capitals_accents_and_everyday_cues(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_everyday_cues_take_no_capitalised_word_that_is_not_a_name() -> None:
    assert _kinds("The pharmacist gave me Panadol Extra for it") == []
    assert _kinds("he has Alzheimer's and Hodgkin lymphoma in remission") == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Both my parents are booked: Ahmed and Samira Haddad, 9am.", ["Ahmed", "Samira Haddad"]),
        ("Hello, this is Zhang Li (Zoe). I need a doctor", ["Zhang Li", "Zoe"]),
        ("Hi there, Sofia's mum here. Sofia has a rash", ["Sofia"]),
        ("PLEASE CALL MY SON ADEBAYO BEFORE THE OPERATION", ["ADEBAYO"]),
    ],
)
def test_names_beside_names_and_in_capitals(text: str, names: list[str]) -> None:
    found = [v for k, v in _kinds(text) if k == "PERSON"]
    assert all(n in found for n in names), found


def test_a_capitalised_word_after_a_name_and_a_comma_is_not_taken() -> None:
    assert ("PERSON", "Whats") not in _kinds("I'm Winnie Tsang, WhatsApp doesn't work here")
    assert "German" not in [v for _, v in _kinds("Ahmed speaks Farsi and German")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Andrei Popescu asked me to confirm his colonoscopy prep", "Andrei Popescu"),
        ("My mother-in-law Nimali Perera has type 2 diabetes", "Nimali Perera"),
        ("Ivana Petrović from Zagreb - following up on my email", "Ivana Petrović"),
    ],
)
def test_capitalised_names_that_act_as_a_person_does(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm Chinese-Canadian, is my resident ID enough?",
        "hey u guys have my hospital number? its HK0099127 i think",
        "Grace Baptist Church has a shuttle to the hospital",
    ],
)
def test_nationalities_abbreviations_and_institutions_are_not_names(text: str) -> None:
    assert [v for k, v in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("my NRIC is S1234567D, please update", "OTHER_ID", "S1234567D"),
        ("SSN 532-41-8876 for the billing dispute", "OTHER_ID", "532-41-8876"),
        ("MyKad 900101-14-5678 for registration", "OTHER_ID", "900101-14-5678"),
        ("健保卡號 0000 1234 5678 過期了", "OTHER_ID", "0000 1234 5678"),
        ("i forgot my clinic card at home, the number is C0045821.", "MRN", "C0045821"),
        ("the courier should call first on (641) 555-0148", "PHONE", "(641) 555-0148"),
    ],
)
def test_more_identifiers_of_other_countries(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_codes_and_ranges_are_not_phones() -> None:
    assert _kinds("Gluten information. Re:NDC# 0115-0672-50") == []
    # an NRIC's shape whose check letter fails is no checked NRIC, but still a code nothing
    # else took: masked, unvalidated
    found = pii.mask("S1234567A is not a checked NRIC").entities
    assert [(e.kind, e.validated) for e in found] == [("OTHER_ID", False)]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "My address in Montreal is 4150 rue Saint-Denis, app. 6, Montréal QC H2W 2M5.",
            "4150 rue Saint-Denis, app. 6, Montréal QC H2W 2M5",
        ),
        (
            "We're at 23 Jalan Kechubong, Singapore 466331 - landed house",
            "23 Jalan Kechubong, Singapore 466331",
        ),
        (
            "apt 4, 419 n elm st, springfield, il 62702 - thats my address",
            "apt 4, 419 n elm st, springfield, il 62702",
        ),
        (
            "MY ADDRESS IS 1600 WALNUT ST APT 3 PHILADELPHIA PA 19103",
            "1600 WALNUT ST APT 3 PHILADELPHIA PA 19103",
        ),
        (
            "new address: Unit 4/18 Smith Street, Fitzroy VIC 3065",
            "Unit 4/18 Smith Street, Fitzroy VIC 3065",
        ),
        (
            "My mailing address:\n55 Kent Street, Apt 910\nOttawa, Ontario K1P 5N8\nCanada",
            "55 Kent Street, Apt 910\nOttawa, Ontario K1P 5N8\nCanada",
        ),
    ],
)
def test_addresses_in_one_case_with_street_words_first_and_a_country(
    text: str, address: str
) -> None:
    assert ("ADDRESS", address) in _kinds(text)


def test_a_number_laid_out_as_a_card_is_masked_whole_even_when_its_check_fails() -> None:
    broken = "6217 0000 1234 5678"  # the layout of a card, a digit mistyped
    assert _kinds(f"退款请打到我的卡 {broken}") == [("BANK_CARD", broken)]
    assert _kinds("my card 4000-1234-5678-9011-123 was charged twice") == [
        ("BANK_CARD", "4000-1234-5678-9011-123")
    ]
    # An eight-digit local phone is never taken out of the middle of a longer run of groups.
    assert all(k != "PHONE" for k, _ in _kinds(f"打到 {broken}"))
    assert ("PHONE", "9123 4567") in _kinds("call me on 9123 4567 tonight")


def test_an_identifier_found_in_part_by_one_reading_is_masked_whole() -> None:
    """A mistyped Hong Kong ID after its cue: its check digit in brackets goes with it."""
    result = mask("香港身份证 A123456(7)，请帮我改预约")
    assert "A123456" not in result.text and "(7)" not in result.text


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("出生于1990年，最近血压高", "1990年"),
        ("85年生的，男，最近失眠", "85年"),
        ("my birthday is 20 March, can I book that week", "20 March"),
        ("DOB 03-Mar-1985, referral attached", "03-Mar-1985"),
        ("born on March 3rd", "March 3rd"),
    ],
)
def test_dates_of_birth_in_more_shapes(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


def test_a_year_is_no_date_of_birth_without_its_cue() -> None:
    assert _kinds("2026年出生的宝宝什么时候打疫苗") == []
    assert _kinds("1990年我在北京工作") == []
    assert _kinds("出生于1990年3月") == [("DOB", "1990年3月")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # the person a visit is booked or registered for
        ("预约人：欧阳清扬，周三上午", "欧阳清扬"),
        ("就诊人 慕容秋水 已经缴费", "慕容秋水"),
    ],
)
def test_booking_cues_name_the_person_booked_for(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_a_naming_cue_before_an_everyday_word_masks_nothing() -> None:
    assert _kinds("我叫了救护车，现在去医院") == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        # identifiers in groups, as read off a card or a page
        ("HKID: A 123 456 (3), for the eye clinic", "OTHER_ID", "A 123 456 (3)"),
        ("澳门身份证 1/234567/8，想问登记", "OTHER_ID", "1/234567/8"),
        ("passport E 1234 5678, for the travel vaccine letter", "PASSPORT", "E 1234 5678"),
        # a phone dialled from abroad, or with its region's code and no "+"
        ("call me on 0044 20 7946 0321 after six", "PHONE", "0044 20 7946 0321"),
        ("电话 852-9123 4567，周六来", "PHONE", "852-9123 4567"),
        ("台湾手机 0912-345-678，报告寄电子版", "PHONE", "0912-345-678"),
        # an address spelt out against harvesters
        (
            "email: chen.ming2020 at 163 dot com for the report",
            "EMAIL",
            "chen.ming2020 at 163 dot com",
        ),
        ("send it to l.wong [at] gmail [dot] com please", "EMAIL", "l.wong [at] gmail [dot] com"),
        # a particle between the channel and the handle
        ("加我微信吧 wang_lei1988，发片子", "WECHAT_ID", "wang_lei1988"),
        # birth dates with a calendar, a day in words, a year in two digits
        ("外婆1940年农历八月十五出生，能做胃镜吗", "DOB", "1940年农历八月十五"),
        ("DOB: the fourteenth of July 1975", "DOB", "the fourteenth of July 1975"),
        ("born Oct 3 '68, need a repeat prescription", "DOB", "Oct 3 '68"),
    ],
)
def test_identifiers_in_the_shapes_people_write_them(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_a_card_number_in_groups_after_its_cue_is_masked() -> None:
    text = "诊疗卡卡号是 6600 3217 6654 09，补卡要带什么"
    assert "6654" not in mask(text).text
    assert "3217" not in mask("my insurance card number is 3101 2238 4417, the Shanghai one").text
    assert _kinds("化验单编号 9123 4567") == []  # eight digits: no card


def test_spelt_shapes_leave_plain_words_and_readings_alone() -> None:
    assert _kinds("I will be at home tonight, dot me a message") == []
    assert _kinds("血压 140/90，心率 86 次，体重 86 公斤") == []
    assert _kinds("the official WeChat account says it's closed") == []
    assert _kinds("2026年三月五号复诊") == []


def test_an_identifier_corrected_or_mistyped_is_masked_both_times() -> None:
    text = "sorry typo, my NHS number is 943 476 5919 not 943 476 5910"
    assert "5919" not in mask(text).text and "5910" not in mask(text).text
    assert _kinds("住院号 20230881, 不对是 20230818") == [("MRN", "20230881"), ("MRN", "20230818")]
    assert _kinds("MRN 4410298, or maybe 4410289") == [("MRN", "4410298"), ("MRN", "4410289")]
    # a number of the same shape that differs in more places is something else
    assert "20261204889" in mask("手机13912345678，药房配送单 20261204889 到了吗").text


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("王建国/男/1962-07-14/住院", "1962-07-14"),
        ("she turns 5 on the 9th of Feb and needs her jabs", "the 9th of Feb"),
        ("我生日是87.3.5，病历上写错了", "87.3.5"),
    ],
)
def test_dates_of_birth_in_forms_ages_and_short_years(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


def test_dates_without_a_birth_are_left_alone() -> None:
    assert _kinds("take 2 on 14 July, 复诊日期 26.12.10") == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我手机是一三九2207八八五六，麻烦回电", "一三九2207八八五六"),
        ("电话 133 八八六二 0147，白天都在", "133 八八六二 0147"),
    ],
)
def test_a_phone_written_half_in_chinese_numerals_is_masked(text: str, number: str) -> None:
    m = mask(text)
    assert number not in m.text
    assert [e.kind for e in m.entities] == ["PHONE"]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Please call my wife on (+86) 185-0217-3394 tonight.", "(+86) 185-0217-3394"),
        ("家里电话(02)2758-6641，晚上有人", "(02)2758-6641"),
    ],
)
def test_a_country_or_area_code_in_brackets_is_part_of_the_phone(text: str, number: str) -> None:
    m = mask(text)
    (e,) = [e for e in m.entities if e.kind == "PHONE"]
    assert text[e.start : e.end] == number


@pytest.mark.parametrize(
    "address",
    [
        "四川省成都市武侯区人民南路四段27号2栋3单元602",
        "云南省大理州宾川县金牛镇新庄村委会上村小组42号",
        "广州市海珠区江南大道中128号之二1402房",
        "台北市大安区和平东路二段106号8楼之2",
        "重庆市渝中区民族路188号WFC大厦23-5",
    ],
)
def test_road_sections_village_committees_and_sub_numbers_stay_in_the_address(
    address: str,
) -> None:
    text = f"药请寄到{address}，谢谢"
    m = mask(text)
    (e,) = [e for e in m.entities if e.kind == "ADDRESS"]
    assert text[e.start : e.end] == address


@pytest.mark.parametrize(
    "text",
    ["My order #4417-2290-3381 from the pharmacy hasn't arrived", "药房订单号 3300128745 还没发货"],
)
def test_an_order_number_is_no_ones_identifier(text: str) -> None:
    m = mask(text)
    assert not m.entities and m.text == text


def test_a_cued_identifier_is_still_masked_beside_an_order() -> None:
    m = mask("Order delayed. My NHS no: 943 476 5919, please check")
    assert [e.kind for e in m.entities] == ["OTHER_ID"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "email me at maria dot gonzalez at hotmail dot com please",
            "maria dot gonzalez at hotmail dot com",
        ),
        ("it's j dot wong at outlook dot com", "j dot wong at outlook dot com"),
    ],
)
def test_an_email_spelt_out_with_dots_in_the_name_is_masked_whole(text: str, address: str) -> None:
    m = mask(text)
    (e,) = m.entities
    assert e.kind == "EMAIL" and text[e.start : e.end] == address


def test_a_hong_kong_home_with_no_street_is_an_address_when_it_ends_in_the_region() -> None:
    address = "Flat 12B, 15/F, Block 3, Taikoo Shing, Quarry Bay, Hong Kong"
    text = f"Please send the letter to {address}. Thanks"
    (e,) = mask(text).entities
    assert e.kind == "ADDRESS" and text[e.start : e.end] == address
    ward = "I am in room 12, block 3 of the hospital, can someone come?"
    assert not mask(ward).entities


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("qq号502839174，我婆婆的是1128830457，她不会用微信", ["QQ", "QQ"]),
        ("我爸身份证号220102195503175013，我妈的220102560924202（旧证）", ["ID_CARD", "ID_CARD"]),
        ("My passport is E12345678 and my son's is E87654321.", ["PASSPORT", "PASSPORT"]),
    ],
)
def test_someone_elses_identifier_of_the_same_shape_after_one_is_masked(
    text: str, kinds: list[str]
) -> None:
    m = mask(text)
    assert [e.kind for e in m.entities] == kinds


def test_an_amount_after_an_identifier_is_no_sibling() -> None:
    m = mask("住院号2023110456，总费用的是1250000元")
    assert [e.kind for e in m.entities] == ["MRN"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Singapore NRIC S8412773D, does my MediShield cover this?", "OTHER_ID"),
        ("军官证号军字第2039184号，可以走军人优先窗口吗", "OTHER_ID"),
        ("IC 430102198506271213 - 系统 said invalid，但是 card 上就是这个", "ID_CARD"),
    ],
)
def test_an_identifier_after_its_cue_is_masked_even_if_its_check_fails(
    text: str, kind: str
) -> None:
    (e,) = mask(text).entities
    assert e.kind == kind and not e.validated


def test_ic_as_a_cue_needs_an_identifier_after_it() -> None:
    assert not mask("I see the doctor at 3pm, ic 2 more days").entities


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("我的生日是一九九零年七月十六日，系统里写成了一九九零年六月十六日", 2),
        ("Sorry, I put my DOB as 1990-06-12, it's actually 1990-12-06.", 2),
        ("今年37了，生日是3月5号，系统里是不是登记成5月3号了", 2),
    ],
)
def test_a_birth_date_written_again_wrong_or_corrected_is_masked(text: str, dates: int) -> None:
    m = mask(text)
    assert [e.kind for e in m.entities] == ["DOB"] * dates


@pytest.mark.parametrize(
    "text",
    [
        "生日1990-06-12，预约改成2024-03-05了",
        "My DOB is 12/03/1985. My appointment is not 14/03/2025.",
    ],
)
def test_an_appointment_date_after_a_birth_date_is_kept(text: str) -> None:
    assert [e.kind for e in mask(text).entities] == ["DOB"]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Age 62, birthday is the 30th of December, her husband is with her", "30th of December"),
        ("老人叫周桂英，一九四二年生的，八十多了", "一九四二年"),
        ("宝宝是2023年9月2号早上生的，42天复查约在哪天", "2023年9月2号"),
    ],
)
def test_session_27_birth_date_shapes(text: str, date: str) -> None:
    (e,) = [e for e in mask(text).entities if e.kind == "DOB"]
    assert text[e.start : e.end] == date


@pytest.mark.parametrize(
    ("text", "date"),
    [
        # the cue after the date
        ("一九六五年七月三十号，这是我爸的生日，系统里能改吗", "一九六五年七月三十号"),
        ("1991-05-17 is my date of birth, the portal has it blank", "1991-05-17"),
        # the date an identity card shows
        ("老人生日过农历，身份证上写的1941年6月2日", "1941年6月2日"),
        # a birth year as people say it
        ("我是79年的，最近总是失眠", "79年"),
        ("born in 58 and never had a colonoscopy, should I book one?", "58"),
        # a day with no 日/号, a day in Chinese numerals after a lunar month, a ROC year
        ("出生年月日填82年11月3可以吗", "82年11月3"),
        ("我出生在1950年腊月十六，身份证上是另一个日子", "1950年腊月十六"),
        ("我民國68年9月9日生，要帶什麼證件", "民國68年9月9日"),
        # corrected after a slip
        ("出生日期：1977/13/02…打错了，是1977/12/02", "1977/12/02"),
    ],
)
def test_session_28_birth_date_shapes(text: str, date: str) -> None:
    assert date in [text[e.start : e.end] for e in mask(text).entities if e.kind == "DOB"]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("请帮忙查两个人的体检结果：赵丽 1966.8.21，孙浩 1993.1.7", ["1966.8.21", "1993.1.7"]),
        ("Booking for Lena Fischer, 1958-02-11, and her husband Tom", ["1958-02-11"]),
        ("我妈周淑芬，57年4月3号的，血压一直偏高", ["57年4月3号"]),
    ],
)
def test_a_date_of_years_ago_right_after_a_name_is_a_birth_date(
    text: str, dates: list[str]
) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "DOB"]
    assert found == dates


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("my SSN, 078 05 1120, goes on the claim form?", "078 05 1120"),
        ("Aadhaar 2345 6789 0123 - I'm here on a work visa", "2345 6789 0123"),
        ("my OHIP card is 2233-445-566-AB, is it accepted?", "2233-445-566-ab"),
        ("Social insurance: SIN 046 454 286", "046 454 286"),
        ("驾驶证 440301198807125533 可以代替身份证吗", "440301198807125533"),
    ],
)
def test_identifiers_named_by_their_kind(text: str, number: str) -> None:
    masked = [text[e.start : e.end].lower() for e in mask(text).entities]
    assert number in masked


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("身份证号拍不清，我打出来：\n110105\n19491231\n002X", "ID_CARD"),
        ("退款卡号 6212 2602\n0000 0000 006\n谢谢", "BANK_CARD"),
        ("我手机\n138\n0013\n8000", "PHONE"),
        ("手机号幺三八洞洞幺三八洞洞洞", "PHONE"),
    ],
)
def test_numbers_broken_over_lines_or_read_out(text: str, kind: str) -> None:
    assert [e.kind for e in mask(text).entities] == [kind]


@pytest.mark.parametrize(
    ("text", "kept", "phones"),
    [
        ("药房热线400-650-2233总是占线，我的手机是13912345678", "400-650-2233", 1),
        ("Poison control said 1-800-222-1222 is free; my cell is +1 415 555 2671", "1-800", 1),
        ("NHS 111 told me to ring 0800 731 1234, I'm on 07700 900123", "0800 731 1234", 1),
        ("The surgery's line is 0300 123 4567; my mobile is 07700 900123", "0300 123 4567", 1),
        # a Chinese area code that starts 03 is no UK number
        ("我家座机0310-3456789，白天没人", "", 1),
        # a mainland mobile that reads like a toll-free number is a mobile
        ("打不通就打186、6594、5918", "", 1),
    ],
)
def test_numbers_only_organisations_have_are_kept(text: str, kept: str, phones: int) -> None:
    result = mask(text)
    assert kept in result.text
    assert [e.kind for e in result.entities].count("PHONE") == phones


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("2851106673这个是我扣扣号，报告发这里", "QQ", "2851106673"),
        ("Rain_Lee-88是我weixin，加一下", "WECHAT_ID", "rain_lee-88"),
        ("这个wxid_k2j9x8m3 是我的微信，别加错", "WECHAT_ID", "wxid_k2j9x8m3"),
        ("刚才少打了一位，1393300287，完整的是13933002887", "PHONE", "1393300287"),
    ],
)
def test_identifiers_named_after_them_or_written_short(text: str, kind: str, value: str) -> None:
    found = [(e.kind, text[e.start : e.end].lower()) for e in mask(text).entities]
    assert (kind, value) in found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("E71829304，这是我的港澳通行证号码，要带原件吗", "e71829304"),
        ("sorry, 6120394857 - that's my NHS number for the referral", "6120394857"),
        ("KT 5521 - that's our car, is the drop-off bay free?", "kt 5521"),
        ("0071234567这个是住院号吗？发票上印的", "0071234567"),
    ],
)
def test_identifiers_named_right_after_them(text: str, value: str) -> None:
    assert value in [text[e.start : e.end].lower() for e in mask(text).entities]


def test_a_reading_named_after_it_stays() -> None:
    assert mask("空腹血糖7.8这个是我的结果，2024年3月这个是我的车检日期").entities == ()


@pytest.mark.parametrize(
    "text",
    [
        "瑪麗公主醫院話我要覆診，仲要等幾耐？",
        "白求恩医科大学附属医院的号好挂吗",
        "我阿爸柏金遜十年，最近行路好慢",
        "The Lincoln Ave entrance was closed, where do I go for bloods?",
    ],
)
def test_places_named_after_people_stay(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Rose Lin here. The nurse said my BP rose to 170, should I worry?", "rose"),
        ("Will Grant: the doctor will call me, and the nurse drew blood twice.", "drew"),
    ],
)
def test_a_careful_writers_lower_case_word_after_a_role_is_no_name(text: str, word: str) -> None:
    assert word in mask(text).text


def test_ones_own_name_in_lower_case_is_still_a_name() -> None:
    assert ("PERSON", "bella") in _kinds("Hi it's bella from bed 4, I'm home now")


@pytest.mark.parametrize(
    ("text", "email"),
    [
        (
            "send it to anna dot kent at outlook dot co dot uk please",
            "anna dot kent at outlook dot co dot uk",
        ),
        ("wong_kk(at)netvigator.com.hk for the report", "wong_kk(at)netvigator.com.hk"),
        ("sam{at}fastmail{dot}fm - thanks", "sam{at}fastmail{dot}fm"),
        ("liz_k @ protonmail . com (spaces on purpose)", "liz_k @ protonmail . com"),
        ("发 zhangmin 艾特 163.com 就行", "zhangmin 艾特 163.com"),
    ],
)
def test_email_addresses_spelt_out_in_more_ways(text: str, email: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "EMAIL"] == [email]


def test_a_full_stop_after_at_is_no_email() -> None:
    assert not mask("I was at home. Com was on the telly, meet at 3. Co-pay is fine").entities


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("晒晒@cp小雨[嘻嘻]，好久不见", "cp小雨"),
        ("天天，@半岛暖暖丶你也来试试", "半岛暖暖"),
        ("@V_Jessie@waves_哥 明天一起去复查吗", "waves_哥"),
        ("//@尐胖釨_nancy:晚上去吃火锅不", "尐胖𫓦_nancy"),
    ],
)
def test_chat_handles_in_more_shapes(text: str, handle: str) -> None:
    from safety import _text

    norm = _text.normalize(text).text
    found = [norm[e.start : e.end] for e in mask(text).entities if e.kind == "PERSON"]
    assert handle in found


def test_an_email_address_is_no_handle() -> None:
    assert [e.kind for e in mask("mail me li.na@qq.com please").entities] == ["EMAIL"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "寄到武汉市洪山区珞喻路152号武汉理工大学南湖校区12栋305",
            "武汉市洪山区珞喻路152号武汉理工大学南湖校区12栋305",
        ),
        (
            "地址：江西省赣州市瑞金市象湖镇红都社区5组，药寄这",
            "江西省赣州市瑞金市象湖镇红都社区5组",
        ),
    ],
)
def test_addresses_through_a_named_building_or_a_community(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Ship it to 2200 Wilson Blvd NE, Apt 4C, Arlington, VA 22201 please",
            "2200 Wilson Blvd NE, Apt 4C, Arlington, VA 22201",
        ),
        (
            "寄到 Flat 3A, 10 Seymour Road, Mid-Levels, Hong Kong，Queen Mary Hospital 的信也寄这",
            "Flat 3A, 10 Seymour Road, Mid-Levels, Hong Kong",
        ),
        (
            "to Flat 8C, Block 2, Laguna City, 9 Cha Kwo Ling Road, Kwun Tong, Kowloon, Hong Kong",
            "Flat 8C, Block 2, Laguna City, 9 Cha Kwo Ling Road, Kwun Tong, Kowloon, Hong Kong",
        ),
    ],
)
def test_latin_addresses_in_more_shapes(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("短信说门诊号是33018265，但我就诊卡上是8820174631，哪个对", "8820174631"),
        ("我的医保号以前是A1234567，现在是K7654398", "k7654398"),
        ("qq号是502839174还是77120938我忘了", "77120938"),
    ],
)
def test_the_same_identifier_in_another_version(text: str, value: str) -> None:
    assert value in [text[e.start : e.end].lower() for e in mask(text).entities]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        (
            "Her number is oh four one two - three double seven - two one nine.",
            "oh four one two - three double seven - two one nine",
        ),
        ("喺香港嘅電話 (852) 6123 4567，唔該", "(852) 6123 4567"),
        ("手机 (65) 8123 4567，新加坡的", "(65) 8123 4567"),
        ("Singapore mobile: 8123 4567 after 6pm", "8123 4567"),
    ],
)
def test_phones_spelt_with_doubles_or_a_bracketed_country_code(text: str, phone: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "PHONE"] == [phone]


def test_a_number_in_brackets_that_is_no_country_code_stays() -> None:
    assert not mask("see page (12) 3456 7890 of the leaflet, dose (20) 500 mg").entities


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "住 No. 12, Lane 35, Sec. 2, Heping E. Rd., Da'an Dist., Taipei City, 谢谢",
            "No. 12, Lane 35, Sec. 2, Heping E. Rd., Da'an Dist., Taipei City",
        ),
        (
            "Address: Blk 123 Bedok North Ave 3 #05-67 S(460123)",
            "Blk 123 Bedok North Ave 3 #05-67 S(460123)",
        ),
        (
            "Flat A, 9th Floor, Tower 2, Discovery Bay Siena Two, Siena Avenue, Lantau Island. Bye",
            "Flat A, 9th Floor, Tower 2, Discovery Bay Siena Two, Siena Avenue, Lantau Island",
        ),
    ],
)
def test_latin_addresses_number_first_and_island_ends(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


def test_no_with_a_number_is_no_address_alone() -> None:
    assert not mask("I take no. 2, the blue pill, twice a day").entities


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("insurance won't cover it here i guess lol. megan frost", "megan frost"),
        ("就诊卡 ZY1234567, 名字 liu yang. 周三的胃镜", "liu yang"),
        ("Name as per IC: Farah Aminah binti Yusof. Thanks", "Farah Aminah binti Yusof"),
        ("my husband Suresh s/o Ramasamy needs a wheelchair", "Suresh s/o Ramasamy"),
        ("Name: Lakshmi d/o Govindan (daughter)", "Lakshmi d/o Govindan"),
    ],
)
def test_names_signed_after_a_chinese_cue_or_with_a_patronym(text: str, name: str) -> None:
    assert name in [text[e.start : e.end] for e in mask(text).entities if e.kind == "PERSON"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Здравствуйте, меня зовут Наталья Волкова, болит живот", "Наталья Волкова"),
        ("My name is Дмитрий Соколов, I need a translator", "Дмитрий Соколов"),
        ("mrn 5531907 pt emily chen, can she eat before the scan", "emily chen"),
    ],
)
def test_cyrillic_names_and_a_patient_abbreviated_pt(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("안녕하세요, 제 이름은 한지민입니다. 진료 예약하고 싶어요", "한지민"),
        ("my father 윤상철 has chest pain since morning", "윤상철"),
        ("患者：송다은，女，41岁，要做胃镜", "송다은"),
        ("저는 배수지예요, 내일 검사 있어요", "배수지"),
    ],
)
def test_korean_names_in_hangul_after_a_cue_without_their_particle(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


def test_korean_words_without_a_cue_are_no_names() -> None:
    assert not mask("이 약은 하루에 두 번 드세요. 박스는 버려도 돼요").entities


def test_a_closing_phrase_is_no_signature() -> None:
    assert not mask("I feel much better now. thank you").entities


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Tan Wei Ling here, referred from Tan Tock Seng Hospital", "Tan Tock Seng Hospital"),
        ("Sunny day so I walked over, but the Madison Ave entrance was locked", "Madison Ave"),
        ("My SSN is 078-05-1120, and the invoice number is 88201934", "88201934"),
    ],
)
def test_places_named_after_people_and_invoice_numbers_stay(text: str, kept: str) -> None:
    assert kept in mask(text).text


def test_a_korean_family_name_park_is_still_a_name() -> None:
    assert ("PERSON", "Min-jun Park") in _kinds("Please book Min-jun Park for the scan")


def test_a_latin_name_with_a_chinese_title() -> None:
    assert ("PERSON", "O'Brien") in _kinds("O'Brien先生明天复查，要空腹吗")


def test_herbs_named_like_people_are_no_names() -> None:
    assert not mask("方子里有徐长卿和王不留行，能一起煎吗").entities


def test_a_word_before_is_my_is_no_handle() -> None:
    assert "metformin" in mask("metformin是我的药，omeprazole is my other one").text


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Hi from KL. My number 019-661 5514, call after 5", "019-661 5514"),
        ("Tel: +44 7700\n900461\nThanks", "+44 7700\n900461"),
        ("Reply to +852\n6123 4567 please", "+852\n6123 4567"),
    ],
)
def test_malaysian_mobiles_and_international_numbers_broken_over_lines(
    text: str, phone: str
) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "PHONE"] == [phone]


def test_a_russian_passport_written_as_series_and_number() -> None:
    text = "His passport 70 7718725 and local phone"
    assert [(e.kind, text[e.start : e.end]) for e in mask(text).entities] == [
        ("PASSPORT", "70 7718725")
    ]


def test_readings_on_separate_lines_stay() -> None:
    text = "今天早上血压\n142\n95\n心率\n78"
    assert not mask(text).entities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Please bill Cigna, member N46651296, thanks", "n46651296"),
        ("AXA policy AXA-HK-2043755, policyholder is my wife", "axa-hk-2043755"),
        ("Insurance: Allianz Care policy 5427725/004", "5427725/004"),
        ("UK driving licence no. MORGA753116SM9IJ, expires 2031", "morga753116sm9ij"),
        ("Ontario health card 4532 281 947 KT, visiting family", "4532 281 947 kt"),
        ("MyKad 870913-14-5527 for the registration", "870913-14-5527"),
    ],
)
def test_insurers_members_policies_and_health_cards(text: str, value: str) -> None:
    assert value in [text[e.start : e.end].lower() for e in mask(text).entities]


@pytest.mark.parametrize(
    "text",
    [
        "Pharmacy ref #302969552 for the refill",
        "policy 2024/03/05 renewal letter came",
        "a member of staff said 10 minutes",
    ],
)
def test_references_dates_and_members_of_staff_are_no_identifiers(text: str) -> None:
    assert not mask(text).entities


def test_a_version_code_is_only_in_capitals() -> None:
    text = "NHS number 485 777 3457 is mine"
    assert [text[e.start : e.end] for e in mask(text).entities] == ["485 777 3457"]


def test_no_followed_by_a_comma_is_no_cue() -> None:
    text = "Is my number 139 0000 0000? no, 2245 7781 90 is the order"
    assert "2245 7781 90" in mask(text).text


def test_a_recent_date_after_a_name_is_no_birth_date() -> None:
    text = f"钱伟 {datetime.date.today().year}-01-15 做的胃镜，报告在哪拿"
    assert not [e for e in mask(text).entities if e.kind == "DOB"]


@pytest.mark.parametrize(
    "text",
    [
        "那份报告是2023年的，还有用吗",
        "my son was born in 34 weeks and is now fine",
        "2026年3月5号做的胃镜，这是我的复查时间",
    ],
)
def test_dates_that_are_no_birth_stay(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "DOB"]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("電話：9 8 7 3 - 2 1 5 0，約物理治療", "9 8 7 3 - 2 1 5 0"),
        ("有事找我老伴，电话是135、2248、6917，血透那天他陪我", "135、2248、6917"),
        ("我老婆电话是138\n2771 4409，住院的事直接联系她", "138\n2771 4409"),
        ("手机号是幺三八，零零九二，七七五一，你们短信一直没发过来", "幺三八，零零九二，七七五一"),
    ],
)
def test_a_phone_in_small_groups_after_its_cue_is_masked_whole(text: str, number: str) -> None:
    (e,) = mask(text).entities
    assert e.kind == "PHONE" and text[e.start : e.end] == number


@pytest.mark.parametrize(
    "text", ["血压135，85，心率72，电话问一下", "一，二，三，四，五，六，七步走完再打电话"]
)
def test_readings_and_counted_steps_are_no_phone(text: str) -> None:
    assert not mask(text).entities


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("住院号我记得是 2023088165，想查一下费用", "2023088165"),
        ("就诊卡号是“0006358201”，发票上名字写错了", "0006358201"),
        ("His HN is HN07712043(4), bed 7", "HN07712043(4)"),
        ("case no. 2024/OPD/18821 - I was told to quote it", "2024/OPD/18821"),
        ("the hospital number on my wristband says 7734102 but", "7734102"),
    ],
)
def test_a_record_number_a_few_words_after_its_cue_is_masked(text: str, number: str) -> None:
    (e,) = mask(text).entities
    assert e.kind == "MRN" and text[e.start : e.end] == number


@pytest.mark.parametrize(
    "text",
    [
        "病历上写的血压是 140/90，要紧吗",
        "病历本上写的复查时间是2024-06-01",
        "the hospital number, I think is 2024/03/05 the date of my visit",
    ],
)
def test_a_reading_or_a_date_after_a_record_cue_is_no_record_number(text: str) -> None:
    assert not mask(text).entities


@pytest.mark.parametrize(
    "text",
    [
        "My BSN is 123456782, the Dutch insurer asked for it",
        "电脑号 630418275，深圳社保的，能刷吗",
        "Allianz Care policy 0173829-4 covers my daughter",
        "insurance: Bupa Global, membership 7021-3384-19, I am doing the form",
    ],
)
def test_insurance_and_social_security_numbers_after_their_cue_are_masked(text: str) -> None:
    (e,) = mask(text).entities
    assert e.kind in ("OTHER_ID", "ID_CARD")


@pytest.mark.parametrize(
    "text", ["the policy covers 2 visits per year", "my nhs app shows 3 appointments"]
)
def test_insurance_words_without_a_number_mask_nothing(text: str) -> None:
    assert not mask(text).entities


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("加我V：xing_fu_yi_jia，透析排班表发一下", "xing_fu_yi_jia"),
        ("You will find me on WeChat as 'DrLoveMom_88' for the video", "DrLoveMom_88"),
        ("the number does not work on WeChat, search 'annie_chen_1992' instead", "annie_chen_1992"),
    ],
)
def test_a_wechat_handle_after_v_as_or_search_is_masked(text: str, handle: str) -> None:
    (e,) = mask(text).entities
    assert e.kind == "WECHAT_ID" and text[e.start : e.end] == handle


def test_a_v_before_a_colon_that_names_no_handle_masks_nothing() -> None:
    assert not mask("维生素V：每天一片，饭后吃").entities


@pytest.mark.parametrize("text", ["I am visiting from Sydney", "We came from Sydney last week"])
def test_a_place_someone_comes_from_is_no_name(text: str) -> None:
    assert not mask(text).entities


def test_a_message_from_someone_still_names_them() -> None:
    assert [e.kind for e in mask("a message from Sofia about the results").entities] == ["PERSON"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # a village's group by its name, a county whose name holds 于
        (
            "老人在湖南省邵阳市新邵县于家镇塘背村上屋组17号，能上门吗",
            "湖南省邵阳市新邵县于家镇塘背村上屋组17号",
        ),
        # three levels of region are an address with no house number; 老家 is not in it
        ("我老家河南省周口市太康县转楼镇的，报告能寄回去吗", "河南省周口市太康县转楼镇"),
        # two levels before a village or a road
        ("转到温州市瓯海区丽岙街道下呈村那边的卫生院", "温州市瓯海区丽岙街道下呈村"),
        ("地址只填到长沙市雨花区韶山中路可以吗", "长沙市雨花区韶山中路"),
        # a lane off a road, a building named after the road, building-entrance-room numbers
        ("寄到扬州市广陵区东关街剪刀巷8号，谢谢", "扬州市广陵区东关街剪刀巷8号"),
        (
            "住长沙市岳麓区麓山南路湘江国际5号楼1203，小孩发烧",
            "长沙市岳麓区麓山南路湘江国际5号楼1203",
        ),
        (
            "住址是大连市沙河口区西南路春柳小区12-3-502，我妈",
            "大连市沙河口区西南路春柳小区12-3-502",
        ),
        # which flat of the floor
        (
            "地址：沈阳市皇姑区黄河南大街嘉陵小区3栋2门4楼右，上门换药",
            "沈阳市皇姑区黄河南大街嘉陵小区3栋2门4楼右",
        ),
        # a two-character estate before its part, a building named by 甲乙丙 or a direction
        ("救护车到梅苑二区8幢2单元301接人", "梅苑二区8幢2单元301"),
        (
            "上门抽血，无锡市梁溪区广益路清扬新村56幢丙单元302，谢谢",
            "无锡市梁溪区广益路清扬新村56幢丙单元302",
        ),
        # 附N号 after a building, the ground floor, rooms after a lane or a named building
        ("寄到贵阳市南明区花果园路枫叶小区3栋附2号，", "贵阳市南明区花果园路枫叶小区3栋附2号"),
        ("油麻地上海街41號地下，阿婆要覆診", "油麻地上海街41號地下"),
        ("住西安市碑林区东关南街兴庆里5-1-402，老人", "西安市碑林区东关南街兴庆里5-1-402"),
        ("佛山市禅城区季华五路22号创意大厦3-1207，到付", "佛山市禅城区季华五路22号创意大厦3-1207"),
        # a hamlet in a village
        (
            "住台州市黄岩区北城街道横街村下洋自然村21号，来得了吗",
            "台州市黄岩区北城街道横街村下洋自然村21号",
        ),
    ],
)
def test_chinese_addresses_by_their_regions_lanes_and_flats(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    "text",
    ["我在广州市越秀区看病", "从化区的病人也能来吗", "广东省人民医院在哪", "他在小组里发言了"],
)
def test_regions_of_one_or_two_levels_alone_are_no_address(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # no house number: the segments before a UK postcode or an Eircode
        (
            "Please send it to Ivy Barn, Kettlewell, Skipton BD23 5QT, thanks",
            "Ivy Barn, Kettlewell, Skipton BD23 5QT",
        ),
        (
            "post to Rathmore, Killorglin, Co. Kerry V93 X2R1 please",
            "Rathmore, Killorglin, Co. Kerry V93 X2R1",
        ),
        # a house's name after a lead-in word, a flat's number as a segment
        (
            "pick up from Hazel Cottage, 4 Brook Lane, Alston, Cumbria CA9 3RR. Ta",
            "Hazel Cottage, 4 Brook Lane, Alston, Cumbria CA9 3RR",
        ),
        # a four-digit postcode after the town (New Zealand, Australia)
        (
            "send it to 22 Kowhai Road, Mt Eden, Auckland 1024",
            "22 Kowhai Road, Mt Eden, Auckland 1024",
        ),
        ("ambo to 5 Banksia Cres, Mackay QLD 4740 now", "5 Banksia Cres, Mackay QLD 4740"),
        # the postcode before its town (Malaysia)
        (
            "to No. 12, Jalan Melur, 41200 Klang, Selangor pls",
            "No. 12, Jalan Melur, 41200 Klang, Selangor",
        ),
        # a comma after the number, a block-floor-unit first
        (
            "courier to 7/2, 3rd Cross Road, Jayanagar, Bengaluru 560011",
            "7/2, 3rd Cross Road, Jayanagar, Bengaluru 560011",
        ),
        (
            "address C-3-9, Pangsapuri Indah, Jalan Ipoh, 51200 Kuala Lumpur, thanks",
            "C-3-9, Pangsapuri Indah, Jalan Ipoh, 51200 Kuala Lumpur",
        ),
    ],
)
def test_latin_addresses_by_their_postcodes_and_segments(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


def test_a_form_label_after_an_address_ends_it_and_a_date_is_no_house_number() -> None:
    text = "Deliver to:\n12/F, Tower 1, Ocean Court, 8 Sea Road, Aberdeen\nTel 9123 4567"
    spans = {k: v for k, v in _kinds(text)}
    assert spans["ADDRESS"] == "12/F, Tower 1, Ocean Court, 8 Sea Road, Aberdeen"
    assert spans["PHONE"] == "9123 4567"
    text = "DOB 02/09/2019, address 16 Elm Drive, Swindon SN5 8AD."
    assert ("ADDRESS", "16 Elm Drive, Swindon SN5 8AD") in _kinds(text)


def test_an_id_shaped_number_with_a_wrong_check_character_is_an_unvalidated_id_card() -> None:
    # region 110105, born 1983-07-14; the check character should be 4, not 5
    text = "名单里第三个 110105198307140025，套餐B"
    found = [e for e in mask(text).entities if e.kind == "ID_CARD"]
    assert [(text[e.start : e.end], e.validated) for e in found] == [("110105198307140025", False)]
    # eighteen digits with no birth date inside are no one's ID
    assert not mask("订单号 202311051234567890 已付款").entities


def test_the_numbers_of_a_list_after_one_cue_are_all_masked() -> None:
    text = "我妈住过三次院，住院号是2203418、2291077和2350126，能一起复印吗"
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "MRN"]
    assert found == ["2203418", "2291077", "2350126"]
    # an amount after it is no identifier
    assert [e.kind for e in mask("住院号2203418，押金2291077元").entities] == ["MRN"]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("我的医院编号是HN30418275，改个覆诊时间", "MRN", "HN30418275"),
        ("Queen Mary HN30418275(3) is my number", "MRN", "HN30418275(3)"),
        ("邮箱 chen_lin88艾特qq点com，语音输入的", "EMAIL", "chen_lin88艾特qq点com"),
        ("车牌浙A-3K8P2，停B2了", "PLATE", "浙A-3K8P2"),
    ],
)
def test_number_letters_voice_typed_mail_and_dashed_plates(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _kinds(text)


def test_a_landline_with_a_dash_before_its_extension_is_one_phone() -> None:
    text = "白天打办公室 021-6453 2207-316，手机常关机"
    assert ("PHONE", "021-6453 2207-316") in _kinds(text)
    assert ("PHONE", "0571-87236614-25") in _kinds("座机0571-87236614-25找我")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("王医生，3029184是我爸的住院号，报告出了吗", "MRN", "3029184"),
        ("7730412 is my dad's hospital number, results back?", "MRN", "7730412"),
    ],
)
def test_an_identifier_named_right_after_it_with_whose_it_is(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "你们医院的地址是不是解放南路376号？导航找不到",
        "请问东院区在建设路1088号吗",
        "Is your clinic at 40 Harbour Road, Wan Chai? Which floor",
        "bill says total RMB 12,480.50, is that right",
    ],
)
def test_the_hospitals_own_address_and_an_amount_in_renminbi_are_no_ones(text: str) -> None:
    assert not mask(text).entities


def test_a_patients_address_beside_the_hospital_is_still_masked() -> None:
    text = "我住解放南路376号5栋201，你们医院能上门吗"
    assert ("ADDRESS", "解放南路376号5栋201") in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("13917726405殷秀兰 约下周三的胃镜", "殷秀兰"),
        ("退费账户 6222 0212 0300 4418 832 岑建明", "岑建明"),
        ("寄到南京市玄武区北京东路41号7栋302 骆晓婷 159 5170 2236", "骆晓婷"),
    ],
)
def test_a_whole_name_written_beside_an_identifier_is_a_name(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("寄到杭州市西湖区文三路90号2栋501，收件人邬女士", "邬"),
        ("我是祁阿姨的儿子，有事找我", "祁"),
    ],
)
def test_a_title_after_a_surname_is_no_part_of_the_name(text: str, name: str) -> None:
    assert [v for k, v in _kinds(text) if k == "PERSON"] == [name]


def test_a_short_word_beside_an_identifier_is_no_name() -> None:
    assert [k for k, _ in _kinds("车牌粤B12345，车停在东门")] == ["PLATE"]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # Hong Kong units naming a floor need no region at the end
        (
            "nurse visit to Flat 6, 12/F, Block B, Amoy Gardens, Ngau Tau Kok next week",
            "Flat 6, 12/F, Block B, Amoy Gardens, Ngau Tau Kok",
        ),
        # a Singapore block with its unit, its street with no street word
        (
            "post it to Blk 322 Ubi Avenue 1, #08-114, Singapore 400322 pls",
            "Blk 322 Ubi Avenue 1, #08-114, Singapore 400322",
        ),
        ("home visit Blk 45 Sims Place #03-77 S380045", "Blk 45 Sims Place #03-77 S380045"),
        # an Indian PIN or a Malaysian postcode and town after two segments or more
        (
            "report to Flat 12, Gokul Residency, Sector 21, Noida 201301 thanks",
            "Flat 12, Gokul Residency, Sector 21, Noida 201301",
        ),
        (
            "house call: Lot 88, Kampung Baru Sentosa, 43000 Kajang, Selangor please",
            "Lot 88, Kampung Baru Sentosa, 43000 Kajang, Selangor",
        ),
    ],
)
def test_latin_addresses_of_asia_by_units_blocks_and_postcodes(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    "text",
    ["Ward 7B, 4th Floor is where my mum is", "invoice 443012 for Ravi", "Order 560038 shipped"],
)
def test_a_ward_or_a_lone_six_digit_number_is_no_address(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "ADDRESS"] == []


def test_a_lunar_birthday_in_the_twenties_is_masked_whole() -> None:
    assert ("DOB", "1986年腊月廿六") in _kinds("我妈生日是1986年腊月廿六，身份证上不一样")


def test_a_bed_number_before_a_name_is_its_cue() -> None:
    assert ("PERSON", "苗建华") in _kinds("VIP5床苗建华 晚上能加陪护床吗")
    assert ("PERSON", "韦立新") in _kinds("我是6床韦立新的家属")
    assert [k for k, _ in _kinds("早上起床头晕")] == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("豆豆昨天开始拉肚子", "豆豆"),
        ("阿强今天还在咳 要复查吗", "阿强"),
        ("小芸说她胸口闷", "小芸"),
    ],
)
def test_a_pet_or_given_name_as_a_sentences_subject_is_a_name(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize("text", ["宝宝昨天开始拉肚子", "小便今天有点黄", "明天说好的复查"])
def test_everyday_words_as_a_sentences_subject_are_no_names(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("常主任说先做个血常规", ["常"]),
        ("白主任 我妈的白细胞还是低", ["白"]),
        ("主刀的是邹医生还是向医生", ["邹", "向"]),
        ("我想向医生请教一下", []),
        ("连医生都说不清楚", []),
    ],
)
def test_a_surname_that_is_also_a_word_before_a_staff_title(text: str, names: list[str]) -> None:
    assert [v for k, v in _kinds(text) if k == "PERSON"] == names


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("my RRN is 850312-2047716, passport to follow", "OTHER_ID", "850312-2047716"),
        ("PAN AKQPT4471M for the claim", "OTHER_ID", "AKQPT4471M"),
        ("NI number: JT 12 34 56 C please", "OTHER_ID", "JT 12 34 56 C"),
        ("passport no. T 4402918 B (Philippines)", "PASSPORT", "T 4402918 B"),
        ("my passport 812 440 297 expires soon", "PASSPORT", "812 440 297"),
        ("Wong Siu Ming, hp 9731 2280", "PHONE", "9731 2280"),
        ("old passport K0371182 lost, the new one is K4470391", "PASSPORT", "K4470391"),
    ],
)
def test_international_identifiers_by_their_shape_and_cue(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_a_date_or_a_word_is_no_korean_or_uk_identifier() -> None:
    assert [k for k, _ in _kinds("appointment 2024-0312 at 9, room AB 12")] == []
    assert [k for k, _ in _kinds("lot 991399-1234567 shipped")] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my insurance is Bupa, member BU/HK/4471920, pls bill them", "BU/HK/4471920"),
        ("insurance AXG-55102934 for the claim", "AXG-55102934"),
        ("Member no. LHI 5530118 02, Irish plan", "LHI 5530118 02"),
        ("Policy IS-0047120093.", "IS-0047120093"),
    ],
)
def test_insurance_numbers_with_letters_slashes_and_suffixes(text: str, value: str) -> None:
    assert ("OTHER_ID", value) in _kinds(text)


def test_the_word_was_before_a_number_is_not_its_letters() -> None:
    assert ("MRN", "2023118876") in _kinds("I lost my clinic card, the number was 2023118876")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (
            "call plus four four, seven seven double oh, nine hundred, one two three",
            "PHONE",
            "plus four four, seven seven double oh, nine hundred, one two three",
        ),
        ("Camille, née le 03.11.1979, passeport à suivre", "DOB", "03.11.1979"),
        ("Data di nascita: born 5 ottobre 1962", "DOB", "5 ottobre 1962"),
        ("生年月日 昭和58年3月2日です", "DOB", "昭和58年3月2日"),
        ("dad was born 1951. He has angina", "DOB", "1951"),
    ],
)
def test_read_out_phones_and_birth_dates_of_other_languages(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("please change my passport to LK7720193 for the booking", "PASSPORT", "LK7720193"),
        ("FIN F8812273N, work pass holder", "OTHER_ID", "F8812273N"),
        ("my work pass G4417720W expires soon", "OTHER_ID", "G4417720W"),
        (
            "ring +1 (415) 555-0199, extension 214 after 5",
            "PHONE",
            "+1 (415) 555-0199, extension 214",
        ),
    ],
)
def test_passes_passports_after_to_and_extensions_after_a_comma(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [("上官晓彤 住院号ZY20240187 要开证明", "上官晓彤"), ("公孙毅的CT片子带来了", "公孙毅")],
)
def test_a_compound_surname_is_evidence_of_a_name(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"), [("宇轩明天要抽血 要空腹吗", "宇轩"), ("雨桐术后第二天能洗澡吗", "雨桐")]
)
def test_a_given_name_alone_as_a_sentences_subject(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize("text", ["明天说好的复查", "永远说不清", "文明今天很重要"])
def test_an_everyday_word_with_name_like_characters_is_no_given_name(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("豆豆得了手足口 会传染吗", "豆豆"),
        ("阿珍话她报告还没出", "阿珍"),
        ("妞妞三个月了还不会翻身", "妞妞"),
    ],
)
def test_a_pet_name_starting_a_sentence_is_a_name(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    "text", ["小红书上说喝黑咖啡能降尿酸", "宝妈求助：宝宝发烧了", "天天吃药也不见好", "渐渐好转了"]
)
def test_an_app_a_slang_word_or_an_adverb_starting_a_sentence_is_no_name(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


def test_a_taiwan_address_keeps_its_postal_code_after_the_city() -> None:
    text = "mail it to 5F, No. 12, Ln. 33, Sec. 2, Roosevelt Rd., Da'an Dist., Taipei City 106 pls"
    assert ("ADDRESS", text[11 : text.index(" pls")]) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("我现在住保利天悦9栋1203，上门抽血能来吗", "保利天悦9栋1203"),
        ("住黄大仙竹园北邨蓮園樓，阿爸行唔到", "黄大仙竹园北邨蓮園樓"),
        (
            "寄到沈阳市和平区南京南街与十一纬路交口的华府新天地B座1502，谢谢",
            "沈阳市和平区南京南街与十一纬路交口的华府新天地B座1502",
        ),
        ("地址 龙湖时代天街八栋一单元一七零二 谢谢", "龙湖时代天街八栋一单元一七零二"),
        ("青岛市市南区香港中路8号2号楼五层西，送氧气", "青岛市市南区香港中路8号2号楼五层西"),
    ],
)
def test_chinese_homes_of_developments_estates_crossings_and_read_out_rooms(
    text: str, address: str
) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    "text", ["住院部3号楼5层怎么走", "门诊楼2楼抽血在哪", "逸仙路 traffic is bad"]
)
def test_hospital_directions_and_a_road_before_english_are_no_address(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("the cab can't find 4 Belgrave Tce, Dublin 6 pls tell them", "4 Belgrave Tce, Dublin 6"),
        (
            "我住 22 Shan Kwong Road 7/F Happy Valley，信寄去舊地址",
            "22 Shan Kwong Road 7/F Happy Valley",
        ),
        (
            "update: #05-221, Block 88, Bedok North Street 4, S460088. ok",
            "#05-221, Block 88, Bedok North Street 4, S460088",
        ),
        (
            "Dad is at Room 4, Oakdene Care Home, 7 Elm Way, Crawley RH10 1AA. Visiting?",
            "Room 4, Oakdene Care Home, 7 Elm Way, Crawley RH10 1AA",
        ),
        (
            "Oma: Gartenweg 7, 2. OG rechts, 80331 München bitte",
            "Gartenweg 7, 2. OG rechts, 80331 München",
        ),
        (
            "nan's at 8 Rose Gardens, Rhyl LL18 rest of postcode unknown",
            "8 Rose Gardens, Rhyl LL18",
        ),
        (
            "寄 Flat C, 9/F, Block 2, Park Central, Tseung Kwan O 得唔得",
            "Flat C, 9/F, Block 2, Park Central, Tseung Kwan O",
        ),
        ("we're at 14 Quai Voltaire, 75007 Paris", "14 Quai Voltaire, 75007 Paris"),
    ],
)
def test_latin_addresses_as_written_in_chat(text: str, address: str) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "ADDRESS"] == [address]


@pytest.mark.parametrize(
    "text",
    [
        "Drew blood at 8 and the arm is bruised, normal?",
        "Pat dry after the shower?",
        "Hope 你们能尽快回复",
        "我爸 Parkinson's 十年了，还是抖",
        "Dr. Google 说我是 Hashimoto，要吃药吗",
    ],
)
def test_a_word_starting_a_sentence_and_a_disease_named_after_someone_are_no_names(
    text: str,
) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sue at the front desk said to send it here", "Sue"),
        ("Hope Lee is my daughter", "Hope Lee"),
        ("Is Dr. Parkinson on today?", "Parkinson"),
    ],
)
def test_the_same_words_as_names(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "我妈在石家庄查出帕金森病，想转过来",
        "回老家周口过年，胰岛素怎么带",
        "我是温州来的患者，医保能结算吗",
    ],
)
def test_a_city_named_like_a_person_is_no_name(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    "text",
    [
        "Mount Alvernia 做的 MRI 可以带来吗",
        "Is Mercy Regional in network?",
        "宝宝 Kawasaki disease 出院了，aspirin 要吃多久",
        "Lou Gehrig's disease clinic referral - how long?",
        "张力性头痛吃布洛芬管用吗",
        "做核磁共振要摘周大福的金手镯吗",
    ],
)
def test_places_diseases_shops_and_words_named_like_people(text: str) -> None:
    assert [k for k, _ in _kinds(text) if k == "PERSON"] == []


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("add me on wechat pls Jenny_Ho88, easier than email", "Jenny_Ho88"),
        ("加个v tt_0521 我把单子拍给你", "tt_0521"),
        ("kev_92sh <- that's my wechat", "kev_92sh"),
        ("加我 V nana-1990 吧", "nana-1990"),
    ],
)
def test_a_handle_shape_near_a_wechat_cue_is_a_wechat_id(text: str, handle: str) -> None:
    assert ("WECHAT_ID", handle) in _kinds(text)


@pytest.mark.parametrize("text", ["订单号 ab_12345 微信支付的", "报告发我QQ1739204856或者微信也行"])
def test_an_order_or_a_qq_number_near_wechat_is_no_handle(text: str) -> None:
    assert all(k != "WECHAT_ID" for k, _ in _kinds(text))


@pytest.mark.parametrize(
    ("text", "value", "validated"),
    [
        ("退到 6228 **** **** **** 317 那张卡", "6228 **** **** **** 317", False),
        ("a card 5412 75** **** 9921 was left at the desk", "5412 75** **** 9921", False),
        ("BSB 062-000, acct 1183 4471 please", "1183 4471", False),
        ("refund to DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00", True),
        ("my amex 3714 496353 98431 was charged twice", "3714 496353 98431", True),
    ],
)
def test_masked_cards_accounts_ibans_and_amex_are_bank_numbers(
    text: str, value: str, validated: bool
) -> None:
    found = [
        (text[e.start : e.end], e.validated) for e in mask(text).entities if e.kind == "BANK_CARD"
    ]
    assert found == [(value, validated)]


def test_an_account_of_an_order_is_no_bank_number() -> None:
    assert [k for k, _ in _kinds("order account 12345678 shipped")] == []


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("本人68年属猴的，最近老失眠", "68年"),
        ("我是1995年出生的，体检要查什么", "1995年"),
        ("孩子6月12号出生的，黄疸还没退", "6月12号"),
        ("11月3号是我生日，那天别排手术", "11月3号"),
        ("农历九月初九生日 今年七十了", "农历九月初九"),
    ],
)
def test_birth_years_with_the_sign_and_month_days_before_birth_words(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


@pytest.mark.parametrize(
    "text", ["2026年出生的宝宝都要打疫苗吗", "他6月12号出院的", "2024年3月5日复查"]
)
def test_a_group_a_discharge_or_a_visit_date_is_no_birth_date(text: str) -> None:
    assert all(k != "DOB" for k, _ in _kinds(text))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("病理号 P24-11902 需要借切片会诊", "P24-11902"),
        ("超声检查单号 US240502-0233 报告在哪看", "US240502-0233"),
        ("pathology ref S24-771203, still no result", "S24-771203"),
        ("clinic card number CC 0091-4410 please", "CC 0091-4410"),
    ],
)
def test_pathology_report_and_exam_numbers_are_record_numbers(text: str, value: str) -> None:
    assert ("MRN", value) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("I'm on an Italian passport, YA4471920", "PASSPORT", "YA4471920"),
        ("my pp no is K7M2P9L41", "PASSPORT", "K7M2P9L41"),
        (
            "Wechat of my husband Tom: tom_baker_1982, he reads Chinese",
            "WECHAT_ID",
            "tom_baker_1982",
        ),
    ],
)
def test_a_comma_after_passport_pp_no_and_a_handle_further_from_wechat(
    text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("我妈1943年的，腿脚不好能借轮椅吗", "1943年"),
        ("二宝2019年5月的，要打哪些疫苗", "2019年5月"),
        ("爷爷是民国二十三年的，耳朵背", "民国二十三年"),
        ("我是台商，民國65年次的，要建档", "民國65年"),
        ("我爸丙午年生的，属马", "丙午年"),
    ],
)
def test_a_person_and_the_year_they_were_born(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


@pytest.mark.parametrize(
    "text", ["我2016年的片子还在吗", "我2016年的时候做过手术", "他2019年生病了"]
)
def test_a_year_of_a_film_a_time_or_an_illness_is_no_birth(text: str) -> None:
    assert all(k != "DOB" for k, _ in _kinds(text))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("staff ID KT-0417 公司体检约在周二", "KT-0417"),
        ("员工卡号E20417，体检能改期吗", "E20417"),
        ("member ID AET 7781 2209 03，可以直接 bill 吗", "AET 7781 2209 03"),
        ("男方居住证编号深居字0099381", "深居字0099381"),
        ("居留许可号码 SZ2024R0019920 要带吗", "SZ2024R0019920"),
        ("护照号 EJ2039184 和 visa V07719920 都要吗", "V07719920"),
        ("Cigna group 4471920 for the pre-op", "4471920"),
    ],
)
def test_staff_numbers_permits_visas_and_member_numbers_in_groups(text: str, value: str) -> None:
    assert ("OTHER_ID", value) in _kinds(text)


@pytest.mark.parametrize(
    "text", ["staff said to wait 20 minutes", "我身份证是1993/07/16出生的那个"]
)
def test_a_staff_remark_and_a_verb_before_a_date_are_no_identifier(text: str) -> None:
    assert all(k != "OTHER_ID" for k, _ in _kinds(text))


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("My husband is a 1979 baby, is he due a screening?", "1979"),
        ("Grandma was born winter 1933, no certificate", "1933"),
        ("dob 170384 please book me in", "170384"),
        ("my son was born March 9th and isn't enrolled", "March 9th"),
    ],
)
def test_english_birth_years_and_dates_as_people_write_them(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


def test_a_year_before_a_babies_clinic_is_no_birth() -> None:
    assert all(k != "DOB" for k, _ in _kinds("the 2019 baby clinic is full"))


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("82年的 女 体检查出甲状腺结节", "82年"),
        ("病人是我外公，1938年的，走不了路", "1938年"),
        ("我奶奶是1941年农历二月初六的，身份证上是阳历", "1941年农历二月初六"),
        ("出生年份1999，学生保险能报吗", "1999"),
    ],
)
def test_a_birth_year_as_a_clause_of_its_own_or_after_its_cue(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


# (last year, read from the clock: the rule looks at the last four years, whatever year it is)
_LAST_YEAR = datetime.date.today().year - 1


@pytest.mark.parametrize(
    "text", [f"{_LAST_YEAR}年的，复查报告在哪拿", "抽烟30年的，戒不掉", "30年的老病号了"]
)
def test_a_recent_year_or_a_span_of_years_is_no_birth(text: str) -> None:
    assert all(k != "DOB" for k, _ in _kinds(text))


@pytest.mark.parametrize(
    ("text", "dobs"),
    [
        ("出生日期应为1979年5月，现在显示1997年5月，数字反了", ["1979年5月", "1997年5月"]),
        ("出生年份填成2002年了，我明明是1992年", ["2002年", "1992年"]),
        ("my DOB should be 1988.04.21, not 1988.04.12", ["1988.04.21", "1988.04.12"]),
    ],
)
def test_a_birth_date_and_its_correction(text: str, dobs: list[str]) -> None:
    assert [v for k, v in _kinds(text) if k == "DOB"] == dobs


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("患者 女 1962.04.11 高血压十年", ["1962.04.11"]),
        (
            "my wife is 10/03/1988 and I'm 03/10/1988, the system merged us",
            ["10/03/1988", "03/10/1988"],
        ),
        ("Mother: Rosa, 2 May 1940, needs an interpreter", ["2 May 1940"]),
        ("韦丽艳 19820525 女 神经内科初诊", ["19820525"]),
        ("personnummer 19850417-2384, Sweden", []),
    ],
)
def test_a_whole_date_of_years_ago_is_a_birth_date(text: str, dates: list[str]) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "DOB"]
    assert found == dates


@pytest.mark.parametrize(
    "text",
    [
        "我2010年3月5日做过阑尾手术，现在还疼",
        "出院记录上的日期是2015年11月4日，想复印",
        "diagnosed on 12 March 2009 with diabetes",
        "2012年6月1日起一直吃二甲双胍",
        f"{datetime.date.today().year - 1}年6月1日在你们医院生的孩子",
    ],
)
def test_a_whole_date_told_with_an_event_is_no_birth_date(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "DOB"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Our twins were born in 2023, I only have MOL-88021-3310 on the letter", "MOL-88021-3310"),
        ("could you look up my records? BVH2019/0027813", "BVH2019/0027813"),
        ("Medicare Beneficiary Identifier 5TQ9-HA2-XK41 - I turned 65", "5TQ9-HA2-XK41"),
        ("身份证 371402195804188953, 医保 444894257320", "444894257320"),
        ("tessera sanitaria 80380615582480846444, Italian tourist", "80380615582480846444"),
        ("3676 3741 6039 pls update, the old one on file was wrong", "3676 3741 6039"),
        (
            "Is an Ontario health card accepted at the walk-in clinic? Mine is 9876 543 210 AB",
            "9876 543 210",
        ),
    ],
)
def test_a_code_of_letters_and_digits_nothing_else_took_is_an_identifier(
    text: str, code: str
) -> None:
    assert ("OTHER_ID", code) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "Invoice INV-2024-00815 was paid twice",
        "国药准字H20003263 这个药是正规的吗",
        "my booking ref for the health screening is HSP-88271, does it include a mammogram",
        "请问 GP-2024-0871 这个是挂号单号吗",
        "HbA1c 7.2, 每天 500mg 二甲双胍",
        "你们总机0311-86095114一直占线",
        "reimbursement: routing 026009593, account at Chase",
        "支付宝交易号 2024031622001482736 退款了吗",
        "Transaction IDs 4200002156202403118765432101 and 4200002156202403118765439987",
        "My CPAP machine (ResMed AirSense 10, S/N 23171458832) keeps showing a motor fault",
        "医保结算单上写的诊断编码是E11.900，应该是O24.4吧",
        "my radiology report says ACC 7720458193 and the CT was on March 11",
        "这个国械注准20193141234的血糖仪是正规的吗",
        "血压160/95mmHg，维生素D 20000iu 每周一次",
        "表号 Form No.: MZ-DJ-2024-B8",
        "Practice code: CN-BJ-30934  Tel: see letterhead",
    ],
)
def test_a_code_of_a_document_or_a_thing_is_kept(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "OTHER_ID"]


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        (
            "date of birth: the thirty-first of December nineteen ninety-nine",
            "the thirty-first of December nineteen ninety-nine",
        ),
        ("he was born in nineteen twenty-nine, in Leeds", "nineteen twenty-nine"),
        ("Born: the 2nd of May, 1940", "the 2nd of May, 1940"),
        (
            "the nineteenth of August twenty eighteen is her birthday",
            "the nineteenth of August twenty eighteen",
        ),
    ],
)
def test_english_birth_dates_with_years_in_words_and_the_ordinal_day(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("两个人想一起约体检，她1962年，我1990年", ["1962年", "1990年"]),
        ("婚检：男方1994年5月，女方1997年10月，都是外地户口", ["1994年5月", "1997年10月"]),
        ("请帮忙预约：宋女士，1972年11月，医保号已经发了", ["1972年11月"]),
        (f"我{datetime.date.today().year - 1}年，在你们这做过手术", []),
    ],
)
def test_a_person_and_the_year_that_ends_the_clause_are_a_birth(
    text: str, dates: list[str]
) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "DOB"]
    assert found == dates


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("粉嶺華明邨耀明樓\n23樓2315室\n陳美玲 9123 4876", "9123 4876"),
        ("報告請寄到家，何志偉收，6628 3107", "6628 3107"),
        ("Driver Muhammad Faiz bin Osman, 87663574.", "87663574"),
    ],
)
def test_a_local_number_right_after_a_name_is_their_phone(text: str, phone: str) -> None:
    assert ("PHONE", phone) in _kinds(text)


def test_a_date_after_a_name_with_a_visit_told_is_no_birth() -> None:
    assert not [e for e in mask("张伟 2024年3月5日复诊，带什么").entities if e.kind == "DOB"]
    assert ("DOB", "1934.2.7") in _kinds("张桂兰 1934.2.7 住院号0391827 要复印CT报告")


def test_a_plate_after_its_cue_in_traditional_characters() -> None:
    assert ("PLATE", "PK 8823") in _kinds("部車牌係 PK 8823，啱啱喺急症室門口落咗我阿爸")


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("微信号改了 以前是wl19880312 现在是wanglei_run", ["wl19880312", "wanglei_run"]),
        ("Can the physio add me on WeChat? My ID is jake_miller_sh", ["jake_miller_sh"]),
        ("Which is your real WeChat official account? I found HVH_Care and HarbourviewIntl", []),
    ],
)
def test_a_handle_further_on_after_a_wechat_cue(text: str, handles: list[str]) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "WECHAT_ID"]
    assert found == handles


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("home line 2815 3309 (HK), she only speaks Cantonese", "2815 3309"),
        ("姓名 Mak Wai Kit, 電話 5071 8621.", "5071 8621"),
    ],
)
def test_a_local_number_after_a_cue_in_traditional_characters_or_a_home_line(
    text: str, phone: str
) -> None:
    assert ("PHONE", phone) in _kinds(text)


def test_a_ward_line_is_no_ones_phone() -> None:
    assert not [e for e in mask("ward line 2468 5800 nobody picks up").entities]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "嘉兴市南湖区 中山东路 1346 号 2 幢 601，麻烦寄过来",
            "嘉兴市南湖区 中山东路 1346 号 2 幢 601",
        ),
        ("寄到番禺区 市桥街 易发街 12号 之二 402", "番禺区 市桥街 易发街 12号 之二 402"),
        ("我住8号楼4单元302，老人腿脚不便", "8号楼4单元302"),
        ("2单元8楼1号，电梯坏了", "2单元8楼1号"),
    ],
)
def test_an_address_typed_with_spaces_or_a_flat_by_its_entrance(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


def test_a_floor_of_the_hospital_is_no_flat() -> None:
    assert _kinds("住院部8号楼3楼的护士站在哪") == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "my address: hangzhou xihu qu wensan lu 90 hao, thanks",
            "hangzhou xihu qu wensan lu 90 hao",
        ),
        ("we live in dongyuan xiaoqu 3 zhuang 201", "dongyuan xiaoqu 3 zhuang 201"),
    ],
)
def test_a_mainland_address_in_pinyin(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Turkish mobile 0532 481 93 27 — my English is ok", "0532 481 93 27"),
        ("我在日本工作 手机090-4471-2386 时差一小时 请上午打", "090-4471-2386"),
        ("my landline 01632 960 417, ask for Maggie", "01632 960 417"),
        ("japanese mobile 080-8512-3307, I speak little English", "080-8512-3307"),
        ("mon portable 06 12 48 77 30, merci", "06 12 48 77 30"),
        ("Handy 0176 3398 2210 bitte", "0176 3398 2210"),
        ("celular 011 98765 4321 (Brasil)", "011 98765 4321"),
    ],
)
def test_a_persons_phone_of_any_country_after_their_cue(text: str, phone: str) -> None:
    assert ("PHONE", phone) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("mon numéro de sécu 2 91 03 69 387 112 08, pour la mutuelle", "2 91 03 69 387 112 08"),
        ("Sécurité sociale : 1 63 07 13 055 218 96", "1 63 07 13 055 218 96"),
        ("whānau here for Tama, NHI PKR3719, room 4", "PKR3719"),
        ("NHI number ZHW52BN please", "ZHW52BN"),
    ],
)
def test_frances_social_security_spaced_and_new_zealands_nhi(text: str, number: str) -> None:
    assert ("OTHER_ID", number) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("身份证：3301061985\n03124417\n电话见下", "ID_CARD", "3301061985\n03124417"),
        ("my mobile is\n07700\n900461\nsorry it split", "PHONE", "07700\n900461"),
    ],
)
def test_a_number_cut_by_a_line_break_is_read_whole(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)


def test_an_id_card_number_printed_in_groups_after_a_passport_cue_is_the_id_card() -> None:
    text = "身份证 / Passport: 440106 20160314 5537 / EK3381720"
    assert _kinds(text) == [("ID_CARD", "440106 20160314 5537"), ("PASSPORT", "EK3381720")]


@pytest.mark.parametrize(
    ("text", "mrn"),
    [
        ("his hospital number is KB2 415 3390, can I visit", "KB2 415 3390"),
        ("my Patient Record No. — it's PR 0071 5523 on the band", "PR 0071 5523"),
    ],
)
def test_record_numbers_in_groups_with_their_letters(text: str, mrn: str) -> None:
    assert ("MRN", mrn) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [("姓名：郑小雨\n性别：女", "郑小雨"), ("患者姓名 林平安，男，45岁", "林平安")],
)
def test_a_given_name_that_is_also_a_word_stays_whole_after_a_cue(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My son Will Tran has had a fever since Monday", "Will Tran"),
        ("my sister May Okafor is bringing the forms", "May Okafor"),
    ],
)
def test_a_given_name_that_is_a_word_with_its_family_name_after_a_cue(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Patient name: Hartley, Joan\nDOB: see card", ["Hartley, Joan"]),
        ("Applicant 1: ZHOU, MING (周明)", ["ZHOU, MING", "周明"]),
        ("Tom, Sarah and I will come at 3", ["Tom", "Sarah"]),
        ("in class: Sophie Clarke, Hannah Lewis and Olivia Bennett", None),
    ],
)
def test_a_family_name_a_comma_and_the_given_names_are_one_name(
    text: str, names: list[str] | None
) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "PERSON"]
    if names is None:  # a list of full names stays a list
        assert all(", " not in f for f in found)
    else:
        assert found == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("is dr okonjo in on friday? need my results", ["okonjo"]),
        ("my dr appointment got moved, the dr said to fast", []),
    ],
)
def test_the_word_after_dr_in_a_lower_case_message(text: str, names: list[str]) -> None:
    assert [text[e.start : e.end] for e in mask(text).entities if e.kind == "PERSON"] == names


@pytest.mark.parametrize(
    "text",
    [
        "lead level 82, sample no. S240311-0922, is that high?",
        "please confirm my appointment #40021877 on Apr 11",
    ],
)
def test_a_things_number_after_a_generic_cue_is_no_ones(text: str) -> None:
    assert _kinds(text) == []


def test_an_account_number_after_acc_no_stays_masked() -> None:
    assert "71234598" in [v for _, v in _kinds("sort code 40-11-62, acc no 71234598")]


@pytest.mark.parametrize(
    "text",
    [
        "blood lead came back 82 μg/L. Reference range below 100?",
        "the guest Wi-Fi password is ward@2024, it does not connect",
        "住院楼B座7楼护士站电话多少",
    ],
)
def test_a_unit_a_password_or_a_floor_holds_no_name(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


@pytest.mark.parametrize(
    "text",
    [
        "单位编号：TJ2024-118  套餐：入职体检",
        "Provider code: PRV-GZ-40127, dates of treatment below",
        "Insurance: William Russell, please send the itemised bill",
    ],
)
def test_an_employers_a_providers_or_an_insurers_name_or_number_is_no_ones(text: str) -> None:
    assert _kinds(text) == []


def test_a_name_after_insured_stays_masked() -> None:
    assert ("PERSON", "Mei Lin Tan") in _kinds("insured: Mei Lin Tan, member ID 4471882")


def test_two_numbers_on_two_lines_stay_two() -> None:
    text = "家属电话\n13912345678\n13812345679"
    assert _kinds(text) == [("PHONE", "13912345678"), ("PHONE", "13812345679")]


def test_the_uks_freephone_stays_a_service_number() -> None:
    assert _kinds("the free advice line 0808 164 2277 was closed") == []


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("born 3rd june 79, still fit for the op?", "3rd june 79"),
        ("DOB 14th Aug 91", "14th Aug 91"),
    ],
)
def test_a_birth_date_with_an_ordinal_and_a_two_digit_year(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


def test_a_hotline_of_an_unknown_plan_stays_and_an_e_voucher_code_is_masked() -> None:
    assert _kinds("your pharmacy hotline 0532 481 93 27 never answers") == []
    assert ("OTHER_ID", "E37450286813") in _kinds("医保电子凭证编码E37450286813，扫了提示未激活")


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("the clerk keeps writing 24/12/62 vs 12/24/62 lol", ["24/12/62", "12/24/62"]),
        ("App version 3.9.12 on Android keeps crashing", []),
        ("血压 12/8/5 是什么意思", []),
    ],
)
def test_a_whole_date_with_a_two_digit_year_of_long_ago(text: str, dates: list[str]) -> None:
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "DOB"]
    assert found == dates


def test_a_wechat_payments_order_number_is_no_handle() -> None:
    assert _kinds("微信支付的商户单号HZ240314093155872，退款一直没到账") == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("护照E 9 7 2 1 4 0 3 6，我一个一个打的，你们核对下", "PASSPORT", "E 9 7 2 1 4 0 3 6"),
        ("车牌皖 A 9 2 K 7 1 今天来做透析 能停多久", "PLATE", "皖 A 9 2 K 7 1"),
    ],
)
def test_an_identifier_typed_one_character_at_a_time(text: str, kind: str, value: str) -> None:
    assert (kind, value) in _kinds(text)
    assert mask(text).entities[0].validated is False


def test_letters_one_at_a_time_are_no_identifier() -> None:
    assert _kinds("I have a b c d e f on the list") == []


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("邮箱是liuyan88艾特新浪点com，化验单拍照发我", "liuyan88艾特新浪点com"),
        (
            "My email's tomasz underscore k at wp dot pl (Polish provider)",
            "tomasz underscore k at wp dot pl",
        ),
        ("邮箱是huxm1122 圈a foxmail 点 com，圈a就是那个@", "huxm1122 圈a foxmail 点 com"),
        ("邮箱是 zhaoyu 点 lin 艾特 163 点 com", "zhaoyu 点 lin 艾特 163 点 com"),
    ],
)
def test_more_spelt_out_emails(text: str, email: str) -> None:
    assert ("EMAIL", email) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("我开两地牌过来的 香港牌TX 8823 地面停车场收不收费", "TX 8823"),
        ("It's the Volvo with Swedish plates KLM 48F, can it stay", "KLM 48F"),
    ],
)
def test_plates_after_a_places_plate_or_plural_plates(text: str, plate: str) -> None:
    assert ("PLATE", plate) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("车牌是苏E二八五六九 我爸开的 能停急诊门口吗", "苏E二八五六九"),
        ("车牌号 zhe a 7k23l 打字不方便", "zhe a 7k23l"),
        ("plate 横浜 300 あ 12-34, we rented it at the airport", "横浜 300 あ 12-34"),
        ("car reg 123가 4567 in the visitor car park", "123가 4567"),
        ("车牌 鄂 A 5 8 Q 2 1 停在B2", "鄂 A 5 8 Q 2 1"),
    ],
)
def test_any_regions_plate_after_a_plate_word(text: str, plate: str) -> None:
    assert ("PLATE", plate) in _kinds(text)


@pytest.mark.parametrize(
    "text", ["车牌号码要登记吗", "车牌尾号是3 今天限行吗", "the plate 2 tablets"]
)
def test_a_plate_word_without_a_plate_masks_nothing(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PLATE"]


@pytest.mark.parametrize(
    "text",
    [
        "admitted Feb 27, discharged Mar 4, Room 1208.",
        "Taking amlodipine 5mg since Jan.",
        "my booking is for Mar 16 08:30 in rheumatology",
    ],
)
def test_a_month_with_its_day_or_after_a_word_of_time_is_no_name(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


def test_a_capitalised_name_does_not_take_the_lowercase_word_after_it() -> None:
    text = "thank you for seeing my father Emeka Okonkwo last week. He is doing well"
    assert ("PERSON", "Emeka Okonkwo") in _kinds(text)
    assert ("PERSON", "sarah connor") in _kinds("this is sarah connor, my mum's carer")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my father is Trần Quốc Bảo, he has diabetes", "Trần Quốc Bảo"),
        ("I am Nguyễn Thu Hà, I need a translator", "Nguyễn Thu Hà"),
        ("patient Lê Thị Mai, 45, fever", "Lê Thị Mai"),
    ],
)
def test_vietnamese_names_with_their_marks(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("家属乌云·其木格，患者是我父亲那顺", "乌云·其木格"),
        ("我爸阿不都热合曼·库尔班住院了", "阿不都热合曼·库尔班"),
    ],
)
def test_pieces_of_a_name_around_its_middle_dot_are_one_name(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "医院总机0731-8432 6114打了半天没人接 我要找肾内科",
        "the hospital switchboard (+852 3404 9678) transferred me twice",
        "住院楼A座9楼护士站电话是0571-87236905对吗",
        "Your hotline +86 571 8723 6000 keeps hanging up",
        "Records office, Fax: (415) 555-0163, please send the discharge summary",
        "病历复印件请传真到 0571-8702 2776，谢谢",
        "出院小结：随访电话 020-8391 7765（护士站），主治医师见下",
    ],
)
def test_a_number_named_as_the_hospitals_is_no_ones_phone(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PHONE"]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("你们总机一直占线，麻烦让骨科护士站回个电话15832107749，我姓郝", "15832107749"),
        ("Insurance wants your fax — ours is (312) 555-0190.", "(312) 555-0190"),
        ("急诊留观7床 家属温婷 0571-8700 3125", "0571-8700 3125"),
        ("我家里的传真 020-8765 4321，报告发这个就行", "020-8765 4321"),
        ("my fax is 0161 496 0733 if email fails", "0161 496 0733"),
    ],
)
def test_a_persons_number_near_the_hospitals_words_stays_masked(text: str, phone: str) -> None:
    assert ("PHONE", phone) in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "医生说我巴宾斯基征阳性 这个严重吗",
        "孩子出生时阿普加评分8分，正常吗",
        "汉密尔顿抑郁量表测了24分，这个算重度吗",
        "嘉庚楼是不是核医学科啊，我要做骨扫描",
    ],
)
def test_a_sign_a_score_or_a_building_named_after_someone_is_no_person(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


@pytest.mark.parametrize(
    "text",
    ["明天做肠镜，麻醉科要家属签字吗", "林荫路那家社区医院能打九价吗", "五官科在几楼"],
)
def test_a_department_or_road_made_of_an_everyday_word_is_no_person(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


@pytest.mark.parametrize(
    "text",
    [
        "邵逸夫基金会的助学项目还招人吗",
        "The Christopher Reeve Foundation sent me a wheelchair guide",
        "Is the Wellcome Trust study still recruiting?",
        "我在 Bill Gates 基金会的疫苗项目里做过志愿者",
    ],
)
def test_an_institution_named_after_its_founder_is_no_person(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


def test_a_place_named_after_a_saint_stays_when_the_name_recurs_as_a_persons() -> None:
    text = "Scans from Mount Sinai? Patient: Sinai Cohen. Also seen at St. Agnes by Agnes Wu"
    found = [text[e.start : e.end] for e in mask(text).entities if e.kind == "PERSON"]
    assert found == ["Sinai Cohen", "Agnes Wu"]


def test_a_name_before_a_title_and_a_method_word_stays_a_name() -> None:
    assert ("PERSON", "汪") in _kinds("昨天给我抽血的汪护士手法特别好，一点都不疼")
    assert ("PERSON", "王芳") in _kinds("王芳运动后胸闷，要挂心内科吗")


def test_a_medicine_before_its_dose_or_side_effects_is_no_person() -> None:
    assert _kinds("达菲儿童剂量怎么算 孩子18公斤") == []
    assert _kinds("潘生丁的副作用大吗") == []
    assert ("PERSON", "王芳") in _kinds("王芳饭后胸闷，要挂什么科")


@pytest.mark.parametrize(
    "text",
    [
        "My Bishop score was 5 at 39 weeks, is induction likely",
        "the endocrinologist said she's Tanner stage 3 already",
        "I got my MMR at St. Jude as a kid, no reaction",
    ],
)
def test_a_score_or_a_saints_place_named_after_someone_is_no_person(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


def test_two_people_around_an_ampersand_stay_names() -> None:
    assert ("PERSON", "Rekha Gupta") in _kinds(
        "Sanjay & Rekha Gupta here - we both have appointments"
    )


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("老人 1938年 born，now 86，眼科 cataract surgery 风险大吗", "1938年"),
        ("My father's birth year is 1939, the app won't let me pick it", "1939"),
    ],
)
def test_a_birth_year_after_birth_year_or_before_born(text: str, dob: str) -> None:
    assert ("DOB", dob) in _kinds(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "send it to Prinsengracht 263-2, 1016 GV Amsterdam please",
            "Prinsengracht 263-2, 1016 GV Amsterdam",
        ),
        (
            "address Drottninggatan 53, 111 21 Stockholm, Sweden.",
            "Drottninggatan 53, 111 21 Stockholm",
        ),
        ("Wiedner Hauptstraße 32/14, 1040 Wien", "Wiedner Hauptstraße 32/14, 1040 Wien"),
        ("3-12-5 Hiroo, Shibuya-ku, Tokyo 150-0012", "3-12-5 Hiroo, Shibuya-ku, Tokyo 150-0012"),
        (
            "25 Sejong-daero 9-gil, Jung-gu, Seoul 04513",
            "25 Sejong-daero 9-gil, Jung-gu, Seoul 04513",
        ),
    ],
)
def test_addresses_of_europe_japan_and_korea(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


def test_a_dose_and_a_count_are_no_continental_address() -> None:
    assert _kinds("I take Metformin 500, 2000 Units daily") == []


@pytest.mark.parametrize(
    ("text", "keep"),
    [
        ("黄大仙附近有没有你们合作的体检机构", "黄大仙"),
        ("Jordan站出来过马路就是诊所吗", "Jordan"),
    ],
)
def test_a_place_before_its_surroundings_or_station_is_no_person(text: str, keep: str) -> None:
    assert keep in mask(text).text


def test_a_person_standing_up_is_still_a_person() -> None:
    assert ("PERSON", "王芳") in _kinds("王芳站起来就头晕，要挂什么科")


@pytest.mark.parametrize(
    "text", ["秋田犬咬伤，伤口在小腿", "我家狗是杰克罗素梗，刚才把我手咬出血了"]
)
def test_a_dog_breed_is_no_person(text: str) -> None:
    assert not [e for e in mask(text).entities if e.kind == "PERSON"]


def test_a_flat_in_a_tower_of_a_named_estate_is_an_address() -> None:
    text = "please deliver to Flat 11, Tower 3, Laguna City, Kwun Tong"
    assert ("ADDRESS", "Flat 11, Tower 3, Laguna City, Kwun Tong") in _kinds(text)
    assert _kinds("go to Room 5, Block A, Main Hospital for the scan") == []


def test_a_singapore_block_and_its_unit_with_the_street_before() -> None:
    text = "新加坡 Bedok North St 3, Blk 538 #09-211"
    assert ("ADDRESS", "Bedok North St 3, Blk 538 #09-211") in _kinds(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("万达广场旁边的红旗小区5栋，快递放门卫", "万达广场旁边的红旗小区5栋"),
        (
            "包头市昆都仑区包钢医院对面的青年路小区12栋",
            "包头市昆都仑区包钢医院对面的青年路小区12栋",
        ),
    ],
)
def test_a_home_told_from_a_landmark(text: str, address: str) -> None:
    assert ("ADDRESS", address) in _kinds(text)


def test_a_landmark_alone_is_no_address() -> None:
    assert _kinds("人民医院对面有药店吗") == []


def test_a_long_number_with_a_letter_is_no_amount_and_groups_before_a_comma_are_a_code() -> None:
    assert ("OTHER_ID", "36112660S") in _kinds("DNI 36112660S, Spanish citizen")
    assert ("OTHER_ID", "8143 4858 0105") in _kinds("マイナンバー 8143 4858 0105, 护照 pending")
    assert _kinds("吃了 500mg, 1000iu 维生素D") == []


def test_an_australian_unit_record_number_is_a_record_number() -> None:
    assert ("MRN", "0384 7721") in _kinds("UR number 0384 7721 from St Vincent's, transferring")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[1] 姓名 Name: 苏洋洋  性别 Sex: 男", "苏洋洋"),
        ("代办人：上官勇浩  电话：15890378091", "上官勇浩"),
    ],
)
def test_a_name_after_a_bilingual_form_label_or_an_agent(text: str, name: str) -> None:
    assert ("PERSON", name) in _kinds(text)
