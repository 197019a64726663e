"""Models and quantiles benchmark (issue #16): a logistic regression with 5 categorical
predictors on a raked n = 4,000 design, and medians of 50 variables by 5 domains.

Data: the seeded synthetic Tier 3 example (n = 4,000), raked to its 5 England margins (sex,
age group, region, education, ethnicity); the outcome is ``q_pact == "Increase confidence"``
and the predictors are the 5 margins (26 coefficients). For the medians, 50 seeded 0-10
scores are added and their medians with Woodruff intervals are estimated by ethnicity
(5 domains).

Side by side with svy (its own raking of the same sample, then ``glm.fit`` /
``estimation.median``) and R survey (``rake`` + ``svyglm(quasibinomial)``, ``svyby(...,
svyquantile)``), timed in one R run with ``system.time`` over repeats. svy's coefficients
are checked to equal delibpoll's before it is timed. Every tool's model uses the raked
design's raking-aware variance. Writes ``benchmarks/results/models.md``.

Run: ``python benchmarks/bench_models.py`` (svy is installed by ``nox -s bench`` only).
delibpoll's and svy's glm are timed in turns (one call of each per round; the ratio is the
median over rounds of svy's time over delibpoll's in the same round), with the BLAS threads
as set: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_models.py`` measures
single-threaded. delibpoll fits a model matrix this small with one BLAS thread
(``_glm.small_blas``) and sums each product over its 1,244 distinct rows
(``_glm.RowGroups``). The first fit on a fresh design also codes the predictor columns
(timed separately).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    have,
    have_r_survey,
    machine,
    median_time,
    paired_times,
    run_r,
    table,
    write_result,
)

import delibpoll as dp

MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]
FORMULA = "pact_up ~ " + " + ".join(MARGINS)
N_SCORES = 50
DOMAIN = "ethnicity"
REPEATS = 7
ROUNDS = 31  # delibpoll and svy glm in turns
R_REPEATS = 5


def _data() -> tuple[pd.DataFrame, dp.Targets]:
    t3 = dp.datasets.load_example(3)
    rng = np.random.default_rng(16)
    base = rng.normal(size=len(t3))
    scores = {f"s{j:02d}": np.clip(np.round(5 + 2 * (0.5 * base + rng.normal(size=len(t3)))),
                                   0, 10) for j in range(N_SCORES)}
    df = t3[["respondent_id", *MARGINS]].assign(
        pact_up=(t3["q_pact"] == "Increase confidence").astype(float), **scores)
    return df, dp.datasets.england_adult_targets(MARGINS)


def main() -> None:
    df, targets = _data()
    design = dp.rake(dp.SurveyDesign(df), targets, tol=1e-10)
    scores = [f"s{j:02d}" for j in range(N_SCORES)]

    fit = dp.glm(design, FORMULA, family="binomial")

    def run_glm() -> object:
        return dp.glm(design, FORMULA, family="binomial")

    t_glm = median_time(run_glm, repeats=REPEATS)
    # the first fit on a design codes its predictor columns (kept with the design)
    fresh = iter([design.with_columns({}) for _ in range(REPEATS + 1)])
    t_cold = median_time(lambda: dp.glm(next(fresh), FORMULA, family="binomial"),
                         repeats=REPEATS)

    def medians() -> None:
        for v in scores:
            dp.median(design, v, by=DOMAIN)

    t_med = median_time(medians, repeats=3)
    med_ours = pd.concat([dp.median(design, v, by=DOMAIN).to_frame() for v in scores])
    rows_g: list[tuple[str, float | None, str]] = [
        ("delibpoll glm", t_glm, f"{len(fit.names)} coefficients, raking-aware SEs, IRLS to 1e-12"),
        ("delibpoll glm, first fit on a design", t_cold, "codes the 5 predictor columns too"),
    ]
    rows_m: list[tuple[str, float | None, str]] = [
        ("delibpoll median(by=) x 50", t_med, "Woodruff CIs (R's default), raking-aware"),
    ]

    if have("svy"):
        import polars as pl
        import svy

        frame = pl.from_pandas(df.astype({c: str for c in MARGINS}).assign(w=1.0))
        shares = {v: {str(k): float(s) for k, s in targets.shares(v).items()} for v in MARGINS}
        smp = svy.Sample(frame, svy.Design(wgt="w"))
        smp = smp.weighting.rake(shares=shares, tol=1e-10, max_iter=1000)
        # the same reference levels as delibpoll (the first category of each margin)
        x = [svy.Cat(v, ref=str(design.column_codes(v)[1][0])) for v in MARGINS]

        def run_svy_glm() -> object:
            return smp.glm.fit("pact_up", x=x, family="binomial", tol=1e-12)

        theirs = run_svy_glm().to_polars().to_pandas()  # type: ignore[attr-defined]

        def r_name(term: str) -> str:  # svy's "sex_Male" is R's "sexMale"
            if term == "_intercept_":
                return "(Intercept)"
            v = next(m for m in MARGINS if term.startswith(m + "_"))
            return v + term[len(v) + 1:]

        theirs = theirs.assign(term=theirs["term"].map(r_name)).set_index("term")
        assert sorted(theirs.index) == sorted(fit.names)
        svy_est = theirs.loc[list(fit.names), "estimate"].to_numpy(dtype=float)
        svy_se = theirs.loc[list(fit.names), "std_err"].to_numpy(dtype=float)
        ours_est = np.asarray(fit.coef)
        gap = float(np.max(np.abs(svy_est - ours_est) / np.maximum(np.abs(ours_est), 1e-3)))
        assert gap < 1e-6, f"svy's coefficients differ from delibpoll's by {gap:.1e}"
        se_gap = float(np.max(np.abs(svy_se / fit.se - 1)))
        med, ratio = paired_times({"delibpoll": run_glm, "svy": run_svy_glm}, repeats=ROUNDS)
        t_glm = med["delibpoll"]
        rows_g[0] = (rows_g[0][0], t_glm, rows_g[0][2] + f"; timed in turns with svy ({ROUNDS} "
                     "rounds)")
        rows_g.append(("svy glm.fit", med["svy"],
                       f"{ratio['svy']:.1f}x delibpoll's time in the same rounds; coefficients "
                       f"equal delibpoll's (largest relative difference {gap:.1e}); SEs differ "
                       f"by up to {se_gap:.1e}"))

        def run_svy_med() -> None:
            for v in scores:
                smp.estimation.median(v, by=DOMAIN)

        t_svy_m = median_time(run_svy_med, repeats=3, warmup=1)
        rows_m.append(("svy estimation.median(by=) x 50", t_svy_m, "its default rule"))
    else:
        rows_g.append(("svy glm.fit", None, "not installed"))
        rows_m.append(("svy estimation.median", None, "not installed"))

    if have_r_survey():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "d.csv"
            df.to_csv(path, index=False)
            margins = []
            for v in MARGINS:
                sh = targets.shares(v)
                cats = ", ".join(repr(str(c)) for c in sh.index)
                freq = ", ".join(f"{s * len(df):.17g}" for s in sh.to_numpy())
                margins.append(f"data.frame({v}=factor(c({cats}), levels=c({cats})), "
                               f"Freq=c({freq}))")
            levels = "\n".join(
                f"df${v} <- factor(df${v}, levels = c("
                + ", ".join(repr(str(c)) for c in design.column_codes(v)[1]) + "))"
                for v in MARGINS)
            code = f"""
