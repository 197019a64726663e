"""Tests for the cell engine from group sums: ``delibpoll._cells`` (kernel), the in-memory
route through it (``_ratios.grouped_estimate``, ``numeric_estimate``) and the public
``delibpoll.cells``.

Outside references:

- R ``survey`` values committed in ``tests/reference/values/estimation.csv`` and the raked
  weights of ``weights_england_raked.csv`` (``tests/reference/r/estimation.R``,
  ``weighting.R``), reached through the public API from tables built with pandas ``groupby``:
  point estimates 1e-10 relative, SEs and covariances 1e-6 relative (as test_estimation),
  weights 1e-8 relative (as test_weighting).
- The direct row-level computation (every row's influence value, the calibration residuals
  as R ``svyrecvar``, PSU totals; ``_ratios.ratio_estimates``), which test_estimation pins to
  R. The cell route must equal it to 1e-12 relative on every kind of design (a consistency
  check between two computations, drawn by hypothesis).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll import SurveyDesign, cells
from delibpoll import _ratios as ratios_module
from delibpoll._cells import GroupSums, sweep_operator
from delibpoll._ratios import (
    cell_route,
    domain_summary,
    grouped_estimate,
    numeric_estimate,
    ratio_columns,
    ratio_estimates,
)
from delibpoll._variance import domain_average_factors

REL = 1e-12  # cell route against the row route, relative to the largest entry


@contextlib.contextmanager
def table_always() -> Iterator[None]:
    """The cell route on designs of any size (by default it takes designs with at least
    ROWS_PER_SLOT rows per table slot, where it is the cheaper way), its key in many
    blocks."""
    old = ratios_module.ROWS_PER_SLOT, ratios_module.TABLE_BLOCK_ROWS, \
        ratios_module.TABLE_BLOCK_SLOTS
    # and the key in blocks of 7 rows (as on large designs, where blocks are 2**18 rows)
    ratios_module.ROWS_PER_SLOT = 0
    ratios_module.TABLE_BLOCK_ROWS = 7
    ratios_module.TABLE_BLOCK_SLOTS = 0
    try:
        yield
    finally:
        (ratios_module.ROWS_PER_SLOT, ratios_module.TABLE_BLOCK_ROWS,
         ratios_module.TABLE_BLOCK_SLOTS) = old


def assert_same(got: np.ndarray, want: np.ndarray, rel: float = REL) -> None:
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    scale = max(float(np.abs(want[ok]).max(initial=0.0)), 1e-300)
    assert np.abs(got[ok] - want[ok]).max(initial=0.0) <= rel * scale, (got, want)


# ---------------------------------------------------------------------- drawn designs
@st.composite
def surveys(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, object], str, str]:
    """A small survey drawn whole: two weighting variables covering all their crossings, a
    domain, an answer with missing values, a numeric variable, weights, strata/PSUs/fpc, and
    a weighting method."""
    n = draw(st.integers(24, 70))
    k1, k2 = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    n_ans = draw(st.integers(2, 4))
    n_dom = draw(st.integers(1, 3))
    ints = st.lists(st.integers(0, 11), min_size=n, max_size=n)
    a, b, q, g = (np.array(draw(ints)) for _ in range(4))
    a, b, q, g = a % k1, b % k2, q % n_ans, g % n_dom
    # every crossing of the weighting variables, every answer and domain occurs
    cover = np.arange(k1 * k2)
    a[: k1 * k2], b[: k1 * k2] = cover // k2, cover % k2
    q[:n_ans] = np.arange(n_ans)
    g[:n_dom] = np.arange(n_dom)
    missing = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    missing[: max(k1 * k2, n_ans)] = False
    w = np.array(draw(st.lists(st.floats(0.5, 3.0), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["rows", "strata", "clusters", "strata_clusters"]))
    strata = np.arange(n) % 2 if "strata" in kind else np.zeros(n, dtype=int)
    psu = np.arange(n) % 5 if "clusters" in kind else np.arange(n)
    cats = [f"c{i}" for i in range(n_ans)]
    df = pd.DataFrame({
        "a": [f"a{i}" for i in a], "b": [f"b{i}" for i in b],
        "q": pd.Categorical([None if m else cats[i] for i, m in zip(q, missing, strict=True)],
                            categories=cats),
        "g": [f"g{i}" for i in g], "y": np.where(missing, np.nan, y), "w": w,
        "h": [f"h{i}" for i in strata], "psu": [f"p{s}{i}" for s, i in zip(strata, psu, strict=True)],
        "fpc": np.where(strata == 0, 400.0, 700.0) if "strata" in kind else 1000.0,
    })
    kw: dict[str, object] = {"weights": "w"}
    if "strata" in kind:
        kw["strata"] = "h"
    if "clusters" in kind:
        kw["ids"] = "psu"
    if draw(st.booleans()):
        kw["fpc"] = "fpc"
    kw["lonely_psu"] = draw(st.sampled_from(["adjust", "remove", "average"]))
    method = draw(st.sampled_from(["none", "rake", "calibrate", "poststratify"]))
    shares = draw(st.lists(st.floats(0.2, 1.0), min_size=k1 + k2, max_size=k1 + k2))
    targets = {
        "a": {f"a{i}": s for i, s in enumerate(shares[:k1])},
        "b": {f"b{i}": s for i, s in enumerate(shares[k1:])},
    }
    df.attrs["targets"] = targets
    return df, kw, method, kind


def weigh(df: pd.DataFrame, kw: dict[str, object], method: str) -> SurveyDesign:
    d = SurveyDesign(df.assign(), **kw)  # type: ignore[arg-type]
    tg = {k: {c: s / sum(v.values()) for c, s in v.items()} for k, v in df.attrs["targets"].items()}
    if method == "rake":
        return dp.rake(d, dp.Targets.from_dict(tg), tol=1e-12)
    if method == "calibrate":
        return dp.calibrate(d, dp.Targets.from_dict(tg), method="raking", tol=1e-12)
    if method == "poststratify":
        return dp.poststratify(d, dp.Targets.from_dict({"a": tg["a"]}))
    return d


def row_route(d: SurveyDesign, codes: np.ndarray, n_val: int, dom: np.ndarray, n_dom: int,
              valid: np.ndarray, values: np.ndarray | None = None,
              totals: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The direct computation: n x K influence values, R's svyrecvar on them, svyby's
    lonely_psu='average' scaling."""
    vals = np.eye(n_val) if values is None else values
    num, den = ratio_columns(codes, vals, dom, n_dom, valid)
    est, vcov, _ = ratio_estimates(d, num, None if totals else den)
    f = domain_average_factors(d.weight_array, d.structure, d.lonely_psu, d.calibration, dom,
                               n_dom, valid)
    if f is not None:
        root = np.sqrt(np.repeat(f, vals.shape[1]))
        vcov = vcov * root[:, None] * root[None, :]
    return est, vcov


