"""Tests for delibpoll.weighting: raking, calibration, post-stratification and trimming.

R references: ``tests/reference/r/weighting.R`` (``survey::rake``, ``calibrate``,
``postStratify`` run to convergence with maxit=1000, epsilon=1e-12).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll import (
    ConvergenceError,
    ConvergenceWarning,
    DelibpollError,
    SurveyDesign,
    Targets,
    calibrate,
    poststratify,
    rake,
    trim,
)

# ---------------------------------------------------------------------- helpers

ENGLAND_MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]


def england_like(ref):  # type: ignore[no-untyped-def]
    return ref.data("england_like.csv", keep_default_na=False, na_values=[""])


def england_targets(ref):  # type: ignore[no-untyped-def]
    t = Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    return t


def skewed_sample(seed: int, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n, p=[0.62, 0.38]),
            "age": rng.choice(["18-34", "35-54", "55+"], n, p=[0.2, 0.35, 0.45]),
            "edu": rng.choice(["low", "mid", "high"], n, p=[0.15, 0.35, 0.5]),
            "w0": rng.uniform(0.5, 2.0, n),
        }
    )


TARGETS = Targets.from_dict(
    {
        "sex": {"F": 0.51, "M": 0.49},
        "age": {"18-34": 0.3, "35-54": 0.33, "55+": 0.37},
        "edu": {"low": 0.3, "mid": 0.4, "high": 0.3},
    }
)


def weighted_shares(design: SurveyDesign, var: str) -> pd.Series:
    w = design.weights
    return w.groupby(design.data[var]).sum() / w.sum()


# ---------------------------------------------------------------------- R reference


@pytest.mark.parametrize(
    ("case", "expected_n"), [("apiclus1_raked", 183), ("england_raked", 2000)]
)
def test_rake_weights_equal_r(ref, case: str, expected_n: int) -> None:  # type: ignore[no-untyped-def]
    """Weights equal survey::rake() to 1e-8 relative."""
    if case == "apiclus1_raked":
        data = ref.data("apiclus1.csv")
        design = SurveyDesign(data, weights="pw", ids="dnum", fpc="fpc")
        targets = Targets.from_dict(
            {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}
        )
    else:
        data = england_like(ref)
        design = SurveyDesign(data)
        targets = england_targets(ref).select(ENGLAND_MARGINS)
    raked = rake(design, targets, tol=1e-12)
    expected = ref.weights(case)
    assert len(expected) == expected_n
    np.testing.assert_allclose(raked.weights.to_numpy(), expected, rtol=1e-8, atol=0)


@pytest.mark.parametrize(
    ("case", "method"),
    [("england_cal_linear", "linear"), ("england_cal_raking", "raking"), ("england_cal_logit", "logit")],
)
def test_calibrate_weights_equal_r(ref, case: str, method: str) -> None:  # type: ignore[no-untyped-def]
    """calibrate(calfun=...) weights equal R's to 1e-8 relative (bounds as in the R script)."""
    data = england_like(ref)
    targets = england_targets(ref).select(["sex", "age_group", "region", "education"])
    bounds = None
    if method == "logit":
        bounds = (ref.get(case, "calibrate", "bound_lower"), ref.get(case, "calibrate", "bound_upper"))
    out = calibrate(SurveyDesign(data), targets, method=method, bounds=bounds, tol=1e-13)  # type: ignore[arg-type]
    np.testing.assert_allclose(out.weights.to_numpy(), ref.weights(case), rtol=1e-8, atol=0)
    if bounds is not None:
        g = out.weights.to_numpy()
        assert g.min() >= bounds[0] - 1e-9 and g.max() <= bounds[1] + 1e-9


def test_poststratify_equals_r(ref) -> None:  # type: ignore[no-untyped-def]
    data = england_like(ref)
    targets = england_targets(ref).select([("age_group", "sex")])
    out = poststratify(SurveyDesign(data), targets)
    np.testing.assert_allclose(out.weights.to_numpy(), ref.weights("england_poststrat"), rtol=1e-10)
    api = ref.data("apiclus1.csv")
    d = SurveyDesign(api, weights="pw", ids="dnum", fpc="fpc")
    out = poststratify(d, Targets.from_dict({"stype": {"E": 4421, "H": 755, "M": 1018}}))
    np.testing.assert_allclose(out.weights.to_numpy(), ref.weights("apiclus1_poststrat"), rtol=1e-10)


# ---------------------------------------------------------------------- agreement between methods


def test_raking_equals_calibration_with_raking_function() -> None:
    """As R's rakecheck.R: rake() and calibrate(calfun='raking') give the same weights."""
    d = SurveyDesign(skewed_sample(1), weights="w0")
    a = rake(d, TARGETS, tol=1e-13).weights.to_numpy()
    b = calibrate(d, TARGETS, method="raking", tol=1e-13).weights.to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_one_margin_raking_equals_poststratification() -> None:
    d = SurveyDesign(skewed_sample(2), weights="w0")
    t = TARGETS.select(["age"])
    np.testing.assert_allclose(
        rake(d, t).weights.to_numpy(), poststratify(d, t).weights.to_numpy(), rtol=1e-12
    )


def test_joint_margin_poststratification_matches_cell_formula() -> None:
    df = skewed_sample(3)
    d = SurveyDesign(df, weights="w0")
    cells = {(a, s): 0.0 for a in ["18-34", "35-54", "55+"] for s in ["F", "M"]}
    rng = np.random.default_rng(3)
    vals = rng.uniform(1, 2, len(cells))
    for k, v in zip(cells, vals / vals.sum(), strict=True):
        cells[k] = float(v)
    out = poststratify(d, Targets.from_dict({("age", "sex"): cells}))
    w = df["w0"]
    for (a, s), share in cells.items():
        m = (df["age"] == a) & (df["sex"] == s)
        expected = w[m] * share * w.sum() / w[m].sum()
        np.testing.assert_allclose(out.weights[m], expected, rtol=1e-12)


