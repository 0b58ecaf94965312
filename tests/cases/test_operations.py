"""Case operations without HTTP: create, round-trip, submit, revisions, guards."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from panel.caseformat import convert
from panel.cases import operations as ops
from panel.cases.models import CaseRevision, CaseStatus
from panel.core.errors import Conflict, IdentifiersFound
from panel.core.models import AuditEntry
from tests.support.factories import example


@pytest.fixture
def referrer(make_user):
    return make_user(referrer_at="NEWCASTLE", name="Dr Ref One")


@pytest.fixture
def coordinator(make_user):
    return make_user(roles=[("NAP", "coordinator")])


@pytest.mark.parametrize("name", ["alk", "refractory"])
def test_import_then_export_gives_the_same_json(app, db_session, make_user, name):
    """Does a case round-trip exactly (apart from the reference the system adds)?"""
    doc = example(name)
    user = make_user(referrer_at=doc["referring_centre"])
    case = ops.create_case(copy.deepcopy(doc), by=user).case
    db_session.commit()
    out = ops.to_document_v1(case)
    assert out.pop("reference") == case.reference
    assert out == doc
    assert [q.text for q in case.questions] == doc["family"]["questions"]
    # Stored as panel-case/2: the same case, converted.
    v2 = ops.to_document(case)
    assert v2.pop("reference") == case.reference
    assert v2 == convert.v1_to_v2(doc)


def test_references_are_sequential_and_pseudonymous(app, db_session, referrer):
    a = ops.create_case(example(), by=referrer).case
    b = ops.create_case(example(), by=referrer).case
    year = a.created_at.year
    assert a.reference.startswith(f"NB-{year}-") and len(a.reference) == len(f"NB-{year}-0000")
    assert int(b.reference[-4:]) == int(a.reference[-4:]) + 1


def test_submit_requires_every_required_field(app, db_session, referrer):
    doc = example()
    del doc["biology"]["mycn"]
    doc["disease"].pop("siopen_score")
    case = ops.create_case(doc, by=referrer).case
    with pytest.raises(ops.InvalidCase) as err:
        ops.submit_case(case, by=referrer)
    fields = {p.field for p in err.value.problems}
    assert {
        "modules.neuroblastoma.biology.mycn",
        "modules.neuroblastoma.disease.siopen_score",
    } <= fields
    assert case.status == CaseStatus.DRAFT


def test_submit_request_information_resubmit_keeps_revisions(
    app, db_session, referrer, coordinator
):
    case = ops.create_case(example(), by=referrer).case
    ops.submit_case(case, by=referrer)
    ops.submit_case(case, by=referrer)  # a double click: still one submission
    assert case.status == CaseStatus.SUBMITTED
    ops.request_information(
        case, by=coordinator, questions=["What was the mIBG response after two cycles?"]
    )
    assert case.status == CaseStatus.INFO_REQUESTED
    doc = ops.to_document(case)
    doc["modules"]["neuroblastoma"]["disease"]["curie_score"] = 9
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    ops.submit_case(case, by=referrer)
    revs = db_session.scalars(
        select(CaseRevision).where(CaseRevision.case_id == case.id).order_by(CaseRevision.number)
    ).all()
    assert [r.reason for r in revs] == ["submitted", "before_edit", "resubmitted"]
    diff = ops.field_diff(revs[0].document, revs[-1].document)
    assert diff == [("modules.neuroblastoma.disease.curie_score", None, 9)]
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == case.reference)
    ).all()
    assert actions == [
        "case.created",
        "case.submitted",
        "case.info_requested",
        "case.updated",
        "case.resubmitted",
    ]


def test_identifier_in_free_text_blocks_the_save(app, db_session, referrer):
    doc = example()
    doc["clinical_question"] = "Relapse in a girl, NHS number 943 476 5919; which trial?"
    with pytest.raises(IdentifiersFound) as err:
        ops.create_case(doc, by=referrer)
    assert err.value.findings[0].field == "clinical_question"
    assert err.value.findings[0].kind == "nhs_number"
    from panel.cases.models import Case

    assert db_session.scalar(select(Case).where(Case.created_by_id == referrer.id)) is None


def test_conflicting_edit_is_refused(app, db_session, referrer):
    case = ops.create_case(example(), by=referrer).case
    seen = case.version
    doc = ops.to_document(case)
    doc["urgency"] = "urgent"
    ops.update_case(case, doc, by=referrer, expected_version=seen)
    doc["clinical_question"] = "A different question entirely?"
    with pytest.raises(Conflict):
        ops.update_case(case, doc, by=referrer, expected_version=seen)


@pytest.mark.parametrize("key", ["status", "created_by"])
def test_mass_assignment_is_refused(app, db_session, referrer, key):
    case = ops.create_case(example(), by=referrer).case
    doc = ops.to_document(case)
    doc[key] = "submitted" if key == "status" else 1
    with pytest.raises(ops.InvalidCase):
        ops.update_case(case, doc, by=referrer, expected_version=case.version)
    with pytest.raises(ops.InvalidCase):
        ops.create_case(doc, by=referrer)


def test_same_creation_key_makes_one_case(app, db_session, referrer):
    a = ops.create_case(example(), by=referrer, creation_key="k-1").case
    b = ops.create_case(example(), by=referrer, creation_key="k-1").case
    assert a.id == b.id


def test_access_rules(app, db_session, make_user, referrer, coordinator):
    other_referrer = make_user(referrer_at="BIRMINGHAM")
    north_member = make_user(roles=[("ECMC-NORTH", "member")])
    nap_member = make_user(roles=[("NAP", "member")])
    admin = make_user(admin=True)
    case = ops.create_case(example(), by=referrer).case
    assert case.can_view(referrer) and not case.can_view(other_referrer)
    assert not case.can_view(nap_member) and not case.can_view(coordinator)  # drafts stay private
    ops.submit_case(case, by=referrer)
    assert case.can_view(nap_member) and case.can_view(coordinator)
    assert (
        not case.can_view(north_member)
        and not case.can_view(admin)
        and not case.can_view(other_referrer)
    )
    ops.add_co_referrer(case, other_referrer, by=referrer)
    assert case.can_view(other_referrer)


def test_questions_keep_identity_through_edits_and_reordering(app, db_session, referrer):
    case = ops.create_case(example(), by=referrer).case
    ids = [q.id for q in case.questions]
    ops.move_question(case, case.questions[2], -2, by=referrer)
    assert [q.id for q in case.questions] == [ids[2], ids[0], ids[1]]
    ops.edit_question(
        case, case.questions[1], "Is there a trial of an ALK inhibitor near us?", by=referrer
    )
    assert case.questions[1].id == ids[0]
    new = ops.add_question(case, "How long would treatment last?", by=referrer)
    assert case.questions[-1].id == new.id
    doc = ops.to_document(case)
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    assert [q.id for q in case.questions] == [ids[2], ids[0], ids[1], new.id]
    with pytest.raises(IdentifiersFound):
        ops.add_question(case, "Can Amelia's scan be repeated?", by=referrer)


def test_one_save_is_one_version_step(app, db_session, referrer):
    case = ops.create_case(example(), by=referrer).case
    v = case.version
    doc = ops.to_document(case)
    doc["urgency"] = "urgent"
    ops.update_case(case, doc, by=referrer, expected_version=v)
    assert case.version == v + 1


def test_control_characters_are_refused(app, db_session, referrer):
    doc = example()
    doc["family"]["questions"].append("Is there" + chr(0) + " a trial?")
    doc["clinical_question"] = "Which trial?" + chr(7)
    with pytest.raises(ops.InvalidCase) as err:
        ops.create_case(doc, by=referrer)
    assert {p.field for p in err.value.problems} == {"clinical_question", "family.questions[3]"}
    doc = example()
    doc["clinical_question"] = "Line one\nLine two\twith a tab"
    assert ops.create_case(doc, by=referrer).case.data["clinical_question"].count("\n") == 1


# --------------------------------------------------------------------------- urgency after submission
def _urgent_after_information_request(db_session, referrer, coordinator):
    """A submitted routine case that the coordinator marked urgent, then sent back with a
    question (so the referrer may edit it again)."""
    from panel.meetings import triage

    case = ops.create_case(example(), by=referrer).case
    ops.submit_case(case, by=referrer)
    triage.set_urgency(case, True, by=coordinator, reason="progressing")
    ops.request_information(case, by=coordinator, questions=["What was the mIBG response?"])
    db_session.commit()
    return case


def test_who_may_set_the_urgency(app, db_session, referrer, coordinator):
    """Does the urgency belong to the referrer until the first submission and to the panel's
    coordinator afterwards (also while the referrer edits after an information request)?"""
    case = ops.create_case(example(), by=referrer).case
    assert case.can_set_urgency(referrer) and not case.can_set_urgency(coordinator)
    ops.submit_case(case, by=referrer)
    assert not case.can_set_urgency(referrer) and case.can_set_urgency(coordinator)
    ops.request_information(case, by=coordinator, questions=["What was the mIBG response?"])
    assert case.can_edit(referrer) and not case.can_set_urgency(referrer)
    assert case.can_set_urgency(coordinator)


def test_referrer_edits_after_submission_keep_the_coordinators_urgency(
    app, db_session, referrer, coordinator
):
    """Does an edit after an information request that leaves urgency out, or repeats it, keep
    the coordinator's 'urgent', and is a change refused naming the field (nothing saved)?"""
    case = _urgent_after_information_request(db_session, referrer, coordinator)
    doc = ops.to_document(case)
    doc.pop("urgency")
    doc["clinical_question"] = "Which trial now?"
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    assert case.urgency == "urgent" and case.data["urgency"] == "urgent"
    doc["urgency"] = "urgent"
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    assert case.urgency == "urgent"
    db_session.commit()
    doc["urgency"] = "routine"
    version = case.version
    with pytest.raises(ops.InvalidCase) as err:
        ops.update_case(case, doc, by=referrer, expected_version=version)
    assert [p.field for p in err.value.problems] == ["urgency"]
    assert "coordinator" in err.value.problems[0].message
    db_session.rollback()
    db_session.refresh(case)
    assert case.urgency == "urgent" and case.version == version


def test_referrer_still_sets_urgency_before_the_first_submission(app, db_session, referrer):
    case = ops.create_case(example(), by=referrer).case
    doc = ops.to_document(case)
    doc["urgency"] = "urgent"
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    assert case.urgency == "urgent"
    doc.pop("urgency")
    ops.update_case(case, doc, by=referrer, expected_version=case.version)
    assert case.urgency == "routine"  # a draft's document is the referrer's whole answer
