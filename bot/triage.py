"""The model's triage verdict: a second, independent emergency check.

The lexicon (``safety.emergency``) answers at once and without a model; what it misses,
worded in ways nobody listed, the model may still recognise. For every message the lexicon
lets through, the dispatcher asks the model, alongside the answer, one structured question:
is this an emergency now, and of which kind? The answer is constrained to
:class:`TriageVerdict`'s JSON schema (Ollama ``format``, OpenAI ``response_format``) and
validated. The model sees the masked text only, like every other model call.

A verdict of emergency escalates exactly as the lexicon does. The check can only add
escalations: a failed, late or malformed verdict changes nothing, and it never runs before
or instead of the lexicon.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

import prompts
from bot.llm import ChatMessage, LLMClient
from safety.emergency import CATEGORIES, Assessment

# Earlier patient messages shown to the model as context: a heart attack told over three
# messages is one story.
CONTEXT_MESSAGES = 3
CONTEXT_CHARS = 1500
MATCHED_NAME = "model_triage"
"""What ``Assessment.matched`` holds for an escalation the model made."""

# The lexicon's categories, and "none": offered to the model as the schema's enum.
VERDICT_CATEGORIES = (*sorted(CATEGORIES), "none")
LABELS = {"zh": ("之前的消息", "最新消息"), "en": ("Earlier messages", "Latest message")}


class TriageVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emergency: bool
    category: str = Field(json_schema_extra={"enum": list(VERDICT_CATEGORIES)})

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in VERDICT_CATEGORIES:
            raise ValueError("unknown category")
        return value

    def assessment(self, lang: str) -> Assessment | None:
        """The escalation this verdict calls for, or None."""
        if not self.emergency:
            return None
        category = self.category if self.category in CATEGORIES else "other"
        return Assessment(
            True, "emergency", category, "zh" if lang == "zh" else "en", (MATCHED_NAME,)
        )


def triage_messages(latest: str, earlier: Sequence[str], lang: str) -> list[ChatMessage]:
    """The prompt: the latest masked message, with a few earlier ones as context."""
    before_label, latest_label = LABELS.get(lang, LABELS["en"])
    kept: list[str] = []
    used = 0
    for text in reversed(earlier[-CONTEXT_MESSAGES:]):
        if used + len(text) > CONTEXT_CHARS:
            break
        kept.append(text)
        used += len(text)
    kept.reverse()
    parts = []
    if kept:
        parts.append(f"{before_label}:\n" + "\n".join(f"- {t}" for t in kept))
    parts.append(f"{latest_label}:\n{latest}")
    return [
        ChatMessage("system", prompts.load("triage", lang)),
        ChatMessage("user", "\n\n".join(parts)),
    ]


async def triage(
    llm: LLMClient, latest: str, earlier: Sequence[str], lang: str
) -> Assessment | None:
    """The model's verdict on a masked message: an emergency assessment, or None. Raises
    ``LLMError`` when the model fails or answers outside the schema."""
    verdict = await llm.complete_structured(triage_messages(latest, earlier, lang), TriageVerdict)
    return verdict.assessment(lang)
