"""What both backends share: the client interface, ``<think>`` removal, slots, deadline, retry."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import httpx
import pydantic

import prompts
from bot.config import Settings
from bot.llm.errors import (
    LLMBadResponse,
    LLMError,
    LLMModelMissing,
    LLMTimeout,
    LLMUnavailable,
)

log = logging.getLogger(__name__)

CONNECTION_ATTEMPTS = 2
"""One try and exactly one retry, on connection errors only."""
RETRY_DELAY_S = 0.25
CHECK_TIMEOUT_S = 5.0
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


# -- the interface --------------------------------------------------------------------------


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