# ---------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_rake_properties(seed: int) -> None:
    """Margins met, weights positive, input unchanged, order invariant, idempotent."""
    df = skewed_sample(seed, n=400)
    before = df.copy()
    d = SurveyDesign(df, weights="w0")
    raked = rake(d, TARGETS)
    assert (raked.weights > 0).all()
    for var in ["sex", "age", "edu"]:
        np.testing.assert_allclose(
            weighted_shares(raked, var).sort_index(),
            TARGETS.shares(var).sort_index().to_numpy(),
            atol=1e-10,
        )
    pd.testing.assert_frame_equal(df, before)
    np.testing.assert_array_equal(d.weights.to_numpy(), df["w0"].to_numpy())
    assert raked.weights.sum() == pytest.approx(df["w0"].sum(), rel=1e-12)
    perm = np.random.default_rng(seed).permutation(len(df))
    shuffled = rake(SurveyDesign(df.iloc[perm], weights="w0"), TARGETS)
    np.testing.assert_allclose(
        shuffled.weights.sort_index().to_numpy(), raked.weights.sort_index().to_numpy(), rtol=1e-9
    )
    again = rake(raked, TARGETS)
    assert again.weighting_report is not None and again.weighting_report.iterations == 0
    np.testing.assert_array_equal(again.weights.to_numpy(), raked.weights.to_numpy())


def cap_is_feasible(df: pd.DataFrame, cap: float) -> bool:
    """Exact oracle: is there any positive weight vector meeting every margin under the cap?

    Solved as a linear feasibility problem (scipy's HiGHS), independent of the raking code.
    """
    from scipy.optimize import linprog

    n, tot = len(df), float(df["w0"].sum())
    rows, rhs = [], []
    for var in ["sex", "age", "edu"]:
        for cat, share in TARGETS.shares(var).items():
            rows.append((df[var] == cat).to_numpy(float))
            rhs.append(share * tot)
    res = linprog(np.zeros(n), A_eq=np.array(rows), b_eq=rhs, bounds=[(1e-6, cap * tot / n)] * n)
    return bool(res.status == 0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(0.6, 0.99))
def test_cap_respected_with_margins_met(seed: int, frac: float) -> None:
    """With a cap below the uncapped maximum: margins met and cap respected whenever a
    capped solution exists (linear-programming oracle); a ConvergenceError otherwise."""
    df = skewed_sample(seed, n=500)
    d = SurveyDesign(df, weights="w0")
    free = rake(d, TARGETS).weights
    cap = frac * float(free.max() / free.mean())
    if not cap > 1:
        return
    if not cap_is_feasible(df, cap):
        with pytest.raises(ConvergenceError):
            rake(d, TARGETS, cap=cap, max_iter=2000)
        return
    out = rake(d, TARGETS, cap=cap, max_iter=5000)
    w = out.weights.to_numpy()
    assert w.max() <= cap * w.mean() * (1 + 1e-9)
    for var in ["sex", "age", "edu"]:
        np.testing.assert_allclose(
            weighted_shares(out, var).sort_index(),
            TARGETS.shares(var).sort_index().to_numpy(),
            atol=1e-9,
        )


def test_cap_actually_binds() -> None:
    df = skewed_sample(11, n=500)
    free = rake(SurveyDesign(df, weights="w0"), TARGETS)
    w_free = free.weights.to_numpy()
    cap = 0.9 * w_free.max() / w_free.mean()
    capped = rake(SurveyDesign(df, weights="w0"), TARGETS, cap=cap, max_iter=5000)
    assert capped.weights.max() < w_free.max()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_calibrate_properties(seed: int) -> None:
    df = skewed_sample(seed, n=400)
    d = SurveyDesign(df, weights="w0")
    for method, bounds in [("linear", (0.05, 20.0)), ("raking", None), ("logit", (0.2, 5.0))]:
        out = calibrate(d, TARGETS, method=method, bounds=bounds)  # type: ignore[arg-type]
        for var in ["sex", "age", "edu"]:
            np.testing.assert_allclose(
                weighted_shares(out, var).sort_index(),
                TARGETS.shares(var).sort_index().to_numpy(),
                atol=1e-9,
            )
        again = calibrate(out, TARGETS, method=method, bounds=bounds)  # type: ignore[arg-type]
        np.testing.assert_allclose(again.weights.to_numpy(), out.weights.to_numpy(), rtol=1e-9)


# ---------------------------------------------------------------------- totals and options


def test_count_targets_fix_the_total_and_total_option() -> None:
    df = skewed_sample(4)
    counts = Targets.from_dict({"sex": {"F": 5100, "M": 4900}})
    assert rake(SurveyDesign(df), counts).weights.sum() == pytest.approx(10000)
    shares = TARGETS.select(["sex"])
    assert rake(SurveyDesign(df), shares, total=1e6).weights.sum() == pytest.approx(1e6)
    with pytest.raises(DelibpollError, match="disagrees"):
        rake(SurveyDesign(df), counts, total=5)


def test_unmatched_keep_keeps_current_share() -> None:
    df = skewed_sample(5)
    df.loc[df.index[:30], "sex"] = "Prefer not to say"
    d = SurveyDesign(df, weights="w0")
    with pytest.raises(DelibpollError, match=r"Prefer not to say.*unmatched='keep'"):
        rake(d, TARGETS)
    out = rake(d, TARGETS, unmatched="keep")
    before = weighted_shares(d, "sex")["Prefer not to say"]
    after = weighted_shares(out, "sex")
    assert after["Prefer not to say"] == pytest.approx(before, abs=1e-10)
    assert after["F"] / after["M"] == pytest.approx(0.51 / 0.49, rel=1e-9)


def test_report_contents() -> None:
    df = skewed_sample(6)
    out = rake(SurveyDesign(df, weights="w0"), TARGETS)
    rep = out.weighting_report
    assert rep is not None
    w = out.weights.to_numpy()
    assert rep.kish_deff == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert rep.kish_n_eff == pytest.approx(len(w) / rep.kish_deff)
    assert rep.weight_ratio == pytest.approx(w.max() / w.min())
    assert rep.converged and rep.max_margin_error < 1e-10
    m = rep.margins()
    assert list(m.columns) == [
        "variable", "category", "n", "target_share", "unweighted_share",
        "weighted_share_before", "weighted_share_after", "error",
    ]
    row = m[(m.variable == "sex") & (m.category == "F")].iloc[0]
    assert row["unweighted_share"] == pytest.approx((df["sex"] == "F").mean())
    assert row["target_share"] == 0.51
    frame = rep.to_frame()
    assert set(["kish_deff", "kish_n_eff", "weight_q50"]).issubset(frame["statistic"])
    assert "Weighting report (rake, converged" in str(rep)
    assert dp.kish_deff(w) == pytest.approx(rep.kish_deff)


