"""The case page of the wall: ``/case?location=..&incident=..`` (the incidents tile links
here). One case's card (``dashboards.casecard``) with assign, comment, resolve and reopen.

The card follows the case live: the shared feed carries ``incidents:{location}`` (open
cases), and each change -- or a step taken here -- refreshes the case over HTTP
(``/api/incidents``, which also has resolved ones). Actions go through ``CaseClient`` on
behalf of the viewer (see ``dashboards.caseclient``). The controls are built once with the
page, then only shown, hidden and enabled (no Bokeh model is created after load). One
column, widgets stretching to the width: the same page works on a 390 px phone.
"""

from __future__ import annotations

import contextlib
import logging
from html import escape
from typing import Any, cast

import panel as pn
from panel.io.document import hold
from panel.io.state import set_curdoc
from panel.viewable import Viewer

from dashboards.casecard import CARD_CSS, case_card, texts
from dashboards.caseclient import CaseClient, CaseError
from dashboards.render_live import wall_href
from dashboards.theme import BUTTON_CSS, CSS, INPUT_CSS
from dashboards.widgets import set_html
from stream.clock import wall_ms
from stream.readmodel import IncidentView

log = logging.getLogger("cxpulse.dashboards")
_WORDS = {
    "ru": {"assign": "Назначить", "comment": "Комментировать", "resolve": "Решено",
           "reopen": "Открыть снова", "who": "Кому (имя или id сотрудника)",
           "staff": "Сотрудники точки", "note": "Комментарий", "missing": "Обращение не найдено",
           "done": "Готово: {a}", "failed": "Не получилось: {e}", "need_name": "Укажите, кому",
           "need_text": "Напишите комментарий"},
    "en": {"assign": "Assign", "comment": "Comment", "resolve": "Resolve",
           "reopen": "Reopen", "who": "To (a name or a staff id)", "staff": "Staff of the location",
           "note": "Comment", "missing": "No such case", "done": "Done: {a}",
           "failed": "Failed: {e}", "need_name": "Say to whom", "need_text": "Write a comment"},
}


