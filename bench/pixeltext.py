"""Benchmark: text burned into pixels (panel/imaging/pixeltext.py) on the synthetic set.

Usage::

    python bench/pixeltext.py

Reads the synthetic images of ``tests/support/burned_text.py`` (12 with identifying text, 5
without text, 5 with innocent annotations) and prints each verdict and its time, then recall
(identifying images masked or held), false holds (images without identifiers held or masked)
and seconds per image.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from panel.imaging.pixeltext import find_text  # noqa: E402


def _burned_text():
    # textstat installs a top-level ``tests`` package that shadows ours outside pytest.
    path = ROOT / "tests" / "support" / "burned_text.py"
    spec = importlib.util.spec_from_file_location("burned_text", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["burned_text"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    bt = _burned_text()
    rows = []
    for sample in bt.identifying_samples() + bt.innocent_samples():
        found = find_text(sample.pixels, header_values=bt.HEADER)
        rows.append((sample, found))
        h, w = sample.pixels.shape[:2]
        print(
            f"{sample.name:32} {w}x{h:<4} {'identifying' if sample.identifying else 'none':12}"
            f" {found.verdict:8} {len(found.boxes):2} boxes {found.seconds:6.2f} s"
        )
    ident = [f for s, f in rows if s.identifying]
    other = [f for s, f in rows if not s.identifying]
    caught = sum(f.verdict in ("mask", "hold") for f in ident)
    masked = sum(f.verdict == "mask" for f in ident)
    held = sum(f.verdict in ("mask", "hold") for f in other)
    times = [f.seconds for _, f in rows]
    print()
    print(
        f"recall        {caught}/{len(ident)} identifying images masked or held ({masked} masked)"
    )
    print(f"false holds   {held}/{len(other)} images without identifiers held or masked")
    print(
        f"seconds/image median {statistics.median(times):.2f}, max {max(times):.2f}, "
        f"mean {statistics.mean(times):.2f} (8 Tesseract passes, one thread each)"
    )


if __name__ == "__main__":
    main()
