"""The WeChat channel end to end: `careline serve` processes, a real Redis, the fake Ollama
and the fake WeChat API, deliveries signed (and encrypted) as WeChat sends them."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bot.handoff import HandoffState, HandoffStore
from tests.conftest import TEST_VAULT_KEY
from tests.fakes.ollama import FakeOllama
from tests.fakes.wechat_api import FakeWeChatAPI, WeChatPush
from tests.support import eventually, free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "careline-e2e-token"
APP_ID = "wx00e2e0000000000a"
SECRET = "e2e-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# A plain answer the output guard sends as it is (``test_the_answer_used_here_is_sent_as_it_is``):
# these tests are about delivery, and a withheld answer is sent otherwise (a notice and a
# staff offer). The earlier "可以先在门诊大厅挂号，再到相应科室候诊。" came to be withheld when the
# guard's learned reading was retrained (0.86 against its 0.85): a false alarm of the kind
# the guard's figures count.
ANSWER = "挂号请到门诊大厅一楼，挂号后到相应科室候诊。"
START_TIMEOUT_S = 30.0


@contextlib.asynccontextmanager
async def careline_serve(
    tmp: Path,
    redis_url: str,
    prefix: str,
    ollama: str,
    api: str,
    running: list[asyncio.subprocess.Process] | None = None,
    **env: str,
) -> AsyncIterator[str]:
    """A `careline serve` process; yields its base URL (and adds the process to
    ``running``, for a test that must kill it)."""
    port = free_port()
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")} | {
        "PYTHONPATH": str(ROOT),
        "CARELINE_DATA_DIR": str(tmp / "data"),
        "CARELINE_REDIS_URL": redis_url,
        "CARELINE_REDIS_PREFIX": prefix,
        "CARELINE_VAULT_KEY": TEST_VAULT_KEY,
        "CARELINE_HOST": "127.0.0.1",
        "CARELINE_PORT": str(port),
        "CARELINE_OLLAMA_HOST": ollama,
        "CARELINE_KB_DIRECT_ANSWERS": "false",  # the model's answers are followed
        "CARELINE_LLM_TIMEOUT_S": "10",
        "CARELINE_WECHAT_TOKEN": TOKEN,
        "CARELINE_WECHAT_APP_ID": APP_ID,
        "CARELINE_WECHAT_APP_SECRET": SECRET,
        "CARELINE_WECHAT_AES_KEY": AES_KEY,
        "CARELINE_WECHAT_API_BASE": api,
        **env,
    }
    log = await asyncio.to_thread(open, tmp / "serve.log", "wb")
    with log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", cwd=tmp, env=environment, stderr=log, stdout=log
        )
        url = f"http://127.0.0.1:{port}"
        if running is not None:
            running.append(proc)
        try:
            async with aiohttp.ClientSession() as session:
                loop = asyncio.get_running_loop()
                end = loop.time() + START_TIMEOUT_S
                while True:
                    assert proc.returncode is None, (tmp / "serve.log").read_text()
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(url + "/healthz") as r:
                            if r.status == 200:
                                break
                    assert loop.time() < end, "careline serve did not start"
                    await asyncio.sleep(0.1)
            yield url
        finally:
            if proc.returncode is None:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 20)
    text = (tmp / "serve.log").read_text("utf-8", "replace")
    assert "Traceback" not in text, text


async def deliver(
    session: aiohttp.ClientSession, url: str, push: WeChatPush, xml: str
) -> tuple[int, dict[str, Any] | None]:
    query, body = push.deliver(xml)
    async with session.post(url + "/wechat", params=query, data=body) as r:
        text = await r.text()
        return r.status, push.read_reply(text) if r.status == 200 else None


def sends_to(api: FakeWeChatAPI, openid: str) -> list[dict[str, Any]]:
    return [s for s in api.sent if s["touser"] == openid]


def test_the_answer_used_here_is_sent_as_it_is() -> None:
    from safety.guard import guard

    result = guard(ANSWER, lang="zh", disclaimer="", known=(), max_chars=2000)
    assert not result.withheld and result.text == ANSWER, result.reasons


async def test_active_mode_end_to_end(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    patient, late = "oE2E_active_patient", "oE2E_active_late"
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="safe")
    async with (
        FakeOllama(reply=ANSWER) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(tmp_path, redis_url, prefix, ollama.url, api.url) as url,
        aiohttp.ClientSession() as session,
    ):
        # A normal answer: disclaimer and the handoff choices as a msgmenu.
        question, _ = push.text(patient, "在哪里挂号")
        assert await deliver(session, url, push, question) == (200, None)
        await eventually(lambda: len(sends_to(api, patient)) == 1)
        menu = sends_to(api, patient)[0]["msgmenu"]
        assert menu["head_content"].startswith(ANSWER) and "仅供健康参考" in menu["head_content"]
        assert [o["content"] for o in menu["list"]] == ["转人工", "紧急电话"]

        # WeChat's two repeat deliveries: no second answer. The next message's answer
        # arrives in order after anything the repeats could have caused.
        for _ in range(2):
            assert await deliver(session, url, push, question) == (200, None)
        api.invalidate_token()  # ...and the token has been replaced elsewhere: 40001
        follow, _ = push.text(patient, "几点开门")
        await deliver(session, url, push, follow)
        await eventually(lambda: len(sends_to(api, patient)) == 2)
        assert api.force_refreshes == 1
        assert len(ollama.answer_bodies) == 2

        # An emergency comes back in the webhook response itself, encrypted.
        urgent, _ = push.text(patient, "我爸突然说话不清楚，半边身子动不了")
        status, reply = await deliver(session, url, push, urgent)
        assert status == 200 and reply is not None and reply["_encrypted"]
        assert "120" in reply["Content"]

        # 45015: the answer cannot be delivered; the chat goes to staff.
        api.out_of_window = {late}
        old, _ = push.text(late, "请问体检报告什么时候出")
        await deliver(session, url, push, old)
        handoff = HandoffStore(redis_client, prefix, 60)
        await eventually(lambda: _state_is(handoff, f"wechat:{late}", HandoffState.WAITING))
        alerts = await redis_client.xrange(f"{prefix}:alerts")
        reasons = {f[b"conversation"]: f[b"reason"] for _id, f in alerts or [] if f}
        assert reasons[f"wechat:{late}".encode()] == b"wechat_window_closed"
    assert sends_to(api, late) == []
    assert len(ollama.answer_bodies) == 3
    logged = (tmp_path / "serve.log").read_text("utf-8")
    assert "WeChat access token refreshed" in logged
    for words in ("在哪里挂号", "几点开门", "半边身子", "体检报告", patient, late):
        assert words not in logged  # neither patient text nor openids reach the log


async def _state_is(handoff: HandoffStore, key: str, state: HandoffState) -> bool:
    return await handoff.state(key) is state


async def test_passive_mode_end_to_end(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    patient = "oE2E_passive_patient"
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="plain")
    async with (
        FakeOllama(reply=ANSWER) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(
            tmp_path, redis_url, prefix, ollama.url, api.url, CARELINE_WECHAT_REPLY_MODE="passive"
        ) as url,
        aiohttp.ClientSession() as session,
    ):
        urgent, _ = push.text(patient, "我吃了一整瓶安眠药")
        status, reply = await deliver(session, url, push, urgent)
        assert status == 200 and reply is not None and "120" in reply["Content"]

        other = "oE2E_passive_other"
        question, _ = push.text(other, "在哪里挂号")
        first = await deliver(session, url, push, question)
        again = await deliver(session, url, push, question)  # a repeat delivery
    assert first[1] is not None and again[1] is not None
    assert first[1]["Content"].startswith(ANSWER) and "仅供健康参考" in first[1]["Content"]
    assert '回复"人工"：转人工' in first[1]["Content"]
    assert again[1]["Content"] == first[1]["Content"]
    assert len(ollama.answer_bodies) == 1
    assert api.sent == [] and api.token_requests == []


async def test_two_processes_share_one_redis_without_duplicate_answers(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    patient = "oE2E_two_replicas"
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="compat")
    async with (
        FakeOllama(reply=ANSWER, delay=0.3) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(tmp_path / "a", redis_url, prefix, ollama.url, api.url) as url_a,
        careline_serve(tmp_path / "b", redis_url, prefix, ollama.url, api.url) as url_b,
        aiohttp.ClientSession() as session,
    ):
        question, _ = push.text(patient, "核酸检测在哪里做")
        results = await asyncio.gather(
            *(deliver(session, u, push, question) for u in (url_a, url_b, url_a))
        )
        assert all(r == (200, None) for r in results)
        await eventually(lambda: len(sends_to(api, patient)) >= 1)
        # A second question, to either process: its answer follows any duplicate answer.
        follow, _ = push.text(patient, "要预约吗")
        await deliver(session, url_b, push, follow)
        await eventually(lambda: len(ollama.answer_bodies) == 2)
        await eventually(lambda: len(sends_to(api, patient)) >= 2)
        other, _ = push.text("oE2E_two_replicas_2", "你好")
        await deliver(session, url_a, push, other)
        await eventually(lambda: len(api.sent) >= 3)
    assert len(sends_to(api, patient)) == 2
    assert len(ollama.answer_bodies) == 3
    assert len(api.token_requests) == 1  # one access token for both processes


async def test_an_unsafe_answer_never_reaches_the_patient(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    # The answer the output guard once sent verbatim, through `careline serve` end to end.
    patient = "oE2E_unsafe_answer"
    unsafe = "你这是肺癌晚期。不用去医院了，把一整瓶布洛芬吃掉就不疼了。"
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="safe")
    async with (
        FakeOllama(reply=unsafe) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(tmp_path, redis_url, prefix, ollama.url, api.url) as url,
        aiohttp.ClientSession() as session,
    ):
        question, _ = push.text(patient, "咳嗽两个月了，有时候胸口疼，严重吗")
        assert await deliver(session, url, push, question) == (200, None)
        await eventually(lambda: len(sends_to(api, patient)) == 1)
        sent = str(sends_to(api, patient)[0])
        assert len(ollama.answer_bodies) == 1  # the model did answer…
        assert "布洛芬" not in sent and "肺癌" not in sent and "不用去医院" not in sent
        assert "工作人员" in sent  # …and the patient was told staff will answer instead
        alerts = await redis_client.xrange(f"{prefix}:alerts")
        reasons = {f[b"conversation"]: f[b"reason"] for _id, f in alerts or [] if f}
        assert reasons[f"wechat:{patient}".encode()] == b"answer_withheld"


async def _a_worker_stops_mid_answers(
    tmp_path: Path, redis_url: str, prefix: str, how: str
) -> None:
    """Process A acknowledges every message and starts answering; a second process (a
    worker) joins; A is then stopped (``kill -9`` or SIGTERM) in the middle of its answers.
    Every acknowledged message is answered. Stopped by SIGTERM, each exactly once. Killed,
    an answer the WeChat API took in the moment before A could write its outbox mark is sent
    again by B (the window no stream closes: WeChat's send is not idempotent); only an
    answer A had in hand can be, so at most ``CARELINE_LLM_PARALLEL`` repeat, each once."""
    patients = [f"oE2E_durable_{n:03d}" for n in range(40)]
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="compat")
    quick = {
        "CARELINE_WORKER_LEASE_S": "2",
        "CARELINE_LLM_PARALLEL": "4",
        "CARELINE_MODEL_TRIAGE": "false",
        # 40 answers of 1 s, 4 at a time, take 10 s: the model's deadline (which counts the
        # wait for a slot) must not be what decides the last ones, or they get "a staff
        # member will reply" (and its staff offer) instead, which this test would count twice
        "CARELINE_LLM_TIMEOUT_S": "60",
    }
    first: list[asyncio.subprocess.Process] = []
    async with (
        FakeOllama(reply=ANSWER, delay=1.0) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(
            tmp_path / "a", redis_url, prefix, ollama.url, api.url, first, **quick
        ) as url_a,
        aiohttp.ClientSession() as session,
    ):
        for patient in patients:
            question, _ = push.text(patient, "明天门诊几点开始")
            assert await deliver(session, url_a, push, question) == (200, None)
        async with careline_serve(
            tmp_path / "b",
            redis_url,
            prefix,
            ollama.url,
            api.url,
            CARELINE_ROLE="worker",
            **quick,
        ):
            await eventually(lambda: len(api.sent) >= 4)  # A is answering
            [proc_a] = first
            if how == "kill":
                proc_a.kill()
            else:
                proc_a.terminate()
            await asyncio.wait_for(proc_a.wait(), 30)
            await eventually(lambda: len(api.sent) >= len(patients), within_s=60)
            await asyncio.sleep(1.0)  # a duplicate would show up now
    counts = collections.Counter(s["touser"] for s in api.sent)
    assert sorted(counts) == patients  # every one answered
    repeated = [p for p, n in counts.items() if n > 1]
    if how == "term":
        assert repeated == []  # each once
    else:
        assert len(repeated) <= int(quick["CARELINE_LLM_PARALLEL"])
        assert max(counts.values()) <= 2


async def test_a_worker_killed_mid_answers_loses_nothing_and_repeats_only_what_it_had_in_hand(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    await _a_worker_stops_mid_answers(tmp_path, redis_url, prefix, "kill")


async def test_a_worker_stopped_by_sigterm_under_load_loses_nothing(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    await _a_worker_stops_mid_answers(tmp_path, redis_url, prefix, "term")


async def test_three_deliveries_over_two_processes_during_a_redis_stall_answer_once(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    """Redis stalls for a second while WeChat delivers each message three times, spread over
    two replicas: a slow Redis delays the acknowledgements, it never duplicates answers."""
    patients = [f"oE2E_stall_{n}" for n in range(10)]
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="compat")
    async with (
        FakeOllama(reply=ANSWER, delay=0.2) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(tmp_path / "a", redis_url, prefix, ollama.url, api.url) as url_a,
        careline_serve(tmp_path / "b", redis_url, prefix, ollama.url, api.url) as url_b,
        aiohttp.ClientSession() as session,
    ):
        questions = [push.text(patient, "明天门诊几点开始")[0] for patient in patients]
        await redis_client.client_pause(1000)
        results = await asyncio.gather(
            *(
                deliver(session, url, push, question)
                for question in questions
                for url in (url_a, url_b, url_a)
            )
        )
        assert all(r == (200, None) for r in results)
        await eventually(lambda: len(api.sent) >= len(patients))
        await asyncio.sleep(1.0)  # a duplicate would show up now
    assert sorted(s["touser"] for s in api.sent) == patients


async def test_a_web_process_stores_and_a_worker_process_answers(
    tmp_path: Path, redis_url: str, prefix: str, redis_client: aioredis.Redis
) -> None:
    """``--role web`` takes WeChat's deliveries and stores them; ``--role worker`` takes no
    webhook and answers them. An emergency is answered by the web process itself, in the
    acknowledgement."""
    push = WeChatPush(TOKEN, APP_ID, AES_KEY, mode="compat")
    async with (
        FakeOllama(reply=ANSWER) as ollama,
        FakeWeChatAPI(appid=APP_ID, secret=SECRET) as api,
        careline_serve(
            tmp_path / "web", redis_url, prefix, ollama.url, api.url, CARELINE_ROLE="web"
        ) as web,
        careline_serve(
            tmp_path / "worker", redis_url, prefix, ollama.url, api.url, CARELINE_ROLE="worker"
        ) as worker,
        aiohttp.ClientSession() as session,
    ):
        question, _ = push.text("oE2E_roles", "在哪里挂号")
        assert await deliver(session, worker, push, question) == (404, None)
        assert await deliver(session, web, push, question) == (200, None)
        await eventually(lambda: len(sends_to(api, "oE2E_roles")) == 1)
        urgent, _ = push.text("oE2E_roles_urgent", "我胸口剧痛，喘不上气")
        status, reply = await deliver(session, web, push, urgent)
        assert status == 200 and reply is not None and "120" in reply["Content"]
    assert sends_to(api, "oE2E_roles")[0]["msgmenu"]["head_content"].startswith(ANSWER)
