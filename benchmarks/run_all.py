"""Run every benchmark (bench_*.py, exporters.py) and assemble docs/performance.md from their results."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs" / "performance.md"

INTRO = """# Performance

Measured by `nox -s bench` (benchmarks/), which installs the peer packages (weightipy, svy)
in its own environment only and runs R's survey package through Rscript when it is
installed. Each table comes from one run on the machine named in it; times are medians of
repeated runs and ratios are peer time divided by delibpoll time in the same run.
"""


NOTES = """## Where the targets stand

Targets, and where the run above puts delibpoll against them (one run, 2026-12-08, load
average about 1 when it began):

- Raking 1,000,000 rows on 5 margins: target under 50 ms and at least 10x faster than
  weightipy. 36 ms; weightipy run to convergence is 9.1x slower (its default stopping rule
  is 5.3x slower but stops before the margins are met: share error 1.3e-3). Not met by a
  small margin on the ratio.
- rake at n = 4,000 within 1.5x of a bare numpy IPF on the same cells: met, 1.27x.
- Replicates (500 bootstrap replicates raked, one proportion): target under 0.1 s. Met:
  0.075 s; svy 3.3x slower.
- First proportion(by=) on a fresh raked n = 4,000 design under 1 ms: met, 0.91 ms (1.01 ms
  when the design's columns are coded in the same call).
- First proportion(by=) at 20,000,000 rows at most 3x a bincount of the (cell x domain x
  answer) key and at most 40 extra bytes per row: met, 1.8x and 2.6 B/row peak.
- 100,000,000 rows from Parquet, rake + proportion(by=age) with raking-aware SEs in at most
  5 s and 1 GB: met, 2.73 s and 516 MB; writing the weights back in at most 10 s more: met,
  5.65 s.
- A 50-question x 30-column banner with letters on 50,000,000 rows in at most 30 s: not met,
  74.7 s (one group-by pass per question).
- Logistic regression with 5 categorical predictors on a raked n = 4,000 design at least 10x
  faster than svy and R: met against R (274x), not against svy (4.7x).
- Banner tables (50 questions x 30 columns with letters, n = 4,000): target under 1 s. Met:
  0.19 s. Estimation (250 proportion(by=) calls): 0.10 s; svy doing the same work (its own
  raking, raking-aware SEs that agree with delibpoll's to 3e-11) is 79x slower.
- Exporters (the 50 x 31 banner): targets to_excel under 0.5 s, to_html and to_markdown
  under 0.2 s. Met: 0.28 s, 0.063 s, 0.069 s.

How: proportions and banner cells are ratios of weighted counts, so their calibration-aware
linearised variance is computed from sums over groups of rows (domain x answer, per stratum
or PSU and per margin category) instead of n x K influence matrices; see
[Estimation](estimation.md#how-it-is-computed) and [Data bigger than memory](scale.md).
"""


def main() -> None:
    only = set(sys.argv[1:])
    for script in [*sorted(HERE.glob("bench_*.py")), HERE / "exporters.py"]:
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== {script.name}", flush=True)
        subprocess.run([sys.executable, str(script)], check=True, cwd=HERE)
    sections = [INTRO, f"Last assembled: {datetime.date.today().isoformat()}.", ""]
    for result in sorted((HERE / "results").glob("*.md")):
        sections.append(result.read_text())
    sections.append(NOTES)
    DOCS.write_text("\n".join(sections).rstrip() + "\n")
    print(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
