"""The archive side of live comments: the notes a write announces, topic counts against the
period before, and re-tagging the past after a topic is added."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.comments import TextHooks
from archive.live import notes_of
from archive.retag import RetagPage, RetagRequest, retag_all
from archive.retag import serve as serve_retag
from archive.store import ArchiveStore
from archive.topics import TopicsQuery, topic_counts
from tests.archive.support import config
from tests.comments.support import SHIFT, WITH_PARKING, answers, validated

HOUR_MS = 3_600_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArchiveStore]:
    cfg = config(data_dir=str(tmp_path))
    s = ArchiveStore(cfg, tmp_path / "c.duckdb", hooks=TextHooks.default())
    s.open(int(time.time() * 1000))
    yield s
    s.close()


def _rows(store: ArchiveStore, sql: str) -> list[tuple[Any, ...]]:
    return store.reader().execute(sql).fetchall()


def test_a_write_announces_each_new_comment_once_masked_and_tagged(store: ArchiveStore) -> None:
    now = int(time.time() * 1000)
    items = validated(answers("a", now - HOUR_MS), now)
    written = store.write(items, {"input": len(items)})
    notes = notes_of(written.comments, now)
    assert len(notes) == sum(1 for _, text in SHIFT if text)
    by_text = {n.comment: n for n in notes}
    phone = next(n for n in notes if "[телефон]" in n.comment)
    assert "916" not in phone.comment and "wait" in phone.topics
    urgent = [n for n in notes if n.urgent]
    assert [n.comment for n in urgent] == [SHIFT[6][1]]
    queue = by_text[SHIFT[0][1]]
    assert (queue.type, queue.value, queue.location, queue.session) == ("nps", 2, "a", "c-s0")
    assert "wait" in queue.topics and queue.sentiment is not None and queue.sentiment < 0
    on_csat = by_text[SHIFT[2][1]]
    assert on_csat.type == "csat" and {"wait", "staff"} <= set(on_csat.topics)
    again = store.write(items, {"input": 2 * len(items)})  # redelivered: nothing new
    assert again.duplicates == len(items) and notes_of(again.comments, now) == []
    old = validated(answers("b", now - 30 * HOUR_MS, prefix="old"), now)
    assert notes_of(store.write(old).comments, now) == []  # stored, too old to go live
    assert len(notes_of(store.write(validated(answers("k", now - HOUR_MS, prefix="k"), now)
                                    ).comments, now)) == len(notes)


def _reference(events: list[dict[str, Any]], first_ms: int, last_ms: int,
               topics_of: dict[str, list[str]]) -> tuple[int, dict[str, tuple[int, float]]]:
    """Counts and mean NPS per topic straight from the events (the NPS of a comment on a
    CSAT answer is its session's)."""
    nps_of = {e["session"]: e["value"] for e in events if e["type"] == "nps"}
    got: dict[str, list[int]] = {}
    n = 0
    for e in events:
        if "comment" in e and first_ms <= e["ts"] < last_ms:
            n += 1
            for t in topics_of[e["comment"]]:
                got.setdefault(t, []).append(nps_of[e["session"]])
    return n, {t: (len(v), sum(v) / len(v)) for t, v in got.items()}


def test_topic_counts_shares_mean_nps_and_the_period_before(store: ArchiveStore) -> None:
    now = int(time.time() * 1000)
    start = now - 5 * HOUR_MS
    before = answers("a", start - 3 * HOUR_MS, prefix="p", rows=SHIFT[:3])
    current = answers("a", start) + answers("b", start, prefix="b")
    store.write(validated(before + current, now))
    tags = {text: store.hooks.process(text, None, "unit", None).topics or []
            for _, text in SHIFT if text}
    since, until = start - HOUR_MS, start + 2 * HOUR_MS
    q = TopicsQuery(scope="r", since_ms=since, until_ms=until)
    result = topic_counts(store.reader(), store.geo, q, ("wait", "staff", "price", "parking"))
    n, want = _reference(current, since, until, tags)
    assert result.comments == n and result.scope == "r"
    got = {t.topic: t for t in result.topics}
    for topic, (count, mean) in want.items():
        assert got[topic].count == count
        assert got[topic].share == pytest.approx(count / n, abs=1e-4)
        assert got[topic].mean_nps == pytest.approx(mean, abs=0.01)
    assert got["parking"].count == 0 and got["parking"].mean_nps is None  # configured, unseen
    prev_n, prev = _reference(before, since - 3 * HOUR_MS, since, tags)
    assert result.previous_comments == prev_n
    assert got["wait"].previous_count == prev["wait"][0]
    counts = [t.count for t in result.topics]
    assert counts == sorted(counts, reverse=True)
    only_b = topic_counts(store.reader(), store.geo, TopicsQuery(
        scope="b", since_ms=q.since_ms, until_ms=q.until_ms))
    assert only_b.comments == n // 2
    today = dt.datetime.fromtimestamp(start / 1000, dt.UTC).date()
    by_day = topic_counts(store.reader(), store.geo, TopicsQuery(
        scope="network", first=today - dt.timedelta(days=1), last=today + dt.timedelta(days=1)))
    assert by_day.comments >= n and by_day.first == (today - dt.timedelta(days=1)).isoformat()
    with pytest.raises(LookupError):
        topic_counts(store.reader(), store.geo, TopicsQuery(scope="nowhere", first=today,
                                                            last=today))
    with pytest.raises(ValueError, match="from"):
        topic_counts(store.reader(), store.geo, TopicsQuery(scope="r", first=today))


def test_retag_applies_a_new_topic_to_old_rows(store: ArchiveStore) -> None:
    now = int(time.time() * 1000)
    store.write(validated(answers("a", now - 20 * 24 * HOUR_MS, prefix="old"), now))
    parked = "SELECT count(*) FROM feedback WHERE list_contains(topics, 'parking')"
    assert _rows(store, parked) == [(0,)]
    tag = TextHooks.default(WITH_PARKING).tag
    seen: list[int] = []

    async def call(req: RetagRequest) -> RetagPage:
        return serve_retag(store, req)

    summary = asyncio.run(retag_all(call, tag, 0, limit=3,
                                    progress=lambda s: seen.append(s.read)))
    comments = sum(1 for _, text in SHIFT if text)
    assert (summary.total, summary.read) == (comments, comments)
    assert summary.changed >= 1 and seen == sorted(seen) and seen[-1] == comments
    assert _rows(store, parked) == [(1,)]
    row = _rows(store, "SELECT comment, topics FROM feedback WHERE list_contains(topics, "
                       "'parking')")[0]
    assert "парковка" in row[0] and row[1] == ["parking"]
    again = asyncio.run(retag_all(call, tag, 0))
    assert again.changed == 0 and again.read == comments  # nothing moves twice
    since = now - 10 * 24 * HOUR_MS
    assert asyncio.run(retag_all(call, tag, since)).total == 0  # --since skips the old rows
