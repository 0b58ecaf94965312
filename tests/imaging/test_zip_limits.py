"""Issue 12, item 7: the compression ratio is checked over the whole zip, and each entry's
temporary file is removed as soon as it is processed."""

from __future__ import annotations

import io
import zipfile

from tests.support import synth
from tests.support.data import objects_in, stored_files, temps_in, zip_bytes

MIB = 1024 * 1024


def _many_zero_entries(n: int = 200) -> bytes:
    """n entries of exactly 1 MiB of zeros: each about 1000:1, each just under the per-entry floor."""
    buf = io.BytesIO()
    zeros = b"\x00" * MIB
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            zf.writestr(f"series/IM{i:04d}.dcm", zeros)
    return buf.getvalue()


def test_many_small_bomb_entries_are_refused_as_a_whole(
    app, db_session, ref_client, case, upload, clean_storage
):
    """Is a zip of 200 entries of 1 MiB of zeros (each passing the per-entry check) refused
    before anything is extracted, with a clear message and nothing left behind?"""
    archive = _many_zero_entries()
    assert len(archive) < 400_000  # 200 MiB declared
    resp = upload(ref_client, case, [("series.zip", archive)])
    assert resp.status_code == 200
    files = resp.get_json()["files"]
    assert len(files) == 1, files  # one line for the zip, none for its entries
    assert files[0]["status"] == "refused"
    assert "decompression bomb" in files[0]["reason"] and "as a whole" in files[0]["reason"]
    assert resp.get_json()["counts"] == {"stored": 0, "held_back": 0, "refused": 1, "duplicate": 0}
    assert not stored_files(case)
    assert not objects_in(clean_storage) and not temps_in(clean_storage)


def test_whole_zip_ratio_limits_come_from_config(
    app, db_session, ref_client, case, upload, monkeypatch
):
    """Are the ratio and its floor settings (IMAGING_ZIP_MAX_RATIO, IMAGING_ZIP_RATIO_FLOOR)?"""
    archive = zip_bytes(
        {f"f{i}.bin": b"\x00" * 64_000 for i in range(4)}
    )  # 256 kB, far above 200:1
    reason = upload(ref_client, case, [("a.zip", archive)]).get_json()["files"][0]["reason"]
    assert "bomb" not in reason  # under the 1 MiB floor: a tiny zip is never refused for its ratio
    monkeypatch.setitem(app.config, "IMAGING_ZIP_RATIO_FLOOR", 100_000)
    reason = upload(ref_client, case, [("a.zip", archive)]).get_json()["files"][0]["reason"]
    assert "bomb" in reason and "200 times" in reason
    monkeypatch.setitem(app.config, "IMAGING_ZIP_MAX_RATIO", 100_000)
    reason = upload(ref_client, case, [("a.zip", archive)]).get_json()["files"][0]["reason"]
    assert "bomb" not in reason


def test_bomb_beside_good_files_stores_only_the_good_ones(
    app, db_session, ref_client, case, upload, clean_storage, tmp_path
):
    """A bomb zip next to a real series in one request: is the series stored and nothing of the
    zip (no rows, no objects, no temporary files)?"""
    ct = synth.make_ct_series(tmp_path / "ct", 2, rows=32, cols=32)
    resp = upload(
        ref_client, case, [(p.name, p) for p in ct.paths] + [("bomb.zip", _many_zero_entries(50))]
    )
    assert resp.get_json()["counts"] == {"stored": 2, "held_back": 0, "refused": 1, "duplicate": 0}
    assert len(stored_files(case)) == 2
    assert len(objects_in(clean_storage)) == 2 and not temps_in(clean_storage)


def test_normal_zip_of_dicom_files_is_accepted(
    app, db_session, ref_client, case, upload, clean_storage, tmp_path
):
    """Is an ordinary zip of a DICOM series (deflated, several MiB) still accepted?"""
    ct = synth.make_ct_series(tmp_path / "ct", 12, rows=256, cols=256)
    archive = zip_bytes({f"series/{p.name}": p.read_bytes() for p in ct.paths})
    total = sum(p.stat().st_size for p in ct.paths)
    assert total > MIB  # above the floor: the whole-zip ratio is really checked
    resp = upload(ref_client, case, [("series.zip", archive)])
    assert resp.get_json()["counts"]["stored"] == 12, resp.get_json()
    assert len(stored_files(case)) == 12 and not temps_in(clean_storage)


def test_each_entry_is_removed_once_it_is_processed(
    app, db_session, ref_client, case, upload, clean_storage, tmp_path, monkeypatch
):
    """Is the received zip gone once expanded, and each spooled entry (an original, perhaps
    identifying) removed as soon as its result is recorded, not at the end of the upload?"""
    from panel.imaging import ingest

    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32)
    entries = {f"series/{p.name}": p.read_bytes() for p in ct.paths}
    entries.update({f"notes/junk{i}.txt": b"not an image %d" % i * 100 for i in range(4)})
    archive = zip_bytes(entries)
    real = ingest.process_one
    seen: list = []

    def observed(case_, upload_, path, display, **kwargs):
        for earlier in seen:
            assert not earlier.exists(), "an earlier entry is still on disk"
        assert not list(path.parent.glob("zip-*")), "the received zip is still on disk"
        seen.append(path)
        return real(case_, upload_, path, display, **kwargs)

    monkeypatch.setattr(ingest, "process_one", observed)
    resp = upload(ref_client, case, [("series.zip", archive)])
    assert len(seen) == 7
    assert resp.get_json()["counts"] == {"stored": 3, "held_back": 0, "refused": 4, "duplicate": 0}
    assert not temps_in(clean_storage)


