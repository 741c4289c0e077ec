"""One message on its way through the dispatcher's steps, and a conversation's lane."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.context import Exchange
from bot.handoff import HandoffState
from bot.knowledge import Entry as KnowledgeEntry
from bot.models import Inbound, Outbound
from bot.stream import Entry
from safety.pii import Vault


@dataclass
class Turn:
    """One message on its way through the lane."""

    msg: Inbound
    lang: str
    accepted_at: float  # epoch seconds, when the intake stored it
    state: HandoffState = HandoffState.BOT
    history: list[Exchange] = field(default_factory=list)
    vault: Vault = field(default_factory=Vault)
    vault_size: int = 0
    redis_ok: bool = True
    masked: str = ""
    # The emergency check found the message urgent, not an emergency: the answer carries a
    # line with the numbers, this prompt's ("crisis_line" for self-harm without an emergency,
    # a denial or passing thoughts; "urgent_line" for the rest, a symptom to act on today or an
    # emergency the learned reading doubted).
    safety_line: str | None = None
    # The emergency check found an emergency or urgent finding in the message: the guard
    # then treats reassurance in the answer as unsafe.
    flagged: bool = False
    reply: str = ""
    cache_key: str | None = None  # where an answer to this very question is kept (if it may be)
    cached: bool = False  # the reply came from there, not from the model
    model_reply: str = ""  # the reply as the model wrote it (citations and all)
    # The knowledge base was searched (the model is told what it found, or that it found
    # nothing); the entries it found, best first; the one that answers by itself (the reply is
    # then its text, without the model); the entries the reply used.
    searched: bool = False
    passages: list[KnowledgeEntry] = field(default_factory=list)
    direct: KnowledgeEntry | None = None
    sources: list[str] = field(default_factory=list)
    out: Outbound | None = None
    replied: bool = False
    entry: Entry | None = None  # the intake stream's entry it came in
    lost: bool = False  # the worker lost the entry's shard: its new owner answers

    @property
    def key(self) -> str:
        return self.msg.key


@dataclass(slots=True)
class Lane:
    """A conversation's messages not yet taken up, oldest first, with their acceptance time.
    While it has any, or one of its messages is being handled, it is ``busy``: either its key
    waits in the dispatcher's ready queue or a worker is handling its message. It is dropped
    when it is idle and empty. A waiting message costs a few small objects and no task, so a
    backlog of thousands waiting for the model keeps the garbage collector's passes short."""

    pending: deque[Entry] = field(default_factory=deque)
    busy: bool = False
    current: Inbound | None = None  # the message a worker is handling now
    emergency_at: float = float("-inf")  # epoch seconds


Step = Callable[[Turn], Awaitable[bool]]
