"""Ids in URLs that no id column can hold: a 404, never a 500 (PostgreSQL: "integer out of
range"), on every route with a numeric id."""

from __future__ import annotations

import pytest

from tests.support.web import post_form

HUGE = "99999999999999999999"
JUST_OVER = str(2**31)


@pytest.mark.parametrize("number", [HUGE, JUST_OVER])
def test_huge_ids_are_not_found(app, client, db_session, people, make_case, login, number):
    """Do meeting, minutes, presentation, admin, image, notification and token URLs with an id
    beyond the id columns' range answer 404 on both databases?"""
    case = make_case(people["referrer"], submit=True)
    login(client, people["nap_coordinator"])
    ref = case.reference
    for url in (
        f"/meetings/{number}",
        f"/meetings/{number}/agenda.pdf",
        f"/meetings/{number}.ics",
        f"/meetings/{number}/present",
        f"/meetings/1/present/{number}",
        f"/meetings/{number}/edit",
        f"/cases/{ref}/images/files/{number}/download",
        f"/cases/{ref}/images/files/{number}/preview.png",
        f"/cases/{ref}/images/uploads/{number}",
        f"/cases/{ref}/images/uploads/{number}?part=body",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/notifications/{number}/open",
        f"/account/api-tokens/{number}/revoke",
        f"/meetings/{number}/publish",
        f"/meetings/1/items/{number}/remove",
        f"/cases/{ref}/virtual-review/{number}/cancel",
        f"/trials/new-matches/{number}/dismiss",
    ):
        assert post_form(app, client, url).status_code == 404, url


def test_huge_ids_on_admin_pages_are_not_found(app, client, db_session, people, login):
    login(client, people["admin"])
    assert client.get(f"/admin/users/{HUGE}").status_code == 404
    assert post_form(app, client, f"/admin/users/{JUST_OVER}/active").status_code == 404


def test_largest_id_still_reaches_the_view(app, client, db_session, people, login):
    """Is the largest id a column can hold still looked up (an ordinary 404, not a mismatch)?"""
    login(client, people["nap_coordinator"])
    assert client.get(f"/meetings/{2**31 - 1}").status_code == 404
    assert app.url_map.bind("x").match(f"/meetings/{2**31 - 1}")[1] == {"meeting_id": 2**31 - 1}
