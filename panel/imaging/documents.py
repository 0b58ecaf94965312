"""Checking and cleaning uploaded documents: PDF, PNG and JPEG (no Flask).

The real type comes from the bytes (magic numbers, then a full parse), never from the name.
Every accepted document is *rewritten*: PDFs page by page without the document information
dictionary and XMP metadata; images re-encoded from their pixels only (no EXIF, GPS, text
chunks or comments). Reasons are fixed strings that never quote the file's content.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from panel.privacy import find_identifiers, has_hard_findings

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_MAGIC = b"PK\x03\x04"
#: Largest image accepted, in pixels (a 65535 x 65535 PNG is a "pixel flood").
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_PDF_PAGES = 500
#: PNG and JPEG uploads are held back for a coordinator until pixel text can be checked: photos
#: of a film on a lightbox, screenshots of a PACS viewer and phone pictures of a letter often show
#: the child's name, hospital number or the hospital's label in the pixels themselves.
IMAGE_HOLD_REASON = "photos and screenshots can show names in the image; check before release"

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
def clean_pdf(src: Path, dst: Path, *, max_pages: int = DEFAULT_MAX_PDF_PAGES) -> DocResult:
    """Parse ``src`` fully, write its pages to ``dst`` without metadata, scan its text.

    Refused when it does not parse, is encrypted or has too many pages; held back when the
    identifier scanner finds a hard identifier in its text.
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
                for page in reader.pages:
                    text_parts.append(page.extract_text() or "")
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
    findings = find_identifiers("\n".join(text_parts))
    if has_hard_findings(findings):
        kinds = sorted({f.kind.replace("_", " ") for f in findings if f.severity == "hard"})
        pdf.status = "held_back"
        pdf.reason = "the text may contain patient identifiers (" + ", ".join(kinds) + ")"
    else:
        pdf.status = "stored"
    return pdf


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
    src: Path, dst: Path, kind: str, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DocResult:
    """Check dimensions from the header, decode fully, re-encode pixels only into ``dst``.

    A readable image is *held back* (:data:`IMAGE_HOLD_REASON`), never stored for the panel at
    once: nothing reads the text in its pixels yet."""
    from PIL import Image, ImageFile

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
                _save_pixels_only(img, dst, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        res.reason = "the image is too large (decompression bomb)"
        return res
    except Exception as exc:  # noqa: BLE001 - truncated / corrupt / not really an image
        logger.info("image refused (%s)", type(exc).__name__)
        res.reason = f"not a readable {fmt} image"
        return res
    res.status = "held_back"
    res.reason = IMAGE_HOLD_REASON
    return res


def _save_pixels_only(img, dst: Path, fmt: str) -> None:
    """Write ``img``'s pixels (L, RGB or RGBA) to ``dst`` as a new file: no EXIF, text or comments."""
    from PIL import Image

    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGBA" if "transparency" in img.info or "A" in img.mode else "RGB")
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    clean.save(dst, format=fmt, **({"quality": 95} if fmt == "JPEG" else {"optimize": False}))


class MaskOutside(ValueError):
    """The mask rectangle lies outside the image."""


def mask_image(src: Path, dst: Path, kind: str, x: int, y: int, w: int, h: int) -> None:
    """Black out one rectangle (clipped to the image): :func:`mask_image_boxes` with one box."""
    mask_image_boxes(src, dst, kind, [(x, y, w, h)])


def mask_image_boxes(src: Path, dst: Path, kind: str, boxes) -> None:
    """Black out every box ``(x, y, width, height)`` (clipped to the image) of a stored PNG/JPEG
    and write the pixels only to ``dst``, in one pass. The pixels are replaced before encoding,
    so nothing under a box survives (JPEG is re-encoded from the masked pixels); a PNG's other
    pixels stay identical. :class:`MaskOutside` when a box lies outside the image."""
    from PIL import Image, ImageDraw

    fmt = "PNG" if kind == "png" else "JPEG"
    with Image.open(src, formats=[fmt]) as img:
        img.load()
        if img.mode not in ("L", "RGB", "RGBA"):
            img = img.convert("RGB")
        black = {"L": 0, "RGB": (0, 0, 0), "RGBA": (0, 0, 0, 255)}[img.mode]
        draw = ImageDraw.Draw(img)
        for x, y, w, h in boxes:
            x0, y0 = max(0, int(x)), max(0, int(y))
            x1, y1 = min(int(x) + int(w), img.width) - 1, min(int(y) + int(h), img.height) - 1
            if x0 >= img.width or y0 >= img.height or x1 < x0 or y1 < y0:
                raise MaskOutside("the rectangle lies outside the image")
            draw.rectangle((x0, y0, x1, y1), fill=black)
        _save_pixels_only(img, dst, fmt)
