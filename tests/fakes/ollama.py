"""A loopback fake of the Ollama HTTP API (docs.ollama.com/api).

Speaks what careline and the ``ollama`` Python library use: ``POST /api/chat`` (NDJSON
stream ending in a ``done: true`` chunk with durations and counts, or one JSON object when
``stream`` is false), ``GET /api/tags``, ``POST /api/show``, ``GET /api/version`` and
``GET /`` ("Ollama is running"). Errors are ``{"error": "..."}`` with the documented status;
an error after the stream started is an ``{"error": ...}`` line under status 200.

Run as a process: ``python -m tests.fakes.ollama --port 0 --reply "..." [--delay S]``;
the first stdout line is its URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes import Failure, LoopbackFake, fake_kwargs, run_cli

FAKE_VERSION = "0.12.6"
FAKE_DIGEST = "0" * 64
FAKE_SIZE = 2_497_293_918
NS_PER_CHUNK = 20_000_000
MID_STREAM_CHUNKS = 2
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
SERVER_ERROR_MESSAGE = "llama runner process has terminated: exit status 2"
STREAM_ERROR_MESSAGE = "an error was encountered while running the model"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _normalise(name: str) -> str:
    """Ollama treats ``qwen3`` as ``qwen3:latest``."""
    return name if ":" in name else f"{name}:latest"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _not_found(model: str) -> web.Response:
    return _error(404, f'model "{model}" not found, try pulling it first')


@dataclass
class FakeOllama(LoopbackFake):
    CHAT_PATH = "/api/chat"

    def schema_of(self, body: Any) -> Any:
        return body.get("format")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._root)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)

    def model_installed(self, name: str) -> bool:
        return _normalise(name) in {_normalise(m) for m in self.models}

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": FAKE_VERSION})

    def _model_entry(self, name: str) -> dict[str, Any]:
        family = name.split(":", 1)[0]
        return {
            "name": _normalise(name),
            "model": _normalise(name),
            "modified_at": _now(),
            "size": FAKE_SIZE,
            "digest": FAKE_DIGEST,
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": family,
                "families": [family],
                "parameter_size": "4.0B",
                "quantization_level": "Q4_K_M",
            },
        }

    async def _tags(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"models": [self._model_entry(m) for m in self.models]})

    async def _show(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        name = ""
        if isinstance(body, dict):
            name = str(body.get("model") or body.get("name") or "")
        if not name:
            return _error(400, "model is required")
        if not self.model_installed(name):
            return _error(404, f"model '{name}' not found")
        entry = self._model_entry(name)
        return web.json_response(
            {
                "modelfile": f"FROM {entry['name']}\n",
                "parameters": "temperature 0.7\nnum_ctx 8192",
                "template": "{{ .Prompt }}",
                "details": entry["details"],
                "model_info": {"general.architecture": entry["details"]["family"]},
                "capabilities": ["completion"],
                "modified_at": entry["modified_at"],
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        with self.counting(body):
            if not isinstance(body, dict):
                return _error(400, "invalid request body")
            model = str(body.get("model") or "")
            if not model:
                return _error(400, "model is required")
            failure = self.take_failure(body)
            if failure is Failure.DROP:
                return self.drop(request)
            await self.pause(self.delay_for(body))
            if failure is Failure.HANG:
                await self.hang()
                return _error(500, "server shutting down")
            if failure is Failure.MODEL_NOT_FOUND or not self.model_installed(model):
                return _not_found(model)
            if failure is Failure.ERROR_500:
                return _error(500, SERVER_ERROR_MESSAGE)
            if failure is Failure.OVERLOADED:
                return _error(503, BUSY_MESSAGE)

            chunks = self.reply_chunks(body)
            done_reason = "stop"
            options = body.get("options") or {}
            limit = options.get("num_predict")
            if isinstance(limit, int) and 0 < limit < len(chunks):
                chunks, done_reason = chunks[:limit], "length"
            if body.get("stream", True):
                return await self._stream(request, body, chunks, done_reason, failure)
            return web.json_response(
                self._final(model, "".join(chunks), done_reason, body, len(chunks))
            )

    def _final(
        self, model: str, content: str, done_reason: str, body: dict[str, Any], count: int
    ) -> dict[str, Any]:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done_reason": done_reason,
            "done": True,
            "total_duration": (count + 2) * NS_PER_CHUNK,
            "load_duration": NS_PER_CHUNK,
            "prompt_eval_count": max(1, prompt_chars // 2),
            "prompt_eval_duration": NS_PER_CHUNK,
            "eval_count": count,
            "eval_duration": count * NS_PER_CHUNK,
        }

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        chunks: list[str],
        done_reason: str,
        failure: Failure | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        model = str(body["model"])
        try:
            for index, chunk in enumerate(chunks):
                if index == MID_STREAM_CHUNKS and failure is Failure.DROP_MID_STREAM:
                    self.drop(request)
                    return response
                if index == MID_STREAM_CHUNKS and failure is Failure.ERROR_MID_STREAM:
                    await response.write(_line({"error": STREAM_ERROR_MESSAGE}))
                    await response.write_eof()
                    return response
                part = {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": chunk},
                    "done": False,
                }
                await response.write(_line(part))
                await self.pause(self.chunk_delay)
            await response.write(_line(self._final(model, "", done_reason, body, len(chunks))))
            await response.write_eof()
        except ConnectionError:
            pass  # the client hung up (it stopped waiting): a real server just stops too
        return response


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


def main() -> None:
    run_cli(lambda args: FakeOllama(**fake_kwargs(args)), "A loopback fake of the Ollama API.")


if __name__ == "__main__":
    main()
