"""Every occurrence of any of a fixed set of strings in a text, in one pass.

The emergency lexicon's term factors, the guard's pattern literals and the guard model's
known features are each found this way for every message or answer. An Aho-Corasick
automaton does it; ``ahocorasick_rs`` (Rust's ``aho-corasick`` crate) keeps its cost nearly
independent of how many strings it holds, where an automaton that looks a character up
among a node's children one by one slows with every distinct first character (thousands
for Chinese: the guard model's 4,000 first characters made it about 100 times slower).
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick_rs


class Literals:
    """A fixed set of non-empty strings, ``words`` (sorted: ``index`` numbers them in that
    order), found anywhere in a text, overlapping ones included."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(sorted({w for w in words if w}))
        self._automaton = (
            ahocorasick_rs.AhoCorasick(
                list(self.words),
                matchkind=ahocorasick_rs.MatchKind.Standard,
                store_patterns=True,
            )
            if self.words
            else None
        )

    def __len__(self) -> int:
        return len(self.words)

    def present(self, text: str) -> set[str]:
        """The strings that occur in ``text``."""
        if self._automaton is None or not text:
            return set()
        return set(self._automaton.find_matches_as_strings(text, overlapping=True))

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every occurrence in ``text``: (the string's number in ``words``, start, end), in
        characters."""
        if self._automaton is None or not text:
            return []
        return self._automaton.find_matches_as_indexes(text, overlapping=True)
