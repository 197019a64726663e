"""Tests for delibpoll.weightspec (the weighting specification sidecar) and for the lazy
package (delibpoll/__init__.py: names imported on first use; exporters found by name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import weightspec as ws

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
VARS = ["sex", "age_group", "region", "education", "ethnicity"]


@pytest.fixture(scope="module")
def england() -> tuple[pd.DataFrame, dp.Targets]:
    df = pd.read_csv(REF / "data" / "england_like.csv")
    targets = dp.Targets.from_csv(REF / "data" / "england_like_targets.csv").select(VARS)
    return df, targets


def test_spec_round_trips_through_toml(england: tuple[pd.DataFrame, dp.Targets]) -> None:
    df, targets = england
    d = dp.calibrate(dp.SurveyDesign(df), targets, method="logit", bounds=(0.5, 2.5))
    spec = ws.WeightingSpec.of(d, targets, weight_column="w", targets_source="t.csv",
                               method="logit", bounds=(0.5, 2.5), mapping_source="m.toml",
                               mapping_toml='[rename]\ngender = "sex"\n')
    back = ws.WeightingSpec.from_toml_text(spec.to_toml())
    assert back == spec
    # the targets recorded are the targets used, to the last bit
    got = back.targets().to_frame()
    assert got[["variable", "category"]].equals(targets.to_frame()[["variable", "category"]])
    assert np.array_equal(got["target"].to_numpy(), targets.to_frame()["target"].to_numpy())


def test_rebuild_matches_r_raked_weights(england: tuple[pd.DataFrame, dp.Targets]) -> None:
    """R's rake() weights (tests/reference/values/weights_england_raked.csv, weighting.R)
    written as the file's weight column: re-raking from weights 1 reproduces them (1e-9)
    and the design is raking-aware; R's svymean(~trust) SE to 1e-7."""
    df, targets = england
    r_w = pd.read_csv(REF / "values" / "weights_england_raked.csv")["weight"].to_numpy()
    d = dp.rake(dp.SurveyDesign(df), targets)
    spec = ws.WeightingSpec.of(d, targets, weight_column="weight", targets_source="england_like_targets.csv")
    fd = ws.rebuild(df.assign(weight=r_w), spec)
    assert fd.raking_aware and fd.se_note == "raking-aware SEs"
    assert fd.max_relative_difference < 1e-9
    vals = pd.read_csv(REF / "values" / "weighting.csv", dtype=str)
    r_se = float(vals[(vals.case == "england_raked") & (vals.quantity == "se")].value.iloc[0])
    assert dp.mean(fd.design, "trust").se_of("trust") == pytest.approx(r_se, rel=1e-7)


def test_rebuild_refuses_weights_that_do_not_match(england: tuple[pd.DataFrame, dp.Targets]) -> None:
    df, targets = england
    d = dp.rake(dp.SurveyDesign(df), targets)
    spec = ws.WeightingSpec.of(d, targets, weight_column="weight", targets_source="x")
    w = d.weight_array.copy()
    w[5] *= 1 + 1e-6
    with pytest.warns(dp.WeightingWarning, match="THE STANDARD ERRORS TREAT THE WEIGHTS AS FIXED.*1e-06"):
        fd = ws.rebuild(df.assign(weight=w), spec)
    assert not fd.raking_aware and fd.se_note == "SEs treat the weights as fixed"
    assert fd.design.calibration == ()
    assert np.array_equal(fd.design.weight_array, w)  # the file's weights, as fixed weights
    with pytest.warns(dp.WeightingWarning, match="starting-weight column 'w0' is not in the data"):
        ws.rebuild(df.assign(weight=w), ws.WeightingSpec.of(d, targets, weight_column="weight",
                                                             targets_source="x", start_weights="w0"))


def test_design_for_file_cases(tmp_path: Path, england: tuple[pd.DataFrame, dp.Targets]) -> None:
    df, targets = england
    path = tmp_path / "data.csv"
    d = dp.rake(dp.SurveyDesign(df), targets)
    data = df.assign(weight=d.weight_array)
    assert ws.design_for_file(data, path).se_note == "UNWEIGHTED"
    fixed = ws.design_for_file(data, path, weights="weight")
    assert fixed.se_note == "SEs treat the weights as fixed" and "no weighting specification" in fixed.reason
    ws.write_spec(ws.WeightingSpec.of(d, targets, weight_column="weight", targets_source="x"), path)
    assert ws.sidecar_path(path).name == "data.csv.weighting.toml"
    assert ws.design_for_file(data, path).raking_aware
    other = ws.design_for_file(data.assign(w2=1.0), path, weights="w2")
    assert not other.raking_aware and "is for column 'weight', not 'w2'" in other.reason


def test_bad_sidecar_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    ws.sidecar_path(path).write_text('format = "something else"\n')
    with pytest.raises(dp.DelibpollError, match=r"d\.csv\.weighting\.toml' is not valid: format must be"):
        ws.read_spec(path)
    ws.sidecar_path(path).write_text("not toml [")
    with pytest.raises(dp.DelibpollError, match="is not valid TOML"):
        ws.read_spec(path)


# ---------------------------------------------------------------------- the lazy package
def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}).stdout


def test_every_public_name_imports() -> None:
    out = _python("import delibpoll, sys\n"
                  "print('before', 'pandas' in sys.modules)\n"
                  "missing = [n for n in delibpoll.__all__ if getattr(delibpoll, n, None) is None]\n"
                  "print('missing', missing)\n"
                  "from delibpoll import *\n"
                  "print('dir', set(delibpoll.__all__) <= set(dir(delibpoll)))\n"
                  "import delibpoll.banner, delibpoll.contrast\n"
                  "print('functions', callable(delibpoll.banner) and delibpoll.banner.__name__ == 'banner',"
                  " delibpoll.contrast.__name__)")
    assert "before False" in out
    assert "missing []" in out and "dir True" in out
    assert "functions True contrast" in out
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dp.nope  # noqa: B018


def test_exporters_work_when_only_the_banner_module_was_imported(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    text = _python(
        "import sys\nfrom delibpoll.banner import banner\nfrom delibpoll.design import SurveyDesign\n"
        "from delibpoll.io import read_survey\n"
        f"df = read_survey({str(ROOT / 'data/example/tier3.csv')!r})\n"
        "t = banner(SurveyDesign(df), ['q_pact'], ['sex'])\n"
        "print('export loaded before', 'delibpoll.export' in sys.modules)\n"
        f"t.to_excel({str(out)!r}); print(t.to_markdown()[:20])")
    assert "export loaded before False" in text and "### Table 1: Pact" in text
    import openpyxl

    assert "Notes" in openpyxl.load_workbook(out).sheetnames
