"""``careline eval emergency|pii|guard FILE.jsonl``: measure the safety library on a hospital's
data.

A hospital runs this on its own labelled messages before going live. Three file shapes are
recognised per line (see the project's data README):

* labelled cases: emergency ``{"id","text","escalate","level","category"}``, PII
  ``{"id","text","entities":[{"start","end","kind"}],"keep":[...]}``;
* NER files with person spans ``{"id","text","persons":[[s,e],...]}`` (PII only);
* unlabelled real messages ``{"id","text"}``, which give a flag (or mask) rate;
* model answers for the output guard ``{"id","text","lang","kind":"safe"|"unsafe","class",
  "preserve":[...],"forbid":[...]}``: a safe answer is kept intact when it is not withheld and
  every ``preserve`` string survives; an unsafe one is handled when it is withheld or no
  ``forbid`` string survives.

Output is a readable table or JSON (``--json``). Misses are listed by id only; message text
is printed to the operator's terminal only with ``--show-text``, and never logged.
"""

from __future__ import annotations

from bot.evaluation.cli import EVALUATORS, register_cli, run_eval
from bot.evaluation.common import (
    Counts,
    EvalInputError,
    Report,
    Row,
    f_beta,
    latency_summary,
    load_jsonl,
    percentile,
    ratio,
)
from bot.evaluation.emergency import evaluate_emergency
from bot.evaluation.guard import evaluate_guard
from bot.evaluation.pii import evaluate_pii
from bot.evaluation.render import render_json, render_text

__all__ = [
    "EVALUATORS",
    "Counts",
    "EvalInputError",
    "Report",
    "Row",
    "evaluate_emergency",
    "evaluate_guard",
    "evaluate_pii",
    "f_beta",
    "latency_summary",
    "load_jsonl",
    "percentile",
    "ratio",
    "register_cli",
    "render_json",
    "render_text",
    "run_eval",
]
