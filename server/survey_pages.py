"""The QR survey (``/q/{location}``): public, no token. The page, and the POST of its
answers through ``server.survey_guard``'s limits (rate, device cooldown, burst budget) to
the core, or to the held answers a supervisor reviews (``server.survey_review``)."""

from __future__ import annotations

import html
import random
import time
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.context import ServerContext, client_address
from server.errors import ApiError, msgspec_field, rejection_error
from server.i18n import STRINGS, language, question_text
from server.pages import asset, html_response, message_page, render, script_json
from server.survey import COOKIE, SurveyAnswers, SurveyError, pick_questions, survey_events
from server.survey_guard import HeldAnswer
from stream.config import CsiQuestion

SURVEY_MAX_BODY = 16 * 1024  # 2,000 characters of "why" and a few answers, UTF-8


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
            f'<div class="scale csi" data-question="{e(q.id)}">'
            f'{_scale_buttons(1, q.scale, tone)}</div>'
            f'<div class="ends"><span>{e(s["csi_low"])}</span><span>{e(s["csi_high"])}</span></div>'
            "</fieldset>")
    parts.append(f'<button class="submit" type="submit" disabled>{e(s["submit"])}</button>'
                 '<p id="message" class="message" role="alert"></p></form>')
    return "".join(parts)


def _guard(request: Request[Any, Any, Any], ctx: ServerContext, location: str) -> None:
    """Rate limit per client address, then the location must be a configured one."""
    now = time.time()
    key = client_address(request)
    if not ctx.survey.rate.allow(key, now):
        wait = max(1, round(ctx.survey.rate.retry_after_s(key, now)))
        raise ApiError(429, "too many requests; try again later",
                       headers={"Retry-After": str(wait)})
    if ctx.cfg.location(location) is None:
        raise ApiError(404, f"no location {location!r}", field="location")


def _device(request: Request[Any, Any, Any], ctx: ServerContext, location: str) -> str:
    return ctx.survey.devices.key(location, client_address(request),
                                  request.headers.get("user-agent", ""))


def _wait_s(request: Request[Any, Any, Any], ctx: ServerContext, location: str,
            now: float) -> float:
    return ctx.survey.wait_s(request.cookies.get(COOKIE), _device(request, ctx, location),
                             location, now)


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
    wait = _wait_s(request, ctx, location, time.time())
    if wait > 0:
        text = s["cooldown"].replace("{m}", str(max(1, round(wait / 60))))
        body = (f'<section class="done"><h2>{html.escape(s["done_title"])}</h2>'
                f"<p>{html.escape(text)}</p></section>")
    else:
        questions = pick_questions(ctx.cfg.csi.questions, ctx.cfg.csi.questions_per_survey,
                                   random.SystemRandom())
        body = survey_form(lang, questions)
    script, style = asset("survey.js"), asset("survey.css")
    page = render("survey.html", lang=lang, title=html.escape(s["survey_title"]),
                  place=html.escape(loc.name if loc and loc.name else location),
                  style=style, body=body, config=script_json({"strings": s}), script=script)
    return html_response(page, script, style)


async def _answers(request: Request[Any, Any, Any], ctx: ServerContext) -> SurveyAnswers:
    try:
        answers = msgspec.json.decode(await request.body(), type=SurveyAnswers)
    except msgspec.ValidationError as exc:
        raise ApiError(422, str(exc), field=msgspec_field(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(422, f"body is not valid JSON: {exc}") from None
    if len(answers.csi) > ctx.cfg.csi.questions_per_survey:
        raise ApiError(422, f"at most {ctx.cfg.csi.questions_per_survey} CSI answers", field="csi")
    return answers


@post("/q/{location:str}", summary="Submit the QR survey (public, rate-limited)",
      request_max_body_size=SURVEY_MAX_BODY)
async def survey_submit(request: Request[Any, Any, Any], ctx: NamedDependency[ServerContext],
                        location: FromPath[str]) -> Response[dict[str, str]]:
    _guard(request, ctx, location)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # a JSON body only: a cross-site <form> cannot post one without CORS
        raise ApiError(415, "send the answers as application/json", field="content-type",
                       code="unsupported_media_type")
    lang = language(ctx.cfg, location, request.query_params.get("lang"))
    now = time.time()
    wait = _wait_s(request, ctx, location, now)
    if wait > 0:
        text = STRINGS[lang]["cooldown"].replace("{m}", str(max(1, round(wait / 60))))
        raise ApiError(429, text, code="cooldown", headers={"Retry-After": str(round(wait))})
    answers = await _answers(request, ctx)
    session = uuid.uuid4().hex
    try:
        events = survey_events(ctx.cfg, location, answers, session, int(now * 1000))
    except SurveyError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None
    guard, address, device = ctx.survey, client_address(request), _device(request, ctx, location)
    reason = guard.budget.verdict(location, address, now)
    if reason is None:
        for payload in events:
            rejection = await ctx.core.publish_input("feedback", location, payload)
            if rejection is not None:
                raise rejection_error(rejection)
    else:
        guard.held.hold(HeldAnswer(
            id=guard.held.new_id(), location=location, received_ms=int(now * 1000),
            reason=reason, device=device[:8], nps=answers.nps, why=answers.why,
            csi=dict(answers.csi)), events)
    guard.budget.record(location, address, now)
    guard.devices.mark(device, now)
    cookie = Cookie(key=COOKIE, value=guard.cooldown.issue(location, now),
                    path=f"/q/{location}", max_age=int(guard.cooldown.cooldown_s) or None,
                    httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return Response({"status": "accepted", "session": session}, status_code=202,
                    cookies=[cookie])


ROUTES = [survey_page, survey_submit]
