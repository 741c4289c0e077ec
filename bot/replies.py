"""Fixed replies rendered from the templates in ``prompts/``, filled from the hospital profile."""

from __future__ import annotations

import prompts
from bot.config import HospitalProfile
from bot.models import Button, ButtonId


def emergency(category: str | None, lang: str, hospital: HospitalProfile) -> str:
    """The emergency reply: ``emergency_<category>`` where the category has its own
    template, else the general ``emergency``."""
    name = f"emergency_{category}"
    return hospital.render(name if category and prompts.has(name, lang) else "emergency", lang)


def buttons(lang: str) -> tuple[Button, ...]:
    """The choices every answer carries: a human, and the emergency numbers."""
    labels = prompts.labels("buttons", lang)
    return tuple(
        Button(id=b, label=labels[b]) for b in (ButtonId.HUMAN, ButtonId.EMERGENCY_NUMBERS)
    )
