"""The name CRF's training data readers (the training itself runs at build time only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safety import build_name_model


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def test_labelled_pii_lines_give_their_person_spans_and_english_ones_are_left_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pii_train_x.jsonl"
    _write(
        path,
        [
            {
                "text": "我妈刘桂芳 电话13912345678",
                "entities": [
                    {"kind": "PERSON", "start": 2, "end": 5},
                    {"kind": "PHONE", "start": 8, "end": 19},
                ],
            },
            {"text": "my name is Olivia", "entities": [{"kind": "PERSON", "start": 11, "end": 17}]},
        ],
    )
    [(text, labels)] = list(build_name_model.read_spans(path))
    assert text.startswith("我妈刘桂芳")
    assert labels[:6] == ["O", "O", "B", "I", "I", "O"]
    assert set(labels[6:]) == {"O"}


def test_ner_lines_keep_their_persons(tmp_path: Path) -> None:
    path = tmp_path / "ner.jsonl"
    _write(path, [{"text": "昨天见到张伟了", "persons": [[4, 6]]}])
    [(_, labels)] = list(build_name_model.read_spans(path))
    assert labels == ["O", "O", "O", "O", "B", "I", "O"]


def test_an_extra_pattern_names_its_files_in_order_with_a_weight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("b.jsonl", "a.jsonl", "c.txt"):
        (tmp_path / name).write_text("", "utf-8")
    monkeypatch.chdir(tmp_path)
    assert build_name_model._extra_spec("*.jsonl:2", 3) == ([Path("a.jsonl"), Path("b.jsonl")], 2)
    assert build_name_model._extra_spec("weibo.jsonl", 3) == ([Path("weibo.jsonl")], 3)
    with pytest.raises(SystemExit):
        build_name_model._extra_spec("none_*.jsonl", 3)
