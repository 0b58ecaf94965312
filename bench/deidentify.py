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

Two timings are reported, both without tracemalloc:

* *loops*: each loop over the whole series, ``--rounds`` times, alternating; best round.
* *interleaved*: file by file, plain then de-identified, summed separately.  On a shared
  machine whose load changes from second to second this is the fairer ratio, since both
  sides see the same load.
"""

from __future__ import annotations

import argparse
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

import pydicom  # noqa: E402

from panel.imaging.deid import DeidConfig, deidentify_file  # noqa: E402
from tests.support.synth import make_ct_series  # noqa: E402


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
    args = parser.parse_args(argv)

    config = DeidConfig.for_case(b"bench-secret-0123456789abcdef", "BENCH-0001")
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
