"""The wall's dark theme: one stylesheet given to every pane (Panel renders each pane in
its own shadow root, so page-level CSS does not reach inside), sized to be read from 3 m
on a 1920x1080 screen. Only local fonts: the machine may be offline."""

from __future__ import annotations

BG = "#0b0f14"
CARD = "#141b24"
TEXT = "#e8eef4"
MUTED = "#93a1ae"
GOOD = "#2ecc71"
WARN = "#f5b041"
BAD = "#ff5252"
ACCENT = "#4aa3ff"
FONT = '"DejaVu Sans Condensed", "Liberation Sans Narrow", "DejaVu Sans", sans-serif'

PAGE_CSS = f"""
html, body {{ background: {BG}; color: {TEXT}; margin: 0; font-family: {FONT}; }}
body {{ overflow-x: hidden; }}
"""

# The wall's tiles on one CSS grid (the stylesheet of the Panel column holding them; each
# tile's host element carries its ``t-*`` class). A screen of 1300 px and more gets the
# desktop wall (20 columns, rows as the tiles read across the room); a tablet two columns;
# a phone one, with the alerts and the open incidents (the cases) first. Tiles are as tall
# as their content (the tiles of one desktop row as tall as the tallest): nothing is cut.
PHONE_MAX, TABLET_MAX = 699, 1299
GRID_CSS = f"""
:host {{ display: grid !important; gap: 8px; align-items: stretch; width: 100%;
         grid-template-columns: repeat(20, minmax(0, 1fr)); }}
:host > * {{ min-width: 0; margin: 0 !important; width: auto !important; }}
.t-nps {{ grid-column: span 5; height: auto !important; }} .t-nr {{ grid-column: span 4; }}
.t-csat, .t-ces {{ grid-column: span 3; }} .t-buttons {{ grid-column: span 5; }}
.t-csi, .t-flow {{ grid-column: span 7; }} .t-incidents {{ grid-column: span 6; }}
.t-alerts {{ grid-column: span 8; }} .t-voice {{ grid-column: span 5; }}
.t-board {{ grid-column: span 7; }}
.t-alerts.solo {{ grid-column: span 11; }} .t-voice.solo {{ grid-column: span 9; }}
.t-trends, .t-comments {{ grid-column: 1 / -1; }}
@media (max-width: 1699px) {{
  .t-flow {{ grid-column: span 6; }} .t-incidents {{ grid-column: span 7; }}
  .t-alerts {{ grid-column: span 7; }} .t-board {{ grid-column: span 8; }}
}}
@media (max-width: {TABLET_MAX}px) {{
  :host {{ grid-template-columns: repeat(2, minmax(0, 1fr)); }}
  :host > * {{ grid-column: span 1 !important; }}
  .t-alerts, .t-incidents, .t-nps, .t-csi, .t-flow, .t-voice, .t-board, .t-trends,
  .t-comments {{ grid-column: 1 / -1 !important; }}
  .t-alerts {{ order: -3; }} .t-incidents {{ order: -2; }}
}}
@media (max-width: {PHONE_MAX}px) {{
  :host {{ grid-template-columns: minmax(0, 1fr); gap: 6px; }}
  :host > * {{ grid-column: 1 / -1 !important; }}
  .t-board {{ order: -1; }}
}}
"""

CSS = f"""
html, body {{ background: {BG}; color: {TEXT}; margin: 0; font-family: {FONT}; }}
body {{ overflow-x: hidden; }}
/* the wall is laid out for 1920 px: a smaller screen shows it scaled down, not clipped */
@media (max-width: 1880px) {{ body {{ zoom: 0.9; }} }}
@media (max-width: 1700px) {{ body {{ zoom: 0.8; }} }}
@media (max-width: 1520px) {{ body {{ zoom: 0.7; }} }}
@media (max-width: 1320px) {{ body {{ zoom: 0.6; }} }}
"""

