"""The weights files of the learned readings: read a line at a time, errors named."""

from __future__ import annotations

from pathlib import Path

import pytest

from safety import _linear

_HEAD = "# a comment\ncategories\tdosing\tidentity\nbias\t-1.5\t0.2\t-0.3\n"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "weights.tsv"
    path.write_text(_HEAD + body, encoding="utf-8")
    return path


def test_a_weights_file_is_read_whole(tmp_path: Path) -> None:
    model = _linear.parse(_write(tmp_path, "剂量\t1.25\tdosing:0.5\n\n停药\t-0.5\t\n"))
    assert model.categories == ("dosing", "identity")
    assert model.bias == -1.5
    assert model.category_bias == (0.2, -0.3)
    assert model.weights == {"剂量": 1.25, "停药": -0.5}
    assert model.known == frozenset({"剂量", "停药"})
    assert model.read_category_weights("剂量") == ((0, 0.5),)
    assert model.read_category_weights("停药") == ()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("剂量\t1.25\n", "line 4 is not feature, weight, categories"),
        ("剂量\tmany\t\n", "line 4 is not feature, weight, categories"),
        ("剂量\t1\t\t\n", "line 4 is not feature, weight, categories"),
        ("剂量\t1\t\n剂量\t2\t\n", "a feature has more than one line"),
        ("剂量\t1\tcolour:0.5\n", "unknown category"),
    ],
)
def test_a_broken_weights_file_is_named_with_its_line(
    tmp_path: Path, body: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        _linear.parse(_write(tmp_path, body))
    assert "weights.tsv" in str(caught.value)


def test_the_header_lines_must_come_first(tmp_path: Path) -> None:
    path = tmp_path / "weights.tsv"
    path.write_text("categories\tdosing\n剂量\t1\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match="categories and bias lines first"):
        _linear.parse(path)
