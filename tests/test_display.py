"""Tests for delibpoll._display: the synthetic-data notice, CSV files that carry it, and the
notebook display of every result (fixed notation, escaped, compact)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import delibpoll as dp
from delibpoll._display import SYNTHETIC_NOTE, frame_html, read_csv, readable_number, write_csv
from delibpoll._format import scientific_notation


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in = tag in ("td", "th", "caption")
        if self._in:
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.cells[-1] += data


def _cells(markup: str) -> list[str]:
    p = _Cells()
    p.feed(markup)
    return p.cells


def test_csv_comment_line_round_trip(tmp_path: Path) -> None:
    fr = pd.DataFrame({"a": [1.5, 2.0], "b": ["x # y", "#z"]})
    p = write_csv(fr, tmp_path / "t.csv", synthetic=True)
    first, second = p.read_text(encoding="utf-8").splitlines()[:2]
    assert first == f"# {SYNTHETIC_NOTE}" and second == "a,b"
    pd.testing.assert_frame_equal(read_csv(p), fr)  # '#' inside fields is kept
    pd.testing.assert_frame_equal(pd.read_csv(p, skiprows=1), fr)
    q = write_csv(fr, tmp_path / "u.csv")
    assert not q.read_text(encoding="utf-8").startswith("#")
    pd.testing.assert_frame_equal(read_csv(q), fr)


@pytest.mark.parametrize(("value", "text"), [
    (7.0, "7"), (4000, "4,000"), (1.472833e-11, "0.00000000001473"), (0.612345, "0.6123"),
    (-0.00012345, "-0.0001235"), (1e20, "100,000,000,000,000,000,000"), (float("nan"), ""),
])
def test_readable_number_is_fixed_notation(value: float, text: str) -> None:
    assert readable_number(value) == text


def test_frame_html_escapes_and_shortens() -> None:
    fr = pd.DataFrame({"<b>": ["a&b"] * 50, "x": [1e-12] * 50})
    out = frame_html(fr, caption="c<d", max_rows=10)
    assert "<b>" not in out.replace("<b>", "", 0)[: out.index("<thead>")] or "&lt;b&gt;" in out
    assert "&lt;b&gt;" in out and "a&amp;b" in out and "c&lt;d" in out
    assert out.count("<tr>") == 11  # header + 10 rows
    assert "40 more rows" in out and scientific_notation(out) == []


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    t3 = dp.datasets.load_example(3)
    t1 = dp.datasets.load_example(1)
    d0 = dp.SurveyDesign(t3)
    targets = dp.datasets.england_adult_targets()
    d3 = dp.rake(d0, targets)
    d1 = dp.SurveyDesign(t1, ids="group_id")
    est = dp.proportion(d3, "q_charge", by="info_arm")
    return {
        "SurveyDesign": d3, "Targets": targets, "WeightingReport": d3.weighting_report,
        "Estimate": est,
        "TierComparison": dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post"),
        "PairedChange": dp.paired_change(d1, "q_pact_pre", "q_pact_post"),
        "QuestionComparison": dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post")}),
        "Representativeness": dp.representativeness(d1, targets.select(["sex", "age_group"])),
        "ContrastResult": dp.contrast(est, {"d": {("Reassured", "Wrong"): 1, ("Control", "Wrong"): -1}}),
        "ChisqResult": dp.chisq_test(d3, "q_charge", "info_arm"),
    }


@pytest.mark.parametrize("name", [
    "SurveyDesign", "Targets", "WeightingReport", "Estimate", "TierComparison", "PairedChange",
    "QuestionComparison", "Representativeness", "ContrastResult", "ChisqResult",
])
def test_every_result_has_a_readable_notebook_display(results: dict[str, object], name: str) -> None:
    obj = results[name]
    assert type(obj).__name__ == name
    out = obj._repr_html_()  # type: ignore[attr-defined]
    assert scientific_notation(out) == [], name
    assert "<table" in out and "<caption" in out
    # at most 4 significant digits after the decimal point's leading zeros
    assert not re.search(r"\.0*[1-9]\d{4,}", out), "more digits than a reader needs"
    assert len(out) < 60_000  # compact


def test_weighting_report_shows_iterations_as_a_whole_number(results: dict[str, object]) -> None:
    wr = results["WeightingReport"]
    cells = _cells(wr._repr_html_())  # type: ignore[attr-defined]
    i = cells.index("iterations")
    assert re.fullmatch(r"\d+", cells[i + 1])  # "7", never 7.000000e+00
    est = results["Estimate"].to_frame()  # type: ignore[attr-defined]
    share = est.loc[(est["info_arm"] == "Control") & (est["category"] == "Wrong"), "estimate"].iloc[0]
    assert f"{100 * share:.1f}%" in _cells(results["Estimate"]._repr_html_())  # type: ignore[attr-defined]
