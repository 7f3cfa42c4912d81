"""Websocket fan-out benchmark: N clients on display and metrics topics under live ingest.

One process tree on this machine: an embedded nats-server; the server (core + app under
uvicorn) in its own process, so its CPU is measured alone; client processes holding the
websockets (each client follows ``display:{loc}`` and ``metrics:{loc}`` of one location);
and this process publishing loyalty-button events into JetStream at a fixed rate.

Latency is per event and per client: from the moment an event is published to the first
frame that client receives whose count includes it (the display's ``ratings`` or the
metrics' ``today.buttons.presses``). It therefore includes the core's ingest, the hub's
coalescing wait (up to 1 / ``ws_max_updates_per_s``) and the socket. ``fan-out`` is the
part after the hub computed the frame (receipt - frame ``ts_ms``).

    .venv/bin/python bench/fanout.py [--clients 1000] [--rate 2000] [--duration 20]
                                     [--updates-per-s 4 8] [--locations 20]

With events arriving all the time, a topic limited to N updates/s makes each change wait
for its slot, uniformly 0..1/N s: at N = 4 that wait alone has a p99 of 248 ms, so the
250 ms target needs more; the shipped default (``[server] ws_max_updates_per_s``) is 8.
Both runs are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stream.access import hash_token  # noqa: E402
from stream.nats_server import EmbeddedNats, free_port  # noqa: E402

TOKEN = "bench-admin"
WARMUP_S = 3.0
TAIL_S = 2.0


def config_text(args: argparse.Namespace, data_dir: str) -> str:
    lines = ["[core]", f'data_dir = "{data_dir}"', "snapshot_interval_s = 3600",
             f"batch_size = {args.batch_size}",
             "[server]", f"ws_max_updates_per_s = {args.updates_per_s}",
             f"ws_max_connections = {args.clients + 100}", "ws_heartbeat_s = 15",
             # every bench client is one token from one address
             f"ws_max_per_token = {args.clients + 100}",
             f"ws_max_per_address = {args.clients + 100}",
             "[auth]", "[[auth.tokens]]", 'name = "bench"', f'sha256 = "{hash_token(TOKEN)}"',
             'role = "admin"']
    for i in range(args.locations):
        lines += ["[[locations]]", f'id = "loc-{i:03d}"', f'region = "reg-{i % 4}"',
                  'timezone = "Europe/Moscow"']
    return "\n".join(lines) + "\n"


# -- the server process ----------------------------------------------------------------------

async def serve_main(config: str, nats_url: str, port: int) -> None:
    from cxpulse.config import load_config
    from server.app import create_app, serve
    from stream.core import Core

    cfg = load_config(config)
    core = Core(cfg, nats_url)
    await core.start()
    task = asyncio.create_task(serve(create_app(cfg, core), "127.0.0.1", port))
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await core.stop(snapshot_state=False)


# -- a client process ------------------------------------------------------------------------

class _Frame(msgspec.Struct):
    type: str
    topic: str = ""
    ts_ms: int = 0
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Display(msgspec.Struct):
    ratings: int


class _Buttons(msgspec.Struct, frozen=True):
    presses: int = 0


class _Window(msgspec.Struct):
    buttons: _Buttons = _Buttons()


class _Metrics(msgspec.Struct):
    windows: dict[str, _Window]


class _LeanClient(asyncio.Protocol):
    """A minimal websocket client: timestamps bytes as they arrive and keeps the frames'
    payloads for decoding after the run. The clients share two cores with the server, so
    they must cost as little as a browser's native websocket would; a full client library
    plus JSON decoding per frame delayed its own receipt times by tens of ms."""

    def __init__(self, port: int, loc: str, ready: asyncio.Event, closed: asyncio.Event) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.request = (f"GET /ws?token={TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                        ).encode()
        self.subscribe = json.dumps({"op": "subscribe", "topics": [f"display:{loc}",
                                                                   f"metrics:{loc}"]}).encode()
        self.ready, self.closed = ready, closed
        self.buf = bytearray()
        self.upgraded = False
        self.snapshots = 0
        self.frames: list[tuple[float, bytes]] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP connection's
        self.transport = transport
        transport.write(self.request)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        head = (struct.pack("!BB", 0x80 | opcode, 0x80 | n) if n < 126
                else struct.pack("!BBH", 0x80 | opcode, 0xFE, n))
        assert self.transport is not None
        self.transport.write(head + mask + body)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"upgrade refused: {bytes(buf[:60])!r}")
            del buf[:end + 4]
            self.upgraded = True
            self._send(1, self.subscribe)
        while len(buf) >= 2:
            n, at = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < at + n:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[at:at + n])
            del buf[:at + n]
            if opcode == 1:
                self.frames.append((now, payload))
                if payload.startswith(b'{"type":"snapshot"'):
                    self.snapshots += 1
                    if self.snapshots == 2:
                        self.ready.set()
            elif opcode == 9:
                self._send(10, payload)  # pong, or uvicorn's keepalive closes us
            elif opcode == 8:
                self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def log(self) -> list[tuple[float, int, int, int]]:
        """(receipt time, 0 display | 1 metrics, count of button presses, frame ts_ms)."""
        frame_dec = msgspec.json.Decoder(_Frame)
        disp_dec, met_dec = msgspec.json.Decoder(_Display), msgspec.json.Decoder(_Metrics)
        out = []
        for now, payload in self.frames:
            frame = frame_dec.decode(payload)
            if frame.type not in ("snapshot", "update"):
                continue
            if frame.topic.startswith("display:"):
                out.append((now, 0, disp_dec.decode(frame.data).ratings, frame.ts_ms))
            else:
                today = met_dec.decode(frame.data).windows["today"].buttons.presses
                out.append((now, 1, today, frame.ts_ms))
        return out


async def clients_main(port: int, first: int, count: int, locations: int, out: str) -> None:
    """Connect ``count`` clients, print "ready", record frames until stdin says stop."""
    loop = asyncio.get_running_loop()
    clients: list[_LeanClient] = []
    for i in range(count):
        loc = f"loc-{(first + i) % locations:03d}"
        client = _LeanClient(port, loc, asyncio.Event(), asyncio.Event())
        def protocol(c: _LeanClient = client) -> _LeanClient:
            return c

        await loop.create_connection(protocol, "127.0.0.1", port)
        clients.append(client)
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 120)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    for c in clients:
        assert c.transport is not None
        c.transport.close()
    arrays: dict[str, Any] = {f"c{first + i}": np.array(c.log(), dtype=np.float64).reshape(-1, 4)
                              for i, c in enumerate(clients)}
    np.savez(out, **arrays)


# -- the driver ------------------------------------------------------------------------------

async def publish(nats_url: str, rate: int, duration_s: float, locations: int
                  ) -> dict[str, list[float]]:
    """Buttons at ``rate`` events/s, round-robin over locations; publish times per location."""
    from cxpulse.config import Config
    from stream.nats_io import connect

    nc = await connect(Config().nats, nats_url, "bench-publisher")
    js = nc.jetstream()
    times: dict[str, list[float]] = {f"loc-{i:03d}": [] for i in range(locations)}
    tick_s, n = 0.01, 0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < duration_s:
        while n < rate * elapsed:
            loc = f"loc-{n % locations:03d}"
            now = time.time()
            body = {"id": f"e{n}", "ts": int(now * 1000), "location": loc, "type": "button",
                    "value": 1 + n % 3, "scale": 3}
            times[loc].append(now)
            await js.publish_async(f"cx.feedback.{loc}", msgspec.json.encode(body),
                                   headers={"Nats-Msg-Id": f"e{n}"})
            n += 1
        await asyncio.sleep(max(0.0, start + elapsed + tick_s - time.monotonic()))
    await js.publish_async_completed()
    await nc.drain()
    return times


@dataclass(frozen=True)
class Latencies:
    """Milliseconds per event x client (``all``, by topic), per frame (``fanout``: frame
    computed -> client, ``fresh``: age of its newest event); updates per client and topic."""

    all: np.ndarray
    display: np.ndarray
    metrics: np.ndarray
    fanout: np.ndarray
    fresh: np.ndarray
    missed: int
    updates: np.ndarray
    max_gap_s: float


def latencies(times: dict[str, list[float]], arrays: dict[str, np.ndarray], locations: int,
              t0: float, t1: float) -> Latencies:
    """Per event x client: first receipt whose count includes the event; per frame: the age
    of the newest event it includes (the pipeline without the coalescing wait)."""
    lat: dict[int, list[np.ndarray]] = {0: [], 1: []}
    fan: list[np.ndarray] = []
    fresh: list[np.ndarray] = []
    missed = 0
    updates, gaps = [], []
    for key, log in arrays.items():
        loc = f"loc-{int(key[1:]) % locations:03d}"
        pub = np.array(times[loc])
        keep = pub >= t0
        idx = np.nonzero(keep)[0]  # event i (0-based) is included once count >= i + 1
        for kind in (0, 1):
            rows = log[log[:, 1] == kind]
            counts, recv = rows[:, 2], rows[:, 0]
            pos = np.searchsorted(counts, idx + 1, side="left")
            ok = pos < len(rows)
            missed += int((~ok).sum())
            lat[kind].append((recv[pos[ok]] - pub[idx[ok]]) * 1000)
            fan.append(recv - rows[:, 3] / 1000)
            newest = counts.astype(np.int64) - 1  # the last event a frame includes
            has = (newest >= 0) & (newest < len(pub))
            has[has] &= pub[newest[has]] >= t0
            fresh.append((recv[has] - pub[newest[has]]) * 1000)
            window = recv[(recv >= t0) & (recv <= t1)]
            updates.append(len(window))
            if len(window) > 1:
                gaps.append(float(np.diff(window).max()))
    everything = np.concatenate(lat[0] + lat[1])
    return Latencies(all=everything, display=np.concatenate(lat[0]),
                     metrics=np.concatenate(lat[1]), fanout=np.concatenate(fan) * 1000,
                     fresh=np.concatenate(fresh), missed=missed, updates=np.array(updates),
                     max_gap_s=max(gaps or [0.0]))


def _pct(a: np.ndarray) -> str:
    if a.size == 0:
        return "n/a"
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return f"p50 {p50:6.1f}  p90 {p90:6.1f}  p99 {p99:6.1f}  max {a.max():7.1f} ms"


def _spawn(args: list[str], *, stdin: int | None = None,
           stdout: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], text=True,
                            cwd=ROOT, stdin=stdin, stdout=stdout)


def _busy() -> float:
    """CPU seconds the whole machine spent busy so far (all processes, all cores)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0))


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


