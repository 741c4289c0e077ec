"""The hospital's own facts: FAQ rows and documents (``entries``), an index that finds the
ones a question is about (``index``), kept in Redis as whole versions (``store``), and the
``careline kb`` commands (``cli``)."""

from __future__ import annotations

from bot.knowledge.entries import EXAMPLE_DIR, Entry, KnowledgeError, read_paths
from bot.knowledge.index import Hit, Index, SearchResult

__all__ = [
    "EXAMPLE_DIR",
    "Entry",
    "Hit",
    "Index",
    "KnowledgeError",
    "SearchResult",
    "read_paths",
]
