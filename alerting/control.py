"""Changes a following alert service forwards to the leader: acknowledge, silence, unsilence.

One request/reply subject (``{prefix}.alerts.control``), served only by the instance that
holds the lease; the reply carries the leader's view of what changed, or the error its
engine raised (the message names the field, as for a local call).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from alerting.model import AlertView, SilenceView


class AlertsUnavailable(RuntimeError):
    """No alert service leads right now (between a leader's death and the takeover)."""


class ControlRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    op: Literal["acknowledge", "add_silence", "remove_silence"]
    alert_id: str = ""
    who: str = ""
    comment: str = ""
    matchers: tuple[str, ...] = ()
    duration_s: float | None = None
    ends_ms: int | None = None
    starts_ms: int | None = None
    silence_id: str = ""


class ControlReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    alert: AlertView | None = None
    silence: SilenceView | None = None
    error: str = ""  # an AlertInputError's message
