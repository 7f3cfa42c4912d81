"""``cxpulse comments retag``: a topic added to the config reaches the comments archived
before it, through the running writer or the file itself, with a progress line on a tty."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from archive.comments import TextHooks
from archive.store import ArchiveStore
from cxpulse.retag import Progress, retag
from stream.nats_server import EmbeddedNats
from tests.comments.stack import config, live
from tests.comments.support import SHIFT, WITH_PARKING, answers, validated
from tests.support.days import MOSCOW, today_span

HOUR_MS = 3_600_000


def _args(**kw: object) -> argparse.Namespace:
    base = {"since": None, "nats_url": None, "direct": False, "archive": None}
    return argparse.Namespace(**{**base, **kw})


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_retag_through_the_running_writer(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    async with live(nats_server.url, tmp_path) as s:
        first, last = await today_span((MOSCOW,), MOSCOW, 10 * 60_000)  # topics read today
        await s.publish(answers("a", first, (last - first) // len(SHIFT)))
        async with s.http("admin") as http:
            before = (await http.get("/api/comments/topics/a")).json()
            assert "parking" not in {t["topic"] for t in before["topics"]}
            new_cfg = msgspec.structs.replace(s.cfg, comments=WITH_PARKING)
            out = Tty()
            summary = await retag(new_cfg, _args(nats_url=nats_server.url), out)
            assert summary.read == summary.total == before["comments"]
            assert summary.changed >= 1
            assert "running archive writer" in out.getvalue() and "\r[" in out.getvalue()
            assert "100.0%" in out.getvalue()
            after = (await http.get("/api/comments/topics/a")).json()
            topics = {t["topic"]: t["count"] for t in after["topics"]}
            assert topics["parking"] == 1 and after["comments"] == before["comments"]
            found = (await http.get("/api/feedback", params={"scope": "a",
                                                             "topic": "parking"})).json()
            assert [i["topics"] for i in found["items"]] == [["parking"]]


async def test_retag_of_the_file_when_nothing_runs(tmp_path: Path) -> None:
    cfg = msgspec.structs.replace(config(tmp_path), comments=WITH_PARKING)
    path = tmp_path / "archive.duckdb"
    now = int(time.time() * 1000)
    store = ArchiveStore(cfg, path, hooks=TextHooks.default())
    store.open(now)
    store.write(validated(answers("a", now - 3 * 24 * HOUR_MS, prefix="old")
                          + answers("b", now - HOUR_MS), now))
    store.close()
    zone = ZoneInfo(cfg.core.default_timezone)
    today = dt.datetime.fromtimestamp((now - HOUR_MS) / 1000, zone).date().isoformat()
    recent = await retag(cfg, _args(direct=True, archive=str(path), since=today), io.StringIO())
    assert recent.changed == 1  # only b's parking comment is recent
    everything = await retag(cfg, _args(direct=True, archive=str(path)), io.StringIO())
    assert everything.changed == 1 and everything.read == 2 * recent.read
    store = ArchiveStore(cfg, path)
    store.open(now)
    rows = store.reader().execute("SELECT location FROM feedback WHERE "
                                  "list_contains(topics, 'parking') ORDER BY 1").fetchall()
    store.close()
    assert rows == [("a",), ("b",)]


def test_progress_line_is_drawn_in_place_only_on_a_terminal() -> None:
    from archive.retag import RetagSummary

    quiet = io.StringIO()
    Progress(quiet, quiet.isatty())(RetagSummary(10, 5, 1), final=True)
    assert quiet.getvalue() == ""
    tty = Tty()
    Progress(tty, True)(RetagSummary(10, 5, 1), final=True)
    assert tty.getvalue().startswith("\r[###############") and " 50.0%" in tty.getvalue()
