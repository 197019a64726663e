"""Raking benchmark: 5 margins (2, 7, 9, 5, 7 categories) on 4,000 and 1,000,000 rows.

Side by side in one run with weightipy, svy and R survey when they are installed. Every tool
but weightipy's default row is run to the same convergence (shares within 1e-10) from
starting weights 1 on the same skewed categorical data. Beside them, delibpoll's whole ``rake`` call against a bare numpy
IPF on the same weighting cells (the floor for raking in numpy: no checks, no records, no
report), timed in turns in one run. Writes ``benchmarks/results/weighting.md``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
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


def numpy_ipf_on_cells(
    df: pd.DataFrame, shares: dict[str, dict[str, float]], tol: float = 1e-10
) -> tuple[Callable[[], tuple[np.ndarray, int]], int]:
    """A bare numpy IPF on the weighting cells of ``df``, and the number of cells.

    The cells (the combinations of the raking variables that occur) are formed once, outside
    the timed function, from the categorical codes. The timed function rakes the cells from
    starting weights 1 until every margin's shares are within ``tol`` of the targets (the
    same stopping rule as delibpoll's rake: margins checked before each sweep) and maps the
    cell factors back to the rows. It returns the row weights and the number of sweeps.
    """
    codes = [df[v].cat.codes.to_numpy().astype(np.intp) for v in shares]
    sizes = [len(df[v].cat.categories) for v in shares]
    uniq, row_cell = np.unique(np.ravel_multi_index(codes, sizes), return_inverse=True)
    cell_codes = [c.astype(np.intp) for c in np.unravel_index(uniq, sizes)]
    counts = np.bincount(row_cell).astype(float)
    target_shares = [np.array(list(shares[v].values())) for v in shares]
    target_counts = [t * len(df) for t in target_shares]

    def ipf() -> tuple[np.ndarray, int]:
        cw = counts.copy()

        def error() -> float:
            total = cw.sum()
            return max(
                float(np.abs(np.bincount(c, cw, len(t)) / total - t).max())
                for c, t in zip(cell_codes, target_shares, strict=True)
            )

        sweeps = 0
        while error() >= tol and sweeps < 1000:
            sweeps += 1
            for c, t in zip(cell_codes, target_counts, strict=True):
                cw *= (t / np.bincount(c, cw, len(t)))[c]
        return (cw / counts)[row_cell], sweeps

    return ipf, len(uniq)


def bench_floor(n: int, repeats: int) -> tuple[list[tuple[str, float | None, str]], int]:
    """delibpoll's rake against the bare numpy IPF on the same cells, timed in turns."""
    df, shares = make_data(n)
    targets = dp.Targets.from_dict(shares)
    design = dp.SurveyDesign(df)
    ipf, n_cells = numpy_ipf_on_cells(df, shares)
    w, sweeps = ipf()
    raked = dp.rake(design, targets, tol=1e-10)
    gap = float(np.max(np.abs(w / raked.weight_array - 1)))
    if gap > 1e-12 or raked.weighting_report.iterations != sweeps:
        raise RuntimeError(f"the numpy IPF and rake disagree ({gap:.3g}, {sweeps} sweeps)")
    medians, ratios = paired_times(
        {
            "ipf": ipf,
            "rake": lambda: dp.rake(design, targets, tol=1e-10),
            "fresh": lambda: dp.rake(dp.SurveyDesign(df), targets, tol=1e-10),
            "report": lambda: dp.rake(design, targets, tol=1e-10).weighting_report.margins(),
        },
        repeats=repeats,
    )
    rows: list[tuple[str, float | None, str]] = [
        ("numpy IPF on the cells", medians["ipf"],
         f"{n_cells:,} cells, {sweeps} sweeps; cells formed beforehand, untimed"),
        ("delibpoll rake()", medians["rake"], f"{ratios['rake']:.2f}x the numpy IPF"),
        ("delibpoll SurveyDesign() + rake()", medians["fresh"],
         f"{ratios['fresh']:.2f}x; a new design each call (codes its columns again)"),
        ("delibpoll rake() + report margins()", medians["report"],
         f"{ratios['report']:.2f}x; the margins table is built when asked for"),
    ]
    return rows, n_cells



