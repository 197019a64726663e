"""Tests for the delibpoll command line: the agency-file journey end to end, the weighting
specification round trip (numbers against the in-memory design and R), and every error path
(message and exit code)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll.cli import main
from delibpoll.mapping import Mapping

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example"
TIER3 = EXAMPLE / "tier3.csv"
AGENCY = EXAMPLE / "agency_wave1.sav"
AGENCY_MAP = EXAMPLE / "agency_wave1_mapping.toml"
REF = ROOT / "tests" / "reference"
RAKE_VARS = ["sex", "age_group", "region", "education", "ethnicity"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors and --help/--version
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def error_message(err: str) -> str:
    """The error message from its 'delibpoll: error:' line on (list items included)."""
    lines = err.splitlines()
    start = max(i for i, ln in enumerate(lines) if ln.startswith("delibpoll: error:"))
    return "\n".join(lines[start:])


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copy(AGENCY, tmp_path / "agency_wave1.sav")
    shutil.copy(AGENCY_MAP, tmp_path / "mapping.toml")
    return tmp_path


# ---------------------------------------------------------------------- the journey
def test_agency_file_journey_end_to_end(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sav, mapping = work / "agency_wave1.sav", work / "mapping.toml"
    # 1. describe: the codebook with the targets each variable could match
    code, out, _ = run(["describe", str(sav)], capsys)
    assert code == 0
    assert "4000 rows, 18 variables" in out
    gender = out[out.index("\ngender "):].split("\n\n")[0]
    assert 'values: 1 "Man" (1822); 2 "Woman" (2178)' in gender
    assert "could match target: sex" in gender
    assert 'user-missing: 98 "Prefer not to say" (64); 99 "Don\'t know" (287)' in out
    # 2. init: a starter mapping and cohort config, guesses marked
    code, out, _ = run(["init", str(sav), "--out-dir", str(work)], capsys)
    assert code == 0
    starter = (work / "agency_wave1_mapping.toml").read_text()
    assert 'gender = "sex"  # guess: check' in starter
    assert '"Yorkshire and the Humber" = "Yorkshire and The Humber"  # case/spacing/wording' in starter
    cfg = tomllib.loads((work / "agency_wave1_cohort.toml").read_text())
    assert cfg["mapping"] == {"file": "agency_wave1_mapping.toml"}
    assert cfg["data"] == {"tier3": "agency_wave1.sav", "tier3_weights": "weight_vendor"}
    assert "guess: check" in (work / "agency_wave1_cohort.toml").read_text()
    # 3. weight with the reviewed mapping file
    weighted = work / "weighted.sav"
    code, out, err = run(["weight", str(sav), "--map", str(mapping), "--targets", "england",
                          "--weights", "weight_vendor", "--out", str(weighted)], capsys)
    assert code == 0, err
    assert "Weighting report (rake, converged" in out
    assert "weighted.sav.weighting.toml" in err
    spec = tomllib.loads((work / "weighted.sav.weighting.toml").read_text())
    assert spec["weight_column"] == "weight" and spec["start_weights"] == "weight_vendor"
    assert spec["variables"] == RAKE_VARS and spec["method"] == "rake"
    assert Mapping.from_toml_text(spec["mapping"]["toml"]) == Mapping.from_toml(mapping)
    # the weights meet the ONS margins (the outside reference: the bundled targets)
    back = dp.read_survey(weighted)
    t = dp.datasets.england_adult_targets()
    for var in RAKE_VARS:
        shares = back.groupby(var, observed=True)["weight"].sum() / back["weight"].sum()
        for cat, target in t.shares(var).items():
            assert shares[cat] == pytest.approx(target, abs=1e-9)
    # 4. table on the weighted file, no --weights: the recorded weight, raking-aware
    tables = work / "tables.xlsx"
    code, _, err = run(["table", str(weighted), "--rows", "q_pact", "q_charge", "--columns",
                        "sex", "age_group", "--out", str(tables)], capsys)
    assert code == 0, err
    assert "weights: column 'weight' (raking-aware SEs)" in err
    assert "UNWEIGHTED" not in err
    import openpyxl

    wb = openpyxl.load_workbook(tables, read_only=True)
    notes = [str(c) for row in wb["Notes"].iter_rows(values_only=True) for c in row if c]
    assert any("raking-aware SEs" in n for n in notes)
    # 5. run a cohort config with a [mapping] section (inline) on the same file
    (work / "cohort.toml").write_text(
        "[cohort]\ntitle = \"Agency wave 1\"\nsynthetic = true\n"
        "[data]\ntier3 = \"agency_wave1.sav\"\ntier3_weights = \"weight_vendor\"\n"
        + "\n".join(f"[mapping.{line[1:]}" if line.startswith("[") else line
                    for line in AGENCY_MAP.read_text().splitlines())
        + "\n[weighting]\nvariables = [\"sex\", \"age_group\", \"region\", \"education\", \"ethnicity\"]\n"
        "[[headline]]\nquestion = \"q_pact\"\ncategory = \"Increase confidence\"\n"
        "[banner]\nrows = [\"q_pact\"]\ncolumns = [\"sex\"]\n",
        encoding="utf-8",
    )
    code, _, err = run(["run", str(work / "cohort.toml"), "--output", str(work / "report")], capsys)
    assert code == 0, err
    head = pd.read_csv(work / "report" / "headline_estimates.csv", skiprows=1)  # "# SYNTHETIC DATA" line
    # the same weighted share as the Python API on the mapped data
    mapped = Mapping.from_toml(mapping).apply(dp.read_survey(sav))
    design = dp.rake(dp.SurveyDesign(mapped, weights="weight_vendor"), t)
    ref = dp.proportion(design, "q_pact", na="drop").estimate_of("Increase confidence")
    assert head.loc[0, "estimate"] == pytest.approx(round(ref, 4), abs=1e-12)
    report = (work / "report" / "report.md").read_text()
    assert "## Representativeness" in report and "Tier 3's unweighted sample" in report
    assert not list(work.glob(".report.partial-*"))
    # 6. the starter config from init runs too (survey-only, its mapping file)
    code, _, err = run(["run", str(work / "agency_wave1_cohort.toml")], capsys)
    assert code == 0, err
    assert (work / "output" / "report.html").is_file()


def test_weighted_share_is_the_weighted_one_not_the_sample_share(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's first finding: a table of weighted.sav without --weights must not be the
    unweighted 59%-style figure while calling itself weighted."""
    weighted = work / "w.sav"
    assert run(["weight", str(work / "agency_wave1.sav"), "--map", str(work / "mapping.toml"),
                "--targets", "england", "--weights", "weight_vendor", "--out", str(weighted)],
               capsys)[0] == 0
    out = work / "t.csv"
    assert run(["table", str(weighted), "--rows", "q_pact", "--columns", "sex", "--out",
                str(out)], capsys)[0] == 0
    got = pd.read_csv(out)
    total = got[(got["column"] == "Total") & (got["category"] == "Increase confidence")].iloc[0]
    back = dp.read_survey(weighted)
    ok = back["q_pact"].notna()
    by_hand = back.loc[ok & (back["q_pact"] == "Increase confidence"), "weight"].sum() / back.loc[ok, "weight"].sum()
    unweighted = (back.loc[ok, "q_pact"] == "Increase confidence").mean()
    assert total["estimate"] == pytest.approx(by_hand, rel=1e-12)
    assert abs(total["estimate"] - unweighted) > 0.005
    assert set(got["standard_errors"]) == {"raking-aware SEs"}


