"""The typed errors of a model call; their messages never hold the prompt or the reply."""

from __future__ import annotations


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
