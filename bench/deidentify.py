"""Benchmark: DICOM de-identification vs a plain pydicom read+write loop.

Usage::

    python bench/deidentify.py [--slices 500] [--rows 512] [--cols 512] [--rounds 3] [--plant]

Generates a synthetic CT series in a temporary folder, then in the same run measures

(a) a plain ``pydicom.dcmread`` + ``save_as`` loop over the series, and
(b) :func:`panel.imaging.deid.deidentify_file` over the same series (including its
    verification re-read, hashing and atomic rename),

reporting files/s and MB/s (input bytes), CPU time per file, the ratio deid/plain, and the
tracemalloc peak of each loop for a short run (default 100 slices) and for the whole
series, to show that memory does not grow with series length.

Then (``--ultrasound 200``, 0 to skip; ``--only-ultrasound`` skips the CT part) a series of
synthetic 640 x 480 ultrasound frames, each with the same burned-in banner (the patient's name
and hospital number) over speckle that changes from frame to frame, de-identified

(c) without the pixel text step (``PixelStep(ocr=False)``: the rest of the pipeline alone),
(d) with it as intake runs it (the passes shared among one Tesseract process per core, each
    reading a list file; reuse of unchanged pixels within the run),

and, on the first ``--us-baseline`` frames (default 20), the step as it was before (one
process per pass, in turn), one process per pass two at once, and one process for all passes;
seconds per image and the verdicts (every frame must come back masked: the speed-ups must not
weaken detection). The machine's load average is printed: other work on it slows every loop.

Two timings are reported, both without tracemalloc:

* *loops*: each loop over the whole series, ``--rounds`` times, alternating; best round.
* *interleaved*: file by file, plain then de-identified, summed separately.  On a shared
  machine whose load changes from second to second this is the fairer ratio, since both
  sides see the same load.
"""

from __future__ import annotations

import argparse
import copy
import gc
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _project  # noqa: E402  (the project's root and its tests package first)

_project.setup()

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

from panel.imaging.deid import DeidConfig, deidentify_file  # noqa: E402
from panel.imaging.pixelstep import PixelStep  # noqa: E402
from tests.support import burned_text  # noqa: E402
from tests.support.synth import make_ct_series, make_ultrasound  # noqa: E402

#: The banner burned into every ultrasound frame; the header holds the same values.
US_NAME, US_ID = "WOJCIK^ALEKSANDRA", "RX1234567"


def plain_one(path: Path, out: Path) -> None:
    """Read and rewrite one file with pydicom, nothing else."""
    pydicom.dcmread(path).save_as(out / path.name)


def deid_one(path: Path, out: Path, config: DeidConfig) -> None:
    """De-identify one file; fail loudly if it is not stored."""
    result = deidentify_file(path, out / path.name, config)
    if result.status != "stored":
        raise SystemExit(f"{path.name}: {result.status}: {result.reason}")


def plain_loop(paths: list[Path], out: Path) -> None:
    for p in paths:
        plain_one(p, out)


def deid_loop(paths: list[Path], out: Path, config: DeidConfig) -> None:
    for p in paths:
        deid_one(p, out, config)


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call of ``fn``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(
    paths: list[Path], plain_out: Path, deid_out: Path, config: DeidConfig
) -> tuple[tuple[float, float], tuple[float, float]]:
    """File by file: ((plain wall, plain CPU), (deid wall, deid CPU)) summed over the series."""
    pw = pc = dw = dc = 0.0
    gc.collect()
    for p in paths:
        w, c = time.perf_counter(), time.process_time()
        plain_one(p, plain_out)
        w2, c2 = time.perf_counter(), time.process_time()
        deid_one(p, deid_out, config)
        w3, c3 = time.perf_counter(), time.process_time()
        pw, pc = pw + (w2 - w), pc + (c2 - c)
        dw, dc = dw + (w3 - w2), dc + (c3 - c2)
    return (pw, pc), (dw, dc)


