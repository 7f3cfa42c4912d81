"""The hub's two records: a connected client and a shared channel (topic + variant)."""

from __future__ import annotations

import asyncio

from server.auth import Principal
from server.fanout import FrameKind, Mailbox, TopicFrame
from server.protocol import Topic


class Channel:
    """One topic variant, computed once per tick for all of its subscribers."""

    __slots__ = ("key", "topic", "windows", "viewer", "subscribers", "seq", "frame", "frame_at")

    def __init__(self, key: str, topic: Topic, windows: tuple[str, ...],
                 viewer: Principal | None) -> None:
        self.key = key
        self.topic = topic
        self.windows = windows
        self.viewer = viewer  # whose visibility filters the data (alerts), else None
        self.subscribers: set[Client] = set()
        self.seq = 0
        self.frame: TopicFrame | None = None
        self.frame_at = 0.0


class Client:
    """One websocket connection: who it is, what it follows, what it still has to get."""

    __slots__ = ("id", "principal", "mailbox", "channels", "greeted", "wake", "kicked",
                 "close_code", "close_reason")

    def __init__(self, client_id: int, principal: Principal, mailbox: Mailbox) -> None:
        self.id = client_id
        self.principal = principal
        self.mailbox = mailbox
        self.channels: dict[str, Channel] = {}  # client-facing topic name -> channel
        self.greeted: set[str] = set()  # topics whose snapshot this client has been sent
        self.wake = asyncio.Event()
        self.kicked = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""

    def push(self, frame: TopicFrame, kind: FrameKind) -> None:
        """Queue a frame; the first frame of a topic always goes out as its snapshot."""
        if frame.topic not in self.greeted:
            kind = "snapshot"
            self.greeted.add(frame.topic)
        self.mailbox.offer(frame, kind)
        self.wake.set()

    def control(self, text: str) -> None:
        self.mailbox.control(text)
        self.wake.set()

    def __hash__(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return self is other
