"""The console's chat API: the queue, one chat, and what staff do with it.

Who may do what:

- every staff member sees the queue and opens chats that are, or were, in front of staff
  (never a conversation that was never escalated); opening one is audited (once per staff
  member and chat every ``READ_AUDIT_S``);
- personal details are revealed only in a chat that waits for staff, or that the revealer
  holds (a ``lead`` also in chats others hold); always audited;
- only the holder writes to the patient, releases or closes; an emergency must be claimed
  before it can be closed or released;
- a holder may hand a chat to a colleague; a lead may take over or reassign any chat.

A staff reply counts as sent only once the channel took it: then the audit records it and
it joins the transcript. A failure answers with an error code the page shows beside the kept
text (``channel_failed`` 502, ``too_long`` 413, ``not_held`` 409/403).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters import registry
from bot.console.history import MAX_NOTE_CHARS, Note
from bot.console.transcript import Line
from bot.console.worker import patient_language
from bot.handoff import EventType, HandoffState, HeldChat, Outcome
from bot.models import Outbound, OutboundKind, split_conversation_key
from bot.staff import Session
from safety.pii import Vault, mask

if TYPE_CHECKING:
    from bot.console.app import StaffConsole, _Parts

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000
MAX_CONVERSATION_CHARS = 256
FALLBACK_LINES = 3
READ_AUDIT_S = 600
LABEL_CHARS = 5
JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def api_error(cls: type[web.HTTPError], message: str, code: str = "") -> web.HTTPError:
    body: dict[str, str] = {"error": message}
    if code:
        body["code"] = code
    return cls(text=json.dumps(body), content_type="application/json", headers=JSON_HEADERS)


def too_long(what: str, limit: int, size: int) -> web.HTTPError:
    """413, with the limit in words."""
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=size,
        text=json.dumps({"error": f"{what} has at most {limit} characters", "code": "too_long"}),
        content_type="application/json",
        headers=JSON_HEADERS,
    )


def as_json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers=JSON_HEADERS)


def patient_label(conversation: str) -> str:
    """A short, stable label that tells chats apart without naming the patient."""
    return "P-" + hashlib.sha256(conversation.encode()).hexdigest()[:LABEL_CHARS].upper()


def _day(value: str, end: bool, zone: ZoneInfo) -> float | None:
    """A YYYY-MM-DD date in the hospital's time zone as a timestamp: its start, or with
    ``end`` its end; None when absent; 400 when malformed."""
    if not value:
        return None
    try:
        start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=zone).timestamp()
    except ValueError:
        raise api_error(web.HTTPBadRequest, "dates are written YYYY-MM-DD") from None
    return start + 86_400 if end else start


class ChatRoutes:
    def __init__(self, console: StaffConsole) -> None:
        self.console = console
        self.settings = console.settings
        self.zone = ZoneInfo(console.settings.handoff_timezone)

    @property
    def parts(self) -> _Parts:
        return self.console.parts

    def conversation(self, request: web.Request) -> str:
        conversation = request.match_info["conversation"]
        target = split_conversation_key(conversation)
        if len(conversation) > MAX_CONVERSATION_CHARS or not target or not registry.spec(target[0]):
            raise api_error(web.HTTPNotFound, "no such conversation")
        return conversation

    def view(self, chat: HeldChat, now: float) -> dict[str, Any]:
        channel, _, _ = chat.conversation.partition(":")
        return {
            "conversation": chat.conversation,
            "label": patient_label(chat.conversation),
            "channel": channel,
            "language": chat.lang,
            "state": chat.state.value,
            "reason": chat.reason,
            "first_reason": chat.first_reason,
            "category": chat.category,
            "level": chat.level,
            "emergency": chat.emergency,
            "since": chat.since,
            "emergency_at": chat.emergency_at,
            "waited_s": max(0, round(now - chat.since)),
            "claimed_by": chat.claimed_by,
            "timed_out": chat.timed_out,
        }

    async def _vault(self, conversation: str) -> Vault:
        parts = self.parts
        blob = await parts.redis.get(parts.vault_key(conversation))
        return parts.cipher.open(blob if isinstance(blob, bytes) else None)

    async def _mask_staff_text(self, conversation: str, text: str, lang: str) -> str:
        """Staff text as stored: masked with the chat's own vault (kept restorable)."""
        parts = self.parts
        vault = await self._vault(conversation)
        before = len(vault)
        masked = mask(text, vault, lang).text
        if len(vault) != before:
            await parts.redis.set(
                parts.vault_key(conversation),
                parts.cipher.seal(vault),
                ex=self.settings.context_ttl_s,
            )
        return masked

    def _seen_key(self, name: str) -> str:
        return f"{self.settings.redis_prefix}:console-seen:{name}"

    # ------------------------------------------------------------------ reading

    async def queue(self, request: web.Request, session: Session) -> web.StreamResponse:
        parts = self.parts
        chats = await parts.store.held()
        summaries = await parts.summaries.load_many([c.conversation for c in chats])
        seen_raw = (
            await parts.redis.hmget(self._seen_key(session.name), [c.conversation for c in chats])
            if chats
            else []
        )
        now = parts.store.clock()
        items = []
        for chat, summary, seen in zip(chats, summaries, seen_raw, strict=True):
            view = self.view(chat, now)
            view["unread"] = chat.patient_at > float(seen or 0)
            view["summary"] = summary.paragraph(chat.lang or "en") if summary else None
            if summary is None:
                lines = await parts.transcript.read(chat.conversation)
                view["last_messages"] = [asdict(x) for x in lines[-FALLBACK_LINES:]]
            items.append(view)
        return as_json({"chats": items, "me": session.name, "role": session.role, "now": now})

    async def chat(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        parts = self.parts
        record = await parts.store.chat(conversation)
        episodes = await parts.history.episodes(conversation)
        if record is None and not episodes:
            # Never in front of staff (or long forgotten): not the console's to show.
            raise api_error(web.HTTPNotFound, "no such conversation")
        now = parts.store.clock()
        lines = await parts.transcript.read(conversation)
        if not lines and episodes:
            lines = [
                Line(x["role"], x["text"], tuple(x.get("sources") or ()))
                for x in episodes[0].transcript
            ]
        view: dict[str, Any] = (
            self.view(record, now)
            if record
            else {
                "conversation": conversation,
                "label": patient_label(conversation),
                "channel": conversation.partition(":")[0],
                "state": HandoffState.BOT.value,
                "language": episodes[0].lang,
                "category": episodes[0].category,
                "reason": episodes[0].reason,
                "level": episodes[0].level,
            }
        )
        [summary] = await parts.summaries.load_many([conversation])
        view["summary"] = summary.model_dump() if summary else None
        view["transcript"] = [asdict(x) for x in lines]
        view["notes"] = [asdict(n) for n in await parts.history.notes(conversation)]
        view["episodes"] = [e.card() for e in episodes]
        view["mine"] = record is not None and record.claimed_by == session.name
        view["can_reveal"] = self._may_reveal(record, session)
        await parts.redis.hset(self._seen_key(session.name), conversation, f"{now:.3f}")
        await parts.redis.expire(self._seen_key(session.name), self.settings.context_ttl_s)
        first_read = await parts.redis.set(
            f"{self.settings.redis_prefix}:console-read:{session.name}:{conversation}",
            "1",
            nx=True,
            ex=READ_AUDIT_S,
        )
        if first_read:
            await parts.audit.record(session.name, "read", conversation, "", now)
        return as_json(view)

    async def history(self, request: web.Request, session: Session) -> web.StreamResponse:
        query = request.query
        results = await self.parts.history.search(
            conversation=query.get("q", "").strip()[:MAX_CONVERSATION_CHARS],
            channel=query.get("channel", ""),
            category=query.get("category", ""),
            since=_day(query.get("from", ""), False, self.zone),
            until=_day(query.get("to", ""), True, self.zone),
        )
        for item in results:
            item["label"] = patient_label(item["conversation"])
        return as_json({"results": results})

    async def staff(self, request: web.Request, session: Session) -> web.StreamResponse:
        accounts = await self.parts.accounts.accounts()
        return as_json({"staff": [{"name": n, "role": r} for n, active, r in accounts if active]})

    async def canned(self, request: web.Request, session: Session) -> web.StreamResponse:
        lang = request.query.get("lang", "")
        lang = lang if lang in ("zh", "en") else self.settings.default_language
        text = self.settings.hospital.render("staff_canned", lang)
        return as_json({"replies": [line.strip() for line in text.splitlines() if line.strip()]})

    # ------------------------------------------------------------------ reveal

    @staticmethod
    def _may_reveal(record: HeldChat | None, session: Session) -> bool:
        if record is None:
            return False
        if record.state is HandoffState.WAITING:
            return True
        return record.state is HandoffState.STAFF and (
            record.claimed_by == session.name or session.lead
        )

    async def reveal(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        parts = self.parts
        record = await parts.store.chat(conversation)
        if not self._may_reveal(record, session):
            await parts.audit.record(session.name, "reveal_refused", conversation)
            raise api_error(
                web.HTTPForbidden,
                "details are shown only for chats waiting for staff or held by you",
                "not_allowed",
            )
        vault = await self._vault(conversation)
        lines = await parts.transcript.read(conversation)
        notes = await parts.history.notes(conversation)
        await parts.audit.record(
            session.name, "reveal", conversation, f"values={len(vault)}", parts.store.clock()
        )
        shown = [Line(x.role, vault.restore(x.text), x.sources) for x in lines]
        return as_json(
            {
                "transcript": [asdict(x) for x in shown],
                "notes": [asdict(Note(n.by, n.at, vault.restore(n.text))) for n in notes],
            }
        )

    # ----------------------------------------------------------------- actions

    @staticmethod
    def _outcome(outcome: Outcome) -> None:
        if outcome is Outcome.TAKEN:
            raise api_error(web.HTTPForbidden, "another staff member holds this chat", "not_held")
        if outcome is Outcome.NOT_HELD:
            raise api_error(
                web.HTTPConflict, "this chat is not waiting for staff or held by you", "not_held"
            )
        if outcome is Outcome.CLAIM_FIRST:
            raise api_error(
                web.HTTPConflict,
                "an emergency must be claimed before it is closed or released",
                "claim_first",
            )

    async def claim(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        outcome = await self.parts.store.claim(conversation, session.name)
        if outcome is Outcome.TAKEN:
            raise api_error(
                web.HTTPConflict, "another staff member claimed this chat first", "taken"
            )
        self._outcome(outcome)
        if outcome is Outcome.DONE:
            await self._notify(conversation, "handoff_claimed", session.name)
        return as_json({"ok": True, "already": outcome is Outcome.ALREADY})

    async def assign(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        body = await self.console.body(request)
        to = body.get("to")
        if not isinstance(to, str) or await self.parts.accounts.role(to) is None:
            raise api_error(
                web.HTTPBadRequest, "assign to an active staff account", "no_such_staff"
            )
        store = self.parts.store
        record = await store.chat(conversation)
        held = record is not None and record.state is HandoffState.STAFF
        taking = held and record is not None and record.claimed_by not in (session.name, to)
        if taking and not session.lead:
            raise api_error(web.HTTPForbidden, "only a lead can take over a chat", "lead_only")
        outcome = await store.assign(conversation, session.name, to, lead=session.lead)
        self._outcome(outcome)
        if outcome is Outcome.DONE and not held:
            await self._notify(conversation, "handoff_claimed", session.name)
        return as_json({"ok": True, "already": outcome is Outcome.ALREADY})

    async def _text(self, request: web.Request, what: str, limit: int) -> str:
        """The body's ``text``, stripped: 400 when empty, 413 when longer than ``limit``."""
        text = (await self.console.body(request)).get("text")
        if not isinstance(text, str) or not text.strip():
            raise api_error(web.HTTPBadRequest, f"{what} is empty", "empty")
        text = text.strip()
        if len(text) > limit:
            raise too_long(what, limit, len(text))
        return text

    async def reply(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        text = await self._text(request, "a reply", MAX_REPLY_CHARS)
        parts = self.parts
        record = await parts.store.chat(conversation)
        if record is None or record.state is not HandoffState.STAFF:
            self._outcome(Outcome.NOT_HELD)
        elif record.claimed_by != session.name:
            self._outcome(Outcome.TAKEN)
        lang = (record.lang if record else "") or self.settings.default_language
        await self._deliver(conversation, text, lang, session.name)
        # The channel took it: now it is recorded (audit, idle timer, consoles, transcript).
        outcome = await parts.store.touch(conversation, session.name, f"chars={len(text)}")
        if outcome is not Outcome.DONE:  # the claim was lost while sending; it was still sent
            await parts.audit.record(session.name, "staff_message", conversation, "after_release")
        masked = await self._mask_staff_text(conversation, text, lang)
        await parts.transcript.add_staff(conversation, masked)
        return as_json({"ok": True})

    async def note(self, request: web.Request, session: Session) -> web.StreamResponse:
        conversation = self.conversation(request)
        text = await self._text(request, "a note", MAX_NOTE_CHARS)
        parts = self.parts
        record = await parts.store.chat(conversation)
        if record is None and not await parts.history.episodes(conversation):
            raise api_error(web.HTTPNotFound, "no such conversation")
        lang = (record.lang if record else "") or self.settings.default_language
        masked = await self._mask_staff_text(conversation, text, lang)
        await parts.history.add_note(conversation, Note(session.name, time.time(), masked))
        await parts.audit.record(session.name, "note", conversation, f"chars={len(text)}")
        await parts.store.publish(EventType.NOTE, conversation, by=session.name)
        return as_json({"ok": True})

    async def finish(self, request: web.Request, session: Session, action: str) -> web.Response:
        conversation = self.conversation(request)
        parts = self.parts
        record = await parts.store.chat(conversation)
        lines = await parts.transcript.read(conversation)
        if action == "close":
            outcome = await parts.store.close(conversation, session.name)
        else:
            outcome = await parts.store.release_by(conversation, session.name)
        self._outcome(outcome)
        if record is not None:
            await parts.history.record(record, action, session.name, lines, parts.store.clock())
        template = "handoff_closed" if action == "close" else "handoff_released"
        await self._notify(conversation, template, session.name, record)
        return as_json({"ok": True})

    # ---------------------------------------------------------------- delivery

    async def _notify(
        self, conversation: str, template: str, actor: str, record: HeldChat | None = None
    ) -> None:
        """A notice to the patient in their language; the state changed whatever happens."""
        if record is None:
            record = await self.parts.store.chat(conversation)
        lang = record.lang if record else ""
        if not lang:  # not known yet (the timers read it from the patient's words within 1 s)
            lines = await self.parts.transcript.read(conversation)
            lang = patient_language(lines, self.settings.default_language)
        with contextlib.suppress(web.HTTPBadGateway):  # logged and audited in _deliver
            await self._deliver(
                conversation, self.settings.hospital.render(template, lang), lang, actor
            )

    async def _deliver(self, conversation: str, text: str, lang: str, actor: str) -> None:
        target = split_conversation_key(conversation)
        sender = self.parts.runtime.senders.get(target[0]) if target else None
        if target is None or sender is None:
            raise api_error(
                web.HTTPBadGateway, "this chat's channel is not running here", "channel_failed"
            )
        out = Outbound(
            channel=target[0],
            conversation_id=target[1],
            text=text,
            kind=OutboundKind.HANDOFF,
            lang=lang,
        )
        try:
            await sender.send(out)
        except Exception as exc:
            log.error("staff message not delivered (%s)", type(exc).__name__)
            await self.parts.audit.record(actor, "staff_message_failed", conversation)
            raise api_error(
                web.HTTPBadGateway,
                "the patient's channel did not take the message; it was not sent",
                "channel_failed",
            ) from None
