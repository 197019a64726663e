"""Shared test fixtures: the committed R reference values (tests/reference/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# property tests draw the same examples on every run (no example database, fixed seed)
settings.register_profile("delibpoll", derandomize=True, database=None, deadline=None)
settings.load_profile("delibpoll")

REFERENCE = Path(__file__).parent / "reference"


class Reference:
    """Lookup of values produced by ``Rscript tests/reference/make_reference.R``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        frames = []
        for path in sorted((root / "values").glob("*.csv")):
            if path.name.startswith("weights_") or path.name == "versions.csv":
                continue
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            if "value" in df.columns and "quantity" in df.columns:
                frames.append(df)
        values = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        # the same quantity written by two topic scripts must agree to the last digit
        self.values = values.drop_duplicates(ignore_index=True)

    def get(
        self,
        case: str,
        statistic: str,
        quantity: str,
        *,
        variable: str = "",
        domain: str = "",
        category: str = "",
        method: str = "",
    ) -> float:
        v = self.values
        sel = v[
            (v["case"] == case)
            & (v["statistic"] == statistic)
            & (v["quantity"] == quantity)
            & (v["variable"] == variable)
            & (v["domain"] == domain)
            & (v["category"] == category)
            & (v["method"] == method)
        ]
        if len(sel) != 1:
            raise KeyError(
                f"{len(sel)} reference rows for case={case!r} statistic={statistic!r} "
                f"quantity={quantity!r} variable={variable!r} domain={domain!r} "
                f"category={category!r} method={method!r}"
            )
        return float(sel["value"].iloc[0])

    def weights(self, case: str) -> np.ndarray:
        df = pd.read_csv(self.root / "values" / f"weights_{case}.csv")
        return df.sort_values("row")["weight"].to_numpy(dtype=float)

    def data(self, name: str, **kwargs: object) -> pd.DataFrame:
        return pd.read_csv(self.root / "data" / name, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def ref() -> Reference:
    return Reference(REFERENCE)
