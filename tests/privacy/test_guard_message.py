"""The one message for text refused for identifiers: exact wording, punctuation given once
(issue 14: callers' "." and ";" used to be doubled, e.g. "... birth.; Looks like ...")."""

from __future__ import annotations

import pytest

from panel.core.errors import IdentifiersFound
from panel.privacy.guard import GuardFinding, guard_texts, identifiers_message


def _finding(kind: str, field: str = "discussion") -> GuardFinding:
    return GuardFinding(field, kind, "hard", 0, 1, kind)


def test_default_message():
    assert identifiers_message([_finding("nhs_number")]) == (
        "Not saved: the text looks like it contains a patient identifier (NHS number). "
        "Remove it and try again."
    )


def test_kinds_are_named_as_people_read_them_once_each():
    findings = [_finding(k) for k in ("postcode", "nhs_number", "phone", "date", "postcode")]
    assert identifiers_message(findings, where=str) == (
        "Not saved: the text looks like it contains a patient identifier "
        "(date, NHS number, phone number, postcode) in discussion. Remove it and try again."
    )


@pytest.mark.parametrize(
    ("what", "again", "where"),
    [
        ("Comment not posted", "Remove it and post again.", "the comment"),
        ("Comment not posted:", "Remove it and post again", "the comment."),
        ("Comment not posted.", "Remove it and post again;", "the comment;"),
    ],
)
def test_callers_punctuation_is_never_doubled(what, again, where):
    message = identifiers_message(
        [_finding("email")], what=what, again=again, where=lambda f: where
    )
    assert message == (
        "Comment not posted: the text looks like it contains a patient identifier "
        "(e-mail address) in the comment. Remove it and post again."
    )
    for doubled in (". ;", ".;", ";.", "..", ":.", ".:", "::", ". .", ",."):
        assert doubled not in message


def test_guard_texts_raises_with_the_message():
    with pytest.raises(IdentifiersFound) as caught:
        guard_texts([("reason", "NHS number 943 476 5919, postcode NR1 3AB.")])
    assert caught.value.user_message == (
        "Not saved: the text looks like it contains a patient identifier (NHS number, postcode). "
        "Remove it and try again."
    )
