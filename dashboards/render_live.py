"""HTML of the wall's operational tiles (pure): header, flow, incidents, alert cards,
voice and the leaderboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from html import escape
from urllib.parse import urlencode

from dashboards import fmt
from dashboards.alertview import AlertCard
from dashboards.board import BoardRow
from dashboards.flowview import Heatmap, channel_mix, vs_usual
from dashboards.i18n import label, t
from dashboards.incidents import IncidentRow
from dashboards.render import win
from dashboards.theme import heat_colour
from dashboards.voiceview import Standard, VoiceSummary
from stream.readmodel import FlowResult

INCIDENTS_SHOWN = 11
Names = Mapping[str, str]


def wall_href(scope: str, lang: str) -> str:
    """``./wall?scope=..&lang=..``: no token (the login cookie says who is looking)."""
    return escape(f'./wall?{urlencode({"scope": scope, "lang": lang})}')


def wall_link(scope: str, lang: str, text: str) -> str:
    return f'<a href="{wall_href(scope, lang)}">{escape(text)}</a>'


def banner(text: str) -> str:
    """A notice across the page; ``text`` may come from the address or the server, so it is
    always escaped."""
    return f'<div class="banner">{escape(text)}</div>'


def header(title: str, kind: str, nav: Sequence[tuple[str, str]], status: tuple[str, str],
           clock: str, scope: str, lang: str) -> str:
    """Scope name, where to go from here, the connection state (always visible), the time."""
    links = "".join(wall_link(target, lang, text) for target, text in nav)
    other = "en" if lang == "ru" else "ru"
    tone, text = status
    return (f'<div class="hdr"><span class="title">{escape(title)}</span>'
            f'<span class="kind">{escape(kind)}</span><span class="nav">{links}</span>'
            f'<span class="conn {tone}" data-k="conn" data-v="{tone}">● {escape(text)}</span>'
            f'<span class="clock">{escape(clock)}</span>'
            f'<a href="{wall_href(scope, other)}" class="kind" '
            f'data-k="lang">{other.upper()}</a></div>')


def flow(today: FlowResult, heat: Heatmap, lang: str) -> str:
    """This hour against the usual, the channel mix today, and the hour x weekday map."""
    ratio, tone = vs_usual(today.this_hour, today.usual_this_hour)
    usual = fmt.decimal(today.usual_this_hour, 0) if today.usual_this_hour is not None else fmt.DASH
    times = f"×{ratio:.1f}" if ratio is not None else ""
    mix = "".join(
        f'<tr><td class="grow2">{escape(label(lang, "ch", ch))}</td><td style="width:40%">'
        f'<div class="meter">'
        f'<div style="width:{share * 100:.1f}%;background:#4aa3ff"></div></div></td>'
        f'<td class="n">{fmt.pct(share)}</td><td class="n">{fmt.count(n)}</td></tr>'
        for ch, n, share in channel_mix(today.by_channel)[:4])
    days = t(lang, "weekdays").split()
    cells = ['<div></div>'] + [f'<div>{h if h % 3 == 0 else ""}</div>' for h in range(24)]
    for d, row in enumerate(heat.rows):
        cells.append(f'<div>{escape(days[d])}</div>')
        cells += [f'<div class="{"now" if c.now else ""}" style="background:{heat_colour(c.level)}"'
                  f' title="{c.value:.1f}"></div>' for c in row]
    extra = (f'{t(lang, "answers")}: {fmt.pct(today.answered_share)} · FCR {fmt.pct(today.fcr)}'
             if today.answered_share is not None or today.fcr is not None else "")
    return (f'<div class="card" data-k="flow" data-v="{today.this_hour}">'
            f'<div class="h"><b>{t(lang, "flow")}</b><span class="win">'
            f'{escape(win(lang, "today", today.contacts))}</span></div>'
            f'<div class="pair" style="align-items:flex-start"><div style="flex:0 0 170px">'
            f'<div class="sub">{t(lang, "this_hour")}</div>'
            f'<div class="mid {tone}" data-k="this-hour">{fmt.count(today.this_hour)}</div>'
            f'<div class="sub">{t(lang, "usual")} <b>{usual}</b> '
            f'<span class="{tone}">{times}</span>'
            f'</div></div><table style="flex:1 1 260px">{mix}</table></div>'
            f'<div class="sub">{extra}</div>'
            f'<div class="sub">{t(lang, "heatmap")}</div>'
            f'<div class="heat">{"".join(cells)}</div></div>')


def incidents(rows: Sequence[IncidentRow], open_n: int, breached: int, names: Names,
              show_location: bool, lang: str,
              href: Callable[[IncidentRow], str] | None = None) -> str:
    """Open incidents, most urgent first, with live countdowns; breached in red. With
    ``href`` each row opens its case card (``dashboards.casepage``)."""
    head = (f'<div class="h"><b>{t(lang, "incidents")}</b><span class="win">{t(lang, "open")} '
            f'<b data-k="open" data-v="{open_n}">{open_n}</b> · <span class="bad">'
            f'{t(lang, "breached")} <b data-k="breached" data-v="{breached}">{breached}</b>'
            f'</span></span></div>')
    if not rows:
        return f'<div class="card" data-k="incidents">{head}<div class="none">' \
               f'{t(lang, "no_incidents")}</div></div>'
    body = []
    for r in rows[:INCIDENTS_SHOWN]:
        cls = "breach" if r.breached else ("urgent" if r.tone == "warn" else "")
        left = (f'{fmt.MINUS}{fmt.duration(-r.remaining_ms)}' if r.remaining_ms < 0
                else fmt.duration(r.remaining_ms))
        tags = (f'<span class="tag bad">{t(lang, "problem")}</span> ' if r.problem else "")
        if r.breached and r.remaining_ms >= 0:  # a deadline already missed (e.g. the transfer)
            tags += '<span class="tag bad">SLA</span> '
        if r.severity in ("high", "critical"):
            tags += f'<span class="tag">{escape(r.severity)}</span> '
        where = (f'<td class="grow2 loc">{escape(names.get(r.location, r.location))}</td>'
                 if show_location else "")
        what = f'{tags}{escape(label(lang, "cat", r.category))}'
        if href is not None:  # the row opens the case card
            what = f'<a class="case-link" href="{href(r)}">{what}</a>'
        body.append(f'<tr class="{cls}" data-incident="{escape(r.incident)}">{where}'
                    f'<td class="{"grow2" if show_location else "grow"}">{what}</td>'
                    f'<td class="n" data-k="countdown">{left}</td></tr>')
    more = len(rows) - INCIDENTS_SHOWN
    tail = f'<div class="sub">+{more}</div>' if more > 0 else ""
    return f'<div class="card" data-k="incidents">{head}<table>{"".join(body)}</table>{tail}</div>'


def alert_card(card: AlertCard, names: Names, tz: dt.tzinfo, lang: str, full: bool = True) -> str:
    """One alert: severity, the event, where, since when, the value against the threshold;
    ``full`` adds the playbook's tasks and actions side by side (the top alert of a page)."""
    a, pb = card.alert, card.playbook
    title = pb.event if pb is not None else a.rule
    where = names.get(card.location, card.location) if card.location else a.scope
    value = ("" if a.value is None or a.threshold is None
             else f" · {a.value:.3g} {a.op} {a.threshold:g}")
    since = fmt.clock(a.starts_ms or a.active_ms, tz)
    sev = {"critical": "tag bad", "info": "tag info"}.get(a.severity, "tag")
    status = t(lang, a.status) if a.status in ("firing", "pending") else a.status
    lines = [f'<div class="t"><span class="{sev}">{escape(t(lang, "sev_" + a.severity))}</span> '
             f'{escape(title)}</div><div class="sub">{escape(where)} · {escape(status)} '
             f'{t(lang, "since")} {since}{escape(value)}</div>']
    if full and pb is not None and (pb.tasks or pb.actions):
        cols = "".join(
            f'<div class="pb" style="flex:1"><b>{t(lang, key)}</b><ul>'
            f'{"".join(f"<li>{escape(x)}</li>" for x in items[:3])}</ul></div>'
            for key, items in (("tasks", pb.tasks), ("actions", pb.actions)) if items)
        lines.append(f'<div class="pbs">{cols}</div>')
    if a.acknowledged is not None:
        ack = a.acknowledged
        lines.append(f'<div class="sub good" data-k="acked">✔ {t(lang, "acked_by")} '
                     f'{escape(ack.comment or ack.by)} · {fmt.clock(ack.at_ms, tz)}</div>')
    cls = f'alert {escape(a.severity)}{"" if full else " compact"}'
    return f'<div class="{cls}" data-alert="{escape(a.id)}">{"".join(lines)}</div>'


