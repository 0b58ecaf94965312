"""Issue 17 in the browser: the review queue's box editor. A coordinator opens a held-back
photo with two proposed boxes; by mouse moves one, resizes one, draws one and deletes one; by
keyboard tabs to a box, moves and resizes it with the arrow keys, deletes one and adds one;
saves; then masks and releases, and the stored file is black exactly in the final boxes.
Screenshots at 1366 and 390 px go to the test's tmp folder (and test-artifacts/screenshots)."""

from __future__ import annotations

import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support.journeys import COORDINATOR, REFERRER, in_app, shots_dir, sign_in, user

pytestmark = pytest.mark.browser

W, H = 320, 200
PROPOSED = [[20, 20, 80, 30], [200, 120, 60, 40]]


def _photo() -> bytes:
    """A photo with no black pixel anywhere (so black means masked)."""
    x = np.arange(W)[None, :]
    y = np.arange(H)[:, None]
    arr = np.zeros((H, W, 3), dtype=np.uint8)
    arr[..., 0] = 60 + x % 150
    arr[..., 1] = 60 + y % 150
    arr[..., 2] = 120
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _held_photo(live_server, name="film-photo.png", data=None, boxes=PROPOSED) -> tuple[str, int]:
    """A held-back PNG (or ``data``) on Dr Rahman's submitted NAP case, with two proposed
    boxes."""
    from panel.accounts.models import Panel
    from panel.cases.models import Case, CaseStatus
    from panel.core.db import db
    from panel.imaging import ingest
    from panel.imaging.models import FileStatus, StoredFile

    with in_app(live_server):
        referrer = user(REFERRER)
        case = db.session.scalar(
            select(Case)
            .join(Panel, Panel.id == Case.panel_id)
            .where(
                Case.created_by_id == referrer.id,
                Case.status == CaseStatus.SUBMITTED,
                Panel.code == "NAP",
            )
            .order_by(Case.id)
            .limit(1)
        )
        ingest.receive(case, referrer, "Photo of the film", [(name, io.BytesIO(data or _photo()))])
        db.session.commit()  # the file's job runs now (eager in tests)
        f = db.session.scalar(
            select(StoredFile)
            .where(StoredFile.case_id == case.id)
            .order_by(StoredFile.id.desc())
            .limit(1)
        )
        # As the pixel text step leaves an image it is unsure of.
        f.status, f.hold_reason = FileStatus.HELD_BACK, "text the pixel text step is unsure of"
        f.pixel_text, f.proposed_boxes = "held", boxes
        db.session.commit()
        return case.reference, f.id


def _stored(live_server, file_id):
    from panel.core.db import db
    from panel.core.storage import get_storage
    from panel.imaging.models import StoredFile

    with in_app(live_server):
        f = db.session.get(StoredFile, file_id)
        with Image.open(get_storage().path(f.storage_key)) as img:
            pixels = np.asarray(img.convert("RGB")).copy()
        return f.status.value, f.pixel_text, f.proposed_boxes, pixels


def _boxes(page) -> list[list[int]]:
    return json.loads(page.locator("[data-boxes-input]").input_value())


def _screen(page, x: float, y: float) -> tuple[float, float]:
    """The page coordinates of image pixel (x, y)."""
    r = page.locator("[data-svg]").bounding_box()
    return r["x"] + x * r["width"] / W, r["y"] + y * r["height"] / H


def _drag(page, start, end) -> None:
    page.mouse.move(*_screen(page, *start))
    page.mouse.down()
    for k in range(1, 6):
        t = k / 5
        page.mouse.move(
            *_screen(page, start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        )
    page.mouse.up()


def _near(box, expected, tolerance=1) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(box, expected, strict=True))


