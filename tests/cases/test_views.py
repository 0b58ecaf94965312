"""Case pages: who sees what, parents' questions, co-referrers, workflow actions, dashboards."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from panel.caseformat import convert
from panel.cases import operations as ops
from panel.cases.models import Case, CaseStatus
from tests.support.factories import DATA, example, sarcoma_v2
from tests.support.web import post_form


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user(referrer_at="NEWCASTLE", name="Dr Owner"),
        "other_referrer": make_user(referrer_at="BIRMINGHAM", name="Dr Elsewhere"),
        "nap_member": make_user(roles=[("NAP", "member")]),
        "nap_coordinator": make_user(roles=[("NAP", "coordinator")]),
        "north_member": make_user(roles=[("ECMC-NORTH", "member")]),
        "north_coordinator": make_user(roles=[("ECMC-NORTH", "coordinator")]),
        "admin": make_user(admin=True),
    }


@pytest.fixture
def draft(people, db_session):
    case = ops.create_case(example(), by=people["owner"]).case
    db_session.commit()
    return case


@pytest.fixture
def submitted(people, db_session):
    case = ops.create_case(example(), by=people["owner"]).case
    ops.submit_case(case, by=people["owner"])
    db_session.commit()
    return case


CAN_SEE_DRAFT = {"owner"}
CAN_SEE_SUBMITTED = {"owner", "nap_member", "nap_coordinator"}


@pytest.mark.parametrize(
    "who",
    [
        "owner",
        "other_referrer",
        "nap_member",
        "nap_coordinator",
        "north_member",
        "north_coordinator",
        "admin",
    ],
)
def test_who_sees_a_draft_and_a_submitted_case(app, client, people, draft, submitted, login, who):
    """Is a case shown only to its referrers and (once submitted) its own panel; 404 otherwise?"""
    login(client, people[who])
    assert client.get(f"/cases/{draft.reference}").status_code == (
        200 if who in CAN_SEE_DRAFT else 404
    )
    assert client.get(f"/cases/{submitted.reference}").status_code == (
        200 if who in CAN_SEE_SUBMITTED else 404
    )
    assert client.get(f"/cases/{submitted.reference}/revisions").status_code == (
        200 if who in {"owner", "nap_coordinator"} else (403 if who in CAN_SEE_SUBMITTED else 404)
    )


def test_case_page_shows_the_referral_inertly(app, client, people, login, db_session):
    doc = example()
    doc["clinical_question"] = "<script>alert(1)</script> {{ 7*7 }} which trial?"
    case = ops.create_case(doc, by=people["owner"]).case
    db_session.commit()
    login(client, people["owner"])
    html = client.get(f"/cases/{case.reference}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} which trial?" in html
    assert "<script>alert(1)" not in html and "49 which trial" not in html
    assert "ALK status" in html and "Mutation" in html


def test_referrer_edits_and_reorders_questions(app, client, people, draft, login, db_session):
    login(client, people["owner"])
    first, second = draft.questions[0], draft.questions[1]
    assert (
        post_form(
            app, client, f"/cases/{draft.reference}/questions/{second.id}", {"action": "up"}
        ).status_code
        == 302
    )
    assert (
        post_form(
            app, client, f"/cases/{draft.reference}/questions", {"text": "What does the scan show?"}
        ).status_code
        == 302
    )
    assert (
        post_form(
            app,
            client,
            f"/cases/{draft.reference}/questions/{first.id}",
            {"action": "save", "text": "Is there a trial for the ALK change near us?"},
        ).status_code
        == 302
    )
    db_session.expire_all()
    case = db_session.get(Case, draft.id)
    assert [q.id for q in case.questions][:2] == [second.id, first.id]
    assert case.questions[1].text == "Is there a trial for the ALK change near us?"
    assert case.questions[-1].text == "What does the scan show?"
    # An identifier in a question is refused and nothing changes.
    resp = post_form(
        app,
        client,
        f"/cases/{draft.reference}/questions",
        {"text": "Call mum on 07700 900123"},
        follow_redirects=True,
    )
    assert "patient identifier" in resp.get_data(as_text=True)
    db_session.expire_all()
    assert len(db_session.get(Case, draft.id).questions) == 4


def test_others_cannot_touch_questions(app, client, people, submitted, login):
    q = submitted.questions[0]
    login(client, people["nap_member"])
    assert (
        post_form(
            app, client, f"/cases/{submitted.reference}/questions", {"text": "x?"}
        ).status_code
        == 403
    )
    assert (
        post_form(
            app, client, f"/cases/{submitted.reference}/questions/{q.id}", {"action": "delete"}
        ).status_code
        == 403
    )
    c2 = app.test_client()
    login(c2, people["other_referrer"])
    assert (
        post_form(
            app, c2, f"/cases/{submitted.reference}/questions/{q.id}", {"action": "delete"}
        ).status_code
        == 404
    )


def test_co_referrer_sees_the_case(app, client, people, draft, login, db_session):
    login(client, people["owner"])
    resp = post_form(
        app,
        client,
        f"/cases/{draft.reference}/co-referrers",
        {"email": people["other_referrer"].email},
    )
    assert resp.status_code == 302
    c2 = app.test_client()
    login(c2, people["other_referrer"])
    assert c2.get(f"/cases/{draft.reference}").status_code == 200
    assert draft.reference in c2.get("/").get_data(as_text=True)
    # A panel member cannot be added as co-referrer.
    resp = post_form(
        app,
        client,
        f"/cases/{draft.reference}/co-referrers",
        {"email": people["nap_member"].email},
        follow_redirects=True,
    )
    assert "must be an active referring doctor" in resp.get_data(as_text=True)
    unknown = post_form(
        app,
        client,
        f"/cases/{draft.reference}/co-referrers",
        {"email": "nobody@nhs.example.org"},
        follow_redirects=True,
    )
    assert ops.CO_REFERRER_REFUSED in unknown.get_data(as_text=True)
    assert ops.CO_REFERRER_REFUSED in resp.get_data(as_text=True)


def test_coordinator_requests_information_and_referrer_sees_it(
    app, client, people, submitted, login, db_session
):
    login(client, people["nap_coordinator"])
    assert submitted.reference in client.get("/").get_data(as_text=True)  # in the queue
    resp = post_form(
        app,
        client,
        f"/cases/{submitted.reference}/request-information",
        {"questions": "Bone marrow result?\nCurrent Lansky?"},
    )
    assert resp.status_code == 302
    db_session.expire_all()
    assert db_session.get(Case, submitted.id).status == CaseStatus.INFO_REQUESTED
    c2 = app.test_client()
    login(c2, people["owner"])
    assert "asked for more information" in c2.get(f"/cases/{submitted.reference}").get_data(
        as_text=True
    )
    assert "answer the panel" in c2.get("/").get_data(as_text=True)


def test_member_cannot_request_information_or_withdraw(app, client, people, submitted, login):
    login(client, people["nap_member"])
    assert (
        post_form(
            app, client, f"/cases/{submitted.reference}/request-information", {"questions": "x"}
        ).status_code
        == 403
    )
    assert post_form(app, client, f"/cases/{submitted.reference}/withdraw").status_code == 403


def test_referrer_withdraws(app, client, people, submitted, login, db_session):
    login(client, people["owner"])
    assert post_form(app, client, f"/cases/{submitted.reference}/withdraw").status_code == 302
    db_session.expire_all()
    assert db_session.get(Case, submitted.id).status == CaseStatus.WITHDRAWN


def test_dashboards_list_the_right_cases(app, client, people, draft, submitted, login):
    login(client, people["owner"])
    html = client.get("/").get_data(as_text=True)
    assert draft.reference in html and submitted.reference in html and "complete and submit" in html
    c = app.test_client()
    login(c, people["nap_member"])
    html = c.get("/").get_data(as_text=True)
    assert submitted.reference in html and draft.reference not in html
    c = app.test_client()
    login(c, people["north_coordinator"])
    html = c.get("/").get_data(as_text=True)
    assert submitted.reference not in html


def test_cli_import_and_export_round_trip(app, db_session, people):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "import-case",
            str(DATA / "case-example-alk.json"),
            "--referrer",
            people["owner"].email,
        ]
    )
    assert result.exit_code == 0, result.output
    ref = result.output.strip().splitlines()[-1]
    out = runner.invoke(args=["export-case", ref, "--format", "panel-case/1"])
    assert out.exit_code == 0
    exported = json.loads(out.output)
    assert exported.pop("reference") == ref
    assert exported == json.loads((DATA / "case-example-alk.json").read_text())
    # By default the export is panel-case/2: the same case, converted.
    out = runner.invoke(args=["export-case", ref])
    assert out.exit_code == 0
    exported = json.loads(out.output)
    assert exported.pop("reference") == ref
    assert exported == convert.v1_to_v2(json.loads((DATA / "case-example-alk.json").read_text()))


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["patient"].update(age_now_months="52"), "patient.age_now_months"),
        (lambda d: d["biology"].update(mycn="very_amplified"), "biology.mycn"),
        (lambda d: d["disease"].update(siopen_score=90), "disease.siopen_score"),
    ],
)
def test_cli_import_refuses_bad_documents_naming_the_field(
    app, db_session, people, tmp_path, mutation, field
):
    doc = example()
    mutation(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = app.test_cli_runner().invoke(
        args=["import-case", str(path), "--referrer", people["owner"].email]
    )
    assert result.exit_code != 0 and field in result.output
    assert db_session.scalar(select(Case).where(Case.created_by_id == people["owner"].id)) is None


def test_cli_import_refuses_identifiers_without_echoing_them(app, db_session, people, tmp_path):
    doc = example()
    doc["family"]["questions"].append("Can you email jane.doe@gmail.com?")
    path = tmp_path / "id.json"
    path.write_text(json.dumps(doc))
    result = app.test_cli_runner().invoke(
        args=["import-case", str(path), "--referrer", people["owner"].email]
    )
    assert (
        result.exit_code != 0
        and "family.questions[3]" in result.output
        and "email" in result.output
    )
    assert "jane.doe@gmail.com" not in result.output


def _import(app, people, tmp_path, doc) -> str:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(doc))
    result = app.test_cli_runner().invoke(
        args=["import-case", str(path), "--referrer", people["owner"].email]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_cli_imports_a_panel_case_2_document(app, db_session, people, tmp_path):
    """Does import-case take a panel-case/2 sarcoma case as it is, and export-case give it
    back unchanged?"""
    ref = _import(app, people, tmp_path, sarcoma_v2())
    case = db_session.scalar(select(Case).where(Case.reference == ref))
    assert case.panel.code == "ECMC-NORTH" and case.tumour["morphology"] == "8920/3"
    out = app.test_cli_runner().invoke(args=["export-case", ref])
    assert out.exit_code == 0, out.output
    exported = json.loads(out.stdout)
    assert exported.pop("reference") == ref
    assert exported == sarcoma_v2()


def test_cli_export_as_panel_case_1_refuses_a_sarcoma_case(app, db_session, people, tmp_path):
    """panel-case/1 holds neuroblastoma only: the export fails, saying why and what to do,
    and prints no document."""
    ref = _import(app, people, tmp_path, sarcoma_v2())
    out = app.test_cli_runner().invoke(args=["export-case", ref, "--format", "panel-case/1"])
    assert out.exit_code != 0
    assert "panel-case/1 holds neuroblastoma cases only" in out.stderr
    assert "8920/3" in out.stderr and "export it as panel-case/2" in out.stderr
    assert out.stdout == ""


def test_cli_export_as_panel_case_1_warns_what_it_leaves_out(app, db_session, people, tmp_path):
    """A neuroblastoma case with fields only panel-case/2 has exports as panel-case/1 (the v1
    document, unchanged) with a warning naming each field v1 cannot carry."""
    doc = convert.v1_to_v2(example())
    doc["local_mdt"] = {"discussed": True, "outcome": "Refer to the national panel."}
    doc["organ_function"] = {**doc.get("organ_function", {}), "gfr_ml_min_173m2": 95}
    doc["treatment"]["lines"][0]["toxicities"] = ["hearing"]
    ref = _import(app, people, tmp_path, doc)
    out = app.test_cli_runner().invoke(args=["export-case", ref, "--format", "panel-case/1"])
    assert out.exit_code == 0, out.output
    exported = json.loads(out.stdout)
    assert exported.pop("reference") == ref
    assert exported == example()
    [warning] = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert "panel-case/1 has no place for" in warning
    for field in (
        "local_mdt.discussed",
        "local_mdt.outcome",
        "organ_function.gfr_ml_min_173m2",
        "treatment.lines[0].toxicities",
    ):
        assert field in warning, (field, warning)
    plain = app.test_cli_runner().invoke(args=["export-case", ref])
    assert plain.exit_code == 0 and "warning" not in plain.stderr


def test_referrer_sees_and_answers_the_information_request(
    app, client, people, submitted, login, db_session
):
    """Does the referrer see the coordinator's questions, reply, resubmit, and the request close?"""
    ops.request_information(
        submitted, by=people["nap_coordinator"], questions=["Bone marrow result at relapse?"]
    )
    db_session.commit()
    login(client, people["owner"])
    html = client.get(f"/cases/{submitted.reference}").get_data(as_text=True)
    assert "Bone marrow result at relapse?" in html
    assert (
        post_form(
            app,
            client,
            f"/cases/{submitted.reference}/information-response",
            {"response": "Marrow 10% infiltrated at relapse."},
        ).status_code
        == 302
    )
    assert (
        post_form(
            app,
            client,
            f"/cases/{submitted.reference}/information-response",
            {"response": "Her NHS number is 943 476 5919"},
            follow_redirects=True,
        ).status_code
        == 200
    )
    db_session.expire_all()
    case = db_session.get(Case, submitted.id)
    assert case.open_information_request.response == "Marrow 10% infiltrated at relapse."
    ops.submit_case(case, by=people["owner"])
    db_session.commit()
    assert case.open_information_request is None
    c2 = app.test_client()
    login(c2, people["nap_member"])
    assert (
        post_form(
            app, c2, f"/cases/{submitted.reference}/information-response", {"response": "x"}
        ).status_code
        == 403
    )


def test_withdrawn_draft_stays_private(app, client, people, draft, login, db_session):
    """A draft withdrawn before it was ever submitted is still invisible to the panel."""
    login(client, people["owner"])
    assert post_form(app, client, f"/cases/{draft.reference}/withdraw").status_code == 302
    c2 = app.test_client()
    login(c2, people["nap_member"])
    assert c2.get(f"/cases/{draft.reference}").status_code == 404
    assert draft.reference not in c2.get("/").get_data(as_text=True)


def test_withdrawal_reason_is_scanned(app, client, people, submitted, login, db_session):
    login(client, people["owner"])
    resp = post_form(
        app,
        client,
        f"/cases/{submitted.reference}/withdraw",
        {"reason": "NHS 943 476 5919"},
        follow_redirects=True,
    )
    assert "patient identifier" in resp.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Case, submitted.id).status == CaseStatus.SUBMITTED