@settings(max_examples=30, deadline=None)
@given(surveys(), st.booleans())
def test_cell_route_equals_row_route_for_shares(drawn, totals: bool) -> None:  # type: ignore[no-untyped-def]
    with table_always():
        _shares_equal(drawn, totals)


def _shares_equal(drawn, totals: bool) -> None:  # type: ignore[no-untyped-def]
    df, kw, method, _ = drawn
    d = weigh(df, kw, method)
    assert cell_route(d) is not None
    codes, cats = d.column_codes("q")
    dom, dcats = d.column_codes("g")
    valid = codes >= 0
    est, vcov, _, summary = grouped_estimate(d, codes, np.eye(len(cats)), dom, len(dcats),
                                             valid, totals=totals)
    assert summary is not None  # computed by the cell engine
    want_est, want_vcov = row_route(d, codes, len(cats), dom, len(dcats), valid, totals=totals)
    assert_same(est, want_est)
    assert_same(vcov, want_vcov)
    for got, want in zip(summary, domain_summary(d, dom, len(dcats), valid), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_dom", [3, 40])  # key digit int8 (3 x 5 slots), int16 (40 x 5)
@pytest.mark.parametrize("compact", [False, True])
def test_cell_route_key_digit_of_any_width(n_dom: int, compact: bool) -> None:
    # narrow (domain x answer) digits of the table key: the same table as the rows give,
    # with the design's narrow codes (coded missing) and with int64 codes and a mask
    rng = np.random.default_rng(18)
    n = 3000
    q = rng.choice(4, n).astype(float)
    q[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({
        "sex": pd.Categorical(rng.choice(["f", "m"], n)),
        "age": pd.Categorical(rng.choice(["y", "m", "o"], n, p=[0.3, 0.3, 0.4])),
        "g": pd.Categorical.from_codes(rng.choice(n_dom, n), [f"g{i}" for i in range(n_dom)]),
        "q": pd.Categorical(pd.Series(q).map({0.0: "a", 1.0: "b", 2.0: "c", 3.0: "d"})),
    })
    d = dp.rake(SurveyDesign(df), dp.Targets.from_dict(
        {"sex": {"f": 0.5, "m": 0.5}, "age": {"y": 0.25, "m": 0.35, "o": 0.4}}), tol=1e-12)
    with table_always():
        assert cell_route(d) is not None
        codes, cats = d.compact_codes("q") if compact else d.column_codes("q")
        dom, dcats = d.compact_codes("g") if compact else d.column_codes("g")
        valid = codes >= 0
        est, vcov, _, summary = grouped_estimate(d, codes, np.eye(len(cats)), dom, len(dcats),
                                                 valid, coded_missing=compact)
    assert summary is not None  # computed by the cell engine
    wide, _ = d.column_codes("q")
    wdom, _ = d.column_codes("g")
    want_est, want_vcov = row_route(d, wide, len(cats), wdom, len(dcats), wide >= 0)
    assert_same(est, want_est)
    assert_same(vcov, want_vcov)


@settings(max_examples=30, deadline=None)
@given(surveys(), st.booleans())
def test_cell_route_equals_row_route_for_means_and_totals(drawn, totals: bool) -> None:  # type: ignore[no-untyped-def]
    with table_always():
        _numeric_equal(drawn, totals)


def _numeric_equal(drawn, totals: bool) -> None:  # type: ignore[no-untyped-def]
    df, kw, method, _ = drawn
    d = weigh(df, kw, method)
    y = d.column("y").to_numpy()
    valid = ~np.isnan(y)
    y0 = np.where(valid, y, 0.0)
    dom, dcats = d.column_codes("g")
    routed = numeric_estimate(d, y0, dom, len(dcats), valid, totals=totals)
    assert routed is not None
    est, vcov, summary = routed
    dmat = np.zeros((d.n, len(dcats)))
    dmat[np.arange(d.n), dom] = valid
    num = dmat * y0[:, None]
    want_est, want_vcov, _ = ratio_estimates(d, num, None if totals else dmat)
    f = domain_average_factors(d.weight_array, d.structure, d.lonely_psu, d.calibration, dom,
                               len(dcats), valid)
    if f is not None:
        want_vcov = want_vcov * np.sqrt(f)[:, None] * np.sqrt(f)[None, :]
    if totals:
        empty = np.bincount(dom[valid], minlength=len(dcats)) == 0
        want_est = np.where(empty, np.nan, want_est)
    assert_same(est, want_est)
    assert_same(vcov, want_vcov)
    np.testing.assert_array_equal(summary[0], domain_summary(d, dom, len(dcats), valid)[0])


@settings(max_examples=40, deadline=None)
@given(surveys())
def test_public_table_equals_row_level_design(drawn) -> None:  # type: ignore[no-untyped-def]
    """cells.* on a pandas groupby of the rows equals the row-level estimators (consistency
    of two computations: the weights through the cells' factors, the SEs through the table)."""
    df, kw, method, kind = drawn
    d = weigh(df, kw, method)
    keys = ["a", "b", "g", "q"] + (["h"] if "strata" in kind else []) \
        + (["psu"] if "clusters" in kind else []) + (["fpc"] if kw.get("fpc") else [])
    tab = (df.assign(w2=df.w**2).groupby(keys, observed=True, dropna=False)
           .agg(n=("w", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum")).reset_index())
    t = cells.CellTable(tab, strata="h" if "strata" in kind else None,
                        ids="psu" if "clusters" in kind else None,
                        fpc="fpc" if kw.get("fpc") else None,
                        lonely_psu=kw["lonely_psu"])  # type: ignore[arg-type]
    tg = {k: {c: s / sum(v.values()) for c, s in v.items()} for k, v in df.attrs["targets"].items()}
    if method == "rake":
        t = cells.rake(t, dp.Targets.from_dict(tg), tol=1e-12)
    elif method == "calibrate":
        t = cells.calibrate(t, dp.Targets.from_dict(tg), method="raking", tol=1e-12)
    elif method == "poststratify":
        t = cells.poststratify(t, dp.Targets.from_dict({"a": tg["a"]}))
    if method != "none":
        # the factors give the row-level weights back (a gather by cell)
        fac = t.factors().set_index(["a", "b"] if method != "poststratify" else ["a"])["factor"]
        idx = pd.MultiIndex.from_frame(df[["a", "b"]]) if method != "poststratify" \
            else pd.Index(df["a"])
        np.testing.assert_allclose(df["w"].to_numpy() * fac.reindex(idx).to_numpy(),
                                   d.weight_array, rtol=1e-10)
    with warnings.catch_warnings():
        # a drawn domain may lie in one PSU: both paths warn alike (the same code)
        warnings.simplefilter("ignore", dp.DomainWarning)
        got = cells.proportion(t, "q", by="g", na="drop").to_frame()
        want = dp.proportion(d, "q", by="g", na="drop").to_frame()
    pd.testing.assert_frame_equal(got.drop(columns="g"), want.drop(columns="g"), rtol=1e-9,
                                  atol=1e-12, check_dtype=False)


def test_sweep_operator_equals_the_raking_records() -> None:
    """The numpy sweep operator of the cell engine against RakingRecord's (R's 10 sweeps
    run one margin at a time); a consistency check."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": rng.choice(list("xyz"), 300), "b": rng.choice(list("pq"), 300),
                       "c": rng.choice(list("klmn"), 300)})
    tg = dp.Targets.from_dict({"a": {"x": .3, "y": .3, "z": .4}, "b": {"p": .5, "q": .5},
                               "c": {"k": .25, "l": .25, "m": .25, "n": .25}})
    rec = dp.rake(SurveyDesign(df), tg).calibration[0]
    got = sweep_operator(rec.cell_codes, rec.n_categories, rec.cell_counts)  # type: ignore[union-attr]
    np.testing.assert_allclose(got, rec.sweep_operator, rtol=1e-12, atol=1e-15)  # type: ignore[union-attr]


# ---------------------------------------------------------------------- R reference values
Q_PACT = ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]
ENGLAND = ["sex", "age_group", "region", "education", "ethnicity"]


def _england(ref):  # type: ignore[no-untyped-def]
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    eng["q_pact"] = pd.Categorical(eng["q_pact"], categories=Q_PACT)
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv").select(ENGLAND)
    return eng, targets


def _numeric_sums(df: pd.DataFrame, var: str, w: pd.Series) -> pd.DataFrame:
    y = df[var]
    has = y.notna().astype(float)
    y0 = y.fillna(0.0)
    return pd.DataFrame({
        f"{var}_n": has, f"{var}_sum_w": w * has, f"{var}_sum_w2": w**2 * has,
        f"{var}_sum_y": y0, f"{var}_sum_wy": w * y0, f"{var}_sum_w2y": w**2 * y0,
        f"{var}_sum_w2y2": (w * y0) ** 2, f"{var}_sum_wy2": w * y0**2,
    })


def _table(df: pd.DataFrame, keys: list[str], w: pd.Series, numeric: list[str] = ()) -> pd.DataFrame:  # type: ignore[assignment]
    parts = [df[keys], pd.DataFrame({"w": w, "w2": w**2})]
    parts += [_numeric_sums(df, v, w) for v in numeric]
    full = pd.concat(parts, axis=1)
    extra = [c for p in parts[2:] for c in p.columns]
    return (full.groupby(keys, observed=True, dropna=False)
            .agg(n=("w", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum"),
                 **{c: (c, "sum") for c in extra}).reset_index())


def test_raked_table_gives_r_weights_and_svyby(ref) -> None:  # type: ignore[no-untyped-def]
    """England-like survey raked to 5 margins: the cells' factors give R's rake() weights
    (1e-8), and proportion/mean by domain from the table equal R's svyby (estimates 1e-10,
    SEs 1e-6, covariances 1e-6)."""
    eng, targets = _england(ref)
    w0 = pd.Series(np.ones(len(eng)))
    tab = _table(eng, ENGLAND + ["q_pact"], w0, ["trust"])
    t = cells.rake(cells.CellTable(tab), targets, tol=1e-12)
    fac = t.factors().set_index(ENGLAND)["factor"]
    w = fac.reindex(pd.MultiIndex.from_frame(eng[ENGLAND])).to_numpy()
    np.testing.assert_allclose(w, ref.weights("england_raked"), rtol=1e-8)
    est = cells.proportion(t, "q_pact", by="region")
    fr = est.to_frame()
    for _, row in fr.iterrows():
        dom, cat = str(row["region"]), str(row["category"])
        get = {q: ref.get("england_raked", "svyby_svymean", q, variable="q_pact", domain=dom,
                          category=cat) for q in ("estimate", "se", "deff")}
        assert row["estimate"] == pytest.approx(get["estimate"], rel=1e-10)
        assert row["se"] == pytest.approx(get["se"], rel=1e-6)
        assert row["deff"] == pytest.approx(get["deff"], rel=1e-6)
    # means by crossed domains need the table grouped by them too: sex and age_group are
    # raking variables, so the table above is
    fr = cells.mean(t, "trust", by=["sex", "age_group"]).to_frame()
    for _, row in fr.iterrows():
        dom = f"{row['sex']}|{row['age_group']}"
        assert row["estimate"] == pytest.approx(
            ref.get("england_raked", "svyby_svymean", "estimate", variable="trust", domain=dom),
            rel=1e-10)
        assert row["se"] == pytest.approx(
            ref.get("england_raked", "svyby_svymean", "se", variable="trust", domain=dom),
            rel=1e-6)
    row = cells.mean(t, "trust").to_frame().iloc[0]
    assert row["estimate"] == pytest.approx(
        ref.get("england_raked", "svymean", "estimate", variable="trust"), rel=1e-10)
    assert row["se"] == pytest.approx(ref.get("england_raked", "svymean", "se", variable="trust"),
                                      rel=1e-6)
    assert row["deff"] == pytest.approx(
        ref.get("england_raked", "svymean", "deff", variable="trust"), rel=1e-6)
    row = cells.total(t, "trust").to_frame().iloc[0]
    assert row["se"] == pytest.approx(ref.get("england_raked", "svytotal", "se", variable="trust"),
                                      rel=1e-6)


@pytest.mark.parametrize("case", ["apiclus1", "apiclus1_raked", "apiclus1_cal_linear", "apistrat"])
def test_clustered_and_stratified_tables_equal_r(ref, case: str) -> None:  # type: ignore[no-untyped-def]
    """apiclus1 (clusters, fpc; raked, calibrated) and apistrat (strata, fpc): the table
    grouped by PSU or stratum gives R's svyby proportions and svymean of api00."""
    stype = {"E": 4421, "H": 755, "M": 1018}
    if case == "apistrat":
        df = ref.data("apistrat.csv")
        keys = ["stype", "awards", "fpc"]
        t = cells.CellTable(_table(df, keys, df["pw"], ["api00"]), strata="stype", fpc="fpc")
    else:
        df = ref.data("apiclus1.csv")
        keys = ["stype", "sch.wide", "awards", "dnum", "fpc"]
        t = cells.CellTable(_table(df, keys, df["pw"], ["api00"]), ids="dnum", fpc="fpc")
        if case == "apiclus1_raked":
            t = cells.rake(t, dp.Targets.from_dict(
                {"stype": stype, "sch.wide": {"No": 1072, "Yes": 5122}}), tol=1e-12)
        elif case == "apiclus1_cal_linear":
            t = cells.calibrate(t, dp.Targets.from_dict({"stype": stype}))
    assert t.design_df == ref.get(case, "degf", "df")
    row = cells.mean(t, "api00").to_frame().iloc[0]
    for q in ("estimate", "se", "deff"):
        assert row[q] == pytest.approx(ref.get(case, "svymean", q, variable="api00"),
                                       rel=1e-10 if q == "estimate" else 1e-6)
    est = cells.proportion(t, "awards")
    for _, r in est.to_frame().iterrows():
        cat = str(r["category"])
        assert r["estimate"] == pytest.approx(
            ref.get(case, "svymean", "estimate", variable="awards", category=cat), rel=1e-10)
        assert r["se"] == pytest.approx(
            ref.get(case, "svymean", "se", variable="awards", category=cat), rel=1e-6, abs=1e-12)
    if case in ("apiclus1", "apiclus1_raked", "apistrat"):
        fr = cells.proportion(t, "awards", by="stype").to_frame()
        for _, r in fr.iterrows():
            dom, cat = str(r["stype"]), str(r["category"])
            for q in ("estimate", "se"):
                assert r[q] == pytest.approx(
                    ref.get(case, "svyby_svymean", q, variable="awards", domain=dom, category=cat),
                    rel=1e-10 if q == "estimate" else 1e-6)


# ---------------------------------------------------------------------- bad input
def _tiny() -> pd.DataFrame:
    return pd.DataFrame({"sex": ["F", "M", "F"], "q": ["y", "n", None], "n": [2, 1, 1],
                         "sum_w": [2.0, 1.0, 1.0], "sum_w2": [2.0, 1.0, 1.0]})


def test_cell_table_refuses_bad_input_naming_the_parameter() -> None:
    with pytest.raises(dp.DelibpollError, match="pandas DataFrame"):
        cells.CellTable([1, 2])  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="'sum_w' parameter.*'weight'"):
        cells.CellTable(_tiny(), sum_w="weight")
    bad = _tiny().assign(sum_w=[2.0, -1.0, 1.0])
    with pytest.raises(dp.DelibpollError, match="negative sums"):
        cells.CellTable(bad)
    bad = _tiny().assign(sum_w2=[2.0, np.nan, 1.0])
    with pytest.raises(dp.DelibpollError, match="'sum_w2' column 'sum_w2'.*missing"):
        cells.CellTable(bad)
    t = cells.CellTable(_tiny())
    with pytest.raises(dp.DelibpollError, match="1 missing value"):
        cells.proportion(t, "q")
    with pytest.raises(dp.DelibpollError, match="column 'age' is not in the cell table"):
        cells.proportion(t, "q", by="age", na="drop")
    with pytest.raises(dp.DelibpollError, match="ci_method"):
        cells.proportion(t, "q", na="drop", ci_method="exact")  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="needs the columns"):
        cells.mean(t, "income")
    with pytest.raises(dp.DelibpollError, match="not been weighted"):
        t.factors()
    with pytest.raises(dp.DelibpollError, match="no target"):
        cells.rake(t, dp.Targets.from_dict({"sex": {"F": 1.0}}))
    with pytest.raises(dp.DelibpollError, match="CellTable as its first argument"):
        cells.rake(_tiny(), dp.Targets.from_dict({"sex": {"F": .5, "M": .5}}))  # type: ignore[arg-type]
    raked = cells.rake(t, dp.Targets.from_dict({"sex": {"F": .5, "M": .5}}))
    with pytest.raises(dp.DelibpollError, match="already weighted"):
        cells.rake(raked, dp.Targets.from_dict({"sex": {"F": .5, "M": .5}}))
    with pytest.raises(dp.DelibpollError, match="missing value"):
        cells.rake(cells.CellTable(_tiny().assign(sex=["F", None, "M"])),
                   dp.Targets.from_dict({"sex": {"F": .5, "M": .5}}))


def test_group_sums_refuses_inconsistent_arrays() -> None:
    ok = dict(cell=[0, 1], domain=[0, 0], answer=[0, -1], n=[1.0, 2.0], sum_w=[1.0, 2.0],
              sum_w2=[1.0, 2.0], n_cells=2, n_domains=1, n_answers=1)
    GroupSums(**ok)  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="'cell' codes must lie in 0..0"):
        GroupSums(**{**ok, "n_cells": 1})  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="'n' must be 2 finite"):
        GroupSums(**{**ok, "n": [1.0]})  # type: ignore[arg-type]
    with pytest.raises(dp.DelibpollError, match="two strata"):
        GroupSums(**{**ok, "stratum": [0, 1], "psu": [0, 0]})  # type: ignore[arg-type]


