"""careline safety: emergency assessment, PII masking and the output guard.

A pure library: it imports nothing from ``bot`` or ``adapters``, so a hospital can use it on
its own (for example to mask text before it goes anywhere else).
"""

from __future__ import annotations


def warm_up() -> None:
    """Load lexicons, word lists and jieba once, so the first patient message is not slow.
    The output guard is not among them: it reads a model's answer, seconds after a message
    arrives, and ``warm_up_later`` readies it in the background."""
    import gc

    from safety import emergency, pii

    # Start-up makes some million objects that live as long as the process: collecting
    # garbage among them while they are made finds none (about 0.05 s).
    collecting = gc.isenabled()
    gc.disable()
    try:
        emergency.warm_up()
        pii.warm_up()
        # Once through each path in both scripts, so its tables are built now, not on a patient.
        for text, lang in _WARM_UP_TEXTS:
            emergency.assess(text, lang)
    finally:
        if collecting:
            gc.enable()


_WARM_UP_PHONES = (
    "call 020 7946 0018, (415) 867-5309, 0412 345 678 or +44 7700 900123, mobile 9123 4567",
    "电话010-62345678转8021，手机+86 138 1234 5678，座机0755-8888 6666",
)
_WARM_UP_TEXTS = (("胸口很痛，13812345678", "zh"), ("my chest hurts, call 0207 946 0018", "en"))


def warm_up_later() -> None:
    """What the first message does not need at once, for a background thread after start:
    the output guard's rules and learned weights (read only once a model answer is there,
    seconds later), the reader of messages typed in pinyin (about a second), the emergency
    lexicon's patterns not compiled yet (about 0.3 s: a message compiles those it needs on
    first use), and the list of given names in Latin letters with the Latin-letter name CRF
    (about 0.4 s, read by the first message with Latin letters).
    Safe from any thread."""
    from safety import emergency, guard, guard_model, latin_name_model, pii, pinyin
    from safety.guard.rules import _rules

    _rules()
    for text, lang in _WARM_UP_TEXTS:
        guard.guard(text, lang=lang, disclaimer="", known=(), max_chars=200, context=text)
    guard_model.warm_up()
    emergency.compile_terms()
    pii.given_names()
    pii.english_given_names()
    latin_name_model.name_spans("thanks, li na", 0.5)  # its weights, lexicon and syllables
    # phone numbers of every region read (``phonenumbers`` loads each region's data and
    # compiles its patterns on first use: a millisecond or two of an answer's guard)
    for text in _WARM_UP_PHONES:
        pii.identifiers(text)
    pinyin.looks_like_pinyin("wo xiong kou teng")
    emergency.pinyin_reader()
