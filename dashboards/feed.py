"""The one shared feed of a dashboard process: a client of the server's ``/ws`` push.

It subscribes to the topics the open walls need (``want``; topics are added as sessions
ask for them and kept), writes every snapshot and update into the ``Cache``, and keeps the
connection alive: a dropped or silent connection (no frame or heartbeat for three
heartbeat periods) is reconnected with jittered exponential backoff, and every topic is
subscribed again, so the server's fresh snapshots repaint the walls after a restart.
Topics are spread over several connections when one would exceed the server's per-
connection topic limit. The few HTTP calls (flow profile, locations, acknowledge) use
the same token (``dashboards.keys.dashboards_token``: never from config.toml).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import Any

import httpx
import msgspec
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dashboards.cache import Cache, ConnState, Status
from dashboards.config import WallSettings
from dashboards.keys import dashboards_token
from dashboards.scopes import METRIC_WINDOWS
from stream.clock import wall_ms
from stream.geography import Geo
from stream.ids import NETWORK
from stream.push import CLOSE_UNAUTHORIZED, Alert, envelope, payload, subscribe
from stream.readmodel import FlowProfile, LocationView
from stream.tasks import cancel_all

log = logging.getLogger("cxpulse.dashboards.feed")
PROFILE_REFRESH_S = 600.0  # the hour x weekday profile moves slowly


def backoff_s(attempt: int, rand: float, base_s: float = 0.5, cap_s: float = 10.0) -> float:
    """Delay before reconnect ``attempt`` (0-based): doubling from ``base_s`` up to
    ``cap_s``, times a jitter factor in [0.75, 1.25) so walls do not reconnect in step."""
    return min(cap_s, base_s * 2.0 ** min(attempt, 16)) * (0.75 + 0.5 * rand)


def server_urls(cfg: WallSettings) -> tuple[str, str]:
    """(HTTP base, websocket URL) of the server: ``[dashboards] server_url`` when set,
    else ``[server] host:port`` (a wildcard host is reached over loopback)."""
    base = cfg.dashboards.server_url.rstrip("/")
    if not base:
        host = cfg.server.host
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        base = f"http://{host}:{cfg.server.port}"
    ws = "ws" + base.removeprefix("http") + "/ws"
    return base, ws


class AckError(RuntimeError):
    """The server refused an acknowledgement; the message is the server's."""


class Link:
    """One websocket connection carrying a subset of the topics."""

    def __init__(self, feed: Feed, index: int) -> None:
        self.feed = feed
        self.index = index
        self.topics: set[str] = set()
        self.ws: Any = None
        self.status = Status("connecting", since_ms=wall_ms())
        self.task: asyncio.Task[None] | None = None

    def _set(self, state: ConnState, retry_at_ms: int | None = None, detail: str = "") -> None:
        since = self.status.since_ms if state == self.status.state else wall_ms()
        self.status = Status(state, retry_at_ms, detail, since)
        self.feed.link_changed()

    async def add(self, topics: list[str]) -> None:
        """Subscribe new topics now when connected (else at the next connect)."""
        self.topics.update(topics)
        if self.ws is not None:
            with contextlib.suppress(Exception):  # a broken socket reconnects and resubscribes
                await self.ws.send(subscribe(topics, METRIC_WINDOWS))

    async def run(self) -> None:
        attempt = 0
        while True:
            established = False
            try:
                established = await self._session()
                detail = "closed by server"
            except asyncio.CancelledError:
                raise
            except ConnectionClosed as exc:
                established = True
                rcvd = exc.rcvd
                if rcvd is not None and rcvd.code == CLOSE_UNAUTHORIZED:
                    self._set("denied", detail=rcvd.reason)
                detail = f"connection closed ({rcvd.code if rcvd else 'no close frame'})"
            except InvalidStatus as exc:
                detail = f"HTTP {exc.response.status_code}"
            except (OSError, TimeoutError, msgspec.DecodeError) as exc:
                detail = str(exc) or type(exc).__name__
            finally:
                self.ws = None
            attempt = 0 if established else attempt + 1
            delay = backoff_s(attempt, random.random())
            if self.status.state != "denied":
                self._set("lost", wall_ms() + int(delay * 1000), detail)
            log.info("dashboards feed link %d: %s; reconnecting in %.1f s", self.index, detail,
                     delay)
            await asyncio.sleep(delay)

    async def _session(self) -> bool:
        """One connection: hello, subscribe everything, then read until it ends."""
        headers = {"Authorization": f"Bearer {self.feed.token}"} if self.feed.token else None
        async with websockets.connect(self.feed.ws_url, additional_headers=headers, proxy=None,
                                      open_timeout=5, close_timeout=2, max_size=None,
                                      ping_interval=None, compression=None) as ws:
            async with asyncio.timeout(5):  # not wait_for: on 3.11 it can swallow a cancel
                hello = envelope(await ws.recv())
            if hello.type != "hello":
                if hello.code == "unauthorized":
                    self._set("denied", detail=hello.message or "")
                return False
            self.feed.cache.role = hello.role
            silence_s = 3 * (hello.heartbeat_s or 15.0) + 2.0
            self.ws = ws
            self._set("ok")
            self.feed.connected(self)
            if self.topics:
                await ws.send(subscribe(sorted(self.topics), METRIC_WINDOWS))
            while True:
                async with asyncio.timeout(silence_s):
                    text = await ws.recv()
                self.feed.handle(envelope(text))

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"dashboards-feed-{self.index}")


