"""Make ``agency_wave1.sav``: the SYNTHETIC Tier 3 example as a fieldwork agency delivers it.

Run from the repository root: ``PYTHONPATH=src python data/example/make_agency_sav.py``.
Deterministic (seeded): the same code gives byte-identical files. No row is a real person:
the rows are the synthetic Tier 3 example (``delibpoll.datasets.load_example(3)``), recoded
into an agency's vocabulary, so that it differs from the ONS targets
(``delibpoll.datasets.england_adult_targets()``) the way real deliveries do:

* ``serial`` instead of ``respondent_id``;
* ``gender`` coded 1 = "Man", 2 = "Woman" where the targets have ``sex`` with "Female",
  "Male" (an agency asks gender; the ONS mid-year estimates give sex);
* ``age`` in whole years (18 to 94) and ``age_band`` with the agency's wording ("18 to 24",
  ..., "75 and over") where the targets have ``age_group`` "18-24", ..., "75+";
* ``region`` with "Yorkshire and the Humber" (lower-case "the") and "East" where the
  targets say "Yorkshire and The Humber" and "East of England";
* ``education`` with "Level 4 qualifications or above" ("or" for "and") and
  ``ethnic_group`` with the Census 2021 long wordings ("Asian or Asian British", ...) where
  the targets have ``ethnicity`` "Asian/Asian British", ...;
* on every question, 99 = "Don't know" and 98 = "Prefer not to say", declared user-missing
  (SPSS ``MISSING VALUES``); "Don't know" answers of the example become 99 and about 2% of
  answers "Prefer not to say" (98); ``trust_nhs`` (0-10) labels its end points;
* ``weight_vendor``: the agency's rim weight (sex, age, region; mean 1, six decimals);
* a variable label on every variable and value labels on every coded variable. The file is
  written with SPSS's standard bytecode compression (as SPSS saves by default).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
OUT = HERE / "agency_wave1.sav"
SEED = 20251507
DK, PNTS = 99, 98
MISSING_LABELS = {PNTS: "Prefer not to say", DK: "Don't know"}

GENDER = {1: "Man", 2: "Woman"}
GENDER_OF_SEX = {"Male": 1, "Female": 2}
AGE_BANDS = {
    "18-24": (1, "18 to 24", 18, 24),
    "25-34": (2, "25 to 34", 25, 34),
    "35-44": (3, "35 to 44", 35, 44),
    "45-54": (4, "45 to 54", 45, 54),
    "55-64": (5, "55 to 64", 55, 64),
    "65-74": (6, "65 to 74", 65, 74),
    "75+": (7, "75 and over", 75, 94),
}
REGION = {
    "North East": "North East",
    "North West": "North West",
    "Yorkshire and The Humber": "Yorkshire and the Humber",
    "East Midlands": "East Midlands",
    "West Midlands": "West Midlands",
    "East of England": "East",
    "London": "London",
    "South East": "South East",
    "South West": "South West",
}
EDUCATION = {
    "No qualifications": "No qualifications",
    "Level 1 and entry level qualifications": "Level 1 and entry level qualifications",
    "Level 2 qualifications": "Level 2 qualifications",
    "Apprenticeship": "Apprenticeship",
    "Level 3 qualifications": "Level 3 qualifications",
    "Level 4 qualifications and above": "Level 4 qualifications or above",
    "Other qualifications": "Other qualifications",
}
ETHNICITY = {
    "White": "White",
    "Asian/Asian British": "Asian or Asian British",
    "Black/Black British/Caribbean/African": "Black, Black British, Caribbean or African",
    "Mixed/Multiple": "Mixed or Multiple ethnic groups",
    "Other ethnic group": "Other ethnic group",
}
QUESTIONS = ("q_pact", "q_charge", "q_committee")


def _coded(values: pd.Series, labels: dict[str, str]) -> tuple[np.ndarray, dict[int, str]]:
    """Codes 1..k in the example's category order, and the agency's labels for them."""
    cats = list(values.cat.categories)
    codes = values.cat.codes.to_numpy().astype(float) + 1
    codes[values.isna().to_numpy()] = np.nan
    return codes, {i + 1: labels[c] for i, c in enumerate(cats)}


def _question(values: pd.Series, rng: np.random.Generator) -> tuple[np.ndarray, dict[int, str]]:
    """Substantive answers 1..k, "Don't know" as 99, ~2% "Prefer not to say" as 98."""
    cats = [c for c in values.cat.categories if c != "Don't know"]
    code_of = {c: i + 1 for i, c in enumerate(cats)} | {"Don't know": DK}
    codes = values.map(code_of).astype(float).to_numpy().copy()
    pnts = rng.random(len(codes)) < 0.02
    codes[pnts & ~np.isnan(codes)] = PNTS
    return codes, {i + 1: c for i, c in enumerate(cats)} | MISSING_LABELS


def build() -> tuple[pd.DataFrame, dict[str, object]]:
    import delibpoll as dp

    rng = np.random.default_rng(SEED)
    t3 = dp.datasets.load_example(3)
    n = len(t3)
    out: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}
    value_labels: dict[str, dict[int | float, str]] = {}
    missing: dict[str, list[int | float]] = {}

    out["serial"] = t3["respondent_id"].to_numpy().astype(float) + 100000
    labels["serial"] = "Respondent serial number"

    out["gender"] = t3["sex"].map(GENDER_OF_SEX).astype(float).to_numpy()
    labels["gender"] = "Q.A1 Which of the following best describes your gender?"
    value_labels["gender"] = dict(GENDER)

    band = t3["age_group"].astype(str)
    lo = band.map(lambda b: AGE_BANDS[b][2]).to_numpy()
    hi = band.map(lambda b: AGE_BANDS[b][3]).to_numpy()
    # older ages thin out within 75+ (a flat draw over 75..94 would be too old)
    u = rng.random(n)
    u = np.where(band.to_numpy() == "75+", u**1.8, u)
    out["age"] = np.floor(lo + u * (hi - lo + 1)).astype(float)
    labels["age"] = "Q.A2 Age (years)"
    out["age_band"] = band.map(lambda b: AGE_BANDS[b][0]).astype(float).to_numpy()
    labels["age_band"] = "Age band (derived from Q.A2)"
    value_labels["age_band"] = {v[0]: v[1] for v in AGE_BANDS.values()}

    for name, src, wording, label in (
        ("region", "region", REGION, "Government Office Region"),
        ("education", "education", EDUCATION, "Q.A4 Highest level of qualification"),
        ("ethnic_group", "ethnicity", ETHNICITY, "Q.A5 Ethnic group"),
    ):
        out[name], value_labels[name] = _coded(t3[src], wording)
        labels[name] = label

    out["info_arm"], value_labels["info_arm"] = _coded(
        t3["info_arm"], {"Control": "Control", "Reassured": "Reassured"}
    )
    labels["info_arm"] = "Experimental split (randomised): Reassured = told any surplus stays in the NHS"

    for q in QUESTIONS:
        out[q], value_labels[q] = _question(t3[q], rng)
        labels[q] = t3.attrs["variable_labels"][q]
        missing[q] = [PNTS, DK]

    trust = t3["trust_nhs"].to_numpy().astype(float).copy()
    reasons = t3.attrs["missing_reasons"].get("trust_nhs", {})
    trust[list(reasons)] = DK
    trust[(rng.random(n) < 0.02) & (trust != DK)] = PNTS
    out["trust_nhs"] = trust
    labels["trust_nhs"] = t3.attrs["variable_labels"]["trust_nhs"]
    value_labels["trust_nhs"] = {0: "Not at all", 10: "Completely"} | MISSING_LABELS
    missing["trust_nhs"] = [PNTS, DK]

    for col in [c for c in t3.columns if c.startswith("prio_")]:
        out[col] = t3[col].to_numpy().astype(float)
        labels[col] = t3.attrs["variable_labels"][col]
        value_labels[col] = {0: "Not selected", 1: "Selected"}

    # the agency's rim weight: sex, age band and region, mean 1
    design = dp.SurveyDesign(t3)
    rim = dp.rake(design, dp.datasets.england_adult_targets(["sex", "age_group", "region"]))
    w = rim.weights.to_numpy()
    out["weight_vendor"] = np.round(w / w.mean(), 6)
    labels["weight_vendor"] = "Weight: rim weighted to ONS sex, age and region (mean 1)"

    df = pd.DataFrame(out)
    meta: dict[str, object] = {
        "column_labels": labels,
        "variable_value_labels": value_labels,
        "missing_ranges": missing,
        "variable_measure": {
            c: ("ordinal" if c in ("age_band", "trust_nhs") else "scale" if c in (
                "serial", "age", "weight_vendor") else "nominal")
            for c in df.columns
        },
    }
    return df, meta


def main(path: Path = OUT) -> Path:
    df, meta = build()
    pyreadstat.write_sav(
        df,
        str(path),
        file_label="Data Pact survey wave 1 (SYNTHETIC example data)",
        row_compress=True,
        **meta,  # type: ignore[arg-type]
    )
    # the header's creation date and time (bytes 92-108) would change the file on every run
    raw = bytearray(path.read_bytes())
    raw[92:109] = b"01 Jul 2512:00:00"
    path.write_bytes(bytes(raw))
    return path


if __name__ == "__main__":
    target = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
