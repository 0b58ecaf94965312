"""Benchmark: DICOM de-identification vs a plain pydicom read+write loop.

Usage::

    python bench/deidentify.py [--slices 500] [--rows 512] [--cols 512] [--rounds 3] [--plant]

Generates a synthetic CT series in a temporary folder, then in the same run measures

(a) a plain ``pydicom.dcmread`` + ``save_as`` loop over the series, and
(b) :func:`panel.imaging.deid.deidentify_file` over the same series (including its
    verification pass, hashing and atomic rename),

reporting files/s, MB/s (input bytes), the ratio deid/plain, and the tracemalloc peak of
each loop for the first 100 slices and for the whole series, to show that memory does not
grow with series length.  Timing rounds run without tracemalloc; the best round is shown.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402

from panel.imaging.deid import DeidConfig, deidentify_file  # noqa: E402
from panel.imaging.synth import make_ct_series  # noqa: E402


def plain_loop(paths: list[Path], out: Path) -> None:
    """Read and rewrite every file with pydicom, nothing else."""
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.save_as(out / p.name)


def deid_loop(paths: list[Path], out: Path, config: DeidConfig) -> None:
    """De-identify every file; fail loudly if anything is not stored."""
    for p in paths:
        result = deidentify_file(p, out / p.name, config)
        if result.status != "stored":
            raise SystemExit(f"{p.name}: {result.status}: {result.reason}")


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call of ``fn``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        total_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"series: {len(paths)} slices {args.rows}x{args.cols}, {total_mb:.1f} MB "
            f"(generated in {gen_s:.1f}s, plant={args.plant}); pydicom {pydicom.__version__}"
        )

        plain_times: list[tuple[float, float]] = []
        deid_times: list[tuple[float, float]] = []
        for _ in range(args.rounds):  # interleaved, so machine load affects both alike
            out = fresh(work / "plain")
            plain_times.append(timed(lambda out=out: plain_loop(paths, out)))
            out = fresh(work / "deid")
            deid_times.append(timed(lambda out=out: deid_loop(paths, out, config)))
        plain_wall = min(t[0] for t in plain_times)
        deid_wall = min(t[0] for t in deid_times)
        plain_cpu = min(t[1] for t in plain_times)
        deid_cpu = min(t[1] for t in deid_times)

        short = paths[: min(args.memory_slices, len(paths))]
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        mem = {
            ("plain", len(short)): traced_peak(lambda: plain_loop(short, fresh(work / "plain"))),
            ("plain", len(paths)): traced_peak(lambda: plain_loop(paths, fresh(work / "plain"))),
            ("deid", len(short)): traced_peak(
                lambda: deid_loop(short, fresh(work / "deid"), config)
            ),
            ("deid", len(paths)): traced_peak(
                lambda: deid_loop(paths, fresh(work / "deid"), config)
            ),
        }
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    n = len(paths)
    rows = [
        ("plain read+write", plain_wall, plain_cpu, mem[("plain", len(short))], mem[("plain", n)]),
        ("deidentify_file", deid_wall, deid_cpu, mem[("deid", len(short))], mem[("deid", n)]),
    ]
    print()
    header = (
        f"{'loop':<18} {'files/s':>8} {'MB/s':>7} {'wall s':>7} {'CPU ms/file':>12} "
        f"{f'peak@{len(short)} MiB':>14} {f'peak@{n} MiB':>14}"
    )
    print(header)
    print("-" * len(header))
    for name, wall, cpu, peak_short, peak_all in rows:
        print(
            f"{name:<18} {n / wall:>8.1f} {total_mb / wall:>7.1f} {wall:>7.2f} {cpu * 1000 / n:>12.2f} "
            f"{peak_short / 2**20:>14.2f} {peak_all / 2**20:>14.2f}"
        )
    print("-" * len(header))
    print(
        f"ratio deid/plain throughput: wall {plain_wall / deid_wall:.2f}, "
        f"CPU {plain_cpu / deid_cpu:.2f}  (best of {args.rounds} interleaved rounds each)"
    )
    print("rounds plain wall s: " + ", ".join(f"{w:.2f}" for w, _ in plain_times))
    print("rounds deid  wall s: " + ", ".join(f"{w:.2f}" for w, _ in deid_times))
    print(
        f"tracemalloc peak is per loop; ru_maxrss over the memory runs: {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
