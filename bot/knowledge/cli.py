"""``careline kb import PATH…``, ``kb list``, ``kb show ID``, ``kb search TEXT``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.config import Settings
from bot.knowledge.entries import KnowledgeError, read_paths
from bot.knowledge.index import Index
from bot.knowledge.store import KnowledgeStore

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 2

_T = TypeVar("_T")


async def _with_store(settings: Settings, action: Callable[[KnowledgeStore], Awaitable[_T]]) -> _T:
    from bot.redis_conn import open_redis

    handle = await open_redis(settings.redis_url, settings.data_dir, settings.redis_max_connections)
    try:
        return await action(KnowledgeStore(handle.client, settings.redis_prefix))
    finally:
        await handle.close()


async def _current(store: KnowledgeStore) -> tuple[str, list[Any]]:
    version = await store.ensure_example()
    return version, await store.entries(version)


def _run_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        entries = read_paths(Path(p) for p in args.paths)
    except KnowledgeError as exc:
        print(f"careline kb: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    version = asyncio.run(_with_store(settings, lambda s: s.replace(entries)))
    langs = {lang: sum(1 for e in entries if e.lang == lang) for lang in ("zh", "en")}
    print(
        f"careline kb: imported {len(entries)} entries (zh {langs['zh']}, en {langs['en']}) "
        f"as version {version}; the previous base is replaced"
    )
    return EXIT_OK


def _run_list(settings: Settings, args: argparse.Namespace) -> int:
    version, entries = asyncio.run(_with_store(settings, _current))
    for e in entries:
        print(f"{e.id}\t{e.lang}\t{e.title}")
    print(f"({len(entries)} entries, version {version})", file=sys.stderr)
    return EXIT_OK


def _run_show(settings: Settings, args: argparse.Namespace) -> int:
    _, entries = asyncio.run(_with_store(settings, _current))
    found = next((e for e in entries if e.id == args.id), None)
    if found is None:
        print(f"careline kb: no entry {args.id}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
    else:
        tags = f"\ntags: {', '.join(found.tags)}" if found.tags else ""
        print(f"{found.id} ({found.lang}, {found.source})\n{found.title}\n\n{found.text}{tags}")
    return EXIT_OK


def _run_search(settings: Settings, args: argparse.Namespace) -> int:
    _, entries = asyncio.run(_with_store(settings, _current))
    result = Index(entries).search(args.text, args.lang, args.top)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return EXIT_OK
    for hit in result.hits:
        print(f"{hit.score:7.2f}  {hit.id}\t{hit.title}")
    print("confident" if result.confident else "not confident")
    return EXIT_OK


def register_cli(subparsers: Any) -> None:
    kb = subparsers.add_parser("kb", help="the hospital's knowledge base (FAQ and documents)")
    sub = kb.add_subparsers(dest="kb_command", required=True)
    imp = sub.add_parser(
        "import", help="replace the whole base with these .jsonl/.csv/.md files or folders"
    )
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.set_defaults(run=_run_import)
    sub.add_parser("list", help="list the entries (id, language, title)").set_defaults(
        run=_run_list
    )
    show = sub.add_parser("show", help="print one entry")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_run_show)
    search = sub.add_parser("search", help="the entries that answer a question, best first")
    search.add_argument("text")
    search.add_argument("--lang", choices=("zh", "en"))
    search.add_argument("--top", type=int, default=3)
    search.add_argument("--json", action="store_true", help='print {"results": [...], "confident"}')
    search.set_defaults(run=_run_search)
