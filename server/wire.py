"""A direct path from the hub to a websocket's socket, next to ASGI's ``websocket.send``.

The hub encodes each topic frame once, down to the websocket frame bytes. Sending it
through ASGI still costs about 30 µs of Python per client and frame (Litestar's send
wrapper, uvicorn's ``send``, websockets' framing): at 1,000 clients that was most of the
server's CPU and the tail of its fan-out latency. ``FanoutWebSocketProtocol`` is uvicorn's
sans-I/O websocket protocol plus one ASGI scope extension, ``cxpulse.frame_sink``, holding
a ``FrameSink``: it writes already framed bytes to the connection's transport, under the
transport's own flow control. The handshake, reads, pings and the close handshake stay
uvicorn's. An app served without it (Litestar's test client, another ASGI server) finds no
sink and uses plain ASGI sends.
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import State

SINK_EXTENSION = "cxpulse.frame_sink"

try:  # uvicorn's own protocol since 0.35; without it the app uses ASGI sends only
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - older uvicorn
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


class FrameSink:
    """Write whole websocket frames straight to one connection's transport."""

    __slots__ = ("_proto",)

    def __init__(self, proto: Any) -> None:
        self._proto = proto

    @property
    def open(self) -> bool:
        """The handshake is done and no close has been sent or received."""
        p = self._proto
        return (p.conn.state is State.OPEN and not p.close_sent and not p.disconnected
                and not p.transport.is_closing())

    @property
    def paused(self) -> bool:
        """The transport's buffer is above its high-water mark: the peer is not reading."""
        return not self._proto.writable.is_set()

    async def writable(self) -> None:
        """Until the transport can take more (or the connection is lost)."""
        await self._proto.writable.wait()

    def write(self, frames: bytes) -> bool:
        """Queue ``frames`` (complete frames only) on the socket; False once closed."""
        if not self.open:
            return False
        self._proto.transport.write(frames)
        return True


def frame_sink(scope: Any) -> FrameSink | None:
    """The connection's ``FrameSink``, when the server provides one."""
    ext = scope.get("extensions") or {}
    entry = ext.get(SINK_EXTENSION)
    return entry.get("sink") if isinstance(entry, dict) else None


if WebSocketsSansIOProtocol is not None:

    class FanoutWebSocketProtocol(WebSocketsSansIOProtocol):
        """uvicorn's websocket protocol that also offers a ``FrameSink`` in the scope."""

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            scope = getattr(self, "scope", None)  # absent when the upgrade was refused
            if scope is not None:  # the app's task has been created, not yet run
                scope["extensions"][SINK_EXTENSION] = {"sink": FrameSink(self)}

    WS_PROTOCOL: Any = FanoutWebSocketProtocol
else:  # pragma: no cover
    WS_PROTOCOL = "auto"
