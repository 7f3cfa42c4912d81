"""What the alert service reads of the assembled configuration."""

from __future__ import annotations

from typing import Protocol

from alerting.schema import AlertsConfig
from stream.config import StreamSettings


class AlertingSettings(StreamSettings, Protocol):
    """The stream's sections plus ``[alerts]``."""

    @property
    def alerts(self) -> AlertsConfig: ...
