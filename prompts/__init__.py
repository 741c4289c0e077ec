"""Prompt and reply-template text files, one folder per language, shipped inside the wheel."""

from __future__ import annotations

from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")


@cache
def load(name: str, lang: str) -> str:
    """The text of ``prompts/<lang>/<name>.txt``; unknown languages fall back to English."""
    folder = lang if lang in LANGUAGES else "en"
    return resources.files(__package__).joinpath(folder, f"{name}.txt").read_text("utf-8").strip()
