"""What careline counts, for Prometheus to scrape at ``GET /metrics``.

Labels are channels, kinds, categories, reasons and error names: never patient text, never
a conversation or user id. Each process counts its own messages; Prometheus adds replicas up.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()

MESSAGES = Counter(
    "careline_messages",
    "Patient messages accepted, by channel and kind (text, voice, image, event, button).",
    ["channel", "kind"],
    registry=REGISTRY,
)
REPLIES = Counter(
    "careline_replies",
    "Replies delivered to a channel, by channel and kind (answer, emergency, handoff, notice).",
    ["channel", "kind"],
    registry=REGISTRY,
)
SEND_ERRORS = Counter(
    "careline_send_errors",
    "Replies a channel did not deliver, by channel, kind and error.",
    ["channel", "kind", "error"],
    registry=REGISTRY,
)
EMERGENCIES = Counter(
    "careline_emergencies",
    "Emergency replies, by category and by what found the emergency (lexicon, learned, model).",
    ["category", "by"],
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "careline_escalations",
    "Conversations newly put in front of staff, by reason.",
    ["reason"],
    registry=REGISTRY,
)
KNOWLEDGE = Counter(
    "careline_knowledge_answers",
    "Answers by what the knowledge base gave: direct (an entry's text, no model), cited (the "
    "model cited entries), uncited (entries given, none cited), none (nothing relevant).",
    ["how"],
    registry=REGISTRY,
)
ANSWER_CACHE = Counter(
    "careline_answer_cache",
    "Questions that may take a kept answer (no conversation before, no personal details), by "
    "outcome: hit (the kept answer, no model), miss.",
    ["outcome"],
    registry=REGISTRY,
)
GUARD = Counter(
    "careline_guard_answers",
    "Model answers the output guard read, by outcome (sent, trimmed, withheld).",
    ["outcome"],
    registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "careline_model_seconds",
    "Time from asking the model to its finished answer (or failure).",
    ["outcome"],
    buckets=(0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 120),
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "careline_model_tokens",
    "Tokens the model read (prompt) and wrote (completion), as its server reports them.",
    ["kind"],
    registry=REGISTRY,
)
HANDOFF_WAIT = Histogram(
    "careline_handoff_wait_seconds",
    "How long a chat waited for staff before a staff member claimed it.",
    buckets=(10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "careline_messages_in_flight",
    "Messages accepted and not yet answered in this process.",
    registry=REGISTRY,
)
RECLAIMED = Counter(
    "careline_stream_reclaimed",
    "Intake entries a worker took over from one that stopped before finishing them.",
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "careline_stream_dead_letters",
    "Intake entries set aside (taken too often without finishing, or unreadable).",
    registry=REGISTRY,
)
STREAM_BACKLOG = Gauge(
    "careline_stream_backlog",
    "Intake entries not yet finished, all shards (as this worker last read it).",
    registry=REGISTRY,
)
STREAM_OLDEST_S = Gauge(
    "careline_stream_oldest_seconds",
    "Age of the oldest unfinished intake entry (as this worker last read it).",
    registry=REGISTRY,
)
SHARDS_HELD = Gauge(
    "careline_stream_shards_held",
    "Intake shards this worker holds.",
    registry=REGISTRY,
)


def watch_in_flight(count: Callable[[], int]) -> None:
    """Read the in-flight gauge from ``count`` (the running dispatcher's) when scraped."""
    IN_FLIGHT.set_function(lambda: float(count()))


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text exposition of this process's figures."""
    response = web.Response(body=generate_latest(REGISTRY))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def count_tokens(prompt: int | None, completion: int | None) -> None:
    """Add what a model server reported for one answer (a count it left out is skipped)."""
    if prompt:
        MODEL_TOKENS.labels("prompt").inc(prompt)
    if completion:
        MODEL_TOKENS.labels("completion").inc(completion)
