"""Knowledge entries and the files they come from.

- FAQ rows: ``*.jsonl``, one object a line, ``{"id", "lang": "zh"|"en", "question",
  "answer", "tags"?}``; ``*.csv`` with the same columns (``tags`` separated by ``;``).
- Documents: ``*.md``, one entry per heading that has text under it; its id is
  ``<file stem>/<heading slug>``, or the one written after the heading as ``{#id}``; its
  language is the language of its text.

Any mistake is a ``KnowledgeError`` naming the file and line, never a traceback.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from safety.language import detect

LANGS = ("zh", "en")
SUFFIXES = (".jsonl", ".csv", ".md")
MAX_ID = 80
EXAMPLE_DIR = Path(str(resources.files("prompts") / "knowledge" / "example"))

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{#([^}\s]+)\})?\s*#*\s*$")
_ID_RE = re.compile(r"^[\w.\-/]+$")
_SLUG_DROP_RE = re.compile(r"[^\w]+")


class KnowledgeError(ValueError):
    """A knowledge file that cannot be read as it stands (the message says where and why)."""


@dataclass(frozen=True)
class Entry:
    id: str
    lang: str
    title: str  # the FAQ question, or the document's heading
    text: str  # the answer, or the section's text
    tags: tuple[str, ...] = ()
    source: str = ""  # the file it came from (its name)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            "title": self.title,
            "text": self.text,
            "tags": list(self.tags),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(
            id=str(data["id"]),
            lang=str(data["lang"]),
            title=str(data["title"]),
            text=str(data["text"]),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            source=str(data.get("source") or ""),
        )


def read_paths(paths: Iterable[Path]) -> list[Entry]:
    """The entries of files and folders (a folder: its knowledge files, in name order,
    sub-folders included). Raises ``KnowledgeError``: no knowledge file, a file of another
    kind, a malformed row, or one id given twice."""
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in _files(paths):
        for entry in _read_file(path):
            where = f"{path.name}"
            if entry.id in seen:
                raise KnowledgeError(
                    f"{where}: id {entry.id!r} is used twice (also in {seen[entry.id]})"
                )
            seen[entry.id] = where
            entries.append(entry)
    if not entries:
        raise KnowledgeError("no entries found (expected .jsonl, .csv or .md files)")
    return entries


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif not path.exists():
            raise KnowledgeError(f"{path}: no such file or folder")
        elif path.suffix not in SUFFIXES:
            raise KnowledgeError(
                f"{path.name}: not a knowledge file (expected .jsonl, .csv or .md)"
            )
        else:
            yield path


def _read_file(path: Path) -> list[Entry]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise KnowledgeError(f"{path.name}: not UTF-8 text") from None
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    if path.suffix == ".jsonl":
        return list(_jsonl_rows(path.name, text))
    if path.suffix == ".csv":
        return list(_csv_rows(path.name, text))
    return list(_md_sections(path, text))


def _jsonl_rows(name: str, text: str) -> Iterator[Entry]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise KnowledgeError(f"{name}:{number}: not a JSON object") from None
        if not isinstance(row, dict):
            raise KnowledgeError(f"{name}:{number}: not a JSON object")
        yield _faq(row, f"{name}:{number}", name)


def _csv_rows(name: str, text: str) -> Iterator[Entry]:
    reader = csv.DictReader(text.splitlines())
    missing = {"id", "lang", "question", "answer"} - set(reader.fieldnames or ())
    if missing:
        raise KnowledgeError(f"{name}: missing column(s) {', '.join(sorted(missing))}")
    for row in reader:
        tags = [t.strip() for t in (row.get("tags") or "").split(";") if t.strip()]
        yield _faq({**row, "tags": tags}, f"{name}:{reader.line_num}", name)


def _faq(row: dict[str, Any], where: str, source: str) -> Entry:
    values = {k: row.get(k) for k in ("id", "lang", "question", "answer")}
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(f"{where}: {key!r} is missing or empty")
    tags = row.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise KnowledgeError(f"{where}: 'tags' must be a list of strings")
    return Entry(
        id=_checked_id(str(values["id"]).strip(), where),
        lang=_checked_lang(str(values["lang"]).strip(), where),
        title=str(values["question"]).strip(),
        text=str(values["answer"]).strip(),
        tags=tuple(t.strip() for t in tags if t.strip()),
        source=source,
    )


def _md_sections(path: Path, text: str) -> Iterator[Entry]:
    heading: tuple[str, str | None, int] | None = None  # title, explicit id, line
    body: list[str] = []

    def section() -> Entry | None:
        content = "\n".join(body).strip()
        if heading is None or not content:
            return None
        title, explicit, line = heading
        where = f"{path.name}:{line}"
        slug = _SLUG_DROP_RE.sub("-", title.lower()).strip("-") or f"line-{line}"
        entry_id = _checked_id(explicit or f"{path.stem}/{slug}", where)
        return Entry(entry_id, detect(content), title, content, (), path.name)

    for number, line in enumerate(text.splitlines(), 1):
        match = _HEADING_RE.match(line)
        if match:
            done = section()
            if done is not None:
                yield done
            heading, body = (match.group(2), match.group(3), number), []
        else:
            body.append(line)
    done = section()
    if done is not None:
        yield done


def _checked_id(value: str, where: str) -> str:
    if len(value) > MAX_ID or not _ID_RE.match(value):
        raise KnowledgeError(
            f"{where}: id {value[:MAX_ID]!r} must be at most {MAX_ID} letters, digits, "
            "'-', '_', '.' or '/'"
        )
    return value


def _checked_lang(value: str, where: str) -> str:
    if value not in LANGS:
        raise KnowledgeError(f'{where}: lang must be "zh" or "en", not {value[:10]!r}')
    return value
