"""The pure mechanics of websocket push: frames, per-topic rate gate, per-client mailbox.

No I/O and no clock of their own (time is passed in as monotonic seconds), so the rules
are tested directly:

- ``TopicFrame`` — one computed state of a topic, encoded once and shared by every client,
  down to the websocket frame bytes (``ws_text_frame``): server frames are unmasked, so
  the same bytes go to every socket;
- ``RateGate`` — marks coalesce; a topic is emitted at most once per ``1/max_per_s``;
  the first change after a quiet spell goes out at once (leading edge);
- ``Mailbox`` — what one client still has to be sent: the latest frame per topic
  (an unsent frame is replaced, never queued behind), plus a bounded list of control
  messages. A client whose send has not finished for ``timeout`` seconds, or whose control
  list overflows, is *stuck*.
"""

from __future__ import annotations

import struct

from stream.push import FrameKind


def ws_text_frame(payload: bytes) -> bytes:
    """``payload`` as one final, unmasked websocket TEXT frame (RFC 6455 section 5.2), the
    form a server sends: 2, 4 or 10 header bytes, then the payload."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


class TopicFrame:
    """A topic's state at one instant: ``data`` is the JSON of the payload, encoded once.

    ``text(kind)`` renders ``{"type", "topic", "seq", "ts_ms", "data"}`` lazily and caches
    it, so N clients receiving the same frame cost one rendering, not N; ``wire(kind)`` is
    the same as websocket frame bytes."""

    __slots__ = ("_text", "_wire", "data", "seq", "topic", "ts_ms")

    def __init__(self, topic: str, seq: int, ts_ms: int, data: bytes) -> None:
        self.topic = topic
        self.seq = seq
        self.ts_ms = ts_ms
        self.data = data
        self._text: dict[str, str] = {}
        self._wire: dict[str, bytes] = {}

    def text(self, kind: FrameKind) -> str:
        out = self._text.get(kind)
        if out is None:
            head = (f'{{"type":"{kind}","topic":"{self.topic}","seq":{self.seq},'
                    f'"ts_ms":{self.ts_ms},"data":')
            out = head + self.data.decode() + "}"
            self._text[kind] = out
        return out

    def wire(self, kind: FrameKind) -> bytes:
        out = self._wire.get(kind)
        if out is None:
            out = self._wire[kind] = ws_text_frame(self.text(kind).encode())
        return out


class RateGate:
    """At most one emission per topic per ``1 / max_per_s`` seconds; changes coalesce."""

    def __init__(self, max_per_s: float) -> None:
        if max_per_s <= 0:
            raise ValueError("max_per_s must be positive")
        self.interval_s = 1.0 / max_per_s
        self._dirty: set[str] = set()
        self._last: dict[str, float] = {}

    def mark(self, topic: str) -> None:
        self._dirty.add(topic)

    def forget(self, topic: str) -> None:
        self._dirty.discard(topic)
        self._last.pop(topic, None)

    def is_dirty(self, topic: str) -> bool:
        return topic in self._dirty

    def _ready_at(self, topic: str) -> float:
        last = self._last.get(topic)
        return float("-inf") if last is None else last + self.interval_s

    def due(self, now: float) -> list[str]:
        """Dirty topics whose interval has passed; they are emitted now (marked clean)."""
        ready = [t for t in self._dirty if self._ready_at(t) <= now]
        for t in ready:
            self._dirty.discard(t)
            self._last[t] = now
        return sorted(ready)

    def next_due(self, now: float) -> float | None:
        """When the next dirty topic may go out (``now`` or later); None when all clean."""
        if not self._dirty:
            return None
        return max(now, min(self._ready_at(t) for t in self._dirty))


class Mailbox:
    """One client's pending output: latest frame per topic plus bounded control messages."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: dict[str, tuple[FrameKind, TopicFrame]] = {}
        self._controls: list[str] = []
        self.replaced = 0  # intermediate updates this client never saw
        self.overflow = False
        self._sending_since: float | None = None

    def __len__(self) -> int:
        return len(self._frames) + len(self._controls)

    def offer(self, frame: TopicFrame, kind: FrameKind = "update") -> None:
        """Queue a topic's state, replacing an unsent one (a pending snapshot stays a
        snapshot: the client has not seen the topic yet)."""
        old = self._frames.get(frame.topic)
        if old is not None:
            self.replaced += 1
            if old[0] == "snapshot":
                kind = "snapshot"
        self._frames[frame.topic] = (kind, frame)

    def discard(self, topic: str) -> None:
        self._frames.pop(topic, None)

    def control(self, text: str) -> None:
        """Queue a control message (reply, error, heartbeat); too many unsent = overflow."""
        if len(self._controls) >= self.limit:
            self.overflow = True
            return
        self._controls.append(text)

    def take(self) -> list[str]:
        """Everything pending, rendered, controls first; the mailbox is then empty."""
        out = self._controls
        out.extend(frame.text(kind) for kind, frame in self._frames.values())
        self._controls = []
        self._frames = {}
        return out

    def take_wire(self) -> tuple[bytes, int]:
        """``take`` as websocket frame bytes for one socket write, and the message count."""
        out = [ws_text_frame(text.encode()) for text in self._controls]
        out.extend(frame.wire(kind) for kind, frame in self._frames.values())
        self._controls = []
        self._frames = {}
        return b"".join(out), len(out)

    @property
    def sending(self) -> bool:
        """A send (or a wait for the socket to take more) is in progress."""
        return self._sending_since is not None

    def begin_send(self, now: float) -> None:
        self._sending_since = now

    def end_send(self) -> None:
        self._sending_since = None

    def stuck(self, now: float, timeout_s: float) -> bool:
        """Overflowed, or a send has been in progress for longer than ``timeout_s``."""
        if self.overflow:
            return True
        return self._sending_since is not None and now - self._sending_since > timeout_s