# ---------------------------------------------------------------------- the numbers
def test_se_after_the_file_round_trip_equals_the_in_memory_raking_aware_se(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weighted = work / "w.sav"
    assert run(["weight", str(work / "agency_wave1.sav"), "--map", str(work / "mapping.toml"),
                "--targets", "england", "--weights", "weight_vendor", "--out", str(weighted)],
               capsys)[0] == 0
    mapped = Mapping.from_toml(work / "mapping.toml").apply(dp.read_survey(work / "agency_wave1.sav"))
    memory = dp.rake(dp.SurveyDesign(mapped, weights="weight_vendor"), dp.datasets.england_adult_targets())
    out = work / "t.csv"
    assert run(["table", str(weighted), "--rows", "q_pact", "--columns", "sex", "--out", str(out)], capsys)[0] == 0
    got = pd.read_csv(out)
    total = got[got["column"] == "Total"].set_index("category")
    est = dp.proportion(memory, "q_pact", na="drop")
    for cat in est.to_frame()["category"]:
        assert total.loc[cat, "se"] == pytest.approx(est.se_of(cat), rel=1e-12)
    # consistency check that the test can fail: fixed weights give other SEs
    fixed = dp.proportion(dp.SurveyDesign(dp.read_survey(weighted), weights="weight"), "q_pact", na="drop")
    assert abs(fixed.se_of("Increase confidence") - est.se_of("Increase confidence")) > 1e-4


def _r_value(case: str, statistic: str, variable: str, category: str, quantity: str) -> float:
    vals = pd.read_csv(REF / "values" / "estimation.csv", dtype=str, keep_default_na=False)
    row = vals[(vals.case == case) & (vals.statistic == statistic) & (vals.variable == variable)
               & (vals.category == category) & (vals.quantity == quantity) & (vals.domain == "")]
    assert len(row) == 1
    return float(row.value.iloc[0])


def test_raking_aware_se_through_files_equals_r(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tests/reference/r/weighting.R and estimation.R: the England-like sample raked by R's
    rake() to five margins from weights 1; svymean(~q_pact) SEs. Here the raking goes
    through `delibpoll weight` -> CSV -> `delibpoll table`. Tolerance 1e-7 relative (the CLI
    rakes to tol 1e-10 on shares; R to epsilon 1e-12)."""
    data, targets = REF / "data" / "england_like.csv", REF / "data" / "england_like_targets.csv"
    weighted = tmp_path / "w.csv"
    code, _, err = run(["weight", str(data), "--targets", str(targets), "--variables", *RAKE_VARS,
                        "--out", str(weighted)], capsys)
    assert code == 0, err
    out = tmp_path / "t.csv"
    code, _, err = run(["table", str(weighted), "--rows", "q_pact", "--columns", "sex",
                        "--out", str(out)], capsys)
    assert code == 0, err
    got = pd.read_csv(out)
    total = got[got["column"] == "Total"].set_index("category")
    for cat in ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]:
        r_est = _r_value("england_raked", "svymean", "q_pact", cat, "estimate")
        r_se = _r_value("england_raked", "svymean", "q_pact", cat, "se")
        assert total.loc[cat, "estimate"] == pytest.approx(r_est, rel=1e-8)
        assert total.loc[cat, "se"] == pytest.approx(r_se, rel=1e-7)
    # without the specification the SEs are those of fixed weights: not R's raked ones
    (tmp_path / "w.csv.weighting.toml").unlink()
    code, _, err = run(["table", str(weighted), "--rows", "q_pact", "--columns", "sex",
                        "--weights", "weight", "--out", str(out)], capsys)
    assert code == 0
    fixed = pd.read_csv(out)
    fixed_total = fixed[fixed["column"] == "Total"].set_index("category")
    r_se = _r_value("england_raked", "svymean", "q_pact", "Increase confidence", "se")
    assert abs(fixed_total.loc["Increase confidence", "se"] / r_se - 1) > 1e-3
    assert set(fixed["standard_errors"]) == {"SEs treat the weights as fixed"}


def test_changed_weights_are_said_loudly_and_treated_as_fixed(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weighted = work / "w.csv"
    assert run(["weight", str(work / "agency_wave1.sav"), "--map", str(work / "mapping.toml"),
                "--targets", "england", "--weights", "weight_vendor", "--out", str(weighted)],
               capsys)[0] == 0
    df = pd.read_csv(weighted)
    df.loc[0, "weight"] *= 1.01  # someone edited a weight
    df.to_csv(weighted, index=False)
    out = work / "t.md"
    code, _, err = run(["table", str(weighted), "--rows", "q_pact", "--columns", "sex", "--out", str(out)], capsys)
    assert code == 0
    assert "THE STANDARD ERRORS TREAT THE WEIGHTS AS FIXED" in err
    assert re.search(r"differ from column 'weight' by up to 0\.0099", err)
    assert "SEs treat the weights as fixed" in out.read_text()


def test_unweighted_table_says_so_loudly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.md"
    code, _, err = run(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", str(out)], capsys)
    assert code == 0
    assert "delibpoll: warning: UNWEIGHTED" in err
    assert "UNWEIGHTED" in out.read_text()
    html = tmp_path / "t.html"
    assert run(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", str(html)], capsys)[0] == 0
    assert "UNWEIGHTED" in html.read_text()
    xlsx = tmp_path / "t.xlsx"
    assert run(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", str(xlsx)], capsys)[0] == 0
    import openpyxl

    first = openpyxl.load_workbook(xlsx).worksheets[0]
    assert first["A1"].value == "UNWEIGHTED banner tables (sample percentages)"


def test_weight_writes_weights_that_meet_the_margins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.csv"
    code, stdout, _ = run(["weight", str(TIER3), "--targets", "england", "--variables", "sex",
                           "age_group", "--out", str(out)], capsys)
    assert code == 0
    df = pd.read_csv(out)
    shares = df.groupby("sex")["weight"].sum() / df["weight"].sum()
    t = dp.datasets.england_adult_targets(["sex"]).shares("sex")
    assert shares["Female"] == pytest.approx(t["Female"], abs=1e-9)
    assert "Weighting report" in stdout


def test_user_missing_keep_and_unmatched_keep(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--user-missing keep reads 98/99 as categories; a weighting margin with a category
    without target then needs --unmatched keep (said in CLI words)."""
    sav = work / "agency_wave1.sav"
    out = work / "w.csv"
    sex_only = work / "sex.toml"
    sex_only.write_text('[recode.gender]\n"Man" = "Male"\n"Woman" = "Female"\n[rename]\ngender = "sex"\n')
    code, _, err = run(["weight", str(sav), "--map", str(sex_only), "--user-missing", "keep",
                        "--targets", "england", "--variables", "sex", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out)
    assert (df["trust_nhs"].isna()).sum() > 0  # numeric codes always become missing
    assert {"Prefer not to say", "Don't know"} <= set(df["q_committee"].dropna())
    # a margin variable with an untargeted category: an error naming --unmatched keep
    df3 = pd.read_csv(TIER3)
    df3.loc[:9, "sex"] = "Other"
    other = work / "other.csv"
    df3.to_csv(other, index=False)
    code, _, err = run(["weight", str(other), "--targets", "england", "--variables", "sex",
                        "--out", str(work / "w2.csv")], capsys)
    assert code == 1
    msg = error_message(err)
    assert "sex: category 'Other' has no target" in msg
    assert "--unmatched keep" in msg and "unmatched='keep'" not in msg
    code, _, err = run(["weight", str(other), "--targets", "england", "--variables", "sex",
                        "--unmatched", "keep", "--out", str(work / "w2.csv")], capsys)
    assert code == 0, err
    w2 = pd.read_csv(work / "w2.csv")
    assert w2.loc[w2["sex"] == "Other", "weight"].sum() == pytest.approx(10.0, rel=1e-9)  # kept its share
    # a near match with its fix line
    m = work / "m.toml"
    m.write_text('[recode.gender]\n"Man" = "Male"\n[rename]\ngender = "sex"\n')
    code, _, err = run(["weight", str(sav), "--map", str(m), "--targets", "england", "--variables",
                        "sex", "--out", str(work / "w3.csv")], capsys)
    assert code == 1
    msg = error_message(err)
    assert "sex: category 'Woman' has no target (looks like 'Female'); did you mean 'Female'?" in msg
    assert 'fix: [recode.sex] "Woman" = "Female"' in msg


def test_labels_and_layout_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels]\nq_pact = "Would a Data Pact increase your confidence?"\n')
    out = tmp_path / "t.md"
    code, _, err = run(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--labels",
                        str(labels), "--layout", "classic", "--ci-method", "beta", "--out", str(out)], capsys)
    assert code == 0, err
    import inspect

    if "labels" in inspect.signature(dp.banner).parameters:  # the accessible tables (#14)
        assert "Would a Data Pact increase your confidence?" in out.read_text()
    else:
        assert "--labels is not supported" in err
    assert "95% confidence intervals use the beta method" in out.read_text()


# ---------------------------------------------------------------------- config
def test_run_survey_only_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ntier3 = "{TIER3}"\n[weighting]\nvariables = ["sex", "age_group"]\n'
                   '[[headline]]\nquestion = "q_pact"\ncategory = "Increase confidence"\n'
                   '[banner]\nrows = ["q_pact"]\ncolumns = ["sex"]\n')
    code, _, err = run(["run", str(cfg), "--output", str(tmp_path / "out")], capsys)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "banner_tables.xlsx" in names and "headline_estimates.csv" in names
    assert "representativeness_tier3_vs_population.csv" in names
    assert not any(n.startswith("representativeness_tier1") or n == "tier_comparison.csv" for n in names)
    report = (tmp_path / "out" / "report.md").read_text()
    for section in ("## Weighting", "## Headline estimates", "## Representativeness", "## Banner tables"):
        assert section in report