CSS = f"""
:host {{ font-family: {FONT}; color: {TEXT}; }}
* {{ box-sizing: border-box; }}
a {{ color: {ACCENT}; text-decoration: none; }}
.card {{ background: {CARD}; border-radius: 10px; padding: 10px 14px; height: 100%;
         overflow: hidden; }}
.h {{ font-size: 21px; color: {MUTED}; text-transform: uppercase; letter-spacing: .04em;
      display: flex; justify-content: space-between; align-items: baseline; gap: 2px 8px;
      flex-wrap: wrap; white-space: nowrap; }}
.h b {{ color: {TEXT}; font-weight: 700; white-space: normal; }}
.win {{ font-size: 17px; color: {MUTED}; text-transform: none; letter-spacing: 0; }}
.big {{ font-size: clamp(52px, 4vw, 76px); font-weight: 700; line-height: 1.0;
         margin: 2px 0; }}
.mid {{ font-size: clamp(36px, 2.6vw, 50px); font-weight: 700; line-height: 1.05; }}
.sub {{ font-size: 19px; color: {MUTED}; }}
.few {{ font-size: 24px; color: {WARN}; line-height: 1.2; margin: 18px 0 10px 0; }}
.none {{ font-size: 24px; color: {MUTED}; margin: 18px 0 10px 0; }}
.good {{ color: {GOOD}; }} .warn {{ color: {WARN}; }} .bad {{ color: {BAD}; }}
.neutral {{ color: {TEXT}; }} .muted {{ color: {MUTED}; }}
.pair {{ display: flex; gap: 8px 26px; align-items: flex-end; flex-wrap: wrap; }}
.pair > div {{ min-width: 0; }}
.bar {{ display: flex; height: 46px; border-radius: 6px; overflow: hidden; margin: 6px 0; }}
.bar > div {{ display: flex; align-items: center; justify-content: center; font-size: 24px;
              font-weight: 700; color: #0b0f14; min-width: 0; overflow: hidden; }}
.legend {{ display: flex; justify-content: space-between; font-size: 19px; color: {MUTED}; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ padding: 1px 6px; font-size: 19px; line-height: 1.22; text-align: left;
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
th {{ color: {MUTED}; font-weight: 400; font-size: 16px; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.f td {{ font-weight: 700; font-size: 20px; border-top: 1px solid #26313d; }}
tr.q td:first-child {{ padding-left: 18px; }}
/* a text column takes the room the numbers leave and ends in an ellipsis: a table is
   never wider than its tile, and a number is never cut */
td.grow {{ width: 100%; max-width: 0; }}
td.grow2 {{ width: 50%; max-width: 0; }}
td.grow2.loc {{ width: 36%; }}
.card[data-k=board] td.grow {{ min-width: 130px; }}
.card[data-k=board] td:has(.few-n) {{ white-space: normal; line-height: 1.0; }}
tr.weak td {{ background: rgba(255, 82, 82, .18); }}
tr.weak td:first-child {{ box-shadow: inset 4px 0 0 {BAD}; }}
tr.breach td {{ color: {BAD}; font-weight: 700; }}
tr.urgent td.n {{ color: {WARN}; }}
.tag {{ display: inline-block; border-radius: 4px; padding: 0 6px; font-size: 15px;
        font-weight: 700; color: #0b0f14; background: {WARN}; vertical-align: middle; }}
.tag.bad {{ background: {BAD}; color: #fff; }} .tag.info {{ background: {ACCENT}; }}
.heat {{ display: grid; grid-template-columns: 34px repeat(24, 1fr); gap: 2px;
         margin-top: 6px; }}
.heat div {{ height: 15px; border-radius: 2px; font-size: 12px; color: {MUTED};
             line-height: 15px; }}
.heat .now {{ outline: 2px solid {TEXT}; }}
.meter {{ height: 22px; background: #26313d; border-radius: 4px; overflow: hidden;
          flex: 1; }}
.meter > div {{ height: 100%; }}
.mic {{ display: flex; align-items: center; gap: 10px; font-size: 19px; margin: 4px 0; }}
.mic .nm {{ width: 190px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.mic .v {{ width: 52px; text-align: right; font-variant-numeric: tabular-nums; }}
.alert {{ border-left: 6px solid {WARN}; padding: 4px 10px; }}
.alert.critical {{ border-left-color: {BAD}; }}
.alert.info {{ border-left-color: {ACCENT}; }}
.alert .t {{ font-size: 21px; font-weight: 700; line-height: 1.25; }}
.alert.compact .t, .alert.compact .sub {{ white-space: nowrap; overflow: hidden;
                                          text-overflow: ellipsis; }}
.alert .pb {{ font-size: 16px; color: {TEXT}; margin-top: 2px; line-height: 1.25; }}
.alert .pb b {{ color: {MUTED}; font-weight: 400; text-transform: uppercase; font-size: 14px; }}
.alert .pb ul {{ margin: 0; padding-left: 20px; }}
.alert .pb li {{ margin: 0; }}
.pbs {{ display: flex; gap: 14px; }}
.hdr {{ display: flex; align-items: center; gap: 4px 22px; padding: 4px 6px;
         flex-wrap: wrap; }}
.hdr .title {{ font-size: 34px; font-weight: 700; white-space: nowrap; }}
.hdr .kind {{ font-size: 20px; color: {MUTED}; }}
.hdr .nav {{ font-size: 19px; flex: 1 1 200px; min-width: 0; white-space: nowrap;
             overflow: hidden; text-overflow: ellipsis; }}
.hdr .nav a {{ margin-right: 14px; }}
.hdr .clock {{ font-size: 34px; font-variant-numeric: tabular-nums; }}
.conn {{ font-size: 20px; padding: 4px 12px; border-radius: 16px; white-space: nowrap; }}
.conn.ok {{ background: rgba(46, 204, 113, .16); color: {GOOD}; }}
.conn.warn {{ background: rgba(245, 176, 65, .18); color: {WARN}; }}
.conn.bad {{ background: rgba(255, 82, 82, .22); color: {BAD}; }}
.banner {{ background: rgba(255, 82, 82, .22); color: {BAD}; font-size: 24px;
           padding: 10px 16px; border-radius: 8px; }}
@media (max-width: {TABLET_MAX}px) {{
  .hdr .title {{ font-size: 28px; }} .hdr .clock {{ font-size: 26px; }}
}}
@media (max-width: {PHONE_MAX}px) {{
  .card {{ padding: 8px 10px; }}
  .h {{ font-size: 18px; }} .win {{ font-size: 15px; }}
  td, th {{ font-size: 17px; padding: 1px 4px; }}
  .hdr {{ gap: 2px 12px; }} .hdr .title {{ font-size: 24px; white-space: normal; }}
  .hdr .nav {{ flex-basis: 100%; order: 5; white-space: normal; }}
  .pbs {{ flex-direction: column; gap: 2px; }}
  .mic .nm {{ width: 120px; }}
  .few, .none {{ font-size: 20px; margin: 10px 0 6px 0; }}
  td.grow, td.grow2 {{ white-space: normal; }}
  .card[data-k=board] td, .card[data-k=board] th {{ font-size: 15px; padding: 1px 3px; }}
  .card[data-k=board] th {{ font-size: 13px; }}
  .card[data-k=board] td.grow {{ min-width: 88px; }}
}}
"""

