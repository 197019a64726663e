"""Estimation and banner benchmark: 50 categorical questions by 30 banner columns (5 banner
variables) on a raked n = 4,000 design with logit CIs, and the same as a banner table with
significance letters. Side by side with svy's ``prop(by=)`` (on an svy-raked sample, and with
fixed weights) and an R loop of ``svyby`` when installed. Writes ``benchmarks/results/estimation.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from _common import have, have_r_survey, machine, median_time, run_r, table, write_result

import delibpoll as dp

BANNERS = ["sex", "age_group", "region", "education", "ethnicity"]  # 2+7+9+7+5 = 30 columns


def make() -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(20261123)
    t3 = dp.datasets.load_example(3)
    qs = {f"q{i:02d}": pd.Categorical(rng.choice(["a", "b", "c", "d"], len(t3), p=[0.4, 0.3, 0.2, 0.1]))
          for i in range(50)}
    return t3.assign(**qs), list(qs)


def main() -> None:
    df, questions = make()
    targets = dp.datasets.england_adult_targets()
    design = dp.rake(dp.SurveyDesign(df), targets)

    def props() -> None:
        for q in questions:
            for b in BANNERS:
                dp.proportion(design, q, by=b)

    def props_frames() -> None:
        for q in questions:
            for b in BANNERS:
                dp.proportion(design, q, by=b).to_frame()

    t_prop = median_time(props, repeats=3)
    t_prop_frames = median_time(props_frames, repeats=3)
    t_banner = median_time(lambda: dp.banner(design, questions, BANNERS), repeats=3)
    rows_p: list[tuple[str, float | None, str]] = [
        ("delibpoll proportion(by=) x 250", t_prop, "raking-aware SEs, logit CIs"),
        ("delibpoll proportion(by=).to_frame() x 250", t_prop_frames,
         "the same, each result also turned into a pandas DataFrame"),
    ]
    rows_b: list[tuple[str, float | None, str]] = [("delibpoll banner()", t_banner, "incl. all pairwise letters")]
    if have("svy"):
        import polars as pl
        import svy

        as_str = df.astype({c: str for c in questions + BANNERS})[questions + BANNERS]
        # like for like: svy rakes its own sample to the same margins, so its prop() SEs
        # include the raking adjustment (they equal delibpoll's; checked below)
        shares = {v: {str(k): float(x) for k, x in targets.shares(v).items()} for v in BANNERS}
        raked = svy.Sample(pl.from_pandas(as_str.assign(w=1.0)), svy.Design(wgt="w"))
        raked = raked.weighting.rake(shares=shares, tol=1e-10, max_iter=1000)
        # and with the final weights given as fixed weights (no raking adjustment)
        fixed = svy.Sample(pl.from_pandas(as_str.assign(w=design.weights.to_numpy())),
                           svy.Design(wgt="w"))

        def run_svy(smp: object) -> None:
            for q in questions:
                for b in BANNERS:
                    smp.estimation.prop(q, by=b)  # type: ignore[attr-defined]

        theirs = raked.estimation.prop("q00", by="region").to_polars().to_pandas()
        theirs = theirs.rename(columns={"q00": "category", "se": "svy_se"})
        ours = dp.proportion(design, "q00", by="region").to_frame()
        merged = ours.astype({"region": str, "category": str}).merge(
            theirs[["region", "category", "svy_se"]], on=["region", "category"]
        )
        assert len(merged) == len(ours)
        gap = float((merged["se"] / merged["svy_se"] - 1).abs().max())
        rows_p.append(("svy prop(by=) x 250, svy-raked sample", median_time(
            lambda: run_svy(raked), repeats=3, warmup=0),
            f"raking-aware SEs; largest relative SE difference from delibpoll {gap:.1e}"))
        rows_p.append(("svy prop(by=) x 250, fixed weights", median_time(
            lambda: run_svy(fixed), repeats=3),
            "final weights treated as fixed (no raking adjustment): less work, other SEs"))
    else:
        rows_p.append(("svy prop(by=)", None, "not installed"))
    if have_r_survey():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "d.csv"
            df[questions + BANNERS].to_csv(path, index=False)
            margins = []
            for v in BANNERS:
                sh = targets.shares(v)
                cats = ", ".join(repr(str(c)) for c in sh.index)
                freq = ", ".join(f"{s * len(df):.17g}" for s in sh.to_numpy())
                margins.append(f"data.frame({v}=c({cats}), Freq=c({freq}))")
            code = f"""
