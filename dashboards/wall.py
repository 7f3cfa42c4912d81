"""The supervisors' wall for one scope: a Panel ``Viewer`` that only re-renders.

The shared ``Feed`` fills the ``Cache``; the cache tells every session which key changed;
the session schedules one next-tick callback (coalescing bursts) that re-renders the tiles
depending on those keys, through the pure view and render functions. A 1 s periodic
callback moves the clock, the SLA countdowns, the voice meters and the connection state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import panel as pn
from panel.io.document import hold
from panel.io.state import set_curdoc
from panel.viewable import Viewer

from dashboards import (
    alertview,
    board,
    commentview,
    csiview,
    fmt,
    incidents,
    render,
    render_live,
    trendview,
)
from dashboards.access import Gate
from dashboards.cache import Cache
from dashboards.casecard import case_href
from dashboards.commenttopics import topics_of
from dashboards.config import WallSettings
from dashboards.feed import Feed
from dashboards.flowview import heatmap
from dashboards.history import history_of
from dashboards.i18n import t
from dashboards.scopes import page_topics
from dashboards.stats import RENDERS
from dashboards.theme import GRID_CSS
from dashboards.voiceview import standard, voice_summary
from dashboards.widgets import AlertsPanel, Sparkline, html, set_html
from stream.clock import wall_ms as now_ms
from stream.push import AlertsData, CommentsData, IncidentsData, MetricsData, VoiceData
from stream.readmodel import Metrics


@dataclass
class WallContext:
    """What every session of the process shares."""

    cfg: WallSettings
    feed: Feed
    gate: Gate

    @property
    def cache(self) -> Cache:
        return self.feed.cache




RENDER_INTERVAL_MS = 250  # the server pushes a topic at most 4x/s by default


class Wall(Viewer):
    """One browser session's wall for ``scope`` in ``lang``."""

    def __init__(self, ctx: WallContext, scope: str, lang: str, *, who: str = "",
                 viewer: str = "", **params: Any) -> None:
        super().__init__(**params)
        self.ctx, self.scope, self.lang = ctx, scope, lang
        self.viewer = viewer
        self.geo = ctx.cache.geo
        self.kind = self.geo.kind(scope)
        self.tz = self.geo.timezone(scope)
        dash = ctx.cfg.dashboards
        self.min_sample, self.nps_target = dash.min_sample, dash.nps_target
        self.csat_target = dash.csat_target
        self.texts = {(q.factor, q.id): (q.text_en if lang == "en" else q.text_ru) or q.id
                      for q in ctx.cfg.csi.questions}
        self._build(who)
        self.topics = {*page_topics(self.geo, scope), f"history:{scope}", f"comments:{scope}",
                       f"comment-topics:{scope}"}
        self.topic_names = {tp.id: (tp.name_ru, tp.name_en) for tp in ctx.cfg.comments.topics}
        self._pending: set[str] = set()
        self._scheduled = False
        self._last_render_ms = 0
        self.doc = pn.state.curdoc
        context = self.doc.session_context if self.doc is not None else None
        self.session_id = context.id if context is not None else f"local-{id(self)}"
        ctx.feed.want(page_topics(self.geo, scope))
        ctx.feed.want_profile(scope)
        history_of(ctx.feed).want(scope)
        ctx.feed.want([f"comments:{scope}"])
        topics_of(ctx.feed).want(scope)
        ctx.cache.listen(self.on_change)
        pn.state.on_session_destroyed(self._destroyed)
        self.periodic = pn.state.add_periodic_callback(self.tick, period=1000)
        self._stale = False
        self._ready = self.doc is None
        self.render(self._all_keys())
        pn.state.onload(self._on_ready)

    # -- layout --------------------------------------------------------------------------

    def _build(self, who: str) -> None:
        """The tiles on one responsive grid (``theme.GRID_CSS``): the desktop wall's rows
        from 1300 px, two columns on a tablet, one on a phone with the alerts and the
        open incidents first. No tile has a fixed size: each is as tall as its content."""
        solo = [] if self.kind != "location" else ["solo"]  # a location has no leaderboard
        self.header = html()
        self.banner = html(visible=False)
        self.nps = html()
        self.trend = Sparkline(self.nps_target)
        self.nr, self.csat, self.ces = html(cls="t-nr"), html(cls="t-csat"), html(cls="t-ces")
        self.buttons = html(cls="t-buttons")
        self.csi, self.flow = html(cls="t-csi"), html(cls="t-flow")
        self.incidents = html(cls="t-incidents")
        self.alerts = AlertsPanel(self.lang, who, self._acknowledge, ["t-alerts", *solo])
        self.voice = html(cls=" ".join(["t-voice", *solo]))
        self.board = html(cls="t-board") if self.kind != "location" else None
        self.trends = html(cls="t-trends")
        self.comments = html(cls="t-comments")
        nps_card = pn.Column(self.nps, self.trend.pane, sizing_mode="stretch_width",
                             css_classes=["t-nps"], margin=0,
                             styles={"background": "#141b24", "border-radius": "10px"})
        tiles = [nps_card, self.nr, self.csat, self.ces, self.buttons, self.csi, self.flow,
                 self.incidents, self.alerts, self.voice,
                 *([self.board] if self.board is not None else []), self.trends, self.comments]
        grid = pn.Column(*tiles, sizing_mode="stretch_width", stylesheets=[GRID_CSS],
                         margin=0)
        self.layout = pn.Column(self.header, self.banner, grid, sizing_mode="stretch_width",
                                margin=(0, 6))

    def __panel__(self) -> pn.Column:
        return self.layout

    def _destroyed(self, _: object) -> None:
        self.ctx.cache.unlisten(self.on_change)
        RENDERS.drop(self.session_id)

    # -- change notification -------------------------------------------------------------

    def on_change(self, key: str) -> None:
        """Called by the cache for every change; coalesces into one render, at most one per
        ``RENDER_INTERVAL_MS`` (a slow screen then gets fewer, fuller updates, not a queue)."""
        if key not in self.topics and key != "status" and key != f"profile:{self.scope}":
            return
        self._pending.add(key)
        if not self._scheduled and self.doc is not None:
            self._scheduled = True
            wait_ms = self._last_render_ms + RENDER_INTERVAL_MS - now_ms()
            if wait_ms > 0:
                self.doc.add_timeout_callback(self._flush, wait_ms)
            else:
                self.doc.add_next_tick_callback(self._flush)

    def _flush(self) -> None:
        keys, self._pending, self._scheduled = self._pending, set(), False
        self._render_held(keys)

    def tick(self) -> None:
        self._render_held({"tick"})

    def _render_held(self, keys: set[str]) -> None:
        """Render with the document's events held, so one render is one websocket message.
        While the browser is away (a closed tab lives on for a while, or Panel is
        reconnecting) nothing is pushed; everything is rendered again once it is back."""
        self._last_render_ms = now_ms()
        if self.doc is None:
            self.render(keys)
            return
        if not self._connected():
            self._stale = True
            return
        if self._stale:
            self._stale = False
            keys = keys | self._all_keys()
        with set_curdoc(self.doc), hold(self.doc):  # Panel applies model updates to the
            self.render(keys)                       # current document only

    def _connected(self) -> bool:
        """The browser has loaded the page (Panel drops changes made between the browser
        pulling the document and reporting it ready) and is connected right now."""
        if not self._ready:
            return False
        context = self.doc.session_context if self.doc is not None else None
        session = getattr(context, "session", None)
        return session is None or session.connection_count > 0

    def _on_ready(self) -> None:
        self._ready = True
        self._render_held({"tick"})

    def _all_keys(self) -> set[str]:
        return {"status", "alerts", "tick", *self.topics, f"profile:{self.scope}"}

    def render(self, keys: set[str]) -> None:
        own = f"metrics:{self.scope}"
        if keys & {"status", "tick", own}:
            self._header()
        if own in keys:
            self._scores()
        if own in keys or f"profile:{self.scope}" in keys:
            self._flow()
        if keys & {f"incidents:{self.scope}", "tick"}:
            self._incidents()
        if "alerts" in keys:
            self._alerts()
        if keys & {"tick", own} or any(k.startswith("voice:") for k in keys):
            self._voice()
        if f"history:{self.scope}" in keys:
            series = history_of(self.ctx.feed).series.get(self.scope, {})
            set_html(self.trends, trendview.trend_tile(series, self.lang))
            if own not in keys:
                self._spark(self._metrics("today"))
        if keys & {"tick", f"comments:{self.scope}", f"comment-topics:{self.scope}"}:
            self._comments()
        if self.board is not None and (keys & {"alerts"} or any(
                k.startswith("metrics:") and k != own for k in keys)):
            self._board()

    # -- tiles ---------------------------------------------------------------------------

    def _metrics(self, window: str) -> Metrics:
        data = self.ctx.cache.payload(f"metrics:{self.scope}")
        found = data.windows.get(window) if isinstance(data, MetricsData) else None
        return found or Metrics(scope=self.scope, window=window, start_ms=0, end_ms=0)

    def _names(self) -> dict[str, str]:
        return {p.id: p.name for p in self.geo.places.values()}

    def _header(self) -> None:
        cache, now = self.ctx.cache, now_ms()
        st = cache.status
        if st.state == "ok":
            age = cache.age_ms(f"metrics:{self.scope}", now)
            stale = age is not None and age > 3 * 60_000
            status = (("warn", t(self.lang, "stale", s=age // 1000)) if stale and age is not None
                      else ("ok", t(self.lang, "conn_ok")))
        elif st.state == "lost":
            left = max(0, ((st.retry_at_ms or now) - now + 999) // 1000)
            status = ("bad", t(self.lang, "conn_lost", s=left))
        elif st.state == "denied":
            status = ("bad", t(self.lang, "conn_denied"))
        else:
            status = ("warn", t(self.lang, "conn_connecting"))
        name = self.geo.name(self.scope, t(self.lang, "network"))
        kind = "" if self.kind == "network" else t(self.lang, self.kind)
        clock = fmt.clock(now, self.tz, seconds=True)
        set_html(self.header, render_live.header(name, kind, self._nav(), status, clock,
                                                 self.scope, self.lang))
        error = cache.errors.get(f"metrics:{self.scope}")
        self.banner.visible = error is not None
        if error is not None:  # the server's text: escaped like everything else
            set_html(self.banner, render_live.banner(f'{t(self.lang, "forbidden")}: {error[1]}'))

    def _nav(self) -> list[tuple[str, str]]:
        net = t(self.lang, "network")
        if self.kind == "network":
            return [(r, self.geo.name(r, net)) for r in self.geo.regions()]
        up, out = self.geo.parent(self.scope), []
        while up is not None:
            out.append((up, "↑ " + self.geo.name(up, net)))
            up = self.geo.parent(up)
        return out

    def _scores(self) -> None:
        h1, today = self._metrics("1h"), self._metrics("today")
        lang, ms = self.lang, self.min_sample
        set_html(self.nps, render.nps_pair(
            (fmt.nps_score(h1.nps, h1.responses, ms, self.nps_target), h1.nps),
            (fmt.nps_score(today.nps, today.responses, ms, self.nps_target), today.nps),
            self.nps_target, lang, ms))
        self._spark(today)
        nr = fmt.nps_score(today.nps_with_non_responders, today.responses, ms, self.nps_target)
        shown_rate = today.response_rate if today.visits >= ms else None  # 3 of 3 is not 100%
        rate = f'{t(lang, "response_rate")} <b class="mid" style="font-size:36px">' \
               f'{fmt.pct(shown_rate)}</b><br>{t(lang, "visits")} {fmt.count(today.visits)}'
        set_html(self.nr, render.tile("nps-nr", t(lang, "nps_nr"), "today", nr,
                                      today.nps_with_non_responders, lang, ms, rate))
        csat = fmt.csat_score(today.csat, today.csat_responses, ms, self.csat_target)
        set_html(self.csat, render.tile("csat", t(lang, "csat"), "today", csat, today.csat,
                                        lang, ms, f'{t(lang, "target")} {self.csat_target:.0f}%'))
        ces = fmt.ces_score(today.ces, today.ces_responses, ms)
        set_html(self.ces, render.tile("ces", t(lang, "ces"), "today", ces, today.ces, lang, ms,
                                       t(lang, "ces_hint")))
        b = today.buttons
        if set_html(self.buttons, render.buttons(b.shares, b.counts, b.presses, b.index, lang, ms)):
            RENDERS.record(self.session_id, b.presses, now_ms())
        factors = csiview.csi_report(today.csi, self.texts, ms)
        set_html(self.csi, render.csi(factors, today.csi.total, today.csi.answers, lang, ms))

    def _spark(self, today: Metrics) -> None:
        """The sparkline: the archive's NPS per day with today's live value last; the live
        hour only while there is no archive history (none configured, or not yet read)."""
        days = history_of(self.ctx.feed).series.get(self.scope, {}).get(("nps", "day"), [])
        if days:
            local = dt.datetime.fromtimestamp(now_ms() / 1000, self.tz).date()
            live = today.nps if today.responses >= self.min_sample else None
            points = trendview.nps_spark(days, live, local, self.min_sample)
            self.trend.show(points, t(self.lang, "spark_days", n=len(points)))
        else:
            self.trend.show(self.ctx.cache.trend_since(self.scope, 0), t(self.lang, "spark_hour"))

    def _flow(self) -> None:
        here = dt.datetime.fromtimestamp(now_ms() / 1000, self.tz)
        profile = self.ctx.cache.profiles.get(self.scope)
        heat = heatmap(profile.contacts if profile else [], here.weekday(), here.hour)
        set_html(self.flow, render_live.flow(self._metrics("today").flow, heat, self.lang))

    def _incidents(self) -> None:
        data = self.ctx.cache.payload(f"incidents:{self.scope}")
        if not isinstance(data, IncidentsData):
            data = IncidentsData(self.scope, 0, 0, [])
        rows = incidents.by_urgency(data.incidents, now_ms())
        set_html(self.incidents, render_live.incidents(
            rows, data.open, sum(r.breached for r in rows), self._names(),
            self.kind != "location", self.lang,
            href=lambda r: case_href(r.location, r.incident, self.scope, self.lang)))

    def _alerts(self) -> None:
        data = self.ctx.cache.payload("alerts")
        alerts = data.alerts if isinstance(data, AlertsData) else []
        cards = alertview.cards(alerts, self.scope, self.geo, self.lang)
        self.alerts.update(cards, self._names(), self.tz)

    def _voice(self) -> None:
        per_loc = {}
        for loc in self.geo.members(self.scope):
            data = self.ctx.cache.payload(f"voice:{loc}")
            if isinstance(data, VoiceData):
                per_loc[loc] = data.events
        summary = voice_summary(per_loc, now_ms())
        std = standard(self._metrics("today").voice, summary.hits, self.min_sample)
        set_html(self.voice, render_live.voice(summary, std, self._names(), self.kind != "location",
                                               self.tz, self.lang, self.min_sample))

    def _board(self) -> None:
        assert self.board is not None
        today: dict[str, Metrics | None] = {}
        for loc in self.geo.members(self.scope):
            data = self.ctx.cache.payload(f"metrics:{loc}")
            today[loc] = data.windows.get("today") if isinstance(data, MetricsData) else None
        data = self.ctx.cache.payload("alerts")
        counts = alertview.per_location(data.alerts) if isinstance(data, AlertsData) else {}
        rows = board.leaderboard(today, self._names(), counts, self.min_sample,
                                 self.nps_target, self.csat_target)
        set_html(self.board, render_live.board(rows, self.lang))

    def _comments(self) -> None:
        """The comments tile: the live list and the topic chart (``commentview``)."""
        data = self.ctx.cache.payload(f"comments:{self.scope}")
        items = data.comments if isinstance(data, CommentsData) else []
        error = self.ctx.cache.errors.get(f"comments:{self.scope}")
        today, week = topics_of(self.ctx.feed).periods.get(self.scope, (None, None))
        places = self._names() if self.kind != "location" else None
        set_html(self.comments, commentview.comments_tile(
            items, today, week, self.topic_names, places, self.tz, self.lang, now_ms(),
            None if error is None else t(self.lang, "no_archive") if error[0] == "not_found"
            else error[1]))

    async def _acknowledge(self, alert_id: str, who: str) -> None:
        """The server records the dashboard's token; the comment names the supervisor (typed
        on the wall, else the name of the page's token)."""
        await self.ctx.feed.acknowledge(alert_id, who or self.viewer)
