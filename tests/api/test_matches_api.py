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


def test_matches_list_only_trials_open_at_a_site(app, db_session, api_as, referrer, make_case):
    """A trial closed in the registry, and one open overall but recruiting at none of its
    sites, are left out of the API's matches, as from `match`; every match says its status,
    check date and source."""
    from sqlalchemy import select

    from panel.trials.matching import clear_cache
    from panel.trials.models import Trial, TrialStatus
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    lorlatinib = db_session.scalar(select(Trial).where(Trial.code == "NANT-LORLATINIB"))
    lorlatinib.site_statuses = [{"centre": "ROYAL_MARSDEN", "status": "closed"}]
    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    crisp.status = TrialStatus.CLOSED
    db_session.commit()
    clear_cache()
    case = make_case(referrer, submit=True)
    body = api_as(referrer).get(f"/api/v1/cases/{case.reference}/matches").get_json()
    listed = {m["trial"] for m in body["matches"]}
    assert listed and not {"NANT-LORLATINIB", "CRISP"} & listed
    for m in body["matches"]:
        assert m["status"] == "open"
        assert m["status_checked_on"] == "2026-12-01" and m["status_source"] == "test data"