def standard_line(std: Standard, lang: str, min_sample: int) -> str:
    """Service-standard compliance over the day's encounters (or the phrases heard live)."""
    if std.encounters == 0:
        parts = [f'{t(lang, i.name)} <b>×{i.heard}</b>' for i in std.items if i.name != "all"]
        return f'{t(lang, "standard")}: {" · ".join(parts)}'
    if std.few:
        return (f'{t(lang, "standard")}: <span class="warn">'
                f'{escape(t(lang, "few_enc", n=std.encounters, min=min_sample))}</span>')
    parts = [f'{t(lang, i.name)} <b class="{_share_tone(i.share)}">{fmt.pct(i.share)}</b>'
             for i in std.items]
    rating = ""
    if std.rating_with is not None and std.rating_without is not None:
        rating = (f'<br>{t(lang, "rating_greeting")} <b>{std.rating_with * 100:.0f}</b> / '
                  f'{t(lang, "rating_no_greeting")} <b>{std.rating_without * 100:.0f}</b>')
    return (f'{t(lang, "standard")} ({t(lang, "encounters")} {std.encounters}): '
            f'{" · ".join(parts)}{rating}')


def _share_tone(share: float | None) -> str:
    if share is None:
        return "muted"
    return "good" if share >= 0.9 else "warn" if share >= 0.7 else "bad"


