"""Migration 0021 converts every stored case and revision to panel-case/2 without loss, and
its downgrade converts them back (refusing while a case of another tumour type is stored)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.support.db import database_url, dispose, make_app, migrate_and_seed
from tests.support.factories import CaseFactory, UserFactory

DATA = Path(__file__).resolve().parents[1] / "data"


def _examples():
    return [json.loads(p.read_text()) for p in sorted(DATA.glob("case-example-*.json"))]


def test_stored_cases_become_panel_case_2_and_back(backend, tmp_path):
    """After a downgrade to 0020 (bodies written as panel-case/1, as 0020 stored them) and an
    upgrade, is every case and revision the v2 document the converter gives, does the v1 export
    equal what was stored, and does a downgrade give the v1 bodies back?"""
    from panel.caseformat import convert
    from panel.cases import operations as ops
    from panel.cases.models import Case, CaseRevision
    from panel.core.db import db

    app = make_app(database_url(backend, tmp_path, "panel_test_format_mig"), tmp_path / "st")
    migrate_and_seed(app)
    try:
        with app.app_context(), app.test_request_context("/"):
            referrer = UserFactory(db.session)(referrer_at="NEWCASTLE")
            make_case = CaseFactory(db.session)
            submitted = make_case(referrer, submit=True)
            draft = make_case(referrer)
            db.session.commit()
            ids = [submitted.id, draft.id]
            v1_docs = {c.id: ops.to_document_v1(c) for c in (submitted, draft)}
            db.session.remove()

        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "downgrade", "0020"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            rows = dict(db.session.execute(select(Case.id, Case.data)).all())
            for case_id in ids:
                assert rows[case_id]["schema"] == "panel-case/1"
                body = copy.deepcopy(v1_docs[case_id])
                body.pop("reference")
                body.get("family", {}).pop("questions", None)
                stored = copy.deepcopy(rows[case_id])
                stored.get("family", {}).pop("questions", None)
                assert stored == body
            revs = db.session.scalars(select(CaseRevision.document)).all()
            assert revs and all(r["schema"] == "panel-case/1" for r in revs)
            db.session.remove()

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            for case_id in ids:
                case = db.session.get(Case, case_id)
                assert case.data["schema"] == "panel-case/2"
                assert case.tumour["morphology"] in ("9500/3", "9490/3")
                assert ops.to_document_v1(case) == v1_docs[case_id]
            for rev in db.session.scalars(select(CaseRevision)):
                assert rev.document["schema"] == "panel-case/2"
                assert convert.v2_to_v1(rev.document)["reference"] == rev.document["reference"]
            db.session.remove()
    finally:
        dispose(app)


def test_downgrade_refuses_while_another_tumour_type_is_stored(backend, tmp_path):
    """A rhabdomyosarcoma case cannot be written as panel-case/1: the downgrade stops and says
    which row, and changes nothing."""
    from panel.caseformat import convert
    from panel.cases import operations as ops
    from panel.cases.models import Case
    from panel.core.db import db

    app = make_app(database_url(backend, tmp_path, "panel_test_format_down"), tmp_path / "st")
    migrate_and_seed(app)
    try:
        with app.app_context(), app.test_request_context("/"):
            referrer = UserFactory(db.session)(referrer_at="NEWCASTLE")
            doc = convert.v1_to_v2(_examples()[0])
            doc.pop("reference", None)
            doc["tumour"] = {"morphology": "8920/3"}
            del doc["modules"]
            doc["panel"] = "ECMC-NORTH"
            case = ops.create_case(doc, by=referrer).case
            db.session.commit()
            case_id = case.id
            db.session.remove()
        runner = app.test_cli_runner()
        assert runner.invoke(args=["db", "downgrade", "0021"]).exit_code == 0
        result = runner.invoke(args=["db", "downgrade", "0020"])
        assert result.exit_code != 0  # Flask-Migrate logs the migration's message and exits 1
        with app.app_context():
            version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == "0021"
            assert db.session.get(Case, case_id).data["schema"] == "panel-case/2"
            db.session.remove()
    finally:
        dispose(app)


@pytest.mark.parametrize("example", range(2))
def test_a_v1_save_keeps_what_v1_cannot_carry(app, db_session, make_user, example):
    """A v1 client replacing a neuroblastoma case keeps its local MDT, organ-function values and
    a line's dates (convert.merge_v1): a v1 round trip loses nothing stored."""
    from panel.caseformat import convert
    from panel.cases import operations as ops

    referrer = make_user(referrer_at="NEWCASTLE")
    doc = convert.v1_to_v2(_examples()[example])
    doc.pop("reference", None)
    doc["local_mdt"] = {"discussed": True, "months_ago": 1, "outcome": "Refer to the panel."}
    doc["organ_function"] = {**(doc.get("organ_function") or {}), "gfr_ml_min_173m2": 95}
    doc["treatment"]["lines"][0]["start_month"] = 0
    case = ops.create_case(doc, by=referrer).case
    db_session.commit()
    before = ops.to_document(case)
    ops.update_case(case, ops.to_document_v1(case), by=referrer, expected_version=case.version)
    db_session.commit()
    assert ops.to_document(case) == before
