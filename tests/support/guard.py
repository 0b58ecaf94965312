"""Helpers of the identifier guard's unit tests (tests/privacy/test_structured_round*.py)."""

from __future__ import annotations

from panel.privacy import corpus, find_identifiers


def hard_covers(text: str, value: str) -> bool:
    """Is ``value`` caught, by the corpus scorer's rule (hard findings over every word
    character of it)?"""
    return corpus.caught(text, value, find_identifiers(text))


def hard(text: str) -> list:
    """The hard findings in ``text``."""
    return [f for f in find_identifiers(text) if f.severity == "hard"]


def soft_names(text: str) -> list[str]:
    """The text of the soft person_name findings in ``text``."""
    return [
        f.text for f in find_identifiers(text) if f.kind == "person_name" and f.severity == "soft"
    ]
