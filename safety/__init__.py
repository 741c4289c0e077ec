"""careline safety: emergency assessment, PII masking and the output guard.

A pure library: it imports nothing from ``bot`` or ``adapters``, so a hospital can use it on
its own (for example to mask text before it goes anywhere else).
"""

from __future__ import annotations


def warm_up() -> None:
    """Load lexicons, word lists and jieba once, so the first patient message is not slow."""
    from safety import emergency, guard, pii

    emergency.warm_up()
    pii.warm_up()
    guard._rules()


def warm_up_pinyin() -> None:
    """Build the reader of messages typed in pinyin (about a second); safe from any thread."""
    from safety import emergency

    emergency.pinyin_reader()