def test_weighting_log_replays_on_other_columns() -> None:
    df = skewed_sample(7)
    out = trim(rake(SurveyDesign(df, weights="w0"), TARGETS), upper=3, relative=True)
    assert [s.method for s in out.weighting_log] == ["rake", "trim"]
    w = df["w0"].to_numpy()
    replayed = out.weighting_log[1].apply(out.weighting_log[0].apply(w))
    np.testing.assert_allclose(replayed, out.weights.to_numpy(), rtol=1e-12)
    # the resolved population total is replayed: a column on another scale lands on the same
    both = out.weighting_log[0].apply(np.column_stack([w, 2 * w]))
    np.testing.assert_allclose(both[:, 1], both[:, 0], rtol=1e-10)


# ---------------------------------------------------------------------- bad input


def test_missing_values_in_weighting_variable() -> None:
    df = skewed_sample(8)
    df.loc[df.index[:3], "age"] = None
    with pytest.raises(DelibpollError, match="'age' has 3 missing"):
        rake(SurveyDesign(df), TARGETS)


def test_text_none_and_na_are_categories() -> None:
    df = pd.DataFrame({"party": ["None", "NA", "Labour", "None"]})
    t = Targets.from_dict({"party": {"None": 0.5, "NA": 0.25, "Labour": 0.25}})
    out = rake(SurveyDesign(df), t)
    assert weighted_shares(out, "party")["NA"] == pytest.approx(0.25)


def test_target_category_without_respondents() -> None:
    df = skewed_sample(9)
    t = Targets.from_dict({"sex": {"F": 0.5, "M": 0.4, "X": 0.1}})
    with pytest.raises(DelibpollError, match=r"\['X'\].*no respondents"):
        rake(SurveyDesign(df), t)


def test_unknown_column_lists_available() -> None:
    with pytest.raises(DelibpollError, match="Available columns"):
        rake(SurveyDesign(skewed_sample(1)), Targets.from_dict({"region": {"a": 1.0}}))


def test_nonconvergence_error_and_warning() -> None:
    df = skewed_sample(10)
    d = SurveyDesign(df)
    with pytest.raises(ConvergenceError, match="largest margin error") as info:
        rake(d, TARGETS, max_iter=1)
    assert info.value.iterations == 1 and info.value.max_error > 0
    with pytest.warns(ConvergenceWarning):
        out = rake(d, TARGETS, max_iter=1, on_nonconvergence="warn")
    assert out.weighting_report is not None and not out.weighting_report.converged


def test_infeasible_cap_and_bounds() -> None:
    df = skewed_sample(12)
    with pytest.raises(DelibpollError, match="> 1"):
        rake(SurveyDesign(df), TARGETS, cap=1.0)
    with pytest.raises(ConvergenceError, match="cap"):
        rake(SurveyDesign(df), TARGETS, cap=1.05, max_iter=200)
    with pytest.raises(DelibpollError, match="L < 1 < U"):
        calibrate(SurveyDesign(df), TARGETS, method="logit", bounds=(1.2, 3))
    with pytest.raises(DelibpollError, match="needs bounds"):
        calibrate(SurveyDesign(df), TARGETS, method="logit")
    with pytest.raises(ConvergenceError, match="bounds may be infeasible"):
        calibrate(SurveyDesign(df), TARGETS, method="logit", bounds=(0.95, 1.05), max_iter=50)


def test_parameter_validation_messages() -> None:
    d = SurveyDesign(skewed_sample(1))
    with pytest.raises(DelibpollError, match="'tol' parameter of rake"):
        rake(d, TARGETS, tol=2)
    with pytest.raises(DelibpollError, match="'max_iter' parameter of rake"):
        rake(d, TARGETS, max_iter=0)
    with pytest.raises(DelibpollError, match="SurveyDesign"):
        rake(skewed_sample(1), TARGETS)  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="exactly one margin"):
        poststratify(d, TARGETS)


def test_trim_matches_r_trimweights_rule() -> None:
    w = np.array([1.0, 1.0, 1.0, 1.0, 6.0])
    d = SurveyDesign(pd.DataFrame({"w": w}), weights="w")
    out = trim(d, upper=4).weights.to_numpy()
    # R trimWeights: trimmed amount (2) shared equally among the 4 untrimmed weights
    np.testing.assert_allclose(out, [1.5, 1.5, 1.5, 1.5, 4.0])
    prop = trim(d, upper=4, redistribute="proportional").weights.to_numpy()
    np.testing.assert_allclose(prop, [1.5, 1.5, 1.5, 1.5, 4.0])
    assert out.sum() == pytest.approx(w.sum())
    with pytest.raises(DelibpollError, match="infeasible"):
        trim(d, upper=1.0)
    with pytest.raises(DelibpollError, match="at least one"):
        trim(d)


def test_no_warnings_on_clean_rake() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rake(SurveyDesign(skewed_sample(13)), TARGETS)


