"""Tests of delibpoll.codebook.

References: counts worked by hand on a small frame in the test; on the agency fixture, the
raw codes as pyreadstat reads them (not through read_survey).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import delibpoll as dp
from delibpoll.codebook import CODEBOOK_COLUMNS, codebook, format_codebook
from delibpoll.exceptions import DelibpollError

SAV = Path(__file__).resolve().parents[1] / "data" / "example" / "agency_wave1.sav"


def _hand_frame() -> pd.DataFrame:
    df = pd.DataFrame({
        "q": pd.Categorical(["Yes", None, "No", "Yes", None, "Yes"], categories=["Yes", "No"]),
        "score": [0.0, 10.0, np.nan, 5.0, 10.0, 3.0],
        "city": ["Leeds", "York", "Leeds", None, "Leeds", "Hull"],
    })
    df.attrs = {
        "variable_labels": {"q": "Agree?", "score": "Score 0-10"},
        "value_labels": {"q": {1: "Yes", 2: "No", 99: "Don't know"},
                         "score": {0: "Not at all", 10: "Completely", 99: "Don't know"}},
        "missing_codes": {"q": {99: "Don't know"}, "score": {99: "Don't know"}},
        "missing_reasons": {"q": {1: [99, "Don't know"], 4: [99, "Don't know"]},
                            "score": {2: [99, "Don't know"]}},
    }
    return df


def test_hand_counted_codebook() -> None:
    cb = codebook(_hand_frame()).set_index("name")
    assert list(cb.reset_index().columns) == list(CODEBOOK_COLUMNS)
    # q: 6 rows, 2 missing (both code 99); Yes x3, No x1
    assert cb.loc["q", "type"] == "categorical"
    assert (cb.loc["q", "n_valid"], cb.loc["q", "n_missing"]) == (4, 2)
    assert cb.loc["q", "values"] == '1 "Yes" (3); 2 "No" (1)'
    assert cb.loc["q", "missing_codes"] == '99 "Don\'t know" (2)'
    # score: 5 valid values 0, 10, 5, 10, 3 -> range 0 to 10, mean 28/5 = 5.6; 0 once, 10 twice
    assert (cb.loc["score", "n_valid"], cb.loc["score", "n_missing"]) == (5, 1)
    assert cb.loc["score", "values"] == '0 to 10, mean 5.6; 0 "Not at all" (1); 10 "Completely" (2)'
    assert cb.loc["score", "missing_codes"] == '99 "Don\'t know" (1)'
    # city: text, Leeds x3, York x1, Hull x1, one missing; no label
    assert cb.loc["city", "type"] == "text" and cb.loc["city", "label"] == ""
    assert cb.loc["city", "values"] == '"Leeds" (3); "York" (1); "Hull" (1)'
    assert cb.loc["city", "n_missing"] == 1
    assert (cb["could_match"] == "").all()


def test_max_values_and_text() -> None:
    cb = codebook(_hand_frame(), max_values=1).set_index("name")
    assert cb.loc["city", "values"] == '"Leeds" (3); ... 2 more'
    text = format_codebook(_hand_frame())
    assert text.startswith("6 rows, 3 variables\n\nq  categorical  4 valid, 2 missing\n")
    assert "  user-missing: 99 \"Don't know\" (2)" in text
    assert "could match" not in text


def test_agency_fixture_counts_equal_raw_codes() -> None:
    df = dp.read_survey(SAV)
    raw, meta = pyreadstat.read_sav(str(SAV), user_missing=True)
    targets = dp.datasets.england_adult_targets()
    cb = codebook(df, targets).set_index("name")
    assert list(cb.index) == list(df.columns)
    for col in ("gender", "region", "q_pact", "q_committee"):
        labels = meta.variable_value_labels[col]
        parts = []
        for code, label in labels.items():
            if code not in (98, 99):
                parts.append(f'{int(code)} "{label}" ({int((raw[col] == code).sum())})')
        assert cb.loc[col, "values"] == "; ".join(parts), col
        assert cb.loc[col, "label"] == meta.column_names_to_labels[col]
    for q in ("q_pact", "q_charge", "q_committee", "trust_nhs"):
        n98, n99 = int((raw[q] == 98).sum()), int((raw[q] == 99).sum())
        assert cb.loc[q, "missing_codes"] == f'98 "Prefer not to say" ({n98}); 99 "Don\'t know" ({n99})'
        assert cb.loc[q, "n_missing"] == n98 + n99 + int(raw[q].isna().sum())
        assert cb.loc[q, "n_valid"] + cb.loc[q, "n_missing"] == len(raw)
    assert cb.loc["gender", "could_match"] == "sex"
    assert cb.loc["age", "could_match"] == "age_group"
    assert cb.loc["age_band", "could_match"] == "age_group"
    assert cb.loc["ethnic_group", "could_match"] == "ethnicity"
    assert cb.loc["weight_vendor", "could_match"] == ""
    assert cb.loc["weight_vendor", "type"] == "numeric"
    text = format_codebook(df, targets)
    assert "gender  categorical  4000 valid, 0 missing\n" in text
    assert "  could match target: sex\n" in text


def test_bad_arguments() -> None:
    with pytest.raises(DelibpollError, match=r"parameter of codebook must be a dataframe \(a pandas DataFrame"):
        codebook([1])  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'targets' parameter of codebook"):
        codebook(pd.DataFrame({"a": [1]}), {"sex": 1})  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="'max_values' parameter of codebook"):
        codebook(pd.DataFrame({"a": [1]}), max_values=0)
