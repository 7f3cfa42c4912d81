"""A running core, archive (writer and comments service) and server for the comments
tests, with admin, supervisor (region ``r``: locations ``a`` and ``b``) and display
tokens."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import websockets

from archive.comments import TextHooks
from archive.service import ArchiveService
from cxpulse.config import Config, load_config_text
from server.app import create_app, serve
from stream.access import hash_token
from stream.core import Core
from stream.nats_server import free_port
from tests.archive.support import CONFIG
from tests.support.stack import WsClient

TOKENS = {"admin": ("admin", [], []), "sup": ("supervisor", ["r"], []),
          "supk": ("supervisor", [], ["k"]), "disp": ("display", [], ["a"])}


def config(data_dir: Path, extra: str = "", base: str = CONFIG) -> Config:
    tokens = "".join(
        f'[[auth.tokens]]\nname = "{n}"\nsha256 = "{hash_token("tok-" + n)}"\nrole = "{role}"\n'
        f"regions = {json.dumps(regs)}\nlocations = {json.dumps(locs)}\n"
        for n, (role, regs, locs) in TOKENS.items())
    text = base.replace("[core]\n", f'[core]\ndata_dir = "{data_dir}"\n', 1)
    return load_config_text(f"{text}\n{extra}\n[auth]\nenabled = true\n{tokens}")


@dataclass
class Live:
    cfg: Config
    core: Core
    archive: ArchiveService
    port: int

    def http(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=20,
                                 headers={"Authorization": f"Bearer tok-{who}"})

    async def ws(self, who: str) -> WsClient:
        conn = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws?token=tok-{who}")
        client = WsClient(conn)
        await client.next(type="hello")
        return client

    async def publish(self, events: list[dict[str, Any]]) -> None:
        """Through the core (as devices do); returns once the archive has stored them."""
        for ev in events:
            rejection = await self.core.publish_input("feedback", ev["location"],
                                                      msgspec.json.encode(ev))
            assert rejection is None, (rejection, ev)
        assert await self.core.wait_idle(20)
        assert self.archive.writer is not None and await self.archive.writer.wait_idle(20)


@contextlib.asynccontextmanager
async def live(nats_url: str, data_dir: Path, extra: str = "",
               base: str = CONFIG) -> AsyncIterator[Live]:
    cfg = config(data_dir, extra, base)
    core = Core(cfg, nats_url)
    await core.start()
    archive = ArchiveService(cfg, core.nc, hooks=TextHooks.default(cfg.comments))
    await archive.start()
    port = free_port()
    started = asyncio.Event()
    task = asyncio.create_task(serve(create_app(cfg, core, None, archive), "127.0.0.1", port,
                                     started=started))
    await asyncio.wait_for(started.wait(), 10)
    try:
        yield Live(cfg, core, archive, port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await archive.stop()
        await core.stop()