def test_failed_run_leaves_the_old_report_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ntier3 = "{TIER3}"\n[weighting]\nvariables = ["sex"]\n'
                   '[[headline]]\nquestion = "q_pact"\ncategory = "Increase confidence"\n')
    out = tmp_path / "out"
    assert run(["run", str(cfg), "--output", str(out)], capsys)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    from delibpoll import pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(pipeline, "draw_charts", broken)
    cfg.write_text(cfg.read_text().replace('"Increase confidence"', '"No impact"'))
    code, _, err = run(["run", str(cfg), "--output", str(out)], capsys)
    assert code == 3 and "internal error RuntimeError: disk full while drawing" in err
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the headline CSV written before the failure did not replace the old one
    assert not list(tmp_path.glob(".out.partial-*"))


# ---------------------------------------------------------------------- errors
ERRORS: list[tuple[str, list[str], int, str]] = [
    ("missing-input", ["weight", "{tmp}/nope.sav", "--targets", "england", "--out", "{tmp}/o.csv"], 1,
     r"does not exist"),
    ("bad-table-suffix", ["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", "{tmp}/t.pdf"], 1,
     r"--out '.*t\.pdf': cannot write a table to a '\.pdf' file; use a \.xlsx, \.csv, \.html or \.md"),
    ("all-missing-columns", ["table", str(TIER3), "--rows", "q_pct", "qcharge", "--columns", "sexx", "--weights", "wt",
                             "--out", "{tmp}/t.md"], 1,
     r"--rows: 'q_pct', 'qcharge' are not columns; --columns: 'sexx' is not a column; --weights: 'wt' is not a column of INPUT"),
    ("weight-missing-columns", ["weight", str(TIER3), "--targets", "england", "--variables", "sex", "agegroup",
                                "--weights", "w0", "--out", "{tmp}/o.csv"], 1,
     r"--variables: 'agegroup' is not a column; --weights: 'w0' is not a column"),
    ("no-mapping-near-matches", ["weight", str(AGENCY), "--targets", "england", "--out", "{tmp}/o.sav"], 1,
     r"does not match --targets england \(18 problems\):\n  - The targets have variable 'sex' but the data has no column "
     r"of that name; did you mean 'gender'\?\n      fix: \[rename\] gender = \"sex\""),
    ("yorkshire-fix-line", ["weight", str(AGENCY), "--targets", "england", "--variables", "region", "--out", "{tmp}/o.sav"], 1,
     r"region: category 'Yorkshire and the Humber' has no target .*did you mean 'Yorkshire and The Humber'\?\n"
     r"      fix: \[recode.region\] \"Yorkshire and the Humber\" = \"Yorkshire and The Humber\""),
    ("missing-map-file", ["weight", str(AGENCY), "--map", "{tmp}/nope.toml", "--targets", "england", "--out", "{tmp}/o.sav"], 1,
     r"--map '.*nope\.toml' does not exist\. Give a mapping file \(TOML\); `delibpoll init INPUT` writes a starter one"),
    ("bad-map-section", ["weight", str(AGENCY), "--map", "{tmp}/bad.toml", "--targets", "england", "--out", "{tmp}/o.sav"], 1,
     r"unknown section \[renam\]; did you mean 'rename'\?"),
    ("map-does-not-fit", ["table", str(AGENCY), "--map", "{tmp}/typo.toml", "--rows", "q_pact", "--columns", "region",
                          "--out", "{tmp}/t.md"], 1,
     r"(?s)--map '.*typo\.toml': The mapping does not fit the data .*did you mean 'Yorkshire and the Humber'\?"),
    ("weight-name-clash", ["weight", str(AGENCY), "--map", str(AGENCY_MAP), "--targets", "england", "--weight-name",
                           "weight_vendor", "--out", "{tmp}/o.sav"], 1,
     r"already has a column 'weight_vendor'; pass --weight-name with another name"),
    ("missing-values-in-margin", ["weight", "{tmp}/holes.csv", "--targets", "england", "--variables", "sex",
                                  "--out", "{tmp}/o.csv"], 1,
     r"sex: 1 row\(s\) have no value; weighting needs a category for every row .*--user-missing keep"),
    ("missing-targets", ["weight", str(TIER3), "--targets", "{tmp}/t.csv", "--out", "{tmp}/o.csv"], 1,
     r"--targets '.*t\.csv' does not exist\. Give a CSV file with columns variable,category,target"),
    ("missing-labels", ["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--labels", "{tmp}/l.toml",
                        "--out", "{tmp}/t.md"], 1, r"--labels '.*l\.toml' does not exist"),
    ("init-no-overwrite", ["init", str(AGENCY), "--out-dir", "{tmp}/existing"], 1,
     r"already exists; delibpoll init does not overwrite files\. Pass --force"),
    ("init-no-folder", ["init", str(AGENCY), "--out-dir", "{tmp}/nofolder"], 1, r"--out-dir '.*nofolder' is not an existing folder"),
    ("bad-weighting-spec", ["table", "{tmp}/edited.csv", "--rows", "q_pact", "--columns", "sex", "--out", "{tmp}/t.md"], 1,
     r"weighting specification '.*edited\.csv\.weighting\.toml' is not valid: \[targets\] csv does not match its sha256"),
    ("config-misspelt-key", ["run", "{tmp}/capp.toml"], 1, r"\[weighting\] has an unknown key 'capp'; did you mean cap\?"),
    ("config-misspelt-section", ["run", "{tmp}/baner.toml"], 1, r"Unknown section \[baner\]; did you mean \[banner\]\?"),
    # usage errors: exit 2
    ("unknown-command", ["wieght"], 2, r"invalid choice: 'wieght'"),
    ("user-missing-choice", ["table", str(TIER3), "--rows", "q", "--columns", "s", "--out", "x.md", "--user-missing", "yes"], 2,
     r"--user-missing: invalid choice: 'yes' \(choose from 'missing', 'keep'\)"),
    ("unmatched-choice", ["weight", str(TIER3), "--targets", "england", "--out", "o.csv", "--unmatched", "drop"], 2,
     r"--unmatched: invalid choice: 'drop'"),
    ("layout-choice", ["table", str(TIER3), "--rows", "q", "--columns", "s", "--out", "x.md", "--layout", "fancy"], 2,
     r"--layout: invalid choice: 'fancy' \(choose from 'accessible', 'classic'\)"),
    ("ci-method-choice", ["table", str(TIER3), "--rows", "q", "--columns", "s", "--out", "x.md", "--ci-method", "exact"], 2,
     r"--ci-method: invalid choice: 'exact'"),
    ("cap-not-above-1", ["weight", str(TIER3), "--targets", "england", "--out", "o.csv", "--cap", "0.5"], 2,
     r"--cap: must be a number > 1"),
    ("cap-with-calibration", ["weight", str(TIER3), "--targets", "england", "--out", "o.csv", "--method", "linear",
                              "--cap", "3"], 2, r"--cap applies to --method rake only"),
    ("bounds-with-rake", ["weight", str(TIER3), "--targets", "england", "--out", "o.csv", "--bounds", "0.3", "3"], 2,
     r"--bounds applies to calibration"),
    ("logit-needs-bounds", ["weight", str(TIER3), "--targets", "england", "--out", "o.csv", "--method", "logit"], 2,
     r"--method logit needs --bounds L U"),
    ("missing-required", ["weight", str(TIER3)], 2, r"the following arguments are required: --targets, --out"),
]


