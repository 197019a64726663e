"""Labels a reader sees for variables and categories (delibpoll._labels).

References: the labels pyreadstat reads from the example .sav files (the file itself, not
delibpoll's reader); expected fallback labels written by hand from the documented rule;
``textwrap``'s greedy wrap (which uses the fewest lines) for the line count of ``wrap``.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delibpoll import read_survey
from delibpoll._labels import ItemLabels, Labels, readable_name, wrap
from delibpoll.exceptions import DelibpollError

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example"
PRIO = ["prio_care", "prio_research", "prio_reinvest", "prio_public", "prio_privacy"]


@pytest.fixture(scope="module")
def tier3() -> pd.DataFrame:
    return read_survey(EXAMPLE / "tier3.sav")


@pytest.fixture(scope="module")
def meta() -> object:
    _, m = pyreadstat.read_sav(str(EXAMPLE / "tier3.sav"), metadataonly=True,
                               user_missing=True)
    return m


# ---- sources and priority -----------------------------------------------------------


def test_file_labels_as_pyreadstat_reads_them(tier3: pd.DataFrame, meta: object) -> None:
    lab = Labels.from_attrs(tier3.attrs)
    for col, label in meta.column_names_to_labels.items():  # type: ignore[attr-defined]
        assert lab.variable(col) == label.strip()
        assert lab.has_label(col)
    for col, codes in meta.variable_value_labels.items():  # type: ignore[attr-defined]
        for code, label in codes.items():
            assert lab.category(col, code) == label  # by the file's code
            assert lab.category(col, int(code)) == label
            assert lab.category(col, str(int(code))) == label  # as a TOML key would be
        if isinstance(tier3[col].dtype, pd.CategoricalDtype):  # read_survey turned codes into labels
            cats = list(tier3[col].cat.categories)
            assert lab.categories(col, cats) == cats


def test_missing_codes_from_the_file(tier3: pd.DataFrame) -> None:
    lab = Labels.from_attrs(tier3.attrs)
    assert lab.missing_codes("trust_nhs") == {99: "Don't know"}
    assert lab.missing_codes("q_committee") == {-9: "Not answered"}
    assert lab.category("trust_nhs", 99.0) == "Don't know"
    assert lab.missing_codes("sex") == {}


def test_author_labels_win_over_the_file_and_the_fallback(tier3: pd.DataFrame) -> None:
    lab = Labels.from_attrs(
        tier3.attrs,
        overrides={"q_pact": "Would a Data Pact increase your confidence?",
                   "q_pact:Increase confidence": "Increase",
                   "sex:1": "Women",  # by file code, while the data hold "Female"
                   "trust_nhs:99": "Does not know",
                   "new_var": "A new variable"},
    )
    assert lab.variable("q_pact") == "Would a Data Pact increase your confidence?"
    assert lab.variable("sex") == "Sex"  # the file's
    assert lab.variable("new_var") == "A new variable"
    assert lab.variable("not_labelled_anywhere") == "Not labelled anywhere"
    assert lab.category("q_pact", "Increase confidence") == "Increase"
    assert lab.category("q_pact", "No impact") == "No impact"
    assert lab.category("sex", "Female") == "Women"
    assert lab.category("sex", 1.0) == "Women"
    assert lab.category("sex", "Male") == "Male"
    assert lab.missing_codes("trust_nhs") == {99: "Does not know"}
    assert not lab.has_label("not_labelled_anywhere")


def test_nested_shape_and_mixed_shapes() -> None:
    lab = Labels.from_mapping({
        "variables": {"age_group": "Age"},
        "values": {"sex": {"F": "Female", "M": "Male"}, "code": {"1": "One", 2: "Two"}},
        "region": "Region of England",
    })
    assert lab.variable("age_group") == "Age"
    assert lab.variable("region") == "Region of England"
    assert lab.categories("sex", ["F", "M", "X"]) == ["Female", "Male", "X"]
    assert lab.categories("code", [1, 1.0, np.int64(1), "1", 2.0, "2"]) == ["One"] * 4 + ["Two"] * 2


def test_toml_table() -> None:
    cfg = tomllib.loads('''
[labels]
q_pact = "Would a Data Pact increase your confidence?"
"q_pact:Increase confidence" = "Increase"
Priorities = "What should the value of data be used for?"

[labels.variables]
age_group = "Age"

[labels.values.sex]
1 = "Female"
2 = "Male"

[labels.values.trust_nhs]
99 = "Don't know"
''')
    lab = Labels.from_toml_table(cfg["labels"])
    assert lab.source == "[labels]"
    assert lab.variable("age_group") == "Age"
    assert lab.category("sex", 1.0) == "Female"
    assert lab.category("trust_nhs", np.float64(99)) == "Don't know"
    assert lab.multi_response("Priorities", ["prio_a", "prio_b"]).title == (
        "What should the value of data be used for?")


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"sex": 1}, r"\[labels\] key 'sex' has 1 \(int\); a label must be text"),
        ({"sex": ["Female"]}, r"\[labels\] key 'sex' has \['Female'\] \(list\)"),
        ({"sex": {"F": "Female"}}, r"\[labels\] key 'sex' has \{'F': 'Female'\} \(dict\)"),
        ({"values": {"sex": "Female"}}, r"\[labels\] 'values.sex' must be a table"),
        ({"values": {"sex": {"F": 1}}}, r"\[labels\] 'values.sex.F' must be text"),
        ({"variables": {"sex": 2}}, r"\[labels\] 'variables.sex' must be text"),
        ({"sex": "  "}, r"\[labels\] 'sex' is empty"),
        ({"sex:": "Female"}, r"\[labels\] key 'sex:' must be 'variable:category'"),
        ({":F": "Female"}, r"key ':F' must be 'variable:category'"),
        ({"sex": "Sex", "variables": {"sex": "Gender"}}, r"gives variable 'sex' two labels"),
        ({"sex:1": "Female", "values": {"sex": {"1.0": "Women"}}},
         r"gives category '1.0' of 'sex' two labels \('Female' and 'Women'\)"),
        ({"values": "sex"}, r"\[labels\] 'values' must be a table \{variable: \{category: label\}\}"),
        ({"variables": ["sex"]}, r"\[labels\] 'variables' must be a table \{variable: label\}"),
    ],
)
def test_toml_table_errors_name_the_key(table: dict[str, object], match: str) -> None:
    with pytest.raises(DelibpollError, match=match):
        Labels.from_toml_table(table)


def test_python_mapping_errors() -> None:
    with pytest.raises(DelibpollError, match=r"labels must be a mapping .* got list"):
        Labels.from_mapping(["q_pact"])  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match=r"labels keys must be variable names \(text\); got 3"):
        Labels.from_mapping({3: "Three"})  # type: ignore[dict-item]
    with pytest.raises(DelibpollError, match=r"'attrs' parameter of Labels.from_attrs"):
        Labels.from_attrs(["x"])  # type: ignore[arg-type]
    with pytest.raises(DelibpollError, match=r"value_labels|values\['sex'\] must be a mapping"):
        Labels.from_attrs({"value_labels": {"sex": ["Female"]}})


def test_merge_order() -> None:
    base = Labels(variables={"a": "A file", "b": "B file", "c": "C file"}, source="file")
    lab = base.merge({"a": "A one", "b": "B one"}, Labels(variables={"b": "B two"}))
    assert [lab.variable(v) for v in "abcd"] == ["A one", "B two", "C file", "D"]
    stacked = Labels(variables={"x": "X low"}).merge(lab)  # a stack merged keeps its order
    assert [stacked.variable(v) for v in "abcx"] == ["A one", "B two", "C file", "X low"]


def test_labels_are_frozen_hashable_picklable(tier3: pd.DataFrame) -> None:
    lab = Labels.from_attrs(tier3.attrs, overrides={"sex": "Sex"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        lab.source = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        lab.variables["sex"] = "x"  # type: ignore[index]
    attrs = {"variable_labels": {"sex": "Sex"}}
    mine = Labels.from_attrs(attrs)
    attrs["variable_labels"]["sex"] = "changed"
    assert mine.variable("sex") == "Sex"  # a copy, not a view of the attrs
    again = pickle.loads(pickle.dumps(lab))
    assert again == lab and hash(again) == hash(lab)
    assert again.category("sex", "Female") == "Female"
    assert "Labels(labels: 1 variable labels" in repr(lab)


def test_to_frame() -> None:
    lab = Labels.from_attrs(
        {"variable_labels": {"sex": "Sex of respondent"},
         "value_labels": {"t": {99.0: "Don't know", 1.0: "Low"}},
         "missing_codes": {"t": {99: "Don't know"}}},
        overrides={"sex": "Sex", "t:1": "Low trust"},
    )
    fr = lab.to_frame()
    assert list(fr.columns) == ["variable", "category", "label", "source", "used"]
    rows = {(r.variable, r.category, r.source): (r.label, r.used) for r in fr.itertuples()}
    assert rows == {
        ("sex", None, "labels"): ("Sex", True),
        ("t", 1, "labels"): ("Low trust", True),
        ("sex", None, "file"): ("Sex of respondent", False),
        ("t", 99, "file"): ("Don't know", True),
        ("t", 1, "file"): ("Low", False),
    }


# ---- category fallbacks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Increase confidence", "Increase confidence"), ("not_at_all", "Not at all"),
     ("18-24", "18-24"), (1.0, "1"), (2.5, "2.5"), (1e-05, "0.00001"), (np.int64(3), "3"),
     (True, "Yes"), (np.False_, "No"), (float("nan"), "Missing"), (None, "Missing"),
     (pd.NA, "Missing")],
)
def test_category_fallback(value: object, expected: str) -> None:
    assert Labels().category("q", value) == expected


# ---- the readable fallback for names ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("age_group", "Age group"), ("q_pact", "Pact"), ("q_pact_pre", "Pact (before)"),
     ("q_pact_post", "Pact (after)"), ("q1_age", "Q1: Age"), ("Q12b_trust_nhs", "Q12b: Trust NHS"),
     ("q1", "Q1"), ("q", "Q"), ("quality", "Quality"), ("ageGroup", "Age group"),
     ("AgeGroup", "Age group"), ("NHSTrust", "NHS trust"), ("respondent_id", "Respondent ID"),
     ("trust-in.gov", "Trust in gov"), ("wave2", "Wave2"), ("pre", "Pre"), ("SEX", "SEX"),
     ("info_arm", "Info arm"), ("region__code", "Region code"), ("_private", "Private"),
     (3, "3")],
)
def test_readable_name(name: object, expected: str) -> None:
    assert readable_name(name) == expected


@given(name=st.from_regex(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+){0,4}", fullmatch=True))
def test_readable_name_is_never_snake_case(name: str) -> None:
    text = readable_name(name)
    assert "_" not in text
    assert text[0].isupper() or text[0].isdigit() or not text[0].isalpha()
    # every letter and digit of the name is kept, in order (case aside), bar a dropped q prefix
    kept = re.sub(r"[^a-z0-9]", "", text.lower().replace("(before)", "pre").replace(
        "(after)", "post"))
    original = re.sub(r"[^a-z0-9]", "", name.lower())
    assert original.endswith(kept) or kept in original


# ---- multi-response sets ----------------------------------------------------------------


def test_multi_response_items_from_the_file(tier3: pd.DataFrame, meta: object) -> None:
    lab = Labels.from_attrs(tier3.attrs)
    got = lab.multi_response("Priorities", PRIO)
    # reference: the file's labels, "Priority for the value of data: <item> (selected = 1)"
    names = meta.column_names_to_labels  # type: ignore[attr-defined]
    expected = tuple(
        names[c].removeprefix("Priority for the value of data: ").removesuffix(" (selected = 1)")
        for c in PRIO)
    assert got == ItemLabels(title="Priority for the value of data", items=expected)
    assert got.items[0] == "Improving NHS care and services"


def test_multi_response_author_labels() -> None:
    lab = Labels.from_attrs(
        {"variable_labels": {"prio_care": "Priority: Care (selected = 1)",
                             "prio_research": "Priority: Research (selected = 1)"}},
        overrides={"Priorities": "What matters most?", "prio_care": "NHS care"},
    )
    got = lab.multi_response("Priorities", ["prio_care", "prio_research"])
    assert got.title == "What matters most?"
    # the author's label of prio_care; the file's labels stripped of what they share
    assert got.items == ("NHS care", "Research")
    # without a label for the set, the title is the file labels' shared lead-in
    assert lab.multi_response("prio", ["prio_care", "prio_research"]).title == "Priority"


def test_multi_response_value_label_and_name_fallbacks() -> None:
    lab = Labels(values={"mr_health": {1: "Health", 0: "Not chosen"},
                         "mr_jobs": {1: "Jobs"},
                         "mr_other": {1: "Yes"}})  # generic: cannot name the item
    got = lab.multi_response("mr", ["mr_health", "mr_jobs", "mr_other"])
    assert got == ItemLabels(title="Mr", items=("Health", "Jobs", "Other"))
    # identical question text on every item: keep whole rather than strip to nothing
    same = Labels(variables={"a": "Which of these?", "b": "Which of these?"},
                  values={"a": {1: "Alpha"}, "b": {1: "Beta"}})
    assert same.multi_response("set", ["a", "b"]).items == ("Which of these?", "Which of these?")
    with pytest.raises(DelibpollError, match="'columns' parameter of Labels.multi_response"):
        lab.multi_response("mr", [])


def test_multi_response_question_mark_lead_in() -> None:
    lab = Labels(variables={"w_a": "Which do you use? Email", "w_b": "Which do you use? Post"})
    assert lab.multi_response("w", ["w_a", "w_b"]) == ItemLabels(
        title="Which do you use?", items=("Email", "Post"))


# ---- wrap -------------------------------------------------------------------------------


def test_wrap_examples() -> None:
    title = "Would a Data Pact increase or decrease your confidence in how the NHS uses data?"
    # greedy filling gives 43 + 36 characters; balanced, 38 + 41
    assert wrap(title, 50) == ("Would a Data Pact increase or decrease\n"
                               "your confidence in how the NHS uses data?")
    assert wrap(title, 200) == title
    assert wrap("Respondents aged 18-24", 12) == "Respondents\naged 18-24"
    assert wrap("Yorkshire and The Humber", 100) == "Yorkshire and The Humber"
    assert wrap("Supercalifragilistic word", 5) == "Supercalifragilistic\nword"
    assert wrap("First line\nsecond line here", 11) == "First line\nsecond\nline here"
    assert wrap("", 10) == ""
    with pytest.raises(DelibpollError, match="'width' parameter of wrap"):
        wrap("x", 0)


WORDS = st.lists(st.text(alphabet="abcdefghij-%?", min_size=1, max_size=14), min_size=1,
                 max_size=25)


@given(words=WORDS, width=st.integers(1, 60))
def test_wrap_never_breaks_words_and_uses_fewest_lines(words: list[str], width: int) -> None:
    text = " ".join(words)
    out = wrap(text, width).split("\n")
    assert " ".join(out).split() == words  # every word whole, in order
    for line in out:
        assert len(line) <= width or " " not in line  # only a single long word overflows
    greedy = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    assert len(out) == len(greedy)  # greedy filling uses the fewest lines
    assert max(map(len, out)) <= max(map(len, greedy))  # and balancing never lengthens one


@given(codes=st.dictionaries(st.integers(-10**6, 10**6), st.text(
    alphabet="abcdefghij ", min_size=1).filter(str.strip), min_size=1, max_size=8))
def test_a_code_matches_however_it_is_stored(codes: dict[int, str]) -> None:
    # the file stores codes as SPSS doubles; data and TOML keys may hold any spelling
    lab = Labels.from_attrs({"value_labels": {"v": {float(c): t for c, t in codes.items()}}})
    for code, text in codes.items():
        for form in (code, float(code), np.int64(code), np.float64(code), str(code)):
            assert lab.category("v", form) == text.strip()
    top = lab.merge({"values": {"v": {str(c): f"new {c}" for c in codes}}})
    for code, text in codes.items():
        assert top.category("v", code) == f"new {code}"
        if [t.strip() for t in codes.values()].count(text.strip()) == 1:
            assert top.category("v", text.strip()) == f"new {code}"  # the text names its code
