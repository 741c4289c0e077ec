"""A loopback fake of an OpenAI-compatible server (vLLM, llama.cpp server, OpenAI itself).

Speaks ``POST /v1/chat/completions`` (one ``chat.completion`` object, or with
``stream: true`` server-sent events ``data: {chat.completion.chunk}`` ending with
``data: [DONE]``), ``GET /v1/models`` and ``GET /v1/models/{model}``. Errors use OpenAI's
body ``{"error": {"message", "type", "param", "code"}}``: 404 ``model_not_found``,
401 ``invalid_api_key``, 429 ``rate_limit_exceeded``, 500 ``server_error``.

Run as a process: ``python -m tests.fakes.openai_api --port 0 --reply "..." [--delay S]``;
the first stdout line is its URL (the client's base URL is that URL + ``/v1``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import Failure, LoopbackFake, fake_kwargs, run_cli

MID_STREAM_CHUNKS = 2
FINGERPRINT = "fp_careline_fake"
OWNER = "careline-fake"


def _error(status: int, message: str, kind: str, code: str | None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _model_not_found(model: str) -> web.Response:
    return _error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


def _event(obj: dict[str, Any] | str) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


@dataclass
class FakeOpenAI(LoopbackFake):
    CHAT_PATH = "/v1/chat/completions"

    api_key: str | None = field(default=None)
    """When set, requests must carry ``Authorization: Bearer <api_key>``."""

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def schema_of(self, body: Any) -> Any:
        rf = body.get("response_format")
        if not isinstance(rf, dict) or not isinstance(rf.get("json_schema"), dict):
            return None
        return rf["json_schema"].get("schema")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model:.+}", self._model)
        app.router.add_post("/v1/chat/completions", self._chat)

    def _unauthorised(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return _error(
            401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
        )

    def _model_object(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": OWNER}

    async def _models(self, request: web.Request) -> web.Response:
        await self.record(request)
        if (denied := self._unauthorised(request)) is not None:
            return denied
        return web.json_response(
            {"object": "list", "data": [self._model_object(m) for m in self.models]}
        )

    async def _model(self, request: web.Request) -> web.Response:
        await self.record(request)
        if (denied := self._unauthorised(request)) is not None:
            return denied
        name = request.match_info["model"]
        if not self.model_installed(name):
            return _model_not_found(name)
        return web.json_response(self._model_object(name))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        with self.counting(body):
            if (denied := self._unauthorised(request)) is not None:
                return denied
            if not isinstance(body, dict) or not body.get("model"):
                return _error(
                    400, "you must provide a model parameter", "invalid_request_error", None
                )
            model = str(body["model"])
            failure = self.take_failure(body)
            if failure is Failure.DROP:
                return self.drop(request)
            await self.pause(self.delay_for(body))
            if failure is Failure.HANG:
                await self.hang()
                return _error(500, "server shutting down", "server_error", None)
            if failure is Failure.MODEL_NOT_FOUND or not self.model_installed(model):
                return _model_not_found(model)
            if failure is Failure.ERROR_500:
                return _error(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                )
            if failure is Failure.OVERLOADED:
                return _error(
                    429,
                    "Rate limit reached for requests. Please try again in 1s.",
                    "requests",
                    "rate_limit_exceeded",
                )

            chunks = self.reply_chunks(body)
            finish_reason = "stop"
            limit = body.get("max_completion_tokens") or body.get("max_tokens")
            if isinstance(limit, int) and 0 < limit < len(chunks):
                chunks, finish_reason = chunks[:limit], "length"
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
            usage = self._usage(body, len(chunks))
            if body.get("stream"):
                return await self._stream(
                    request, body, completion_id, chunks, finish_reason, usage, failure
                )
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "system_fingerprint": FINGERPRINT,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": "".join(chunks),
                                "refusal": None,
                            },
                            "logprobs": None,
                            "finish_reason": finish_reason,
                        }
                    ],
                    "usage": usage,
                }
            )

    @staticmethod
    def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
        prompt_tokens = max(1, prompt_chars // 2)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        completion_id: str,
        chunks: list[str],
        finish_reason: str,
        usage: dict[str, int],
        failure: Failure | None,
    ) -> web.StreamResponse:
        created = int(time.time())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "system_fingerprint": FINGERPRINT,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
                **({"usage": None} if include_usage else {}),
            }

        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        )
        await response.prepare(request)
        try:
            await response.write(_event(chunk({"role": "assistant", "content": ""}, None)))
            for index, text in enumerate(chunks):
                if index == MID_STREAM_CHUNKS and failure is Failure.DROP_MID_STREAM:
                    self.drop(request)
                    return response
                if index == MID_STREAM_CHUNKS and failure is Failure.ERROR_MID_STREAM:
                    error = {
                        "message": "The server had an error while processing your request.",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                    await response.write(_event({"error": error}))
                    await response.write_eof()
                    return response
                await response.write(_event(chunk({"content": text}, None)))
                await self.pause(self.chunk_delay)
            await response.write(_event(chunk({}, finish_reason)))
            if include_usage:
                await response.write(_event(chunk({}, None) | {"choices": [], "usage": usage}))
            await response.write(_event("[DONE]"))
            await response.write_eof()
        except ConnectionError:
            pass  # the client hung up (it stopped waiting): a real server just stops too
        return response


def main() -> None:
    run_cli(
        lambda args: FakeOpenAI(**fake_kwargs(args)),
        "A loopback fake of an OpenAI-compatible chat-completions server.",
    )


if __name__ == "__main__":
    main()
