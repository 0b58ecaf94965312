"""Checking and cleaning uploaded documents: PDF, PNG and JPEG (no Flask).

The real type comes from the bytes (magic numbers, then a full parse), never from the name.
Every accepted document is *rewritten*: PDFs page by page without the document information
dictionary and XMP metadata; images re-encoded from their pixels only (no EXIF, GPS, text
chunks or comments). Reasons are fixed strings that never quote the file's content.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from panel.privacy import find_identifiers, has_hard_findings

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_MAGIC = b"PK\x03\x04"
#: Largest image accepted, in pixels (a 65535 x 65535 PNG is a "pixel flood").
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_PDF_PAGES = 500
#: PNG and JPEG uploads go through the pixel text step (:mod:`panel.imaging.pixelstep`): photos
#: of a film on a lightbox, screenshots of a PACS viewer and phone pictures of a letter often show
#: the child's name, hospital number or the hospital's label in the pixels themselves. Text that
#: identifies is masked; an image the step is unsure of is held back for a coordinator.
#: Image-only PDF pages (no text layer) are rendered and read, at most this many per PDF:
MAX_OCR_PAGES = 50
#: Rendering resolution of image-only PDF pages for reading (A4 is 1240 x 1754 pixels).
PAGE_DPI = 150
PAGES_UNREAD = "the PDF has scanned pages whose text could not be read to check it"

logger = logging.getLogger(__name__)


@dataclass
class DocResult:
    status: str  # stored / held_back / refused
    reason: str = ""
    content_type: str = ""
    kind: str = ""
    extension: str = ""
    width: int | None = None
    height: int | None = None
    #: The pixel text step's verdict (clean / innocent / masked / held) for images and for PDFs
    #: with image-only pages; None for PDFs whose every page has a text layer.
    pixel_text: str | None = None
    #: The boxes filled (masked) or proposed (held), ``[x, y, width, height]`` in pixels.
    boxes: list[list[int]] = field(default_factory=list)


def sniff(path: str | os.PathLike[str]) -> str | None:
    """``dicom``, ``pdf``, ``png``, ``jpeg``, ``zip`` or None, from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return None


# ------------------------------------------------------------------------------------ PDF
def clean_pdf(
    src: Path, dst: Path, *, max_pages: int = DEFAULT_MAX_PDF_PAGES, pixel_step: Any = None
) -> DocResult:
    """Parse ``src`` fully, write its pages to ``dst`` without metadata, scan its text.

    Refused when it does not parse, is encrypted or has too many pages; held back when the
    identifier scanner finds a hard identifier in its text. Pages without a text layer (a
    scanned letter) are rendered (:func:`render_page`) and read by the pixel text step's
    OCR, and what it reads goes through the same scanner; when they cannot be read the PDF is
    held back.
    """
    from pypdf import PdfReader, PdfWriter

    pdf = DocResult("refused", content_type="application/pdf", kind="pdf", extension=".pdf")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pypdf").disabled = True
            try:
                reader = PdfReader(str(src), strict=True)
                if reader.is_encrypted:
                    pdf.reason = "encrypted PDFs are not accepted"
                    return pdf
                if len(reader.pages) > max_pages:
                    pdf.reason = f"the PDF has more than {max_pages} pages"
                    return pdf
                writer = PdfWriter()
                text_parts = []
                image_pages: list[int] = []
                for number, page in enumerate(reader.pages, start=1):
                    page_text = page.extract_text() or ""
                    if not page_text.strip():
                        image_pages.append(number)  # no text layer: read from its pixels
                    text_parts.append(page_text)
                    # Annotations (sticky notes, free text, filled form fields) carry text that
                    # extract_text() does not see: scan it, then drop the annotations.
                    text_parts.extend(_annotation_texts(page))
                    new_page = writer.add_page(page)
                    for key in ("/Metadata", "/PieceInfo", "/Annots", "/AA"):
                        if key in new_page:
                            del new_page[key]
                text_parts.extend(_form_texts(reader))
                writer._info = None  # no /Info dictionary (author, title, producer ...)
                root = writer._root_object
                # No metadata, forms, attachments, scripts or open actions in what is stored.
                for key in (
                    "/Metadata",
                    "/AcroForm",
                    "/Names",
                    "/OpenAction",
                    "/AA",
                    "/JavaScript",
                ):
                    if key in root:
                        del root[key]
                with open(dst, "wb") as fh:
                    writer.write(fh)
            finally:
                logging.getLogger("pypdf").disabled = False
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a usable PDF"
        logger.info("PDF refused (%s)", type(exc).__name__)
        pdf.reason = "not a readable PDF file"
        return pdf
    unread = False
    if image_pages:
        read, unread = _read_image_pages(dst, image_pages, pixel_step)
        text_parts.extend(read)
        pdf.pixel_text = "innocent" if any(t.strip() for t in read) else "clean"
    findings = find_identifiers("\n".join(text_parts))
    if unread:
        pdf.status = "held_back"
        pdf.pixel_text = "held"
        pdf.reason = PAGES_UNREAD
    elif has_hard_findings(findings):
        if image_pages:
            pdf.pixel_text = "held"
        kinds = sorted({f.kind.replace("_", " ") for f in findings if f.severity == "hard"})
        pdf.status = "held_back"
        pdf.reason = "the text may contain patient identifiers (" + ", ".join(kinds) + ")"
    else:
        pdf.status = "stored"
    return pdf