def test_linear_calibration_negative_weights_warn() -> None:
    """GREG weights can go negative (R returns them too); delibpoll warns and says how to
    avoid it, and bounded linear calibration keeps them inside the bounds."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"sex": np.where(rng.random(200) < 0.95, "F", "M"),
                       "age": rng.choice(["y", "o"], 200)})
    t = Targets.from_dict({"sex": {"F": 0.3, "M": 0.7}, "age": {"y": 0.5, "o": 0.5}})
    out = calibrate(SurveyDesign(df), t, method="raking")
    assert (out.weights > 0).all()
    skew = Targets.from_dict({"sex": {"F": 0.02, "M": 0.98}, "age": {"y": 0.9, "o": 0.1}})
    with pytest.warns(dp.WeightingWarning, match="negative weight"):
        neg = calibrate(SurveyDesign(df), skew, method="linear")
    assert (neg.weights <= 0).any()


# ---------------------------------------------------------------------- #12 item 1
@pytest.mark.parametrize(
    ("func", "kwargs"),
    [
        (rake, {}),
        (rake, {"cap": 2.0}),
        (calibrate, {"method": "linear"}),
        (calibrate, {"method": "raking"}),
        (calibrate, {"method": "logit", "bounds": (0.5, 60.0)}),
        (poststratify, {}),
    ],
)
@pytest.mark.parametrize("how", ["counts", "total"])
def test_population_total_is_met_when_shares_already_match(func, kwargs, how: str) -> None:  # type: ignore[no-untyped-def]
    """The sample already has the target shares (150 F, 150 M), so every weight must become
    N / n exactly (worked by hand: 10000 / 300), full sample and every replicate alike."""
    df = pd.DataFrame({"sex": ["F", "M"] * 150, "psu": np.repeat(np.arange(10), 30)})
    if how == "counts":
        targets, extra = Targets.from_dict({"sex": {"F": 5000, "M": 5000}}), {}
    else:
        targets, extra = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}}), {"total": 10000.0}
    d = SurveyDesign(df, ids="psu").with_replicates("jk1")
    if "bounds" in kwargs:
        # every population total is 33.3 x the sample's: R's grake rescales first and warns
        with pytest.warns(dp.WeightingWarning, match=r"rescaled the starting weights by 33\.33"):
            out = func(d, targets, **kwargs, **extra)
    else:
        out = func(d, targets, **kwargs, **extra)
    np.testing.assert_allclose(out.weights.to_numpy(), 10000 / 300, rtol=1e-12)
    reps = out.replicate_weights
    assert reps is not None
    np.testing.assert_allclose(reps.sum(axis=0).to_numpy(), 10000.0, rtol=1e-12)


# ---------------------------------------------------------------------- #12 item 2
@pytest.mark.parametrize(("n_margins", "n_cat"), [(19, 10), (20, 10), (64, 2)])
@pytest.mark.parametrize("func", [rake, calibrate])
def test_many_margins_cells_do_not_overflow(func, n_margins: int, n_cat: int) -> None:  # type: ignore[no-untyped-def]
    """Category-count products of 1e19, 1e20 and 2**64 exceed int64: every margin must still
    be met (weighted shares computed here by pandas groupby, within 1e-9 of the targets)."""
    rng = np.random.default_rng(12)
    df = pd.DataFrame({f"v{i}": rng.integers(0, n_cat, 2000).astype(str) for i in range(n_margins)})
    t = Targets.from_dict(
        {f"v{i}": {str(k): 1 / n_cat for k in range(n_cat)} for i in range(n_margins)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dp.WeightingWarning)  # GREG weights may go negative
        out = func(SurveyDesign(df), t, tol=1e-12)
    assert out.weighting_report is not None and out.weighting_report.converged
    for i in range(n_margins):
        shares = out.weights.groupby(df[f"v{i}"]).sum() / out.weights.sum()
        np.testing.assert_allclose(shares.to_numpy(), 1 / n_cat, rtol=0, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([1, 2, 3, 10, 1000, 2**40]), min_size=1, max_size=8),
    n=st.integers(0, 60),
    seed=st.integers(0, 1000),
)
def test_combine_codes_equals_pandas_groupby_ngroup(sizes: list[int], n: int, seed: int) -> None:
    """The cell codes equal pandas' groupby(...).ngroup() (sorted groups), whatever the
    product of the sizes (here up to 2**320)."""
    from delibpoll._engine import combine_codes

    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, min(s, 4), n).astype(np.int64) * (s // min(s, 4)) for s in sizes]
    got, n_groups = combine_codes(codes, sizes)
    frame = pd.DataFrame({i: c for i, c in enumerate(codes)})
    expected = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert n_groups == (len(np.unique(expected)) if n else 0)


# ---------------------------------------------------------------------- #12 item 15
@pytest.mark.parametrize(
    ("case", "method", "start"),
    [
        ("bounds_logit_125", "logit", "w_start"),
        ("bounds_linear_125", "linear", "w_start"),
        ("bounds_logit_rescaled", "logit", None),
    ],
)
def test_bounded_calibration_equals_r_grake(ref, case: str, method: str, start) -> None:  # type: ignore[no-untyped-def]
    """Bounds apply to g = new / starting weight, the starting weights rescaled only by R's
    20 x rule (tests/reference/r/weighting_bounds.R): weights equal R's to 1e-8 relative.

    The first two start from a raked sample on 1.25 x the population scale (R solves; the
    bounds would be infeasible after rescaling to the total); the third has every population
    total 50 x the sample's, where R rescales first and warns."""
    data = england_like(ref)
    if start is not None:
        data = data.merge(ref.data("england_bounds_start.csv"), on="id", validate="1:1")
    population = ref.get(case, "calibrate", "population")
    targets = england_targets(ref).select(["sex", "age_group", "region", "education"])
    bounds = (ref.get(case, "calibrate", "bound_lower"), ref.get(case, "calibrate", "bound_upper"))
    design = SurveyDesign(data, weights=start)
    if start is None:
        with pytest.warns(dp.WeightingWarning, match="apply to the rescaled weights"):
            out = calibrate(design, targets, method=method, bounds=bounds, tol=1e-13,  # type: ignore[arg-type]
                            total=population)
    else:
        out = calibrate(design, targets, method=method, bounds=bounds, tol=1e-13,  # type: ignore[arg-type]
                        total=population)
    np.testing.assert_allclose(out.weights.to_numpy(), ref.weights(case), rtol=1e-8, atol=0)
    g = out.weights.to_numpy() / design.weights.to_numpy()
    assert g.min() == pytest.approx(ref.get(case, "calibrate", "g_min"), rel=1e-8)
    assert g.max() == pytest.approx(ref.get(case, "calibrate", "g_max"), rel=1e-8)
    est = dp.mean(out, "trust").to_frame()
    assert est["estimate"].iloc[0] == pytest.approx(
        ref.get(case, "svymean", "estimate", variable="trust"), rel=1e-9)
    assert est["se"].iloc[0] == pytest.approx(
        ref.get(case, "svymean", "se", variable="trust"), rel=1e-6)


