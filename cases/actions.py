"""The incident events of case actions (pure): what ``POST /api/incidents`` and
``POST /api/incidents/{incident}/{action}`` publish, and how bad input is refused.

    body = decode_open(payload)                 # OpenCase, or raises CaseInputError(field)
    event = open_event(body, who="ann", now_ms=now)
    body = decode_step(payload); check_step(action, body)
    event = step_event(location, incident, action, body, who="ann", now_ms=now)
    payload = checked(event, now_ms, limits)    # the contract's JSON, or CaseInputError

Free text is masked (``text.mask``) before it goes into an event; ``source`` is ``api`` and
``who`` the acting token's name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

import msgspec

from cases import ids
from stream.events import IncidentEvent, Limits, Rejection, encode, validate_event
from stream.ids import Id
from text import mask

StepAction = Literal["assign", "comment", "resolve", "reopen"]
STEP_ACTIONS: tuple[StepAction, ...] = ("assign", "comment", "resolve", "reopen")
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
T = TypeVar("T")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


class CaseInputError(ValueError):
    """Bad input of a case action: ``field`` names what is wrong (answered with 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OpenCase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    location: Id
    category: Literal["claim", "consultation", "product_quality", "certificate", "service",
                      "thanks", "other"]
    text: Text
    severity: Literal["low", "normal", "high", "critical"] | None = None
    assignee: ShortText | None = None
    channel: ShortText | None = None


class StepBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    assignee: ShortText | None = None
    text: Text | None = None
    location: Id | None = None  # to tell apart two locations' incidents of the same id


def _decode(payload: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(payload, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _AT.search(text)
        unknown = re.search(r"unknown field `([^`]+)`", text)
        missing = re.search(r"missing required field `([^`]+)`", text)
        field = (unknown or missing).group(1) if (unknown or missing) else (  # type: ignore[union-attr]
            m.group(1) if m else "body")
        message = text[: m.start()] if m else text
        raise CaseInputError(field or "body", f"`{field or 'body'}`: {message}") from None
    except msgspec.DecodeError as exc:
        raise CaseInputError("body", f"the body is not a JSON object: {exc}") from None


def decode_open(payload: bytes) -> OpenCase:
    return _decode(payload, OpenCase)


def decode_step(payload: bytes) -> StepBody:
    return _decode(payload or b"{}", StepBody)


def check_step(action: str, body: StepBody) -> StepAction:
    """The action, when it is one and has what it needs."""
    if action not in STEP_ACTIONS:
        raise CaseInputError("action", f"`action`: {action!r} is not one of "
                             f"{', '.join(STEP_ACTIONS)}")
    if action == "assign" and not (body.assignee and body.assignee.strip()):
        raise CaseInputError("assignee", "`assignee`: required to assign")
    if action == "comment" and not (body.text and body.text.strip()):
        raise CaseInputError("text", "`text`: required to comment")
    return action


def open_event(body: OpenCase, who: str, now_ms: int) -> IncidentEvent:
    incident = ids.api_case()
    return IncidentEvent(
        id=ids.step_id(incident, "open"), ts=now_ms, location=body.location, incident=incident,
        action="open", category=body.category, severity=body.severity, text=mask(body.text),
        assignee=body.assignee, channel=body.channel, source="api", who=who)


def step_event(location: str, incident: str, action: StepAction, body: StepBody, who: str,
               now_ms: int) -> IncidentEvent:
    return IncidentEvent(
        id=ids.api_step_id(), ts=now_ms, location=location, incident=incident, action=action,
        assignee=body.assignee.strip() if body.assignee else None,
        text=mask(body.text) if body.text else None, source="api", who=who)


def checked(event: IncidentEvent, now_ms: int, limits: Limits) -> bytes:
    """The event's JSON once it passes the core's own validation."""
    payload = encode(event)
    result = validate_event("incident", event.location, payload, now_ms, limits)
    if isinstance(result, Rejection):
        field = re.search(r"field `([^`]+)`", result.reason)
        raise CaseInputError(field.group(1) if field else "body", result.reason)
    return payload
