"""Tests for the delibpoll command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import delibpoll as dp
from delibpoll.cli import main

ROOT = Path(__file__).resolve().parents[1]
TIER3 = ROOT / "data" / "example" / "tier3.csv"


def test_weight_writes_weights_that_meet_the_margins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.csv"
    code = main(["weight", str(TIER3), "--targets", "england", "--variables", "sex", "age_group", "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out)
    shares = df.groupby("sex")["weight"].sum() / df["weight"].sum()
    t = dp.datasets.england_adult_targets(["sex"]).shares("sex")
    assert shares["Female"] == pytest.approx(t["Female"], abs=1e-9)
    assert "Weighting report" in capsys.readouterr().out


def test_table_command(tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    assert main(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", str(out)]) == 0
    assert "### Table 1: Pact" in out.read_text()  # the readable name of q_pact (a CSV has no labels)


def test_bad_input_one_line_message_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["weight", str(tmp_path / "missing.sav"), "--targets", "england", "--out", str(tmp_path / "o.csv")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("delibpoll: error:") and "does not exist" in err
    assert main(["table", str(TIER3), "--rows", "q_pact", "--columns", "sex", "--out", str(tmp_path / "t.pdf")]) == 1


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "weight" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["weight"])
    assert info.value.code == 2