BUTTON_CSS = f"""
:host .bk-btn.bk-btn-primary {{ font-size: 19px; font-weight: 700; background: {ACCENT};
                 color: #06111c; border: none; border-radius: 6px; }}
:host .bk-btn.bk-btn-primary:disabled {{ background: #26313d; color: {MUTED}; opacity: 1; }}
"""

INPUT_CSS = f"""
:host input {{ font-size: 19px; background: {CARD}; color: {TEXT}; border: 1px solid #26313d; }}
:host label {{ color: {MUTED}; font-size: 16px; }}
"""


def button_colour(value: int, scale: int) -> str:
    """Loyalty-button colours from red (1) through amber to green (``scale``)."""
    palette = {2: [BAD, GOOD], 3: [BAD, WARN, GOOD], 4: [BAD, "#ff9f43", "#c9d64a", GOOD],
               5: [BAD, "#ff9f43", WARN, "#9fd65a", GOOD]}
    colours = palette.get(scale, palette[5])
    return colours[min(max(value, 1), len(colours)) - 1]


def heat_colour(level: float) -> str:
    """A blue ramp for the flow heatmap: dark (quiet) to bright (busiest)."""
    level = min(max(level, 0.0), 1.0)
    r, g, b = int(20 + 54 * level), int(32 + 131 * level), int(44 + 211 * level)
    return f"rgb({r},{g},{b})"
