"""bot.llm against loopback fakes: real HTTP on 127.0.0.1, the real ollama/openai libraries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot import metrics
from bot.config import Settings, load_settings
from bot.llm import (
    ChatMessage,
    LLMBadResponse,
    LLMClient,
    LLMError,
    LLMModelMissing,
    LLMTimeout,
    LLMUnavailable,
    OllamaLLM,
    OpenAICompatLLM,
    ThinkFilter,
    make_llm,
    strip_think,
    system_prompt,
)
from tests.fakes import Failure, LoopbackFake
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai_api import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]
MODEL = "qwen3:4b-instruct"
HOSPITAL = "示例医院"
QUESTION = "请问抽血前需要空腹吗？我的电话是[电话1]"
SHORT_TIMEOUT_S = 0.3
STALL_TIMEOUT_S = 1.5
BACKENDS = ["ollama", "openai"]


def sampling(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "llm_model": MODEL,
        "llm_temperature": 0.3,
        "llm_top_p": 0.9,
        "llm_repeat_penalty": 1.1,
        "llm_num_ctx": 8192,
        "llm_max_tokens": 600,
        "llm_parallel": 2,
        "llm_timeout_s": 10.0,
    }
    values.update(overrides)
    return values


def conversation(lang: str = "zh") -> list[ChatMessage]:
    return [
        ChatMessage("system", system_prompt(lang).format(hospital_name=HOSPITAL)),
        ChatMessage("user", QUESTION),
    ]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Rig:
    """A fake of one backend and clients pointed at it; everything is closed at the end."""

    backend: str
    fake: LoopbackFake
    clients: list[LLMClient] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        if self.backend == "ollama":
            where = {"llm_backend": "ollama", "ollama_host": self.fake.url}
        else:
            where = {"llm_backend": "openai", "openai_base_url": f"{self.fake.url}/v1"}
        return load_settings(**(where | sampling(**overrides)))

    def client(self, **overrides: Any) -> LLMClient:
        llm = make_llm(self.settings(**overrides))
        self.clients.append(llm)
        return llm

    @property
    def options(self) -> dict[str, Any]:
        """The sampling options of the first chat request, as the backend names them."""
        body = self.fake.chat_bodies[0]
        if self.backend == "ollama":
            return dict(body["options"])
        return {
            "temperature": body["temperature"],
            "top_p": body["top_p"],
            "repeat_penalty": body["repetition_penalty"],
            "num_predict": body["max_tokens"],
        }


@pytest.fixture(params=BACKENDS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    fake: LoopbackFake = FakeOllama() if request.param == "ollama" else FakeOpenAI()
    async with fake:
        rig = Rig(request.param, fake)
        try:
            yield rig
        finally:
            for llm in rig.clients:
                await llm.aclose()


async def collect(llm: LLMClient, messages: list[ChatMessage] | None = None) -> list[str]:
    return [delta async for delta in llm.stream(messages or conversation())]


# -- answers and what reaches the model ---------------------------------------------------


async def test_make_llm_picks_the_backend(rig: Rig) -> None:
    expected = OllamaLLM if rig.backend == "ollama" else OpenAICompatLLM
    assert isinstance(rig.client(), expected)


async def test_complete_returns_the_answer_and_sends_the_settings(rig: Rig) -> None:
    rig.fake.reply = "空腹 8 小时即可，请遵医嘱。"
    answer = await rig.client().complete(conversation())

    assert answer == "空腹 8 小时即可，请遵医嘱。"
    body = rig.fake.chat_bodies[0]
    assert body["model"] == MODEL
    assert body["stream"] is False
    options = rig.options
    assert options["temperature"] == 0.3
    assert options["top_p"] == 0.9
    assert options["repeat_penalty"] == 1.1
    assert options["num_predict"] == 600
    assert body["messages"][0] == {
        "role": "system",
        "content": system_prompt("zh").format(hospital_name=HOSPITAL),
    }
    assert body["messages"][1] == {"role": "user", "content": QUESTION}


async def test_ollama_specific_request_fields() -> None:
    async with FakeOllama() as fake:
        llm = make_llm(load_settings(ollama_host=fake.url, **sampling(llm_num_ctx=4096)))
        try:
            await llm.complete(conversation())
        finally:
            await llm.aclose()
    body = fake.chat_bodies[0]
    assert body["think"] is False
    assert body["options"]["num_ctx"] == 4096
    assert body["keep_alive"]


async def test_openai_specific_request_fields() -> None:
    async with FakeOpenAI(api_key="sk-test-secret") as fake:
        settings = load_settings(
            llm_backend="openai",
            openai_base_url=fake.base_url,
            openai_api_key="sk-test-secret",
            **sampling(),
        )
        llm = make_llm(settings)
        try:
            await llm.complete(conversation())
        finally:
            await llm.aclose()
    request = next(r for r in fake.requests if r.path == FakeOpenAI.CHAT_PATH)
    assert request.headers["Authorization"] == "Bearer sk-test-secret"
    assert request.body["chat_template_kwargs"] == {"enable_thinking": False}


async def test_stream_yields_deltas_and_streams_on_the_wire(rig: Rig) -> None:
    rig.fake.reply = "Please fast for 8 hours before the test."
    rig.fake.chunk_chars = 5

    deltas = await collect(rig.client())

    assert len(deltas) > 1
    assert "".join(deltas) == "Please fast for 8 hours before the test."
    body = rig.fake.chat_bodies[0]
    assert body["stream"] is True
    assert rig.options["temperature"] == 0.3
    assert body["messages"][0]["role"] == "system"


# -- <think> ------------------------------------------------------------------------------


async def test_complete_strips_think(rig: Rig) -> None:
    rig.fake.reply = "<think>\n患者问空腹，先想想。\n</think>\n\n需要空腹 8 小时。"
    assert await rig.client().complete(conversation()) == "需要空腹 8 小时。"


@pytest.mark.parametrize("chunk_chars", [1, 2, 3, 5, 7, 11])
async def test_stream_strips_think_split_across_chunks(rig: Rig, chunk_chars: int) -> None:
    rig.fake.reply = "<think>secret reasoning</think>\n\nThe answer."
    rig.fake.chunk_chars = chunk_chars

    deltas = await collect(rig.client())

    assert "".join(deltas) == "The answer."
    assert not any("secret" in d or "<" in d for d in deltas)


async def test_stream_strips_think_with_explicit_awkward_chunks(rig: Rig) -> None:
    rig.fake.reply = ["<th", "ink>hidden", " words</thi", "nk>\n\nVisible", " <b>ok</b>"]
    deltas = await collect(rig.client())
    assert "".join(deltas) == "Visible <b>ok</b>"
    assert "hidden" not in "".join(deltas)


def test_strip_think_edge_cases() -> None:
    assert strip_think("plain answer") == "plain answer"
    assert strip_think("a<think>x</think>b<think>y</think>c") == "abc"
    assert strip_think("reasoning the template opened</think>\nanswer") == "answer"
    assert strip_think("answer<think>never closed") == "answer"
    assert strip_think("1 < 2 and x<thinking>") == "1 < 2 and x<thinking>"


def test_think_filter_holds_back_only_possible_tags() -> None:
    f = ThinkFilter()
    assert f.feed("a <") == "a "
    assert f.feed("b") == "<b"
    assert f.feed("<thi") == ""
    assert f.feed("nk>gone</think>kept") == "kept"
    assert f.flush() == ""


async def test_an_answer_that_is_only_thinking_is_a_bad_response(rig: Rig) -> None:
    rig.fake.reply = "<think>only thoughts</think>"
    llm = rig.client()
    with pytest.raises(LLMBadResponse):
        await llm.complete(conversation())
    with pytest.raises(LLMBadResponse):
        await collect(llm)


# -- readiness and a missing model ----------------------------------------------------------


async def test_check_when_ready(rig: Rig) -> None:
    readiness = await rig.client().check()
    assert readiness.reachable and readiness.model_present and readiness.ready
    assert MODEL in readiness.detail


async def test_missing_model(rig: Rig) -> None:
    rig.fake.models = ["llama3.2:3b"]
    llm = rig.client()

    with pytest.raises(LLMModelMissing) as caught:
        await llm.complete(conversation())
    with pytest.raises(LLMModelMissing):
        await collect(llm)
    readiness = await llm.check()

    assert caught.value.status == 404
    assert rig.fake.attempts == 2  # one per call: a 404 is not retried
    assert readiness.reachable and not readiness.model_present
    assert MODEL in readiness.detail
    if rig.backend == "ollama":
        assert f"ollama pull {MODEL}" in str(caught.value)
        assert f"`ollama pull {MODEL}`" in readiness.detail


async def test_ollama_check_accepts_the_implicit_latest_tag() -> None:
    async with FakeOllama(models=["qwen3:latest"]) as fake:
        llm = make_llm(load_settings(ollama_host=fake.url, **sampling(llm_model="qwen3")))
        try:
            assert (await llm.check()).ready
        finally:
            await llm.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_check_when_nothing_listens(backend: str) -> None:
    url = closed_port_url()
    where = {"ollama_host": url} if backend == "ollama" else {"openai_base_url": f"{url}/v1"}
    llm = make_llm(load_settings(llm_backend=backend, **where, **sampling()))
    try:
        readiness = await llm.check()
    finally:
        await llm.aclose()
    assert not readiness.reachable and not readiness.model_present
    if backend == "ollama":
        assert "ollama serve" in readiness.detail
        assert f"ollama pull {MODEL}" in readiness.detail
    assert url in readiness.detail


async def test_openai_check_reports_a_rejected_key() -> None:
    async with FakeOpenAI(api_key="right") as fake:
        llm = make_llm(
            load_settings(
                llm_backend="openai",
                openai_base_url=fake.base_url,
                openai_api_key="wrong",
                **sampling(),
            )
        )
        try:
            readiness = await llm.check()
        finally:
            await llm.aclose()
    assert readiness.reachable and not readiness.model_present
    assert "CARELINE_OPENAI_API_KEY" in readiness.detail


# -- connection failures and the single retry -------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_connection_refused_is_unavailable(backend: str) -> None:
    url = closed_port_url()
    where = {"ollama_host": url} if backend == "ollama" else {"openai_base_url": f"{url}/v1"}
    llm = make_llm(load_settings(llm_backend=backend, **where, **sampling()))
    try:
        with pytest.raises(LLMUnavailable):
            await llm.complete(conversation())
        with pytest.raises(LLMUnavailable):
            await collect(llm)
    finally:
        await llm.aclose()


async def test_a_dropped_first_connection_is_retried_once(rig: Rig) -> None:
    rig.fake.reply = "ok"
    rig.fake.fail, rig.fake.fail_times = Failure.DROP, 1
    assert await rig.client().complete(conversation()) == "ok"
    assert rig.fake.attempts == 2


async def test_a_dropped_first_stream_connection_is_retried_once(rig: Rig) -> None:
    rig.fake.reply = "ok"
    rig.fake.fail, rig.fake.fail_times = Failure.DROP, 1
    assert "".join(await collect(rig.client())) == "ok"
    assert rig.fake.attempts == 2


async def test_connections_that_keep_dropping_are_tried_exactly_twice(rig: Rig) -> None:
    rig.fake.fail = Failure.DROP
    llm = rig.client()
    with pytest.raises(LLMUnavailable):
        await llm.complete(conversation())
    assert rig.fake.attempts == 2
    with pytest.raises(LLMUnavailable):
        await collect(llm)
    assert rig.fake.attempts == 4


async def test_a_stream_cut_after_text_was_delivered_is_not_retried(rig: Rig) -> None:
    rig.fake.reply = "x" * 40
    rig.fake.fail = Failure.DROP_MID_STREAM
    received: list[str] = []
    with pytest.raises(LLMUnavailable):
        async for delta in rig.client().stream(conversation()):
            received.append(delta)
    assert received  # the patient already saw part of it: retrying would repeat it
    assert rig.fake.attempts == 1


async def test_an_error_inside_the_stream_is_a_bad_response(rig: Rig) -> None:
    rig.fake.reply = "y" * 40
    rig.fake.fail = Failure.ERROR_MID_STREAM
    with pytest.raises(LLMBadResponse):
        await collect(rig.client())
    assert rig.fake.attempts == 1


@pytest.mark.parametrize(
    ("failure", "expected"),
    [(Failure.ERROR_500, LLMBadResponse), (Failure.OVERLOADED, LLMUnavailable)],
)
async def test_http_errors_are_typed_and_not_retried(
    rig: Rig, failure: Failure, expected: type[LLMError]
) -> None:
    rig.fake.fail = failure
    with pytest.raises(expected) as caught:
        await rig.client().complete(conversation())
    assert rig.fake.attempts == 1
    assert caught.value.status in (429, 500, 503)


# -- timeouts ----------------------------------------------------------------------------


async def test_a_hanging_model_times_out_without_retry(rig: Rig) -> None:
    rig.fake.fail = Failure.HANG
    llm = rig.client(llm_timeout_s=SHORT_TIMEOUT_S)
    with pytest.raises(LLMTimeout):
        await llm.complete(conversation())
    assert rig.fake.attempts == 1
    with pytest.raises(LLMTimeout):
        await collect(llm)
    assert rig.fake.attempts == 2


async def test_a_slow_model_times_out(rig: Rig) -> None:
    rig.fake.delay = 30.0
    with pytest.raises(LLMTimeout):
        await rig.client(llm_timeout_s=SHORT_TIMEOUT_S).complete(conversation())


async def test_a_stream_that_stalls_midway_times_out(rig: Rig) -> None:
    rig.fake.reply = "z" * 20
    rig.fake.chunk_chars = 4
    # the first chunk must arrive before the deadline: a client that has streamed once (the
    # client library's first stream in a process does work of its own) and a deadline that a
    # busy CI machine meets; the stall (30 s) is far beyond it either way
    llm = rig.client(llm_timeout_s=STALL_TIMEOUT_S)
    assert "".join([d async for d in llm.stream(conversation())]) == "z" * 20
    rig.fake.chunk_delay = 30.0
    received: list[str] = []
    with pytest.raises(LLMTimeout):
        async for delta in llm.stream(conversation()):
            received.append(delta)
    assert received == ["zzzz"]


# -- bounded concurrency -----------------------------------------------------------------


async def test_at_most_llm_parallel_requests_reach_the_model(rig: Rig) -> None:
    rig.fake.delay = 0.2
    rig.fake.reply = "ok"
    llm = rig.client(llm_parallel=2)

    answers = await asyncio.gather(*(llm.complete(conversation()) for _ in range(5)))

    assert answers == ["ok"] * 5
    assert rig.fake.attempts == 5
    assert rig.fake.max_in_flight == 2


async def test_streams_hold_their_slot_until_they_end(rig: Rig) -> None:
    rig.fake.delay = 0.2
    rig.fake.reply = "ok then"
    llm = rig.client(llm_parallel=2)

    results = await asyncio.gather(*(collect(llm) for _ in range(5)))

    assert ["".join(r) for r in results] == ["ok then"] * 5
    assert rig.fake.max_in_flight == 2


async def test_an_abandoned_stream_gives_its_slot_back(rig: Rig) -> None:
    rig.fake.reply = "a long answer " * 10
    llm = rig.client(llm_parallel=1)
    async with contextlib.aclosing(llm.stream(conversation())) as stream:
        async for _ in stream:
            break
    assert await llm.complete(conversation())


# -- what failures carry -----------------------------------------------------------------


@pytest.mark.parametrize(
    "failure", [Failure.ERROR_500, Failure.DROP, Failure.MODEL_NOT_FOUND, Failure.HANG]
)
async def test_errors_carry_neither_prompt_nor_server_text(rig: Rig, failure: Failure) -> None:
    rig.fake.fail = failure
    rig.fake.reply = "REPLY-TEXT"
    with pytest.raises(LLMError) as caught:
        await rig.client(llm_timeout_s=SHORT_TIMEOUT_S).complete(conversation())
    error = caught.value
    shown = f"{error} {error!r}"
    assert QUESTION not in shown and "[电话1]" not in shown and HOSPITAL not in shown
    assert "REPLY-TEXT" not in shown
    assert "llama runner" not in shown and "Sorry about that" not in shown
    assert error.__cause__ is None and error.__suppress_context__


def test_chat_message_repr_hides_the_text() -> None:
    assert QUESTION not in repr(ChatMessage("user", QUESTION))


# -- system prompts ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_system_prompt_has_one_format_field(lang: str) -> None:
    text = system_prompt(lang)
    assert text.count("{") == text.count("}") == 1
    assert "{hospital_name}" in text
    assert HOSPITAL in text.format(hospital_name=HOSPITAL)


def test_system_prompts_carry_the_rules() -> None:
    zh, en = system_prompt("zh"), system_prompt("en")
    zh_rules = ("不做诊断", "急诊", "请遵医嘱", "目前无法确认，请咨询专业医生", "[电话1]", "人工")
    en_rules = (
        "Do not diagnose",
        "emergency department",
        "follow your doctor's advice",
        "I can't confirm this",
        "[PHONE_1]",
        "staff member",
    )
    assert [p for p in zh_rules if p not in zh] == []
    assert [p for p in en_rules if p not in en] == []


# -- the fakes as processes (how end-to-end tests use them) ------------------------------


@pytest.mark.parametrize(("module", "suffix"), [("ollama", ""), ("openai_api", "/v1")])
async def test_fake_runs_as_a_process(module: str, suffix: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"tests.fakes.{module}",
        "--port",
        "0",
        "--reply",
        "来自进程",
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        backend = "ollama" if module == "ollama" else "openai"
        where = {"ollama_host": url} if backend == "ollama" else {"openai_base_url": url + suffix}
        llm = make_llm(load_settings(llm_backend=backend, **where, **sampling()))
        try:
            assert await llm.complete(conversation()) == "来自进程"
        finally:
            await llm.aclose()

        def recorded() -> Any:
            with urllib.request.urlopen(f"{url}/_fake/requests", timeout=5) as response:
                return json.load(response)

        bodies = [r["body"] for r in await asyncio.to_thread(recorded) if r["method"] == "POST"]
        assert bodies[0]["messages"][1]["content"] == QUESTION
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


def _tokens(kind: str) -> float:
    return metrics.REGISTRY.get_sample_value("careline_model_tokens_total", {"kind": kind}) or 0.0


async def test_the_tokens_the_server_reports_are_counted(rig: Rig) -> None:
    """Both backends, streamed and whole: the counts each server reports reach /metrics."""
    rig.fake.reply = "Please fast for 8 hours before the test."
    rig.fake.chunk_chars = 5
    before = _tokens("prompt"), _tokens("completion")
    await collect(rig.client())
    streamed = _tokens("prompt") - before[0], _tokens("completion") - before[1]
    assert streamed[0] > 0 and streamed[1] > 0
    await rig.client().complete(conversation())
    assert _tokens("prompt") - before[0] > streamed[0]
    assert _tokens("completion") - before[1] > streamed[1]
    if rig.backend == "openai":
        assert rig.fake.chat_bodies[0]["stream_options"] == {"include_usage": True}


def test_the_openai_package_is_imported_only_for_its_backend() -> None:
    # a server that talks to Ollama does not carry the openai package (some 30 MB)
    import subprocess
    import sys

    code = (
        "import sys, bot.server, bot.runtime; from bot.llm import make_llm; "
        "assert 'openai' not in sys.modules, 'openai imported'; "
        "from bot.llm import OpenAICompatLLM; assert 'openai' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
