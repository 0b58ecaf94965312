"""The admin's panel page: what a panel takes and its family words, edited with CSRF,
validated (codes Panel knows, words and sources present) and audited (issue 20)."""

from __future__ import annotations

from sqlalchemy import select

from panel.accounts.models import Panel
from panel.core.models import AuditEntry
from tests.support.web import post_form

FORM = {
    "takes_iccc": "IVa",
    "takes_morphology": "9500/3",
    "takes_words": "neuroblastoma",
    "takes_source": "CCLG parents' factsheet (undated), read 2026-12-07",
    "family_words": "The panel is a group of expert doctors. They treat children with neuroblastoma.",
    "family_words_source": "CCLG parents' factsheet (undated), in plain words",
}


def _nap(db_session) -> Panel:
    return db_session.scalar(select(Panel).where(Panel.code == "NAP"))


def test_the_panels_page_shows_what_each_panel_takes(app, client, login, people):
    login(client, people["admin"])
    html = client.get("/admin/panels").get_data(as_text=True)
    assert "Takes: neuroblastoma (IVa)" in html and "Takes: any tumour type" in html


def test_admin_edits_what_a_panel_takes_audited(app, client, login, people, db_session):
    nap = _nap(db_session)
    login(client, people["admin"])
    page = client.get(f"/admin/panels/{nap.id}")
    assert page.status_code == 200 and 'value="IVa"' in page.get_data(as_text=True)
    resp = post_form(app, client, f"/admin/panels/{nap.id}", FORM)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    db_session.expire_all()
    nap = _nap(db_session)
    assert nap.takes_iccc == ["IVa"] and nap.takes_morphology == ["9500/3"]
    assert nap.family_words == FORM["family_words"]
    entry = db_session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "panel.updated")
        .order_by(AuditEntry.id.desc())
    )
    assert entry is not None and entry.object_id == str(nap.id)
    assert "takes_morphology" in entry.details["changes"]


def test_bad_scopes_are_form_errors(app, client, login, people, db_session):
    nap = _nap(db_session)
    login(client, people["admin"])
    for changes, message in (
        ({"takes_iccc": "IVz"}, "Not an ICCC-3 subgroup Panel knows: IVz"),
        ({"takes_morphology": "9999/3"}, "Not an ICD-O-3 code of Panel&#39;s tumour list: 9999/3"),
        ({"takes_words": ""}, "Say what the panel takes in words"),
        ({"takes_source": ""}, "Give the source of the scope"),
        ({"family_words_source": ""}, "Give the source of these words"),
    ):
        resp = post_form(app, client, f"/admin/panels/{nap.id}", {**FORM, **changes})
        assert resp.status_code == 422, changes
        assert message in resp.get_data(as_text=True), changes
    db_session.expire_all()
    assert _nap(db_session).takes_morphology == []  # nothing saved


def test_only_admins_and_only_with_csrf(app, client, login, people, db_session):
    nap = _nap(db_session)
    login(client, people["nap_coordinator"])
    assert client.get(f"/admin/panels/{nap.id}").status_code == 403
    other = app.test_client()
    login(other, people["admin"])
    assert other.post(f"/admin/panels/{nap.id}", data=FORM).status_code in (400, 422)
    assert other.get("/admin/panels/999999").status_code == 404
    db_session.expire_all()
    assert _nap(db_session).takes_morphology == []
