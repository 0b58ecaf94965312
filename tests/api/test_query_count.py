"""The case list runs the same number of SQL queries for 5 cases as for 25 (no N+1)."""

from __future__ import annotations

from tests.support.factories import example
from tests.support.queries import count_queries


def _list(api) -> list[str]:
    resp = api.get("/api/v1/cases", query_string={"per_page": 200})
    assert resp.status_code == 200
    return [c["reference"] for c in resp.get_json()["cases"]]


def test_case_list_query_count_does_not_grow_with_rows(
    app, db_session, make_user, api_as, make_case
):
    """Does a coordinator's list of cases from many referrers (each with questions and a
    centre) cost a fixed number of queries?"""
    coordinator = api_as(make_user(roles=[("NAP", "coordinator"), ("NAP", "member")]))
    referrers = [
        make_user(referrer_at=centre)
        for centre in ("NEWCASTLE", "LEEDS", "BRISTOL", "BIRMINGHAM", "GLASGOW")
    ]

    def add_cases(n: int) -> None:
        for i in range(n):
            by = referrers[i % len(referrers)]
            doc = example()
            doc["referring_centre"] = by.centre.code
            make_case(by, doc, submit=True)

    add_cases(5)
    _list(coordinator)  # warm up: the first call also records the token's last use
    with count_queries() as few:
        assert len(_list(coordinator)) == 5
    # Twenty more cases, from twenty more referrers.
    referrers[:] = [make_user(referrer_at="LEEDS") for _ in range(20)]
    add_cases(20)
    with count_queries() as many:
        assert len(_list(coordinator)) == 25
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 12, "\n".join(few)
