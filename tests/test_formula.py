"""Tests for delibpoll._formula: the main-effects model matrix built from a design's cached
column codes equals the one built from a prepared copy of the data (and formulaic's), for
strings, declared categoricals, numeric predictors, reference levels, backticks and missing
values; its row key groups exactly the equal rows.

Reference: build_model without codes (the general path: the prepared frame, then the direct
main-effects builder or formulaic) and formulaic's own model matrix; equality is exact.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delibpoll import DelibpollError, SurveyDesign
from delibpoll._formula import ModelFrame, build_model


def _frame(seed: int, n: int = 300, missing: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "y": (rng.random(n) < 0.4).astype(float),
        "sex": rng.choice(["Male", "Female"], n),
        "region": rng.choice(["North", "South", "East", "West"], n),
        "edu": pd.Categorical(rng.choice(["low", "mid", "high"], n),
                              categories=["low", "mid", "high"]),
        "age": rng.uniform(18, 90, n),
        "odd name": rng.choice(["a", "b", "c"], n),
    })
    if missing:
        df.loc[rng.choice(n, 10, replace=False), "sex"] = None
        df.loc[rng.choice(n, 7, replace=False), "age"] = np.nan
    return df


def _same(a: ModelFrame, b: ModelFrame) -> None:
    assert np.array_equal(a.x, b.x)
    assert (a.y is None and b.y is None) or np.array_equal(a.y, b.y)  # type: ignore[arg-type]
    assert a.names == b.names
    assert dict(a.terms) == dict(b.terms)
    assert dict(a.categories) == dict(b.categories)
    assert a.variables == b.variables
    assert (a.complete is None and b.complete is None) or np.array_equal(
        a.complete, b.complete)  # type: ignore[arg-type]


FORMULAS = [
    "y ~ sex + region + edu",
    "y ~ edu + age + sex",
    "y ~ `odd name` + region",
    "y ~ region",
]
REFERENCES: list[dict[str, Any]] = [{}, {"region": "West"}, {"edu": "high", "sex": "Male"}]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), formula=st.sampled_from(FORMULAS),
       reference=st.sampled_from(REFERENCES), missing=st.booleans())
def test_coded_matrix_equals_the_prepared_one(seed: int, formula: str,
                                              reference: dict[str, Any],
                                              missing: bool) -> None:
    df = _frame(seed, missing=missing)
    design = SurveyDesign(df)
    na = "drop" if missing else "error"
    general = build_model(df, formula, "glm", reference=reference, na=na)
    coded = build_model(df, formula, "glm", reference=reference, na=na,
                        codes=design.column_codes)
    _same(coded, general)
    assert coded.spec is None
    if coded.row_key is not None:  # equal keys are equal rows
        _, first, inv = np.unique(coded.row_key, return_index=True, return_inverse=True)
        assert np.array_equal(coded.x[first][inv], coded.x)
    # formulaic's matrix (the general path with the direct builder switched off)
    import formulaic

    prepared = df.copy()
    for c in ("sex", "region", "odd name"):
        prepared[c] = pd.Categorical(prepared[c], categories=sorted(prepared[c].dropna().unique()))
    for c, level in reference.items():
        cats = list(prepared[c].cat.categories)
        prepared[c] = pd.Categorical(np.asarray(prepared[c]),
                                     categories=[level] + [k for k in cats if k != level])
    if not missing:
        mm = formulaic.model_matrix(formula.split("~")[1], prepared, output="pandas")
        assert np.array_equal(mm.to_numpy(dtype=float), coded.x)
        assert [re.sub(r"\[T\.(.*?)\]", r"\1", str(c)).replace("Intercept", "(Intercept)")
                .replace("`", "") for c in mm.columns] == list(coded.names)


def test_coded_path_errors_equal_the_general_path() -> None:
    df = _frame(1, missing=True)
    design = SurveyDesign(df)
    for formula, kwargs in [
        ("y ~ sex + age", {}),  # missing values, na="error"
        ("y ~ sex", {"reference": {"sex": "Other"}}),  # a level the column does not have
        ("y ~ sex", {"reference": {"age": 30.0}}),  # a numeric reference column
    ]:
        with pytest.raises(DelibpollError) as general:
            build_model(df, formula, "glm", **kwargs)
        with pytest.raises(DelibpollError) as coded:
            build_model(df, formula, "glm", codes=design.column_codes, **kwargs)
        assert str(coded.value) == str(general.value)


def test_not_main_effects_takes_the_general_path() -> None:
    df = _frame(2)
    design = SurveyDesign(df)
    for formula in ("y ~ sex * region", "y ~ np.log(age) + sex", "y ~ 1"):
        a = build_model(df, formula, "glm")
        b = build_model(df, formula, "glm", codes=design.column_codes)
        _same(a, b)
        assert b.row_key is None
    # a response that is not numeric is coded by the caller (olr)
    a = build_model(df, "region ~ sex + age", "olr", numeric_response=False)
    b = build_model(df, "region ~ sex + age", "olr", numeric_response=False,
                    codes=design.column_codes)
    _same(a, b)
