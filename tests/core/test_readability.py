"""The readability score of family-facing text (panel/core/readability.py): textstat's
Flesch-Kincaid grade, offline, and the sentences to shorten."""

import socket

import pytest

from panel.core import readability


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("readability tried the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_plain_words_score_low_and_list_nothing(no_network):
    s = readability.score("The panel is a group of doctors. They looked at the scans. They talked.")
    assert s.grade is not None and s.grade <= readability.TARGET_GRADE
    assert not s.above_target
    assert s.to_shorten == []
    assert s.words == 14


def test_hard_sentences_are_listed_hardest_first(no_network):
    hard = (
        "Following comprehensive multidisciplinary deliberation, the panel recommends "
        "consideration of investigational immunotherapeutic approaches."
    )
    harder = (
        "Radiological reassessment incorporating metaiodobenzylguanidine scintigraphy "
        "is recommended subsequently."
    )
    s = readability.score(f"We met. {hard} {harder}")
    assert s.above_target
    listed = [x.text for x in s.to_shorten]
    assert listed[0] == harder and listed[1] == hard
    assert "We met." not in listed
    d = s.as_dict()
    assert d["target"] == 6.0 and d["above_target"] is True and len(d["to_shorten"]) == 2


def test_a_long_sentence_of_short_words_is_listed():
    words = " ".join(["we"] * 11 + ["can"] * 11)
    s = readability.score(words + ".")
    assert [x.words for x in s.to_shorten] == [22]


def test_lines_count_as_sentences():
    s = readability.score("Ask your doctor\nBring a list\nTake your time")
    assert [x.text for x in s.sentences] == ["Ask your doctor", "Bring a list", "Take your time"]


def test_empty_text_has_no_grade():
    for text in ("", "   ", "\n\n", "..."):
        s = readability.score(text)
        assert s.grade is None and not s.above_target and s.to_shorten == []


def test_the_dictionary_is_written_in_nltk_format(tmp_path, monkeypatch):
    monkeypatch.setattr(readability, "_dictionary_dirs", lambda: [tmp_path])
    root = readability._write_dictionary()
    lines = (root / "corpora" / "cmudict" / "cmudict").read_text().splitlines()
    assert len(lines) > 100_000
    word, number, *phones = next(
        line for line in lines if line.startswith("neurofibromatosis ")
    ).split()
    assert number == "1" and phones[0] == "N"


def test_the_grade_is_shown_as_people_read_it():
    assert readability.score("We met. We talked.").grade_label == "below 1"
    label = readability.score("The panel looked at the scans of the child.").grade_label
    assert label[0].isdigit() and float(label) < 6, label
    hard = readability.score(
        "Multidisciplinary immunotherapeutic investigational radiopharmaceutical "
        "metaiodobenzylguanidine reassessment."
    )
    assert hard.grade > 16 and hard.grade_label == "above 16"
    assert readability.score("").grade_label == ""
