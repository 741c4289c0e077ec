"""Output guard: the last step before a model answer reaches a patient.

The guard judges sentences and never edits words inside them: rewriting "一定是" inside
"不一定是" once turned a careful answer into false reassurance. It strips reasoning remnants,
splits the answer into sentences, and gives each the classes of ``data/guard_rules.toml``
whose patterns it matches, read with their scope (a prohibition or a hedge before a match
turns it around: "不要催吐", "不一定是恶性的"), plus contraindications from
``data/contraindications.toml`` (a medicine recommended while the answer or the patient's
message names a population it is not for). An offending sentence is dropped whole, with one
short note where it helps. When a dangerous class appears, or too little is left, the answer
is withheld: ``GuardResult.withheld`` with its ``reasons``; ``text`` is still what the patient
would see if it were sent. An answer that names an emergency gets the call-now line. The
length is capped on a sentence boundary and the disclaimer appended exactly once.

The package: ``rules`` loads the rules and contraindications; ``layout`` strips, cuts,
tidies and caps the text; ``scope`` reads a match in its sentence and its answer;
``classify`` gives each sentence its classes, ``contacts`` finds contact details;
``pipeline`` runs it all (``guard``). This module is the public API.
"""

from __future__ import annotations

from safety.guard.layout import DISCLAIMER_SEPARATOR, ELLIPSIS, complete_part, sentences
from safety.guard.pipeline import GuardResult, guard
from safety.guard.rules import CLASSES, CONTRAINDICATIONS_FILE, RULES_FILE, guard_notes

__all__ = [
    "CLASSES",
    "CONTRAINDICATIONS_FILE",
    "DISCLAIMER_SEPARATOR",
    "ELLIPSIS",
    "RULES_FILE",
    "GuardResult",
    "complete_part",
    "guard",
    "guard_notes",
    "sentences",
]