# ------------------------------------------------------- trim against R trimWeights
@pytest.mark.parametrize(
    "case", ["trim_upper", "trim_upper_strict", "trim_both", "trim_both_strict"]
)
def test_trim_equals_r_trimweights(ref, case: str) -> None:  # type: ignore[no-untyped-def]
    """Additive trimming equals R trimWeights (strict FALSE/TRUE) to 1e-8 relative, on
    log-normal weights where additive and proportional redistribution differ; proportional
    redistribution is checked against its formula worked here (one pass: clip, then scale
    the untrimmed weights by 1 + trimmed / their sum)."""
    w0 = ref.data("england_trim_start.csv")["w_trim"].to_numpy(float)
    upper = ref.get(case, "trimWeights", "upper")
    lower = ref.get(case, "trimWeights", "lower")
    strict = case.endswith("strict")
    d = SurveyDesign(pd.DataFrame({"w": w0}), weights="w")
    kw = {"upper": upper, "lower": None if np.isinf(lower) else lower, "strict": strict}
    out = trim(d, **kw).weights.to_numpy()  # type: ignore[arg-type]
    np.testing.assert_allclose(out, ref.weights(case), rtol=1e-8, atol=0)
    assert out.max() == pytest.approx(ref.get(case, "trimWeights", "max_weight"), rel=1e-8)
    if not strict:
        prop = trim(d, **kw, redistribute="proportional").weights.to_numpy()  # type: ignore[arg-type]
        clipped = np.clip(w0, lower, upper)
        inside = (w0 >= lower) & (w0 <= upper)
        expected = clipped.copy()
        expected[inside] *= 1 + (w0 - clipped).sum() / clipped[inside].sum()
        np.testing.assert_allclose(prop, expected, rtol=1e-12)
        assert np.abs(prop - out).max() > 1e-3  # the two rules differ here
        assert prop.sum() == pytest.approx(w0.sum(), rel=1e-12)


# ---------------------------------------------------------------------- #12 item 23
@pytest.mark.parametrize(("method", "bounds"), [("logit", (0.9, 1.1)), ("linear", (0.9, 1.1))])
def test_nonconverged_margin_error_is_a_share_error(method: str, bounds) -> None:  # type: ignore[no-untyped-def]
    """max_margin_error (report, step, warning) is the largest |weighted share - target
    share|, computed here with pandas from the returned weights, also when not converged."""
    df = skewed_sample(3)
    with pytest.warns(ConvergenceWarning, match="largest margin error"):
        out = calibrate(SurveyDesign(df, weights="w0"), TARGETS, method=method, bounds=bounds,  # type: ignore[arg-type]
                        max_iter=30, on_nonconvergence="warn")
    rep = out.weighting_report
    assert rep is not None and not rep.converged
    worst = max(
        float((weighted_shares(out, v) - TARGETS.shares(v)).abs().max()) for v in ["sex", "age", "edu"]
    )
    assert rep.max_margin_error == pytest.approx(worst, rel=1e-12)
    assert out.weighting_log[-1].max_error == pytest.approx(worst, rel=1e-12)
    assert float(np.nanmax(np.abs(rep.margins()["error"]))) == pytest.approx(worst, rel=1e-12)


# ---------------------------------------------------------------------- #12 item 12
def test_targets_steps_reports_and_records_cannot_be_edited() -> None:
    """Targets, the weighting log, the report and the calibration records are read-only, so
    nothing edited after weighting can leak into a later replicate replay."""
    import pickle

    t = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}})
    df = pd.DataFrame({"sex": ["F"] * 30 + ["M"] * 70, "psu": np.arange(100) % 10})
    d = rake(SurveyDesign(df, ids="psu"), t)
    with pytest.raises(ValueError, match="read-only"):
        t.margin("sex").shares[0] = 0.9
    s = t.shares("sex")
    s.iloc[0] = 0.9  # a copy: the targets keep 0.5
    assert t.shares("sex").tolist() == [0.5, 0.5]
    step = d.weighting_log[-1]
    with pytest.raises(TypeError):
        step.options["total"] = 1.0  # type: ignore[index]
    # #13: the step's record (what a replay uses) is frozen data with read-only arrays
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.record.total = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        step.record.margins[0].shares[0] = 0.9  # type: ignore[union-attr]
    rep = d.weighting_report
    assert rep is not None
    with pytest.raises(ValueError, match="read-only"):
        rep._weights[0] = 5.0
    table = rep.margins()
    table.loc[0, "target_share"] = 0.9
    assert rep.margins().loc[0, "target_share"] == 0.5
    for rec in d._calibration:
        for name in ("psw", "row_cell", "cell_counts"):
            assert not getattr(rec, name).flags.writeable
    # replicates replayed after the attempted edits still meet the 50/50 target (by hand)
    reps = d.with_replicates("jk1").replicate_weights
    assert reps is not None
    f_share = reps[df["sex"].to_numpy() == "F"].sum() / reps.sum()
    np.testing.assert_allclose(f_share.to_numpy(), 0.5, rtol=1e-10)
    back = pickle.loads(pickle.dumps(d))
    assert not back.weighting_log[-1].options.get("cap")
    np.testing.assert_array_equal(back.weights.to_numpy(), d.weights.to_numpy())


@pytest.mark.parametrize("kind", ["calibrate", "poststratify"])
def test_calibration_records_are_read_only(kind: str) -> None:
    t = Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}})
    df = pd.DataFrame({"sex": ["F"] * 30 + ["M"] * 70})
    d = calibrate(SurveyDesign(df), t) if kind == "calibrate" else poststratify(SurveyDesign(df), t)
    rec = d._calibration[-1]
    arrays = [v for v in vars(rec).values() if isinstance(v, np.ndarray)]
    assert arrays and all(not a.flags.writeable for a in arrays)


