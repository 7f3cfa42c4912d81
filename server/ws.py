"""``WS /ws``: authenticate, register with the hub, then read ops and write the mailbox.

A client authenticates with a token (``Authorization: Bearer`` or ``?token=``) or, from a
page of this server, with the page session cookie; connections are capped per token and
per client address (``[server] ws_max_per_token``, ``ws_max_per_address``; 1013).

Three tasks per connection end together: the reader (client ops; ends on disconnect),
the writer (``Hub.drain``), and the hub's kick (stuck client, shutdown). A kicked client
is closed with the hub's code and reason; the close is given ``ws_stuck_timeout_s`` to
get through a full send buffer before the handler lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from server import protocol as proto
from server.context import ServerContext, client_address
from server.errors import ApiError
from server.hubclient import Client
from server.wire import frame_sink
from stream.push import CLOSE_RATE_LIMITED, CLOSE_TOO_MANY, CLOSE_UNAUTHORIZED

log = logging.getLogger("cxpulse.server.ws")


Socket = WebSocket[Any, Any, Any]


async def _read(socket: Socket, ctx: NamedDependency[ServerContext], client: Client) -> None:
    while True:
        text = await socket.receive_data(mode="text")
        ctx.hub.handle(client, text)


async def _close(socket: Socket, code: int, reason: str, timeout_s: float) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(socket.close(code, reason[:120]), timeout_s)


@websocket("/ws")
async def ws_endpoint(socket: Socket, ctx: NamedDependency[ServerContext]) -> None:
    """Live push: subscribe to topics, get a snapshot per topic, then updates."""
    try:
        principal = await ctx.caller(socket, page=True)
    except ApiError as throttled:  # this address is throttled for wrong tokens
        await socket.accept()
        await socket.send_text(proto.error("rate_limited", throttled.message))
        await _close(socket, CLOSE_RATE_LIMITED, "too many failed authentications", 5.0)
        return
    await socket.accept()
    if principal is None:
        await socket.send_text(proto.error("unauthorized", "missing or unknown token",
                                           field="token"))
        await _close(socket, CLOSE_UNAUTHORIZED, "missing or unknown token", 5.0)
        return
    address = client_address(socket)
    refused = ctx.hub.registry.refusal(principal, address)
    client = None if refused else ctx.hub.register(principal, frame_sink(socket.scope), address)
    if client is None:
        await _close(socket, CLOSE_TOO_MANY, refused or "too many connections", 5.0)
        return
    async def send(text: str) -> None:  # used only when the server offers no frame sink
        await socket.send({"type": "websocket.send", "text": text, "bytes": None})

    tasks = [asyncio.create_task(_read(socket, ctx, client)),
             asyncio.create_task(ctx.hub.drain(client, send)),
             asyncio.create_task(client.kicked.wait())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | OSError):
                log.warning("ws client %d: %r", client.id, exc)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ctx.hub.unregister(client)
    if client.close_code is not None:
        await _close(socket, client.close_code, client.close_reason,
                     ctx.cfg.server.ws_stuck_timeout_s)
