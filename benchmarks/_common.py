"""Shared helpers for the benchmarks (timing, optional peers, R via Rscript)."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs (after ``warmup`` runs)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_times(
    fns: dict[str, Callable[[], object]], repeats: int = 51, warmup: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall times of several functions timed in turn (one call of each per round,
    ``repeats`` rounds), and the median over rounds of each one's time divided by the first
    one's in the same round. On a shared machine the ratios are steadier than the times."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    first = next(iter(fns))
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    ratios = {
        name: statistics.median(a / b for a, b in zip(ts, times[first], strict=True))
        for name, ts in times.items()
    }
    return medians, ratios


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def have_r_survey() -> bool:
    if shutil.which("Rscript") is None:
        return False
    res = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(survey))"], capture_output=True, check=False
    )
    return res.returncode == 0


def run_r(code: str, timeout: float = 1200) -> str:
    """Run R code with Rscript and return its standard output."""
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(code)
        path = fh.name
    try:
        res = subprocess.run(
            ["Rscript", path], capture_output=True, text=True, check=True, timeout=timeout
        )
    finally:
        os.unlink(path)
    return res.stdout


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows: list[tuple[str, float | None, str]], baseline: float) -> str:
    """Markdown table: tool, median seconds, ratio to delibpoll, note."""
    out = ["| tool | median time (s) | time / delibpoll | note |", "|---|---|---|---|"]
    for tool, secs, note in rows:
        if secs is None:
            out.append(f"| {tool} | not run | | {note} |")
        else:
            out.append(f"| {tool} | {secs:.4f} | {secs / baseline:.1f}x | {note} |")
    return "\n".join(out)


def write_result(name: str, markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    print(markdown)
    return path