def _prepare(tmp: Path) -> None:
    (tmp / "bad.toml").write_text('[renam]\ngender = "sex"\n')
    (tmp / "typo.toml").write_text('[recode.region]\n"Yorkshire and the Humbr" = "Yorkshire and The Humber"\n')
    (tmp / "holes.csv").write_text("sex,q\nFemale,a\n,b\nMale,a\n")
    (tmp / "existing").mkdir()
    (tmp / "existing" / "agency_wave1_mapping.toml").write_text("# mine\n")
    weighted = tmp / "edited.csv"
    assert main(["weight", str(TIER3), "--targets", "england", "--variables", "sex", "--out", str(weighted)]) == 0
    spec = tmp / "edited.csv.weighting.toml"
    spec.write_text(spec.read_text().replace("sex,Female,0.5", "sex,Female,0.4"))
    good = f'[data]\ntier3 = "{TIER3}"\n[weighting]\nvariables = ["sex"]\n'
    (tmp / "capp.toml").write_text(good + "capp = 3.0\n")
    (tmp / "baner.toml").write_text(good + '[baner]\ncolumns = ["sex"]\n')


@pytest.mark.parametrize(("argv", "code", "pattern"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_error_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                     argv: list[str], code: int, pattern: str) -> None:
    monkeypatch.chdir(tmp_path)
    _prepare(tmp_path)
    capsys.readouterr()
    got, _, err = run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert got == code, err
    assert "Traceback" not in err
    msg = error_message(err) if code == 1 else err
    assert re.search(pattern, msg), msg
    if code == 1:
        # Python spellings never reach the command line
        assert not re.search(r"\b(unmatched|user_missing|weight_name)=|The '\w+' parameter", msg), msg
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.sav").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(dp.DelibpollError, match="does not exist"):
        main(["weight", str(tmp_path / "nope.sav"), "--targets", "england", "--out", str(tmp_path / "o.csv"), "--debug"])


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for command in ("describe", "init", "weight", "table", "run"):
        assert command in out
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"delibpoll {dp.__version__}"
    code, out, _ = run(["table", "--help"], capsys)
    assert code == 0
    for flag in ("--weights", "--user-missing", "--map", "--ci-method", "--labels", "--layout"):
        assert flag in out
    code, out, _ = run(["weight", "--help"], capsys)
    for flag in ("--weights", "--user-missing", "--map", "--unmatched", "--cap", "--method"):
        assert flag in out


def test_help_starts_without_the_scientific_stack() -> None:
    """`delibpoll --help` imports neither numpy nor pandas (the 0.3 s budget is measured in
    docs/cli.md; this checks what makes it possible, without timing a shared machine)."""
    code = ("import sys; from delibpoll.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'pandas', 'scipy', 'plotnine', 'delibpoll.design') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in res.stdout


def test_read_back_weights_are_floats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.parquet"
    assert run(["weight", str(TIER3), "--targets", "england", "--out", str(out)], capsys)[0] == 0
    assert np.issubdtype(pd.read_parquet(out)["weight"].dtype, np.floating)
    assert (tmp_path / "w.parquet.weighting.toml").is_file()
