"""Designs beyond memory (issue #18): rake + proportion(by=age) on a Parquet dataset of
100,000,000 rows (5 margins: sex 2, age 7, region 9, ethnicity 5, education 7; a 4-category
answer) through ``delibpoll.scan`` (Polars streaming), in a subprocess that reports wall time
and peak RSS; writing the weights back to Parquet; and, at 1,000,000 rows, the equality of
the out-of-core (Parquet), Dask (LocalCluster, 2 workers) and in-memory paths.

The data are generated with a seeded generator into a scratch folder (``--data``, default
``/tmp/delibpoll-bench-scale``), never committed. Targets: rake + proportion <= 5 s and <= 1 GB
peak RSS; writing the weights <= 10 s more. Writes ``benchmarks/results/scale.md``.

Usage: ``python benchmarks/bench_scale.py [--rows 100000000] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
SIZES = {"sex": 2, "age": 7, "region": 9, "ethnicity": 5, "education": 7}
CHUNK = 5_000_000


def _shares(k: int, skew: float) -> np.ndarray:
    p = np.linspace(1.0, skew, k)
    return p / p.sum()


def _write_parts(part_dir: Path, rows: int, seed: int,
                 chunk: Callable[[np.random.Generator, int], Any]) -> Path:
    """Parquet parts of ``rows`` rows in total under ``part_dir``, ``chunk(rng, n)`` giving
    each part's PyArrow table from one seeded generator; kept once written (a ``.done``
    stamp beside the folder)."""
    import pyarrow.parquet as pq

    stamp = part_dir.with_name(part_dir.name + ".done")
    if stamp.exists():
        return part_dir
    part_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    done = k = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        pq.write_table(chunk(rng, n), part_dir / f"part{k:03d}.parquet")
        done += n
        k += 1
    stamp.touch()
    return part_dir


def _margins(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {v: rng.choice(size, n, p=_shares(size, 3.0)).astype(np.int8)
            for v, size in SIZES.items()}


def make_data(folder: Path, rows: int, seed: int = 20261208) -> Path:
    """Seeded skewed sample: int8 codes for the margins and the answer, uniform w0."""
    import pyarrow as pa

    def chunk(rng: np.random.Generator, n: int) -> Any:
        cols = _margins(rng, n)
        # the answer depends on age (so the domains differ)
        base = rng.random(n) + cols["age"] * 0.05
        cols["q"] = np.digitize(base, [0.35, 0.6, 0.85]).astype(np.int8)
        cols["w0"] = rng.uniform(0.5, 1.5, n)
        return pa.table(cols)

    return _write_parts(folder / f"rows{rows}", rows, seed, chunk)


def make_banner_data(folder: Path, rows: int, n_questions: int = 50,
                     seed: int = 20261209) -> Path:
    """The five margins (also the banner variables: 2+7+9+5+7 = 30 columns), w0 and
    ``n_questions`` 4-category answers (dictionary-encoded text, as pandas categoricals)."""
    import pyarrow as pa

    answers = pa.array(["agree", "neutral", "disagree", "don't know"])

    def chunk(rng: np.random.Generator, n: int) -> Any:
        arrays = {c: pa.array(v) for c, v in _margins(rng, n).items()}
        for q in range(n_questions):  # categorical answers, as pandas writes them
            codes = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1]).astype(np.int8)
            arrays[f"q{q:02d}"] = pa.DictionaryArray.from_arrays(pa.array(codes), answers)
        arrays["w0"] = pa.array(rng.uniform(0.5, 1.5, n))
        return pa.table(arrays)

    return _write_parts(folder / f"banner{rows}", rows, seed, chunk)


BANNER_TASK = """
import json, resource, time
t0 = time.perf_counter()
import delibpoll as dp
targets = {targets}
d = dp.scan({source!r}, weights="w0").rake(targets)
questions = [f"q{{q:02d}}" for q in range({n_questions})]
table = dp.banner(d, questions, {banners!r})
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"banner": time.perf_counter() - t0, "cells": len(table.to_frame()),
                  "peak_rss_mb": use.ru_maxrss / 1024, "cpu": use.ru_utime + use.ru_stime}}))
"""


def run_banner(source: Path, n_questions: int) -> dict[str, float]:
    code = BANNER_TASK.format(targets=targets_code(), source=str(source),
                              n_questions=n_questions, banners=list(SIZES))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(res.stdout.strip().splitlines()[-1])


def targets_code() -> str:
    return ("dp.Targets.from_dict({" + ", ".join(
        f"'{v}': {{{', '.join(f'{c}: {1 / size!r}' for c in range(size))}}}"
        for v, size in SIZES.items()) + "})")


TASK = """
import json, resource, sys, time
t0 = time.perf_counter()
import delibpoll as dp
targets = {targets}
d = dp.scan({source!r}, weights="w0")
raked = d.rake(targets)
est = raked.proportion("q", by="age")
t1 = time.perf_counter()
out = {{"rake_prop": t1 - t0, "n": d.n, "converged": raked.weighting["converged"],
       "se_first": float(est.to_frame()["se"].iloc[0])}}
if {write}:
    raked.write_parquet({out_path!r})
    out["write"] = time.perf_counter() - t1