def _max_share_error(df: pd.DataFrame, shares: dict[str, dict[str, float]], w: np.ndarray) -> float:
    """Largest |weighted share - target share| over every margin category."""
    return max(
        float(np.abs(np.bincount(df[v].cat.codes.to_numpy(), w, minlength=len(m)) / w.sum()
                     - np.array(list(m.values()))).max())
        for v, m in shares.items()
    )


def _weightipy_rows(df: pd.DataFrame, shares: dict[str, dict[str, float]],
                    repeats: int) -> list[tuple[str, float | None, str]]:
    """weightipy twice: with its default stopping rule, and run to convergence.

    Its default rule (``convcrit=0.01`` on the summed absolute weight change, which starts
    from a fixed 999,999) stops after the first sweeps once n reaches about 1M, before the
    margins are met; ``Rim`` does not pass its own ``convcrit`` on to the raking loop. The
    converged row calls weightipy's ``Rake`` loop with a fixed number of sweeps: the fewest
    of 5, 6, ..., 40 that bring every share within 1e-10 of its target (checked here, and
    the check is repeated on the timed result).
    """
    import contextlib
    import io

    import weightipy as wp
    from weightipy.internal.rim import Rake

    plain = df.astype(str)
    scheme = wp.scheme_from_dict({v: {c: 100 * s for c, s in m.items()} for v, m in shares.items()})
    def default() -> pd.DataFrame:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "partial convergence"
            return wp.weight_dataframe(plain, scheme, weight_column="w")

    default_w = default()["w"].to_numpy()
    t_default = median_time(default, repeats=max(3, repeats // 2))
    targets = [{v: {c: 100 * s for c, s in m.items()}} for v, m in shares.items()]

    def fixed(sweeps: int) -> np.ndarray:
        rk = Rake(plain.copy(), targets, "w", max_iterations=sweeps, convcrit=-1e12)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "did not converge" at the cap
            rk.start()
        return np.asarray(rk.dataframe["w"], dtype=float)

    sweeps = next((k for k in range(5, 41) if _max_share_error(df, shares, fixed(k)) <= 1e-10), None)
    rows: list[tuple[str, float | None, str]] = [(
        "weightipy, default stopping rule", t_default,
        f"largest share error {_max_share_error(df, shares, default_w):.1e} (not converged "
        "when above 1e-10)")]
    if sweeps is None:
        rows.append(("weightipy, converged", None, "did not reach 1e-10 in 40 sweeps"))
    else:
        t_fixed = median_time(lambda: fixed(sweeps), repeats=max(3, repeats // 2))
        rows.append(("weightipy, converged", t_fixed,
                     f"{sweeps} sweeps; largest share error "
                     f"{_max_share_error(df, shares, fixed(sweeps)):.1e}"))
    return rows

def bench(n: int, repeats: int) -> list[tuple[str, float | None, str]]:
    df, shares = make_data(n)
    design = dp.SurveyDesign(df)
    targets = dp.Targets.from_dict(shares)
    t_dp = median_time(lambda: dp.rake(design, targets, tol=1e-10), repeats=repeats)
    rows: list[tuple[str, float | None, str]] = [("delibpoll", t_dp, "from categorical columns")]
    if have("weightipy"):
        rows += _weightipy_rows(df, shares, repeats)
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
    for n, repeats in ((4_000, 301), (1_000_000, 15)):
        floor, _ = bench_floor(n, repeats)
        parts += [
            "",
            f"### delibpoll beside a bare numpy IPF on the same cells, n = {n:,}",
            "",
            "Timed in turns in one run (one call of each per round); the ratios are medians "
            "over rounds of each call's time over the numpy IPF's in the same round. Both "
            "give the same weights (to 1e-12) after the same number of sweeps.",
            "",
            table(floor, floor[0][1] or 1.0).replace("time / delibpoll", "time / numpy IPF"),
        ]
    write_result("weighting", "\n".join(parts))


if __name__ == "__main__":
    main()
