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

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast

import httpx
import ollama
import openai
import pydantic
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

import prompts
from bot.config import Settings

log = logging.getLogger(__name__)

CONNECTION_ATTEMPTS = 2
"""One try and exactly one retry, on connection errors only."""
RETRY_DELAY_S = 0.25
CONNECT_TIMEOUT_S = 5.0
CHECK_TIMEOUT_S = 5.0
OLLAMA_KEEP_ALIVE = "30m"
"""How long Ollama keeps the model loaded after an answer: long enough for a busy ward."""
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


# -- the interface --------------------------------------------------------------------------


class LLMError(Exception):
    """The model gave no usable answer. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMUnavailable(LLMError):
    """The server cannot be reached, or says it is too busy to answer."""


class LLMTimeout(LLMError):
    """No complete answer within ``llm_timeout_s``."""


class LLMModelMissing(LLMError):
    """The server runs, but does not have the configured model."""


class LLMBadResponse(LLMError):
    """The server answered, but not with a usable reply (an HTTP error, an empty answer…)."""


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str = field(repr=False)


@dataclass(frozen=True)
class Readiness:
    reachable: bool
    model_present: bool
    detail: str
    """In plain words: what is the state, and what to do about it."""

    @property
    def ready(self) -> bool:
        return self.reachable and self.model_present


OnStart = Callable[[], Awaitable[None]]


class LLMClient(Protocol):
    async def complete(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> str:
        """The whole answer, ``<think>`` removed and stripped; raises an :class:`LLMError`.

        ``on_start`` is awaited once the model takes up the request (after any wait for a
        free slot): the moment to tell the patient an answer is being written."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> AsyncGenerator[str, None]:
        """The answer as text deltas (an async generator, so an AsyncIterator); ``on_start``
        as for :meth:`complete`.

        A caller that may stop early wraps it in ``contextlib.aclosing`` so the model's slot
        and connection are released at once rather than when the generator is collected.
        """
        ...

    async def check(self) -> Readiness:
        """Whether the server answers and has the model; never raises."""
        ...

    async def complete_structured(self, messages: Sequence[ChatMessage], schema: type[M]) -> M:
        """An answer constrained to ``schema``'s JSON schema (Ollama ``format``, OpenAI
        ``response_format``), validated; raises :class:`LLMBadResponse` when it does not fit."""
        ...

    async def aclose(self) -> None: ...


def make_llm(settings: Settings) -> LLMClient:
    if settings.llm_backend == "openai":
        return OpenAICompatLLM(settings)
    return OllamaLLM(settings)


def system_prompt(lang: str) -> str:
    """The system prompt for ``lang``; fill ``{hospital_name}`` with ``str.format``."""
    return prompts.load("system", lang)


# -- <think> removal ------------------------------------------------------------------------


def _partial_tag(text: str, tags: Sequence[str]) -> int:
    """Length of the longest suffix of ``text`` that could be the start of one of ``tags``."""
    start = text.rfind("<")
    if start < 0:
        return 0
    tail = text[start:]
    return len(tail) if any(tag.startswith(tail) for tag in tags) else 0


