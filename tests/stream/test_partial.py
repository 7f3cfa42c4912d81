"""Partial sums add up: engines that own disjoint locations, merged, answer like one
engine holding every location (how partitioned workers roll up to one network view)."""

from __future__ import annotations

import msgspec
import pytest

from stream.engine import MetricsEngine
from stream.partial import Partial, dimension_partial, merge, partial
from stream.query import assemble, dimension_metrics, metrics, profile_of
from stream.readmodel import QueryError
from tests.stream.test_state import CFG, NOW, items

WINDOWS = ("1h", "today", "7d", "30d")


def split() -> tuple[MetricsEngine, list[MetricsEngine]]:
    """One engine with everything, and two that own locations {a, c} and {b}."""
    whole, parts = MetricsEngine(CFG), [MetricsEngine(CFG), MetricsEngine(CFG)]
    events = items(3000, 1) + items(1000, 2)
    whole.apply_batch(events)
    for i, owned in enumerate(({"a", "c"}, {"b"})):
        parts[i].apply_batch([(ev, ts) for ev, ts in events if ev.location in owned])
    return whole, parts


def test_merged_partials_equal_one_engine_for_every_scope_and_window() -> None:
    whole, parts = split()
    for scope in ("network", "r", "a", "b", "c"):
        for window in WINDOWS:
            merged = merge([partial(e, scope, window, NOW) for e in parts])
            want = metrics(whole, scope, window, NOW)
            got = msgspec.to_builtins(assemble(CFG, merged))
            wanted = msgspec.to_builtins(want)
            for m in (got, wanted):  # problems compare with peers: each worker sees its own
                m["incidents"].pop("problems")
            assert got == wanted, (scope, window)
        p = merge([partial(e, scope, "1h", NOW) for e in parts])
        assert profile_of(p) == profile_of(partial(whole, scope, "1h", NOW))


def test_staff_breakdowns_merge_too() -> None:
    whole, parts = split()
    for window in ("today", "7d", "30d"):
        merged = merge([dimension_partial(e, "network", window, NOW, staff="ann") for e in parts])
        got = assemble(CFG, merged)
        assert got == dimension_metrics(whole, "network", window, NOW, staff="ann")
        assert got.responses + got.buttons.presses > 0


def test_an_engine_that_never_saw_a_scope_adds_nothing() -> None:
    _, parts = split()
    unseen = partial(parts[1], "c", "today", NOW)  # "c" belongs to the other engine
    assert not unseen.known and unseen.counts == {}
    seen = partial(parts[0], "c", "today", NOW)
    assert merge([unseen, seen]) == merge([seen])
    assert not merge([unseen]).known


def test_counts_add_and_repeats_add_per_location_and_category() -> None:
    a = Partial("network", "7d", 10, 20, True, {"nps_promoters": 2}, {"f\x1fq": [1, 5]})
    a.incidents.repeats = {"a\x1fclaim": 2}
    a.incidents.opened = 2
    b = Partial("network", "7d", 5, 20, True, {"nps_promoters": 3}, {"f\x1fq": [2, 7]})
    b.incidents.repeats = {"a\x1fclaim": 1, "b\x1fother": 1}
    b.incidents.opened = 2
    m = merge([a, b])
    assert (m.start_ms, m.end_ms, m.counts, m.csi) == (5, 20, {"nps_promoters": 5},
                                                        {"f\x1fq": [3, 12]})
    assert m.incidents.repeats == {"a\x1fclaim": 3, "b\x1fother": 1}
    assert m.incidents.opened == 4


def test_unknown_windows_are_refused_with_the_list() -> None:
    engine = MetricsEngine(CFG)
    with pytest.raises(QueryError, match="1h, today, 7d, 30d"):
        partial(engine, "network", "2h", NOW)
    with pytest.raises(QueryError, match="1h, today, 7d, 30d"):
        partial(engine, "nowhere", "2h", NOW)
    with pytest.raises(QueryError, match="not kept per staff"):
        dimension_partial(engine, "network", "1h", NOW, staff="ann")