def test_cell_route_applies_only_where_the_table_holds_everything() -> None:
    with table_always():
        _route_applies()


def test_small_designs_keep_the_rows_path() -> None:
    """A design with fewer than ROWS_PER_SLOT rows per table slot estimates from its rows
    (the grouped variance with its constants kept on the design: faster repeats)."""
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": rng.choice(list("xyz"), 30), "q": rng.choice(list("uv"), 30)})
    raked = dp.rake(SurveyDesign(df), dp.Targets.from_dict({"a": {"x": .3, "y": .3, "z": .4}}))
    codes, cats = raked.column_codes("q")
    dom, dcats = raked.column_codes("a")
    assert grouped_estimate(raked, codes, np.eye(2), dom, 3, codes >= 0)[3] is None
    with table_always():
        raked2 = dp.rake(SurveyDesign(df), dp.Targets.from_dict({"a": {"x": .3, "y": .3, "z": .4}}))
        got = grouped_estimate(raked2, codes, np.eye(2), dom, 3, codes >= 0)
    assert got[3] is not None
    want = grouped_estimate(raked, codes, np.eye(2), dom, 3, codes >= 0)
    assert_same(got[1], want[1])


def _route_applies() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.choice(list("xy"), 200), "q": rng.choice(list("uv"), 200),
                       "w": rng.uniform(1, 2, 200)})
    tg = dp.Targets.from_dict({"a": {"x": .5, "y": .5}})
    raked = dp.rake(SurveyDesign(df, weights="w"), tg)
    assert cell_route(raked) is not None
    assert cell_route(dp.trim(raked, upper=1.7)) is None  # weights changed after raking
    assert cell_route(raked.with_replicates("bootstrap", n_replicates=5, rng=1)) is None
    assert cell_route(dp.poststratify(raked, tg)) is None  # two calibration steps


