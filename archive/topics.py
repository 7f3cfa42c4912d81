"""Comment topics of a scope and period against the period before (contract v2 "Comments":
``GET /api/comments/topics/{scope}``).

A comment is an archived feedback row with a (masked) comment; its topics are the
tagger's, as stored (``cxpulse comments retag`` recomputes them after a topic change).
Per topic: ``count`` (comments of the period that carry it), ``share`` (of all comments
of the period; a comment may carry several topics, so shares add up to more than 1),
``mean_nps`` (the mean 0-10 NPS answer given with those comments: on the comment's own
answer, or elsewhere in its survey session; null when none was) and ``previous_count``
(the same count over the period of equal length just before). The period is either local
calendar days of each location (``first``..``last`` inclusive, like ``/api/history``) or
times (``since_ms``..``until_ms``, end exclusive). Every configured topic is listed, then
any other topic found in the rows (tagged under an earlier configuration), most frequent
first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import msgspec

from archive.records import scope_filter
from stream.geography import ScopeIndex
from stream.ids import NETWORK
from stream.windows import DAY_MS


class TopicsQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: str = NETWORK
    first: dt.date | None = None
    last: dt.date | None = None
    since_ms: int | None = None
    until_ms: int | None = None


class TopicCount(msgspec.Struct, frozen=True):
    topic: str
    count: int
    share: float | None
    mean_nps: float | None
    previous_count: int


class TopicsResult(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    comments: int
    topics: list[TopicCount]
    previous_comments: int = 0
    untagged: int = 0  # comments of the period that match no topic
    first: str = msgspec.field(default="", name="from")
    last: str = msgspec.field(default="", name="to")
    previous_from: str = ""
    previous_to: str = ""


Bounds = tuple[str, list[Any]]


def _period(q: TopicsQuery) -> tuple[Bounds, Bounds, Bounds, tuple[str, str, str, str]]:
    """SQL conditions of the period, of the one before, and of the span where their survey
    sessions' NPS answers may lie; and the four bounds as text."""
    if q.first is not None and q.last is not None:
        if q.last < q.first:
            raise ValueError("to: before from")
        span = (q.last - q.first).days + 1
        p_first, p_last = q.first - dt.timedelta(days=span), q.first - dt.timedelta(days=1)
        days = "day BETWEEN ? AND ?"
        return ((days, [q.first, q.last]), (days, [p_first, p_last]),
                (days, [p_first - dt.timedelta(days=1), q.last + dt.timedelta(days=1)]),
                (q.first.isoformat(), q.last.isoformat(), p_first.isoformat(),
                 p_last.isoformat()))
    if q.since_ms is not None and q.until_ms is not None:
        if q.until_ms <= q.since_ms:
            raise ValueError("to: not after from")
        prev = q.since_ms - (q.until_ms - q.since_ms)
        times = "ts >= ? AND ts < ?"
        text = [_iso(v) for v in (q.since_ms, q.until_ms, prev, q.since_ms)]
        return ((times, [q.since_ms, q.until_ms]), (times, [prev, q.since_ms]),
                (times, [prev - DAY_MS, q.until_ms + DAY_MS]),
                (text[0], text[1], text[2], text[3]))
    raise ValueError("from: give from and to both as dates or both as times")


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


_SQL = """
WITH c AS (
    SELECT location, session, type, value, coalesce(topics, []) AS topics, {cur} AS cur
    FROM feedback WHERE {scope} AND comment IS NOT NULL AND (({cur}) OR ({prev}))
), s AS (
    SELECT location, session, max(value) AS nps FROM feedback
    WHERE {scope} AND type = 'nps' AND session IS NOT NULL AND {near}
    GROUP BY location, session
), t AS (
    SELECT c.cur, unnest(c.topics) AS topic,
           CASE WHEN c.type = 'nps' THEN c.value ELSE s.nps END AS nps
    FROM c LEFT JOIN s ON c.session IS NOT NULL AND c.type <> 'nps'
                      AND s.location = c.location AND s.session = c.session
)
SELECT topic, count(*) FILTER (WHERE cur), count(*) FILTER (WHERE NOT cur),
       avg(nps) FILTER (WHERE cur)
FROM t GROUP BY topic
"""
_TOTALS = """
SELECT count(*) FILTER (WHERE cur), count(*) FILTER (WHERE NOT cur),
       count(*) FILTER (WHERE cur AND len(topics) = 0)
FROM (SELECT coalesce(topics, []) AS topics, {cur} AS cur FROM feedback
      WHERE {scope} AND comment IS NOT NULL AND (({cur}) OR ({prev})))
"""


def topic_counts(con: duckdb.DuckDBPyConnection, geo: ScopeIndex, q: TopicsQuery,
                 configured: Sequence[str] = ()) -> TopicsResult:
    """The topics of ``q``'s scope and period (see the module docstring)."""
    if q.scope != NETWORK and not geo.known(q.scope):
        raise LookupError(f"unknown scope {q.scope!r}")
    (cur, cur_args), (prev, prev_args), (near, near_args), text = _period(q)
    scope, scope_args = scope_filter(q.scope, geo)
    found = con.execute(_SQL.format(cur=cur, prev=prev, scope=scope, near=near),
                        [*cur_args, *scope_args, *cur_args, *prev_args, *scope_args,
                         *near_args]).fetchall()
    row = con.execute(_TOTALS.format(cur=cur, prev=prev, scope=scope),
                      [*cur_args, *scope_args, *cur_args, *prev_args]).fetchone()
    total, previous, untagged = (int(v or 0) for v in (row or (0, 0, 0)))
    by_topic = {name: (int(n), int(p), m) for name, n, p, m in found if name is not None}
    order = {name: i for i, name in enumerate(configured)}
    names = sorted({*configured, *by_topic},
                   key=lambda n: (-by_topic.get(n, (0, 0, None))[0],
                                  -by_topic.get(n, (0, 0, None))[1], order.get(n, len(order)), n))
    topics = []
    for name in names:
        n, p, mean = by_topic.get(name, (0, 0, None))
        topics.append(TopicCount(name, n, round(n / total, 4) if total else None,
                                 None if mean is None else round(float(mean), 2), p))
    return TopicsResult(scope=q.scope, comments=total, topics=topics, previous_comments=previous,
                        untagged=untagged, first=text[0], last=text[1], previous_from=text[2],
                        previous_to=text[3])