class ThinkFilter:
    """Removes ``<think>…</think>`` from text that arrives in pieces.

    Text that may be the start of a tag is held back until the next piece decides it. An
    unterminated ``<think>`` swallows the rest; a stray ``</think>`` is dropped.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._inside = False

    def feed(self, piece: str) -> str:
        self._pending += piece
        out: list[str] = []
        while True:
            if self._inside:
                end = self._pending.find(THINK_CLOSE)
                if end < 0:
                    keep = _partial_tag(self._pending, (THINK_CLOSE,))
                    self._pending = self._pending[len(self._pending) - keep :]
                    break
                self._pending = self._pending[end + len(THINK_CLOSE) :]
                self._inside = False
                continue
            opening = self._pending.find(THINK_OPEN)
            stray = self._pending.find(THINK_CLOSE)
            if stray >= 0 and (opening < 0 or stray < opening):
                out.append(self._pending[:stray])
                self._pending = self._pending[stray + len(THINK_CLOSE) :]
                continue
            if opening >= 0:
                out.append(self._pending[:opening])
                self._pending = self._pending[opening + len(THINK_OPEN) :]
                self._inside = True
                continue
            keep = _partial_tag(self._pending, (THINK_OPEN, THINK_CLOSE))
            out.append(self._pending[: len(self._pending) - keep])
            self._pending = self._pending[len(self._pending) - keep :]
            break
        return "".join(out)

    def flush(self) -> str:
        rest = "" if self._inside else self._pending
        self._pending = ""
        return rest


def strip_think(text: str) -> str:
    """The answer without reasoning. Text before a stray ``</think>`` is reasoning too.

    (A chat template may open the think block itself, so the reply starts inside it.)
    """
    stray = text.find(THINK_CLOSE)
    opening = text.find(THINK_OPEN)
    if stray >= 0 and (opening < 0 or stray < opening):
        text = text[stray + len(THINK_CLOSE) :]
    f = ThinkFilter()
    return (f.feed(text) + f.flush()).strip()


# -- the shared machinery -------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    """The :class:`LLMError` to raise for a library exception, and whether to retry."""

    error: LLMError
    retryable: bool


class _BaseLLM:
    """Slots, deadline, one retry on connection errors, ``<think>`` removal.

    Subclasses say how to ask once (``_complete_once``, ``_stream_once``) and how to read a
    library exception (``_classify``).
    """

    backend = "LLM"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._model = settings.llm_model
        self._timeout_s = settings.llm_timeout_s
        self._slots = asyncio.Semaphore(settings.llm_parallel)

    # subclass hooks

    async def _complete_once(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None
    ) -> str:
        raise NotImplementedError

    def _stream_once(self, messages: Sequence[ChatMessage]) -> AsyncGenerator[str, None]:
        raise NotImplementedError

    def _classify(self, exc: Exception) -> _Failure | None:
        """The typed failure for a library exception; None for one that is not ours."""
        raise NotImplementedError

    # shared

    def _timeout_error(self) -> LLMTimeout:
        return LLMTimeout(
            f"{self.backend} model {self._model} gave no answer within {self._timeout_s:g} s"
        )

    def _empty_error(self) -> LLMBadResponse:
        return LLMBadResponse(f"{self.backend} model {self._model} returned an empty answer")

    def _failure(self, exc: Exception) -> _Failure:
        failure = self._classify(exc)
        if failure is None:
            raise exc
        return failure

    @staticmethod
    async def _before(deadline: float, step: Awaitable[T]) -> T:
        async with asyncio.timeout_at(deadline):
            return await step

    async def complete(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> str:
        _require(messages)
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            async with asyncio.timeout_at(deadline), self._slots:
                if on_start is not None:
                    await on_start()
                raw = await self._retrying(lambda: self._complete_once(messages))
        except TimeoutError:
            raise self._timeout_error() from None
        answer = strip_think(raw)
        if not answer:
            raise self._empty_error()
        return answer

    async def complete_structured(self, messages: Sequence[ChatMessage], schema: type[M]) -> M:
        _require(messages)
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        json_schema = schema.model_json_schema()
        try:
            async with asyncio.timeout_at(deadline), self._slots:
                raw = await self._retrying(lambda: self._complete_once(messages, json_schema))
        except TimeoutError:
            raise self._timeout_error() from None
        try:
            return schema.model_validate_json(strip_think(raw))
        except pydantic.ValidationError:
            raise LLMBadResponse(
                f"{self.backend} model {self._model} answered outside the {schema.__name__} schema"
            ) from None

    async def _retrying(self, ask: Callable[[], Awaitable[str]]) -> str:
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            try:
                return await ask()
            except (LLMError, TimeoutError):
                raise
            except Exception as exc:
                failure = self._failure(exc)
                if not (failure.retryable and attempt < CONNECTION_ATTEMPTS):
                    raise failure.error from None
                self._log_retry(exc)
            await asyncio.sleep(RETRY_DELAY_S)
        raise AssertionError("unreachable")

    def _log_retry(self, exc: Exception) -> None:
        log.warning("%s connection failed (%s); retrying once", self.backend, type(exc).__name__)

    async def stream(
        self, messages: Sequence[ChatMessage], on_start: OnStart | None = None
    ) -> AsyncGenerator[str, None]:
        _require(messages)
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        try:
            await self._before(deadline, self._slots.acquire())
        except TimeoutError:
            raise self._timeout_error() from None
        try:
            if on_start is not None:
                await on_start()
            think = ThinkFilter()
            started = False
            for attempt in range(1, CONNECTION_ATTEMPTS + 1):
                pieces = self._stream_once(messages)
                try:
                    while True:
                        try:
                            raw = await self._before(deadline, anext(pieces))
                        except StopAsyncIteration:
                            break
                        text = think.feed(raw)
                        if not started:
                            text = text.lstrip()
                        if text:
                            started = True
                            yield text
                    break
                except TimeoutError:
                    raise self._timeout_error() from None
                except LLMError:
                    raise
                except Exception as exc:
                    failure = self._failure(exc)
                    if started or not (failure.retryable and attempt < CONNECTION_ATTEMPTS):
                        raise failure.error from None
                    self._log_retry(exc)
                finally:
                    await pieces.aclose()
                think = ThinkFilter()
                try:
                    await self._before(deadline, asyncio.sleep(RETRY_DELAY_S))
                except TimeoutError:
                    raise self._timeout_error() from None
            tail = think.flush()
            if not started:
                tail = tail.lstrip()
            if tail.rstrip():
                started = True
                yield tail.rstrip()
            if not started:
                raise self._empty_error()
        finally:
            self._slots.release()


def _require(messages: Sequence[ChatMessage]) -> None:
    if not messages:
        raise ValueError("complete/stream need at least one message")


def _status_failure(backend: str, status: int, missing: str) -> _Failure:
    """HTTP errors: 404 is the missing model (``missing`` says what to do), 429/503 busy."""
    if status == 404:
        return _Failure(LLMModelMissing(missing, status=status), False)
    if status in (429, 503):
        return _Failure(LLMUnavailable(f"{backend} is busy (HTTP {status})", status=status), False)
    return _Failure(
        LLMBadResponse(f"{backend} answered with an error (HTTP {status})", status=status), False
    )


def _transport_failure(backend: str, where: str, exc: Exception) -> _Failure | None:
    """httpx / socket errors, shared by both backends' underlying transports."""
    if isinstance(exc, httpx.ConnectTimeout):
        unreachable = LLMUnavailable(f"cannot connect to {backend} at {where} (timed out)")
        return _Failure(unreachable, False)
    if isinstance(exc, httpx.TimeoutException):
        return _Failure(LLMTimeout(f"{backend} at {where} stopped answering"), False)
    if isinstance(exc, ConnectionError | httpx.TransportError):
        return _Failure(
            LLMUnavailable(f"cannot connect to {backend} at {where} ({type(exc).__name__})"), True
        )
    if isinstance(exc, pydantic.ValidationError | json.JSONDecodeError):
        return _Failure(LLMBadResponse(f"{backend} at {where} sent an unreadable answer"), False)
    return None


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
        return response.choices[0].message.content or ""

    async def _stream_once(self, messages: Sequence[ChatMessage]) -> AsyncGenerator[str, None]:
        chunks = await self._client.chat.completions.create(
            model=self._model,
            messages=[_openai_message(m) for m in messages],
            temperature=self._settings.llm_temperature,
            top_p=self._settings.llm_top_p,
            max_tokens=self._settings.llm_max_tokens,
            stream=True,
            extra_body=self._extra_body,
        )
        try:
            async for chunk in chunks:
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
