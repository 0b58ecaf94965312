"""Small builders shared by the operations tests."""

from __future__ import annotations

import io
from pathlib import Path


def pdf_bytes(text: str = "Panel letter about imaging") -> bytes:
    """A small valid one-page PDF with some text (no identifiers)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(300, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = w._add_object(stream)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def small_pdf(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "letter.pdf"
    path.write_bytes(pdf_bytes())
    return path