def test_trim_reports_how_far_it_moved_the_weights_off_the_margins() -> None:
    """#12 item 23's sibling: trim reported max_margin_error = 0.0 although trimming moves
    the weights off the margins they were raked to. It now reports the largest share error
    against the last step's targets (shares recomputed here with pandas from the weights,
    1e-12), and NaN when no step had targets."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], 400, p=[0.8, 0.2]),
                       "age": rng.choice(["y", "o"], 400, p=[0.3, 0.7])})
    t = dp.Targets.from_dict({"sex": {"F": 0.5, "M": 0.5}, "age": {"y": 0.5, "o": 0.5}})
    raked = dp.rake(dp.SurveyDesign(df), t)
    trimmed = dp.trim(raked, upper=3.0, relative=True)
    w = trimmed.weights
    errors = [abs(w.groupby(df[v]).sum() / w.sum() - pd.Series(t_v)).max()
              for v, t_v in (("sex", {"F": 0.5, "M": 0.5}), ("age", {"y": 0.5, "o": 0.5}))]
    rep = trimmed.weighting_report
    assert rep is not None and max(errors) > 1e-3  # the cap really moved the margins
    assert rep.max_margin_error == pytest.approx(max(errors), rel=1e-12)
    assert set(rep.margins()["variable"]) == {"sex", "age"}
    alone = dp.trim(dp.SurveyDesign(df.assign(w=rng.uniform(1, 9, 400)), weights="w"), upper=6.0)
    assert alone.weighting_report is not None and np.isnan(alone.weighting_report.max_margin_error)


# ---------------------------------------------------------------------- numeric totals (R)
def _numeric_cases(ref: object) -> dict[str, object]:
    import _designs16 as d16  # tests/_designs16.py: R's common16.R designs

    return {
        "apistrat16": d16.apistrat(ref),
        "apiclus1_16": d16.apiclus1(ref),
        "apiclus1_16_jk1": d16.replicate(ref, "apiclus1_16_jk1"),
    }


API_NUMERIC = {"stype": {"E": 4421, "H": 755, "M": 1018}, "enroll": 3811472.0}


@pytest.mark.parametrize("base", ["apistrat16", "apiclus1_16", "apiclus1_16_jk1"])
@pytest.mark.parametrize("calfun", ["linear", "raking", "logit"])
def test_calibrate_numeric_total_equals_r(ref: object, base: str, calfun: str) -> None:
    """R calibrate(d, ~enroll + stype, population=c(6194, 3811472, 755, 1018), calfun, maxit
    = 1000, epsilon = 1e-12) (tests/reference/r/calibrate_numeric.R): weights 1e-8 (R's linear
    is the closed form, ours Newton to 1e-12), estimates 1e-8 and SEs 1e-6 (SPEC_16 section 0)
    of means, totals, domain means, a ratio and quantiles; calibrated totals' SE ~0; on the
    JK1 design every replicate is calibrated to the same totals (R svrVar)."""
    design = _numeric_cases(ref)[base]
    kw: dict[str, object] = {"bounds": (0.5, 2.5)} if calfun == "logit" else {}
    d = dp.calibrate(design, dp.Targets.from_dict(API_NUMERIC), method=calfun,  # type: ignore[arg-type]
                     tol=1e-12, **kw)  # type: ignore[arg-type]
    case = f"{base}_cal_{calfun}"
    get = ref.get  # type: ignore[attr-defined]
    if base.endswith("jk1"):  # R's weights() of a replicate design: the replicate weights
        assert float(d.replicate_weights.to_numpy().sum()) == pytest.approx(
            get(case, "calibrate", "weight_sum"), rel=1e-8)
    else:
        np.testing.assert_allclose(d.weight_array, ref.weights(case), rtol=1e-8)  # type: ignore[attr-defined]
        assert float(d.weights.sum()) == pytest.approx(get(case, "calibrate", "weight_sum"),
                                                       rel=1e-10)
    tot = dp.total(d, "enroll").to_frame().iloc[0]
    assert tot["estimate"] == pytest.approx(3811472.0, rel=1e-10)
    assert tot["se"] == pytest.approx(0.0, abs=1e-6 * 3811472.0)
    for var in ("api00", "api.stu"):
        for fun, stat in ((dp.mean, "svymean"), (dp.total, "svytotal")):
            fr = fun(d, var).to_frame().iloc[0]
            assert fr["estimate"] == pytest.approx(get(case, stat, "estimate", variable=var),
                                                   rel=1e-8)
            assert fr["se"] == pytest.approx(get(case, stat, "se", variable=var), rel=1e-6)
    by = dp.mean(d, "api00", by="stype")
    for g in ("E", "H", "M"):
        assert by.estimate_of(g) == pytest.approx(
            get(case, "svyby_svymean", "estimate", variable="api00", domain=g), rel=1e-8)
        assert by.se_of(g) == pytest.approx(
            get(case, "svyby_svymean", "se", variable="api00", domain=g), rel=1e-6)
    r = dp.ratio(d, "api.stu", "enroll").to_frame().iloc[0]
    assert r["estimate"] == pytest.approx(
        get(case, "svyratio", "estimate", variable="api.stu/enroll"), rel=1e-8)
    assert r["se"] == pytest.approx(get(case, "svyratio", "se", variable="api.stu/enroll"),
                                    rel=1e-6)
    q = dp.quantile(d, "api00", [0.25, 0.5, 0.75]).to_frame()
    for p_, row in zip(("0.25", "0.5", "0.75"), q.itertuples(), strict=True):
        assert row.estimate == get(case, "svyquantile", "estimate", variable="api00",
                                   category=p_, method="math|mean")
        assert row.se == pytest.approx(get(case, "svyquantile", "se", variable="api00",
                                           category=p_, method="math|mean"), rel=1e-6)


def test_calibrate_numeric_bounded_linear_equals_r(ref: object) -> None:
    """R calibrate(calfun="linear", bounds=c(0.7, 1.5)) with the numeric total: weights and
    the mean's SE (1e-8 / 1e-6)."""
    design = _numeric_cases(ref)["apistrat16"]
    d = dp.calibrate(design, dp.Targets.from_dict(API_NUMERIC), method="linear",  # type: ignore[arg-type]
                     bounds=(0.7, 1.5), tol=1e-12)
    case = "apistrat16_cal_linear_bounded"
    np.testing.assert_allclose(d.weight_array, ref.weights(case), rtol=1e-8)  # type: ignore[attr-defined]
    assert dp.mean(d, "api00").se_of("api00") == pytest.approx(
        ref.get(case, "svymean", "se", variable="api00"), rel=1e-6)  # type: ignore[attr-defined]


