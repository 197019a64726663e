"""Replicate benchmark: n = 4,000, 500 bootstrap replicates, raking every replicate to 5
margins, and one proportion with replicate variance. Side by side with svy and R when
installed. Writes ``benchmarks/results/replicates.md``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import have, have_r_survey, machine, median_time, run_r, table, write_result

import delibpoll as dp

MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]


def main() -> None:
    t3 = dp.datasets.load_example(3)
    targets = dp.datasets.england_adult_targets(MARGINS)

    def run() -> object:
        d = dp.SurveyDesign(t3).with_replicates("bootstrap", n_replicates=500, rng=1)
        r = dp.rake(d, targets)
        return dp.proportion(r, "q_pact")

    t_dp = median_time(run, repeats=5)
    rows: list[tuple[str, float | None, str]] = [("delibpoll", t_dp, "500 replicates, 5 margins")]
    if have("svy"):
        import polars as pl
        import svy

        frame = pl.from_pandas(t3[MARGINS + ["q_pact", "respondent_id"]].astype(str).assign(w=1.0))
        shares = {v: {str(k): float(s) for k, s in targets.shares(v).items()} for v in MARGINS}

        def run_svy() -> object:
            smp = svy.Sample(frame, svy.Design(wgt="w", psu="respondent_id"))
            smp = smp.weighting.create_bs_wgts(500, rstate=1)
            smp = smp.weighting.rake(shares=shares, tol=1e-10, max_iter=1000)
            return smp.estimation.prop("q_pact", method="replication")

        try:
            t0 = time.perf_counter()
            run_svy()
            rows.append(("svy", time.perf_counter() - t0, "create_bs_wgts + rake + prop"))
        except Exception as exc:  # peer API changes should not stop the benchmark
            rows.append(("svy", None, f"failed: {type(exc).__name__}"))
    else:
        rows.append(("svy", None, "not installed"))
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
t <- system.time({{
  rd <- as.svrepdesign(d, type="bootstrap", replicates=500)
  rr <- rake(rd, list({', '.join('~' + v for v in MARGINS)}), list({', '.join(margins)}))
  svymean(~q_pact, rr)
}})[["elapsed"]]
cat(t)
"""
            rows.append(("R survey", float(run_r(code).strip()), "as.svrepdesign + rake + svymean, one run"))
    else:
        rows.append(("R survey", None, "R not installed"))
    md = [
        "## Replicate weights: 500 bootstrap replicates raked to 5 margins",
        "",
        f"Machine: {machine()}. n = 4,000; creating 500 bootstrap replicates, raking all of "
        "them (and the full sample) to 5 margins, and estimating one proportion with replicate "
        "variance. delibpoll: median of 5 runs; peers: one run.",
        "",
        table(rows, t_dp),
    ]
    write_result("replicates", "\n".join(md))


if __name__ == "__main__":
    main()
