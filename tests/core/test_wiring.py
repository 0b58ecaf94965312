"""One wiring: every domain registers itself through ``init_app``; the case page's panels are
registered, and a mistake in either fails at start-up instead of silently dropping a page."""

from __future__ import annotations

import pytest
from flask import Flask
from jinja2 import TemplateNotFound

import panel
from panel.core.casepage import register_panel, registered_panels


def test_a_domain_without_init_app_refuses_to_start(monkeypatch):
    """Does create_app refuse a domain that has no init_app, rather than leave its pages out?"""
    monkeypatch.setattr(panel, "DOMAINS", (*panel.DOMAINS, "panel.privacy"))
    with pytest.raises(panel.ConfigurationError, match="panel.privacy has no init_app"):
        panel.create_app("testing")


def test_every_domain_registers_its_case_page_panels(app):
    """Are the case page's cards all registered, each in its slot and order?"""
    names = [p.name for p in registered_panels(app)]
    assert names == [
        "feedback.banner",
        "meetings.agenda",
        "feedback.record",
        "outcomes.screening_log",
        "meetings.minutes",
        "trials.suggestions",
        "imaging.images",
        "meetings.comments",
        "cases.timeline",
        "meetings.triage",
        "meetings.review",
        "cases.communication",
        "feedback.family",
        "outcomes.checks",
    ]


def test_a_misspelt_panel_template_or_a_second_registration_fails_loudly(app):
    """Is a panel with a missing template, an unknown slot or a repeated name refused?"""
    scratch = Flask(__name__, template_folder=app.template_folder)
    with pytest.raises(TemplateNotFound):
        register_panel(scratch, "x.missing", "meetings/_case_comment.html", lambda c, u, s: None)
    with pytest.raises(ValueError, match="slot"):
        register_panel(
            scratch, "x.slot", "meetings/_case_comments.html", lambda c, u, s: None, slot="footer"
        )
    register_panel(scratch, "x.twice", "meetings/_case_comments.html", lambda c, u, s: None)
    with pytest.raises(ValueError, match="twice"):
        register_panel(scratch, "x.twice", "meetings/_case_comments.html", lambda c, u, s: None)


#: Where each command of `flask --app panel` is defined: every one by its domain (issue 13).
COMMAND_HOMES = {
    "audit-verify": "panel.core.cli",
    "send-mail": "panel.core.cli",
    "load-reference-data": "panel.accounts.cli",
    "create-user": "panel.accounts.cli",
    "demo-data": "panel.accounts.cli",
    "demo-logins": "panel.accounts.cli",
    "demo-totp": "panel.accounts.cli",
    "import-case": "panel.cases.cli",
    "export-case": "panel.cases.cli",
    "backup": "panel.ops.cli",
    "restore": "panel.ops.cli",
}


def test_commands_are_defined_and_registered_by_their_domains(app):
    from pathlib import Path

    assert not (Path(panel.__file__).parent / "cli.py").exists()  # no app-wide command module
    commands = app.cli.list_commands(None)
    for name, module in COMMAND_HOMES.items():
        assert name in commands, name
        assert app.cli.get_command(None, name).callback.__module__ == module, name
