"""Memory is bounded by the retention window: what ``MetricsEngine.expire`` forgets.

``expire`` forgets ids, survey sessions and incidents whose latest step is older than the
retention (an incident keeps every step with its full ``IncidentEvent``, up to 4 KB of text
each: ~1.2 KB of Python objects per incident event on the simulator's load traffic).
"""

from __future__ import annotations

import time

from cxpulse.config import load_config_text
from stream.engine import MetricsEngine
from stream.events import IncidentAction, IncidentEvent, NpsEvent
from stream.query import incident_views, metrics

DAY_MS = 86_400_000
CFG = load_config_text("[[locations]]\nid = 'a'\n")


def incident(name: str, action: IncidentAction, ts_ms: int) -> tuple[IncidentEvent, int]:
    opening = action == "open"
    return IncidentEvent(id=f"{name}-{action}", ts=ts_ms, location="a", incident=name,
                         action=action, category="claim" if opening else None,
                         text="x" * 2000 if opening else None), ts_ms


def test_expire_forgets_old_ids_and_sessions() -> None:
    now = int(time.time() * 1000)
    engine = MetricsEngine(CFG)
    old = now - 40 * DAY_MS
    engine.apply_batch([(NpsEvent(id="n1", ts=old, location="a", value=9, session="s1"), old),
                        (NpsEvent(id="n2", ts=now, location="a", value=9, session="s2"), now)])
    engine.expire(now)
    assert len(engine.sessions) == 1 and engine.ids.count == 1


def test_expire_forgets_incidents_resolved_before_the_retention_window() -> None:
    now = int(time.time() * 1000)
    engine = MetricsEngine(CFG)
    old = now - 40 * DAY_MS
    engine.apply_batch([incident("old", "open", old), incident("old", "resolve", old + 3600_000),
                        incident("new", "open", now - 3600_000)])
    engine.expire(now)
    assert list(engine.incidents.steps) == [k for k in engine.incidents.steps if k[1] == "new"]
    assert [v.incident for v in incident_views(engine, "a", now)] == ["new"]
    assert metrics(engine, "a", "7d", now).incidents.open == 1
