"""An answer's text: reasoning remnants (``<think>``) stripped, the text cut into sentences
(``sentences``, ``complete_part``), its spacing tidied and its length capped on a
sentence boundary.
"""

from __future__ import annotations

import re

DISCLAIMER_SEPARATOR = "\n\n"
ELLIPSIS = "…"

_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)
# A sentence ends at 。！？!?；; a newline, or a full stop before a space or the end that does
# not close an abbreviation (looked at behind the stop, so only where there is one).
_FULL_STOP = (
    r"\."
    + "".join(
        rf"(?<!\b{a}\.)"
        for a in ("[Dd]r", "[Mm]r", "[Mm]rs", "[Mm]s", "Prof", r"e\.g", r"i\.e", "etc", "vs")
    )
    + r"(?=\s|$)"
)
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]*?(?:[。！？!?；;]+|" + _FULL_STOP + r"|\n|$)")
_SENTENCE_END_RE = re.compile(r"[。！？!?；;\n]|" + _FULL_STOP)
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([，。！？、,.!?;；:])")


def _strip_think(text: str) -> str:
    text = _THINK_BLOCK_RE.sub("", text)
    text = _THINK_CLOSE_RE.sub("", text)  # a closing tag whose opening was cut off
    return _THINK_OPEN_RE.sub("", text)  # an opening tag never closed


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _SPACES_RE.sub(" ", text))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = 0
    for m in _SENTENCE_END_RE.finditer(text):
        if m.end() > max_chars:
            break
        cut = m.end()
    if cut == 0:
        return text[: max(0, max_chars - len(ELLIPSIS))].rstrip() + ELLIPSIS
    return text[:cut].rstrip()


def sentences(text: str) -> list[str]:
    """The answer cut into sentences, each with its closing punctuation; joined, the text."""
    return [m.group() for m in _SENTENCE_RE.finditer(text) if m.group()]


def complete_part(text: str) -> str:
    """The answer up to its last finished sentence: what a draft may show of it."""
    cut = 0
    for m in _SENTENCE_END_RE.finditer(text):
        cut = m.end()
    return text[:cut]
