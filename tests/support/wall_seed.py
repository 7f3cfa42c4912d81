"""A seeded, deterministic scenario for the wall's browser tests: a small network with
today's feedback, four weeks of incoming flow, open incidents (one breached, one repeated
category = a problem) and enough red-button presses at one location to fire an alert."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from stream.access import hash_token

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SUPERVISOR = "t-wall-sup"
ADMIN = "t-wall-admin"


def config_text(data_dir: str, server_port: int, dash_port: int, token: str = "") -> str:
    """The scenario's config; the dashboards' own token is given in memory, as ``cxpulse
    run`` does (``tests.support.wall.wall_stack``), never in the text; or, given
    ``token``, in a 0600 ``token_file`` under ``data_dir`` (as an operator would)."""
    token_line = ""
    if token:
        path = Path(data_dir) / "dashboards.token"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token, encoding="utf-8")
        path.chmod(0o600)
        token_line = 'token_file = "dashboards.token"'
    return f"""
[core]
data_dir = "{data_dir}"
snapshot_interval_s = 3600
language = "ru"
problem_threshold = 3
[server]
port = {server_port}
ws_max_updates_per_s = 10
ws_heartbeat_s = 1.0
ws_refresh_s = 5.0
[auth]
enabled = true
[[auth.tokens]]
name = "wall-supervisor"
sha256 = "{hash_token(SUPERVISOR)}"
role = "supervisor"
regions = ["msk", "ural"]
[[auth.tokens]]
name = "wall-admin"
sha256 = "{hash_token(ADMIN)}"
role = "admin"
[dashboards]
port = {dash_port}
{token_line}
nps_target = 50
csat_target = 85
min_sample = 10
[[regions]]
id = "msk"
name = "Москва"
timezone = "Europe/Moscow"
[[regions]]
id = "ural"
name = "Урал"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "msk-a"
name = "Москва, Тверская"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "msk-b"
name = "Москва, Арбат"
region = "msk"
timezone = "Europe/Moscow"
[[locations]]
id = "ekb"
name = "Екатеринбург"
region = "ural"
timezone = "Asia/Yekaterinburg"
[csi]
[[csi.questions]]
id = "clean"
factor = "tangibles"
text_ru = "Насколько чисто и удобно в зале?"
text_en = "How clean and comfortable is the hall?"
[[csi.questions]]
id = "speed"
factor = "responsiveness"
text_ru = "Насколько быстро Вас обслужили?"
text_en = "How quickly were you served?"
[[csi.questions]]
id = "attention"
factor = "empathy"
text_ru = "Насколько внимательны были к Вам?"
text_en = "How attentive were we to you?"
[[csi.questions]]
id = "competence"
factor = "assurance"
text_ru = "Насколько компетентен был сотрудник?"
text_en = "How competent was the employee?"
[alerts]
eval_interval_s = 1
min_eval_gap_s = 0
group_wait_s = 0
group_interval_s = 0
[[alerts.rules]]
id = "red-button"
metric = "buttons.shares.1"
window = "today"
op = ">"
threshold = 0.3
recovery = 0.25
min_sample = 10
severity = "warning"
labels = {{ kind = "metric" }}
[alerts.rules.playbook.ru]
event = "Клиенты жмут красную кнопку"
tasks = ["Дать клиенту высказаться и назвать причину",
         "Если претензия обоснована — переломить ситуацию"]
actions = ["«Приношу искренние извинения… Расскажите, пожалуйста, что стало причиной?»",
           "«Позвать администратора?»"]
[alerts.rules.playbook.en]
event = "Customers press the red button"
tasks = ["Let the customer speak and tell the reason", "If the claim is justified, turn it around"]
actions = ["\\"I sincerely apologise… please tell me what caused it.\\"",
           "\\"Shall I call the manager?\\""]
