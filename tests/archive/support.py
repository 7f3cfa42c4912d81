"""Helpers of the archive tests: a config, random contract events, publishing them."""

from __future__ import annotations

import json
import random
from typing import Any

from cxpulse.config import Config, load_config_text
from stream.events import InputEvent, Limits, Rejection, validate_event

Sent = tuple[str, dict[str, Any]]  # (subject, contract event body) as published

CONFIG = """
[core]
batch_size = 300
[archive]
batch_size = 400
rollup_interval_s = 0.2
lease_s = 1.5
[[regions]]
id = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "a"
region = "r"
timezone = "Europe/Moscow"
[[locations]]
id = "b"
region = "r"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "k"
region = "far"
timezone = "Asia/Kolkata"
"""


def config(extra: str = "", data_dir: str = "var") -> Config:
    text = f"{CONFIG}\n{extra}".replace("[core]\n", f'[core]\ndata_dir = "{data_dir}"\n', 1)
    return load_config_text(text)


COMMENTS = ("Очень долго ждал в очереди", "Спасибо, всё отлично!", "Грязно в зале",
            "Консультант Иван Петров нагрубил, телефон +7 916 123-45-67", "ok", None, None, None)


def make_events(n: int, now_ms: int, rng: random.Random, *, span_ms: int = 2 * 3_600_000,
                locations: tuple[str, ...] = ("a", "b", "c", "k"),
                prefix: str = "e") -> list[Sent]:
    """(subject, body) of ``n`` valid contract events within ``span_ms`` before ``now_ms``."""
    out = []
    for i in range(n):
        loc = rng.choice(locations)
        ts = now_ms - rng.randint(0, span_ms)
        base = {"id": f"{prefix}{i}", "ts": ts, "location": loc}
        r = rng.random()
        if r < 0.3:
            body = {**base, "type": "nps", "value": rng.randint(0, 10),
                    "session": f"s{rng.randint(0, max(n // 3, 1))}"}
            comment = rng.choice(COMMENTS)
            if comment:
                body["comment"] = comment
            out.append((f"cx.feedback.{loc}", body))
        elif r < 0.4:
            out.append((f"cx.feedback.{loc}", {**base, "type": "csat", "value": rng.randint(1, 5),
                                               "staff": rng.choice(["ann", "bob"])}))
        elif r < 0.5:
            out.append((f"cx.feedback.{loc}", {**base, "type": "button", "scale": 3,
                                               "value": rng.randint(1, 3), "staff": "ann"}))
        elif r < 0.6:
            out.append((f"cx.feedback.{loc}", {**base, "type": "visit"}))
        elif r < 0.7:
            out.append((f"cx.feedback.{loc}", {**base, "type": "csi", "factor": "tangibles",
                                               "question": "clean", "value": rng.randint(1, 5)}))
        elif r < 0.93:
            out.append((f"cx.flow.{loc}", {**base, "channel": rng.choice(["phone", "chat"]),
                                           "answered": rng.random() < 0.9,
                                           "wait_s": round(rng.uniform(0, 300), 2)}))
        else:
            action = rng.choice(["open", "assign", "resolve"])
            body = {**base, "incident": f"i{rng.randint(0, 40)}", "action": action}
            if action == "open":
                body["category"] = rng.choice(["claim", "service", "thanks"])
            out.append((f"cx.incident.{loc}", body))
    return out


def validated(events: list[Sent], now_ms: int,
              limits: Limits | None = None) -> list[tuple[InputEvent, int]]:
    out = []
    for subject, body in events:
        kind, loc = subject.split(".")[1:]
        result = validate_event(kind, loc, json.dumps(body).encode(), now_ms, limits)
        assert not isinstance(result, Rejection), result
        out.append(result)
    return out