class CasePage(Viewer):
    """One browser session's case card."""

    def __init__(self, ctx: Any, location: str, incident: str, lang: str, *, viewer: str | None,
                 back: str) -> None:
        super().__init__()
        self.ctx, self.location, self.incident, self.lang = ctx, location, incident, lang
        self.words = texts(lang) | _WORDS["en" if lang == "en" else "ru"]
        self.client = CaseClient(ctx.feed.http, viewer)
        self.tz = ctx.cache.geo.timezone(location)
        self.place = ctx.cache.geo.name(location, location)
        self.view: IncidentView | None = None
        self.topic = f"incidents:{location}"
        self._build(wall_href(back, lang))
        self.doc = pn.state.curdoc
        ctx.feed.want([self.topic])
        ctx.cache.listen(self.on_change)
        pn.state.on_session_destroyed(lambda _: ctx.cache.unlisten(self.on_change))
        self.periodic = pn.state.add_periodic_callback(self._tick, period=1000)
        pn.state.onload(self._load)

    # -- layout ----------------------------------------------------------------------------

    def _build(self, back_href: str) -> None:
        w, css = self.words, [CSS, CARD_CSS]
        self.back = pn.pane.HTML(f'<a href="{back_href}" data-k="back">{w["back"]}</a>',
                                 stylesheets=css, sizing_mode="stretch_width", margin=(6, 8))
        self.card = pn.pane.HTML('<div class="case"></div>', stylesheets=css,
                                 sizing_mode="stretch_width", margin=(0, 4))
        self.message = pn.pane.HTML("", stylesheets=css, sizing_mode="stretch_width",
                                    visible=False, margin=(0, 8))
        field = {"stylesheets": [INPUT_CSS], "sizing_mode": "stretch_width", "margin": (4, 8)}
        self.assignee = pn.widgets.TextInput(name=w["who"], placeholder="cs-07", **field)
        self.staff = pn.widgets.Select(name=w["staff"], options=[""], visible=False, **field)
        self.staff.param.watch(self._picked, "value")
        self.note = pn.widgets.TextAreaInput(name=w["note"], rows=3, max_length=4000, **field)
        self.buttons = {a: pn.widgets.Button(label=w[a], color="primary", height=46, width=200,
                                             stylesheets=[BUTTON_CSS], margin=(6, 8))
                        for a in ("assign", "comment", "resolve", "reopen")}
        for action, button in self.buttons.items():
            button.on_click(self._handler(action))
        self.controls = pn.Column(
            self.assignee, self.staff, self.note, pn.FlexBox(*self.buttons.values()),
            sizing_mode="stretch_width", margin=0,
            styles={"background": "#141b24", "border-radius": "10px", "max-width": "980px"})
        self.layout = pn.Column(self.back, self.card, self.message, self.controls,
                                sizing_mode="stretch_width", margin=(0, 4),
                                styles={"max-width": "1000px", "margin": "0 auto"})

    def __panel__(self) -> pn.Column:
        return self.layout

    # -- data ------------------------------------------------------------------------------

    async def _load(self) -> None:
        staff = await self.client.staff(self.location)
        self.staff.options = ["", *staff]
        await self.refresh()

    async def refresh(self) -> None:
        try:
            self.view = await self.client.case(self.location, self.incident)
        except CaseError as exc:
            self._say(self.words["failed"].format(e=exc), "bad")
        self._render()

    def on_change(self, key: str) -> None:
        """The feed's cache changed (called on the event loop): refresh on our topic."""
        if key == self.topic and self.doc is not None:
            # Bokeh runs a coroutine callback under the document's lock (its stub says sync)
            self.doc.add_next_tick_callback(cast(Any, self._refresh_held))

    async def _refresh_held(self) -> None:
        await self.refresh()

    def _tick(self) -> None:
        self._render()

    def _render(self) -> None:
        v = self.view
        if v is None:
            set_html(self.card, f'<div class="case"><div class="banner">{self.words["missing"]}'
                                '</div></div>')
            self.controls.visible = False
            return
        html = case_card(v, self.place, self.tz, wall_ms(), self.lang)
        if self.doc is not None and pn.state.curdoc is not self.doc:
            with set_curdoc(self.doc), hold(self.doc):
                self._show(v, html)
        else:
            self._show(v, html)

    def _show(self, v: IncidentView, html: str) -> None:
        set_html(self.card, html)
        self.controls.visible = True
        resolved = v.status == "resolved"
        for action in ("assign", "comment", "resolve"):
            self.buttons[action].visible = not resolved
        self.buttons["reopen"].visible = resolved
        self.assignee.visible = not resolved
        self.staff.visible = not resolved and len(self.staff.options) > 1

    # -- actions ---------------------------------------------------------------------------

    def _picked(self, event: Any) -> None:
        if event.new:
            self.assignee.value = event.new

    def _handler(self, action: str) -> Any:
        async def clicked(_: Any) -> None:
            await self.act(action)
        return clicked

    async def act(self, action: str) -> None:
        body: dict[str, Any] = {}
        name, note = (self.assignee.value or "").strip(), (self.note.value or "").strip()
        if action == "assign":
            if not name:
                self._say(self.words["need_name"], "bad")
                return
            body["assignee"] = name
        if action == "comment" and not note:
            self._say(self.words["need_text"], "bad")
            return
        if note and action != "assign":
            body["text"] = note
        for button in self.buttons.values():
            button.disabled = True
        try:
            await self.client.act(self.location, self.incident, action, body)
            self._say(self.words["done"].format(a=self.words[action]), "good")
            if action != "assign":
                self.note.value = ""
        except CaseError as exc:
            self._say(self.words["failed"].format(e=exc), "bad")
        finally:
            for button in self.buttons.values():
                button.disabled = False
        with contextlib.suppress(CaseError):
            await self.refresh()

    def _say(self, text: str, tone: str) -> None:
        set_html(self.message, f'<div class="{tone}" data-k="message" style="font-size:19px">'
                               f'{escape(text)}</div>')
        self.message.visible = True
