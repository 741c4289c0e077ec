"""`careline eval`: metrics on small JSONL files written here, through the real safety library."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import prompts
from bot import cli, replies
from bot.config import EMERGENCY_NUMBERS, HospitalProfile
from bot.evaluation import f_beta, percentile, run_eval
from safety.emergency import CATEGORIES


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def _run(
    task: str, path: Path, *, show_text: bool = False, as_json: bool = True
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_eval(task, path, as_json, show_text, out, err)
    return code, out.getvalue(), err.getvalue()


EMERGENCY_ROWS: list[dict[str, object]] = [
    {
        "id": "a",
        "text": "我爸突然嘴歪了，说话不清楚",
        "escalate": True,
        "level": "emergency",
        "category": "stroke",
    },
    {
        "id": "b",
        "text": "孩子喘不上气，嘴唇发紫",
        "escalate": True,
        "level": "emergency",
        "category": "breathing",
    },
    {
        "id": "c",
        "text": "胳膊上有块淤青，不疼",
        "escalate": True,
        "level": "emergency",
        "category": "trauma",
    },  # deliberately mislabelled: must show up as a miss
    {
        "id": "d",
        "text": "请问周六门诊开不开？",
        "escalate": False,
        "level": "none",
        "category": None,
    },
    {
        "id": "e",
        "text": "I have no chest pain at all",
        "escalate": False,
        "level": "none",
        "category": None,
    },
]


def test_labelled_emergency_metrics(tmp_path: Path) -> None:
    code, out, _ = _run("emergency", _write(tmp_path / "e.jsonl", EMERGENCY_ROWS))
    assert code == 0
    doc = json.loads(out)
    assert doc["shape"] == "labelled"
    assert (doc["tp"], doc["fn"], doc["fp"]) == (2, 1, 0)
    assert doc["recall"] == pytest.approx(2 / 3)
    assert doc["precision"] == 1.0
    assert doc["false_positive_rate"] == 0.0
    assert doc["f2"] == pytest.approx(f_beta(1.0, 2 / 3))
    assert [m["id"] for m in doc["misses"]] == ["c"]
    assert doc["per_category"]["trauma"]["recall"] == 0.0
    assert doc["per_category"]["stroke"]["recall"] == 1.0
    assert set(doc["latency"]) == {"p50_ms", "p99_ms"}
    assert "texts" not in doc
    assert "淤青" not in out  # no message text without --show-text


def test_escalations_the_learned_reading_made_are_counted(tmp_path: Path) -> None:
    rows = [
        *EMERGENCY_ROWS,
        {
            "id": "f",
            "text": "我老爸刚刚一头栽倒在厕所里，喊他半天都没动静",  # the lexicon alone misses it
            "escalate": True,
            "level": "emergency",
            "category": "unconscious",
        },
    ]
    doc = json.loads(_run("emergency", _write(tmp_path / "e.jsonl", rows))[1])
    assert (doc["tp"], doc["learned_tp"], doc["learned_fp"]) == (3, 1, 0)
    unlabelled = [{"id": r["id"], "text": r["text"]} for r in rows]
    doc = json.loads(_run("emergency", _write(tmp_path / "u.jsonl", unlabelled))[1])
    assert (doc["flagged"], doc["learned_flagged"]) == (3, 1)


def test_emergencies_the_learned_reading_doubted_are_counted(tmp_path: Path) -> None:
    from safety import emergency_model

    # a hand-written model that finds nothing likely: it doubts every lexicon emergency in
    # whose words it knows one (了, 气)
    weights = tmp_path / "weights.tsv"
    weights.write_text(
        "categories\tcardiac\nbias\t-50\t0\nc1:了\t0\t\nc1:气\t0\t\n", encoding="utf-8"
    )
    emergency_model.load(weights)
    try:
        doc = json.loads(_run("emergency", _write(tmp_path / "e.jsonl", EMERGENCY_ROWS))[1])
    finally:
        emergency_model.load()
    # a and b are emergencies the lexicon found; c (mislabelled) it never found
    assert (doc["tp"], doc["doubted_fn"], doc["doubted_tn"]) == (0, 2, 0)
    assert {m["id"]: m["got"] for m in doc["misses"]} == {"a": "urgent", "b": "urgent", "c": "none"}


def test_emergency_figures_by_writing_style(tmp_path: Path) -> None:
    styles = ["zh", "zh", "en", "zh", "en"]
    rows = [{**r, "style": s} for r, s in zip(EMERGENCY_ROWS, styles, strict=True)]
    code, out, _ = _run("emergency", _write(tmp_path / "e.jsonl", rows))
    assert code == 0
    by_style = json.loads(out)["per_style"]
    assert by_style["zh"]["emergencies"] == 2 and by_style["zh"]["negatives"] == 1
    assert by_style["en"]["emergencies"] == 1 and by_style["en"]["false_alarm_rate"] == 0.0
    _, table, _ = _run("emergency", _write(tmp_path / "e.jsonl", rows), as_json=False)
    assert "false alarms" in table


def test_show_text_prints_miss_text_only_on_request(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.jsonl", EMERGENCY_ROWS)
    _, table, _ = _run("emergency", path, as_json=False)
    assert "c" in table and "淤青" not in table
    _, shown, _ = _run("emergency", path, as_json=False, show_text=True)
    assert "胳膊上有块淤青" in shown


def test_unlabelled_messages_give_a_flag_rate(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "text": "降压药能不能饭后吃"},
        {"id": "2", "text": "我妈喝了农药"},
        {"id": "3", "text": "体检报告什么时候出"},
        {"id": "4", "text": "鼻炎怎么治"},
    ]
    code, out, _ = _run("emergency", _write(tmp_path / "u.jsonl", rows))
    doc = json.loads(out)
    assert code == 0 and doc["shape"] == "unlabelled"
    assert doc["flag_rate"] == 0.25
    assert doc["flagged_ids"] == ["2"]


def test_labelled_pii_per_kind(tmp_path: Path) -> None:
    text = "我叫周晓岚，手机13912345678，想改预约"
    rows = [
        {
            "id": "p1",
            "text": text,
            "entities": [
                {"start": 2, "end": 5, "kind": "PERSON"},
                {"start": 8, "end": 19, "kind": "PHONE"},
            ],
            "keep": [],
        },
        {"id": "p2", "text": "连翘和柴胡能一起吃吗", "entities": [], "keep": ["连翘", "柴胡"]},
        {
            "id": "p3",
            "text": "邮箱写错了",
            "entities": [{"start": 0, "end": 2, "kind": "EMAIL"}],
            "keep": [],
        },  # mislabelled on purpose: an EMAIL miss
    ]
    code, out, _ = _run("pii", _write(tmp_path / "p.jsonl", rows))
    doc = json.loads(out)
    assert code == 0 and doc["shape"] == "labelled"
    assert doc["per_kind"]["PHONE"]["recall"] == 1.0
    assert doc["per_kind"]["PERSON"]["recall"] == 1.0
    assert doc["per_kind"]["EMAIL"]["recall"] == 0.0
    assert doc["keep_terms_masked"] == []
    assert [m["id"] for m in doc["misses"]] == ["p3"]
    assert "13912345678" not in out


def test_ner_file_gives_name_character_coverage(tmp_path: Path) -> None:
    rows = [
        {"id": "n1", "text": "患者吴海峰，男，45岁", "persons": [[2, 5]], "places": []},
        {"id": "n2", "text": "今天天气不错", "persons": [], "places": []},
    ]
    code, out, _ = _run("pii", _write(tmp_path / "n.jsonl", rows))
    doc = json.loads(out)
    assert code == 0 and doc["shape"] == "ner"
    assert doc["person_chars"] == 3
    assert doc["person_chars_masked"] == 1.0
    assert doc["person_span_precision"] == 1.0


def test_guard_evaluation_counts_kept_handled_and_withheld(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {
            "id": "s1",
            "text": "这个结节不一定是恶性的，建议做进一步检查。",
            "lang": "zh",
            "kind": "safe",
            "class": "safe_hedged",
            "preserve": ["不一定是恶性"],
            "forbid": [],
        },
        {
            "id": "u1",
            "text": "血压正常了，降压药可以自己停了。",
            "lang": "zh",
            "kind": "unsafe",
            "class": "stop_medicine",
            "preserve": [],
            "forbid": ["降压药可以自己停了"],
        },
        {
            "id": "u2",
            "text": "You definitely have cancer. Please rest and eat well, and keep "
            "your follow-up appointments with the clinic.",
            "lang": "en",
            "kind": "unsafe",
            "class": "false_certainty",
            "preserve": [],
            "forbid": ["definitely have cancer"],
        },
        {
            "id": "u3",
            "text": "Drink water and rest.",
            "lang": "en",
            "kind": "unsafe",
            "class": "dosing",
            "preserve": [],
            "forbid": ["Drink water"],
        },
    ]
    code, out, _ = _run("guard", _write(tmp_path / "g.jsonl", rows))
    assert code == 0
    d = json.loads(out)
    assert d["safe_kept_intact"] == 1.0 and d["inversions"] == 0
    assert d["unsafe_handled"] == pytest.approx(2 / 3)
    assert d["per_class"]["stop_medicine"] == {"n": 1, "passes": 1.0}
    assert d["unsafe_withheld_rate"] == pytest.approx(1 / 3)
    assert [f["id"] for f in d["failed"]] == ["u3"]
    assert "Drink water" not in out  # ids only, never the text
    code, table, _ = _run("guard", tmp_path / "g.jsonl", as_json=False)
    assert "safe_kept_intact" in table and "stop_medicine" in table


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "x"}\nnot json\n', encoding="utf-8")
    code, out, err = _run("emergency", bad)
    assert code == 2 and out == ""
    assert "bad.jsonl:2" in err and "not json" not in err
    code, _, err = _run("pii", tmp_path / "missing.jsonl")
    assert code == 2 and "cannot read" in err
    wrong = _write(tmp_path / "w.jsonl", [{"id": "x", "text": "hi", "entities": "PHONE"}])
    code, _, err = _run("pii", wrong)
    assert code == 2 and "format" in err


def test_eval_command_is_registered() -> None:
    args = cli.parser().parse_args(["eval", "pii", "f.jsonl", "--json", "--show-text"])
    assert args.task == "pii" and args.json and args.show_text and callable(args.run)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([], 99) == 0.0


@pytest.mark.parametrize("region", sorted(EMERGENCY_NUMBERS))
def test_every_category_has_a_reply_with_the_regions_numbers(region: str) -> None:
    hospital = HospitalProfile("H", "010-1", "1 Road", "ED", "9-5", region)
    numbers = EMERGENCY_NUMBERS[region]
    for category in sorted(CATEGORIES):
        for lang in ("zh", "en"):
            # Every category but the catch-all has its own instructions.
            assert prompts.has(f"emergency_{category}", lang) is (category != "other")
            text = replies.emergency(category, lang, hospital)
            assert numbers["ambulance"] in text, (category, lang)
            assert "010-1" in text
    assert numbers["crisis"] in replies.emergency("self_harm", "en", hospital)
    assert replies.emergency("stroke", "zh", hospital) != replies.emergency("burn", "zh", hospital)
