"""The handoff summary: what a staff member needs to know before reading the whole chat.

When a chat escalates, the model is asked for a structured summary of the MASKED transcript
(Ollama structured output: ``format`` is the JSON schema of :class:`HandoffSummary`; the
OpenAI-compatible backend uses ``response_format``), and the answer is validated. The summary
is stored beside the handoff state with the same expiry. When the model fails, there is no
summary and the console shows the last messages instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import prompts
from bot.console.transcript import Line
from bot.llm import ChatMessage, LLMClient

# The transcript sent for a summary: the newest lines that fit.
SUMMARY_INPUT_CHARS = 4000
FIELD_CHARS = 300
LIST_ITEMS = 10
ROLE_LABELS = {
    "zh": {"patient": "患者", "bot": "助手", "staff": "工作人员"},
    "en": {"patient": "Patient", "bot": "Assistant", "staff": "Staff"},
}


class HandoffSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chief_complaint: str = Field(max_length=FIELD_CHARS)
    symptoms: list[str] = Field(max_length=LIST_ITEMS)
    duration: str = Field(max_length=FIELD_CHARS)
    red_flags: list[str] = Field(max_length=LIST_ITEMS)
    patient_wants: str = Field(max_length=FIELD_CHARS)

    def paragraph(self, lang: str) -> str:
        """One paragraph for the queue."""
        if lang == "zh":
            parts = [
                f"主诉：{self.chief_complaint}",
                f"症状：{'、'.join(self.symptoms) or '未提及'}",
                f"持续：{self.duration}",
                f"危险信号：{'、'.join(self.red_flags) or '无'}",
                f"诉求：{self.patient_wants}",
            ]
            return "；".join(parts) + "。"
        parts = [
            f"Complaint: {self.chief_complaint}",
            f"symptoms: {', '.join(self.symptoms) or 'none stated'}",
            f"duration: {self.duration}",
            f"red flags: {', '.join(self.red_flags) or 'none'}",
            f"wants: {self.patient_wants}",
        ]
        return "; ".join(parts) + "."


def transcript_text(lines: Sequence[Line], lang: str) -> str:
    labels = ROLE_LABELS.get(lang, ROLE_LABELS["en"])
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        text = f"{labels[line.role]}: {line.text}"
        if used + len(text) > SUMMARY_INPUT_CHARS:
            break
        kept.append(text)
        used += len(text)
    kept.reverse()
    return "\n".join(kept)


async def summarize(llm: LLMClient, lines: Sequence[Line], lang: str) -> HandoffSummary:
    """Ask the model; raises ``LLMError`` when it fails or answers outside the schema."""
    messages = [
        ChatMessage("system", prompts.load("handoff_summary", lang)),
        ChatMessage("user", transcript_text(lines, lang)),
    ]
    return await llm.complete_structured(messages, HandoffSummary)


class SummaryStore:
    def __init__(self, redis: aioredis.Redis, prefix: str, ttl_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s

    def key(self, conversation: str) -> str:
        return f"{self._prefix}:handoff-summary:{conversation}"

    async def save(self, conversation: str, summary: HandoffSummary) -> None:
        await self._redis.set(self.key(conversation), summary.model_dump_json(), ex=self._ttl_s)

    async def load_many(self, conversations: Sequence[str]) -> list[HandoffSummary | None]:
        if not conversations:
            return []
        raw = await self._redis.mget([self.key(c) for c in conversations])
        found: list[HandoffSummary | None] = []
        for item in raw:
            try:
                found.append(HandoffSummary.model_validate_json(item) if item else None)
            except ValidationError:
                found.append(None)
        return found
