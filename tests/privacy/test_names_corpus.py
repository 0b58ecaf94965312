"""The identifier guard on issue 17's corpora of names and identifiers it used to miss.

``names_corpus.jsonl`` to ``names_corpus_13.jsonl`` are in-sample (the guard was tuned on them,
each after it was scored once while held out); the current round's held-out set, when there is
one, is ``heldout_names_<round>.jsonl`` with its own floor test.  The scoring
rules are :mod:`panel.privacy.corpus`'s (an identifier is caught only when hard findings cover
every word character of it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from panel.privacy import corpus

HERE = Path(__file__).parent
IN_SAMPLE = HERE / "names_corpus.jsonl"
#: Round 1's held-out set, scored once (names 69.4 %, structured 82.7 %, false positives 2.5 %)
#: and in-sample since: the guard was then generalised on its kinds of failure.
IN_SAMPLE_2 = HERE / "names_corpus_2.jsonl"
#: Round 2's held-out set (was ``heldout_names.jsonl``), scored once (names 58.0 %, structured
#: 77.3 %, false positives 0.8 %) and in-sample since: round 3 was tuned on its kinds of failure.
IN_SAMPLE_3 = HERE / "names_corpus_3.jsonl"
#: Round 3's held-out set (was ``heldout_names_3.jsonl``, CORPUS_NAMES_3.md), scored once on
#: 6 Dec 2026 after the round 3 guard was merged: names 93/119 = 78.2 %, structured 95/106 =
#: 89.6 %, false positives 2/125 = 1.6 % (issue 17's goal: 90 %, 99 %, at most 2 %); in-sample
#: since round 4 tunes on its kinds of failure (a fresh writer wrote round 4's held-out set first).
IN_SAMPLE_4 = HERE / "names_corpus_4.jsonl"
#: Round 4's held-out set (was ``heldout_names_4.jsonl``, CORPUS_NAMES_4.md), written by a fresh
#: writer apart from the guard, merged after the round 4 guard and scored once on 6 Dec 2026:
#: names 300/355 = 84.5 % (287/320 = 89.7 % without the staff names identifiers.md does not ask
#: for), structured 160/175 = 91.4 %, false positives 15/166 = 9.0 % (13 of them full dates,
#: which identifiers.md makes hard). In-sample since: round 5 tunes on it, and a fresh writer
#: writes round 5's held-out set first.
IN_SAMPLE_5 = HERE / "names_corpus_5.jsonl"
#: Round 5's held-out set (CORPUS_NAMES_5.md), written by a fresh writer labelling by
#: identifiers.md, merged after the round 5 guard and scored once on 6 Dec 2026: names 264/290 =
#: 91.0 %, structured 167/180 = 92.8 %, false positives 8/173 = 4.6 % (issue 17's goal: 90 %,
#: 99 %, at most 2 %: names met on unseen text; structured and false positives not). 7 of its
#: 8 false positives were clinicians named after a title ("Dear Dr Okoro", "surgeon Mr Oduya",
#: "Consultant: Dr Wilson"), which rounds 4 and 5 had made hard against identifiers.md (hard only
#: for the family's names): fixed after that scoring, so the file is in-sample since (was
#: heldout_names_5.jsonl). The guard after the fix has no held-out figure yet.
IN_SAMPLE_6 = HERE / "names_corpus_6.jsonl"
#: Round 6's held-out set (CORPUS_NAMES_6.md), written by a fresh writer labelling by
#: identifiers.md, merged after the guard as it stands and scored once on 6 Dec 2026: names
#: 232/244 = 95.1 % (goal 90 %: met), structured 134/137 = 97.8 % (goal 99 %: not met, 3 misses),
#: false positives 3/158 = 1.9 % (goal at most 2 %: met).
#: In-sample since 7 Dec 2026 (was ``heldout_names_6.jsonl``): round 7 tunes on its misses, and a
#: fresh writer writes round 7's held-out set first.
IN_SAMPLE_7 = HERE / "names_corpus_7.jsonl"
IN_SAMPLE_8 = HERE / "names_corpus_8.jsonl"
#: Round 8's held-out set (CORPUS_NAMES_8.md), written blind by a fresh writer, merged after the
#: round 8 guard and scored once on 7 Dec 2026: names 226/246 = 91.9 %, structured 317/336 =
#: 94.3 %, false positives 4/166 = 2.4 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_8.jsonl``): round 9 tunes on its misses, and
#: a fresh writer writes round 9's held-out set first.
IN_SAMPLE_9 = HERE / "names_corpus_9.jsonl"
#: Round 9's held-out set (CORPUS_NAMES_9.md), written blind by a fresh writer, merged after the
#: round 9 guard and scored once on 7 Dec 2026: names 197/212 = 92.9 %, structured 324/335 =
#: 96.7 %, false positives 2/165 = 1.2 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_9.jsonl``): round 10 tunes on its misses, and
#: a fresh writer writes round 10's held-out set first.
IN_SAMPLE_10 = HERE / "names_corpus_10.jsonl"
#: Round 10's held-out set (CORPUS_NAMES_10.md), written blind by a fresh writer, merged after the
#: round 10 guard and scored once on 7 Dec 2026: names 188/205 = 91.7 %, structured 324/332 =
#: 97.6 %, false positives 2/165 = 1.2 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_10.jsonl``): round 11 tunes on its misses, and
#: a fresh writer writes round 11's held-out set first.
IN_SAMPLE_11 = HERE / "names_corpus_11.jsonl"
#: Round 11's held-out set (CORPUS_NAMES_11.md), written blind by a fresh writer, merged after the
#: round 11 guard and scored once on 7 Dec 2026: names 195/210 = 92.9 %, structured 329/345 =
#: 95.4 %, false positives 1/165 = 0.6 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_11.jsonl``): round 12 tunes on its misses, and
#: a fresh writer writes round 12's held-out set first.
IN_SAMPLE_12 = HERE / "names_corpus_12.jsonl"
#: Round 12's held-out set (CORPUS_NAMES_12.md), written blind by a fresh writer, merged after the
#: round 12 guard and scored once on 7 Dec 2026: names 202/212 = 95.3 %, structured 340/353 =
#: 96.3 %, false positives 2/165 = 1.2 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_12.jsonl``): round 13 tunes on its misses, and
#: a fresh writer writes round 13's held-out set first.
IN_SAMPLE_13 = HERE / "names_corpus_13.jsonl"
#: Round 13's held-out set (CORPUS_NAMES_13.md), written blind by a fresh writer, merged after the
#: round 13 guard and scored once on 7 Dec 2026: names 145/149 = 97.3 %, structured 358/381 =
#: 94.0 %, false positives 2/165 = 1.2 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_13.jsonl``): round 14 tunes on its misses, and
#: a fresh writer writes round 14's held-out set first.
IN_SAMPLE_14 = HERE / "names_corpus_14.jsonl"
#: Round 14's held-out set (CORPUS_NAMES_14.md), written blind by a fresh writer, merged after the
#: round 14 guard and scored once on 7 Dec 2026: names 162/171 = 94.7 %, structured 357/375 =
#: 95.2 %, false positives 3/165 = 1.8 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_14.jsonl``): round 15 tunes on its misses, and
#: a fresh writer writes round 15's held-out set first.
IN_SAMPLE_15 = HERE / "names_corpus_15.jsonl"
#: Round 15's held-out set (CORPUS_NAMES_15.md), written blind by a fresh writer, merged after the
#: round 15 guard and scored once on 7 Dec 2026: names 102/109 = 93.6 %, structured 332/341 =
#: 97.4 %, false positives 0/165 = 0.0 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_15.jsonl``): round 16 tunes on its misses, and
#: a fresh writer writes round 16's held-out set first.
IN_SAMPLE_16 = HERE / "names_corpus_16.jsonl"
#: Round 16's held-out set (CORPUS_NAMES_16.md), written blind by a fresh writer, merged after the
#: round 16 guard and scored once on 7 Dec 2026: names 111/119 = 93.3 %, structured 451/471 =
#: 95.8 %, false positives 4/165 = 2.4 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_16.jsonl``): round 17 tunes on its misses, and
#: a fresh writer writes round 17's held-out set first.
IN_SAMPLE_17 = HERE / "names_corpus_17.jsonl"
#: Round 17's held-out set (CORPUS_NAMES_17.md), written blind by a fresh writer, merged after the
#: round 17 guard and scored once on 7 Dec 2026: names 112/119 = 94.1 %, structured 386/404 =
#: 95.5 %, false positives 5/165 = 3.0 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_17.jsonl``): round 18 tunes on its misses, and
#: a fresh writer writes round 18's held-out set first.
IN_SAMPLE_18 = HERE / "names_corpus_18.jsonl"
#: Round 18's held-out set (CORPUS_NAMES_18.md), written blind by a fresh writer, merged after the
#: round 18 guard and scored once on 7 Dec 2026: names 105/110 = 95.5 %, structured 560/578 =
#: 96.9 %, false positives 4/165 = 2.4 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_18.jsonl``): round 19 tunes on its misses, and
#: a fresh writer writes round 19's held-out set first.
IN_SAMPLE_19 = HERE / "names_corpus_19.jsonl"
#: Round 19's held-out set (CORPUS_NAMES_19.md), written blind by a fresh writer, merged after the
#: round 19 guard and scored once on 7 Dec 2026: names 356/413 = 86.2 %, structured 512/533 =
#: 96.1 %, false positives 3/165 = 1.8 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_19.jsonl``): round 20 tunes on its misses, and
#: a fresh writer writes round 20's held-out set first.
IN_SAMPLE_20 = HERE / "names_corpus_20.jsonl"
#: Round 20's held-out set (CORPUS_NAMES_20.md), written blind by a fresh writer, merged after the
#: round 20 guard and scored once on 7 Dec 2026: names 383/422 = 90.8 %, structured 495/513 =
#: 96.5 %, false positives 1/165 = 0.6 % (issue 17's goal: 90 %, 99 %, at most 2 %).
#: In-sample since 7 Dec 2026 (was ``heldout_names_20.jsonl``): round 21 tunes on its misses, and
#: a fresh writer writes round 21's held-out set first.
IN_SAMPLE_21 = HERE / "names_corpus_21.jsonl"
#: Round 21's held-out set (CORPUS_NAMES_21.md), written blind by a fresh writer, merged after the
#: round 21 guard and scored once on 8 Dec 2026: names 207/222 = 93.2 %, structured 365/383 =
#: 95.3 %, false positives 0/165 = 0.0 % (issue 17's goal: 90 %, 99 %, at most 2 %).
HELD_OUT = HERE / "heldout_names_21.jsonl"
#: Round 7's held-out set (CORPUS_NAMES_7.md), written blind by a fresh writer labelling by
#: identifiers.md, merged after the round 7 guard and scored once on 7 Dec 2026: names 227/254 =
#: 89.4 %, structured 271/295 = 91.9 %, false positives 1/166 = 0.6 % (issue 17's goal: 90 %,
#: 99 %, at most 2 %). In-sample since 7 Dec 2026 (was ``heldout_names_7.jsonl``): round 8
#: tunes on its misses, and a fresh writer writes round 8's held-out set first.


def check_corpus(
    path: Path,
    *,
    min_names_recall: float,
    min_structured_recall: float,
    max_false_positive_rate: float,
) -> corpus.Score:
    """Names recall leaves out clinicians named after a title (identifiers.md asks for the
    family's names; the guard warns on clinicians', and older corpora label some of them)."""
    rows = corpus.without_staff_names(corpus.load(path))
    sc = corpus.score(rows)
    print(
        f"{path.name}: names recall {sc.names_recall:.1%} ({sc.names_caught}/{sc.names}), "
        f"structured recall {sc.structured_recall:.1%} ({sc.structured_caught}/{sc.structured}), "
        f"false positives {sc.false_positive_rate:.1%} ({sc.clean_hard}/{sc.clean}), "
        f"soft findings only on {sc.clean_soft_only} clean rows"
    )
    missed = [f"{cat} {kind}: {text}" for cat, kind, text in sc.missed]
    assert sc.names_recall >= min_names_recall, missed
    assert sc.structured_recall >= min_structured_recall, missed
    assert sc.false_positive_rate <= max_false_positive_rate, sc.false_positives
    return sc


@pytest.mark.parametrize(
    "path, size",
    [
        (IN_SAMPLE, 300),
        (IN_SAMPLE_2, 250),
        (IN_SAMPLE_3, 270),
        (IN_SAMPLE_4, 270),
        (IN_SAMPLE_5, 470),
        (IN_SAMPLE_6, 470),
        (IN_SAMPLE_7, 420),
        (IN_SAMPLE_8, 460),
    ],
)
def test_corpus_rows_are_well_formed(path: Path, size: int):
    rows = corpus.load(path)
    assert len(rows) >= size
    for row in rows:
        assert set(row) >= {"text", "identifiers", "category", "source"}
        for ident in row["identifiers"]:
            assert ident["value"] in row["text"], ident


# Round 4 (6 Dec 2026) measured names 99.2 % (119/120) on names_corpus.jsonl and 99.0 % (97/98)
# on names_corpus_2.jsonl, structured 100 % on both. Round 7 (7 Dec 2026, without staff names)
# measures names 100 % (113/113, 94/94), structured 100 % (118/118, 98/98), false positives
# 0/154 and 1/120: the floors are those figures.
@pytest.mark.parametrize(
    "path, max_fp",
    [(IN_SAMPLE, 0.0), (IN_SAMPLE_2, 0.0084)],
    ids=lambda p: getattr(p, "name", str(p)),
)
def test_in_sample_names_corpus(path: Path, max_fp: float):
    check_corpus(
        path,
        min_names_recall=1.0,
        min_structured_recall=1.0,
        max_false_positive_rate=max_fp,
    )


# Round 2's held-out set, now in-sample as ``names_corpus_3.jsonl``: scored once while held out
# (2026-12-06, after round 2): names 58.0 % (58/100), structured 77.3 % (75/97), false positives
# 0.8 % (1/125); before issue 17 (ede0147): 14.0 %, 20.6 %, 0.8 %. Round 3 tuned the guard on
# its kinds of failure and reached names 91.0 % (91/100), structured 100 % (97/97), false
# positives 0.8 % (1/125); round 4 reached names 95.0 % (95/100), false positives 0 %. Names
# below are a floor a point under round 4's figure (an in-sample figure says little about unseen
# text); structured and false positives are held to issue 17's goals.
# Round 7 measures names 95.7 % (89/93), structured 100 % (97/97), false positives 0/125: the
# floors are those figures.
def test_in_sample_names_corpus_3():
    check_corpus(
        IN_SAMPLE_3,
        min_names_recall=0.956,
        min_structured_recall=1.0,
        max_false_positive_rate=0.0,
    )


# Round 3's held-out set, now in-sample: held out it measured names 78.2 %, structured 89.6 %,
# false positives 1.6 %; round 4 tuned on its kinds of failure (rules by kind, no list of its
# strings) and reached names 100 % (119/119), structured 100 % (106/106), false positives 0 %
# (0/125). Floors a point below (in-sample figures; the held-out set of round 4 says more).
# Round 7 measures 100 % (109/109), 100 % (106/106), 0/125: the floors are those figures.
def test_in_sample_names_corpus_4():
    check_corpus(
        IN_SAMPLE_4,
        min_names_recall=1.0,
        min_structured_recall=1.0,
        max_false_positive_rate=0.0,
    )


# Round 4's held-out set, now in-sample (CORPUS_NAMES_4.md): held out it measured names 84.5 %
# (89.7 % without staff names), structured 91.4 %, false positives 9.0 % (13 of the 15 flagged
# clean rows held full dates, relabelled as dates since, per identifiers.md: 153 clean rows
# remain). Round 5 tuned on its kinds of failure (rules by kind, each with fresh examples and
# clean counter-examples in test_names_round5.py, no list of its strings) and reached names
# 92.7 % (329/355; 98.8 %, 316/320, without staff names), structured 100 % (193/193), false
# positives 0 % (0/153). Floors a point below (in-sample figures).
def test_in_sample_names_corpus_5():
    rows = corpus.load(IN_SAMPLE_5)
    assert len(rows) >= 470
    # round 7 measures names 98.8 % (316/320), structured 100 % (193/193), false positives
    # 0/153: the floors are those figures. Round 8 measures names 99.4 % (318/320), structured
    # 100 % (193/193), false positives 1/153. Round 8's owner decision (a day with a month in
    # words is a hard date, with or without a year) makes one clean row of this writer's
    # ("... CT booked for Monday 3 March; treatment starts 17 March") a hard finding: its
    # writer left day-month dates without a year unlabelled. 1/153 is that row alone. Round 9
    # measures names 99.7 % (319/320: an untitled radiographer's name after "Radiographer:"),
    # structured 100 %, false positives 1/153 (that row). Round 11 makes "Mr <Surname> (consultant
    # surgeon)" staff, soft (identifiers.md: only the family's names are hard); this writer
    # labelled one such surgeon as a name, so names are 99.4 % (318/320): an accepted miss.
    sc = check_corpus(
        IN_SAMPLE_5,
        min_names_recall=0.9937,
        min_structured_recall=1.0,
        max_false_positive_rate=0.007,
    )
    assert all("March" in text for text in sc.false_positives)


def test_staff_names_are_told_from_the_familys():
    assert corpus.is_staff_name("Seen by Dr Amelia Hart today", "Amelia Hart")
    assert corpus.is_staff_name("thank you nurse funmi", "funmi")
    assert corpus.is_staff_name("the surgeon, Mr Gareth Rees, saw him", "Gareth Rees")
    assert not corpus.is_staff_name("Mr Gareth Rees, his father, asked", "Gareth Rees")
    assert not corpus.is_staff_name("her sister Jade came too", "Jade")


def test_caught_needs_every_word_character():
    from panel.privacy.scanner import Finding

    text = "Ciarán Ó Briain is here"
    part = [Finding("person_name", 0, 6, "hard", "Ciarán", "m")]
    whole = [Finding("person_name", 0, 15, "hard", text[:15], "m")]
    soft = [Finding("person_name", 0, 15, "soft", text[:15], "m")]
    assert not corpus.caught(text, "Ciarán Ó Briain", part)
    assert corpus.caught(text, "Ciarán Ó Briain", whole)
    assert not corpus.caught(text, "Ciarán Ó Briain", soft)


@pytest.mark.parametrize(
    "path, rows, names, structured, false_positives",
    [
        # Round 5's held-out set, scored once while held out (91.0 % / 92.8 % / 4.6 %), in-sample since
        # the clinicians' titles were made soft again (see IN_SAMPLE_6): floors at what it measures now.
        # Round 7 (kinds of failure of round 6's set, our own examples in test_structured_round7.py)
        # raised structured recall from 92.8 % (167/180) to 99.4 % (179/180; "planned 2 Dec", a day and
        # month in words without a year, stays a warning) and cut false positives from 2/173 to 1/173;
        # names 91.0 % (264/290) as before. Round 8 (kinds of failure of round 7's set; its own
        # examples in test_structured_round8.py) measures names 96.6 % (280/290), structured 100 %
        # (180/180; a day and month in words is a hard date now), false positives 1/173. Round 9
        # measures names 96.9 % (281/290), structured 100 %, false positives 1/173. Round 11
        # measures names 97.2 % (282/290: a pet name after "we call him" is found now).
        pytest.param(IN_SAMPLE_6, 470, 0.972, 1.0, 0.006, id="names_corpus_6"),
        # Round 6's held-out set, scored once while held out (95.1 % / 97.8 % / 1.9 %), in-sample since
        # round 7 tuned on its kinds of failure: names 95.1 % (232/244), structured 100 % (137/137),
        # false positives 2/158 = 1.3 % ("Ramadan" is no name now). Floors at those figures.
        # Round 8 measures names 98.0 % (239/244), structured 100 % (137/137), false positives 1/158
        # (a ward sister by her title is staff now, a warning). Round 12 measures names 98.4 %
        # (240/244: a capitals "SURNAME, GIVEN" after a label is found now) and false positives
        # 0/158 (a nurse by her title in a parent's message is staff, a warning): floors raised.
        pytest.param(IN_SAMPLE_7, 420, 0.983, 1.0, 0.0, id="names_corpus_7"),
        # Round 7's held-out set, scored once while held out (89.4 % / 91.9 % / 0.6 %), in-sample
        # since round 8 tuned on its kinds of failure (rules by kind, its own examples and clean
        # counter-examples in test_structured_round8.py, no list of the corpus's strings): names 99.6 %
        # (253/254), structured 100 % (295/295), false positives 0/166. Floors at those figures (an
        # in-sample figure says little about unseen text: round 8's held-out set does).
        pytest.param(IN_SAMPLE_8, 460, 0.996, 1.0, 0.0, id="names_corpus_8"),
        # Round 8's held-out set, scored once while held out (91.9 % / 94.3 % / 2.4 %), in-sample since
        # round 9 tuned on its kinds of failure (rules by kind, its own examples and clean
        # counter-examples in test_structured_round9.py, no list of the corpus's strings): names 100 %
        # (246/246), structured 99.4 % (334/336: a nursery's name in brackets and a second, lower-case
        # street after "not the old flat on" are still missed), false positives 0/166. Floors at those
        # figures (an in-sample figure says little about unseen text: round 9's held-out set does).
        pytest.param(IN_SAMPLE_9, 490, 1.0, 0.994, 0.0, id="names_corpus_9"),
        # Round 9's held-out set, scored once while held out (92.9 % / 96.7 % / 1.2 %), in-sample since
        # round 10 tuned on its kinds of failure (rules by kind, its own examples and clean
        # counter-examples in test_structured_round10.py, no list of the corpus's strings): names 98.6 %
        # (209/212), structured 99.7 % (334/335: a house name, a road and a village with no number is
        # still missed), false positives 0/165. Floors at those
        # figures (an in-sample figure says little about unseen text: round 10's held-out set does).
        pytest.param(IN_SAMPLE_10, 490, 0.985, 0.997, 0.0, id="names_corpus_10"),
        # Round 10's held-out set, scored once while held out (91.7 % / 97.6 % / 1.2 %), in-sample
        # since round 11 tuned on its kinds of failure (rules by kind, its own examples and clean
        # counter-examples in test_structured_round11.py, no list of the corpus's strings): names
        # 99.5 % (204/205: a word-name that is no listed name, "that <Word> is eating", is still
        # missed), structured 100 % (332/332), false positives 0/165 (a surgeon after "Mr" with
        # his role in brackets, and "Consultant <Surname>", are staff: soft). Floors at those
        # figures (an in-sample figure says little about unseen text: round 11's held-out set does).
        pytest.param(IN_SAMPLE_11, 515, 0.995, 1.0, 0.0, id="names_corpus_11"),
        # Round 11's held-out set, scored once while held out (92.9 % / 95.4 % / 0.6 %), in-sample
        # since round 12 tuned on its kinds of failure (rules by kind, its own examples and clean
        # counter-examples in test_structured_round12.py, no list of the corpus's strings): names
        # 97.6 % (205/210: a word-name, a Vietnamese given name alone, a nickname before its full
        # name in brackets, a possessive given name after a parent's greeting and a given name
        # inside a page's name are still missed), structured 100 % (345/345), false positives
        # 0/165 ("dr <surname> said" is staff: soft). Floors at those figures (an in-sample
        # figure says little about unseen text: round 12's held-out set does).
        pytest.param(IN_SAMPLE_12, 515, 0.976, 1.0, 0.0, id="names_corpus_12"),
        # Round 12's held-out set, scored once while held out (95.3 % / 96.3 % / 1.2 %), in-sample
        # since round 13 tunes on its kinds of failure. Round 13 measures names 95.3 % (202/212),
        # structured 100 % (353/353), false positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_13, 520, 0.952, 1.0, 0.0, id="names_corpus_13"),
        # Round 13's held-out set, scored once while held out (97.3 % / 94.0 % / 1.2 %), in-sample
        # since round 14 tunes on its kinds of failure. Round 14 measures names 98.0 % (146/149),
        # structured 100 % (381/381), false positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_14, 515, 0.979, 1.0, 0.0, id="names_corpus_14"),
        # Round 14's held-out set, scored once while held out (94.7 % / 95.2 % / 1.8 %), in-sample
        # since round 15 tuned on its kinds of failure. Round 15 measures names 98.8 % (169/171),
        # structured 100 % (375/375), false positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_15, 525, 0.988, 1.0, 0.0, id="names_corpus_15"),
        # Round 15's held-out set, scored once while held out (93.6 % / 97.4 % / 0.0 %), in-sample
        # since round 16 tuned on its kinds of failure. Round 16 measures names 93.6 % (102/109),
        # structured 100 % (341/341), false positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_16, 515, 0.935, 1.0, 0.0, id="names_corpus_16"),
        # Round 16's held-out set, scored once while held out (93.3 % / 95.8 % / 2.4 %), in-sample
        # since round 17 tuned on its kinds of failure (dates by policy). Round 17 measures names
        # 93.3 % (111/119), structured 98.9 % (466/471: every date now caught; two e-mails and
        # three addresses still missed), false positives 2.4 % (4/165): the floors are those
        # figures.
        pytest.param(IN_SAMPLE_17, 520, 0.932, 0.991, 0.025, id="names_corpus_17"),
        # Round 17's held-out set, scored once while held out (94.1 % / 95.5 % / 3.0 %), in-sample
        # since round 18 tuned on its kinds of failure (d/m dates by default). Round 18 measures
        # names 94.2 % (113/120), structured 98.5 % (398/404: every figures-only date now caught;
        # three addresses, two hospital numbers and an Irish month still missed), false positives
        # 0/165: the floors are those figures. Round 21 raises structured recall to 98.8 %
        # (399/404) and its names pass names to 95.8 % (114/119).
        pytest.param(IN_SAMPLE_18, 515, 0.957, 0.987, 0.0, id="names_corpus_18"),
        # Round 18's held-out set, scored once while held out (95.5 % / 96.9 % / 2.4 %), in-sample
        # since round 19 tuned on its kinds of failure (defaults flipped by kind: dotted day.month,
        # numbers in file names and quoted tokens, quoted handles). Round 19 measures names 95.5 %
        # (105/110), structured 99.5 % (575/578: a Welsh house name after "sy'n byw yn", a
        # day/month range after "PICU" and "M-007 3365" after "listed as" still missed), false
        # positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_19, 515, 0.954, 0.994, 0.0, id="names_corpus_19"),
        # Round 19's held-out set, scored once while held out (86.2 % / 96.1 % / 1.8 %), in-sample
        # since round 20 tuned on its kinds of failure (names by where they stand: file names,
        # labels without a space, quoted spellings, attendance and action lines, case lines,
        # SURNAME Given). Round 20 measures names 94.2 % (389/413), structured 97.6 % (520/533:
        # hospital numbers and dates broken over lines, address forms, a day alone still
        # missed), false positives 0/165: the floors are those figures. Round 21's names pass
        # raises names to 94.9 % (392/413).
        pytest.param(IN_SAMPLE_20, 515, 0.949, 0.986, 0.0, id="names_corpus_20"),
        # Round 20's held-out set, scored once while held out (90.8 % / 96.5 % / 0.6 %), in-sample
        # since round 21 tuned on its kinds of failure (values broken over lines, a generic
        # number cue, address forms). Round 21 measures names 90.8 % (383/422: names not yet
        # tuned), structured 100 % (513/513), false positives 0/165: the floors are those
        # figures. Round 21 also raised 17 (467/471), 18 (399/404) and 20 (526/533) structured.
        # Round 21's names pass (branch names21, names by kind: quoted spans a reviewer asks
        # about, nicknames, other orders and initials beside a name, chat speakers, "née",
        # "full name", kin words of other languages, staff first names by role, capitals
        # between a header's separators) measures names 96.7 % (408/422), structured 100 %,
        # false positives 0/165: the floors are those figures.
        pytest.param(IN_SAMPLE_21, 525, 0.966, 1.0, 0.0, id="names_corpus_21"),
    ],
)
def test_in_sample_floors(path: Path, rows: int, names: float, structured: float, false_positives):
    """Each in-sample file holds its row count and the figures it measured after tuning."""
    assert len(corpus.load(path)) >= rows
    check_corpus(
        path,
        min_names_recall=names,
        min_structured_recall=structured,
        max_false_positive_rate=false_positives,
    )


# Round 21's held-out set: scored only, never tuned on. The floors are what it measured the one
# time it was scored: the test keeps the guard from getting worse on unseen text. Whoever next
# tunes on its misses renames it in-sample first (names_corpus_22.jsonl) and has a fresh writer
# write round 22.
def test_held_out_names_corpus_does_not_get_worse():
    assert len(corpus.load(HELD_OUT)) >= 530
    check_corpus(
        HELD_OUT,
        min_names_recall=0.932,
        min_structured_recall=0.953,
        max_false_positive_rate=0.0,
    )
