"""Test doubles for the adapters: a CoreReader with settable metrics, a tiny HTTP receiver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stream.readmodel import ChangeFeed, FlowProfile, IncidentView, LocationView, Metrics

T = TypeVar("T")


class FakeReader:
    """``CoreReader`` whose metrics the test sets per (scope, window)."""

    def __init__(self, locations: dict[str, str]) -> None:
        self.changes = ChangeFeed()
        self._locations = locations
        self.values: dict[tuple[str, str], Metrics] = {}
        self.reads = 0
        self.seen: dict[tuple[str, str], int] = {}  # the core's device view

    def set(self, scope: str, window: str = "1h", **fields: Any) -> None:
        self.values[(scope, window)] = Metrics(scope=scope, window=window, start_ms=0, end_ms=0,
                                               **fields)

    def metrics(self, scope: str, window: str, *, staff: str | None = None,
                touchpoint: str | None = None) -> Metrics:
        self.reads += 1
        return self.values.get((scope, window)) or Metrics(scope=scope, window=window,
                                                           start_ms=0, end_ms=0)

    def locations(self) -> list[LocationView]:
        return [LocationView(id=k, name=k, region=r, timezone="UTC", configured=True)
                for k, r in self._locations.items()]

    def scopes_of(self, location: str) -> tuple[str, ...]:
        return (location, self._locations[location], "network")

    def devices(self) -> dict[tuple[str, str], int]:
        return dict(self.seen)

    def known_scope(self, scope: str) -> bool:
        return scope == "network" or scope in self._locations or scope in self._locations.values()

    def incidents(self, scope: str = "network", status: str | None = None,
                  breached: bool | None = None) -> list[IncidentView]:
        return []

    def flow_profile(self, scope: str) -> FlowProfile:
        raise AssertionError("the alert service reads no flow profile")

    def health(self) -> dict[str, object]:
        return {}

    async def wait(self, call: Callable[[], T]) -> T:
        return call()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server: records POSTs; answers ``status`` or hangs forever."""

    status: int = 200
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _conns: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._conns):
            w.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in
                           (line.split(":", 1) for line in lines[1:] if ":" in line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(lines[0].split()[1], headers, body))
                self.arrived.set()
                if self.hang:
                    await asyncio.sleep(3600)
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    async def wait(self, count: int = 1, timeout_s: float = 5.0) -> list[Received]:
        async def _until() -> None:
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(_until(), timeout_s)
        return self.requests
