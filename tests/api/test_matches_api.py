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
        "plain_title",
        "plain_summary",
    }
    assert first["status"] == "open" and first["status_checked_on"] == "2026-12-01"
    # The words for families of the registry, beside the registry's own title.
    crisp = next(m for m in body["matches"] if m["trial"] == "CRISP")
    assert crisp["plain_title"] == "Two medicines for cancers with a change in the ALK gene"
    assert crisp["plain_summary"].startswith("This trial tests crizotinib")
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


def test_matches_say_when_a_trial_has_no_words_for_families(
    app, db_session, api_as, referrer, make_case
):
    """A trial whose words for families were never written reads null in the API (the shape
    the OpenAPI document gives), never the registry title."""
    from sqlalchemy import select

    from panel.trials.matching import clear_cache
    from panel.trials.models import Trial
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    crisp = db_session.scalar(select(Trial).where(Trial.code == "CRISP"))
    crisp.plain_title = crisp.plain_summary = None
    db_session.commit()
    clear_cache()
    case = make_case(referrer, submit=True)
    body = api_as(referrer).get(f"/api/v1/cases/{case.reference}/matches").get_json()
    crisp_match = next(m for m in body["matches"] if m["trial"] == "CRISP")
    assert crisp_match["plain_title"] is None and crisp_match["plain_summary"] is None
    schema = app.test_client().get("/api/v1/openapi.json").get_json()
    item = schema["components"]["schemas"]["CaseMatches"]["properties"]["matches"]["items"]
    assert {"plain_title", "plain_summary"} <= set(item["required"])
    assert item["properties"]["plain_title"]["type"] == ["string", "null"]
