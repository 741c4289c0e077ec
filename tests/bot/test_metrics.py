"""``GET /metrics``: Prometheus text with what the pipeline did, real Redis and a fake model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.models import OutboundKind
from bot.server import build_app
from tests.conftest import make_settings
from tests.fakes.channel import RecordingChannel
from tests.fakes.ollama import FakeOllama
from tests.support import eventually

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: TestClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.fixture
async def served(
    redis_url: str, prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[RecordingChannel, TestClient]]:
    """careline's server with one recording channel and a fake model."""
    channel = RecordingChannel("telegram")
    async with FakeOllama() as fake:
        settings = make_settings(redis_url, prefix, tmp_path, ollama_host=fake.url)
        async with TestClient(TestServer(build_app(settings, adapters=[channel]))) as client:
            yield channel, client


async def test_metrics_count_messages_replies_emergencies_and_failed_sends(
    served: tuple[RecordingChannel, TestClient],
) -> None:
    channel, client = served
    before = await scrape(client)
    await channel.submit("m1", "我最近总是睡不好，有什么建议吗？")
    await channel.wait_for(lambda: len(channel.to("m1")) == 1)
    await channel.submit("m2", "我爸突然胸口剧痛，满头大汗，喘不上气")
    await channel.wait_for(lambda: len(channel.to("m2")) == 1)
    channel.failures = 1  # the platform refuses the next reply
    await channel.submit("m3", "感冒了可以喝姜茶吗")
    await eventually(lambda: channel.failures == 0)
    after = await scrape(client)

    answered = channel.to("m1")[0]
    assert answered.kind is OutboundKind.ANSWER
    assert channel.to("m2")[0].kind is OutboundKind.EMERGENCY
    text = "careline_messages_total"
    assert grew(before, after, text, channel="telegram", kind="text") == 3
    assert grew(before, after, "careline_replies_total", channel="telegram", kind="answer") == 1
    assert grew(before, after, "careline_replies_total", channel="telegram", kind="emergency") == 1
    assert grew(before, after, "careline_emergencies_total", category="cardiac", by="lexicon") == 1
    assert grew(before, after, "careline_escalations_total", reason="emergency") == 1
    failed = grew(
        before,
        after,
        "careline_send_errors_total",
        channel="telegram",
        kind="answer",
        error="ConnectionError",
    )
    assert failed == 1
    assert grew(before, after, "careline_model_seconds_count", outcome="answered") == 2
    assert grew(before, after, "careline_guard_answers_total", outcome="sent") == 2
    assert ("careline_messages_in_flight", ()) in after


async def test_metrics_carry_no_patient_text_or_ids(
    served: tuple[RecordingChannel, TestClient],
) -> None:
    channel, client = served
    await channel.submit("conv-secret-42", "我叫王秀英，电话13912345678，头疼三天了")
    await channel.wait_for(lambda: len(channel.to("conv-secret-42")) == 1)
    text = await (await client.get("/metrics")).text()
    for secret in ("王秀英", "13912345678", "头疼", "conv-secret-42"):
        assert secret not in text


async def test_metrics_show_the_intake_stream(served: tuple[RecordingChannel, TestClient]) -> None:
    channel, client = served
    await channel.submit("s1", "请问周末门诊开吗？")
    await channel.wait_for(lambda: len(channel.to("s1")) == 1)

    async def holds_every_shard() -> bool:
        samples = await scrape(client)
        return samples.get(("careline_stream_shards_held", ())) == 8.0

    await eventually(holds_every_shard)  # the only worker holds every shard
    samples = await scrape(client)
    for name in ("careline_stream_backlog", "careline_stream_oldest_seconds"):
        assert (name, ()) in samples
    assert ("careline_stream_reclaimed_total", ()) in samples
    assert ("careline_stream_dead_letters_total", ()) in samples
