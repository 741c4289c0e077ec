"""Text for WeChat: its byte limit, typed keywords that stand for buttons, and the adapter's
own short notices (``prompts/<lang>/wechat_*.txt``).

WeChat counts a text message in UTF-8 bytes (2048), not characters: a Chinese character is
three bytes, so an answer is cut by bytes, preferably where a sentence ends.
"""

from __future__ import annotations

import prompts
from bot.models import Button, ButtonId

# WeChat's limit for one text message (custom-service or passive reply), in UTF-8 bytes.
TEXT_LIMIT_BYTES = 2048
# Where a cut reads naturally, best first: paragraph, line, sentence ends, clause marks.
_BREAKS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    ("\n",),
    ("。", "！", "？", "!", "?", ". ", "；", ";"),
    ("，", ",", "、", " "),
)
# A cut is only taken at a break if it keeps at least this share of the allowed bytes.
_MIN_FILL = 0.5

# Text a patient may type instead of pressing a button (compared after strip, casefolded).
KEYWORDS: dict[str, ButtonId] = {
    "人工": ButtonId.HUMAN,
    "转人工": ButtonId.HUMAN,
    "人工客服": ButtonId.HUMAN,
    "human": ButtonId.HUMAN,
    "紧急电话": ButtonId.EMERGENCY_NUMBERS,
    "急救电话": ButtonId.EMERGENCY_NUMBERS,
    "numbers": ButtonId.EMERGENCY_NUMBERS,
    "删除记录": ButtonId.FORGET,
    "forget": ButtonId.FORGET,
}
KEYWORD_LANG: dict[str, str] = {"human": "en", "numbers": "en", "forget": "en"}

# How a button is offered as a typed instruction where WeChat cannot show buttons.
_TYPED_FORM: dict[str, dict[str, str]] = {
    "zh": {ButtonId.HUMAN: "人工", ButtonId.EMERGENCY_NUMBERS: "紧急电话"},
    "en": {ButtonId.HUMAN: "human", ButtonId.EMERGENCY_NUMBERS: "numbers"},
}


def keyword_button(text: str) -> tuple[ButtonId, str | None] | None:
    """The button a typed message stands for, with the language the keyword implies."""
    word = text.strip().casefold()
    button = KEYWORDS.get(word)
    if button is None:
        return None
    return button, KEYWORD_LANG.get(word, "zh")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _prefix_within(text: str, limit: int) -> int:
    """Characters of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    encoded = text.encode("utf-8")[:limit]
    return len(encoded.decode("utf-8", "ignore"))


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` UTF-8 bytes, at natural breaks."""
    parts: list[str] = []
    rest = text.strip()
    while utf8_len(rest) > limit:
        hard = _prefix_within(rest, limit)
        cut = 0
        for marks in _BREAKS:
            best = 0
            for mark in marks:
                at = rest.rfind(mark, 0, hard)
                if at > 0:
                    best = max(best, at + len(mark))
            if best >= hard * _MIN_FILL:
                cut = best
                break
        if cut <= 0:
            cut = hard
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def typed_choices(buttons: tuple[Button, ...], lang: str) -> str:
    """Buttons as a typed instruction, e.g. '回复"人工"转人工'."""
    forms = _TYPED_FORM.get(lang, _TYPED_FORM["en"])
    lines = [
        prompts.render("wechat_choice", lang, word=forms[b.id], label=b.label)
        for b in buttons
        if b.id in forms
    ]
    return "\n".join(lines)


def with_typed_choices(text: str, buttons: tuple[Button, ...], lang: str) -> str:
    choices = typed_choices(buttons, lang)
    return f"{text}\n\n{choices}" if choices else text
