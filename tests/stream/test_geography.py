"""The one geography model (``Geo``) and the engine's numbering of scopes over it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from cxpulse.config import load_config_text
from stream.access import Principal, scope_allowed
from stream.geography import Geo, ScopeIndex, hour_offset_ms
from stream.readmodel import LocationView

CFG = load_config_text("""
[core]
default_timezone = "Europe/Moscow"
[[regions]]
id = "ural"
name = "Урал"
timezone = "Asia/Yekaterinburg"
[[regions]]
id = "empty"
[[locations]]
id = "ekb-1"
name = "Екатеринбург, Ленина"
region = "ural"
timezone = "Asia/Yekaterinburg"
[[locations]]
id = "msk-1"
region = "msk"
[[locations]]
id = "del-1"
region = "ural"
timezone = "Asia/Kolkata"
""")


def test_geo_from_config_kinds_names_zones_members() -> None:
    geo = Geo.from_config(CFG)
    assert [geo.known_kind(s) for s in ("network", "ural", "msk", "ekb-1", "new")] == \
        ["network", "region", "region", "location", None]
    assert geo.kind("new") == "location"  # an id nobody named yet denotes a location
    assert geo.name("ural", "Сеть") == "Урал" and geo.name("msk", "Сеть") == "msk"
    assert geo.name("network", "Сеть") == "Сеть" and geo.name("msk-1", "") == "msk-1"
    assert str(geo.timezone("ekb-1")) == "Asia/Yekaterinburg"
    assert str(geo.timezone("msk-1")) == "Europe/Moscow"  # no zone of its own: the default
    assert str(geo.timezone("ural")) == "Asia/Yekaterinburg"
    assert str(geo.timezone("empty")) == "Europe/Moscow"
    assert geo.members("ural") == ["del-1", "ekb-1"] and geo.members("empty") == []
    assert geo.members("network") == ["del-1", "ekb-1", "msk-1"]
    assert geo.members("new") == []
    assert (geo.parent("ekb-1"), geo.parent("ural"), geo.parent("network")) == \
        ("ural", "network", None)
    assert geo.regions() == ["empty", "msk", "ural"]
    assert geo.scopes_of("ekb-1") == ("ekb-1", "ural", "network")
    assert geo.scopes_of("new") == ("new", "network")


def test_learned_locations_belong_to_the_network_and_their_region() -> None:
    geo = Geo.from_config(CFG)
    seen = geo.learn("kiosk-9")
    assert (seen.region, seen.timezone, seen.configured) == ("", "Europe/Moscow", False)
    assert geo.parent("kiosk-9") == "network" and geo.region_of("kiosk-9") is None
    geo.add([LocationView("spb-1", "СПб", "nw", "Europe/Moscow", False),
             LocationView("ekb-1", "renamed?", "other", "UTC", True)])
    assert geo.known_kind("nw") == "region" and geo.members("nw") == ["spb-1"]
    assert geo.name("ekb-1", "") == "Екатеринбург, Ленина"  # a known entry is kept
    assert "" not in geo.regions()


def test_access_decides_over_the_same_model() -> None:
    geo = Geo.from_config(CFG)
    ural = Principal("s", "supervisor", regions=frozenset({"ural"}))
    assert scope_allowed(ural, "ural", geo) and scope_allowed(ural, "ekb-1", geo)
    assert not scope_allowed(ural, "msk-1", geo) and not scope_allowed(ural, "network", geo)
    assert not scope_allowed(ural, "kiosk-9", geo)  # unknown: a location outside the token


def test_scope_index_numbers_entities_and_aligns_hours() -> None:
    idx = ScopeIndex(CFG)
    # the network, configured regions in order, then each location (and a new region)
    assert idx.scope_entity == {"network": 0, "ural": 1, "empty": 2, "ekb-1": 3, "msk-1": 4,
                                "msk": 5, "del-1": 6}
    ekb, delhi = idx.by_id["ekb-1"], idx.by_id["del-1"]
    assert ekb.entities == (3, 1, 0) and ekb.offsets_ms == (0, 0, 0)
    assert delhi.offsets_ms == (1_800_000, 0, 0)  # +05:30: its hours start at :30 UTC
    assert hour_offset_ms(ZoneInfo("Asia/Kathmandu")) == 45 * 60_000
    assert [p.id for p in idx.members("ural")] == ["ekb-1", "del-1"]
    new = idx.place("kiosk-9")
    assert new.entities == (7, 0) and new.region is None and not new.configured
    assert idx.known("kiosk-9") and not idx.known("elsewhere")
    assert [v.id for v in idx.locations()] == ["ekb-1", "msk-1", "del-1", "kiosk-9"]
    assert idx.locations()[0] == LocationView("ekb-1", "Екатеринбург, Ленина", "ural",
                                              "Asia/Yekaterinburg", True)


def test_local_day_of_a_place() -> None:
    ekb = ScopeIndex(CFG).by_id["ekb-1"]  # UTC+5
    late = int(dt.datetime(2026, 3, 3, 19, 30, tzinfo=dt.UTC).timestamp() * 1000)  # 00:30 local
    assert ekb.day_of(late) == dt.date(2026, 3, 4).toordinal()
    assert ekb.day_start_ms(late) == int(dt.datetime(2026, 3, 3, 19, tzinfo=dt.UTC)
                                         .timestamp() * 1000)
    assert ekb.hour_bucket(late) == late // 3_600_000