suppressMessages(library(survey))
df <- read.csv("{path}", stringsAsFactors=TRUE)
d <- svydesign(ids=~1, weights=rep(1, nrow(df)), data=df)
r <- rake(d, list({', '.join('~' + b for b in BANNERS)}), list({', '.join(margins)}),
          control=list(maxit=1000, epsilon=1e-10))
qs <- c({', '.join(repr(q) for q in questions)})
bs <- c({', '.join(repr(b) for b in BANNERS)})
t <- system.time(for (q in qs) for (b in bs)
  svyby(as.formula(paste0("~", q)), as.formula(paste0("~", b)), r, svymean))[["elapsed"]]
cat(t)
"""
            t_r = float(run_r(code).strip())
            rows_p.append(("R survey svyby loop x 250", t_r, "svymean by domain, one run"))
            rows_b.append(("R survey svyby loop x 250 (no letters)", t_r,
                           "same run; the svycontrast calls for letters would add to it"))
    else:
        rows_p.append(("R survey svyby loop", None, "R not installed"))
    md = [
        "## Estimation: 50 questions x 30 domain columns",
        "",
        f"Machine: {machine()}. Raked n = 4,000 design (5 margins), 50 four-category questions, "
        "5 banner variables with 30 categories in all, logit CIs. delibpoll and svy times are "
        "medians of 3 runs, R one run. proportion() and svy's prop() both return a result "
        "object; the second delibpoll row also builds the pandas table of every result. svy "
        "is timed twice: on a sample it raked itself (the same work as delibpoll and R: "
        "raking-aware SEs) and with the final weights as fixed weights.",
        "",
        table(rows_p, t_prop),
        "",
        "## Banner tables: 50 questions x 30 columns with letters",
        "",
        table(rows_b, t_banner),
    ]
    write_result("estimation", "\n".join(md))


# ---------------------------------------------------------------------- at scale (issue 18)
SCALE_SIZES = {"sex": 2, "age": 7, "region": 9, "ethnicity": 5, "education": 7}


def _scale_data(n: int) -> tuple[pd.DataFrame, dp.Targets]:
    rng = np.random.default_rng(7)
    cols = {}
    for v, k in SCALE_SIZES.items():
        p = rng.dirichlet(np.ones(k) * 3)
        cols[v] = pd.Categorical.from_codes(rng.choice(k, n, p=p).astype(np.int8),
                                            [f"{v}{i}" for i in range(k)])
    cols["q"] = pd.Categorical.from_codes(
        rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1]).astype(np.int8), list("abcd"))
    targets = dp.Targets.from_dict(
        {v: {f"{v}{i}": 1 / k for i in range(k)} for v, k in SCALE_SIZES.items()})
    return pd.DataFrame(cols), targets


def _best(fn: object, k: int = 5) -> float:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def _bincount_time(key: np.ndarray, size: int) -> float:
    return _best(lambda: np.bincount(key, minlength=size))


def scale_run(n: int) -> dict[str, float]:
    """One size, in its own process: the first proportion(by=) on a freshly raked design
    against a bincount of the (cell x domain x answer) table, and its memory per row."""
    df, targets = _scale_data(n)
    dp.proportion(dp.SurveyDesign(df.head(1000)), "q", by="sex")  # imports, once
    design = dp.rake(dp.SurveyDesign(df), targets)
    rec = design.calibration[0]
    age = df["age"].cat.codes.to_numpy()
    q = df["q"].cat.codes.to_numpy()
    size = rec.n_cells * 7 * 4  # type: ignore[union-attr]

    def key_and_bincount() -> np.ndarray:
        key = rec.row_cell * 28  # type: ignore[union-attr]
        key += age * 4
        key += q
        return np.bincount(key, minlength=size)

    t_bincount = _bincount_time(rec.row_cell * 28 + age * 4 + q, size)  # type: ignore[union-attr]
    t_key_bincount = _best(key_and_bincount)
    firsts, peaks, kept = [], [], []
    for i in range(3):
        fresh = design if i == 0 else dp.rake(dp.SurveyDesign(df), targets)
        tracemalloc.start()
        t0 = time.perf_counter()
        dp.proportion(fresh, "q", by="age")
        firsts.append(time.perf_counter() - t0)
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks.append(peak / n)
        kept.append(cur / n)
        del fresh
    t_repeat = _best(lambda: dp.proportion(design, "q", by="age"), 3)
    return {"n": n, "cells": rec.n_cells, "bincount": t_bincount, "key_bincount": t_key_bincount,
            "first": min(firsts), "repeat": t_repeat, "peak_bytes_per_row": max(peaks),
            "kept_bytes_per_row": max(kept)}


def small_first(n_designs: int = 50) -> tuple[float, float, float]:
    """Median and best time of the first proportion(by=) on a fresh raked n = 4,000 design
    (raked again from one base design, whose column codes it shares), and the median on a
    design raked from a new SurveyDesign (no codes known yet)."""
    df, _ = make()
    targets = dp.datasets.england_adult_targets()
    base = dp.SurveyDesign(df)
    dp.proportion(dp.rake(base, targets), "q00", by="age_group")
    times, cold = [], []
    for _ in range(n_designs):
        d = dp.rake(base, targets)
        t0 = time.perf_counter()
        dp.proportion(d, "q00", by="age_group")
        times.append(time.perf_counter() - t0)
        d = dp.rake(dp.SurveyDesign(df), targets)
        t0 = time.perf_counter()
        dp.proportion(d, "q00", by="age_group")
        cold.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times)), float(np.median(cold))


def scale_main(sizes: tuple[int, ...] = (1_000_000, 20_000_000)) -> None:
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--scale", str(n)], check=True,
                             capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    med, best, cold = small_first()
    md = [
        "## First proportion(by=) at scale: the (cell x domain x answer) table",
        "",
        f"Machine: {machine()}. Raked design (5 margins, 2 x 7 x 9 x 5 x 7 categories, starting "
        f"weights 1, {int(rows[-1]['cells']):,} weighting cells), one 4-category answer by a 7-category domain; each size in its own process. "
        "`bincount`: `np.bincount` of a precomputed (cell x domain x answer) key; `key + "
        "bincount`: forming that key from the per-row codes and counting it (the one pass a "
        "group-by does). `first`: `proportion(q, by=age)` on a freshly raked design (codes "
        "coded, the table built and the raking-aware SEs computed); best of 3 fresh designs. "
        "Memory: tracemalloc peak during that call and what stays allocated after it "
        "(the design's compact codes), per row.",
        "",
        "| rows | bincount (ms) | key + bincount (ms) | first proportion(by=) (ms) | first / "
        "bincount | first / key + bincount | repeat (ms) | peak B/row | kept B/row |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {int(r['n']):,} | {r['bincount'] * 1e3:.0f} | {r['key_bincount'] * 1e3:.0f} | "
            f"{r['first'] * 1e3:.0f} | {r['first'] / r['bincount']:.1f}x | "
            f"{r['first'] / r['key_bincount']:.1f}x | {r['repeat'] * 1e3:.0f} | "
            f"{r['peak_bytes_per_row']:.1f} | {r['kept_bytes_per_row']:.1f} |")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    md += ["", f"First `proportion(by=)` on a fresh raked n = 4,000 design (50 designs): median "
           f"{med * 1e3:.2f} ms, best {best * 1e3:.2f} ms, raked from one base design (the "
           f"column codes are known); median {cold * 1e3:.2f} ms raked from a new "
           "SurveyDesign each time, which codes its columns in that call "
           f"(OPENBLAS_NUM_THREADS={threads})."]
    write_result("estimation_scale", "\n".join(md))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--scale":
        print(json.dumps(scale_run(int(sys.argv[2]))))
    elif len(sys.argv) == 2 and sys.argv[1] == "--scale-only":
        scale_main()
    else:
        main()
        scale_main()
