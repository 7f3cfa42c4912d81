"""Column layout of the metric tables: one counter per additive quantity.

Every metric is a ratio of additive counters, so a window is a sum of buckets and a scope a
sum of entities. Fractional quantities are stored as integers: Likert/button positions in
units of 1/2520 of the scale (2520 = lcm(1..9), exact for every scale 2..10) and durations
in deciseconds.
"""

from __future__ import annotations

from stream.events import FLOW_CHANNELS
from stream.windows import DAY_WINDOWS, HOUR_WINDOWS, LAST_HOUR_MINUTES, PROFILE_HOURS

UNIT = 2520  # (value - 1) / (scale - 1) == k / UNIT exactly for scales 2..10

FIXED = (
    "nps_promoters", "nps_passives", "nps_detractors",
    "visits", "sessions",
    "csat_n", "csat_sat",
    "ces_n", "ces_sum",
    "btn_n", "btn_idx", "btn_1", "btn_2", "btn_3", "btn_4", "btn_5",
    *(f"flow_{c}" for c in FLOW_CHANNELS),
    "answered_n", "answered_yes", "fcr_n", "fcr_yes",
    "wait_n", "wait_ds", "handle_n", "handle_ds", "hold_n", "hold_ds",
    "voice_utt", "voice_anger",
    "kw_greeting", "kw_thanks", "kw_farewell", "kw_escalation", "kw_profanity",
    "enc_n", "enc_greeting", "enc_thanks", "enc_farewell", "enc_full",
    "enc_greet_rated", "enc_greet_rating", "enc_nogreet_rated", "enc_nogreet_rating",
)
COL = {name: i for i, name in enumerate(FIXED)}
FLOW_COLS = tuple(COL[f"flow_{c}"] for c in FLOW_CHANNELS)

# The per-staff / per-touchpoint day table keeps the feedback columns only.
DIM = (
    "nps_promoters", "nps_passives", "nps_detractors",
    "csat_n", "csat_sat", "ces_n", "ces_sum",
    "btn_n", "btn_idx", "btn_1", "btn_2", "btn_3", "btn_4", "btn_5",
    "csi_n", "csi_sum",
)
DIM_COL = {name: i for i, name in enumerate(DIM)}

# ring lengths cover the longest window each table serves (``stream.windows``)
MINUTE_ROWS = 2 * LAST_HOUR_MINUTES  # the 1h window, with room for late events: 120
HOUR_ROWS = HOUR_WINDOWS["30d"] + 24  # 30d windows and the 4-week profile: 744
DAY_ROWS = DAY_WINDOWS["30d"] + 2  # staff / touchpoint breakdowns in local days: 32
assert HOUR_ROWS > PROFILE_HOURS
