"""The issue #16 reference designs (tests/reference/r/common16.R) built in delibpoll.

Shared by the test files of the #16 estimators; each design is R's of the same name (see
tests/reference/SPEC_16.md section 1). Not a test module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import delibpoll as dp
from delibpoll import SurveyDesign

ENGLAND_MARGINS = ["sex", "age_group", "region", "education", "ethnicity"]
ENROLL_BANDS = ["<350", "350-499", "500-749", "750+"]
STYPE = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}


def apistrat(ref: Any) -> SurveyDesign:
    return SurveyDesign(ref.data("apistrat16.csv"), weights="pw", strata="stype", fpc="fpc")


def apiclus1(ref: Any) -> SurveyDesign:
    return SurveyDesign(ref.data("apiclus1_16.csv"), weights="pw", ids="dnum", fpc="fpc")


def apiclus2(ref: Any) -> SurveyDesign:
    """R's svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2): two stages, multistage variance
    (weights pw equal R's weights from the fpc)."""
    return SurveyDesign(ref.data("apiclus2.csv"), weights="pw", ids=["dnum", "snum"],
                        fpc=["fpc1", "fpc2"])


def apistrat_raked(ref: Any) -> SurveyDesign:
    """R's rake(dstrat, ~stype + ~sch.wide + ~enroll_band); the enroll band margins are R's
    (apipop's band counts scaled to 6194), read off R's raked weights, which meet them."""
    d = apistrat(ref)
    w_r = ref.weights("apistrat16_raked")
    band = d.column("enroll_band").to_numpy()
    bands = {b: float(w_r[band == b].sum()) for b in ENROLL_BANDS}
    targets = dp.Targets.from_dict({"stype": STYPE, "sch.wide": SCHWIDE, "enroll_band": bands})
    return dp.rake(d, targets, tol=1e-12)


def england_raked(ref: Any) -> SurveyDesign:
    eng = ref.data("england_like.csv", keep_default_na=False, na_values=[""])
    targets = dp.Targets.from_csv(ref.root / "data" / "england_like_targets.csv")
    return dp.rake(SurveyDesign(eng), targets.select(ENGLAND_MARGINS), tol=1e-12)


def _repweights(ref: Any, name: str) -> np.ndarray:
    df = ref.data(name).sort_values("row")
    return df.filter(regex=r"^rep\d+$").to_numpy(dtype=float)


def with_columns(data: pd.DataFrame, mat: np.ndarray) -> pd.DataFrame:
    cols = pd.DataFrame(mat, columns=[f"rep{j + 1}" for j in range(mat.shape[1])])
    return pd.concat([data.reset_index(drop=True), cols], axis=1)


def replicate(ref: Any, case: str) -> SurveyDesign:
    """apiclus1_16_jk1 or apiclus1_16_boot, read back from R's replicate weights."""
    file = {"apiclus1_16_jk1": "apiclus1_jk1_16_repweights.csv",
            "apiclus1_16_boot": "apiclus1_boot16_repweights.csv"}[case]
    rep_type = "jk1" if case.endswith("jk1") else "bootstrap"
    data = with_columns(ref.data("apiclus1_16.csv"), _repweights(ref, file))
    return SurveyDesign(
        data, weights="pw", repweights=r"^rep\d+$", rep_type=rep_type,
        scale=ref.get(case, "design", "scale"),
        rscales=[ref.get(case, "design", "rscales_unique")],
    )
