"""The OpenAI-compatible backend (vLLM, llama.cpp server, …)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

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
from bot.llm.errors import LLMBadResponse, LLMTimeout, LLMUnavailable
from bot.metrics import count_tokens

# -- OpenAI-compatible (vLLM, llama.cpp server, …) ------------------------------------------


def _openai_message(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


def _response_format(schema: dict[str, Any] | None) -> ResponseFormatJSONSchema | openai.Omit:
    if schema is None:
        return openai.omit
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }


class OpenAICompatLLM(_BaseLLM):
    backend = "OpenAI-compatible server"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._base_url = settings.openai_base_url
        self._client = openai.AsyncOpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            max_retries=0,
            timeout=settings.llm_timeout_s,
        )
        # Sampling that chat-completions lacks, in vLLM's spelling; thinking off for Qwen3.
        self._extra_body: dict[str, Any] = {
            "repetition_penalty": settings.llm_repeat_penalty,
            "chat_template_kwargs": {"enable_thinking": False},
        }

    async def _complete_once(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None
    ) -> str:
        response = await self._client.chat.completions.create(
            model=self._model,
            messages=[_openai_message(m) for m in messages],
            # A structured answer is a judgement, not prose: the most likely one, every time.
            temperature=self._settings.llm_temperature if schema is None else 0.0,
            top_p=self._settings.llm_top_p,
            max_tokens=self._settings.llm_max_tokens,
            stream=False,
            response_format=_response_format(schema),
            extra_body=self._extra_body,
        )
        if not response.choices:
            raise LLMBadResponse(f"{self.backend} at {self._base_url} returned no choices")
        if response.usage is not None:
            count_tokens(response.usage.prompt_tokens, response.usage.completion_tokens)
        return response.choices[0].message.content or ""

    async def _stream_once(self, messages: Sequence[ChatMessage]) -> AsyncGenerator[str, None]:
        chunks = await self._client.chat.completions.create(
            model=self._model,
            messages=[_openai_message(m) for m in messages],
            temperature=self._settings.llm_temperature,
            top_p=self._settings.llm_top_p,
            max_tokens=self._settings.llm_max_tokens,
            stream=True,
            # the token counts, in a last chunk of their own (vLLM and OpenAI send it)
            stream_options={"include_usage": True},
            extra_body=self._extra_body,
        )
        try:
            async for chunk in chunks:
                if chunk.usage is not None:
                    count_tokens(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield choice.delta.content
        finally:
            await chunks.close()

    def _classify(self, exc: Exception) -> _Failure | None:
        where = self._base_url
        if isinstance(exc, openai.APITimeoutError):
            return _Failure(LLMTimeout(f"{self.backend} at {where} stopped answering"), False)
        if isinstance(exc, openai.APIConnectionError):
            return _Failure(LLMUnavailable(f"cannot connect to {self.backend} at {where}"), True)
        if isinstance(exc, openai.APIStatusError):
            missing = (
                f"{self.backend} at {where} has no model {self._model} (HTTP 404): "
                f"check CARELINE_LLM_MODEL and that the base URL ends in /v1"
            )
            return _status_failure(self.backend, exc.status_code, missing)
        if isinstance(exc, openai.APIError):
            return _Failure(LLMBadResponse(f"{self.backend} at {where} reported an error"), False)
        return _transport_failure(self.backend, where, exc)

    async def check(self) -> Readiness:
        where, model = self._base_url, self._model
        limit = min(CHECK_TIMEOUT_S, self._timeout_s)
        try:
            async with asyncio.timeout(limit):
                served = sorted([m.id async for m in self._client.models.list()])
        except TimeoutError:
            return Readiness(
                False, False, f"{self.backend} at {where} did not answer within {limit:g} s."
            )
        except openai.APITimeoutError:
            return Readiness(False, False, f"{self.backend} at {where} did not answer in time.")
        except openai.APIConnectionError:
            return Readiness(
                False,
                False,
                f"Cannot reach the {self.backend} at {where}: start it (for example "
                f"`vllm serve {model}`) or set CARELINE_OPENAI_BASE_URL to where it runs.",
            )
        except openai.AuthenticationError:
            return Readiness(
                True,
                False,
                f"The {self.backend} at {where} rejected the API key: set CARELINE_OPENAI_API_KEY.",
            )
        except openai.APIStatusError as exc:
            return Readiness(
                True,
                False,
                f"The {self.backend} at {where} answered HTTP {exc.status_code} to /models: "
                f"check that CARELINE_OPENAI_BASE_URL ends in /v1.",
            )
        except openai.APIError:
            return Readiness(
                True,
                False,
                f"The server at {where} does not answer like an OpenAI-compatible API: "
                f"check CARELINE_OPENAI_BASE_URL.",
            )
        if model not in served:
            others = ", ".join(served) if served else "none"
            return Readiness(
                True,
                False,
                f"The {self.backend} at {where} does not serve model {model}: start it with "
                f"that model or set CARELINE_LLM_MODEL (served: {others}).",
            )
        return Readiness(True, True, f"The {self.backend} at {where} serves {model}.")

    async def aclose(self) -> None:
        await self._client.close()
