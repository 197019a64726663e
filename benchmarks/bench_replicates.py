"""Replicate benchmark: n = 4,000 (the seeded synthetic Tier 3 example), 500 bootstrap
replicates, every replicate raked to 5 margins, one proportion with replicate variance.

Side by side with svy (``create_bs_wgts`` + ``rake`` + ``prop(method="replication")``) and R
(``as.svrepdesign`` + ``rake`` + ``svymean``) when installed. Every tool is timed end to end
(building the replicates, raking them all, estimating) as the median of several runs, and
rakes to a comparable precision. Writes ``benchmarks/results/replicates.md``.

Run: ``python benchmarks/bench_replicates.py`` (svy is installed by ``nox -s bench`` only).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

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
N_REPS = 500
REPEATS = 7
PEER_REPEATS = 5
R_REPEATS = 3
FOCUS = "Increase confidence"


def main() -> None:
    t3 = dp.datasets.load_example(3)
    targets = dp.datasets.england_adult_targets(MARGINS)

    def run(method: str) -> dp.Estimate:
        d = dp.SurveyDesign(t3).with_replicates(method, n_replicates=N_REPS, rng=1)  # type: ignore[arg-type]
        return dp.proportion(dp.rake(d, targets), "q_pact")

    def se_of(est: dp.Estimate) -> float:
        fr = est.to_frame().set_index("category")
        return float(fr.loc[FOCUS, "se"])

    t_dp = median_time(lambda: run("bootstrap"), repeats=REPEATS)
    t_dp_rw = median_time(lambda: run("subbootstrap"), repeats=REPEATS)
    rows: list[tuple[str, float | None, str]] = [
        ("delibpoll", t_dp, f"bootstrap (R's type='bootstrap'); SE {se_of(run('bootstrap')):.5f}"),
        ("delibpoll", t_dp_rw, f"subbootstrap (Rao-Wu); SE {se_of(run('subbootstrap')):.5f}"),
    ]
    # where delibpoll's time goes (bootstrap): the whole run and its stages timed in turns
    plain = dp.SurveyDesign(t3)
    with_reps = plain.with_replicates("bootstrap", n_replicates=N_REPS, rng=1)
    stage_times, _ = paired_times(
        {
            "whole": lambda: run("bootstrap"),
            "build": lambda: plain.with_replicates("bootstrap", n_replicates=N_REPS, rng=1),
            "rake": lambda: dp.rake(with_reps, targets),
            "rake+prop": lambda: dp.proportion(dp.rake(with_reps, targets), "q_pact"),
        },
        repeats=3 * REPEATS,
    )
    rows += [
        ("delibpoll, in turns with its stages", stage_times["whole"], "bootstrap, as row 1"),
        ("delibpoll: build the replicates", stage_times["build"], "part of the row above"),
        ("delibpoll: rake (full sample, then replayed on every replicate)",
         stage_times["rake"], "part of the row above"),
        ("delibpoll: proportion (with the replicates' rank for the df)",
         stage_times["rake+prop"] - stage_times["rake"], "part of the row above"),
    ]

    if have("svy"):
        import polars as pl
        import svy

        frame = pl.from_pandas(
            t3[MARGINS + ["q_pact", "respondent_id"]].astype(str).assign(w=1.0)
        )
        shares = {v: {str(k): float(s) for k, s in targets.shares(v).items()} for v in MARGINS}

        def run_svy() -> object:
            smp = svy.Sample(frame, svy.Design(wgt="w", psu="respondent_id"))
            smp = smp.weighting.create_bs_wgts(N_REPS, rstate=1)
            smp = smp.weighting.rake(shares=shares, tol=1e-10, max_iter=1000)
            return smp.estimation.prop("q_pact", method="replication")

        try:
            est = run_svy()
            t_svy = median_time(run_svy, repeats=PEER_REPEATS)
            se = next(
                float(r["se"]) for r in est.to_polars().to_dicts()  # type: ignore[attr-defined]
                if r.get("q_pact") == FOCUS
            )
            rows.append(("svy", t_svy, f"create_bs_wgts (Rao-Wu) + rake + prop; SE {se:.5f}"))
        except Exception as exc:  # a peer's API change should not stop the benchmark
            rows.append(("svy", None, f"failed: {type(exc).__name__}: {exc}"[:120]))
    else:
        rows.append(("svy", None, "not installed (nox -s bench installs it)"))

    if have_r_survey():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "d.csv"
            t3[MARGINS + ["q_pact"]].to_csv(path, index=False)
            margins = []
            for v in MARGINS:
                sh = targets.shares(v)
                margins.append(
                    f"data.frame({v}=c({', '.join(repr(str(c)) for c in sh.index)}), "
                    f"Freq=c({', '.join(f'{s * len(t3):.17g}' for s in sh.to_numpy())}))"
                )
            code = f"""
suppressMessages(library(survey))
df <- read.csv("{path}", stringsAsFactors=TRUE)
d <- svydesign(ids=~1, weights=rep(1, nrow(df)), data=df)
set.seed(1)
run <- function() {{
  rd <- as.svrepdesign(d, type="bootstrap", replicates={N_REPS})
  rr <- rake(rd, list({', '.join('~' + v for v in MARGINS)}), list({', '.join(margins)}),
             control=list(maxit=1000, epsilon=1e-8))
  svymean(~q_pact, rr)
}}
times <- replicate({R_REPEATS}, system.time(m <- run())[["elapsed"]])
m <- run()
cat(median(times), SE(m)[names(coef(m)) == "q_pact{FOCUS}"])
"""
            secs, se = (float(x) for x in run_r(code).split())
            rows.append(("R survey", secs,
                         f"as.svrepdesign + rake (epsilon 1e-8) + svymean; SE {se:.5f}"))
    else:
        rows.append(("R survey", None, "R with the survey package not installed"))

    md = [
        "## Replicate weights: 500 bootstrap replicates raked to 5 margins",
        "",
        f"Machine: {machine()}. Data: the seeded synthetic Tier 3 example (n = 4,000, every "
        "row its own PSU). Timed end to end: create 500 bootstrap replicates, rake the full "
        "sample and every replicate to 5 margins (sex, age group, region, education, "
        "ethnicity; to 1e-10 on the shares, R to 1e-8 on the weights), and estimate the "
        f"shares of one question with replicate SEs (the SE shown is that of '{FOCUS}'; the "
        "bootstraps differ in their random draws, so SEs agree only to Monte Carlo error). "
        f"Medians of {REPEATS} runs (delibpoll), {PEER_REPEATS} (svy) and {R_REPEATS} (R); "
        "the machine is shared, so single runs vary by about 30%.",
        "",
        table(rows, t_dp),
    ]
    write_result("replicates", "\n".join(md))


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - t0:.0f} s)")