def voice(summary: VoiceSummary, std: Standard, names: Names, show_location: bool,
          tz: dt.tzinfo, lang: str, min_sample: int) -> str:
    """Anger meters per microphone, service-standard compliance, the keyword feed."""
    head = (f'<div class="h"><b>{t(lang, "voice")}</b><span class="win">{len(summary.mics)} mic'
            f'</span></div>')
    if not summary.mics and std.encounters == 0:
        return (f'<div class="card" data-k="voice">{head}'
                f'<div class="none">{t(lang, "no_mics")}</div></div>')
    meters = []
    for m in summary.mics[:4]:
        tone = "#ff5252" if m.anger >= 0.6 else "#f5b041" if m.anger >= 0.3 else "#2ecc71"
        name = f"{names.get(m.location, m.location)} · {m.mic}" if show_location else m.mic
        meters.append(f'<div class="mic" data-mic="{escape(m.mic)}"><span class="nm">{escape(name)}'
                      f'</span><div class="meter"><div style="width:{m.anger * 100:.0f}%;'
                      f'background:{tone}"></div></div>'
                      f'<span class="v">{m.anger * 100:.0f}</span></div>')
    hits = "".join(f'<tr><td style="width:70px">{fmt.clock(h.ts_ms, tz)}</td>'
                   f'<td class="{"bad" if h.angry else ""}">{escape(h.word)}</td>'
                   f'<td class="muted">{escape(label(lang, "kw", h.category))}</td></tr>'
                   for h in summary.hits[:4])
    meters_html = (f'<div class="sub">{t(lang, "anger")}</div>{"".join(meters)}' if meters
                   else f'<div class="none">{t(lang, "no_mics")}</div>')
    standard = standard_line(std, lang, min_sample)
    keywords = f'<div class="sub">{t(lang, "keywords")}</div><table>{hits}</table>' if hits else ""
    return (f'<div class="card" data-k="voice">{head}{meters_html}'
            f'<div class="sub" style="margin:6px 0" data-k="standard">{standard}'
            f'</div>{keywords}</div>')


def board(rows: Sequence[BoardRow], lang: str) -> str:
    """Locations worst first; each name leads to that location's wall."""
    body = []
    for i, r in enumerate(rows, 1):
        ci = (f' title="95 %: {fmt.signed(r.nps_interval[0])}…{fmt.signed(r.nps_interval[1])}"'
              if r.nps_interval is not None else "")
        nps = (f'<span class="{r.nps.tone}"{ci}>{escape(r.nps.text)}</span>' if r.nps.state == "ok"
               else f'<span class="muted{" few-n" if r.nps.state == "few" else ""}">'
               f'{t(lang, "few") if r.nps.state == "few" else fmt.DASH}</span>')
        csat = r.csat.text if r.csat.state == "ok" else fmt.DASH
        alerts = f' <span class="tag bad">{r.alerts}</span>' if r.alerts else ""
        breached = f' <span class="bad">/{r.breached}</span>' if r.breached else ""
        body.append(f'<tr data-loc="{escape(r.location)}"><td class="n">{i}</td>'
                    f'<td class="grow">{wall_link(r.location, lang, r.name)}{alerts}</td>'
                    f'<td class="n">{nps}</td><td class="n muted">{fmt.count(r.nps.sample)}</td>'
                    f'<td class="n">{csat}</td><td class="n">{fmt.decimal(r.button_index, 0)}</td>'
                    f'<td class="n">{r.open_incidents}{breached}</td></tr>')
    head = (f'<tr><th></th><th></th><th class="n">NPS</th><th class="n">n</th>'
            f'<th class="n">CSAT</th><th class="n">{t(lang, "index")}</th>'
            f'<th class="n">{t(lang, "open")}</th></tr>')
    return (f'<div class="card" data-k="board"><div class="h"><b>{t(lang, "leaderboard")}</b>'
            f'<span class="win">{t(lang, "win_today")}</span></div>'
            f'<table>{head}{"".join(body)}</table></div>')