def render_page(pdf: Path, number: int, *, dpi: int = PAGE_DPI) -> Any:
    """Page ``number`` (from 1) of ``pdf`` as a grey numpy array, drawn by Poppler's
    ``pdftoppm`` (Debian's poppler-utils) in a subprocess with a time limit. Raises
    :class:`OSError` when it cannot."""
    import numpy as np
    from PIL import Image

    exe = shutil.which("pdftoppm")
    if exe is None:
        raise OSError("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="panel-page-") as tmp:
        out = Path(tmp) / "page"
        try:
            subprocess.run(  # noqa: S603 - a fixed program, no shell, our own paths
                [exe, "-r", str(dpi), "-gray", "-png", "-singlefile"]
                + ["-f", str(number), "-l", str(number), str(pdf), str(out)],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise OSError(f"pdftoppm failed ({type(exc).__name__})") from None
        with Image.open(out.with_suffix(".png")) as img:
            return np.asarray(img.convert("L"))


def _read_image_pages(pdf: Path, numbers: list[int], pixel_step: Any) -> tuple[list[str], bool]:
    """(texts read, unread): the text of each image-only page, read by OCR; ``unread`` when a
    page could not be rendered or read (Tesseract or pdftoppm missing, too many pages)."""
    from panel.imaging.pixelstep import PixelStep
    from panel.imaging.pixeltext import TesseractMissing

    step = pixel_step if pixel_step is not None else PixelStep()
    if len(numbers) > MAX_OCR_PAGES or not step.ocr:
        return [], True
    texts: list[str] = []
    for number in numbers:
        try:
            texts.append(step.read_page_text(render_page(pdf, number)))
        except (OSError, TesseractMissing) as exc:
            logger.info("scanned PDF page not read (%s)", type(exc).__name__)
            return texts, True
    return texts, False


def _annotation_texts(page) -> list[str]:
    """The text of a page's annotations: contents, titles, field names and values."""
    out: list[str] = []
    try:
        annots = page.get("/Annots")
        annots = annots.get_object() if annots is not None else []
        for ref in annots or []:
            annot = ref.get_object()
            for key in ("/Contents", "/T", "/TU", "/V", "/RC", "/Subj"):
                value = annot.get(key)
                if value is not None:
                    out.append(str(value))
    except Exception:  # noqa: BLE001 - a malformed annotation is dropped with the rest
        logger.info("PDF annotation could not be read")
    return out


def _form_texts(reader) -> list[str]:
    """Filled form-field values (a referral form's name and NHS number boxes)."""
    try:
        fields = reader.get_fields() or {}
    except Exception:  # noqa: BLE001
        return []
    return [
        str(f.get("/V")) for f in fields.values() if isinstance(f, dict) and f.get("/V") is not None
    ]


# ---------------------------------------------------------------------------------- images
def clean_image(
    src: Path,
    dst: Path,
    kind: str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    pixel_step: Any = None,
) -> DocResult:
    """Check dimensions from the header, decode fully, run the pixel text step, re-encode
    pixels only into ``dst``.

    Identifying text read with confidence is masked (the image is stored); an image the step
    is unsure of (or could not read) is *held back* with the proposed boxes; images without
    text or with innocent annotations only are stored."""
    from PIL import Image, ImageFile

    from panel.imaging.pixelstep import PixelStep

    # WeasyPrint (the letters) sets this process-wide flag to True when it is imported, which
    # would let a truncated upload through padded with grey. A truncated file is refused here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    fmt = "PNG" if kind == "png" else "JPEG"
    res = DocResult(
        "refused",
        content_type="image/png" if kind == "png" else "image/jpeg",
        kind="image",
        extension=".png" if kind == "png" else ".jpg",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src, formats=[fmt]) as img:
                width, height = img.size  # from the header, nothing decoded yet
                res.width, res.height = width, height
                if width <= 0 or height <= 0 or width * height > max_pixels:
                    res.reason = f"the image is too large ({width} x {height} pixels)"
                    return res
                img.load()
                img = _pixel_mode(img, fmt)
                step = pixel_step if pixel_step is not None else PixelStep()
                outcome = step.check([np.asarray(img)])
                if outcome.verdict == "masked":
                    img = mask_boxes(img, outcome.boxes)
                _save_pixels_only(img, dst, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        res.reason = "the image is too large (decompression bomb)"
        return res
    except Exception as exc:  # noqa: BLE001 - truncated / corrupt / not really an image
        logger.info("image refused (%s)", type(exc).__name__)
        res.reason = f"not a readable {fmt} image"
        return res
    res.pixel_text = outcome.verdict
    res.boxes = outcome.box_list
    if outcome.verdict == "held":
        res.status = "held_back"
        res.reason = outcome.hold_reason
    else:
        res.status = "stored"
        res.reason = outcome.masked_text if outcome.verdict == "masked" else ""
    return res


def _pixel_mode(img, fmt: str):
    """``img`` in the mode it is stored in: L, RGB or RGBA (RGB for JPEG)."""
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "transparency" in img.info or "A" in img.mode else "RGB")
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    return img


def mask_boxes(img, boxes):
    """``img`` (L, RGB or RGBA) with each box filled black; every other pixel as it was."""
    from PIL import Image

    from panel.imaging.pixeltext import mask

    black = {"L": 0, "RGB": (0, 0, 0), "RGBA": (0, 0, 0, 255)}[img.mode]
    return Image.fromarray(mask(np.asarray(img), boxes, fill=black), img.mode)


def _save_pixels_only(img, dst: Path, fmt: str) -> None:
    """Write ``img``'s pixels (L, RGB or RGBA) to ``dst`` as a new file: no EXIF, text or comments."""
    from PIL import Image

    img = _pixel_mode(img, fmt)
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    clean.save(dst, format=fmt, **({"quality": 95} if fmt == "JPEG" else {"optimize": False}))


class MaskOutside(ValueError):
    """The mask rectangle lies outside the image."""


def mask_image_boxes(src: Path, dst: Path, kind: str, boxes) -> None:
    """Black out every box ``(x, y, width, height)`` (clipped to the image) of a stored PNG/JPEG
    and write the pixels only to ``dst``, in one pass. The pixels are replaced before encoding,
    so nothing under a box survives (JPEG is re-encoded from the masked pixels); a PNG's other
    pixels stay identical. :class:`MaskOutside` when a box lies outside the image."""
    from PIL import Image

    fmt = "PNG" if kind == "png" else "JPEG"
    with Image.open(src, formats=[fmt]) as img:
        img.load()
        if img.mode not in ("L", "RGB", "RGBA"):
            img = img.convert("RGB")
        for x, y, w, h in boxes:
            x0, y0 = max(0, int(x)), max(0, int(y))
            x1, y1 = min(int(x) + int(w), img.width), min(int(y) + int(h), img.height)
            if x0 >= img.width or y0 >= img.height or x1 <= x0 or y1 <= y0:
                raise MaskOutside("the rectangle lies outside the image")
        _save_pixels_only(mask_boxes(img, boxes), dst, fmt)
