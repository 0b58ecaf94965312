"""Server-side rendering of DICOM frames to 8-bit PNG (pydicom + numpy + Pillow; no Flask).

Rescale slope/intercept are applied; CT gets window presets; MONOCHROME1 is inverted; colour
images are passed through. A transfer syntax that cannot be decoded gives a placeholder PNG
that says so. Rendered PNGs are cached on disk (keyed by storage key, frame and preset) and the
cache is trimmed, least recently used first, to a size limit.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import warnings
from pathlib import Path

import numpy as np

#: (centre, width) in Hounsfield units.
PRESETS: dict[str, tuple[float, float]] = {
    "soft": (40, 400),
    "lung": (-600, 1500),
    "bone": (400, 1800),
    "brain": (40, 80),
}
PRESET_NAMES = ("auto", *PRESETS)
CACHE_LIMIT_BYTES = 256 * 1024 * 1024


class CannotDecode(Exception):
    """The pixel data cannot be decoded (transfer syntax or damaged codestream)."""


def is_compressed(transfer_syntax: str | None) -> bool:
    from pydicom.uid import UID

    return bool(transfer_syntax) and UID(transfer_syntax).is_compressed


def _read(path: Path):
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(str(path))


#: Decoding is refused above this many pixel values per file (rows x columns x frames x
#: samples): a few megabytes of compressed pixel data could otherwise ask for gigabytes.
MAX_DECODED_VALUES = 160 * 1024 * 1024


class TooLarge(CannotDecode):
    """The image is larger than Panel decodes (a decompression bomb, or simply too big)."""


def declared_values(ds) -> int:
    rows = int(getattr(ds, "Rows", 0) or 0)
    cols = int(getattr(ds, "Columns", 0) or 0)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    return rows * cols * max(frames, 1) * max(spp, 1)


def frame_array(path: Path, frame: int = 0) -> tuple[np.ndarray, object]:
    """The frame's pixels (rescaled to modality units for greyscale) and the dataset."""
    ds = _read(path)
    if declared_values(ds) > MAX_DECODED_VALUES:
        raise TooLarge("image too large to decode")
    pydicom_log = logging.getLogger("pydicom")
    was_disabled = pydicom_log.disabled
    pydicom_log.disabled = True  # decoder failures are reported by the placeholder instead
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - any decoder failure
        raise CannotDecode(str(ds.file_meta.get("TransferSyntaxUID", "unknown"))) from exc
    finally:
        pydicom_log.disabled = was_disabled
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if frames > 1:
        arr = arr[min(max(frame, 0), frames - 1)]
    if spp == 1:
        arr = arr.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1) or 1) + float(
            getattr(ds, "RescaleIntercept", 0) or 0
        )
    return arr, ds


def can_decode(path: Path) -> bool:
    """True when the first frame decodes (tried only for compressed transfer syntaxes)."""
    try:
        ds = _read(path)
        if not is_compressed(str(ds.file_meta.get("TransferSyntaxUID", ""))):
            return True
        frame_array(path)
        return True
    except Exception:  # noqa: BLE001
        return False


def _window(arr: np.ndarray, centre: float, width: float) -> np.ndarray:
    lo = centre - width / 2.0
    out = (arr - lo) / max(width, 1e-6) * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


def to_uint8(arr: np.ndarray, ds: object, preset: str = "auto") -> np.ndarray:
    """Window a greyscale frame to 8 bits: a named CT preset, else the file's own window,
    else the frame's min..max."""
    if arr.ndim == 3:  # colour: already 8-bit per sample in practice
        return np.clip(arr, 0, 255).astype(np.uint8)
    modality = str(getattr(ds, "Modality", "") or "")
    if preset in PRESETS and modality == "CT":
        centre, width = PRESETS[preset]
    else:
        centre = width = None
        wc, ww = getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
        if wc is not None and ww is not None:
            try:
                centre = float(wc[0] if hasattr(wc, "__len__") and not isinstance(wc, str) else wc)
                width = float(ww[0] if hasattr(ww, "__len__") and not isinstance(ww, str) else ww)
            except (TypeError, ValueError):
                centre = width = None
        if centre is None or not width:
            lo, hi = float(arr.min()), float(arr.max())
            centre, width = (lo + hi) / 2.0, max(hi - lo, 1.0)
    out = _window(arr, centre, width)
    if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        out = 255 - out
    return out


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def placeholder_png(message: str, size: tuple[int, int] = (512, 512)) -> bytes:
    """A dark PNG with ``message`` written on it."""
    from PIL import Image, ImageDraw

    img = Image.new("L", size, 24)
    draw = ImageDraw.Draw(img)
    y = size[1] // 2 - 30
    for line in _wrap(message, 40):
        draw.text((20, y), line, fill=230)
        y += 16
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line]


