"""Prompt and reply-template text files, one folder per language, shipped inside the wheel.

``render(name, lang, **fields)`` fills a template; ``labels(name, lang)`` reads a
``key = label`` template (button labels, region names) as a mapping.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")


def _folder(lang: str) -> str:
    return lang if lang in LANGUAGES else "en"


@cache
def load(name: str, lang: str) -> str:
    """The text of ``prompts/<lang>/<name>.txt``; unknown languages fall back to English."""
    path = resources.files(__package__).joinpath(_folder(lang), f"{name}.txt")
    return path.read_text("utf-8").strip()


@cache
def has(name: str, lang: str) -> bool:
    """Whether ``prompts/<lang>/<name>.txt`` exists."""
    return resources.files(__package__).joinpath(_folder(lang), f"{name}.txt").is_file()


def render(name: str, lang: str, **fields: str) -> str:
    """A template with its ``{field}`` places filled."""
    return load(name, lang).format(**fields)


@cache
def labels(name: str, lang: str) -> dict[str, str]:
    """A ``key = label`` template as a mapping (lines without ``=`` are comments)."""
    found: dict[str, str] = {}
    for line in load(name, lang).splitlines():
        key, sep, label = line.partition("=")
        if sep:
            found[key.strip()] = label.strip()
    return found
