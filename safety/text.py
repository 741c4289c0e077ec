"""The text handling the safety checks use, for careline's other parts: one normalisation and
one jieba dictionary in the process (a second jieba tokenizer would cost tens of MB)."""

from __future__ import annotations

from safety import _text


def normalize(text: str) -> str:
    """NFKC, traditional characters as simplified, colloquial spellings rewritten, lower case,
    no emoji: the form every check reads."""
    return _text.normalize(text).text


def words(norm: str) -> list[str]:
    """jieba's words of normalised text (spaces and punctuation included, as jieba cuts)."""
    return [t.text for t in _text.tokens(norm)]