def test_failure_inside_a_zip_is_reported_per_entry(
    app, db_session, ref_client, case, upload, clean_storage, tmp_path, monkeypatch
):
    """When one entry of a zip fails every attempt, is it reported while the other entries
    are stored, with nothing left behind?"""
    from panel.imaging import ingest

    ct = synth.make_ct_series(tmp_path / "ct", 3, rows=32, cols=32)
    archive = zip_bytes({f"series/{p.name}": p.read_bytes() for p in ct.paths})
    real = ingest.process_one
    bad = ct.paths[2].name

    def flaky(case_, upload_, path, display, **kwargs):
        if display == bad:
            raise RuntimeError("disk on fire")
        return real(case_, upload_, path, display, **kwargs)

    monkeypatch.setattr(ingest, "process_one", flaky)
    resp = upload(ref_client, case, [("series.zip", archive)])
    body = resp.get_json()
    assert body["counts"] == {"stored": 2, "held_back": 0, "refused": 1, "duplicate": 0}
    assert len(stored_files(case)) == 2
    assert len(objects_in(clean_storage)) == 2 and not temps_in(clean_storage)


def test_zip_size_limit_holds_over_the_whole_upload(
    app, db_session, ref_client, case, upload, monkeypatch, clean_storage
):
    """Review 18: every entry now waits in the upload's spool folder for its job, so several
    zips of one request, each under IMAGING_ZIP_MAX_UNCOMPRESSED, must not add up to more than
    that on disk (a 2 GiB request of 200:1 zips would otherwise spool hundreds of GiB). Is the
    zip that would take the upload over the limit refused as a whole, the others kept?"""
    import os

    monkeypatch.setitem(app.config, "IMAGING_ZIP_MAX_UNCOMPRESSED", 300_000)
    part = os.urandom(100_000)  # incompressible: no ratio check involved

    def z(tag: str) -> bytes:
        return zip_bytes({f"{tag}{i}.bin": part + bytes([i]) for i in range(2)})  # 200 kB each

    resp = upload(ref_client, case, [("one.zip", z("a")), ("two.zip", z("b"))])
    files = resp.get_json()["files"]
    names = [f["name"] for f in files]
    assert names[:2] == ["a0.bin", "a1.bin"], files  # the first zip's entries were received
    assert len(files) == 3, files  # the second zip: one line, none of its entries
    assert files[2]["name"] == "two.zip" and files[2]["status"] == "refused"
    assert "upload limit" in files[2]["reason"]
    assert not temps_in(clean_storage)


def _corrupt_deflate_zip() -> bytes:
    """A zip whose one entry's compressed data is garbage (zlib.error on reading)."""
    archive = bytearray(zip_bytes({"a.bin": b"hello world " * 1000, "b.bin": b"plain " * 1000}))
    start = 30 + len("a.bin")  # the first entry's data follows its local header
    for i in range(start + 2, start + 20):
        archive[i] ^= 0xFF
    return bytes(archive)


def _bad_utf8_name_zip() -> bytes:
    """A zip that says its names are UTF-8 (flag bit 11) and holds one that is not."""
    archive = bytearray(zip_bytes({"ab.bin": b"x"}).replace(b"ab.bin", b"\xff\xfe.bin"))
    central = archive.find(b"PK\x01\x02")
    archive[central + 9] |= 0x08
    local = archive.find(b"PK\x03\x04")
    archive[local + 7] |= 0x08
    return bytes(archive)


def test_zip_with_a_corrupt_entry_refuses_that_entry_not_the_request(
    app, db_session, ref_client, case, upload, clean_storage
):
    """Review 18: an entry whose compressed data is corrupt raised zlib.error, which the
    reader did not catch: a 500 for bad input. Is that entry refused ("cannot be read") and
    the rest of the zip received, nothing left behind?"""
    resp = upload(ref_client, case, [("c.zip", _corrupt_deflate_zip())])
    assert resp.status_code in (200, 202), resp.status_code
    files = resp.get_json()["files"]
    assert [f["name"] for f in files] == ["a.bin", "b.bin"], files
    assert files[0]["status"] == "refused" and "cannot be read" in files[0]["reason"]
    assert not temps_in(clean_storage)


def test_zip_with_undecodable_names_is_refused_not_a_500(
    app, db_session, ref_client, case, upload, clean_storage
):
    """Review 18: a zip flagged UTF-8 whose names are not (UnicodeDecodeError on opening it)
    gave a 500. Is it refused as not a readable zip?"""
    resp = upload(ref_client, case, [("n.zip", _bad_utf8_name_zip())])
    assert resp.status_code in (200, 202), resp.status_code
    files = resp.get_json()["files"]
    assert len(files) == 1 and files[0]["status"] == "refused", files
    assert "not a readable zip" in files[0]["reason"]
    assert not objects_in(clean_storage) and not temps_in(clean_storage)