class Feed:
    """The process's connection to the server (see module docstring)."""

    def __init__(self, cfg: WallSettings, cache: Cache | None = None) -> None:
        self.cfg = cfg
        self.http_base, self.ws_url = server_urls(cfg)
        self.token = dashboards_token(cfg)
        self.cache = cache or Cache(Geo.from_config(cfg), min_sample=cfg.dashboards.min_sample)
        self.per_link = max(4, cfg.server.ws_queue_limit - 4)
        self.links: list[Link] = []
        self.profile_scopes: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refresher: asyncio.Task[None] | None = None
        self.http = httpx.AsyncClient(base_url=self.http_base, timeout=10, trust_env=False,
                                      headers={"Authorization": f"Bearer {self.token}"}
                                      if self.token else {})

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, following the network's and every region's metrics from the start so
        their NPS sparklines have history by the time a wall opens (locations on demand)."""
        self._new_link()
        geo = self.cache.geo
        self.want([f"metrics:{NETWORK}", *(f"metrics:{r}" for r in geo.regions())])
        self._refresher = asyncio.create_task(self._refresh_profiles(), name="dashboards-profiles")

    async def stop(self) -> None:
        tasks = [link.task for link in self.links if link.task] + list(self._tasks)
        if self._refresher is not None:
            tasks.append(self._refresher)
        await cancel_all(tasks)
        await self.http.aclose()

    def _new_link(self) -> Link:
        link = Link(self, len(self.links))
        self.links.append(link)
        link.start()
        return link

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what sessions ask for -----------------------------------------------------------

    def want(self, topics: Iterable[str]) -> None:
        """Make sure ``topics`` are subscribed (idempotent; call on the event loop)."""
        have = set().union(*(link.topics for link in self.links))
        new = [tp for tp in dict.fromkeys(topics) if tp not in have]
        while new:
            link = next((lk for lk in self.links if len(lk.topics) < self.per_link), None) \
                or self._new_link()
            room = self.per_link - len(link.topics)
            chunk, new = new[:room], new[room:]
            link.topics.update(chunk)
            if link.ws is not None:
                self._spawn(link.add(chunk))

    def want_profile(self, scope: str) -> None:
        if scope not in self.profile_scopes:
            self.profile_scopes.add(scope)
            self._spawn(self._fetch_profile(scope))

    # -- incoming ------------------------------------------------------------------------

    def handle(self, env: Any) -> None:
        """One server message (called by a link's reader)."""
        if env.type in ("snapshot", "update") and env.topic and len(env.data):
            try:
                data = payload(env.topic, env.data)
            except msgspec.DecodeError as exc:  # one odd frame must not drop the connection
                log.warning("dashboards: frame of %s not understood: %s", env.topic, exc)
                return
            self.cache.put(env.topic, data, env.seq, env.ts_ms, wall_ms())
        elif env.type == "error" and env.topic:
            self.cache.fail(env.topic, env.code or "error", env.message or "")

    def connected(self, link: Link) -> None:
        """After (re)connecting: refresh what the websocket does not carry."""
        if link.index == 0:
            self._spawn(self._fetch_locations())
            for scope in self.profile_scopes:
                self._spawn(self._fetch_profile(scope))

    def link_changed(self) -> None:
        """Fold the links' states into the one the walls show."""
        states = [lk.status for lk in self.links]
        denied = [s for s in states if s.state == "denied"]
        lost = [s for s in states if s.state == "lost"]
        if denied:
            status = denied[0]
        elif lost:
            status = min(lost, key=lambda s: s.retry_at_ms or 0)
        elif all(s.state == "ok" for s in states):
            status = Status("ok", since_ms=max(s.since_ms for s in states))
        else:
            status = next(s for s in states if s.state == "connecting")
        self.cache.set_status(status)

    # -- HTTP ----------------------------------------------------------------------------

    async def _fetch_profile(self, scope: str) -> None:
        try:
            r = await self.http.get(f"/api/metrics/{scope}/profile")
            if r.status_code == 200:
                self.cache.set_profile(msgspec.json.decode(r.content, type=FlowProfile))
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            log.debug("dashboards: profile of %s: %s", scope, exc)

    async def _fetch_locations(self) -> None:
        try:
            r = await self.http.get("/api/locations")
            if r.status_code == 200:
                views = msgspec.json.decode(r.content, type=list[LocationView])
                self.cache.geo.add(views)
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            log.debug("dashboards: locations: %s", exc)

    async def _refresh_profiles(self) -> None:
        while True:
            await asyncio.sleep(PROFILE_REFRESH_S)
            for scope in list(self.profile_scopes):
                await self._fetch_profile(scope)

    async def acknowledge(self, alert_id: str, comment: str) -> Alert:
        """``POST /api/alerts/{id}/ack`` with the dashboard's token; the server records the
        token's name, ``comment`` says which supervisor took it."""
        try:
            r = await self.http.post(f"/api/alerts/{alert_id}/ack", json={"comment": comment})
        except httpx.HTTPError as exc:
            raise AckError(str(exc) or type(exc).__name__) from None
        if r.status_code != 200:
            try:
                message = r.json().get("message") or r.text
            except ValueError:
                message = r.text
            raise AckError(f"{r.status_code}: {message}")
        return msgspec.json.decode(r.content, type=Alert)
