"""Thin Panel pieces of the wall: HTML panes with the theme, the NPS sparkline, and the
alerts list with its acknowledge buttons."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Awaitable, Callable, Sequence
from html import escape
from typing import Any

import panel as pn
from panel.viewable import Viewer

from dashboards import render_live
from dashboards.alertview import AlertCard
from dashboards.i18n import t
from dashboards.theme import ACCENT, BUTTON_CSS, CARD, CSS, GOOD, INPUT_CSS, MUTED

# a tile's pane fills its grid cell, and its card the pane (the tiles of a row line up)
TILE_CSS = ":host { height: 100%; } :host > div { height: 100%; }"
ALERTS_SHOWN = 2  # the first with its playbook, the next one compact
Acknowledge = Callable[[str, str], Awaitable[None]]


def html(height: int | None = None, width: int | None = None, cls: str = "",
         **kw: Any) -> pn.pane.HTML:
    """An HTML pane carrying the wall's stylesheet (each pane has its own shadow root);
    ``cls``: the grid class of a wall tile (``theme.GRID_CSS``)."""
    sizing = "stretch_width" if width is None else "fixed"
    return pn.pane.HTML("", height=height, width=width, sizing_mode=sizing,
                        stylesheets=[CSS, TILE_CSS], margin=(4, 5),
                        css_classes=cls.split(), **kw)


def set_html(pane: pn.pane.HTML, text: str) -> bool:
    """Push new HTML only when it changed (every push is a websocket message)."""
    if pane.object == text:
        return False
    pane.object = text
    return True


def y_bounds(ys: Sequence[float], target: float, pad: float = 3.0) -> tuple[float, float]:
    """A y range holding the points and the target line, at least 10 points tall."""
    low, high = min([*ys, target]) - pad, max([*ys, target]) + pad
    if high - low < 10:
        mid = (high + low) / 2
        low, high = mid - 5, mid + 5
    return low, high


def nice_ticks(low: float, high: float, most: int = 3) -> list[float]:
    """At most ``most`` round values (multiples of 5, 10, 20, ...) inside (low, high)."""
    for step in (5, 10, 20, 25, 50, 100):
        first = math.ceil(low / step) * step
        ticks = [float(v) for v in range(int(first), int(high) + 1, step) if low < v < high]
        if len(ticks) <= most:
            return ticks
    return []


def sparkline_svg(points: Sequence[tuple[int, float]], target: float, width: int,
                  height: int, caption: str = "") -> str:
    """The NPS trend: the line and the dashed target as inline SVG stretched to the pane's
    width (strokes keep their width), the round values on the left, ``caption`` (what the
    line spans) and the last point as HTML over it, so text is never stretched on a
    narrow screen. Coordinates are in a ``width`` x ``height`` box."""
    left, pad = 34, 6
    ys = [p[1] for p in points]
    low, high = y_bounds(ys, target)
    x0 = points[0][0] if points else 0
    span = max((points[-1][0] - x0) if points else 0, 1)

    def sx(ts: int) -> float:
        return left + (width - left - pad) * ((ts - x0) / span if len(points) > 1 else 0.5)

    def sy(v: float) -> float:
        return pad + (height - 2 * pad) * (high - v) / (high - low)

    keep = 'vector-effect="non-scaling-stroke"'
    parts = [f'<div style="position:relative;height:{height}px">'
             f'<svg class="spark" viewBox="0 0 {width} {height}" width="100%" height="{height}" '
             'preserveAspectRatio="none" role="img" style="display:block">',
             f'<line x1="{left}" x2="{width - pad}" y1="{sy(target):.1f}" '
             f'y2="{sy(target):.1f}" stroke="{GOOD}" stroke-width="2" stroke-dasharray="6 5" '
             f'{keep}/>']
    if points:
        xy = " ".join(f"{sx(ts):.1f},{sy(v):.1f}" for ts, v in points)
        parts.append(f'<polyline points="{xy}" fill="none" stroke="{ACCENT}" stroke-width="4" '
                     f'stroke-linejoin="round" stroke-linecap="round" {keep}/>')
    parts.append("</svg>")
    text = f"position:absolute;color:{MUTED};line-height:1;white-space:nowrap"
    parts += [f'<span style="{text};left:0;top:{sy(v) - 8:.0f}px;font-size:15px">{v:g}</span>'
              for v in nice_ticks(low, high)]
    if caption:
        parts.append(f'<span style="{text};right:{pad}px;top:0;font-size:14px">'
                     f'{escape(caption)}</span>')
    if points:
        last_ts, last_v = points[-1]
        parts.append(f'<span class="dot" style="position:absolute;width:10px;height:10px;'
                     f'border-radius:50%;background:{ACCENT};'
                     f'left:calc({100 * sx(last_ts) / width:.2f}% - 5px);'
                     f'top:{sy(last_v) - 5:.0f}px"></span>')
    parts.append("</div>")
    return "".join(parts)


class Sparkline:
    """The NPS card's trend with the target as a dashed line, drawn as SVG in an HTML pane
    (a canvas would measure itself wrongly on a scaled page). The wall gives it the
    archive's days with today's live value last (``trendview.nps_spark``), or, with no
    archive, the live 1-hour NPS of the last hour (``Cache.trend_since``)."""

    def __init__(self, target: float, height: int = 80, width: int = 544) -> None:
        self.target = target
        self.width, self.height = width, height
        self.points: list[tuple[int, float]] = []
        self.pane = pn.pane.HTML(sparkline_svg([], target, width, height), height=height,
                                 sizing_mode="stretch_width", margin=(0, 8))

    def show(self, points: Sequence[tuple[int, float]], caption: str = "") -> bool:
        """Draw ``points``; False when nothing changed (no message sent)."""
        self.points = list(points)
        return set_html(self.pane, sparkline_svg(self.points, self.target, self.width,
                                                 self.height, caption))


class AlertSlot:
    """One fixed place for an alert card: its HTML and its acknowledge button. Slots are
    built with the page and only shown, hidden and refilled, so no Bokeh model is ever
    created after the page loaded (a patch then never refers to a model the browser has
    not seen)."""

    def __init__(self, lang: str, on_ack: Callable[[AlertSlot], Awaitable[None]]) -> None:
        self.alert_id: str | None = None
        self.pane = html()
        self.button = pn.widgets.Button(label=t(lang, "ack"), width=170, height=46,
                                        color="primary", stylesheets=[BUTTON_CSS], margin=(8, 10))

        async def clicked(_: Any) -> None:
            await on_ack(self)

        self.button.on_click(clicked)
        self.pane.styles = {"flex": "1 1 300px", "min-width": "0"}
        self.row = pn.FlexBox(self.pane, self.button, flex_wrap="wrap", sizing_mode="stretch_width",
                              margin=0, visible=False, align_items="flex-start")

    def show(self, alert_id: str, text: str, acked: bool, lang: str) -> None:
        self.alert_id = alert_id
        set_html(self.pane, text)
        self.button.disabled = acked
        self.button.label = t(lang, "acked" if acked else "ack")
        self.row.visible = True

    def hide(self) -> None:
        self.alert_id = None
        self.row.visible = False


class AlertsPanel(Viewer):
    """Live alerts of a page: a card per alert with its playbook and an acknowledge button;
    the supervisor's name (asked once, kept for the session) goes with every ack."""

    def __init__(self, lang: str, who: str, acknowledge: Acknowledge,
                 css_classes: Sequence[str] = ()) -> None:
        super().__init__()
        self.lang = lang
        self.acknowledge = acknowledge
        self.who = pn.widgets.TextInput(value=who, placeholder=t(lang, "who_placeholder"),
                                        width=260, height=36, stylesheets=[INPUT_CSS],
                                        margin=(0, 10))
        self.head = html(height=34, styles={"flex": "1 1 220px", "min-width": "0"})
        self.message = html(height=28, visible=False)
        self.empty = html()
        set_html(self.empty,
                 f'<div class="none" style="padding:0 10px">{t(lang, "no_alerts")}</div>')
        self.slots = [AlertSlot(lang, self._ack) for _ in range(ALERTS_SHOWN)]
        self.layout = pn.Column(
            pn.FlexBox(self.head, self.who, flex_wrap="wrap", sizing_mode="stretch_width",
                       margin=(4, 0, 0, 0)),
            self.message, self.empty, *(slot.row for slot in self.slots),
            sizing_mode="stretch_width", css_classes=list(css_classes), margin=(4, 5),
            styles={"background": CARD, "border-radius": "10px", "overflow": "hidden"})

    def __panel__(self) -> pn.Column:
        return self.layout

    async def _ack(self, slot: AlertSlot) -> None:
        if slot.alert_id is None:
            return
        slot.button.disabled = True
        try:
            await self.acknowledge(slot.alert_id, (self.who.value or "").strip())
            self.message.visible = False
        except Exception as exc:  # noqa: BLE001 - shown to the supervisor, who can retry
            slot.button.disabled = False
            text = escape(t(self.lang, "ack_failed", e=exc))  # the server's text, as text
            set_html(self.message, f'<div class="bad sub">{text}</div>')
            self.message.visible = True

    def update(self, cards: Sequence[AlertCard], names: dict[str, str], tz: dt.tzinfo) -> None:
        more = len(cards) - ALERTS_SHOWN
        count = f'<b data-k="alerts" data-v="{len(cards)}">{len(cards)}</b>' + \
            (f' <span class="muted">(+{more} ↓)</span>' if more > 0 else "")
        set_html(self.head, f'<div class="h" style="padding:4px 8px"><b>{t(self.lang, "alerts")}'
                            f'</b><span class="win">{count}</span></div>')
        for i, slot in enumerate(self.slots):
            if i < len(cards):
                card = cards[i]
                body = render_live.alert_card(card, names, tz, self.lang, full=i == 0)
                slot.show(card.alert.id, body, card.alert.acknowledged is not None, self.lang)
            else:
                slot.hide()
        self.empty.visible = not cards
