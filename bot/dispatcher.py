"""The pipeline every patient message goes through, whatever channel brought it.

``submit`` is the intake: it assesses the raw text for an emergency at once (no Redis, no
model; bot.intake) and answers one with the emergency template before anything else can
fail. Every other message is appended to the intake stream (bot.stream) before ``submit``
returns, so a channel acknowledges only what is stored. This process's stream worker (role
``worker`` or ``all``) reads the shards it holds and gives each message to its
conversation's lane: messages of one chat are handled one at a time in arrival order, and
different chats run concurrently under ``max_concurrent``. A lane runs the steps in
``Dispatcher.STEPS`` order (the model's part is bot.writing's); a step returns False to end
the message there. A message is acknowledged in the stream only once its reply was sent or
its chat put in front of staff; one in hand at a crash or shutdown stays for the next owner.

Raw patient text stays in the locals of these modules: only masked text reaches Redis and the
model, and log lines name a conversation by a short hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

import redis.asyncio as aioredis
import redis.exceptions

from adapters import registry
from adapters.base import DispatcherClosed, NoReply, Sender, Undelivered
from bot import metrics, replies
from bot.aio import OwnedTasks, stop_tasks
from bot.config import Settings
from bot.context import ContextStore, Exchange
from bot.handoff import HandoffState, HandoffStore
from bot.intake import OFF_LOOP_CHARS, IntakeCheck
from bot.knowledge import Entry as KnowledgeEntry
from bot.knowledge.runtime import Knowledge
from bot.llm import LLMClient
from bot.models import (
    ButtonId,
    EventName,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
    conversation_tag,
    split_conversation_key,
)
from bot.ratelimit import ConversationLimiter
from bot.stream import Entry, IntakeStream, StreamWorker
from bot.turn import Lane, Step, Turn
from bot.vault_cipher import VaultCipher, vault_key
from bot.writing import AnswerWriter, quietly
from safety.emergency import LEARNED_PREFIX, Assessment, assess
from safety.pii import mask

log = logging.getLogger(__name__)

# Longest wait at shutdown for accepted messages to be answered; a stuck send must not keep
# a stopping process (or a SIGTERM) waiting forever.
SHUTDOWN_DRAIN_S = 15.0
REDIS_ERRORS = (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)
# A staff alert Redis refused (an emergency, an answer withheld, a reply no channel would
# take) is tried again in the background, waiting this long between tries, until Redis is
# back or STAFF_ALERT_RETRY_S have passed: it reaches the staff queue when Redis returns.
STAFF_ALERT_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
STAFF_ALERT_RETRY_S = 900.0


_CITATION_RE = re.compile(r" ?\[([^\[\]\s]{1,80})\]")


def cited(reply: str, passages: Sequence[KnowledgeEntry]) -> tuple[str, list[str]]:
    """The reply without its citations of the given entries ("[kb-004]"), and the ids it
    cited, in order. Other bracketed text (a masked value such as [电话1], an id the model
    made up) is no citation: a made-up id is dropped, a placeholder left alone."""
    given = {e.id for e in passages}
    ids: list[str] = []

    def drop(match: re.Match[str]) -> str:
        ident = match.group(1)
        if ident in given:
            if ident not in ids:
                ids.append(ident)
            return ""
        return "" if _LOOKS_LIKE_ID_RE.match(ident) else match.group()

    return _CITATION_RE.sub(drop, reply).strip(), ids


# an id the model made up in the entries' style ("kb-017" when no such entry was given)
_LOOKS_LIKE_ID_RE = re.compile(r"^kb-[\w.\-/]+$", re.I)


def _mask_and_assess(turn: Turn) -> tuple[str, Assessment]:
    """The masked text (``turn.vault`` learns its values) and the full safety assessment."""
    return mask(turn.msg.text, turn.vault, turn.lang).text, assess(turn.msg.text, turn.lang)


class Dispatcher:
    STEPS = (
        "commands",
        "rate_limit",
        "gate",
        "mask",
        "handoff",
        "knowledge",
        "generate",
        "guard",
        "remember",
        "deliver",
    )

    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        llm: LLMClient,
        senders: Mapping[str, Sender],
    ) -> None:
        self.settings = settings
        self.hospital = settings.hospital
        self.redis = redis
        self.llm = llm
        self.senders = senders  # channels may register after start
        prefix = settings.redis_prefix
        self.context = ContextStore(
            redis,
            prefix,
            settings.context_turns,
            settings.context_max_chars,
            settings.context_ttl_s,
        )
        self.handoff = HandoffStore(redis, prefix, settings.context_ttl_s)
        self.limiter = ConversationLimiter(redis, prefix, settings.rate_limit)
        key = vault_key(settings)
        self.cipher = VaultCipher(key)
        self.stream = IntakeStream(redis, prefix, settings.stream_shards, key)
        # The stream's reader, started by ``start`` (or the first ``submit``) unless this
        # process only takes webhooks (role "web").
        self.worker: StreamWorker | None = None
        self.writer = AnswerWriter(settings, llm, senders)
        self.knowledge = Knowledge(redis, prefix)
        self._lanes: dict[str, Lane] = {}
        # Keys of busy lanes whose next message waits for a worker, in turn; at most
        # ``max_concurrent`` workers take them one message at a time.
        self._ready: deque[str] = deque()
        self._workers: set[asyncio.Task[None]] = set()
        self._working = 0  # workers that will still look at the ready queue
        self.intake = IntakeCheck(settings.default_language)
        self._tasks = OwnedTasks()
        # staff alerts waiting for Redis to come back (not waited for by ``drain``)
        self._retries = OwnedTasks()
        self._steps: tuple[Step, ...] = tuple(getattr(self, f"_step_{n}") for n in self.STEPS)
        self._closing = False
        # Messages queued or being handled; drain() waits for zero.
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # ----------------------------------------------------------------- intake

    @property
    def in_flight(self) -> int:
        """Messages accepted and not yet answered."""
        return self._in_flight

    def answers_at_intake(self, msg: Inbound) -> bool:
        """Whether ``submit`` answers this message before returning: an emergency (its text
        is then assessed once, here, whatever message object ``submit`` is given)."""
        return self.intake.look(msg)

    def _language(self, msg: Inbound) -> str:
        return self.intake.language(msg)

    def start(self) -> None:
        """Start reading the intake stream (not in a process whose role is "web")."""
        if self.worker is None and self.settings.role != "web" and not self._closing:
            self.worker = StreamWorker(
                self.stream,
                self._take_entry,
                self._on_buried,
                lease_s=self.settings.worker_lease_s,
            )
            self.worker.start()

    async def submit(self, msg: Inbound) -> None:
        """Accept a message: an emergency is answered before this returns; any other is
        stored in the intake stream. Raises ``NotAccepted`` when it was not accepted."""
        if self._closing:
            raise DispatcherClosed("dispatcher is shutting down")
        lang, assessment = await self.intake.take_off_loop(msg)
        if assessment is not None:
            metrics.MESSAGES.labels(msg.channel, msg.kind.value).inc()
            await self._emergency(msg, lang, assessment)
            return
        await self.submit_first([(msg, None)])

    async def submit_first(self, deliveries: Sequence[tuple[Inbound, str | None]]) -> list[int]:
        """Store messages in the intake stream in one round trip, each at its first delivery
        when it names the key counting its deliveries; returns the delivery counts."""
        if self._closing:
            raise DispatcherClosed("dispatcher is shutting down")
        self.start()
        counts = await self.stream.append_many(deliveries)
        for (msg, _), count in zip(deliveries, counts, strict=True):
            if count == 1:
                metrics.MESSAGES.labels(msg.channel, msg.kind.value).inc()
        return counts

    def _take_entry(self, entry: Entry) -> None:
        """The stream worker hands on a message: it joins its conversation's lane."""
        msg = entry.msg
        lane = self._lanes.get(msg.key)
        if lane is None:
            lane = self._lanes[msg.key] = Lane()
        elif len(lane.pending) >= self.settings.queue_per_conversation:
            self._tasks.spawn(self._refuse(entry))
            return
        lane.pending.append(entry)
        self._in_flight += 1
        self._idle.clear()
        if not lane.busy:
            lane.busy = True
            self._ready.append(msg.key)
            if self._working < self.settings.max_concurrent:
                self._working += 1
                worker = asyncio.create_task(self._work())
                self._workers.add(worker)
                worker.add_done_callback(self._workers.discard)

    async def _refuse(self, entry: Entry) -> None:
        """Too many messages wait in this chat: the patient is asked to slow down."""
        await self._send(self._notice(entry.msg, self._language(entry.msg), "rate_limited"))
        if self.worker is not None:
            self.worker.done(entry, "finished")

    def _on_buried(self, conversation: str) -> None:
        """A message of this chat was set aside (it failed every worker that took it): staff
        answer, and the patient is told so."""
        self._tasks.spawn(self.escalate(conversation, "dead_letter"))
        parts = split_conversation_key(conversation)
        if parts is not None:
            lang = self.settings.default_language
            notice = Outbound(
                channel=parts[0],
                conversation_id=parts[1],
                text=self.hospital.render("staff_will_reply", lang),
                kind=OutboundKind.NOTICE,
                buttons=replies.buttons(lang),
                lang=lang,
            )
            self._tasks.spawn(self._send(notice))

    async def _emergency(self, msg: Inbound, lang: str, assessment: Assessment) -> None:
        """Template reply first; flagging for staff and the record come after, best-effort."""
        learned = bool(assessment.matched) and assessment.matched[0].startswith(LEARNED_PREFIX)
        by = "learned" if learned else "lexicon"
        await self._send(self._escalation(msg, lang, assessment, by))

    def _escalation(self, msg: Inbound, lang: str, assessment: Assessment, by: str) -> Outbound:
        """The emergency template for ``msg``; from here on, earlier answers still being
        written in its lane are withheld, and staff are alerted (in the background)."""
        lane = self._lanes.get(msg.key)
        if lane is not None:
            lane.emergency_at = time.time()
        text = replies.emergency(assessment.category, lang, self.hospital)
        metrics.EMERGENCIES.labels(assessment.category or "general", by).inc()
        log.warning(
            "emergency conv=%s category=%s level=%s by=%s",
            conversation_tag(msg.key),
            assessment.category,
            assessment.level,
            by,
        )
        self._tasks.spawn(self._record_emergency(msg, lang, assessment, text, time.time()))
        return Outbound(
            channel=msg.channel,
            conversation_id=msg.conversation_id,
            text=text,
            kind=OutboundKind.EMERGENCY,
            buttons=replies.buttons(lang),
            reply_to=msg.message_id,
            lang=lang,
        )

    async def _record_emergency(
        self, msg: Inbound, lang: str, assessment: Assessment, reply: str, at: float
    ) -> None:
        if not await self._recorded_emergency(msg, lang, assessment, reply, at):

            def again() -> Awaitable[bool]:
                return self._recorded_emergency(msg, lang, assessment, reply, at)

            self._retries.spawn(self._until_redis("emergency", msg.key, again))

    async def _recorded_emergency(
        self, msg: Inbound, lang: str, assessment: Assessment, reply: str, at: float
    ) -> bool:
        """Flag the emergency for staff and keep the exchange; False when Redis refused.
        Answers to the patient's earlier messages are withheld from then on, by any worker."""
        try:
            await self.stream.mark_emergency(msg.key, at)
            if await self.handoff.escalate(
                msg.key, "emergency", assessment.category or "", assessment.level, lang
            ):
                metrics.ESCALATIONS.labels("emergency").inc()
            async with self.redis.pipeline(transaction=False) as pipe:
                self.context.queue_read(pipe, msg.key)
                _window, blob = await pipe.execute()
            vault = self.cipher.open(blob)
            masked = mask(msg.text, vault, lang).text
            await self.context.append(msg.key, Exchange(masked, reply), self.cipher.seal(vault))
            # Consoles that opened the chat on its escalation now see the message too.
            await self.handoff.on_patient_message(msg.key, count=False)
        except REDIS_ERRORS as exc:
            log.error(
                "emergency not recorded for staff conv=%s (%s): Redis unavailable, retrying",
                conversation_tag(msg.key),
                type(exc).__name__,
            )
            return False
        return True

    async def _until_redis(
        self, what: str, key: str, attempt: Callable[[], Awaitable[bool]]
    ) -> None:
        """Try ``attempt`` again until it succeeds, with backoff, for STAFF_ALERT_RETRY_S."""
        loop = asyncio.get_running_loop()
        end = loop.time() + STAFF_ALERT_RETRY_S
        tries = 0
        while loop.time() < end:
            await asyncio.sleep(STAFF_ALERT_BACKOFF_S[min(tries, len(STAFF_ALERT_BACKOFF_S) - 1)])
            tries += 1
            if await attempt():
                log.warning(
                    "%s reached staff after Redis returned conv=%s", what, conversation_tag(key)
                )
                return
        log.error(
            "%s never reached staff conv=%s: Redis unavailable for %.0f s",
            what,
            conversation_tag(key),
            STAFF_ALERT_RETRY_S,
        )

    # ------------------------------------------------------------------ lanes

    async def _work(self) -> None:
        """Handles one message of the next ready lane at a time, until none is ready. A lane
        with more to do goes to the back of the queue, so chats take turns, and a chat's
        messages are handled one at a time, in order."""
        ready = self._ready
        try:
            while ready:
                key = ready.popleft()
                lane = self._lanes[key]
                entry = lane.pending.popleft()
                lane.current = entry.msg
                try:
                    await self._take_turn(entry)
                finally:
                    lane.current = None
                    self._in_flight -= 1
                    if self._in_flight == 0:
                        self._idle.set()
                if lane.pending:
                    ready.append(key)
                else:
                    lane.busy = False
                    del self._lanes[key]
        finally:
            # Counted off at once (not when the task is reaped), so that a message submitted
            # right after this worker found nothing to do gets a worker of its own.
            self._working -= 1

    async def _take_turn(self, entry: Entry) -> None:
        worker = self.worker
        if worker is not None and (self._closing or not worker.holds(entry.shard)):
            # shutting down, or the shard changed hands: left in the stream, for its next
            # owner (who claims it at once)
            worker.done(entry, "lost")
            return
        turn = Turn(entry.msg, self._language(entry.msg), entry.accepted_at, entry=entry)
        await self._process(turn)
        if worker is not None:
            worker.done(entry, "lost" if turn.lost else "sent" if turn.replied else "finished")

    async def _process(self, turn: Turn) -> None:
        try:
            for step in self._steps:
                if not await step(turn):
                    break
            if turn.out is not None:
                await self._send_turn(turn)
            if not turn.replied:
                await self._no_reply(turn.msg)
        except Exception as exc:
            # A bug must not cost the patient their answer: tell them staff will reply.
            frame = exc.__traceback__
            while frame is not None and frame.tb_next is not None:
                frame = frame.tb_next
            where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "?"
            log.error(
                "message failed conv=%s error=%s at %s",
                conversation_tag(turn.key),
                type(exc).__name__,
                where,
            )
            await self._send(self._notice(turn.msg, turn.lang, "staff_will_reply"))
            await self.escalate(turn.key, "internal_error")

    # ------------------------------------------------------------------ steps

    async def _step_commands(self, turn: Turn) -> bool:
        """Buttons careline understands: a human, the emergency numbers, erase my history."""
        if turn.msg.kind is InboundKind.BUTTON:
            command = turn.msg.text.strip()
            if command == ButtonId.HUMAN:
                # A button carries no text: without the channel's word on the language, the
                # handoff reads it from the patient's own messages (bot.console.worker).
                known = turn.lang if turn.msg.language else ""
                await self.escalate(turn.key, "patient_request", known)
                turn.out = self._notice(
                    turn.msg, turn.lang, "handoff_requested", with_buttons=False
                )
                turn.out = turn.out.model_copy(update={"kind": OutboundKind.HANDOFF})
            elif command == ButtonId.EMERGENCY_NUMBERS:
                turn.out = self._notice(turn.msg, turn.lang, "numbers", with_buttons=False)
            elif command == ButtonId.FORGET:
                await self.context.forget(turn.key)
                turn.out = self._notice(turn.msg, turn.lang, "forgotten", with_buttons=False)
            else:
                return True
            return False
        if turn.msg.kind is InboundKind.EVENT:
            event = turn.msg.text.strip()
            if event == EventName.SUBSCRIBE:
                turn.out = self._notice(turn.msg, turn.lang, "welcome")
            elif event == EventName.UNSUBSCRIBE:
                await self.context.forget(turn.key)
            return False
        if not turn.msg.text.strip():
            turn.out = self._notice(turn.msg, turn.lang, "unsupported_kind")
            return False
        return True

    async def _step_rate_limit(self, turn: Turn) -> bool:
        # The terminal channel is the operator's own; scripts pipe many lines into it.
        if not registry.rate_limited(turn.msg.channel) or await self.limiter.allow(turn.key):
            return True
        if await self.limiter.first_refusal(turn.key):
            turn.out = self._notice(turn.msg, turn.lang, "rate_limited", with_buttons=False)
        log.info("rate limited conv=%s", conversation_tag(turn.key))
        return False

    async def _step_gate(self, turn: Turn) -> bool:
        """One round trip: who holds the chat, the window, the vault."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                self.handoff.queue_read(pipe, turn.key)
                self.context.queue_read(pipe, turn.key)
                state, window, blob = await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning(
                "Redis unavailable (%s): answering conv=%s without context",
                type(exc).__name__,
                conversation_tag(turn.key),
            )
            turn.redis_ok = False
            return True
        turn.state = self.handoff.parse(state)
        turn.history = self.context.window(window)
        turn.vault = self.cipher.open(blob)
        turn.vault_size = len(turn.vault)
        return True

    async def _step_mask(self, turn: Turn) -> bool:
        if len(turn.msg.text) > OFF_LOOP_CHARS:
            # a long message takes the safety checks long (about 1.7 s for 80,000 characters
            # here): in a thread, so the event loop keeps answering webhooks meanwhile
            turn.masked, found = await asyncio.to_thread(_mask_and_assess, turn)
        else:
            turn.masked, found = _mask_and_assess(turn)
        if found.level == "urgent":
            turn.safety_line = "crisis_line" if found.category == "self_harm" else "urgent_line"
        turn.flagged = found.level != "none"
        return True

    async def _step_handoff(self, turn: Turn) -> bool:
        """While staff have the chat (or it waits for them), the bot keeps quiet: the patient
        is told once that staff will reply, and later messages just reach the console."""
        if turn.state in (HandoffState.WAITING, HandoffState.STAFF):
            await self._remember(turn, "")
            first = True
            with contextlib.suppress(*REDIS_ERRORS):
                first = await self.handoff.on_patient_message(turn.key)
            if first:
                turn.out = self._notice(turn.msg, turn.lang, "staff_will_reply", with_buttons=False)
            return False
        return True

    async def _step_knowledge(self, turn: Turn) -> bool:
        """What the hospital's knowledge base has for the (masked) question: the model is
        given it; a question one entry answers by itself, with nothing in it for the
        emergency check, gets that entry's text without the model."""
        if not turn.masked.strip():
            return True
        found = await self.knowledge.find(turn.masked, turn.lang)
        turn.searched = True
        turn.passages = found.passages
        if (
            found.direct is not None
            and self.settings.kb_direct_answers
            and not turn.flagged
            and turn.safety_line is None
        ):
            turn.direct = found.direct
        return True

    def _cache_key(self, turn: Turn) -> str | None:
        """Where an answer to this question may be kept: a question with no conversation
        before it, no personal details and nothing for the emergency check, answered with one
        version of the knowledge base (an import changes the key: the old answers go unused
        and expire)."""
        version = self.knowledge.version
        if (
            not self.settings.kb_answer_cache_ttl_s
            or version is None
            or turn.history
            or len(turn.vault)
            or turn.flagged
            or turn.safety_line is not None
        ):
            return None
        digest = hashlib.sha256(f"{turn.lang}\n{turn.masked.strip()}".encode()).hexdigest()
        return f"{self.settings.redis_prefix}:kb:answer:{version}:{digest[:40]}"

    async def _step_generate(self, turn: Turn) -> bool:
        turn.cache_key = self._cache_key(turn) if turn.direct is None else None
        if turn.cache_key is not None:
            try:
                kept = await self.redis.get(turn.cache_key)
            except REDIS_ERRORS:
                kept = None
            metrics.ANSWER_CACHE.labels("hit" if kept else "miss").inc()
            if kept:
                turn.reply = kept.decode() if isinstance(kept, bytes) else str(kept)
                turn.cached = True
                return True
        if turn.direct is not None:
            entry = turn.direct
            head = self.hospital.render("knowledge_direct", turn.lang, title=entry.title)
            turn.reply = f"{head}\n{entry.text}"
            turn.sources = [entry.id]
            metrics.KNOWLEDGE.labels("direct").inc()
            return True
        started = time.monotonic()
        written = await self.writer.write(turn)
        outcome = "failed" if written.failure is not None else "answered"
        metrics.MODEL_SECONDS.labels(outcome).observe(time.monotonic() - started)
        if written.emergency is not None:
            turn.out = self._escalation(turn.msg, turn.lang, written.emergency, "model")
            return False
        if written.failure is not None:
            turn.out = self._notice(turn.msg, turn.lang, "llm_unavailable")
            turn.out = turn.out.model_copy(update={"kind": OutboundKind.HANDOFF})
            await self.escalate(turn.key, "llm_failure")
            await self._remember(turn, "")
            return False
        turn.reply = written.reply
        return True

    async def _step_guard(self, turn: Turn) -> bool:
        disclaimer = self.hospital.render("disclaimer", turn.lang)
        turn.model_reply = turn.reply
        if turn.direct is None and turn.passages:
            turn.reply, turn.sources = cited(turn.reply, turn.passages)
            metrics.KNOWLEDGE.labels("cited" if turn.sources else "uncited").inc()
        elif turn.searched and turn.direct is None:
            metrics.KNOWLEDGE.labels("none").inc()
        guarded = self.writer.judge(turn, turn.reply, disclaimer)
        outcome = "withheld" if guarded.withheld else "trimmed" if guarded.reasons else "sent"
        metrics.GUARD.labels(outcome).inc()
        if guarded.withheld:
            # Unsafe to send even with sentences dropped: staff answer instead.
            log.warning(
                "answer withheld conv=%s reasons=%s",
                conversation_tag(turn.key),
                ",".join(guarded.reasons),
            )
            turn.out = self._notice(turn.msg, turn.lang, "answer_withheld")
            turn.out = turn.out.model_copy(update={"kind": OutboundKind.HANDOFF})
            turn.reply = turn.out.text
            await self.escalate(turn.key, "answer_withheld")
            return True
        if turn.cache_key is not None and not turn.cached and not guarded.reasons:
            # the model's own words, before citations were taken out (kept answers are read
            # again the same way); only an answer the guard let through whole
            with contextlib.suppress(*REDIS_ERRORS):
                await self.redis.set(
                    turn.cache_key, turn.model_reply, ex=self.settings.kb_answer_cache_ttl_s
                )
        turn.reply = guarded.text.removesuffix(disclaimer).rstrip()
        text = guarded.text
        if turn.sources and turn.direct is None:
            titles = [e.title for e in turn.passages if e.id in turn.sources]
            line = self.hospital.render(
                "knowledge_source",
                turn.lang,
                titles=("；" if turn.lang == "zh" else "; ").join(titles),
            )
            text = f"{turn.reply}\n\n{line}{text[len(turn.reply) :]}"
            turn.reply = f"{turn.reply}\n\n{line}"
        if turn.safety_line is not None:
            line = self.hospital.render(turn.safety_line, turn.lang)
            text = f"{turn.reply}\n\n{line}{text[len(turn.reply) :]}"
        turn.out = Outbound(
            channel=turn.msg.channel,
            conversation_id=turn.msg.conversation_id,
            text=turn.vault.restore(text),
            kind=OutboundKind.ANSWER,
            buttons=replies.buttons(turn.lang),
            reply_to=turn.msg.message_id,
            lang=turn.lang,
        )
        return True

    async def _step_remember(self, turn: Turn) -> bool:
        await self._remember(turn, turn.reply)
        return True

    async def _step_deliver(self, turn: Turn) -> bool:
        lane = self._lanes.get(turn.key)
        if lane is not None and lane.emergency_at > turn.accepted_at:
            # An emergency from this patient was answered meanwhile; an ordinary answer to an
            # earlier question would only get in the way now.
            log.info("answer withheld after emergency conv=%s", conversation_tag(turn.key))
            turn.out = None
            return False
        if turn.out is not None:
            await self._send_turn(turn)
        return False

    # ---------------------------------------------------------------- helpers

    async def _remember(self, turn: Turn, reply: str) -> None:
        if not turn.redis_ok:
            return
        blob = self.cipher.seal(turn.vault) if len(turn.vault) != turn.vault_size else None
        try:
            await self.context.append(
                turn.key, Exchange(turn.masked, reply, tuple(turn.sources)), blob
            )
        except REDIS_ERRORS as exc:
            log.warning(
                "context not saved conv=%s (%s)", conversation_tag(turn.key), type(exc).__name__
            )

    async def held_by_staff(self, key: str) -> bool:
        """Whether the conversation is waiting for or held by staff (False if unknown)."""
        try:
            state = await self.handoff.state(key)
        except REDIS_ERRORS:
            return False
        return state in (HandoffState.WAITING, HandoffState.STAFF)

    async def escalate(self, key: str, reason: str, lang: str = "") -> None:
        """Put a conversation in front of staff; never raises. When Redis refuses, it is
        tried again in the background until Redis is back."""
        if not await self._escalated(key, reason, lang):
            self._retries.spawn(
                self._until_redis(reason, key, lambda: self._escalated(key, reason, lang))
            )

    async def _escalated(self, key: str, reason: str, lang: str) -> bool:
        try:
            if await self.handoff.escalate(key, reason, lang=lang):
                metrics.ESCALATIONS.labels(reason).inc()
                log.warning("escalated to staff conv=%s reason=%s", conversation_tag(key), reason)
        except REDIS_ERRORS as exc:
            log.error(
                "could not flag conv=%s for staff (%s), retrying",
                conversation_tag(key),
                type(exc).__name__,
            )
            return False
        return True

    def _notice(
        self, msg: Inbound, lang: str, template: str, *, with_buttons: bool = True
    ) -> Outbound:
        return Outbound(
            channel=msg.channel,
            conversation_id=msg.conversation_id,
            text=self.hospital.render(template, lang),
            kind=OutboundKind.NOTICE,
            buttons=replies.buttons(lang) if with_buttons else (),
            reply_to=msg.message_id,
            lang=lang,
        )

    async def _send_turn(self, turn: Turn) -> None:
        """Send the turn's own reply (once), unless the stream says otherwise: a reply to this
        message went out already (a reclaimed message), this worker lost the shard (its new
        owner answers), or it is an answer and the patient had an emergency reply since."""
        if turn.out is None:
            return
        out, turn.out = turn.out, None
        if turn.entry is not None and self.worker is not None:
            answer = out.kind is OutboundKind.ANSWER
            verdict = await self.stream.check_delivery(turn.entry, self.worker.name, answer)
            if verdict != "go":
                log.info("reply not sent (%s) conv=%s", verdict, conversation_tag(turn.key))
                turn.replied = verdict == "sent"
                turn.lost = verdict == "lost"
                return
        sent = await self._send(out)
        turn.replied = True
        if sent and turn.entry is not None and self.worker is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.stream.mark_sent(turn.entry)

    async def _no_reply(self, msg: Inbound) -> None:
        sender = self.senders.get(msg.channel)
        if isinstance(sender, NoReply):
            await quietly(sender.no_reply(msg), "no-reply notice")

    async def _send(self, out: Outbound) -> bool:
        """Hand ``out`` to its channel; whether the channel took it (failures are logged
        and counted, never raised)."""
        sender = self.senders.get(out.channel)
        if sender is None:
            log.error("no sender for channel %s", out.channel)
            return False
        try:
            await sender.send(out)
        except Exception as exc:
            error = exc.reason if isinstance(exc, Undelivered) else type(exc).__name__
            metrics.SEND_ERRORS.labels(out.channel, out.kind.value, error).inc()
            log.error("send failed channel=%s kind=%s (%s)", out.channel, out.kind, error)
            return False
        metrics.REPLIES.labels(out.channel, out.kind.value).inc()
        return True

    # -------------------------------------------------------------- lifecycle

    async def drain(self) -> None:
        """Wait until every message accepted here has been answered: with a stream worker,
        until the intake stream is empty and nothing is in hand (what a test or a
        one-process run means by "all answered"); without one, until this process's own
        work is done."""
        while True:
            await self._idle.wait()
            pending = [t for t in self._tasks if not t.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                continue
            worker = self.worker
            if worker is None:
                if self._in_flight == 0:
                    return
                continue
            backlog = -1
            with contextlib.suppress(*REDIS_ERRORS):
                backlog, _ = await self.stream.backlog()
            if backlog == 0 and self._in_flight == 0 and worker.idle:
                return
            await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        """Stop taking messages and reading the stream, finish what is in hand (for at most
        SHUTDOWN_DRAIN_S), then give the shards up: what is left waits in the stream for
        their next owner, who claims it at once."""
        self._closing = True
        worker = self.worker
        if worker is not None:
            worker.stop_reading()
        try:
            async with asyncio.timeout(SHUTDOWN_DRAIN_S):
                while self._in_flight:
                    await self._idle.wait()
                await self._tasks.finish()
        except TimeoutError:
            log.warning(
                "shutdown: %d message(s) not finished after %.1f s: left in the intake stream "
                "for the next worker",
                self._in_flight,
                SHUTDOWN_DRAIN_S,
            )
        await stop_tasks(list(self._workers), "dispatcher lanes")  # no answer after this
        if worker is not None:
            await worker.stop()
        if len(self._retries):
            log.error(
                "shutdown: %d staff alert(s) still waiting for Redis are given up",
                len(self._retries),
            )
        tasks = [*self._tasks, *self._workers, *self._retries]
        await stop_tasks(tasks, "dispatcher")
        self._lanes.clear()
