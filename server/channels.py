"""The hub's shared channels and the coalescing of their changes.

A *channel* is a topic plus its variant: the requested windows for ``metrics:``, the
caller's visibility for ``alerts``. Clients of the same channel share every frame. A change
only *marks* a channel; the ``RateGate`` says when a marked channel is due, so bursts
coalesce into at most ``[server] ws_max_updates_per_s`` frames per channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from server.fanout import RateGate
from server.hubclient import Channel, Client
from stream.access import Principal
from stream.push import PUBLISHED_KINDS, Topic


def channel_key(topic: Topic, windows: tuple[str, ...],
                p: Principal) -> tuple[str, Principal | None]:
    """(key, viewer) of the channel serving ``topic`` to ``p``: clients with one key share
    frames; ``viewer`` is whose visibility filters the data (``alerts`` only)."""
    if topic.kind == "metrics":
        return f"{topic.name}|{','.join(windows)}", None
    if topic.kind == "alerts":
        vis = "*" if p.role == "admin" else ",".join([*sorted(p.regions), "/",
                                                       *sorted(p.locations)])
        return f"alerts|{vis}", p
    return topic.name, None


class Channels:
    """Channels by key and by scope, and the gate that paces them. ``on_mark`` is called
    whenever a channel is marked (the hub wakes its scheduler)."""

    def __init__(self, max_updates_per_s: float, on_mark: Callable[[], None]) -> None:
        self.gate = RateGate(max_updates_per_s)
        self.by_key: dict[str, Channel] = {}
        self._by_scope: dict[str, set[Channel]] = {}
        self._on_mark = on_mark

    def __len__(self) -> int:
        return len(self.by_key)

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self.by_key.values()))

    def get(self, key: str) -> Channel | None:
        return self.by_key.get(key)

    def join(self, client: Client, topic: Topic, windows: tuple[str, ...]) -> Channel:
        """Subscribe ``client`` to its variant of ``topic`` (replacing an earlier variant of
        the same topic, e.g. other windows); the channel is created on first use."""
        key, viewer = channel_key(topic, windows, client.principal)
        channel = self.by_key.get(key)
        if channel is None:
            channel = Channel(key, topic, windows, viewer)
            self.by_key[key] = channel
            if topic.arg is not None:
                self._by_scope.setdefault(topic.arg, set()).add(channel)
        if client.channels.get(topic.name) is not channel:
            self.leave(client, topic.name)
            client.channels[topic.name] = channel
            channel.subscribers.add(client)
        return channel

    def leave(self, client: Client, name: str) -> None:
        """Unsubscribe ``client`` from topic ``name``; a channel without subscribers goes."""
        channel = client.channels.pop(name, None)
        client.greeted.discard(name)
        client.mailbox.discard(name)
        if channel is None:
            return
        channel.subscribers.discard(client)
        if channel.subscribers:
            return
        self.by_key.pop(channel.key, None)
        self.gate.forget(channel.key)
        arg = channel.topic.arg
        group = self._by_scope.get(arg) if arg is not None else None
        if arg is not None and group is not None:
            group.discard(channel)
            if not group:
                del self._by_scope[arg]

    def leave_all(self, client: Client) -> None:
        for name in list(client.channels):
            self.leave(client, name)

    # -- coalescing ------------------------------------------------------------------------

    def mark(self, channel: Channel) -> None:
        self.gate.mark(channel.key)
        self._on_mark()

    def mark_scopes(self, scopes: Iterable[str]) -> None:
        """The core changed these scopes: mark their computed channels (a published
        topic, ``voice:`` or ``comments:``, goes out when its events arrive)."""
        for scope in scopes:
            for channel in self._by_scope.get(scope, ()):
                if channel.topic.kind not in PUBLISHED_KINDS:
                    self.mark(channel)

    def mark_kinds(self, kinds: frozenset[str]) -> None:
        for channel in self:
            if channel.topic.kind in kinds:
                self.mark(channel)

    def due(self, now: float) -> list[str]:
        """Keys of the marked channels whose interval has passed (now marked clean), those
        of one scope next to each other: they share the tick's memoised reads
        (``payloads.Reads``), and a read made for a channel computed much earlier would
        go out stale (the core applies events between two channels of a tick)."""
        def by_scope(key: str) -> tuple[str, str]:
            channel = self.by_key.get(key)
            return ((channel.topic.arg or "") if channel is not None else "", key)

        return sorted(self.gate.due(now), key=by_scope)

    def next_due(self, now: float) -> float | None:
        return self.gate.next_due(now)

    def fresh(self, channel: Channel, now: float) -> bool:
        """The channel's last frame may be reused: it is clean, or younger than one
        interval (a marked channel is re-sent to everyone when due anyway)."""
        return channel.frame is not None and (not self.gate.is_dirty(channel.key)
                                              or now - channel.frame_at < self.gate.interval_s)