@pytest.mark.parametrize("method", ["rake", "calibrate"])
def test_cell_weights_refitted_on_cells_equal_the_rows(method: str) -> None:
    """From equal starting weights on a large design the route refits the cells instead of
    summing the rows' weights; the table, and so the estimates, are the same as the row
    route's (consistency check, 1e-12)."""
    rng = np.random.default_rng(11)
    n = 120_000
    df = pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.choice(list("pq"), n),
                       "q": rng.choice(list("uvw"), n), "g": rng.choice(list("gh"), n)})
    tg = dp.Targets.from_dict({"a": {"x": .2, "y": .3, "z": .5}, "b": {"p": .6, "q": .4}})
    d = SurveyDesign(df)
    d = dp.rake(d, tg, tol=1e-12) if method == "rake" else dp.calibrate(d, tg, method="raking")
    route = cell_route(d)
    assert route is not None and route.cell_weight is not None
    cells_w = d.weight_array[np.unique(route.row_cell, return_index=True)[1]]  # type: ignore[arg-type]
    np.testing.assert_allclose(route.cell_weight, cells_w, rtol=1e-12)
    codes, cats = d.column_codes("q")
    dom, dcats = d.column_codes("g")
    valid = codes >= 0
    est, vcov, _, summary = grouped_estimate(d, codes, np.eye(3), dom, 2, valid)
    assert summary is not None
    want_est, want_vcov = row_route(d, codes, 3, dom, 2, valid)
    assert_same(est, want_est)
    assert_same(vcov, want_vcov)
