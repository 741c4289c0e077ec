"""careline reads jieba's dictionary cache itself (in one piece) and falls back to jieba."""

from __future__ import annotations

import marshal
from pathlib import Path

from safety import _text

jieba = _text._import_jieba()


def _tokenizer(tmp_path: Path) -> object:
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(tmp_path)
    return tok


def test_a_cache_jieba_wrote_is_read_and_used(tmp_path: Path) -> None:
    (tmp_path / "jieba.cache").write_bytes(marshal.dumps(({"头": 3, "头痛": 5, "痛": 2}, 10)))
    tok = _tokenizer(tmp_path)
    assert _text._read_jieba_cache(jieba, tok)
    assert (tok.FREQ, tok.total, tok.initialized) == ({"头": 3, "头痛": 5, "痛": 2}, 10, True)
    # jieba takes it as its own: no second load, the words of this dictionary only
    assert tok.lcut("头痛", HMM=False) == ["头痛"]
    assert tok.FREQ == {"头": 3, "头痛": 5, "痛": 2}


def test_a_named_cache_file_is_looked_for_where_jieba_looks(tmp_path: Path) -> None:
    (tmp_path / "mine.cache").write_bytes(marshal.dumps(({"胸痛": 4}, 4)))
    tok = _tokenizer(tmp_path)
    tok.cache_file = "mine.cache"
    assert _text._read_jieba_cache(jieba, tok)
    assert tok.total == 4


def test_no_cache_a_broken_one_or_another_dictionary_leaves_it_to_jieba(tmp_path: Path) -> None:
    tok = _tokenizer(tmp_path)
    assert not _text._read_jieba_cache(jieba, tok)  # none yet
    for junk in (b"", b"not marshal data", marshal.dumps([1, 2]), marshal.dumps(({}, 0))):
        (tmp_path / "jieba.cache").write_bytes(junk)
        assert not _text._read_jieba_cache(jieba, tok)
        assert not tok.initialized and tok.FREQ == {}
    (tmp_path / "jieba.cache").write_bytes(marshal.dumps(({"头": 1}, 1)))
    own = jieba.Tokenizer(str(tmp_path / "jieba.cache"))  # a dictionary of its own
    own.tmp_dir = str(tmp_path)
    assert not _text._read_jieba_cache(jieba, own)


def test_the_shared_tokenizer_holds_jiebas_whole_dictionary() -> None:
    tok = _text.tokenizer()
    assert tok.initialized and len(tok.FREQ) > 300_000
    assert tok.FREQ["糖尿病"] > 0 and tok.total > 10_000_000
