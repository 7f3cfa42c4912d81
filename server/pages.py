"""The public pages: the loyalty display (``/display/{location}?token=``) and the QR survey
(``/q/{location}``, no token, rate-limited). HTML, CSS and JS are package files under
``server/web/``, inlined into one response: no framework, no external assets.
"""

from __future__ import annotations

import functools
import html
import random
import time
import uuid
from importlib import resources
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath

from server.context import ServerContext, read
from server.errors import ApiError, msgspec_field, rejection_error
from server.i18n import STRINGS, language, question_text
from server.payloads import Reads, display_data
from server.survey import COOKIE, SurveyAnswers, SurveyError, pick_questions, survey_events
from stream.access import Principal
from stream.config import CsiQuestion

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
DISPLAY_STALE_AFTER_S = 60


@functools.cache
def asset(name: str) -> str:
    return resources.files("server").joinpath("web", name).read_text(encoding="utf-8")


def render(template: str, **values: str) -> str:
    """Fill ``{{key}}`` placeholders; values must already be escaped for their context."""
    out = asset(template)
    for key, value in values.items():
        out = out.replace("{{" + key + "}}", value)
    return out


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``."""
    return msgspec.json.encode(data).decode().replace("</", "<\\/")


def html_response(text: str, status: int = 200) -> Response[str]:
    return Response(text, status_code=status, media_type=MediaType.HTML, headers=SECURITY_HEADERS)


def message_page(lang: str, key: str, status: int) -> Response[str]:
    s = STRINGS[lang]
    body = f'<section class="done"><h2>{html.escape(s[key])}</h2></section>'
    page = render("survey.html", lang=lang, title=html.escape(s["survey_title"]), place="",
                  style=asset("survey.css"), body=body, config="{}", script="")
    return html_response(page, status)


@get("/display/{location:str}", include_in_schema=False)
async def display_page(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                       principal: NamedDependency[Principal | None], location: FromPath[str]) -> Response[str]:
    lang = language(ctx.cfg, location, request.query_params.get("lang"))
    try:
        ctx.authorize(principal, "display", location)
    except ApiError as exc:
        return message_page(lang, "unauthorized" if exc.status == 401 else "forbidden", exc.status)
    if ctx.geo.kind(location) != "location" or not ctx.core.known_scope(location):
        return message_page(lang, "not_found", 404)
    s = STRINGS[lang]
    config = {"location": location, "ws_path": "/ws", "strings": s,
              "heartbeat_s": ctx.cfg.server.ws_heartbeat_s,
              "stale_after_s": max(DISPLAY_STALE_AFTER_S, 3 * ctx.cfg.server.ws_heartbeat_s),
              "initial": await read(ctx.core, lambda: display_data(Reads(ctx.core), ctx.cfg,
                                                                   location))}
    page = render("display.html", lang=lang, title=html.escape(s["display_title"]),
                  style=asset("display.css"), script=asset("display.js"),
                  config=script_json(config))
    return html_response(page)


def _scale_buttons(low: int, high: int, tone: Any) -> str:
    return "".join(f'<button type="button" class="{tone(v)}" data-value="{v}" '
                   f'aria-pressed="false">{v}</button>' for v in range(low, high + 1))


def _nps_tone(v: int) -> str:
    return "low" if v <= 6 else "mid" if v <= 8 else "high"


def survey_form(lang: str, questions: list[CsiQuestion]) -> str:
    s = STRINGS[lang]
    e = html.escape
    parts = [
        '<form id="survey-form" novalidate>',
        f'<fieldset><legend>{e(s["nps_question"])}</legend>'
        f'<div class="scale nps" data-question="nps">{_scale_buttons(0, 10, _nps_tone)}</div>'
        f'<div class="ends"><span>{e(s["nps_low"])}</span><span>{e(s["nps_high"])}</span></div>'
        "</fieldset>",
        f'<fieldset><legend><label for="why">{e(s["why"])}</label></legend>'
        f'<textarea id="why" name="why" maxlength="2000" '
        f'placeholder="{e(s["why_placeholder"])}"></textarea></fieldset>',
    ]
    for q in questions:
        def tone(v: int, n: int = q.scale) -> str:
            r = (v - 1) / (n - 1)
            return "low" if r < 0.4 else "mid" if r < 0.6 else "high"
        parts.append(
            f'<fieldset><legend>{e(question_text(q.text_ru, q.text_en, lang))}</legend>'
            f'<div class="scale csi" data-question="{e(q.id)}">{_scale_buttons(1, q.scale, tone)}</div>'
            f'<div class="ends"><span>{e(s["csi_low"])}</span><span>{e(s["csi_high"])}</span></div>'
            "</fieldset>")
    parts.append(f'<button class="submit" type="submit" disabled>{e(s["submit"])}</button>'
                 '<p id="message" class="message" role="alert"></p></form>')
    return "".join(parts)


def _client_key(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _guard(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext], location: FromPath[str]) -> None:
    """Rate limit per client address, then the location must be a configured one."""
    now = time.time()
    key = _client_key(request)
    if not ctx.survey.rate.allow(key, now):
        wait = max(1, round(ctx.survey.rate.retry_after_s(key, now)))
        raise ApiError(429, "too many requests; try again later",
                       headers={"Retry-After": str(wait)})
    if ctx.cfg.location(location) is None:
        raise ApiError(404, f"no location {location!r}", field="location")


@get("/q/{location:str}", include_in_schema=False)
async def survey_page(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                      location: FromPath[str]) -> Response[str]:
    lang = language(ctx.cfg, location, request.query_params.get("lang"))
    try:
        _guard(request, ctx, location)
    except ApiError as exc:
        return message_page(lang, "rate_limited" if exc.status == 429 else "not_found", exc.status)
    s = STRINGS[lang]
    loc = ctx.cfg.location(location)
    wait = ctx.survey.cooldown.wait_s(request.cookies.get(COOKIE), location, time.time())
    if wait > 0:
        text = s["cooldown"].replace("{m}", str(max(1, round(wait / 60))))
        body = f'<section class="done"><h2>{html.escape(s["done_title"])}</h2><p>{html.escape(text)}</p></section>'
    else:
        questions = pick_questions(ctx.cfg.csi.questions, ctx.cfg.csi.questions_per_survey,
                                   random.SystemRandom())
        body = survey_form(lang, questions)
    page = render("survey.html", lang=lang, title=html.escape(s["survey_title"]),
                  place=html.escape(loc.name if loc and loc.name else location),
                  style=asset("survey.css"), body=body,
                  config=script_json({"strings": s}), script=asset("survey.js"))
    return html_response(page)


@post("/q/{location:str}", summary="Submit the QR survey (public, rate-limited)")
async def survey_submit(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                        location: FromPath[str]) -> Response[dict[str, str]]:
    _guard(request, ctx, location)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # a JSON body only: a cross-site <form> cannot post one without CORS
        raise ApiError(415, "send the answers as application/json", field="content-type",
                       code="unsupported_media_type")
    lang = language(ctx.cfg, location, request.query_params.get("lang"))
    now = time.time()
    wait = ctx.survey.cooldown.wait_s(request.cookies.get(COOKIE), location, now)
    if wait > 0:
        text = STRINGS[lang]["cooldown"].replace("{m}", str(max(1, round(wait / 60))))
        raise ApiError(429, text, code="cooldown", headers={"Retry-After": str(round(wait))})
    try:
        answers = msgspec.json.decode(await request.body(), type=SurveyAnswers)
    except msgspec.ValidationError as exc:
        raise ApiError(422, str(exc), field=msgspec_field(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(422, f"body is not valid JSON: {exc}") from None
    if len(answers.csi) > ctx.cfg.csi.questions_per_survey:
        raise ApiError(422, f"at most {ctx.cfg.csi.questions_per_survey} CSI answers", field="csi")
    session = uuid.uuid4().hex
    try:
        events = survey_events(ctx.cfg, location, answers, session, int(now * 1000))
    except SurveyError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None
    for payload in events:
        rejection = await ctx.core.publish_input("feedback", location, payload)
        if rejection is not None:
            raise rejection_error(rejection)
    cookie = Cookie(key=COOKIE, value=ctx.survey.cooldown.issue(location, now),
                    path=f"/q/{location}", max_age=int(ctx.survey.cooldown.cooldown_s) or None,
                    httponly=True, samesite="lax")
    return Response({"status": "accepted", "session": session}, status_code=202,
                    cookies=[cookie])


ROUTES = [display_page, survey_page, survey_submit]