async def drive(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="cx-fanout-"))
    nats = EmbeddedNats(tmp / "nats").start()
    config = tmp / "config.toml"
    config.write_text(config_text(args, str(tmp)), encoding="utf-8")
    port = free_port()
    server = _spawn(["serve", str(config), nats.url, str(port)])
    procs: list[subprocess.Popen[str]] = []
    try:
        import httpx

        async with httpx.AsyncClient() as h:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await h.get(f"http://127.0.0.1:{port}/api/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        per = -(-args.clients // args.client_procs)
        for k in range(args.client_procs):
            count = min(per, args.clients - k * per)
            procs.append(_spawn(["clients", str(port), str(k * per), str(count),
                                 str(args.locations), str(tmp / f"c{k}.npz")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        print(f"{args.clients} clients connected and subscribed; publishing {args.rate} ev/s "
              f"for {args.duration:g} s (max {args.updates_per_s:g} updates/s per topic)")
        assert nats.process is not None
        sp, np_ = psutil.Process(server.pid), psutil.Process(nats.process.pid)
        cp = [psutil.Process(p.pid) for p in procs]
        pub_task = asyncio.create_task(publish(nats.url, args.rate, args.duration + WARMUP_S,
                                               args.locations))
        await asyncio.sleep(WARMUP_S)
        me = psutil.Process()
        t0, c0 = time.time(), (_cpu(sp), _cpu(np_), sum(_cpu(p) for p in cp), _cpu(me),
                               _busy())
        times = await pub_task
        t1, c1 = time.time(), (_cpu(sp), _cpu(np_), sum(_cpu(p) for p in cp), _cpu(me),
                               _busy())
        await asyncio.sleep(TAIL_S)
        async with httpx.AsyncClient() as h:
            health = (await h.get(f"http://127.0.0.1:{port}/api/health",  # details: admin
                                  headers={"Authorization": f"Bearer {TOKEN}"})).json()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("stop\n")
            p.stdin.flush()
        for p in procs:
            p.wait(60)
        arrays: dict[str, np.ndarray] = {}
        for k in range(args.client_procs):
            with np.load(tmp / f"c{k}.npz") as f:
                arrays.update({key: f[key] for key in f.files})
        report(args, times, arrays, t0, t1, c0, c1, health)
    finally:
        for p in [*procs, server]:
            if p.poll() is None:
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(10)
        nats.stop()
    return 0


def report(args: argparse.Namespace, times: dict[str, list[float]], arrays: dict[str, np.ndarray],
           t0: float, t1: float, c0: tuple[float, ...], c1: tuple[float, ...],
           health: dict[str, object]) -> None:
    res = latencies(times, arrays, args.locations, t0, t1)
    span = t1 - t0
    published = sum(1 for ts in times.values() for t in ts if t >= t0)
    cpu = [(b - a) / span * 100 for a, b in zip(c0, c1, strict=True)]
    updates = res.updates
    srv = health.get("server", {})
    print(f"published {published} events in {span:.1f} s ({published / span:.0f} ev/s); "
          f"core applied {health.get('applied')} in total")
    print(f"latency publish -> client, all    : {_pct(res.all)}")
    print(f"                  display topic  : {_pct(res.display)}")
    print(f"                  metrics topic  : {_pct(res.metrics)}")
    print(f"frame freshness (newest event in it): {_pct(res.fresh)}")
    print(f"fan-out (frame computed -> client): {_pct(res.fanout)}")
    print(f"events never seen by a client     : {res.missed}")
    print(f"updates per client and topic      : min {updates.min()}  median "
          f"{int(np.median(updates))}  max {updates.max()}  (limit "
          f"{args.updates_per_s * span:.0f}); longest gap {res.max_gap_s:.2f} s")
    others = cpu[4] - sum(cpu[:4])
    print(f"server CPU {cpu[0]:.0f}% of one core; nats-server {cpu[1]:.0f}%; "
          f"client processes {cpu[2]:.0f}%; publisher {cpu[3]:.0f}%; other processes on "
          f"this machine {max(others, 0):.0f}%  ({psutil.cpu_count()} cores = "
          f"{100 * psutil.cpu_count():.0f}%)")
    print(f"hub: {srv}")
    p99 = float(np.percentile(res.all, 99)) if res.all.size else float("inf")
    starved = updates.min() < 0.8 * np.median(updates) or res.missed > 0
    floor = 0.99 / args.updates_per_s * 1000  # events arrive all the time: uniform slot wait
    print(f"coalescing wait alone at {args.updates_per_s:g} updates/s: p99 {floor:.0f} ms "
          f"(the rest is ingest, compute and delivery)")
    print(f"target p99 <= 250 ms: {'met' if p99 <= 250 else 'NOT met'} ({p99:.0f} ms); "
          f"starved clients: {'yes' if starved else 'none'}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        profile = os.environ.get("CX_FANOUT_PROFILE")  # a path: cProfile the server into it
        if profile:
            import cProfile

            cProfile.run("asyncio.run(serve_main(sys.argv[2], sys.argv[3], int(sys.argv[4])))",
                         profile)
        else:
            asyncio.run(serve_main(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "clients":
        port, first, count, locs, out = sys.argv[2:7]
        asyncio.run(clients_main(int(port), int(first), int(count), int(locs), out))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=2000, help="events per second into NATS")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    ap.add_argument("--updates-per-s", type=float, nargs="+", default=[4.0, 8.0],
                    help="[server] ws_max_updates_per_s; one run per value (default: the "
                         "former 4, then the shipped 8)")
    ap.add_argument("--locations", type=int, default=20)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=1000,
                    help="[core] batch_size of the server's core")
    args = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for rate in args.updates_per_s:
        print(f"== fan-out at {rate:g} updates/s per topic ==", flush=True)
        asyncio.run(drive(argparse.Namespace(**{**vars(args), "updates_per_s": rate})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