suppressMessages(library(survey))
df <- read.csv("{path}", stringsAsFactors = FALSE)
{levels}
d <- svydesign(ids = ~1, weights = ~rep(1, nrow(df)), data = df)
r <- rake(d, list({', '.join('~' + m for m in MARGINS)}), list({', '.join(margins)}),
          control = list(maxit = 1000, epsilon = 1e-10))
f <- {FORMULA}
fit <- svyglm(f, r, family = quasibinomial(), control = glm.control(epsilon = 1e-12))
cat(sprintf("%.17g", coef(fit)), "\\n")
tg <- replicate({R_REPEATS}, system.time(
  svyglm(f, r, family = quasibinomial(), control = glm.control(epsilon = 1e-12)))[["elapsed"]])
cat(median(tg), "\\n")
vs <- sprintf("s%02d", 0:{N_SCORES - 1})
tm <- replicate(3, system.time(for (v in vs)
  svyby(as.formula(paste0("~", v)), ~{DOMAIN}, r, svyquantile, quantiles = 0.5,
        ci = TRUE))[["elapsed"]])
cat(median(tm), "\\n")
"""
            out = run_r(code).strip().splitlines()
            r_coef = np.array([float(v) for v in out[0].split()])
            r_gap = float(np.max(np.abs(r_coef - np.asarray(fit.coef))
                                 / np.maximum(np.abs(fit.coef), 1e-3)))
            rows_g.append(("R survey svyglm(quasibinomial)", float(out[1]),
                           f"median of {R_REPEATS} system.time runs; coefficients equal "
                           f"delibpoll's to {r_gap:.1e}"))
            rows_m.append(("R survey svyby(svyquantile) x 50", float(out[2]),
                           "median of 3 system.time runs"))
    else:
        rows_g.append(("R survey svyglm", None, "R not installed"))
        rows_m.append(("R survey svyby(svyquantile)", None, "R not installed"))

    n_domains = int(med_ours["ethnicity"].nunique())
    md = [
        "## Models: logistic regression on a raked design; medians by domain",
        "",
        f"Machine: {machine()}. Raked n = 4,000 design (5 margins). Logistic regression "
        f"`{FORMULA}` (5 categorical predictors, {len(fit.names)} coefficients, "
        "raking-aware SEs). Times are medians of repeated runs.",
        "",
        table(rows_g, t_glm),
        "",
        f"Medians of {N_SCORES} 0-10 scores by {DOMAIN} ({n_domains} domains) with "
        "Woodruff intervals, one call per score.",
        "",
        table(rows_m, t_med),
        "",
        "BLAS threads: " + (os.environ.get("OPENBLAS_NUM_THREADS") or "default") + " (set "
        "OPENBLAS_NUM_THREADS=1 on a loaded machine: see the module docstring).",
    ]
    write_result("models", "\n".join(md))


if __name__ == "__main__":
    main()