def traced_peak(fn: Callable[[], None]) -> int:
    """Peak traced Python allocation (bytes) while running ``fn``."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def make_ultrasound_series(folder: Path, count: int) -> list[Path]:
    """``count`` single-frame 640 x 480 US files: the same banner, new speckle each frame."""
    folder.mkdir(parents=True, exist_ok=True)
    template = pydicom.dcmread(make_ultrasound(folder / "template.dcm"))
    (folder / "template.dcm").unlink()
    template.PatientName, template.PatientID = US_NAME, US_ID
    base_uid = str(template.SOPInstanceUID)
    paths = []
    for i in range(count):
        img = burned_text.ultrasound(640, 480, seed=1000 + i)
        burned_text.draw(img, "WOJCIK, ALEKSANDRA  RX1234567", (8, 6), size=16)
        burned_text.draw(img, "5.0 MHz", (560, 450), size=14)
        pixels = np.asarray(img.convert("L"))
        ds = copy.deepcopy(template)
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelData = pixels.tobytes()
        ds.SOPInstanceUID = f"{base_uid}.{i + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i + 1
        path = folder / f"US{i + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def us_loop(paths: list[Path], out: Path, config: DeidConfig, step: PixelStep) -> dict:
    """De-identify the US frames with one pixel text step; returns the verdicts counted."""
    verdicts: dict[str, int] = {}
    for p in paths:
        result = deidentify_file(p, out / p.name, config, pixel_step=step)
        if result.status == "refused":
            raise SystemExit(f"{p.name}: refused: {result.reason}")
        verdicts[result.pixel_text or "?"] = verdicts.get(result.pixel_text or "?", 0) + 1
    return verdicts


def ultrasound_bench(work: Path, count: int, baseline: int, config: DeidConfig) -> None:
    import os

    paths = make_ultrasound_series(work / "us", count)
    sub = paths[: min(baseline, count)]
    print(f"\nultrasound: {count} frames 640x480 with a burned-in banner; {os.cpu_count()} cores")
    rows = []

    def run(name: str, frames: list[Path], step: PixelStep, env: dict[str, str]) -> None:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            out = fresh(work / "us-out")
            verdicts: dict = {}
            wall, cpu = timed(lambda: verdicts.update(us_loop(frames, out, config, step)))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        reads = (
            f"read {step.frames_read} whole, {step.frames_partly_read} in part, "
            f"{step.frames_reused} reused"
        )
        rows.append((name, len(frames), wall / len(frames), verdicts, reads if step.ocr else ""))

    run("no pixel text step", paths, PixelStep(ocr=False), {})
    if sub:
        one_each = {"PANEL_OCR_BATCH": "0"}
        run(
            "OCR before: 8 processes in turn",
            sub,
            PixelStep(reuse=False),
            {**one_each, "PANEL_OCR_WORKERS": "1"},
        )
        run("OCR, 8 processes, 2 at once", sub, PixelStep(reuse=False), one_each)
        run("OCR, 1 process (list file)", sub, PixelStep(reuse=False), {"PANEL_OCR_WORKERS": "1"})
    run("OCR as intake runs it", paths, PixelStep(), {})
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'loop':<32} {'frames':>6} {'s/image':>8}  verdicts; readings")
    for name, n, per, verdicts, reads in rows:
        v = ", ".join(f"{k} {c}" for k, c in sorted(verdicts.items()))
        print(f"{name:<32} {n:>6} {per:>8.3f}  {v}; {reads}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plant", action="store_true", help="plant identifying markers everywhere")
    parser.add_argument(
        "--memory-slices", type=int, default=100, help="short run for memory comparison"
    )
    parser.add_argument("--ultrasound", type=int, default=200, help="US frames (0: none)")
    parser.add_argument("--us-baseline", type=int, default=20, help="frames for the baselines")
    parser.add_argument("--only-ultrasound", action="store_true", help="skip the CT series")
    args = parser.parse_args(argv)

    config = DeidConfig.for_case(b"bench-secret-0123456789abcdef", "BENCH-0001")
    if args.only_ultrasound:
        with tempfile.TemporaryDirectory(prefix="panel-deid-bench-") as tmp:
            ultrasound_bench(Path(tmp), args.ultrasound, args.us_baseline, config)
        return 0
    with tempfile.TemporaryDirectory(prefix="panel-deid-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        series = make_ct_series(work / "src", args.slices, args.rows, args.cols, plant=args.plant)
        gen_s = time.perf_counter() - t0
        paths = series.paths
        n = len(paths)
        total_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"series: {n} slices {args.rows}x{args.cols}, {total_mb:.1f} MB "
            f"(generated in {gen_s:.1f}s, plant={args.plant}); pydicom {pydicom.__version__}"
        )

        plain_rounds: list[tuple[float, float]] = []
        deid_rounds: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            out = fresh(work / "plain")
            plain_rounds.append(timed(lambda out=out: plain_loop(paths, out)))
            out = fresh(work / "deid")
            deid_rounds.append(timed(lambda out=out: deid_loop(paths, out, config)))
        loops = {
            "plain": (min(r[0] for r in plain_rounds), min(r[1] for r in plain_rounds)),
            "deid": (min(r[0] for r in deid_rounds), min(r[1] for r in deid_rounds)),
        }
        inter = interleaved(paths, fresh(work / "plain"), fresh(work / "deid"), config)

        short = paths[: min(args.memory_slices, n)]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        mem = {
            ("plain", len(short)): traced_peak(lambda: plain_loop(short, fresh(work / "plain"))),
            ("plain", n): traced_peak(lambda: plain_loop(paths, fresh(work / "plain"))),
            ("deid", len(short)): traced_peak(
                lambda: deid_loop(short, fresh(work / "deid"), config)
            ),
            ("deid", n): traced_peak(lambda: deid_loop(paths, fresh(work / "deid"), config)),
        }
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    header = (
        f"{'timing':<12} {'loop':<17} {'files/s':>8} {'MB/s':>7} {'wall s':>7} "
        f"{'CPU ms/file':>12} {f'peak@{len(short)} MiB':>14} {f'peak@{n} MiB':>14}"
    )
    print()
    print(header)
    print("-" * len(header))
    for timing, (plain_wc, deid_wc) in (
        ("loops", (loops["plain"], loops["deid"])),
        ("interleaved", inter),
    ):
        for name, key, (wall, cpu) in (
            ("plain read+write", "plain", plain_wc),
            ("deidentify_file", "deid", deid_wc),
        ):
            print(
                f"{timing:<12} {name:<17} {n / wall:>8.1f} {total_mb / wall:>7.1f} {wall:>7.2f} "
                f"{cpu * 1000 / n:>12.2f} {mem[(key, len(short))] / 2**20:>14.2f} "
                f"{mem[(key, n)] / 2**20:>14.2f}"
            )
    print("-" * len(header))
    for timing, (plain_wc, deid_wc) in (
        ("loops", (loops["plain"], loops["deid"])),
        ("interleaved", inter),
    ):
        print(
            f"ratio deid/plain throughput ({timing}): wall {plain_wc[0] / deid_wc[0]:.2f}, "
            f"CPU {plain_wc[1] / deid_wc[1]:.2f}"
        )
    print("loop rounds plain wall s: " + ", ".join(f"{w:.2f}" for w, _ in plain_rounds))
    print("loop rounds deid  wall s: " + ", ".join(f"{w:.2f}" for w, _ in deid_rounds))
    print(
        f"tracemalloc peak is per loop; ru_maxrss over the memory runs: "
        f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB"
    )
    if args.ultrasound:
        with tempfile.TemporaryDirectory(prefix="panel-deid-bench-") as tmp:
            ultrasound_bench(Path(tmp), args.ultrasound, args.us_baseline, config)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
