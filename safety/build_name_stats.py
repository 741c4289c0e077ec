"""Build ``data/given_name_scores_zh.txt`` from jieba's own dictionary (run once, shipped).

For every character, how much more often it stands in the given-name part of the person
names jieba's dictionary tags ``nr`` (surname + one or two characters) than in ordinary
words, as a log ratio. Positive: a name-like character (伟, 玲, 涛); negative: a function or
everyday character (的, 了, 有). Names found without a cue must score well.

    python -m safety.build_name_stats
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from safety import _text

OUT_FILE = "given_name_scores_zh.txt"
PERSON_WORDS_FILE = "person_words_zh.txt"
_PERSON_TAGS = ("nr", "nrt", "nrfg")
_PERSON_LENGTHS = range(2, 6)
_SMOOTH_NAME = 0.5
_SMOOTH_TEXT = 1.0
_MIN_SCORE = -2.5  # characters scoring lower are left out (treated as the floor)
_NAME_LENGTHS = (2, 3)


def person_words() -> dict[str, str]:
    """Words jieba's dictionary tags as persons, 2-5 characters (loaded fast at start-up)."""
    import jieba

    out: dict[str, str] = {}
    with (Path(jieba.__file__).parent / "dict.txt").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] in _PERSON_TAGS and len(parts[0]) in _PERSON_LENGTHS:
                out[parts[0]] = parts[2]
    return out


def build() -> dict[str, float]:
    import jieba

    surnames = {
        w for line in _text.read_lines("surnames_zh.txt") for w in line.split() if len(w) == 1
    }
    given: Counter[str] = Counter()
    text: Counter[str] = Counter()
    path = Path(jieba.__file__).parent / "dict.txt"
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            word, freq, tag = parts[0], int(parts[1]), parts[2]
            for ch in word:
                text[ch] += freq
            if tag == "nr" and len(word) in _NAME_LENGTHS and word[0] in surnames:
                given.update(word[1:])
    g_total = sum(given.values())
    t_total = sum(text.values())
    scores: dict[str, float] = {}
    for ch in set(given) | set(text):
        if not ("\u4e00" <= ch <= "\u9fff"):
            continue
        s = math.log((given[ch] + _SMOOTH_NAME) / g_total) - math.log(
            (text[ch] + _SMOOTH_TEXT) / t_total
        )
        if s > _MIN_SCORE:
            scores[ch] = round(s, 2)
    return scores


def main() -> None:
    scores = build()
    lines = [
        "# Given-name character scores (log ratio: names vs ordinary words), built by",
        "# `python -m safety.build_name_stats` from jieba's dictionary. One 'CHAR SCORE'",
        "# per line; characters not listed score as the floor. Extend or adjust freely.",
    ]
    lines += [f"{ch} {s}" for ch, s in sorted(scores.items(), key=lambda kv: -kv[1])]
    _text.data_path(OUT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(scores)} characters to {_text.data_path(OUT_FILE)}")
    words = person_words()
    head = [
        "# Words jieba's dictionary tags as persons (nr, nrt, nrfg), 'WORD TAG' per line,",
        "# built by `python -m safety.build_name_stats`. Add local names; remove none.",
    ]
    body = [f"{w} {t}" for w, t in sorted(words.items())]
    _text.data_path(PERSON_WORDS_FILE).write_text("\n".join(head + body) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} words to {_text.data_path(PERSON_WORDS_FILE)}")


if __name__ == "__main__":
    main()
