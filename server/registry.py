"""The hub's connected clients: admission under ``[server] ws_max_connections``, the
watchdog's verdicts, and disconnection (a kicked client leaves every channel at once;
its websocket handler then closes the socket with the recorded code and reason)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import count

from server.channels import Channels
from server.fanout import Mailbox
from server.hubclient import Client
from server.wire import FrameSink
from stream.access import Principal
from stream.push import CLOSE_TOO_SLOW

log = logging.getLogger("cxpulse.server.hub")


class Registry:
    """Who is connected; counts refusals, kicks and the frames of clients that left."""

    def __init__(self, channels: Channels, max_connections: int, queue_limit: int) -> None:
        self.channels = channels
        self.max_connections = max_connections
        self.queue_limit = queue_limit
        self.clients: set[Client] = set()
        self._ids = count(1)
        self.refused = 0
        self.kicked = 0
        self.frames_gone = 0  # messages sent to clients that have left

    def __len__(self) -> int:
        return len(self.clients)

    def __iter__(self) -> Iterator[Client]:
        return iter(list(self.clients))

    def add(self, principal: Principal, sink: FrameSink | None = None) -> Client | None:
        """A new client, or None when the connection limit is reached."""
        if len(self.clients) >= self.max_connections:
            self.refused += 1
            return None
        client = Client(next(self._ids), principal, Mailbox(self.queue_limit), sink)
        self.clients.add(client)
        return client

    def remove(self, client: Client) -> None:
        """The client is gone: it leaves every channel; its sent count joins the total."""
        self.clients.discard(client)
        self.frames_gone += client.sent
        client.sent = 0
        self.channels.leave_all(client)

    def kick(self, client: Client, code: int, reason: str) -> None:
        """Disconnect a client now (the first code and reason given are the ones sent)."""
        if client.close_code is None:
            client.close_code, client.close_reason = code, reason
            if code == CLOSE_TOO_SLOW:
                self.kicked += 1
                log.warning("ws client %d (%s) disconnected: %s", client.id,
                            client.principal.name, reason)
        self.remove(client)
        client.kicked.set()

    def kick_stuck(self, now: float, timeout_s: float) -> int:
        """The watchdog: disconnect (4008) every client whose send has made no progress for
        ``timeout_s`` or whose unread replies overflowed; returns how many."""
        stuck = [c for c in self.clients if c.mailbox.stuck(now, timeout_s)]
        for client in stuck:
            why = ("too many unsent replies" if client.mailbox.overflow else
                   f"no progress sending for {timeout_s:g} s")
            self.kick(client, CLOSE_TOO_SLOW, f"client too slow: {why}")
        return len(stuck)
