"""Build england_adult_targets.csv (shares) from the ONS source tables in source/.

Run from the repository root: ``python data/population/build_targets.py``. Shares are
computed from the published COUNTS (never from the rounded percentages). The output is in
the format ``delibpoll.Targets.from_csv`` reads: ``variable,category,target,kind,source``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
SOURCE = HERE / "source"
OUT = HERE / "england_adult_targets.csv"

MYE = "ONS mid-2023 population estimates (mye23tablesuk.xlsx, MYE2, released 8 Oct 2024), England, aged 18+"
CENSUS_QUAL = "ONS Census 2021 TS067 (highest level of qualification), England, aged 16+"
CENSUS_ETH = (
    "ONS Census 2021 TS021 (ethnic group), England, ALL AGES - stand-in for adults (no "
    "England 18+ table available)"
)

QUALIFICATION_LABELS = {
    "No qualifications": "No qualifications",
    "Level 1 and entry level qualifications": "Level 1 and entry level qualifications",
    "Level 2 qualifications": "Level 2 qualifications",
    "Apprenticeship": "Apprenticeship",
    "Level 3 qualifications": "Level 3 qualifications",
    "Level 4 qualifications and above": "Level 4 qualifications and above",
    "Other qualifications": "Other qualifications",
}
ETHNICITY_ORDER = [
    "White",
    "Asian/Asian British",
    "Black/Black British/Caribbean/African",
    "Mixed/Multiple",
    "Other ethnic group",
]


def _counts(file: str, variable: str) -> pd.Series:
    df = pd.read_csv(SOURCE / file, dtype={"category": str})
    rows = df[df["variable"] == variable]
    if rows.empty:
        raise ValueError(f"{file}: no rows for {variable}")
    return pd.Series(rows["count_or_share"].astype(float).to_numpy(), index=rows["category"])


def _shares(counts: pd.Series) -> pd.Series:
    return counts / counts.sum()


def build() -> pd.DataFrame:
    parts = []

    sex = _counts("sex.csv", "sex_18plus_mid2023").drop("total_18plus")
    sex.index = [s.capitalize() for s in sex.index]
    parts.append(("sex", _shares(sex.loc[["Female", "Male"]]), MYE))

    age = _counts("age.csv", "age_18plus_mid2023")
    parts.append(("age_group", _shares(age), MYE))

    region = _counts("region.csv", "region_16plus_census2021")
    region.index = [re.sub(r"\s*\(E\d+\)$", "", r) for r in region.index]
    parts.append(("region", _shares(region), CENSUS_QUAL.replace("highest level of qualification", "base of TS067, by region")))

    qual = _counts("qualification.csv", "qualification_16plus_census2021")
    qual.index = [QUALIFICATION_LABELS[q] for q in qual.index]
    parts.append(("education", _shares(qual), CENSUS_QUAL))

    eth = _counts("ethnicity.csv", "ethnicity5_allages_england_census2021")
    parts.append(("ethnicity", _shares(eth.loc[ETHNICITY_ORDER]), CENSUS_ETH))

    agesex = _counts("age_x_sex.csv", "age_x_sex_18plus_mid2023")
    agesex.index = [
        f"{a}|{s.capitalize()}" for a, s in (c.split("|") for c in agesex.index)
    ]
    parts.append(("age_group|sex", _shares(agesex), MYE))

    rows = []
    for variable, shares, source in parts:
        for cat, share in shares.items():
            rows.append(
                {"variable": variable, "category": cat, "target": f"{share:.17g}",
                 "kind": "share", "source": source}
            )
    return pd.DataFrame(rows)


def main() -> None:
    frame = build()
    frame.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({len(frame)} rows)")


if __name__ == "__main__":
    main()