def test_calibrate_numeric_by_hand_and_errors() -> None:
    """GREG by hand: x = (F, M, z) from weights 1 and z = (1, 2, 3, 4), T = (2, 2, 11):
    g = 1 + x'(X'X)^{-1}(T - X'1), the closed form of linear calibration."""
    df = pd.DataFrame({"sex": ["F", "F", "M", "M"], "z": [1.0, 2.0, 3.0, 4.0]})
    d = dp.calibrate(SurveyDesign(df), Targets.from_dict({"sex": {"F": 2, "M": 2}, "z": 11.0}),
                     tol=1e-13)
    x = np.column_stack([df["sex"].eq("F"), df["sex"].eq("M"), df["z"]]).astype(float)
    t_hat = x.sum(axis=0)
    lam = np.linalg.solve(x.T @ x, np.array([2.0, 2.0, 11.0]) - t_hat)
    np.testing.assert_allclose(d.weight_array, 1 + x @ lam, rtol=1e-10)
    assert float(d.weight_array @ df["z"]) == pytest.approx(11.0, rel=1e-12)
    with pytest.raises(DelibpollError, match="use calibrate"):
        dp.rake(SurveyDesign(df), Targets.from_dict({"sex": {"F": 2, "M": 2}, "z": 12.0}))
    with pytest.raises(DelibpollError, match="not numeric"):
        dp.calibrate(SurveyDesign(df.assign(lab=list("abcd"))),
                     Targets.from_dict({"sex": {"F": 2, "M": 2}, "lab": 3.0}))
    with pytest.raises(DelibpollError, match="missing or infinite"):
        dp.calibrate(SurveyDesign(df.assign(z=[1.0, np.nan, 3.0, 4.0])),
                     Targets.from_dict({"sex": {"F": 2, "M": 2}, "z": 12.0}))
    with pytest.raises(DelibpollError, match="at least one categorical margin"):
        Targets.from_dict({"z": 12.0})


@pytest.mark.parametrize("calfun", ["linear", "raking"])
def test_calibrate_numeric_income_on_england_equals_r(ref: object, calfun: str) -> None:
    """R calibrate(eng0, ~income + sex + age_group, population = c(n, income total = sample
    mean x 1.05 x n, sex and age counts)) (calibrate_numeric.R): weights 1e-8; means of trust,
    pact_up and income with SEs 1e-6 (income's ~0, abs)."""
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])  # type: ignore[attr-defined]
    eng["pact_up"] = (eng["q_pact"] == "Increase confidence").astype(int)
    full = Targets.from_csv(ref.root / "data" / "england_like_targets.csv")  # type: ignore[attr-defined]
    n = len(eng)
    income_total = float(eng["income"].mean()) * 1.05 * n
    tg = Targets.from_dict({
        "sex": {k: v * n for k, v in full.shares("sex").items()},
        "age_group": {k: v * n for k, v in full.shares("age_group").items()},
        "income": income_total,
    })
    d = dp.calibrate(SurveyDesign(eng), tg, method=calfun, tol=1e-12)  # type: ignore[arg-type]
    case = f"england16_cal_income_{calfun}"
    get = ref.get  # type: ignore[attr-defined]
    np.testing.assert_allclose(d.weight_array, ref.weights(case), rtol=1e-8)  # type: ignore[attr-defined]
    for var in ("trust", "pact_up", "income"):
        fr = dp.mean(d, var).to_frame().iloc[0]
        assert fr["estimate"] == pytest.approx(get(case, "svymean", "estimate", variable=var),
                                               rel=1e-8)
        assert fr["se"] == pytest.approx(get(case, "svymean", "se", variable=var), rel=1e-6,
                                         abs=1e-6 if var == "income" else 0)


# ---------------------------------------------------------------------- #18 interactive speed
def test_report_margins_are_built_when_asked_and_equal_the_weights_by_hand() -> None:
    """#18: the margins table is made from the step's cells only when asked for (margins(),
    str(), the notebook view), also after pickling; its numbers are those of the returned
    weights, worked here with pandas: rows, unweighted and weighted shares before and after,
    and the error against the target share."""
    import pickle

    from delibpoll._records import MarginSources

    df = skewed_sample(11)
    before = SurveyDesign(df, weights="w0")
    out = rake(before, TARGETS)
    rep = out.weighting_report
    assert rep is not None
    assert isinstance(rep._margins, MarginSources)  # nothing built while weighting
    back = pickle.loads(pickle.dumps(out)).weighting_report
    assert back is not None
    for report in (rep, back):
        m = report.margins().set_index(["variable", "category"])
        for var in ("sex", "age"):
            target = TARGETS.shares(var)
            for cat in target.index:
                row = m.loc[(var, cat)]
                assert row["n"] == int((df[var] == cat).sum())
                assert row["unweighted_share"] == pytest.approx((df[var] == cat).mean(), rel=1e-12)
                assert row["weighted_share_before"] == pytest.approx(
                    weighted_shares(before, var)[cat], rel=1e-12)
                after = weighted_shares(out, var)[cat]
                assert row["weighted_share_after"] == pytest.approx(after, rel=1e-12)
                assert row["target_share"] == target[cat]
                assert row["error"] == pytest.approx(after - target[cat], abs=1e-15)
        assert "weighted %" in str(report)
        assert "Margins: target, sample and weighted shares" in report._repr_html_()


@pytest.mark.parametrize("cap", [None, 1.6])
def test_nonconverged_rake_reports_the_error_over_every_margin(cap: float | None) -> None:
    """#18: the convergence check stops at the first margin off target, but a rake stopped
    by max_iter reports the largest share error over every margin, worked here with pandas
    from the returned weights (with and without a cap)."""
    df = skewed_sample(12)
    t = Targets.from_dict({**{v: dict(TARGETS.shares(v)) for v in ("sex", "age")},
                           "edu": {"low": 0.3, "mid": 0.4, "high": 0.3}})
    with pytest.warns(ConvergenceWarning, match="largest margin error"):
        out = rake(SurveyDesign(df, weights="w0"), t, max_iter=2, cap=cap,
                   on_nonconvergence="warn")
    rep = out.weighting_report
    assert rep is not None and not rep.converged and rep.iterations == 2
    worst = max(float((weighted_shares(out, v) - t.shares(v)).abs().max())
                for v in ("sex", "age", "edu"))
    assert rep.max_margin_error == pytest.approx(worst, rel=1e-9)
    assert worst > 1e-6  # off target: the check had to look past the first margin or not


