"""The main job: run the cohort pipeline on the bundled example data (Cohort 1, then Cohort 2
tracked against Cohort 1: a multi-cohort report is the config cohort2.toml, not code).

Uses only delibpoll's public API. Outputs go to analyses/output/ (or the folder given as the
first argument). Run with `nox -s analyses` or `python analyses/run_all.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import delibpoll as dp

HERE = Path(__file__).resolve().parent


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "output"
    result = dp.run_config(HERE / "cohort1.toml", output=output, progress=lambda m: print(f"[analyses] {m}", flush=True))
    report = (result.output / "weighting_report.txt").read_text()
    print(report)
    print(result.tables["headline"].to_string(index=False))
    print(f"\nReport: {result.output / 'report.html'} ({len(result.files)} files written)")
    tracked = dp.run_config(HERE / "cohort2.toml", output=output / "cohort2",
                            progress=lambda m: print(f"[analyses] {m}", flush=True))
    print(tracked.tables["tracking"][["question", "category", "comparison", "difference",
                                      "ci_lower", "ci_upper", "p_adjusted"]]
          .fillna({"category": "(mean)"}).to_string(index=False))
    print(f"\nTracking report: {tracked.output / 'report.html'} ({len(tracked.files)} files written)")


if __name__ == "__main__":
    main()
