"""careline's HTTP server: health and readiness now; channel webhooks mount here too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.runtime import Runtime, open_runtime

log = logging.getLogger(__name__)

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
# Webhook bodies are small; anything larger is refused with 413 before it is read.
MAX_BODY_BYTES = 256 * 1024
READY_TIMEOUT_S = 3.0

# A channel mounts itself with a function that adds its routes and, through the app's
# cleanup_ctx (which runs after careline's own), registers its sender with the runtime.
Mount = Callable[[web.Application], None]


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    checks: dict[str, Any] = {}
    try:
        await asyncio.wait_for(runtime.redis.client.ping(), READY_TIMEOUT_S)
        checks["redis"] = {"ok": True}
    except Exception as exc:
        checks["redis"] = {"ok": False, "detail": type(exc).__name__}
    try:
        readiness = await asyncio.wait_for(runtime.llm.check(), READY_TIMEOUT_S)
        checks["llm"] = {
            "ok": readiness.reachable and readiness.model_present,
            "detail": readiness.detail,
        }
    except Exception as exc:
        checks["llm"] = {"ok": False, "detail": type(exc).__name__}
    ready = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def build_app(settings: Settings, mounts: tuple[Mount, ...] = ()) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings) as runtime:
            app[RUNTIME] = runtime
            log.info("careline serving on http://%s:%s", settings.host, settings.port)
            yield

    app.cleanup_ctx.append(lifecycle)
    for mount in mounts:
        mount(app)
    return app


def serve(settings: Settings) -> None:
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        shutdown_timeout=10.0,
    )
