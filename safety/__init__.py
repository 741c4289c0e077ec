"""careline safety: emergency assessment, PII masking and the output guard.

A pure library: it imports nothing from ``bot`` or ``adapters``, so a hospital can use it on
its own (for example to mask text before it goes anywhere else).
"""

from __future__ import annotations


def warm_up() -> None:
    """Load lexicons, word lists and jieba once, so the first patient message is not slow."""
    from safety import emergency, guard, pii
    from safety.guard.rules import _rules

    emergency.warm_up()
    pii.warm_up()
    _rules()
    # Once through each path in both scripts, so its tables are built now, not on a patient.
    for text, lang in (
        ("胸口很痛，13812345678", "zh"),
        ("my chest hurts, call 0207 946 0018", "en"),
    ):
        emergency.assess(text, lang)
        guard.guard(text, lang=lang, disclaimer="", known=(), max_chars=200, context=text)


def warm_up_later() -> None:
    """What the first message does not need at once, for a background thread after start:
    the guard's learned weights (read only once a model answer is there, seconds later) and
    the reader of messages typed in pinyin (about a second), the emergency lexicon's patterns
    not compiled yet (about 0.3 s: a message compiles those it needs on first use), and the
    list of given names in Latin letters (about 0.1 s, read by the first English name cue).
    Safe from any thread."""
    from safety import emergency, guard_model, pii, pinyin

    guard_model.warm_up()
    emergency.compile_terms()
    pii.given_names()
    pii.english_given_names()
    pinyin.looks_like_pinyin("wo xiong kou teng")
    emergency.pinyin_reader()
