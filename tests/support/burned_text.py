"""Synthetic images with text burned into the pixels (tests/imaging/test_pixeltext.py and
bench/pixeltext.py): an ultrasound-like fan with speckle, and labels drawn with the system's
DejaVu / Liberation fonts in several sizes, colours, corners and one rotated 90 degrees."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
]

#: The header values of the synthetic patient (as a DICOM header would hold them).
HEADER = ["WOJCIK^ALEKSANDRA", "RX1234567", "20170509", "Northgate General Hospital"]


@dataclass
class Sample:
    name: str
    pixels: np.ndarray
    identifying: bool
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # where text was drawn


def font(size: int, index: int = 0) -> ImageFont.FreeTypeFont:
    path = next((p for p in FONTS[index:] + FONTS if Path(p).exists()), None)
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def ultrasound(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    """A fan-shaped gradient with speckle on black, like a B-mode frame."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = width / 2, -height * 0.1
    r = np.hypot(xx - cx, yy - cy)
    angle = np.degrees(np.arctan2(xx - cx, yy - cy))
    inside = (np.abs(angle) < 35) & (r > height * 0.2) & (r < height * 1.0)
    base = 140 * np.exp(-((r / (height * 1.2)) ** 2))
    speckle = rng.rayleigh(0.6, size=(height, width))
    img = np.where(inside, base * speckle, 0)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGB")


def draw(
    img: Image.Image,
    text: str,
    xy: tuple[int, int],
    size: int = 18,
    fill=(255, 255, 255),
    font_index: int = 0,
    rotate: int = 0,
) -> tuple[int, int, int, int]:
    f = font(size, font_index)
    if not rotate:
        d = ImageDraw.Draw(img)
        d.text(xy, text, font=f, fill=fill)
        x0, y0, x1, y1 = d.textbbox(xy, text, font=f)
        return (x0, y0, x1 - x0, y1 - y0)
    tw, th = (int(v) + 4 for v in f.getbbox(text)[2:])
    label = Image.new("L", (tw, th), 0)
    ImageDraw.Draw(label).text((2, 0), text, font=f, fill=255)
    label = label.rotate(rotate, expand=True)
    colour = Image.new("RGB", label.size, fill)
    img.paste(colour, xy, label)
    return (xy[0], xy[1], label.size[0], label.size[1])


def identifying_samples() -> list[Sample]:
    out: list[Sample] = []

    def make(name, labels, seed, size=(640, 480)):
        img = ultrasound(*size, seed=seed)
        boxes = [draw(img, **lab) for lab in labels]
        out.append(Sample(name, np.asarray(img), True, boxes))

    make("name_top_left", [dict(text="WOJCIK, ALEKSANDRA", xy=(8, 6), size=18)], 1)
    make("nhs_number_banner", [dict(text="NHS No: 943 476 5919", xy=(300, 8), size=16)], 2)
    make(
        "dob_long_form",
        [dict(text="DOB 9 May 2017", xy=(10, 440), size=16, font_index=2)],
        3,
    )
    make("dob_slashes", [dict(text="09/05/2017", xy=(520, 450), size=14)], 4)
    make("dob_compact", [dict(text="20170509", xy=(540, 6), size=14, font_index=1)], 5)
    make(
        "hospital_name",
        [dict(text="Northgate General Hospital", xy=(330, 450), size=14, font_index=2)],
        6,
    )
    make(
        "low_contrast_banner",
        [dict(text="Oliver Bennett  RX1234567", xy=(12, 10), size=16, fill=(70, 70, 70))],
        7,
    )
    make("small_corner_id", [dict(text="RX1234567", xy=(566, 462), size=11, font_index=1)], 8)
    make(
        "rotated_label",
        [dict(text="WOJCIK ALEKSANDRA", xy=(600, 120), size=18, rotate=90)],
        9,
    )
    make(
        "coloured_name_and_annotations",
        [
            dict(text="Amelia Clarke", xy=(20, 20), size=20, fill=(255, 220, 0)),
            dict(text="L SAG", xy=(20, 440), size=18),
        ],
        10,
    )
    make(
        "name_large_screenshot",
        [dict(text="Patient: Harry Patel", xy=(40, 200), size=32, fill=(230, 230, 230))],
        11,
        size=(800, 600),
    )
    make(
        "grey_small_dob",
        [dict(text="DOB: 09.05.2017", xy=(480, 10), size=12, fill=(150, 150, 150))],
        12,
    )
    return out


def innocent_samples() -> list[Sample]:
    out: list[Sample] = []
    for i in range(4):
        img = ultrasound(seed=100 + i)
        out.append(Sample(f"clean_{i}", np.asarray(img), False))
    out.append(Sample("blank_grey", np.full((256, 256), 30, np.uint8), False))
    labels = [
        [dict(text="L", xy=(20, 440), size=22)],
        [dict(text="SAG", xy=(20, 20), size=18)],
        [dict(text="5.0 MHz", xy=(540, 10), size=14)],
        [dict(text="R TRV", xy=(20, 440), size=18), dict(text="10", xy=(600, 200), size=12)],
        [dict(text="LONG", xy=(560, 440), size=16), dict(text="5", xy=(600, 100), size=12)],
    ]
    for i, lab in enumerate(labels):
        img = ultrasound(seed=200 + i)
        boxes = [draw(img, **kw) for kw in lab]
        out.append(Sample(f"innocent_{i}", np.asarray(img), False, boxes))
    return out
