"""The Ollama backend."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

import httpx
import ollama
import pydantic

from bot.config import Settings
from bot.llm.base import (
    CHECK_TIMEOUT_S,
    ChatMessage,
    Readiness,
    _BaseLLM,
    _Failure,
    _status_failure,
    _transport_failure,
)
from bot.llm.errors import LLMBadResponse
from bot.metrics import count_tokens

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
OLLAMA_KEEP_ALIVE = "30m"
"""How long Ollama keeps the model loaded after an answer: long enough for a busy ward."""


# -- Ollama ---------------------------------------------------------------------------------


def _ollama_name(name: str) -> str:
    """Ollama reads ``qwen3`` as ``qwen3:latest``."""
    return name if ":" in name else f"{name}:latest"


class OllamaLLM(_BaseLLM):
    backend = "Ollama"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._host = settings.ollama_host
        self._client = ollama.AsyncClient(
            host=settings.ollama_host,
            timeout=httpx.Timeout(
                settings.llm_timeout_s, connect=min(CONNECT_TIMEOUT_S, settings.llm_timeout_s)
            ),
        )
        self._options: dict[str, Any] = {
            "temperature": settings.llm_temperature,
            "top_p": settings.llm_top_p,
            "repeat_penalty": settings.llm_repeat_penalty,
            "num_ctx": settings.llm_num_ctx,
            "num_predict": settings.llm_max_tokens,
        }
        # A structured answer is a judgement, not prose: the most likely one, every time.
        self._structured_options = {**self._options, "temperature": 0.0}

    def _messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in messages]

    def _note_cut(self, done_reason: str | None) -> None:
        if done_reason == "length":
            log.info("Ollama answer reached llm_max_tokens and was cut")

    async def _complete_once(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None
    ) -> str:
        response = await self._client.chat(
            model=self._model,
            messages=self._messages(messages),
            stream=False,
            format=schema,
            think=False,
            keep_alive=OLLAMA_KEEP_ALIVE,
            options=self._options if schema is None else self._structured_options,
        )
        self._note_cut(response.done_reason)
        count_tokens(response.prompt_eval_count, response.eval_count)
        return response.message.content or ""

    async def _stream_once(self, messages: Sequence[ChatMessage]) -> AsyncGenerator[str, None]:
        parts = await self._client.chat(
            model=self._model,
            messages=self._messages(messages),
            stream=True,
            think=False,
            keep_alive=OLLAMA_KEEP_ALIVE,
            options=self._options,
        )
        generator = cast(AsyncGenerator[ollama.ChatResponse, None], parts)
        try:
            async for part in generator:
                if part.message.content:
                    yield part.message.content
                if part.done:
                    self._note_cut(part.done_reason)
                    count_tokens(part.prompt_eval_count, part.eval_count)
        finally:
            await generator.aclose()

    def _classify(self, exc: Exception) -> _Failure | None:
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code < 0:
                return _Failure(LLMBadResponse("Ollama reported an error while answering"), False)
            missing = (
                f"Ollama at {self._host} has no model {self._model}: "
                f"run `ollama pull {self._model}`"
            )
            return _status_failure(self.backend, exc.status_code, missing)
        return _transport_failure(self.backend, self._host, exc)

    async def check(self) -> Readiness:
        host, model = self._host, self._model
        pull = f"`ollama pull {model}`"
        limit = min(CHECK_TIMEOUT_S, self._timeout_s)
        try:
            async with asyncio.timeout(limit):
                listing = await self._client.list()
                installed = sorted(m.model for m in listing.models if m.model)
                present = _ollama_name(model) in {_ollama_name(n) for n in installed}
                if not present:
                    present = await self._shows(model)
        except TimeoutError:
            return Readiness(
                False,
                False,
                f"Ollama at {host} did not answer within {limit:g} s: check that it runs "
                f"(`ollama serve`) and is not overloaded.",
            )
        except ollama.ResponseError as exc:
            return Readiness(
                True,
                False,
                f"Ollama at {host} answered HTTP {exc.status_code}: look at the Ollama log, "
                f"restart it with `ollama serve`, then check {pull}.",
            )
        except (ConnectionError, httpx.TransportError):
            return Readiness(
                False,
                False,
                f"Cannot reach Ollama at {host}: start Ollama with `ollama serve` (or set "
                f"CARELINE_OLLAMA_HOST to where it runs), then {pull}.",
            )
        except (pydantic.ValidationError, json.JSONDecodeError):
            return Readiness(
                True,
                False,
                f"The server at {host} does not answer like Ollama: "
                f"check CARELINE_OLLAMA_HOST (Ollama listens on port 11434 by default).",
            )
        if not present:
            others = ", ".join(installed) if installed else "none"
            return Readiness(
                True,
                False,
                f"Ollama is running at {host} but model {model} is not installed: run {pull} "
                f"(or set CARELINE_LLM_MODEL to an installed model; installed: {others}).",
            )
        return Readiness(True, True, f"Ollama at {host} is running and has {model}.")

    async def _shows(self, model: str) -> bool:
        """Ask ``/api/show`` directly: it also knows names the listing spells differently."""
        try:
            await self._client.show(model)
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]
