"""Output guard: the last step before a model answer reaches a patient.

It strips reasoning remnants, removes placeholders that cannot be restored, softens absolute
claims, replaces specific dosing with a pointer to the doctor, caps the length on a sentence
boundary and appends the disclaimer exactly once. Rules live in ``data/guard_rules.toml``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Container
from dataclasses import dataclass
from functools import lru_cache

from safety import _text
from safety.pii import PLACEHOLDER_RE

RULES_FILE = "guard_rules.toml"
DISCLAIMER_SEPARATOR = "\n\n"
ELLIPSIS = "…"

_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think>.*", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[。！？!?；;\n]|[.](?=\s|$)")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([，。！？、,.!?;；:])")
_DOSE_JOINER = r"[\s，,、;；]*(?:和|及|并且|并|and|,)?[\s，,、]*"


@dataclass(frozen=True)
class GuardResult:
    text: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class _Rules:
    absolute: tuple[tuple[re.Pattern[str], str], ...]
    dosing: dict[str, re.Pattern[str]]
    pointer: dict[str, str]


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    with _text.data_path(RULES_FILE).open("rb") as fh:
        data = tomllib.load(fh)
    absolute = tuple(
        (re.compile(e["pattern"], re.IGNORECASE), str(e["replace"])) for e in data["absolute"]
    )
    dosing: dict[str, re.Pattern[str]] = {}
    for lang in ("zh", "en"):
        one = "(?:" + "|".join(data["dosing"][lang]) + ")"
        dosing[lang] = re.compile(f"{one}(?:{_DOSE_JOINER}{one})*", re.IGNORECASE)
    pointer = {"zh": data["dosing"]["zh_pointer"], "en": data["dosing"]["en_pointer"]}
    return _Rules(absolute, dosing, pointer)


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


def guard(
    text: str, *, lang: str, disclaimer: str, known: Container[str], max_chars: int
) -> GuardResult:
    """Make a model answer safe to send; ``max_chars`` bounds the body (not the disclaimer)."""
    rules = _rules()
    changes: list[str] = []
    body = text

    stripped = _strip_think(body)
    if stripped != body:
        changes.append("think")
        body = stripped

    leaked = [m.group() for m in PLACEHOLDER_RE.finditer(body) if m.group() not in known]
    if leaked:
        body = PLACEHOLDER_RE.sub(lambda m: m.group() if m.group() in known else "", body)
        changes.append("leaked_placeholder")

    before = body
    for pattern, replacement in rules.absolute:
        body = pattern.sub(replacement, body)
    if body != before:
        changes.append("absolute_claim")

    before = body
    for dose_lang in ("zh", "en"):
        pointer = rules.pointer[lang if lang in rules.pointer else dose_lang]
        body = rules.dosing[dose_lang].sub(pointer, body)
    # Two pointers side by side say the same thing once.
    for pointer in rules.pointer.values():
        body = re.sub(f"(?:{re.escape(pointer)}{_DOSE_JOINER})+{re.escape(pointer)}", pointer, body)
    if body != before:
        changes.append("dosing")

    had_disclaimer = bool(disclaimer) and disclaimer in body
    if disclaimer:
        body = body.replace(disclaimer, "")
    body = _tidy(body)

    capped = _cap(body, max_chars)
    if capped != body:
        changes.append("length")
        body = capped

    if disclaimer:
        if not had_disclaimer or not text.rstrip().endswith(disclaimer):
            changes.append("disclaimer")
        body = f"{body}{DISCLAIMER_SEPARATOR}{disclaimer}" if body else disclaimer
    return GuardResult(body, tuple(changes))