def _focused_testid(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.dataset.testid")


def test_box_editor_by_mouse_and_keyboard(page, live_server, artifacts_dir, backend, tmp_path):
    ref, file_id = _held_photo(live_server)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, COORDINATOR)
    page.goto(f"{live_server.url}/imaging/review")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.screenshot(path=str(shots / f"{backend}-box-editor-queue.png"), full_page=True)
    link = page.locator(f'a[href$="/files/{file_id}/review"]')
    expect(link).to_contain_text("Open the box editor")
    link.click()
    page.wait_for_url(f"**/cases/{ref}/images/files/{file_id}/review")
    expect(page.get_by_test_id("box")).to_have_count(2)
    expect(page.locator("[data-image]")).to_have_js_property("complete", True)
    assert _boxes(page) == PROPOSED
    expect(page.get_by_test_id("box").first).to_have_attribute(
        "aria-label", "Box 1 of 2: 80 by 30 pixels at 20, 20"
    )
    status = page.locator("[data-status]")

    # ---------------------------------------------------------------- by mouse
    # Move box 1 by (30, 10): drag it by its middle.
    _drag(page, (60, 35), (90, 45))
    moved = _boxes(page)[0]
    assert _near(moved, [50, 30, 80, 30]), moved
    expect(status).to_contain_text("Box moved. Box 1 of 2")
    # Resize box 2: select it, then drag its bottom-right handle by (20, 10).
    page.mouse.click(*_screen(page, 230, 140))
    handle = page.get_by_test_id("box").nth(1).get_by_test_id("handle-se")
    expect(handle).to_be_visible()
    hb = handle.bounding_box()
    start = ((hb["x"] + hb["width"] / 2), (hb["y"] + hb["height"] / 2))
    r = page.locator("[data-svg]").bounding_box()
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 20 * r["width"] / W, start[1] + 10 * r["height"] / H, steps=5)
    page.mouse.up()
    resized = _boxes(page)[1]
    assert _near(resized, [200, 120, 80, 50]), resized
    expect(status).to_contain_text("Box resized. Box 2 of 2")
    # Draw a new box on empty image.
    _drag(page, (140, 70), (180, 100))
    drawn = _boxes(page)[2]
    assert _near(drawn, [140, 70, 40, 30]), drawn
    expect(page.get_by_test_id("box")).to_have_count(3)
    expect(status).to_contain_text("Box drawn. Box 3 of 3")
    # Select box 1 and delete it with the button.
    page.mouse.click(*_screen(page, moved[0] + 10, moved[1] + 10))
    page.get_by_role("button", name="Delete box").click()
    expect(page.get_by_test_id("box")).to_have_count(2)
    after_mouse = _boxes(page)
    assert after_mouse == [resized, drawn]

    # ---------------------------------------------------------------- by keyboard
    page.get_by_role("link", name="Images held back for review").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if _focused_testid(page) == "box":
            break
    assert _focused_testid(page) == "box", "Tab never reached a box"
    first = page.get_by_test_id("box").first
    expect(first).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    x, y, w, h = resized
    expect(first).to_have_attribute(
        "aria-label", f"Box 1 of 2: {w} by {h} pixels at {x + 3}, {y + 10}"
    )
    page.keyboard.press("Alt+ArrowLeft")
    page.keyboard.press("Alt+ArrowLeft")
    page.keyboard.press("Alt+Shift+ArrowUp")
    expected_first = [x + 3, y + 10, w - 2, h - 10]
    assert _boxes(page)[0] == expected_first
    expect(status).to_have_text(f"Box 1 of 2: {w - 2} by {h - 10} pixels at {x + 3}, {y + 10}.")
    # Tab to the second box and delete it.
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("box").nth(1)).to_be_focused()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("box")).to_have_count(1)
    expect(status).to_contain_text("Box 2 deleted. 1 box.")
    # Add one with the button (by keyboard), then Escape deselects it.
    page.get_by_role("button", name="Add box").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("box")).to_have_count(2)
    expect(page.get_by_test_id("box").nth(1)).to_be_focused()
    expect(status).to_contain_text("Box added. Box 2 of 2: 64 by 25 pixels at 128, 88")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Delete box")).to_be_disabled()
    final = _boxes(page)
    assert final == [expected_first, [128, 87, 64, 25]]

    page.get_by_test_id("box").first.focus()
    page.screenshot(path=str(shots / f"{backend}-box-editor-1366.png"), full_page=True)

    # ---------------------------------------------------------------- save, come back
    page.get_by_role("button", name="Save boxes").click()
    expect(page.get_by_role("alert").filter(has_text="Boxes saved")).to_be_visible()
    assert _stored(live_server, file_id)[:3] == ("held_back", "held", final)
    expect(page.get_by_test_id("box")).to_have_count(2)
    assert _boxes(page) == final

    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_test_id("box").first.focus()
    page.screenshot(path=str(shots / f"{backend}-box-editor-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1366, "height": 900})

    # ---------------------------------------------------------------- mask and release
    page.get_by_role("button", name="Mask and release").click()
    page.wait_for_url("**/imaging/review")
    expect(page.get_by_role("alert").filter(has_text="Masked and released")).to_be_visible()
    state, pixel_text, boxes, pixels = _stored(live_server, file_id)
    assert (state, pixel_text, boxes) == ("stored", "masked", final)
    inside = np.zeros((H, W), dtype=bool)
    for bx, by, bw, bh in final:
        inside[by : by + bh, bx : bx + bw] = True
    assert pixels[inside].max() == 0  # black in the boxes
    assert pixels[~inside].min() >= 60  # nothing black anywhere else
    assert np.array_equal(pixels[~inside], np.asarray(Image.open(io.BytesIO(_photo())))[~inside])
    page.screenshot(path=str(shots / f"{backend}-box-editor-after.png"), full_page=True)
    for png in shots.iterdir():  # kept with the run's other screenshots too
        shutil.copy(png, shots_dir(artifacts_dir) / png.name)


def test_a_multiframe_file_steps_through_its_frames(page, live_server, backend, tmp_path):
    """The editor of a held-back multi-frame DICOM file says the boxes apply to every frame and
    steps through its frames under the same boxes."""
    from tests.support import synth

    ref, file_id = _held_photo(
        live_server,
        "cine.dcm",
        synth.make_multiframe(tmp_path, frames=4).read_bytes(),
        boxes=[[4, 4, 20, 8], [40, 50, 20, 30]],  # the second one clipped to the image
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, COORDINATOR)
    page.goto(f"{live_server.url}/cases/{ref}/images/files/{file_id}/review")
    expect(page.get_by_test_id("frames-note")).to_contain_text("4 frames")
    expect(page.get_by_test_id("box")).to_have_count(2)
    assert _boxes(page) == [[4, 4, 20, 8], [40, 50, 20, 14]]
    image = page.locator("[data-image]")
    first_src = image.get_attribute("src")
    page.get_by_role("button", name="Next frame").click()
    expect(page.locator("[data-frame-position]")).to_have_text("Frame 2 of 4")
    expect(image).not_to_have_attribute("src", first_src)
    expect(image).to_have_attribute("alt", re.compile(r"frame 2 of 4"))
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("i => i.naturalWidth") == 64
    expect(page.get_by_test_id("box")).to_have_count(2)
    page.get_by_role("button", name="Previous frame").click()
    expect(page.locator("[data-frame-position]")).to_have_text("Frame 1 of 4")
    expect(page.get_by_role("button", name="Previous frame")).to_be_disabled()
    page.screenshot(path=str(tmp_path / f"{backend}-box-editor-frames.png"), full_page=True)
