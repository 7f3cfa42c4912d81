"""What one scope's wall page needs (pure): its metric windows and websocket topics.

Who is where (names, zones, members, the way up) is ``stream.geography.Geo``, built from
config plus the locations the server reports (``/api/locations`` also lists unconfigured
ids that sent events).
"""

from __future__ import annotations

from stream.geography import Geo
from stream.windows import Window

METRIC_WINDOWS: list[Window] = ["1h", "today"]  # of ``stream.windows.WINDOWS``


def page_topics(geo: Geo, scope: str) -> list[str]:
    """Websocket topics one scope's wall needs: its metrics and incidents, the alerts, the
    metrics of every member location (the leaderboard) and their microphones."""
    topics = [f"metrics:{scope}", f"incidents:{scope}", "alerts"]
    members = geo.members(scope)
    if geo.known_kind(scope) != "location":
        topics += [f"metrics:{loc}" for loc in members]
    topics += [f"voice:{loc}" for loc in members]
    return topics
