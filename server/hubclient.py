"""The hub's two records: a connected client and a shared channel (topic + variant)."""

from __future__ import annotations

import asyncio

from server.fanout import FrameKind, Mailbox, TopicFrame
from server.limits import TokenBucket
from server.wire import FrameSink
from stream.access import Principal
from stream.push import Topic


class Channel:
    """One topic variant, computed once per tick for all of its subscribers."""

    __slots__ = ("frame", "frame_at", "key", "seq", "subscribers", "topic", "viewer", "windows")

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

    __slots__ = (
        "address",
        "budget",
        "channels",
        "close_code",
        "close_reason",
        "greeted",
        "id",
        "kicked",
        "mailbox",
        "principal",
        "sent",
        "sink",
        "wake",
    )

    def __init__(self, client_id: int, principal: Principal, mailbox: Mailbox,
                 sink: FrameSink | None = None, *, address: str = "",
                 budget: TokenBucket | None = None) -> None:
        self.id = client_id
        self.principal = principal
        self.address = address  # the client's address (per-address connection cap)
        self.budget = budget  # its operations (subscribe/unsubscribe floods); None: no limit
        self.mailbox = mailbox
        self.sink = sink  # direct frame writes to the socket, when the server offers them
        self.channels: dict[str, Channel] = {}  # client-facing topic name -> channel
        self.greeted: set[str] = set()  # topics whose snapshot this client has been sent
        self.wake = asyncio.Event()
        self.kicked = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.sent = 0  # messages written to the socket (or handed to ASGI)

    def push(self, frame: TopicFrame, kind: FrameKind) -> None:
        """Queue a frame (sent on ``flush``); the first frame of a topic always goes out as
        its snapshot."""
        if frame.topic not in self.greeted:
            kind = "snapshot"
            self.greeted.add(frame.topic)
        self.mailbox.offer(frame, kind)

    def control(self, text: str) -> None:
        """Queue a control message (sent on ``flush``)."""
        self.mailbox.control(text)

    def flush(self) -> None:
        """Send what is queued: written to the socket now when it takes more without
        waiting, else left to the client's writer task (``Hub.drain``)."""
        sink, box = self.sink, self.mailbox
        if sink is not None and not box.sending and not sink.paused:
            data, n = box.take_wire()
            if n and sink.write(data):
                self.sent += n
            return
        self.wake.set()

    def __hash__(self) -> int:
        return self.id

    def __eq__(self, other: object) -> bool:
        return self is other
