"""Text burned into image pixels: find it, judge it, mask it (issue 17, part 1).

Pure module (numpy, Pillow, pytesseract; no Flask, no database). Intake calls it through
:mod:`panel.imaging.pixelstep` (uploads, ``flask --app panel deidentify``); the review queue's
box editor shows the boxes it proposed.

``find_text(pixels, header_values=...)`` runs Tesseract over several preprocessings of the
image, because one pass misses what matters (low-contrast banners, small text in dark
corners, rotated labels):

* ``plain`` and ``inverted`` (light text on dark and dark on light);
* ``upscaled`` x3 for small text (x2 on large images);
* ``otsu`` (global binarisation) and ``adaptive`` (each pixel against its neighbourhood's
  mean, which lifts faint grey text on a dark background);
* ``rot90``, ``rot180``, ``rot270`` (of the Otsu image) for rotated labels.

Boxes are mapped back to the original image's coordinates and words found by several passes
are merged by IoU (the most confident reading wins). Each OCR line goes through the identifier
scanner (:func:`panel.privacy.scanner.find_identifiers`) and is compared with the file's own
header values (name parts, IDs, dates written several ways, the institution).

The verdict:

* ``clean``: no text;
* ``innocent``: only annotations on the allow-list (laterality, view, units, scale numbers,
  probe names), left alone;
* ``mask``: identifying text read with good confidence; ``boxes`` (padded) are to be filled;
* ``hold``: unsure (identifying text read with low confidence, text we cannot place, dense
  text); ``boxes`` is the proposed mask for the coordinator.

``reasons`` explain the verdict by kind and position only, never the text read.
``mask(pixels, boxes)`` fills the boxes and leaves every other pixel byte-identical.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from panel.privacy.scanner import find_identifiers, kind_label

Box = tuple[int, int, int, int]  # x, y, width, height in the original image

#: Words read with at least this confidence (Tesseract's 0-100) count as read.
GOOD_CONFIDENCE = 60
#: A word nobody agreed with (one pass only) must be read at least this well to count.
SURE_CONFIDENCE = 85
#: Below it (but above this) a word that could be identifying makes the image held back.
LOW_CONFIDENCE = 30
#: More words than this on one image: dense text (a document or a screenshot), held back.
DENSE_WORDS = 40

# Annotations that do not identify anybody: laterality, view and orientation words, the
# scanner's settings and units, probe names and scale numbers. Upper-case comparison.
ALLOWED_WORDS = frozenset(
    """
    L R LT RT LEFT RIGHT BILAT BILATERAL SAG SAGITTAL AX AXIAL COR CORONAL TRV TRANS TRANSVERSE
    LONG LS TS ANT POST SUP INF MED LAT PROX DIST UPPER LOWER MID POLE
    MHZ KHZ HZ FR CM MM DB GAIN DR DEPTH PW CW CFM PRF WF THI TIS TIB MI TI FPS ZOOM FOCUS
    CM/S M/S HR BPM PWR PRST PERSIST MAP
    """.split()
) | frozenset(
    # anatomy an ultrasound label names (a body part is not a person)
    """
    KIDNEY KIDNEYS RENAL LIVER SPLEEN BLADDER GB CBD PANCREAS ADRENAL AORTA IVC PORTAL VEIN
    ARTERY ABDO ABDOMEN PELVIS NECK THYROID TESTIS TESTES OVARY UTERUS HIP HIPS BRAIN HEAD
    CHEST LUNG HEART MASS LESION NODE NODES RUQ LUQ RIF LIF RLQ LLQ
    """.split()
)
_NUMBER_RE = re.compile(r"^[-+]?\d{1,4}(?:[.,]\d{1,2})?%?$")
_NUMBER_UNIT_RE = re.compile(r"(?i)^[-+]?\d{1,4}(?:[.,]\d{1,2})?(?:mhz|khz|hz|cm|mm|db|%|fps|s)$")
_PROBE_RE = re.compile(r"(?i)^[clps]?\d{1,2}-\d{1,2}[a-z]?$|^\d{1,2}[lcs]\d{0,2}$")
_INSTITUTION_RE = re.compile(
    r"(?i)\b(?:hospitals?|infirmary|nhs|trust|clinic|health\s*board|medical\s+cent(?:re|er)|"
    r"children'?s|university|royal|foundation)\b"
)
_MONTHS = (
    "january february march april may june july august september october november december"
).split()


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    confidence: float
    found_by: str  # the pass that read it best
    line: int = 0  # the line's number within its pass


@dataclass
class PixelText:
    verdict: str  # clean | innocent | mask | hold
    boxes: list[Box] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    seconds: float = 0.0


class TesseractMissing(RuntimeError):
    """Tesseract is not installed: ``apt-get install tesseract-ocr`` (``make tesseract``)."""


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


# --------------------------------------------------------------------------- preprocessing
def _grey(pixels: np.ndarray) -> np.ndarray:
    a = np.asarray(pixels)
    if a.ndim == 3:
        a = a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = np.zeros(a.shape) if hi <= lo else (a - lo) * (255.0 / (hi - lo))
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return a


def _otsu(grey: np.ndarray) -> int:
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    w0 = cum / total
    w1 = 1.0 - w0
    mu0 = np.divide(cum_mean, cum, out=np.zeros(256), where=cum > 0)
    mu1 = np.divide(cum_mean[-1] - cum_mean, total - cum, out=np.zeros(256), where=total > cum)
    return int(np.argmax(w0 * w1 * (mu0 - mu1) ** 2))


def _dark_text(binary: np.ndarray) -> Image.Image:
    """Black text on white: Tesseract reads that best. ``binary`` is True where text is."""
    return Image.fromarray(np.where(binary, 0, 255).astype(np.uint8))


def _passes(grey: np.ndarray) -> list[tuple[str, Image.Image, float, int]]:
    """(name, image, scale, rotation) for each OCR pass."""
    img = Image.fromarray(grey)
    h, w = grey.shape
    scale = 3.0 if max(h, w) <= 800 else 2.0
    # A 3x3 median removes ultrasound speckle (which Tesseract reads as letters) and keeps the
    # strokes of text 10 px high and more.
    big = img.filter(ImageFilter.MedianFilter(3)).resize(
        (round(w * scale), round(h * scale)), Image.Resampling.LANCZOS
    )
    g = np.asarray(big)
    otsu = _dark_text(g > _otsu(g)) if g.mean() < 128 else _dark_text(g <= _otsu(g))
    # Adaptive: brighter than the neighbourhood's mean by a margin (light text on dark, the
    # usual for ultrasound), or darker (dark on light), whichever is rarer is the text.
    local = np.asarray(big.filter(ImageFilter.BoxBlur(max(8, round(12 * scale)))), dtype=np.int16)
    light = g.astype(np.int16) > local + 30
    dark = g.astype(np.int16) < local - 30
    adaptive = _dark_text(light if light.mean() <= dark.mean() else dark)
    passes = [
        ("plain", img, 1.0, 0),
        ("inverted", ImageOps.invert(img), 1.0, 0),
        ("upscaled", big, scale, 0),
        ("otsu", otsu, scale, 0),
        ("adaptive", adaptive, scale, 0),
    ]
    for rotation, op in (
        (90, Image.Transpose.ROTATE_90),
        (180, Image.Transpose.ROTATE_180),
        (270, Image.Transpose.ROTATE_270),
    ):
        passes.append((f"rot{rotation}", otsu.transpose(op), scale, rotation))
    return passes


def _unrotate(box: Box, rotation: int, width: int, height: int) -> Box:
    """A box read in the rotated image back in the unrotated one (both at the pass's scale)."""
    x, y, w, h = box
    if rotation == 90:  # counter-clockwise: (x, y) -> (y, W - 1 - x)
        return (width - y - h, x, h, w)
    if rotation == 180:
        return (width - x - w, height - y - h, w, h)
    if rotation == 270:  # clockwise: (x, y) -> (H - 1 - y, x)
        return (y, height - x - w, h, w)
    return box


def _workers() -> int:
    """OCR passes run at once: one per core (``PANEL_OCR_WORKERS`` overrides), at most 8."""
    try:
        n = int(os.environ.get("PANEL_OCR_WORKERS", "0"))
    except ValueError:
        n = 0
    return max(1, min(8, n or os.cpu_count() or 1))


def _read_pass(img: Image.Image) -> dict:
    import pytesseract

    return pytesseract.image_to_data(img, config="--psm 11", output_type=pytesseract.Output.DICT)


_TSV_INTS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num")
_TSV_BOX = ("left", "top", "width", "height")


def _read_batch(images: list[Image.Image]) -> list[dict]:
    """Read several pass images with one Tesseract process (a list file: its language model
    is loaded once, not once per pass); one ``image_to_data``-style dict per image."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise TesseractMissing("tesseract is not installed (apt-get install tesseract-ocr)")
    with tempfile.TemporaryDirectory(prefix="panel-ocr-") as tmp:
        names = []
        for i, img in enumerate(images):
            name = os.path.join(tmp, f"pass{i}.png")
            img.save(name, format="PNG")
            names.append(name)
        listing = os.path.join(tmp, "passes.txt")
        with open(listing, "w") as fh:
            fh.write("\n".join(names) + "\n")
        out = os.path.join(tmp, "out")
        subprocess.run(  # noqa: S603 - a fixed program, no shell, our own temporary files
            [exe, listing, out, "--psm", "11", "-c", "tessedit_create_tsv=1"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        with open(out + ".tsv", encoding="utf-8", errors="replace") as fh:
            rows = fh.read().split("\n")
    datas: list[dict] = [{k: [] for k in (*_TSV_INTS, *_TSV_BOX, "conf", "text")} for _ in images]
    header = rows[0].split("\t") if rows else []
    for row in rows[1:]:
        cells = row.split("\t")
        if len(cells) != len(header):
            continue
        rec = dict(zip(header, cells, strict=True))
        page = int(rec["page_num"]) - 1
        if not 0 <= page < len(images):
            continue
        data = datas[page]
        for k in (*_TSV_INTS, *_TSV_BOX):
            data[k].append(int(rec[k]))
        data["conf"].append(float(rec["conf"]))
        data["text"].append(rec["text"])
    return datas


def _ocr(grey: np.ndarray) -> list[list[Word]]:
    """Lines of words from every pass, boxes in original coordinates.

    Tesseract runs as subprocesses: the passes are shared out among :func:`_workers`
    processes that run concurrently (threads waiting on processes), each reading its passes
    from one list file so that the language model is loaded once per process, not once per
    pass (``PANEL_OCR_BATCH=0``: one process per pass). Results are taken in pass order, so
    the reading does not depend on which process finished first."""
    if not tesseract_available():
        raise TesseractMissing("tesseract is not installed (apt-get install tesseract-ocr)")
    # One thread per call: Tesseract's OpenMP threads cost more than they save on small images.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    h0, w0 = grey.shape
    lines: dict[tuple, list[Word]] = {}
    passes = _passes(grey)
    images = [img for _, img, _, _ in passes]
    workers = min(_workers(), len(images))
    if os.environ.get("PANEL_OCR_BATCH", "1") == "0":  # one process per pass (as before)
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                datas = list(pool.map(_read_pass, images))
        else:
            datas = [_read_pass(img) for img in images]
    else:
        # one Tesseract process per worker, each reading every workers-th pass
        groups = [list(range(k, len(images), workers)) for k in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda g: _read_batch([images[i] for i in g]), groups))
        datas = [{}] * len(images)
        for group, result in zip(groups, results, strict=True):
            for i, data in zip(group, result, strict=True):
                datas[i] = data
    for (name, _img, scale, rotation), data in zip(passes, datas, strict=True):
        sw, sh = round(w0 * scale), round(h0 * scale)
        for i, text in enumerate(data["text"]):
            text = (text or "").strip()
            conf = float(data["conf"][i])
            if not text or conf < 0 or not any(c.isalnum() for c in text):
                continue
            box = (data["left"][i], data["top"][i], data["width"][i], data["height"][i])
            x, y, bw, bh = _unrotate(box, rotation, sw, sh)
            x0, y0 = int(x / scale), int(y / scale)
            x1, y1 = int(np.ceil((x + bw) / scale)), int(np.ceil((y + bh) / scale))
            key = (name, data["block_num"][i], data["par_num"][i], data["line_num"][i])
            word = Word(text, (x0, y0, max(1, x1 - x0), max(1, y1 - y0)), conf, name, len(lines))
            lines.setdefault(key, []).append(word)
    return list(lines.values())


def read(pixels: np.ndarray) -> list[list[Word]]:
    """Every pass's reading of ``pixels`` (2-D grey or RGB): lines of words, boxes in the
    image's coordinates. :func:`judge` decides what the words mean; :func:`find_text` is both.
    Keep readings in memory only: they hold the text read."""
    return _ocr(_grey(pixels))


def shift_lines(lines: list[list[Word]], dx: int, dy: int) -> list[list[Word]]:
    """Lines read in a crop, moved to the coordinates of the whole image."""
    return [
        [
            Word(
                w.text,
                (w.box[0] + dx, w.box[1] + dy, w.box[2], w.box[3]),
                w.confidence,
                w.found_by,
                w.line,
            )
            for w in line
        ]
        for line in lines
    ]


# --------------------------------------------------------------------------- judging
def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _overlap(a: Box, b: Box) -> float:
    """Share of the smaller box covered by the other."""
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    smaller = min(a[2] * a[3], b[2] * b[3])
    return iw * ih / smaller if smaller else 0.0


def _norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def is_allowed(text: str) -> bool:
    """An innocent annotation: laterality, view, unit, setting, probe name or scale number."""
    t = text.strip(".,:;()[]|'\"")
    if not t:
        return True
    return bool(
        t.upper() in ALLOWED_WORDS
        or _NUMBER_RE.match(t)
        or _NUMBER_UNIT_RE.match(t)
        or _PROBE_RE.match(t)
    )


def _date_forms(value: str) -> set[str]:
    """The written forms of a header date (YYYYMMDD, or anything with day, month, year)."""
    m = re.fullmatch(r"\s*(\d{4})-?(\d{2})-?(\d{2})\s*", value)
    if not m:
        return set()
    y, mo, d = m.groups()
    if not (1 <= int(mo) <= 12 and 1 <= int(d) <= 31):
        return set()
    month = _MONTHS[int(mo) - 1]
    di, moi = str(int(d)), str(int(mo))
    forms = {
        f"{y}{mo}{d}",
        f"{d}{mo}{y}",
        f"{di}{moi}{y}",
        f"{d}{mo}{y[2:]}",
        f"{y}{mo}{d}",
        f"{mo}{d}{y}",
    }
    for mname in (month, month[:3]):
        forms |= {f"{d}{mname}{y}", f"{di}{mname}{y}", f"{mname}{di}{y}", f"{mname}{d}{y}"}
        forms |= {f"{di}{mname}{y[2:]}", f"{d}{mname}{y[2:]}"}
    return forms


def _header_needles(header_values: Iterable[str]) -> tuple[set[str], set[str]]:
    """(word needles, line needles): name parts match whole words, IDs and dates a line's text
    with spaces and punctuation removed."""
    words: set[str] = set()
    joined: set[str] = set()
    for value in header_values:
        if not value or not str(value).strip():
            continue
        value = str(value)
        dates = _date_forms(value)
        if dates:
            joined |= dates
            continue
        n = _norm(value)
        if any(c.isdigit() for c in n):
            if len(n) >= 4:
                joined.add(n)
            continue
        for part in re.split(r"[^\w]+|_", value):
            p = _norm(part)
            if len(p) >= 2 and not is_allowed(p):
                words.add(p)
        if len(n) >= 4:
            joined.add(n)
    return words, joined


def _pad(box: Box, shape: tuple[int, int]) -> Box:
    x, y, w, h = box
    p = max(2, round(0.2 * min(w, h)) + 2)
    x0, y0 = max(0, x - p), max(0, y - p)
    x1, y1 = min(shape[1], x + w + p), min(shape[0], y + h + p)
    return (x0, y0, x1 - x0, y1 - y0)


def _union(boxes: Sequence[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _judge_line(
    line: list[Word], name_needles: set[str], joined_needles: set[str]
) -> list[tuple[list[Word], str, bool]]:
    """(words, reason kind, hard) for each identifying stretch of one OCR line."""
    out: list[tuple[list[Word], str, bool]] = []
    text = ""
    spans: list[tuple[int, int, Word]] = []
    for w in line:
        if text:
            text += " "
        spans.append((len(text), len(text) + len(w.text), w))
        text += w.text
    for f in find_identifiers(text):
        hit = [w for s, e, w in spans if s < f.end and e > f.start]
        if hit:
            # a hard finding takes its line with it ("DOB", "Patient:" and the rest of a name)
            out.append(
                (
                    list(line) if f.severity == "hard" else hit,
                    kind_label(f.kind),
                    f.severity == "hard",
                )
            )
    if _INSTITUTION_RE.search(text):
        out.append((list(line), "Institution", True))
    # header values: names part by part, IDs and dates in the line without separators
    for w in line:
        if _norm(w.text) in name_needles:
            out.append((list(line), "Header value", True))
            break
    flat = ""
    owners: list[Word] = []
    for w in line:
        n = _norm(w.text)
        flat += n
        owners.extend([w] * len(n))
    for needle in joined_needles:
        start = flat.find(needle)
        if start >= 0:
            hit = list(dict.fromkeys(owners[start : start + len(needle)]))
            out.append((hit, "Header value", True))
    return out


def find_text(pixels: np.ndarray, *, header_values: Sequence[str] = ()) -> PixelText:
    """Read the text in ``pixels`` (2-D grey or RGB) and decide what to do with it."""
    started = time.perf_counter()
    grey = _grey(pixels)
    found = judge(_ocr(grey), grey.shape, header_values=header_values)
    found.seconds = time.perf_counter() - started
    return found


def judge(
    lines: list[list[Word]], shape: tuple[int, ...], *, header_values: Sequence[str] = ()
) -> PixelText:
    """The verdict on lines read (:func:`read`) in an image of ``shape`` (rows, columns)."""
    started = time.perf_counter()
    shape = tuple(shape[:2])
    name_needles, joined_needles = _header_needles(header_values)

    everything = [w for ln in lines for w in ln]

    def agreed(w: Word) -> bool:
        """Read the same by two passes: speckle read as letters rarely is."""
        n = _norm(w.text)
        return any(
            o.found_by != w.found_by and _norm(o.text) == n and iou(o.box, w.box) >= 0.3
            for o in everything
        )

    flagged: list[tuple[Box, str, float]] = []  # (box, reason kind, min confidence)
    held: list[tuple[Box, str]] = []
    allowed: list[Box] = []
    unknown: list[Word] = []
    for line in lines:
        for words, kind, hard in _judge_line(line, name_needles, joined_needles):
            conf = min(w.confidence for w in words)
            box = _union([w.box for w in words])
            if sum(c.isalnum() for w in words for c in w.text) < 3:
                continue  # two letters read in speckle are not a name
            if hard and conf >= GOOD_CONFIDENCE:
                flagged.append((box, kind, conf))
            elif conf >= LOW_CONFIDENCE and any(_could_identify(w.text) for w in words):
                held.append((box, kind))
        for w in line:
            n_alnum = sum(c.isalnum() for c in w.text)
            if is_allowed(w.text):
                if w.confidence >= GOOD_CONFIDENCE and agreed(w):
                    allowed.append(w.box)
            elif (n_alnum >= 4 and w.confidence >= SURE_CONFIDENCE) or (
                n_alnum >= 3 and w.confidence >= GOOD_CONFIDENCE and agreed(w)
            ):
                unknown.append(w)
            elif w.confidence >= LOW_CONFIDENCE and _could_identify(w.text) and agreed(w):
                unknown.append(w)

    # one reading per place: merge words found by several passes (the most confident wins)
    words: list[Word] = []
    for w in sorted((w for ln in lines for w in ln), key=lambda w: -w.confidence):
        if w.confidence >= LOW_CONFIDENCE and all(iou(w.box, k.box) < 0.5 for k in words):
            words.append(w)

    covered = [b for b, _, _ in flagged] + [b for b, _ in held]
    unsure = [
        w
        for w in unknown
        if all(_overlap(w.box, b) < 0.5 for b in covered)
        and all(iou(w.box, b) < 0.5 for b in allowed)
    ]
    boxes: list[Box] = []
    reasons: list[str] = []

    def add(box: Box, reason: str) -> None:
        padded = _pad(box, shape)
        if any(iou(padded, b) >= 0.5 for b in boxes):
            return
        boxes.append(padded)
        reasons.append(f"{reason} at ({padded[0]},{padded[1]},{padded[2]},{padded[3]})")

    for box, kind, _conf in sorted(flagged, key=lambda f: (f[0][1], f[0][0])):
        add(box, f"{kind}-shaped text")
    mask_count = len(boxes)
    for box, kind in held:
        add(box, f"{kind}-shaped text read with low confidence")
    for w in unsure:
        add(w.box, "Text that is not a known annotation")
    # dense: many real words (three characters or more, read well), not speckle read as "ae"
    real = [w for w in words if sum(c.isalnum() for c in w.text) >= 3 and w.confidence >= 80]
    dense = len(real) > DENSE_WORDS
    if dense:
        reasons.append(f"Dense text ({len(real)} words): a document or screenshot")

    if not boxes and not allowed and not dense:
        verdict = "clean"
    elif dense or len(boxes) > mask_count:
        verdict = "hold"
    elif boxes:
        verdict = "mask"
    else:
        verdict = "innocent"
    return PixelText(verdict, boxes, reasons, words, time.perf_counter() - started)


def _could_identify(text: str) -> bool:
    """A low-confidence reading that might be a name or a number worth a look."""
    t = _norm(text)
    return sum(c.isdigit() for c in t) >= 4 or (len(t) >= 4 and t.isalpha())


# --------------------------------------------------------------------------- masking
def mask(pixels: np.ndarray, boxes: Iterable[Box], *, fill: int | Sequence[int] = 0) -> np.ndarray:
    """A copy of ``pixels`` with each box filled (black by default); nothing else changes."""
    out = np.array(pixels, copy=True)
    h, w = out.shape[:2]
    for x, y, bw, bh in boxes:
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(w, int(x + bw)), min(h, int(y + bh))
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = fill
    return out


# --------------------------------------------------------------------------- documents
def read_page_text(pixels: np.ndarray) -> str:
    """The text of a rendered document page (Tesseract's page layout analysis, one pass): what
    a scanned letter says, for the identifier guard its text layer would have gone through.
    Raises :class:`TesseractMissing`. Keep the text in memory only."""
    import pytesseract

    if not tesseract_available():
        raise TesseractMissing("tesseract is not installed (apt-get install tesseract-ocr)")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return pytesseract.image_to_string(Image.fromarray(_grey(pixels)), config="--psm 3")
