"""The committed R reference values state which R and survey produced them, and the test
files that quote a version agree with that record (tests/reference/values/versions.csv,
written by ``Rscript tests/reference/make_reference.R``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

TESTS = Path(__file__).resolve().parent
VERSIONS = TESTS / "reference" / "values" / "versions.csv"


def _versions() -> dict[str, str]:
    df = pd.read_csv(VERSIONS, dtype=str)
    return dict(zip(df["quantity"], df["value"], strict=True))


def test_versions_recorded() -> None:
    v = _versions()
    assert re.fullmatch(r"R version \d+\.\d+\.\d+.*", v["R.version"])
    assert re.fullmatch(r"\d+\.\d+(\.\d+)*", v["survey.version"])


def test_test_files_quote_the_recorded_versions() -> None:
    v = _versions()
    r_version = re.match(r"R version (\d+\.\d+\.\d+)", v["R.version"]).group(1)  # type: ignore[union-attr]
    survey = v["survey.version"]
    for path in sorted(TESTS.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"\bR survey (\d+\.\d+(?:\.\d+)?)|\bsurvey (\d+\.\d+(?:\.\d+)?)", text):
            quoted = m.group(1) or m.group(2)
            assert survey.startswith(quoted), f"{path.name} quotes survey {quoted}; values are from {survey}"
        for m in re.finditer(r"\bR (\d+\.\d+(?:\.\d+)?)\b", text):
            assert r_version.startswith(m.group(1)), (
                f"{path.name} quotes R {m.group(1)}; values are from R {r_version}"
            )
