"""Run every benchmark (bench_*.py) and assemble docs/performance.md from their results."""

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


def main() -> None:
    only = set(sys.argv[1:])
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== {script.name}", flush=True)
        subprocess.run([sys.executable, str(script)], check=True, cwd=HERE)
    sections = [INTRO, f"Last assembled: {datetime.date.today().isoformat()}.", ""]
    for result in sorted((HERE / "results").glob("*.md")):
        sections.append(result.read_text())
    DOCS.write_text("\n".join(sections).rstrip() + "\n")
    print(f"wrote {DOCS}")


if __name__ == "__main__":
    main()
