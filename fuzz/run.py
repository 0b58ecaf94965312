"""Coverage-guided fuzzing with atheris (libFuzzer) of one target of :mod:`fuzz.targets`.

    .venv/bin/python -m fuzz.run scanner -max_total_time=600
    .venv/bin/python -m fuzz.run dicom -max_total_time=3600 -rss_limit_mb=4096 corpus/dicom

Any libFuzzer flag can follow the target name. A finding stops the run and writes the input to
``crash-*`` in the current folder; replay it with ``python -m fuzz.run TARGET crash-...``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["panel"]):
    # The targets import lazily; import what they reach here so it is instrumented.
    import panel.imaging.deid  # noqa: F401
    import panel.imaging.uploads  # noqa: F401
    import panel.privacy  # noqa: F401
    import panel.trials.engine  # noqa: F401
    from fuzz import targets


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: python -m fuzz.run {{{','.join(targets.TARGETS)}}} [libFuzzer flags]")
    name = sys.argv.pop(1)
    target = targets.TARGETS[name]
    if name == "dicom":
        targets.dicom_seed()  # build the seed once, outside the measured loop
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
