"""Alert visibility, the one access rule the alert service and the server share."""

from __future__ import annotations

from stream.access import ANONYMOUS_ADMIN, Principal, alert_limits, alert_visible, sees_alert

SUPERVISOR = Principal("sv", "supervisor", frozenset({"msk-arbat"}), frozenset({"ural"}))


def test_an_alert_is_seen_through_its_location_or_its_region_label() -> None:
    assert sees_alert(SUPERVISOR, {"location": "msk-arbat", "region": "msk"})
    assert sees_alert(SUPERVISOR, {"location": "ekb-1", "region": "ural"})
    assert sees_alert(SUPERVISOR, {"region": "ural"})  # a region-wide alert
    assert not sees_alert(SUPERVISOR, {"location": "msk-tver", "region": "msk"})
    assert not sees_alert(SUPERVISOR, {})  # network-wide alerts: admins only


def test_admins_see_everything_and_the_service_filter_agrees() -> None:
    assert alert_limits(ANONYMOUS_ADMIN) == (None, None)
    assert sees_alert(ANONYMOUS_ADMIN, {})
    for labels in ({"location": "msk-arbat"}, {"region": "ural"}, {"location": "x"}, {}):
        assert alert_visible(labels, *alert_limits(SUPERVISOR)) == sees_alert(SUPERVISOR, labels)
    nobody = Principal("none", "supervisor")
    assert not sees_alert(nobody, {"location": "msk-arbat", "region": "msk"})
