"""The simulator tests' network: two regions in different time zones, three locations, a
CSI questionnaire; and a Monday midnight in Moscow to start generated weeks from."""

from __future__ import annotations

import datetime as dt

CONFIG = """
[core]
default_timezone = "Europe/Moscow"

[[regions]]
id = "msk"
timezone = "Europe/Moscow"

[[regions]]
id = "sib"
timezone = "Asia/Novosibirsk"

[[locations]]
id = "msk-a"
region = "msk"
timezone = "Europe/Moscow"

[[locations]]
id = "msk-b"
region = "msk"

[[locations]]
id = "nsk-c"
region = "sib"
timezone = "Asia/Novosibirsk"
language = "en"

[csi]
questions_per_survey = 2

[[csi.questions]]
id = "clean"
factor = "tangibles"

[[csi.questions]]
id = "speed"
factor = "responsiveness"
scale = 7

[[csi.questions]]
id = "attention"
factor = "empathy"
"""

# A Monday, 00:00 in Moscow: a whole week starting here has every weekday once.
MONDAY_MS = int(dt.datetime(2026, 11, 16, tzinfo=dt.timezone(dt.timedelta(hours=3)))
                .timestamp() * 1000)
DAY_MS = 86_400_000