@pytest.mark.parametrize("cap", [None, 2.5])
def test_one_column_and_many_column_raking_agree_bit_for_bit(cap: float | None) -> None:
    """#18: the full-sample raking (one weight column, bincounts) and the replicate raking
    (several columns, sparse indicators) add the cells in the same order: three copies of
    the starting weights raked together give the one-column result exactly, after as many
    sweeps; and the result meets the margins (shares worked by hand)."""
    from delibpoll._engine import match_margins, rake_cells

    df = skewed_sample(13)
    w0 = df["w0"].to_numpy()
    _, cells = match_margins(df, TARGETS.margins, "error")
    cw0 = np.bincount(cells.row_cell, weights=w0, minlength=cells.n_cells)[:, None]
    total = w0.sum()
    counts = [np.asarray(m.shares)[:, None] * total for m in TARGETS.margins]
    cap_cell = None if cap is None else cap * total / len(w0) * cells.counts[:, None]
    one = rake_cells(cw0, cells, counts, max_iter=100, tol=1e-12, cap_cell=cap_cell)
    many = rake_cells(np.repeat(cw0, 3, axis=1), cells, [np.repeat(c, 3, axis=1) for c in counts],
                      max_iter=100, tol=1e-12,
                      cap_cell=None if cap_cell is None else np.repeat(cap_cell, 3, axis=1))
    assert one.iterations == many.iterations > 1
    for j in range(3):
        np.testing.assert_array_equal(many.cell_weights[:, j], one.cell_weights[:, 0])
    np.testing.assert_array_equal(many.max_error, np.repeat(one.max_error, 3))
    for m, margin in enumerate(TARGETS.margins):
        shares = np.bincount(cells.margin_cell_codes[m], weights=one.cell_weights[:, 0]) / total
        np.testing.assert_allclose(shares, margin.shares, rtol=0, atol=1e-12)


def testcell_outer_products_give_x_diag_w_x() -> None:
    """#18: calibration on replicate columns forms every column's X' diag(w) X from the
    cells' outer products; equal to the sum over cells worked with numpy (a model matrix
    with indicator and numeric columns and an all-zero row)."""
    from delibpoll._engine import cell_outer_products

    rng = np.random.default_rng(18)
    x = (rng.random((40, 6)) < 0.5) * rng.normal(size=(40, 6))
    x[:, 0] = 1.0
    x[7, :] = 0.0
    w = rng.random((40, 3))
    got = (cell_outer_products(x) @ w).T.reshape(3, 6, 6)
    for j in range(3):
        by_hand = sum(w[c, j] * np.outer(x[c], x[c]) for c in range(40))
        np.testing.assert_allclose(got[j], by_hand, rtol=1e-13, atol=1e-13)


def _plain_ipf(df: pd.DataFrame, w0: np.ndarray, targets: Targets, tol: float,
               max_iter: int) -> tuple[np.ndarray, int, float]:
    """Textbook IPF on the rows (no cells): before each sweep, every margin's shares are
    checked against its targets; each sweep scales every margin's categories to their target
    totals in turn. Returns the weights, the sweeps and the largest share error."""
    w = w0.copy()
    codes = [pd.Categorical(df[m.name], categories=list(m.categories)).codes for m in targets.margins]
    shares = [np.asarray(m.shares) for m in targets.margins]
    total = w0.sum()

    def error() -> float:
        return max(float(np.abs(np.bincount(c, w, len(s)) / w.sum() - s).max())
                   for c, s in zip(codes, shares, strict=True))

    sweeps = 0
    while error() >= tol and sweeps < max_iter:
        sweeps += 1
        for c, s in zip(codes, shares, strict=True):
            w = w * (s * total / np.bincount(c, w, len(s)))[c]
    return w, sweeps, error()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(60, 800),
    tol=st.sampled_from([1e-4, 1e-8, 1e-11]),
    max_iter=st.integers(1, 40),
)
def test_rake_equals_a_textbook_ipf(seed: int, n: int, tol: float, max_iter: int) -> None:
    """#18: whatever the shortcuts of the cell engine (one-column bincounts, a convergence
    check that stops at the first margin off target, the first margin's sums reused), rake
    gives the weights, sweep count and largest share error of a textbook IPF on the rows
    written here, converged or stopped by max_iter."""
    df = skewed_sample(seed, n=n)
    w0 = df["w0"].to_numpy()
    t = Targets.from_dict({**{v: dict(TARGETS.shares(v)) for v in ("sex", "age")},
                           "edu": {"low": 0.3, "mid": 0.45, "high": 0.25}})
    expected, sweeps, err = _plain_ipf(df, w0, t, tol, max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = rake(SurveyDesign(df, weights="w0"), t, tol=tol, max_iter=max_iter,
                   on_nonconvergence="warn")
    rep = out.weighting_report
    assert rep is not None
    assert rep.iterations == sweeps
    assert rep.converged == (err < tol)
    np.testing.assert_allclose(out.weight_array, expected, rtol=1e-12)
    assert rep.max_margin_error == pytest.approx(err, rel=1e-6, abs=1e-15)


@pytest.mark.parametrize("redistribute", ["additive", "proportional"])
def test_trim_replayed_on_many_columns_equals_each_column_alone(redistribute: str) -> None:
    """#18: trimming replays on every replicate column at once; without strict each column
    gets exactly what trimming it alone gives (R's trimWeights rule, one column at a time),
    and with strict every column ends within the bounds with its sum kept, including
    columns with rows left out (zero weights stay zero)."""
    rng = np.random.default_rng(18)
    cols = rng.lognormal(0.0, 0.6, size=(300, 40))
    cols[rng.random(cols.shape) < 0.2] = 0.0  # rows left out of a replicate
    cols[:, 3] = np.clip(cols[:, 3], 0.5, 2.0)  # a column already within the bounds
    df = pd.DataFrame({"w": cols[:, 0] + 0.01})
    d = SurveyDesign(df, weights="w")
    step = trim(d, upper=2.5, lower=0.3, redistribute=redistribute).weighting_log[-1]  # type: ignore[arg-type]
    together = step.apply(cols)
    alone = np.column_stack([step.apply(cols[:, j]) for j in range(cols.shape[1])])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together[:, 3], cols[:, 3])
    strict = trim(d, upper=2.5, lower=0.3, redistribute=redistribute,  # type: ignore[arg-type]
                  strict=True).weighting_log[-1].apply(cols)
    live = strict[cols != 0]
    assert live.min() >= 0.3 - 1e-9 and live.max() <= 2.5 + 1e-9
    np.testing.assert_array_equal(strict[cols == 0], 0.0)
    np.testing.assert_allclose(strict.sum(axis=0), cols.sum(axis=0), rtol=1e-12)
