"""The live engine's additive counters (``stream.layout``), as SQL aggregates over raw rows.

Every metric is a ratio of these sums, in the engine and here; ``archive.history`` sums
them per period and hands them to the engine's own assembly (``stream.query.assemble``),
so a metric has one definition. The per-row integers that need the engine's exact
arithmetic are computed once, at insert (``archive.rows``): ``units`` =
``(value - 1) * UNIT // (scale - 1)`` for buttons and CSI answers (integer division of
non-negative numbers: the same in SQL as in the engine), ``*_ds`` = ``round(seconds * 10)``
in Python (its rounding), and ``sess_first`` in Python (a survey session counts once, on
its earliest answer, as ``MetricsEngine._session`` does).

The rollup tables (``feedback_daily``, ``csi_daily``, ``flow_daily``) hold exactly these
aggregates per (location, local day): a cache of the same SQL, refreshed for the days a
write touched.
"""

from __future__ import annotations

from stream.events import FLOW_CHANNELS

FEEDBACK: tuple[tuple[str, str], ...] = (
    ("nps_promoters", "count(*) FILTER (WHERE type = 'nps' AND value >= 9)"),
    ("nps_passives", "count(*) FILTER (WHERE type = 'nps' AND value BETWEEN 7 AND 8)"),
    ("nps_detractors", "count(*) FILTER (WHERE type = 'nps' AND value <= 6)"),
    ("visits", "count(*) FILTER (WHERE type = 'visit')"),
    ("sessions", "count(*) FILTER (WHERE sess_first)"),
    ("csat_n", "count(*) FILTER (WHERE type = 'csat')"),
    ("csat_sat", "count(*) FILTER (WHERE type = 'csat' AND value >= 4)"),
    ("ces_n", "count(*) FILTER (WHERE type = 'ces')"),
    ("ces_sum", "coalesce(sum(value) FILTER (WHERE type = 'ces'), 0)"),
    ("btn_n", "count(*) FILTER (WHERE type = 'button')"),
    ("btn_idx", "coalesce(sum(units) FILTER (WHERE type = 'button'), 0)"),
    *((f"btn_{v}", f"count(*) FILTER (WHERE type = 'button' AND value = {v})")
      for v in range(1, 6)),
    ("csi_n", "count(*) FILTER (WHERE type = 'csi')"),
    ("csi_sum", "coalesce(sum(units) FILTER (WHERE type = 'csi'), 0)"),
)

CSI: tuple[tuple[str, str], ...] = (
    ("n", "count(*)"),
    ("sum", "coalesce(sum(units), 0)"),
)

FLOW: tuple[tuple[str, str], ...] = (
    *((f"flow_{c}", f"count(*) FILTER (WHERE channel = '{c}')") for c in FLOW_CHANNELS),
    ("answered_n", "count(answered)"),
    ("answered_yes", "count(*) FILTER (WHERE answered)"),
    ("fcr_n", "count(first_contact_resolved)"),
    ("fcr_yes", "count(*) FILTER (WHERE first_contact_resolved)"),
    *(pair for name in ("wait", "handle", "hold")
      for pair in ((f"{name}_n", f"count({name}_ds)"),
                   (f"{name}_ds", f"coalesce(sum({name}_ds), 0)"))),
)

FEEDBACK_NAMES = tuple(name for name, _ in FEEDBACK)
FLOW_NAMES = tuple(name for name, _ in FLOW)


def select_list(counters: tuple[tuple[str, str], ...]) -> str:
    """``expr AS name, ...`` over raw rows."""
    return ", ".join(f"{expr} AS {name}" for name, expr in counters)


def sum_list(counters: tuple[tuple[str, str], ...]) -> str:
    """``sum(name) AS name, ...`` over rollup rows (the same counters, pre-aggregated)."""
    return ", ".join(f"sum({name}) AS {name}" for name, _ in counters)


def rollup_columns(counters: tuple[tuple[str, str], ...]) -> str:
    """Column definitions of a rollup table holding ``counters``."""
    return ", ".join(f"{name} BIGINT NOT NULL" for name, _ in counters)
