"""The pixel text step of every intake (issue 17): which images are read, what a verdict means
for the file, and a per-run memory that spares re-reading what an earlier frame showed.

Pure module (numpy; no Flask, no database). :mod:`panel.imaging.deid` (DICOM: uploads and
``flask --app panel deidentify``) and :mod:`panel.imaging.documents` (PNG, JPEG and the
image-only pages of PDFs) call it; any later intake should too. The reading and the judging
are :mod:`panel.imaging.pixeltext`'s.

* :func:`dicom_needs_ocr`: CT, MR and PT slices without a hint of burned-in text are
  ``skipped`` (for speed: their pixels are reconstructions, not screens); everything else
  (US, SC, NM, XA, OT, ES, XC, DX ..., secondary captures, screen saves, DERIVED\\SECONDARY
  images, images with overlay planes or declaring burned-in annotation) is read.
* :meth:`PixelStep.check` reads a few frames (first, middle, last of a multi-frame image),
  judges each against the identifier guard and the file's own header values, and returns a
  :class:`PixelOutcome`: ``clean`` / ``innocent`` (stored untouched), ``masked`` (the boxes
  are filled in every frame), ``held`` (a coordinator decides; the boxes are the proposed mask).
  Tesseract missing means ``held``: an image nobody could read is never called clean.

Reuse within a run (never persisted, never logged): a :class:`PixelStep` remembers the last
frame it read of each size and its reading. The next frame of that size is compared with it
pixel by pixel; the reading of the unchanged part is kept and only the rectangle around what
changed (grown by a margin, and grown again to hold every line read that the margin touches) is
read again, when that is at most half the frame (else the frame is read whole). A cine loop or a series whose banner and labels stay still while the anatomy moves
pays only for the anatomy; a frame identical to the last one costs nothing. Every pixel that
differs from a frame already read is read again, so no new text escapes; the words kept were
read from byte-identical pixels.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from panel.imaging import pixeltext
from panel.imaging.pixeltext import Box, TesseractMissing, Word

logger = logging.getLogger(__name__)

#: Modalities whose slices are reconstructions, not screens: not read unless a header hints
#: at burned-in text.
SKIP_MODALITIES = frozenset({"CT", "MR", "PT"})
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"
#: Frames of a multi-frame image that are read: first, middle and last.
SAMPLED_FRAMES = 3
#: Pixels added around what changed between two frames before it is read again.
REUSE_MARGIN = 8
#: When the changed rectangle covers more than this share of the frame, read it all (reading
#: most of a frame in a crop saves little, and a crop's edges give partial readings).
REUSE_MAX_SHARE = 0.5

HOLD_MISSING = "held back: text in the image could not be checked (Tesseract OCR is not installed)"
HOLD_FAILED = "held back: text in the image could not be checked (OCR failed on it)"
HOLD_UNREADABLE = "held back: the pixels could not be decoded to check them for text"
HOLD_PREFIX = "held back: text in the image may identify the patient: "
#: hold_reason is a 300-character column.
MAX_REASON = 300


def dicom_needs_ocr(
    *,
    modality: str,
    sop_class: str,
    image_type: str = "",
    burned_in: str = "",
    has_overlay: bool = False,
    conversion_type: str = "",
) -> bool:
    """Should the pixels of this DICOM image be read? Header values as stripped text."""
    modality = modality.upper()
    image_type = image_type.upper()
    if burned_in.upper() == "YES" or has_overlay:
        return True
    if sop_class.startswith(SECONDARY_CAPTURE_PREFIX) or conversion_type:
        return True
    if "SECONDARY" in image_type or "SCREEN" in image_type:
        return True
    return modality not in SKIP_MODALITIES


@dataclass
class PixelOutcome:
    """What the step decided for one image (all its frames)."""

    verdict: str  # clean / innocent / masked / held / skipped
    boxes: list[Box] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # kinds and positions, never text
    seconds: float = 0.0
    fixed_reason: str = ""  # a hold that is not about text read (Tesseract missing ...)

    @property
    def hold_reason(self) -> str:
        if self.fixed_reason:
            return self.fixed_reason
        text = HOLD_PREFIX + "; ".join(self.reasons or ["text that could not be judged"])
        return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."

    @property
    def box_list(self) -> list[list[int]]:
        """The boxes as JSON lists (``StoredFile.proposed_boxes``)."""
        return [[int(v) for v in b] for b in self.boxes]

    @property
    def masked_text(self) -> str:
        n = len(self.boxes)
        return f"{n} box{'es' if n != 1 else ''} of text masked"


def sample_frames(count: int) -> list[int]:
    """Indices of the frames read in a ``count``-frame image (first, middle, last)."""
    if count <= 1:
        return [0]
    return sorted({0, count // 2, count - 1})[:SAMPLED_FRAMES]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _line_box(line: list[Word]) -> Box:
    x0 = min(w.box[0] for w in line)
    y0 = min(w.box[1] for w in line)
    x1 = max(w.box[0] + w.box[2] for w in line)
    y1 = max(w.box[1] + w.box[3] for w in line)
    return (x0, y0, x1 - x0, y1 - y0)


def _grow(box: Box, margin: int, shape: tuple[int, int]) -> Box:
    x0, y0 = max(0, box[0] - margin), max(0, box[1] - margin)
    x1 = min(shape[1], box[0] + box[2] + margin)
    y1 = min(shape[0], box[1] + box[3] + margin)
    return (x0, y0, x1 - x0, y1 - y0)


def _span(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


class PixelStep:
    """One intake run's pixel text step (one upload, one ``deidentify`` command).

    ``ocr=False`` reads nothing: every image that would be read is held back (the same as
    Tesseract missing); for measuring the rest of the pipeline alone. Counters: ``images``
    checked, ``frames_read`` (full readings), ``frames_partly_read`` (only what changed),
    ``frames_reused`` (identical to the last frame), ``skipped``; ``verdicts`` per verdict.
    """

    def __init__(self, *, ocr: bool = True, reuse: bool = True) -> None:
        self.ocr = ocr
        self.reuse = reuse
        self._last: dict[tuple[int, ...], tuple[np.ndarray, list[list[Word]]]] = {}
        self.images = 0
        self.skipped = 0
        self.frames_read = 0
        self.frames_partly_read = 0
        self.frames_reused = 0
        self.verdicts: dict[str, int] = {}

    # ------------------------------------------------------------------ reading
    def _read(self, pixels: np.ndarray) -> tuple[list[list[Word]], tuple[int, int]]:
        grey = pixeltext._grey(pixels)
        shape = (grey.shape[0], grey.shape[1])
        last = self._last.get(grey.shape) if self.reuse else None
        lines: list[list[Word]] | None = None
        if last is not None:
            lines = self._reread_changed(grey, *last)
        if lines is None:
            lines = pixeltext._ocr(grey)
            self.frames_read += 1
        if self.reuse:
            self._last[grey.shape] = (grey, lines)
        return lines, shape

    def _reread_changed(
        self, grey: np.ndarray, old: np.ndarray, old_lines: list[list[Word]]
    ) -> list[list[Word]] | None:
        """The reading of ``grey`` from the last frame's, reading again only what changed;
        None when too much changed (read it all)."""
        diff = old != grey
        if not diff.any():
            self.frames_reused += 1
            return [list(line) for line in old_lines]
        shape = (grey.shape[0], grey.shape[1])
        rows = np.flatnonzero(diff.any(axis=1))
        cols = np.flatnonzero(diff.any(axis=0))
        changed: Box = (
            int(cols[0]),
            int(rows[0]),
            int(cols[-1] - cols[0] + 1),
            int(rows[-1] - rows[0] + 1),
        )
        near = _grow(changed, REUSE_MARGIN, shape)
        # Every line read that touches what changed (with the margin) is read again whole: the
        # region grows to hold it. Lines clear of it were read from identical pixels: kept.
        region = near
        kept: list[list[Word]] = []
        for line in old_lines:
            lb = _line_box(line)
            if _overlaps(lb, near):
                region = _span(region, _grow(lb, 4, shape))
            else:
                kept.append(line)
        if region[2] * region[3] > REUSE_MAX_SHARE * shape[0] * shape[1]:
            return None
        x, y, w, h = region
        crop = np.ascontiguousarray(grey[y : y + h, x : x + w])
        self.frames_partly_read += 1
        # A word read in the crop wholly outside what changed, over a line kept, is a partial
        # reading of that line's identical pixels (cut by the crop's edge): the kept one stands.
        kept_boxes = [_line_box(line) for line in kept]
        fresh: list[list[Word]] = []
        for line in pixeltext.shift_lines(pixeltext._ocr(crop), x, y):
            words = [
                wd
                for wd in line
                if _overlaps(wd.box, near) or not any(_overlaps(wd.box, b) for b in kept_boxes)
            ]
            if words:
                fresh.append(words)
        return kept + fresh

    # ------------------------------------------------------------------ judging
    def check(
        self, frames: Sequence[np.ndarray], *, header_values: Sequence[str] = ()
    ) -> PixelOutcome:
        """Read and judge the frames of one image (2-D grey or RGB arrays, the sampled
        frames of a multi-frame image); the boxes of every frame are put together."""
        started = time.perf_counter()
        self.images += 1
        if not self.ocr or not pixeltext.tesseract_available():
            return self._count(PixelOutcome("held", fixed_reason=HOLD_MISSING))
        verdicts: list[str] = []
        boxes: list[Box] = []
        reasons: list[str] = []
        try:
            for frame in frames:
                lines, shape = self._read(frame)
                found = pixeltext.judge(lines, shape, header_values=header_values)
                verdicts.append(found.verdict)
                for box, reason in zip(found.boxes, found.reasons, strict=False):
                    if all(pixeltext.iou(box, b) < 0.5 for b in boxes):
                        boxes.append(box)
                        reasons.append(reason)
                reasons.extend(found.reasons[len(found.boxes) :])  # dense text
        except TesseractMissing:
            return self._count(PixelOutcome("held", fixed_reason=HOLD_MISSING))
        except (OSError, subprocess.SubprocessError) as exc:  # Tesseract failed on this image
            logger.info("pixel text step: OCR failed (%s)", type(exc).__name__)
            return self._count(PixelOutcome("held", fixed_reason=HOLD_FAILED))
        if "hold" in verdicts:
            verdict = "held"
        elif "mask" in verdicts:
            verdict = "masked"
        elif "innocent" in verdicts:
            verdict = "innocent"
        else:
            verdict = "clean"
        reasons = list(dict.fromkeys(reasons))
        return self._count(PixelOutcome(verdict, boxes, reasons, time.perf_counter() - started))

    def skip(self) -> PixelOutcome:
        self.skipped += 1
        return self._count(PixelOutcome("skipped"))

    def unreadable(self) -> PixelOutcome:
        self.images += 1
        return self._count(PixelOutcome("held", fixed_reason=HOLD_UNREADABLE))

    def _count(self, outcome: PixelOutcome) -> PixelOutcome:
        self.verdicts[outcome.verdict] = self.verdicts.get(outcome.verdict, 0) + 1
        return outcome

    # ------------------------------------------------------------------ documents
    def read_page_text(self, pixels: np.ndarray) -> str:
        """The text of a rendered document page (one page-layout pass), for the identifier
        guard that PDFs' text layers go through. Raises :class:`TesseractMissing`."""
        self.images += 1
        return pixeltext.read_page_text(pixels)


def mask_frames(pixels: np.ndarray, boxes: Sequence[Box], *, frames: bool, fill) -> np.ndarray:
    """A copy of ``pixels`` (one image, or frames x image when ``frames``) with ``boxes``
    filled in every frame; every other pixel is left as it was."""
    if not frames:
        return pixeltext.mask(pixels, boxes, fill=fill)
    out = np.array(pixels, copy=True)
    h, w = out.shape[1:3]
    for x, y, bw, bh in boxes:
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(w, int(x + bw)), min(h, int(y + bh))
        if x1 > x0 and y1 > y0:
            out[:, y0:y1, x0:x1] = fill
    return out
