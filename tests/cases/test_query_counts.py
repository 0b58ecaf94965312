"""List pages run a fixed number of SQL queries, however many cases they show."""

from __future__ import annotations

import pytest

from panel.cases import operations as ops
from tests.support.factories import example


def _make_cases(user, n, db_session, submit=False):
    for _ in range(n):
        case = ops.create_case(example(), by=user).case
        if submit:
            ops.submit_case(case, by=user)
    db_session.commit()


@pytest.mark.parametrize("role", ["referrer", "coordinator", "member"])
def test_home_page_query_count_does_not_grow_with_cases(
    app, client, make_user, login, db_session, count_queries, role
):
    referrer = make_user(referrer_at="NEWCASTLE")
    viewer = {
        "referrer": referrer,
        "coordinator": make_user(roles=[("NAP", "coordinator")]),
        "member": make_user(roles=[("NAP", "member")]),
    }[role]
    login(client, viewer)
    _make_cases(referrer, 2, db_session, submit=True)
    client.get("/")  # warm up (session touch etc.)
    with count_queries() as few:
        assert client.get("/").status_code == 200
    _make_cases(referrer, 12, db_session, submit=True)
    with count_queries() as many:
        html = client.get("/").get_data(as_text=True)
    assert html.count("NB-") >= 14
    assert many.count == few.count, many.statements
