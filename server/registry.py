"""The hub's connected clients: admission under ``[server] ws_max_connections`` and the
per-token and per-address caps (``ws_max_per_token``, ``ws_max_per_address``), the
watchdog's verdicts, and disconnection (a kicked client leaves every channel at once;
its websocket handler then closes the socket with the recorded code and reason)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

from server.channels import Channels
from server.fanout import Mailbox
from server.hubclient import Client
from server.limits import TokenBucket
from server.wire import FrameSink
from stream.access import ANONYMOUS_ADMIN, Principal
from stream.push import CLOSE_RATE_LIMITED, CLOSE_TOO_SLOW

log = logging.getLogger("cxpulse.server.hub")


@dataclass(frozen=True)
class Caps:
    """How many connections: in all, per token, per client address."""

    total: int
    per_token: int
    per_address: int


class Registry:
    """Who is connected; counts refusals, kicks and the frames of clients that left.
    ``budget()`` makes each new client's operation budget (None: unlimited)."""

    def __init__(self, channels: Channels, caps: Caps | int, queue_limit: int,
                 budget: Callable[[], TokenBucket | None] = lambda: None) -> None:
        self.channels = channels
        self.caps = caps if isinstance(caps, Caps) else Caps(caps, caps, caps)
        self.queue_limit = queue_limit
        self.budget = budget
        self.clients: set[Client] = set()
        self._per_token: Counter[Principal] = Counter()
        self._per_address: Counter[str] = Counter()
        self._ids = count(1)
        self.refused = 0
        self.kicked = 0
        self.frames_gone = 0  # messages sent to clients that have left

    @property
    def max_connections(self) -> int:
        return self.caps.total

    def __len__(self) -> int:
        return len(self.clients)

    def __iter__(self) -> Iterator[Client]:
        return iter(list(self.clients))

    def refusal(self, principal: Principal, address: str = "") -> str | None:
        """Why one more connection of ``principal`` from ``address`` is refused, or None.
        Without auth (``ANONYMOUS_ADMIN``) there is no token to count."""
        caps, why = self.caps, None
        if len(self.clients) >= caps.total:
            why = f"too many connections (at most {caps.total})"
        elif principal != ANONYMOUS_ADMIN and self._per_token[principal] >= caps.per_token:
            why = f"too many connections per token (at most {caps.per_token})"
        elif address and self._per_address[address] >= caps.per_address:
            why = f"too many connections per address (at most {caps.per_address})"
        if why is not None:
            self.refused += 1
        return why

    def add(self, principal: Principal, sink: FrameSink | None = None,
            address: str = "") -> Client | None:
        """A new client, or None when a connection limit is reached."""
        if self.refusal(principal, address) is not None:
            return None
        client = Client(next(self._ids), principal, Mailbox(self.queue_limit), sink,
                        address=address, budget=self.budget())
        self.clients.add(client)
        self._per_token[principal] += 1
        if address:
            self._per_address[address] += 1
        return client

    def remove(self, client: Client) -> None:
        """The client is gone: it leaves every channel; its sent count joins the total."""
        if client in self.clients:
            self.clients.discard(client)
            _release(self._per_token, client.principal)
            if client.address:
                _release(self._per_address, client.address)
        self.frames_gone += client.sent
        client.sent = 0
        self.channels.leave_all(client)

    def kick(self, client: Client, code: int, reason: str) -> None:
        """Disconnect a client now (the first code and reason given are the ones sent)."""
        if client.close_code is None:
            client.close_code, client.close_reason = code, reason
            if code == CLOSE_TOO_SLOW:
                self.kicked += 1
            if code in (CLOSE_TOO_SLOW, CLOSE_RATE_LIMITED):
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


def _release(counts: Counter[Any], key: Any) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]
