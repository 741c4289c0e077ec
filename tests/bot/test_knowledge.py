"""The knowledge base: its files, its search, its versions in Redis and its commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.evaluation.kb import evaluate_kb
from bot.knowledge import EXAMPLE_DIR, Index, KnowledgeError, read_paths
from bot.knowledge.entries import Entry
from bot.knowledge.store import OLD_VERSION_KEEP_S, KnowledgeStore
from tests.bot.test_staff import careline


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def faq(i: str, lang: str, question: str, answer: str) -> str:
    return json.dumps({"id": i, "lang": lang, "question": question, "answer": answer}) + "\n"


# ------------------------------------------------------------------ files


def test_faq_rows_csv_rows_and_document_sections_are_read(tmp_path: Path) -> None:
    _write(tmp_path / "a.jsonl", faq("kb-1", "zh", "几点探视", "每天15:00-20:00。") + "\n")
    _write(
        tmp_path / "b.csv",
        "id,lang,question,answer,tags\nkb-2,en,Where to park?,North Gate car park.,parking; car\n",
    )
    _write(
        tmp_path / "guide.md",
        "# Guide\n\n## Wi-Fi in the wards {#kb-wifi}\n\nConnect to Guest.\n\n"
        "## 食堂在哪里\n\n住院楼一楼。\n\n## Empty heading\n",
    )
    entries = {e.id: e for e in read_paths([tmp_path])}
    assert set(entries) == {"kb-1", "kb-2", "kb-wifi", "guide/食堂在哪里"}
    assert entries["kb-2"].tags == ("parking", "car") and entries["kb-2"].title == "Where to park?"
    assert entries["kb-wifi"].lang == "en" and entries["kb-wifi"].text == "Connect to Guest."
    assert (
        entries["guide/食堂在哪里"].lang == "zh"
        and entries["guide/食堂在哪里"].source == "guide.md"
    )


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("x.jsonl", faq("kb-1", "fr", "q", "a"), 'x.jsonl:1: lang must be "zh" or "en"'),
        (
            "x.jsonl",
            '{"id": "kb-1", "lang": "zh", "question": "q"}\n',
            "x.jsonl:1: 'answer' is missing",
        ),
        ("x.jsonl", faq("kb-1", "zh", "q", "a") + "not json\n", "x.jsonl:2: not a JSON object"),
        ("x.jsonl", faq("kb 1", "zh", "q", "a"), "x.jsonl:1: id 'kb 1' must be"),
        (
            "x.jsonl",
            faq("kb-1", "zh", "q", "a") + faq("kb-1", "en", "q", "a"),
            "id 'kb-1' is used twice",
        ),
        ("x.csv", "id,lang,question\nkb-1,zh,q\n", "x.csv: missing column(s) answer"),
        ("x.txt", "hello", "x.txt: not a knowledge file"),
    ],
)
def test_a_bad_file_is_named_with_its_line(tmp_path: Path, name: str, text: str, said: str) -> None:
    with pytest.raises(KnowledgeError, match=None) as caught:
        read_paths([_write(tmp_path / name, text)])
    assert said in str(caught.value)


def test_a_folder_without_knowledge_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no entries found"):
        read_paths([tmp_path])
    with pytest.raises(KnowledgeError, match="no such file"):
        read_paths([tmp_path / "missing"])


def test_the_example_base_has_both_languages_and_every_entry_finds_itself() -> None:
    entries = read_paths([EXAMPLE_DIR])
    assert len(entries) >= 40
    assert {e.lang for e in entries} == {"zh", "en"}
    index = Index(entries)
    for entry in entries:
        assert index.search(entry.title, entry.lang).hits[0].id == entry.id, entry.id


# ------------------------------------------------------------------ search

EXAMPLE = Index(read_paths([EXAMPLE_DIR]))


@pytest.mark.parametrize(
    ("question", "lang", "expected"),
    [
        ("化验单在哪拿", "zh", "kb-006"),  # 化验单 is the patients' word for 检验报告
        ("想去看望住院的老爸，几点可以进病房", "zh", "kb-004"),  # 看望 for 探视
        ("I need a doctor's letter for my boss", "en", "kb-114"),  # for medical certificate
        ("vistng hours for the wards?", "en", "kb-104"),  # a typo
        ("外省医保住院能直接结算吗", "zh", "kb-011"),
    ],
)
def test_paraphrases_and_typos_find_their_entry(question: str, lang: str, expected: str) -> None:
    assert expected in [h.id for h in EXAMPLE.search(question, lang).hits]


def test_a_question_the_base_does_not_answer_is_not_confident() -> None:
    for question in (
        "种植牙一颗多少钱",
        "what is the dose of ibuprofen for a child",
        "王医生周三出诊吗",
    ):
        assert not EXAMPLE.search(question).confident, question
    assert EXAMPLE.search("ICU探视时间").confident


def test_search_output_is_the_documented_json() -> None:
    data = EXAMPLE.search("parking", "en", top=2).to_json()
    assert set(data) == {"results", "confident"} and len(data["results"]) == 2
    assert set(data["results"][0]) == {"id", "score", "title"}


def test_the_evaluation_counts_ranks_and_confidence() -> None:
    rows = [
        {"id": "q1", "lang": "zh", "text": "化验单在哪拿", "expect": ["kb-006", "kb-105"]},
        {"id": "q2", "lang": "en", "text": "parking", "expect": ["kb-201"]},  # wrong on purpose
        {"id": "q3", "lang": "zh", "text": "种植牙多少钱", "expect": []},
    ]
    data = evaluate_kb(rows, EXAMPLE).data
    assert (data["answerable"], data["unanswerable"]) == (2, 1)
    assert data["recall_at_1"] == 0.5 and data["misses"] == ["q2"]
    assert data["confident_on_unanswerable"] == 0.0


# ------------------------------------------------------------------ store


async def test_an_import_replaces_the_base_as_a_whole(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = KnowledgeStore(redis_client, prefix)
    assert await store.entries() == []
    first = await store.ensure_example()
    assert len(await store.entries()) == len(read_paths([EXAMPLE_DIR]))
    assert await store.ensure_example() == first  # only when the base is empty

    mine = [Entry("h-1", "zh", "几点探视", "下午三点到八点。", ("探视",), "h.jsonl")]
    second = await store.replace(mine)
    assert second != first and await store.version() == second
    assert await store.entries() == mine
    # the old version is still there for a replica that just read its number, for a while
    assert len(await store.entries(first)) > 1
    assert 0 < await redis_client.ttl(f"{prefix}:kb:v:{first}") <= OLD_VERSION_KEEP_S


async def test_the_commands_import_search_show_and_refuse_a_bad_file(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    _write(
        base / "faq.jsonl",
        faq("h-1", "zh", "几点探视", "下午三点到八点。")
        + faq("h-2", "en", "Parking?", "North Gate."),
    )
    code, out, err = await careline(["kb", "import", str(base)], "", tmp_path, redis_url, prefix)
    assert code == 0 and "imported 2 entries (zh 1, en 1)" in out, err
    code, out, _ = await careline(
        ["kb", "search", "where can I park", "--json"], "", tmp_path, redis_url, prefix
    )
    assert code == 0 and json.loads(out)["results"][0]["id"] == "h-2"
    code, out, _ = await careline(["kb", "show", "h-1"], "", tmp_path, redis_url, prefix)
    assert code == 0 and "下午三点到八点。" in out
    assert (await careline(["kb", "show", "nope"], "", tmp_path, redis_url, prefix))[0] == 1

    _write(base / "bad.jsonl", faq("h-3", "de", "q", "a"))
    code, out, err = await careline(["kb", "import", str(base)], "", tmp_path, redis_url, prefix)
    assert code == 2 and 'bad.jsonl:1: lang must be "zh" or "en"' in err
    assert "Traceback" not in err
    code, out, _ = await careline(["kb", "list"], "", tmp_path, redis_url, prefix)
    assert out.split("\t")[0] == "h-1"  # the refused import changed nothing