"""


class Seeder:
    """Event factories with unique ids and timestamps relative to ``now_ms``."""

    def __init__(self, now_ms: int, seed: int = 7) -> None:
        self.now_ms = now_ms
        # "recent" stays inside today at every location, whatever hour the suite runs at
        # (Moscow's midnight comes last of the configured zones)
        local = dt.datetime.fromtimestamp(now_ms / 1000, ZoneInfo("Europe/Moscow"))
        since_midnight = int((local - local.replace(hour=0, minute=0, second=0,
                                                    microsecond=0)).total_seconds() * 1000)
        self.window_ms = max(6_000, min(600_000, since_midnight - 2_000))
        self.seed = seed
        self.rng = random.Random(seed)
        self.n = 0

    def ev(self, location: str, ago_ms: int, **fields: Any) -> dict[str, Any]:
        """An event with an id unique to this seeder (the core drops a repeated id)."""
        self.n += 1
        return {"id": f"seed{self.seed}-{self.n}", "ts": self.now_ms - ago_ms, "location": location,
                **fields}

    def recent(self) -> int:
        """A moment within the last ten minutes (inside both ``1h`` and ``today``)."""
        return self.rng.randint(min(5_000, self.window_ms // 2), self.window_ms)

    def feedback(self, location: str, nps: list[int], csat: list[int], ces: list[int],
                 buttons: list[int], visits: int) -> list[dict[str, Any]]:
        out = [
            self.ev(location, self.recent(), type="nps", value=v, session=f"s{self.n}") for v in nps
        ]
        out += [self.ev(location, self.recent(), type="csat", value=v) for v in csat]
        out += [self.ev(location, self.recent(), type="ces", value=v) for v in ces]
        out += [self.ev(location, self.recent(), type="button", value=v, scale=3) for v in buttons]
        out += [self.ev(location, self.recent(), type="visit") for _ in range(visits)]
        # speed is clearly the weak spot (about 0.3 against 0.75 elsewhere, 40 answers
        # each): the wall flags it, and only it
        for q, factor in (("clean", "tangibles"), ("speed", "responsiveness"),
                          ("attention", "empathy"), ("competence", "assurance")):
            low, high = (1, 3) if q == "speed" else (3, 5)
            out += [self.ev(location, self.recent(), type="csi", factor=factor, question=q,
                            value=self.rng.randint(low, high)) for _ in range(40)]
        return out

    def flow_history(self, location: str, days: int = 27) -> list[dict[str, Any]]:
        """Contacts over past weeks, busier at midday and on weekdays (the heatmap)."""
        channels = ["phone"] * 9 + ["site"] * 4 + ["marketplace"] * 4 + ["social"] * 2 + ["email"]
        out = []
        for hour in range(1, days * 24):
            h = (self.now_ms // HOUR_MS - hour) % 24
            mean = 3.0 if 9 <= (h + 3) % 24 <= 20 else 0.3
            for _ in range(int(mean + self.rng.random() * 2)):
                out.append(self.ev(location, hour * HOUR_MS + self.rng.randint(0, HOUR_MS - 1),
                                   channel=self.rng.choice(channels),
                                   answered=self.rng.random() < 0.93,
                                   wait_s=round(self.rng.uniform(5, 90), 1)))
        return out

    def incidents(self, location: str) -> list[dict[str, Any]]:
        """Open incidents: one claim two days old (breached), one fresh, three of one
        category (a problem), one resolved."""
        spec = [("i-old", 2 * DAY_MS, "claim"), ("i-new", 20 * 60_000, "claim"),
                ("i-p1", 3 * HOUR_MS, "service"), ("i-p2", 2 * HOUR_MS, "service"),
                ("i-p3", 30 * 60_000, "service"), ("i-done", 4 * HOUR_MS, "consultation")]
        out = [self.ev(location, ago, incident=f"{location}-{iid}", action="open", category=cat,
                       severity="high" if iid == "i-old" else "normal", channel="site")
               for iid, ago, cat in spec]
        out.append(self.ev(location, 3 * HOUR_MS, incident=f"{location}-i-done", action="resolve"))
        return out


    def encounters(self, location: str, mic: str, n: int) -> list[dict[str, Any]]:
        """Service encounters at a desk (the voice worker's ``cx.encounter`` output): most
        with a greeting, fewer with the farewell; ratings higher with a greeting."""
        out = []
        step = self.window_ms // (n + 1)  # all of them today
        for i in range(n):
            start = self.now_ms - (i + 1) * step
            greeting, farewell = i % 5 != 0, i % 3 != 0
            out.append({"id": f"enc-{location}-{mic}-{i}", "ts": start + step * 9 // 10,
                        "location": location, "mic": mic, "start": start,
                        "end": start + step * 8 // 10, "utterances": 6,
                        "greeting": greeting, "thanks": i % 4 != 0, "farewell": farewell,
                        "anger_max": 0.2, "closed_by": "feedback",
                        "rating": 0.9 if greeting else 0.4})
        return out


def scenario(now_ms: int) -> dict[str, list[dict[str, Any]]]:
    """Events per input kind (``feedback``, ``flow``, ``incident``)."""
    s = Seeder(now_ms)
    feedback = (
        s.feedback("msk-a", nps=[10] * 14 + [8] * 6 + [3] * 8, csat=[5] * 14 + [4] * 4 + [2] * 4,
                   ces=[6] * 10 + [3] * 4, buttons=[1] * 9 + [2] * 5 + [3] * 10, visits=45)
        + s.feedback("msk-b", nps=[10] * 20 + [9] * 5 + [6] * 2, csat=[5] * 20 + [3],
                     ces=[7] * 12, buttons=[3] * 20 + [2] * 3, visits=40)
        + s.feedback("ekb", nps=[9, 10, 4], csat=[5, 4], ces=[5], buttons=[3, 3], visits=6)
    )
    flow = s.flow_history("msk-a") + s.flow_history("msk-b", days=14)
    flow += [s.ev("msk-a", s.recent(), channel="phone", answered=True) for _ in range(12)]
    return {"feedback": feedback, "flow": flow, "incident": s.incidents("msk-a"),
            "encounter": s.encounters("msk-a", "desk-1", 14)}


def dumps(ev: dict[str, Any]) -> bytes:
    return json.dumps(ev, ensure_ascii=False).encode()