use = resource.getrusage(resource.RUSAGE_SELF)
out["peak_rss_mb"] = use.ru_maxrss / 1024
out["cpu"] = use.ru_utime + use.ru_stime
print(json.dumps(out))
"""


def run_task(source: Path, write: bool, out_path: Path) -> dict[str, float]:
    code = TASK.format(targets=targets_code(), source=str(source), write=write,
                       out_path=str(out_path))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(res.stdout.strip().splitlines()[-1])


def equality(folder: Path) -> dict[str, float]:
    """At 1M rows: out-of-core (Parquet), Dask on a LocalCluster and in memory."""
    import warnings

    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    import delibpoll as dp

    src = make_data(folder, 1_000_000)
    targets = eval(targets_code(), {"dp": dp})  # our own literal (a dict of floats)
    df = pd.read_parquet(src)
    mem = dp.rake(dp.SurveyDesign(df, weights="w0"), targets)
    want = dp.proportion(mem, "q", by="age").to_frame()
    lazy = dp.scan(src, weights="w0").rake(targets)
    got = lazy.proportion("q", by="age").to_frame()
    out_path = folder / "eq_weights.parquet"
    lazy.write_parquet(out_path)
    w_lazy = pd.read_parquet(out_path)["weight"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        try:
            dask_design = dp.scan(dd.read_parquet(str(src)), weights="w0").rake(targets)
            got_dask = dask_design.proportion("q", by="age").to_frame()
        finally:
            client.close()
            cluster.close()
    w_mem = mem.weights.to_numpy()

    def rel(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.max(np.abs(a - b) / np.abs(b)))

    return {
        "weights_parquet": rel(w_lazy, w_mem),
        "estimate_parquet": rel(got["estimate"].to_numpy(), want["estimate"].to_numpy()),
        "se_parquet": rel(got["se"].to_numpy(), want["se"].to_numpy()),
        "estimate_dask": rel(got_dask["estimate"].to_numpy(), want["estimate"].to_numpy()),
        "se_dask": rel(got_dask["se"].to_numpy(), want["se"].to_numpy()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/delibpoll-bench-scale"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--banner-rows", type=int, default=50_000_000)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from _common import machine, write_result

    t0 = time.perf_counter()
    fresh = not (args.data / f"rows{args.rows}.done").exists()
    src = make_data(args.data, args.rows)
    made = (f"generated in {time.perf_counter() - t0:.0f} s, not timed" if fresh
            else "generated by an earlier run with the same seed")
    runs = [run_task(src, write=False, out_path=args.data / "w.parquet")
            for _ in range(args.repeats)]
    run_w = run_task(src, write=True, out_path=args.data / "weighted.parquet")
    eq = equality(args.data)
    bsrc = make_banner_data(args.data, args.banner_rows)
    bn = run_banner(bsrc, 50)
    rp = sorted(r["rake_prop"] for r in runs)[len(runs) // 2]
    cpu = sorted(r["cpu"] for r in runs)[len(runs) // 2]
    load = os.getloadavg()[0]
    rss = max(r["peak_rss_mb"] for r in runs)
    lines = [
        "## Designs beyond memory (scan: Parquet through Polars)",
        "",
        f"Machine: {machine()}. {args.rows:,} rows in {len(list(src.glob('*.parquet')))} "
        f"Parquet files ({made}), 5 margins (2, 7, 9, 5, 7 "
        "categories), a 4-category answer; each run in a fresh subprocess (imports "
        f"included). Load average at the end of the run: {load:.1f} (other work on the "
        "machine inflates wall times; CPU time is the work done).",
        "",
        "| step | result | target |",
        "|---|---|---|",
        f"| scan + rake + proportion(by=age), raking-aware SEs | {rp:.2f} s (median of "
        f"{len(runs)}; {cpu:.1f} s CPU over both cores), peak RSS {rss:.0f} MB "
        "| <= 5 s, <= 1 GB |",
        f"| writing the weights back to Parquet (sink) | {run_w['write']:.2f} s, peak RSS "
        f"{run_w['peak_rss_mb']:.0f} MB | <= 10 s |",
        f"| banner: 50 questions x 30 columns (5 banner variables) with letters, "
        f"{args.banner_rows:,} rows (scan + rake + banner) | {bn['banner']:.1f} s "
        f"({bn['cpu']:.0f} s CPU), peak RSS {bn['peak_rss_mb']:.0f} MB | <= 30 s |",
        "",
        "One pass over the data serves the rake and the first estimate (the weighting cells "
        "are the margin of the estimate's group table); one more pass reads only the weights "
        "column at scan (their checks).",
        "",
        "Equality at 1,000,000 rows (largest relative difference to the in-memory path):",
        "",
        "| quantity | out-of-core (Parquet) | Dask (LocalCluster, 2 workers) |",
        "|---|---|---|",
        f"| weights | {eq['weights_parquet']:.1e} | (same weights expression) |",
        f"| estimates | {eq['estimate_parquet']:.1e} | {eq['estimate_dask']:.1e} |",
        f"| SEs | {eq['se_parquet']:.1e} | {eq['se_dask']:.1e} |",
    ]
    write_result("scale", "\n".join(lines))


if __name__ == "__main__":
    main()
