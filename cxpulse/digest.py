"""``cxpulse digest``: send one digest now, or write a preview; and the scheduler's start.

    cxpulse digest --id daily-msk --now                 # build and mail it at once
    cxpulse digest --id daily-msk --preview out.html    # write out.html (+ out.pdf), no mail
    cxpulse digest --id weekly-network --now --period 2025-W10

Both cover the digest's last complete period (yesterday, last week, last month, in the
scope's zone) unless ``--period`` names one (``2025-03-04``, ``2025-W10``, ``2025-03``).
``--now`` sends outside the schedule and leaves the scheduler's record of the slot alone.
The archive is read through a running deployment when its NATS answers (``--nats-url``,
``[nats] url`` or the embedded server's address), else from the file directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.service import ArchiveService, ArchiveUnavailable
from cxpulse.config import Config, load_config
from cxpulse.connections import Login, connect_as, connection
from digests.config import DigestConfig
from digests.schedule import Slot, latest_slot, slot_for_period
from stream.clock import wall_ms
from stream.geography import Geo
from stream.readmodel import CoreReader

if TYPE_CHECKING:  # the service pulls in matplotlib and fpdf2: only when digests run
    from digests.service import DigestService

log = logging.getLogger("cxpulse.digests")


async def start_digests(cfg: Config, core: CoreReader, archive: ArchiveService | None,
                        conns: contextlib.AsyncExitStack, url: str,
                        logins: dict[str, Login]) -> DigestService | None:
    """The scheduler of ``cxpulse run`` (every instance starts one; the leader sends), on its
    own connection as the ``digests`` user."""
    if not cfg.digests:
        return None
    if archive is None:
        log.warning("digests: %d configured but [archive] is disabled; none will be sent",
                    len(cfg.digests))
        return None
    from digests.service import DigestService

    nc = await conns.enter_async_context(connection(cfg, url, "digests", "cxpulse-digests",
                                                    logins))

    service = DigestService(cfg, nc, archive, live=core)
    await service.start()
    return service


def parse_period(text: str) -> dt.date:
    """``2025-03-04`` / ``2025-W10`` / ``2025-03`` -> the period's first date."""
    try:
        if "-W" in text:
            year, week = text.split("-W")
            return dt.date.fromisocalendar(int(year), int(week), 1)
        if len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"cxpulse digest: --period {text!r}: expected 2025-03-04, 2025-W10 "
                         "or 2025-03") from exc


@contextlib.asynccontextmanager
async def open_archive(cfg: Config, url: str) -> AsyncIterator[ArchiveService]:
    """The running deployment's archive (forwarded queries) or the file itself."""
    nc: Any = None
    with contextlib.suppress(Exception):
        nc = await connect_as(cfg, url, "digests", "cxpulse-digest", attempts=1)
    if nc is not None:
        service = ArchiveService(cfg, nc)  # never started: it only forwards
        try:
            await service.status()
        except ArchiveUnavailable:
            await nc.close()
        else:
            try:
                yield service
            finally:
                await nc.close()
            return
    direct = ArchiveService(cfg, None)
    await direct.start()
    try:
        yield direct
    finally:
        await direct.stop()


def _slot(cfg: Config, spec: DigestConfig, period: str | None, now_ms: int) -> Slot:
    tz = Geo.from_config(cfg).timezone(spec.scope)
    if period:
        return slot_for_period(spec, tz, parse_period(period))
    return latest_slot(spec, tz, now_ms)


async def _digest(cfg: Config, args: argparse.Namespace) -> int:
    from digests import html, mail
    from digests.build import build_digest

    spec = next((d for d in cfg.digests if d.id == args.id), None)
    if spec is None:
        ids = ", ".join(d.id for d in cfg.digests) or "none configured"
        print(f"cxpulse digest: no digest {args.id!r} ({ids})", file=sys.stderr)
        return 2
    now = wall_ms()
    slot = _slot(cfg, spec, args.period, now)
    url = args.nats_url or cfg.nats.url or (
        f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}")
    async with open_archive(cfg, url) as archive:
        built = await build_digest(cfg, spec, slot, archive, now)
    if args.preview:
        target = Path(args.preview)
        target.write_text(html.render(built.report, inline_images=True), encoding="utf-8")
        for att in built.attachments:
            if att.subtype == "pdf":
                target.with_suffix(".pdf").write_bytes(att.data)
        print(f"cxpulse digest: {slot.key} written to {target}")
        return 0
    msg = mail.compose(built, sender=cfg.smtp.sender, to=spec.to, key=f"{slot.key}.now")
    refused = await asyncio.to_thread(mail.send, msg, cfg.smtp, spec.to)
    print(f"cxpulse digest: {slot.key} sent to {', '.join(spec.to)} via "
          f"{cfg.smtp.host}:{cfg.smtp.port}" + (f"; refused: {refused}" if refused else ""))
    return 0


def run_digest(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    return asyncio.run(_digest(cfg, args))


def add_parser(sub: Any) -> None:
    p = sub.add_parser("digest", help="send a digest now (--now) or write a preview "
                                      "(--preview FILE.html)")
    p.add_argument("--config", default="config.toml")
    p.add_argument("--id", required=True, help="the [[digests]] id")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--now", action="store_true", help="build it and send it at once")
    what.add_argument("--preview", metavar="FILE.html",
                      help="write the HTML (images inline) and the PDF beside it; no mail")
    p.add_argument("--period", default=None,
                   help="the period to cover: 2025-03-04, 2025-W10 or 2025-03 "
                        "(default: the last complete one)")
    p.add_argument("--nats-url", default=None)
    p.set_defaults(func=run_digest)
