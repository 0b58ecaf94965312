"""GET /api/v1/cases/<ref>/matches: the same object the `match` command prints."""

from __future__ import annotations


def test_matches_for_a_visible_case(app, db_session, api_as, referrer, make_case, make_user):
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    case = make_case(referrer, submit=True)
    resp = api_as(referrer).get(f"/api/v1/cases/{case.reference}/matches")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["case"] == case.reference
    verdicts = {m["trial"]: (m["verdict"], m["distance_km"]) for m in body["matches"]}
    assert verdicts["CRISP"] == ("eligible", 131)
    assert verdicts["NANT-LORLATINIB"] == ("eligible", 415)
    assert verdicts["ESMART"][0] == "ineligible"
    first = body["matches"][0]
    assert set(first) == {
        "trial",
        "verdict",
        "distance_km",
        "sites",
        "criteria",
        "status",
        "status_checked_on",
        "status_source",
    }
    assert first["status"] == "open" and first["status_checked_on"] == "2026-12-01"
    assert set(first["criteria"][0]) == {"id", "result", "label"}
    other = make_user(referrer_at="BIRMINGHAM")
    assert api_as(other).get(f"/api/v1/cases/{case.reference}/matches").status_code == 404
    member = make_user(roles=[("NAP", "member")])
    assert api_as(member).get(f"/api/v1/cases/{case.reference}/matches").status_code == 200
