"""Tests of delibpoll.mapping and of the agency fixture it is made for.

References: the fixture's ground truth is the synthetic Tier 3 example it was made from
(``load_example(3)``, written by data/example/make_example.py) and the file's raw codes as
pyreadstat reads them (not through read_survey); target shares are the ONS numbers in
data/population/england_adult_targets.csv; ``[missing] ... = "keep"`` is checked against
read_survey's own ``user_missing="keep"``. Tolerances are stated where numbers are compared.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import delibpoll as dp
from delibpoll.exceptions import DelibpollError
from delibpoll.mapping import (
    Mapping,
    check_against_targets,
    match_columns,
    normalize_label,
    suggest_mapping,
    validate_against_targets,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example"
SAV = EXAMPLE / "agency_wave1.sav"
MAP = EXAMPLE / "agency_wave1_mapping.toml"
QUESTIONS = ("q_pact", "q_charge", "q_committee", "trust_nhs")


@pytest.fixture(scope="module")
def agency() -> pd.DataFrame:
    return dp.read_survey(SAV)


@pytest.fixture(scope="module")
def targets() -> dp.Targets:
    return dp.datasets.england_adult_targets()


@pytest.fixture(scope="module")
def tier3() -> pd.DataFrame:
    return dp.datasets.load_example(3)


# ---------------------------------------------------------------- the fixture file


def test_fixture_is_small_and_reproducible(tmp_path: Path) -> None:
    import importlib.util

    assert SAV.stat().st_size < 200_000
    spec = importlib.util.spec_from_file_location("make_agency_sav", EXAMPLE / "make_agency_sav.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    again = module.main(tmp_path / "again.sav")
    assert again.read_bytes() == SAV.read_bytes()


def test_fixture_metadata_read_back(agency: pd.DataFrame) -> None:
    raw, meta = pyreadstat.read_sav(str(SAV), user_missing=True)
    labels = agency.attrs["variable_labels"]
    # a variable label on every variable
    assert set(labels) == set(agency.columns) and all(labels.values())
    # value labels on every coded variable (all but the id, age in years and the weight)
    uncoded = {"serial", "age", "weight_vendor"}
    assert set(agency.attrs["value_labels"]) == set(agency.columns) - uncoded
    # 98/99 declared user-missing on every question, with their labels
    for q in QUESTIONS:
        assert agency.attrs["missing_codes"][q] == {98: "Prefer not to say", 99: "Don't know"}
        assert meta.missing_ranges[q] == [{"lo": 98.0, "hi": 98.0}, {"lo": 99.0, "hi": 99.0}]
    assert set(agency.attrs["missing_codes"]) == set(QUESTIONS)
    # the agency's vocabulary is what read_survey gives
    assert list(agency["gender"].cat.categories) == ["Man", "Woman"]
    assert "Yorkshire and the Humber" in agency["region"].cat.categories
    assert "East" in agency["region"].cat.categories
    assert agency["age_band"].cat.ordered
    assert agency["age"].dtype == np.int64 and agency["age"].between(18, 94).all()
    # user-missing rows are missing values, each with its code, counted from the raw codes
    for q in QUESTIONS:
        codes = raw[q]
        reasons = agency.attrs["missing_reasons"][q]
        for code in (98, 99):
            assert sum(1 for c, _ in reasons.values() if c == code) == int((codes == code).sum())
        assert int(agency[q].isna().sum()) == int(codes.isin([98, 99]).sum() + codes.isna().sum())
    # categories: counts equal the raw codes' counts
    for col in ("gender", "region", "age_band", "ethnic_group", "q_pact"):
        for code, label in meta.variable_value_labels[col].items():
            if code not in (98, 99):
                assert int((agency[col] == label).sum()) == int((raw[col] == code).sum())
    # the vendor weight: positive, mean 1 (to the 6 decimals it is stored with)
    w = agency["weight_vendor"]
    assert (w > 0).all() and w.mean() == pytest.approx(1.0, abs=1e-6)


def test_fixture_rows_are_the_tier3_example(agency: pd.DataFrame, tier3: pd.DataFrame) -> None:
    assert len(agency) == len(tier3)
    assert (agency["serial"] - 100000).tolist() == tier3["respondent_id"].tolist()
    assert (agency["gender"].map({"Man": "Male", "Woman": "Female"}) == tier3["sex"].astype(str)).all()
    # age in years lies in the example's age group
    lo = tier3["age_group"].astype(str).str.extract(r"^(\d+)")[0].astype(int)
    assert (agency["age"] >= lo).all()


# ---------------------------------------------------------------- the journey


def test_journey_read_map_rake(agency: pd.DataFrame, targets: dp.Targets, tier3: pd.DataFrame) -> None:
    mapping = Mapping.from_toml(MAP)
    mapped = mapping.apply(agency)
    assert check_against_targets(mapped, targets) == []
    # the mapping recovers the example's own vocabulary, row by row
    for var in ("sex", "age_group", "region", "education", "ethnicity"):
        assert mapped[var].astype(str).tolist() == tier3[var].astype(str).tolist(), var
    design = dp.rake(dp.SurveyDesign(mapped, weights="weight_vendor"), targets)
    w = design.weights.to_numpy()
    # margins met: weighted shares equal the ONS shares in the CSV (tolerance 1e-8)
    csv = pd.read_csv(EXAMPLE.parent / "population" / "england_adult_targets.csv")
    for var in ("sex", "region", "ethnicity"):
        rows = csv[csv["variable"] == var]
        for cat, share in zip(rows["category"], rows["target"], strict=True):
            got = w[(mapped[var] == cat).to_numpy()].sum() / w.sum()
            assert got == pytest.approx(share, abs=1e-8), (var, cat)
    # "Don't know" is kept as an answer of q_pact; its share is estimable
    est = dp.proportion(design, "q_pact").to_frame().set_index("category")["estimate"]
    assert set(est.index) >= {"Don't know", "Prefer not to say"}
    assert est.sum() == pytest.approx(1.0, abs=1e-12)


def test_journey_with_bands_on_age_in_years(agency: pd.DataFrame, targets: dp.Targets, tier3: pd.DataFrame) -> None:
    text = MAP.read_text().replace('age_band = "age_group"\n', 'age = "age_group"\n')
    text = text[: text.index("[recode.age_band]")] + text[text.index("[recode.region]") :]
    bands = "\n".join(f'"{a}-{b}" = [{a}, {b}]' for a, b in
                      [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74)])
    text += f'\n[bands.age]\n{bands}\n"75+" = [75, inf]\n'
    mapped = Mapping.from_toml_text(text).apply(agency)
    assert mapped["age_group"].astype(str).tolist() == tier3["age_group"].astype(str).tolist()
    assert list(mapped["age_group"].cat.categories) == list(tier3["age_group"].cat.categories)
    assert "age_band" in mapped.columns  # the agency's own bands stay, unrenamed
    dp.rake(dp.SurveyDesign(mapped, weights="weight_vendor"), targets)


def test_unmapped_file_lists_every_problem_with_fixes(agency: pd.DataFrame, targets: dp.Targets) -> None:
    with pytest.raises(DelibpollError) as info:
        validate_against_targets(agency, targets)
    msg = str(info.value)
    for line in (
        '[rename] gender = "sex"',
        '[recode.gender] "Man" = "Male"',
        '[recode.gender] "Woman" = "Female"',
        '[rename] age_band = "age_group"',
        '[recode.age_band] "75 and over" = "75+"',
        '[recode.region] "Yorkshire and the Humber" = "Yorkshire and The Humber"',
        '[recode.region] "East" = "East of England"',
        '[recode.education] "Level 4 qualifications or above" = "Level 4 qualifications and above"',
        '[rename] ethnic_group = "ethnicity"',
        '[recode.ethnic_group] "Mixed or Multiple ethnic groups" = "Mixed/Multiple"',
    ):
        assert line in msg, line
    assert "did you mean 'gender'?" in msg
    assert "did you mean 'Yorkshire and The Humber'?" in msg
    problems = check_against_targets(agency, targets)
    # 3 variables + 2 gender + 7 age band + 2 region + 1 education + 3 ethnicity categories
    assert len(problems) == msg.count("\n  - ") == 18
    kinds = {p.kind for p in problems}
    assert kinds == {"variable", "category"}
    sex = next(p for p in problems if p.kind == "variable" and p.variable == "sex")
    assert sex.column == "gender" and sex.suggestions == ("gender",)


def test_problems_numeric_missing_absent() -> None:
    t = dp.datasets.england_adult_targets(["age_group", "region"])
    df = pd.DataFrame({
        "age": [18, 30, 80, 45],
        "region": pd.Categorical(["London", None, "North East", "Wales"]),
    })
    problems = check_against_targets(df, t)
    by_kind = {k: [p for p in problems if p.kind == k] for k in {p.kind for p in problems}}
    numeric = by_kind["numeric"][0]
    assert numeric.column == "age" and numeric.fix.startswith("[bands.age]\n\"18-24\" = [18, 24]")
    assert numeric.fix.endswith('"75+" = [75, inf]')
    assert "18 to 80" in numeric.message
    (missing,) = by_kind["missing_values"]
    assert "1 row(s) have no value" in missing.message
    wales = next(p for p in by_kind["category"] if p.value == "Wales")
    assert wales.fix == "" and "recode it into one of them" in wales.message
    absent = {p.value for p in by_kind["absent_category"]}
    assert absent == {"North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
                      "East of England", "South East", "South West"}
    # a fix from bands on the numeric problem makes it go away
    fixed = Mapping.from_toml_text(numeric.fix + '\n[rename]\nage = "age_group"').apply(df)
    left = [p for p in check_against_targets(fixed, t) if p.variable == "age_group"]
    assert {p.kind for p in left} == {"absent_category"}  # 4 rows cannot fill 7 bands


def test_no_column_looks_like_it() -> None:
    t = dp.datasets.england_adult_targets(["ethnicity"])
    (p,) = check_against_targets(pd.DataFrame({"x": [1.5, 2.5]}), t)
    assert p.kind == "variable" and p.column is None and p.fix == ""
    assert "no column looks like it" in p.message


def test_suggest_mapping_round_trip(agency: pd.DataFrame, targets: dp.Targets) -> None:
    text = suggest_mapping(agency, targets)
    tomllib.loads(text)  # valid TOML as written
    assert '"Yorkshire and the Humber" = "Yorkshire and The Humber"  # case/spacing/wording' in text
    assert '"East" = "East of England"  # guess: check' in text
    assert 'gender = "sex"  # guess: check' in text
    assert '# q_pact = "keep"  # user-missing: 98 "Prefer not to say", 99 "Don\'t know"' in text
    mapped = Mapping.from_toml_text(text).apply(agency)
    assert check_against_targets(mapped, targets) == []


def test_suggest_mapping_unknown_category_commented_out() -> None:
    t = dp.datasets.england_adult_targets(["region"])
    df = pd.DataFrame({"region": pd.Categorical(
        ["London", "Wales", "North East", "North West", "Yorkshire and The Humber",
         "East Midlands", "West Midlands", "East of England", "South East", "South West",
         "Scotland"])})
    text = suggest_mapping(df, t)
    assert '# "Wales" = ""  # no target looks like this' in text
    assert tomllib.loads(text) == {"recode": {"region": {}}}


def test_match_columns(agency: pd.DataFrame, targets: dp.Targets) -> None:
    m = match_columns(agency, targets)
    assert m["sex"] == ["gender"]
    assert m["age_group"] == ["age_band", "age"]
    assert m["region"][0] == "region" and m["education"][0] == "education"
    assert m["ethnicity"] == ["ethnic_group"]


def test_normalize_label() -> None:
    assert normalize_label("Yorkshire & the  Humber") == normalize_label("Yorkshire and The Humber")
    assert normalize_label("18 – 24") == "18-24" == normalize_label("18 to 24")
    assert normalize_label("75 years and over") == "75+" == normalize_label("75 plus")
    assert normalize_label("Men") == "male"
    assert normalize_label("Level 4 and above") != normalize_label("Level 4")


# ---------------------------------------------------------------- apply: what it does


def test_missing_keep_equals_read_survey_keep(agency: pd.DataFrame) -> None:
    kept = dp.read_survey(SAV, user_missing="keep")
    out = Mapping.from_dict({"missing": {"q_pact": "keep", "q_charge": "keep"}}).apply(agency)
    for q in ("q_pact", "q_charge"):
        pd.testing.assert_series_equal(out[q], kept[q])
        assert q not in out.attrs["missing_codes"] and q not in out.attrs["missing_reasons"]
    assert out.attrs["missing_codes"]["q_committee"] == agency.attrs["missing_codes"]["q_committee"]


def test_missing_keep_some_codes(agency: pd.DataFrame) -> None:
    out = Mapping.from_dict({"missing": {"q_committee": ["Don't know"]}}).apply(agency)
    raw, _ = pyreadstat.read_sav(str(SAV), user_missing=True)
    assert int((out["q_committee"] == "Don't know").sum()) == int((raw["q_committee"] == 99).sum())
    assert out.attrs["missing_codes"]["q_committee"] == {98: "Prefer not to say"}
    assert {c for c, _ in out.attrs["missing_reasons"]["q_committee"].values()} == {98}


def test_missing_set_missing_on_a_kept_read_restores_the_default(agency: pd.DataFrame) -> None:
    kept = dp.read_survey(SAV, user_missing="keep")
    out = Mapping.from_dict({"missing": {q: "missing" for q in ("q_pact", "q_charge")}}).apply(kept)
    for q in ("q_pact", "q_charge"):
        pd.testing.assert_series_equal(out[q], agency[q])
        assert out.attrs["missing_reasons"][q] == agency.attrs["missing_reasons"][q]


def test_attrs_follow_renames_and_recodes(agency: pd.DataFrame) -> None:
    out = Mapping.from_toml(MAP).apply(agency)
    labels = out.attrs["variable_labels"]
    assert labels["sex"] == agency.attrs["variable_labels"]["gender"] and "gender" not in labels
    assert out.attrs["value_labels"]["sex"] == {1.0: "Male", 2.0: "Female"}
    assert out.attrs["value_labels"]["region"][3.0] == "Yorkshire and The Humber"
    assert out.attrs["mapping"]["rename"]["gender"] == "sex"
    # the input is untouched, attrs included
    assert agency.attrs["value_labels"]["gender"] == {1.0: "Man", 2.0: "Woman"}
    assert "gender" in agency.columns


def test_written_and_read_back_after_mapping(agency: pd.DataFrame, tmp_path: Path) -> None:
    out = Mapping.from_toml(MAP).apply(agency)
    path = dp.write_survey(out, tmp_path / "mapped.sav")
    back = dp.read_survey(path, user_missing="keep")
    assert back["sex"].tolist() == out["sex"].tolist()
    assert back["region"].tolist() == out["region"].tolist()


def test_recode_merges_and_numeric_codes() -> None:
    df = pd.DataFrame({"q": pd.Categorical(["a", "b", "c"], categories=["a", "b", "c"], ordered=True),
                       "g": [1, 2, 1], "t": ["x", "y", "x"]})
    out = Mapping.from_dict({"recode": {"q": {"b": "a"}, "g": {"1": "Female", "2": "Male"},
                                        "t": {"x": "X"}}}).apply(df)
    assert out["q"].tolist() == ["a", "a", "c"] and list(out["q"].cat.categories) == ["a", "c"]
    assert out["q"].cat.ordered
    assert out["g"].tolist() == ["Female", "Male", "Female"]
    assert out.attrs["value_labels"]["g"] == {1: "Female", 2: "Male"}
    assert out["t"].tolist() == ["X", "y", "X"]


def test_recode_by_new_name_and_swap() -> None:
    df = pd.DataFrame({"a": pd.Categorical(["x"]), "b": [1]})
    # "b" in [recode] is a column of the file (the numeric one), even though "a" becomes "b"
    with pytest.raises(DelibpollError, match="'b' holds numbers"):
        Mapping.from_dict({"rename": {"a": "b", "b": "a"}, "recode": {"b": {"x": "y"}}}).apply(df)
    out = Mapping.from_dict({"rename": {"a": "sex"}, "recode": {"sex": {"x": "y"}}}).apply(df)
    assert out["sex"].tolist() == ["y"]
    swapped = Mapping.from_dict({"rename": {"a": "b", "b": "a"}}).apply(df)
    assert swapped["b"].tolist() == ["x"] and swapped["a"].tolist() == [1]


# ---------------------------------------------------------------- apply: errors, all at once


def test_apply_lists_every_problem_with_near_matches(agency: pd.DataFrame) -> None:
    m = Mapping.from_toml_text('''
[missing]
trust_nhs = "keep"
region = "keep"
[bands.age]
"18-64" = [18, 64]
[recode.region]
"Yorkshire and the Humbr" = "Yorkshire and The Humber"
"Wales" = "Wales"
[recode.q_pact]
"Don't know" = "DK"
[recode.gendr]
Man = "Male"
[rename]
gender = "region"
educaton = "education"
''')
    with pytest.raises(DelibpollError) as info:
        m.apply(agency)
    msg = str(info.value)
    assert "(9 problem(s))" in msg
    assert "'trust_nhs' is not categorical" in msg
    assert "'region' has no declared user-missing codes" in msg
    raw, _ = pyreadstat.read_sav(str(SAV))
    assert f"{int((raw['age'] > 64).sum())} value(s) of 'age' are in no band (65, 66," in msg
    assert "no category 'Yorkshire and the Humbr'; did you mean 'Yorkshire and the Humber'?" in msg
    assert "no category 'Wales'" in msg
    assert "\"Don't know\" is a user-missing code of 'q_pact'" in msg
    assert '[missing] q_pact = "keep"' in msg
    assert "variable 'gendr', which is not in the data; did you mean 'gender'?" in msg
    assert "the data already has a variable 'region'" in msg
    assert "no variable 'educaton' in the data; did you mean 'education'?" in msg


def test_mapping_file_errors_all_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('''
[renam]
gender = "sex"
[rename]
a = "x"
b = "x"
c = 3
[bands.age]
"young" = [30, 18]
"a" = [18, 40]
"b" = [40, 60]
"c" = "old"
[missing]
q = "kep"
[recode]
region = "London"
''')
    with pytest.raises(DelibpollError) as info:
        Mapping.from_toml(bad)
    msg = str(info.value)
    assert f"Mapping file '{bad}' is not valid (8 problem(s))" in msg
    assert "unknown section [renam]; did you mean 'rename'?" in msg
    assert "[rename] gives 2 variables the name 'x'" in msg
    assert "[rename] c must be a new name in quotes, got 3" in msg
    assert "has lowest > highest" in msg
    assert "bands 'a' [18, 40] and 'b' [40, 60] overlap" in msg
    assert '[bands.age] "c" must be [lowest, highest]' in msg
    assert "[missing] q must be \"keep\", \"missing\" or a list" in msg
    assert "[recode] region must be a table [recode.region]" in msg
    with pytest.raises(DelibpollError, match="is not valid TOML: .*line 1"):
        Mapping.from_toml_text("[rename\n", source="mapping file 'x.toml'")
    with pytest.raises(DelibpollError, match="does not exist"):
        Mapping.from_toml(tmp_path / "nope.toml")


def test_bad_arguments() -> None:
    with pytest.raises(DelibpollError, match=r"parameter of Mapping.apply must be a dataframe \(a pandas DataFrame, a Polars"):
        Mapping().apply([1, 2])  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match="must be a Targets object"):
        check_against_targets(pd.DataFrame(), {"sex": {}})  # type: ignore[arg-type]
    assert not Mapping() and Mapping.from_dict({"rename": {"a": "b"}})


# ---------------------------------------------------------------- properties


@st.composite
def frames_and_mappings(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, object]]:
    n = draw(st.integers(1, 30))
    cats = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=5,
                         unique=True))
    cat_values = draw(st.lists(st.sampled_from(cats + [None]), min_size=n, max_size=n))
    nums = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    index = draw(st.sampled_from(["range", "shuffled", "labels"]))
    idx: pd.Index = (
        pd.RangeIndex(n) if index == "range"
        else pd.Index(draw(st.permutations(list(range(n)))))
        if index == "shuffled" else pd.Index([f"r{i}" for i in range(n)])
    )
    df = pd.DataFrame({"c": pd.Categorical(cat_values, categories=cats), "x": nums}, index=idx)
    df.attrs["variable_labels"] = {"c": "C", "x": "X"}
    recode_keys = draw(st.lists(st.sampled_from(cats), unique=True))
    recode = {k: draw(st.sampled_from(["a", "z", "y"])) for k in recode_keys}
    cut = draw(st.integers(0, 99))
    mapping: dict[str, object] = {
        "recode": {"c": recode},
        "bands": {"x": {"low": [0, cut], "high": [cut + 1, math.inf]}},
    }
    if draw(st.booleans()):
        mapping["rename"] = {"c": "cat", "x": "band"}
    return df, mapping


@settings(max_examples=80, deadline=None)
@given(frames_and_mappings())
def test_apply_keeps_rows_and_never_changes_the_input(case: tuple[pd.DataFrame, dict[str, object]]) -> None:
    df, spec = case
    before = df.copy(deep=True)
    attrs_before = copy.deepcopy(df.attrs)
    mapping = Mapping.from_dict(spec)
    out = mapping.apply(df)
    pd.testing.assert_frame_equal(df, before)
    assert df.attrs == attrs_before
    assert out.index.equals(df.index) and len(out) == len(df)
    renamed = "rename" in spec
    c, x = ("cat", "band") if renamed else ("c", "x")
    recode = spec["recode"]["c"]  # type: ignore[index]
    expected = [None if pd.isna(v) else recode.get(v, v) for v in df["c"]]
    assert [None if pd.isna(v) else v for v in out[c]] == expected
    cut = spec["bands"]["x"]["low"][1]  # type: ignore[index]
    assert out[x].tolist() == ["low" if v <= cut else "high" for v in df["x"]]
    assert out.attrs["variable_labels"] == ({"cat": "C", "band": "X"} if renamed else {"c": "C", "x": "X"})


@settings(max_examples=80, deadline=None)
@given(
    rename=st.dictionaries(st.from_regex(r"[a-z_ ]{1,6}", fullmatch=True),
                           st.text(min_size=1, max_size=6).filter(str.strip), max_size=3),
    recode=st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True),
                           st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
                           max_size=2),
    rule=st.one_of(st.sampled_from(["keep", "missing"]),
                   st.lists(st.one_of(st.integers(-99, 99), st.text(max_size=5)), min_size=1,
                            max_size=3)),
)
def test_toml_round_trip(rename: dict[str, str], recode: dict[str, dict[str, str]],
                         rule: object) -> None:
    news = list(rename.values())
    if len(set(news)) != len(news):
        return
    m = Mapping.from_dict({"rename": rename, "recode": recode, "missing": {"q": rule},
                           "bands": {"age": {"young": [18, 34.5], "old": [35, math.inf]}}})
    back = Mapping.from_toml_text(m.to_toml())
    assert back == m
    assert Mapping.from_dict(m.to_dict()) == m
