"""The model client: one small interface over Ollama and OpenAI-compatible servers.

The dispatcher only needs "answer these masked messages" and "is the model ready?", so
both backends hide behind :class:`LLMClient`. Every answer is bounded three ways: a
semaphore (``llm_parallel``) so a small GPU is not flooded, an overall deadline
(``llm_timeout_s``, counted from the call, including the wait for a slot) so a patient is
never left waiting on a stuck model, and exactly one retry when the connection fails
(never on a timeout or an HTTP error: those would only fail again, later).

Library errors become the typed :class:`LLMError` family. Their messages name the backend,
address, model and status, and never the prompt, the reply or the server's error text
(a server may echo the request back), and they are raised ``from None`` for the same reason.

Reasoning models may wrap thoughts in ``<think>…</think>``; they are removed, also when the
tags are split across stream chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.llm.base import (
    ChatMessage,
    LLMClient,
    M,
    OnStart,
    Readiness,
    ThinkFilter,
    strip_think,
    system_prompt,
)
from bot.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMModelMissing,
    LLMTimeout,
    LLMUnavailable,
)
from bot.llm.ollama import OllamaLLM

if TYPE_CHECKING:
    from bot.llm.openai_compat import OpenAICompatLLM

__all__ = [
    "ChatMessage",
    "LLMBadResponse",
    "LLMClient",
    "LLMError",
    "LLMModelMissing",
    "LLMTimeout",
    "LLMUnavailable",
    "M",
    "OllamaLLM",
    "OnStart",
    "OpenAICompatLLM",
    "Readiness",
    "ThinkFilter",
    "make_llm",
    "strip_think",
    "system_prompt",
]


def make_llm(settings: Settings) -> LLMClient:
    if settings.llm_backend == "openai":
        from bot.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(settings)
    return OllamaLLM(settings)


def __getattr__(name: str) -> Any:
    # The OpenAI-compatible client is imported only when asked for: the ``openai`` package
    # costs a server that talks to Ollama some 30 MB of memory for nothing.
    if name == "OpenAICompatLLM":
        from bot.llm.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
