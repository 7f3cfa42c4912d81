"""Render the demo's three digests to PNG, to look at them (a tool, not run by pytest).

    .venv/bin/python -m tests.digests.shots OUT_DIR [--days 396] [--config config.toml]

Fills a fresh archive in OUT_DIR with the demo network's seeded history (the same
generator ``make run`` back-fills with), builds the daily (first region), weekly and
monthly digests of ``config.toml``, and writes for each: the HTML (images inline), its
PNG (headless Chromium through playwright, ``/usr/bin/chromium``), the PDF and its pages
as PNG (``pdftoppm`` from Debian's poppler-utils). Chromium and pdftoppm are test/tool
dependencies only; the digests themselves never need a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import subprocess
import time
from pathlib import Path

import msgspec

from archive.service import ArchiveService
from cxpulse.config import Config, load_config
from digests import html
from digests.build import Built, build_digest
from digests.schedule import latest_slot
from stream.geography import Geo
from tests.support.digests import add_alert, fill

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def html_to_png(pages: list[Path], width: int = 700) -> list[Path]:
    """Full-page screenshots of local HTML files (``x.html`` -> ``x.png``)."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in pages:
            page.goto(path.resolve().as_uri())
            target = path.with_suffix(".png")
            page.screenshot(path=str(target), full_page=True)
            out.append(target)
        browser.close()
    return out


def pdf_to_png(pdf: Path, dpi: int = 70) -> list[Path]:
    """Every page of a PDF as PNG (``x.pdf`` -> ``x-pdf-1.png``...)."""
    prefix = pdf.with_name(pdf.stem + "-pdf")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return sorted(pdf.parent.glob(f"{prefix.name}-*.png"))


async def render(cfg: Config, archive: ArchiveService, now_ms: int,
                 out: Path) -> dict[str, tuple[Built, float]]:
    geo = Geo.from_config(cfg)
    picked = [next(d for d in cfg.digests if d.period == p) for p in ("day", "week", "month")]
    done = {}
    for spec in picked:
        slot = latest_slot(spec, geo.timezone(spec.scope), now_ms)
        t0 = time.perf_counter()
        built = await build_digest(cfg, spec, slot, archive, now_ms)
        done[spec.id] = (built, time.perf_counter() - t0)
        (out / f"{spec.id}.html").write_text(html.render(built.report, inline_images=True),
                                             encoding="utf-8")
        for att in built.attachments:
            if att.subtype == "pdf":
                (out / f"{spec.id}.pdf").write_bytes(att.data)
    return done


async def main(args: argparse.Namespace) -> None:
    out = Path(args.out)
    shutil.rmtree(out / "data", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(args.config)
    cfg = msgspec.structs.replace(base, core=msgspec.structs.replace(
        base.core, data_dir=str(out / "data")))
    now = int(dt.datetime(2025, 3, 3, 6, 30, tzinfo=dt.UTC).timestamp() * 1000)  # a Monday
    archive = ArchiveService(cfg, None, clock=lambda: now)
    await archive.start()
    t0 = time.perf_counter()
    stored = fill(archive, cfg, now, args.days)
    print(f"archive: {stored:,} events in {time.perf_counter() - t0:.1f} s")
    day = int(dt.datetime(2025, 3, 2, 9, 40, tzinfo=dt.UTC).timestamp() * 1000)
    add_alert(archive, day, "nps-drop", "msk-arbat", "msk-arbat")
    add_alert(archive, day + 3_600_000, "nps-drop", "msk-arbat", "msk-arbat", "resolved")
    done = await render(cfg, archive, now, out)
    await archive.stop()
    for name, (built, seconds) in done.items():
        print(f"{name}: {seconds:.2f} s, {built.history_queries} history queries, "
              f"attachments {[(a.filename, len(a.data)) for a in built.attachments]}")
    for png in await asyncio.to_thread(html_to_png, sorted(out.glob("*.html"))):
        print(png)
    for pdf in sorted(out.glob("*.pdf")):
        for png in pdf_to_png(pdf):
            print(png)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--days", type=int, default=396)
    parser.add_argument("--config", default="config.toml")
    asyncio.run(main(parser.parse_args()))
