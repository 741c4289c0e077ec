"""Fixed replies rendered from the templates in ``prompts/``, filled from the hospital profile."""

from __future__ import annotations

from functools import cache

import prompts
from bot.config import HospitalProfile
from bot.models import Button, ButtonId

# Categories whose emergency reply differs from the general one; the template is
# ``emergency_<category>.txt``. Others use ``emergency.txt``.
SPECIFIC_EMERGENCY_TEMPLATES = frozenset(
    {
        "self_harm",
        "cardiac",
        "stroke",
        "breathing",
        "bleeding",
        "allergy",
        "poisoning",
        "seizure",
        "unconscious",
        "pregnancy",
        "infant_fever",
        "trauma",
        "burn",
    }
)


def render(name: str, lang: str, hospital: HospitalProfile) -> str:
    return prompts.load(name, lang).format(**hospital.template_fields())


def emergency(category: str | None, lang: str, hospital: HospitalProfile) -> str:
    name = f"emergency_{category}" if category in SPECIFIC_EMERGENCY_TEMPLATES else "emergency"
    return render(name, lang, hospital)


@cache
def _labels(lang: str) -> dict[str, str]:
    labels = {}
    for line in prompts.load("buttons", lang).splitlines():
        key, sep, label = line.partition("=")
        if sep:
            labels[key.strip()] = label.strip()
    return labels


def buttons(lang: str) -> tuple[Button, ...]:
    """The choices every answer carries: a human, and the emergency numbers."""
    labels = _labels(lang)
    return tuple(
        Button(id=b, label=labels[b]) for b in (ButtonId.HUMAN, ButtonId.EMERGENCY_NUMBERS)
    )
