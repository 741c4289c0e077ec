"""Emergency assessment of a raw patient message, in Chinese and English.

Rules live in ``safety/data/emergency_*.toml`` (a hospital extends them without code) and
context cues in ``emergency_context.toml``. A rule fires when each of its term groups has a
*live* hit: a hit that is not negated ("没有胸痛", "denies shortness of breath"), not
resolved ("胸痛已经好了"), not old history ("三年前心梗"), not hypothetical ("如果胸痛怎么办")
and not part of a general information question ("心梗有什么前兆？"). Self-harm rules ignore
negation words, because the phrases themselves contain them ("我不想活了").

The package: ``lexicon`` loads the rules and context cues (with ``terms``, which turns
a term into a pattern, and ``factors``, the literals a pattern needs); ``message`` reads
one message's clauses and scopes; ``readings`` gives its other readings (code-switched,
pinyin); ``analysis`` makes the assessment. This module is the public API.
"""

from __future__ import annotations

from safety.emergency.analysis import LEARNED_PREFIX, Assessment, assess, finds, warm_up
from safety.emergency.factors import Factors
from safety.emergency.lexicon import (
    CATEGORIES,
    CONTEXT_FILE,
    LEXICON_FILES,
    Level,
    LexiconError,
    compile_terms,
    lexicon_words,
)
from safety.emergency.readings import pinyin_reader

__all__ = [
    "CATEGORIES",
    "CONTEXT_FILE",
    "LEARNED_PREFIX",
    "LEXICON_FILES",
    "Assessment",
    "Factors",
    "Level",
    "LexiconError",
    "assess",
    "compile_terms",
    "finds",
    "lexicon_words",
    "pinyin_reader",
    "warm_up",
]
