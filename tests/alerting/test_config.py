"""Rule configuration: typed, validated at start-up, errors name the rule and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxpulse.config import load_config, load_config_text
from stream.config import ConfigError
from tests.support.checks import present

RULE = """
[[alerts.rules]]
id = "nps-drop"
metric = "nps"
op = "<"
threshold = 20
"""


def test_shipped_rules_load_and_cover_the_brief(repo_root: Path) -> None:
    cfg = load_config(repo_root / "config.toml")
    rules = {r.id: r for r in cfg.alerts.rules}
    metrics = {r.metric for r in rules.values()}
    assert {"nps", "buttons.shares.1", "incidents.open_breached", "response_rate",
            "voice.anger_events", "device.silent_minutes"} <= metrics
    assert any("/" in m for m in metrics)
    red = next(r for r in rules.values() if r.metric == "buttons.shares.1")
    ru = present(red.playbook.ru)
    assert "красн" in ru.event.lower() and ru.actions
    assert all(r.playbook.ru is not None and r.playbook.en is not None for r in rules.values())
    assert cfg.alerts.inhibit


@pytest.mark.parametrize(("extra", "key"), [
    ('threshold = "low"', "alerts.rules[nps-drop].threshold"),
    ("tresholdd = 1", "alerts.rules[nps-drop].tresholdd"),
    ("recovery = 10", "alerts.rules[nps-drop].recovery"),
    ('window = "2h"', "alerts.rules[nps-drop].window"),
    ('scope = "city:msk"', "alerts.rules[nps-drop].scope"),
    ('severity = "disaster"', "alerts.rules[nps-drop].severity"),
    ("for_s = -5", "alerts.rules[nps-drop].for_s"),
    ('sample = "responsez"', "alerts.rules[nps-drop].sample"),
    ('labels = { rule = "x" }', "alerts.rules[nps-drop].labels"),
])
def test_a_bad_rule_names_the_rule_and_key(extra: str, key: str) -> None:
    name = extra.split("=")[0].strip()
    text = "\n".join(line for line in RULE.splitlines() if not line.startswith(name + " "))
    with pytest.raises(ConfigError) as err:
        load_config_text(f"{text}\n{extra}\n")
    assert key in str(err.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (RULE.replace('"nps"', '"buttons.sharez.1"'), "alerts.rules[nps-drop].metric"),
        (
            RULE.replace('"nps"', '"voice.anger_events"') + 'window = "today"',
            "alerts.rules[nps-drop].window",
        ),
        (
            RULE.replace('"nps"', '"incidents.open_breached"') + "min_sample = 5",
            "alerts.rules[nps-drop].sample",
        ),
        (RULE + RULE, "duplicate id 'nps-drop'"),
        ('[[alerts.webhooks]]\nid = "ops"\nurl = "ftp://x"', "alerts.webhooks[ops].url"),
        (
            '[[alerts.webhooks]]\nid = "ops"\nurl = "http://x"\nmatchers = ["sev>1"]',
            "alerts.webhooks[ops].matchers",
        ),
        ('[[alerts.maintenance]]\nid = "n"\nhours = "25:00-26:00"', "alerts.maintenance[n].hours"),
        (
            '[[alerts.maintenance]]\nid = "n"\nstart = "2026-01-01T00:00:00"\n'
            'end = "2026-01-02T00:00:00+03:00"',
            "alerts.maintenance[n].start",
        ),
    ],
)
def test_other_alerting_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(text)
    assert key in str(err.value)


def test_ratio_voice_and_device_rules_are_accepted() -> None:
    cfg = load_config_text("""
[[alerts.rules]]
id = "flow-surge"
metric = "flow.this_hour / flow.usual_this_hour"
op = ">"
threshold = 1.5
recovery = 1.2
min_sample = 20
[[alerts.rules]]
id = "anger"
metric = "voice.anger_events"
window = "15m"
op = ">="
threshold = 3
""")
    assert [r.recovery_level for r in cfg.alerts.rules] == [1.2, 3.0]
