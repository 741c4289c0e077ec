"""careline's HTTP server: health, readiness and Prometheus metrics; channel webhooks and the
staff console mount here too."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.exceptions
from aiohttp import web

from adapters import registry
from adapters.base import ChannelAdapter, ChannelContext, Streams
from bot.config import Settings
from bot.console.app import StaffConsole
from bot.front import FAST_ROUTES, FrontSite
from bot.metrics import metrics, watch_in_flight
from bot.runtime import RUNTIME, open_runtime

log = logging.getLogger(__name__)

# Webhook bodies are small; anything larger is refused with 413 before it is read.
MAX_BODY_BYTES = 256 * 1024
READY_TIMEOUT_S = 3.0
REDIS_START_ERRORS = (redis.exceptions.RedisError,)
# Allocations between young-generation collections (Python's default is 700). Fewer, larger
# young passes mean the full passes, whose cost grows with every message waiting for the
# model, come far less often: they paused the event loop for up to 50 ms under a backlog.
GC_YOUNG_THRESHOLD = 20_000


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
    try:
        # the intake stream's lag: messages stored and not yet answered, and the oldest's age
        backlog, oldest = await asyncio.wait_for(
            runtime.dispatcher.stream.backlog(), READY_TIMEOUT_S
        )
        checks["intake"] = {"ok": True, "waiting": backlog, "oldest_s": round(oldest, 1)}
    except Exception as exc:
        checks["intake"] = {"ok": False, "detail": type(exc).__name__}
    return web.json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


CHANNEL_NAMES: web.AppKey[str] = web.AppKey("channel_names", str)


def build_app(
    settings: Settings, adapters: Sequence[ChannelAdapter] | None = None
) -> web.Application:
    """The server: health, readiness, and the routes of every enabled channel."""
    channels = list(registry.adapters(settings) if adapters is None else adapters)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    # A worker takes no deliveries: its channels only send (webhooks go to "web" processes).
    intake = [a for a in channels if settings.role != "worker"]
    for adapter in intake:
        app.router.add_routes(adapter.routes())
    app[FAST_ROUTES] = {path: h for a in intake for path, h in a.fast_routes().items()}
    app[CHANNEL_NAMES] = ", ".join(a.channel for a in channels) or "none"

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings) as runtime:
            app[RUNTIME] = runtime
            dispatcher = runtime.dispatcher
            watch_in_flight(lambda: dispatcher.in_flight)
            context = ChannelContext(
                settings=settings,
                redis=runtime.redis.client,
                submit=dispatcher.submit,
                submit_first=dispatcher.submit_first,
                escalate=dispatcher.escalate,
                held_by_staff=dispatcher.held_by_staff,
                answers_at_intake=dispatcher.answers_at_intake,
            )
            started: list[ChannelAdapter] = []
            try:
                for adapter in channels:
                    await adapter.start(context)
                    runtime.senders[adapter.channel] = adapter
                    started.append(adapter)
                log.debug("channels started: %s", app[CHANNEL_NAMES])
                # Now that every channel can send: read the intake stream (role permitting).
                dispatcher.start()
                yield
            finally:
                # Hand on what the channels acknowledged, then answer what was accepted while
                # the channels can still deliver it.
                for adapter in started:
                    await adapter.drain()
                await runtime.dispatcher.aclose()
                for adapter in reversed(started):
                    await adapter.stop()

    app.cleanup_ctx.append(lifecycle)

    async def end_streams(app: web.Application) -> None:
        for adapter in channels:
            if isinstance(adapter, Streams):
                adapter.end_streams()

    app.on_shutdown.append(end_streams)
    console = StaffConsole(settings)  # the staff console, under /console
    app.router.add_routes(console.routes())
    app.cleanup_ctx.append(console.cleanup_ctx)
    app.on_shutdown.append(console.shutdown)
    app.on_response_prepare.append(console.on_response_prepare)
    return app


async def settle_memory(app: web.Application) -> None:
    """Once everything has started: what start-up loaded (lexicons, models, libraries) stays
    for the life of the process, so it is kept out of the garbage collector's passes, and the
    young generation is made larger, so full passes come far less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (every platform but Windows): the same asyncio API with
    libuv underneath; in bench/wechat_ack.py it took about 15% off the server's CPU time per
    delivery and about 6 ms off the acknowledgement p99. Otherwise asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def start_site(runner: web.AppRunner, host: str, port: int) -> FrontSite:
    """Listens for the runner's application; connections meet bot.front first."""
    site = FrontSite(runner, host, port, max_body=MAX_BODY_BYTES)
    await site.start()
    return site


async def _serve(app: web.Application, settings: Settings) -> int:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still interrupts
            loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await runner.setup()
        except REDIS_START_ERRORS as exc:
            log.error(
                "careline cannot start: Redis is not reachable (%s): nothing answers at "
                "CARELINE_REDIS_URL, or what answers is not Redis, or it refused careline. "
                "Check CARELINE_REDIS_URL, or unset it to use the embedded redis-server.",
                type(exc).__name__,
            )
            return 1
        try:
            site = await start_site(runner, settings.host, settings.port)
        except OSError as exc:
            log.error(
                "careline cannot listen on %s:%s (%s). Check CARELINE_HOST and CARELINE_PORT.",
                settings.host,
                settings.port,
                exc.strerror or type(exc).__name__,
            )
            return 1
        log.info(
            "careline serving on http://%s:%s (channels: %s; role: %s)",
            settings.host,
            site.port,
            app[CHANNEL_NAMES],
            settings.role,
        )
        await stop.wait()
        log.info("careline stopping: finishing what was accepted")
        return 0
    finally:
        await runner.cleanup()


def serve(settings: Settings) -> int:
    """Runs the server until SIGINT or SIGTERM; the exit status (1: could not start)."""
    app = build_app(settings)
    app.on_startup.append(settle_memory)  # after the channels' start (cleanup_ctx) above
    loop = event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_serve(app, settings))
    except KeyboardInterrupt:  # pragma: no cover - where signal handlers are unavailable
        return 130
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
