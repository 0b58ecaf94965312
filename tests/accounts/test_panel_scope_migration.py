"""Migration 0022 adds what a panel takes and its family words, and fills the packaged panels
by code (so an existing deployment gets them); a panel it does not know takes any tumour.
Downgrading removes the columns and keeps the panels and their cases."""

from __future__ import annotations

from sqlalchemy import inspect, text

from panel.accounts.reference import _load, source_line
from tests.support.db import database_url, dispose, make_app

COLUMNS = {
    "takes_iccc",
    "takes_morphology",
    "takes_words",
    "takes_source",
    "family_words",
    "family_words_source",
}


def test_0022_fills_the_panels_by_code_and_downgrades(backend, tmp_path):
    app = make_app(database_url(backend, tmp_path, "panel_test_scope_mig"), tmp_path / "st")
    runner = app.test_cli_runner()
    from panel.core.db import db

    try:
        result = runner.invoke(args=["db", "upgrade", "0020"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            for code, scope in (
                ("NAP", "national"),
                ("ECMC-NORTH", "regional"),
                ("LOCAL-TEST", "regional"),
            ):
                db.session.execute(
                    text(
                        "INSERT INTO panels (code, name, scope, remit, quorum) "
                        "VALUES (:c, :n, :s, '', 3)"
                    ),
                    {"c": code, "n": f"{code} panel", "s": scope},
                )
            db.session.commit()
            db.session.remove()

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        packaged = {p["code"]: p for p in _load("panels.json")["panels"]}
        with app.app_context():
            from panel.accounts.models import Panel

            panels = {p.code: p for p in db.session.query(Panel)}
            nap, north, local = panels["NAP"], panels["ECMC-NORTH"], panels["LOCAL-TEST"]
            assert nap.takes_iccc == ["IVa"] and nap.takes_morphology == []
            assert nap.takes_words == "neuroblastoma"
            assert nap.family_words == packaged["NAP"]["family_words"]["text"]
            assert nap.takes_source == source_line(packaged["NAP"]["takes"])
            assert nap.refusal_for({"morphology": "8920/3"}).startswith(
                f"The {nap.name} takes neuroblastoma only"
            )
            assert north.takes_any_tumour and north.takes({"morphology": "8920/3"})
            assert north.family_words == packaged["ECMC-NORTH"]["family_words"]["text"]
            assert local.takes_any_tumour and local.family_words == "" and local.takes_source == ""
            db.session.remove()

        result = runner.invoke(args=["db", "downgrade", "0020"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            columns = {c["name"] for c in inspect(db.engine).get_columns("panels")}
            assert not columns & COLUMNS
            codes = set(db.session.execute(text("SELECT code FROM panels")).scalars())
            assert codes == {"NAP", "ECMC-NORTH", "LOCAL-TEST"}
            db.session.remove()
    finally:
        dispose(app)
