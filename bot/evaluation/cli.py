"""The ``careline eval emergency|pii|guard FILE.jsonl`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.evaluation.common import EvalInputError, Report, Row, load_jsonl
from bot.evaluation.emergency import evaluate_emergency
from bot.evaluation.guard import evaluate_guard
from bot.evaluation.pii import evaluate_pii
from bot.evaluation.render import render_json, render_text
from bot.knowledge.entries import KnowledgeError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


EVALUATORS: dict[str, Callable[[list[Row]], Report]] = {
    "emergency": evaluate_emergency,
    "pii": evaluate_pii,
    "guard": evaluate_guard,
}


def run_eval(
    task: str,
    path: Path,
    as_json: bool,
    show_text: bool,
    out: TextIO,
    err: TextIO,
    evaluate: Callable[[list[Row]], Report] | None = None,
) -> int:
    try:
        rows = load_jsonl(path)
        report = (evaluate or EVALUATORS[task])(rows)
    except (EvalInputError, KnowledgeError) as exc:
        err.write(f"careline eval: {exc}\n")
        return EXIT_BAD_INPUT
    except (KeyError, TypeError, ValueError) as exc:
        err.write(
            f"careline eval: {path}: rows do not match the {task} format ({type(exc).__name__})\n"
        )
        return EXIT_BAD_INPUT
    (render_json if as_json else render_text)(report, show_text, out)
    return EXIT_OK


def run_eval_kb(
    path: Path, base: list[Path] | None, as_json: bool, show_text: bool, out: TextIO, err: TextIO
) -> int:
    """``careline eval kb``: the questions against the base in ``base`` (files or folders),
    or the example base when none is given."""
    from bot.evaluation.kb import evaluate_kb
    from bot.knowledge import EXAMPLE_DIR, Index, read_paths

    def evaluate(rows: list[Row]) -> Report:
        return evaluate_kb(rows, Index(read_paths(base or [EXAMPLE_DIR])))

    return run_eval("kb", path, as_json, show_text, out, err, evaluate)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    del settings  # evaluation needs no service
    try:
        if args.task == "kb":
            base = [Path(p) for p in args.base] if args.base else None
            return run_eval_kb(
                Path(args.file), base, args.json, args.show_text, sys.stdout, sys.stderr
            )
        return run_eval(
            args.task, Path(args.file), args.json, args.show_text, sys.stdout, sys.stderr
        )
    except BrokenPipeError:  # `careline eval … | head`
        return EXIT_OK


def register_cli(subparsers: Any) -> None:
    """Add ``careline eval emergency|pii|guard FILE.jsonl``."""
    p = subparsers.add_parser(
        "eval", help="measure emergency assessment, PII masking or the output guard on a file"
    )
    tasks = p.add_subparsers(dest="task", required=True)
    for task, what in (
        ("emergency", "emergency escalation"),
        ("pii", "PII masking"),
        ("guard", "the output guard on model answers"),
        ("kb", "the knowledge search on questions ({id, lang, text, expect})"),
    ):
        t = tasks.add_parser(task, help=f"evaluate {what}")
        t.add_argument("file", help="JSON Lines file (labelled, NER, or unlabelled messages)")
        t.add_argument("--json", action="store_true", help="print JSON instead of a table")
        t.add_argument(
            "--show-text",
            action="store_true",
            help="also print the text of misses to this terminal (never logged)",
        )
        if task == "kb":
            t.add_argument(
                "--base",
                action="append",
                metavar="PATH",
                help="knowledge files or folders to search (default: the example base)",
            )
        t.set_defaults(run=_run)