CANNOT_SHOW = "This image cannot be shown: its pixel data ({}) cannot be decoded here. The file is stored de-identified and can be downloaded."


def render_frame(
    path: Path, frame: int = 0, preset: str = "auto", *, thumb: int | None = None
) -> bytes:
    """PNG bytes for one frame (a placeholder when it cannot be decoded)."""
    try:
        arr, ds = frame_array(path, frame)
    except CannotDecode as exc:
        return placeholder_png(
            CANNOT_SHOW.format(_ts_name(str(exc))), (thumb, thumb) if thumb else (512, 512)
        )
    img = to_uint8(arr, ds, preset)
    if thumb:
        from PIL import Image

        pil = Image.fromarray(img)
        pil.thumbnail((thumb, thumb))
        buf = io.BytesIO()
        pil.save(buf, format="PNG")
        return buf.getvalue()
    return png_bytes(img)


def _ts_name(uid: str) -> str:
    from pydicom.uid import UID

    try:
        return UID(uid).name or uid
    except Exception:  # noqa: BLE001
        return uid


def cached_render(
    cache_dir: Path, key: str, path: Path, frame: int, preset: str, thumb: int | None = None
) -> bytes:
    """:func:`render_frame` through an on-disk LRU cache (atime/mtime touched on every hit)."""
    name = hashlib.sha256(f"{key}:{frame}:{preset}:{thumb}".encode()).hexdigest()
    target = cache_dir / name[:2] / f"{name}.png"
    try:
        data = target.read_bytes()
        os.utime(target)
        return data
    except FileNotFoundError:
        pass
    data = render_frame(path, frame, preset, thumb=thumb)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    if random.random() < 0.02:  # noqa: S311 - trimming now and then is enough
        _trim(cache_dir)
    return data


def _trim(cache_dir: Path, limit: int = CACHE_LIMIT_BYTES) -> None:
    files = [(p.stat().st_mtime, p.stat().st_size, p) for p in cache_dir.glob("*/*.png")]
    total = sum(s for _, s, _ in files)
    if total <= limit:
        return
    for _, size, p in sorted(files):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        total -= size
        if total <= limit * 0.8:
            break


def mask_boxes(path: Path, dst: Path, boxes) -> None:
    """Write ``path`` to ``dst`` with every box ``(x, y, width, height)`` (image pixels, clipped
    to the image) filled black in every frame, in one pass and one write (uncompressed output).
    Pixels outside the boxes keep their decoded values; ``BurnedInAnnotation`` becomes NO."""
    from pydicom.uid import ExplicitVRLittleEndian

    from panel.imaging.pixelstep import mask_frames

    ds = _read(path)
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    # Black as displayed: MONOCHROME1 shows its highest stored value as black.
    monochrome1 = str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1"
    fill = arr.max() if monochrome1 else arr.min()
    arr = mask_frames(arr, boxes, frames=frames > 1, fill=fill)
    if is_compressed(str(ds.file_meta.TransferSyntaxUID)):
        ds.PixelData = arr.tobytes()
        ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        if "PlanarConfiguration" in ds:
            ds.PlanarConfiguration = 0
        if str(getattr(ds, "PhotometricInterpretation", "")).startswith("YBR"):
            ds.PhotometricInterpretation = "RGB"
    else:
        ds.PixelData = arr.tobytes()
    ds.BurnedInAnnotation = "NO"
    ds.save_as(str(dst), enforce_file_format=True)
