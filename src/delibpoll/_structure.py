"""The integer structure of a survey design: strata, PSUs and fpc (values layer)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["DesignStructure", "build_structure"]


@dataclasses.dataclass(frozen=True)
class DesignStructure:
    """Strata and first-stage clusters of a design, coded as integers (read-only arrays)."""

    psu: np.ndarray  # (n,) PSU code 0..P-1, PSUs nested in strata
    stratum: np.ndarray  # (n,) stratum code 0..H-1
    psu_stratum: np.ndarray  # (P,) stratum of each PSU
    n_psu_h: np.ndarray  # (H,) PSUs per stratum
    fpc_f: np.ndarray  # (H,) (N_h - n_h) / N_h, 1 without fpc
    has_fpc: bool

    def __post_init__(self) -> None:
        for name in ("psu", "stratum", "psu_stratum", "n_psu_h", "fpc_f"):
            arr = np.array(getattr(self, name))
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def n_psu(self) -> int:
        """Number of PSUs."""
        return len(self.psu_stratum)

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return len(self.n_psu_h)

def _codes(series: pd.Series, what: str) -> np.ndarray:
    n_missing = int(series.isna().sum())
    if n_missing:
        raise DelibpollError(
            f"The {what} has {n_missing} missing value(s); every row must belong to one."
        )
    codes, _ = pd.factorize(series, sort=True)
    return codes.astype(np.int64)


def build_structure(
    data: pd.DataFrame, strata: str | None, ids: str | None, fpc: str | None
) -> DesignStructure:
    n = len(data)
    stratum = _codes(data[strata], f"strata column '{strata}'") if strata else np.zeros(n, np.int64)
    if ids:
        cl = _codes(data[ids], f"ids column '{ids}'")
        pair = stratum * (int(cl.max()) + 1) + cl
        psu, _ = pd.factorize(pair, sort=True)
        psu = psu.astype(np.int64)
    else:
        psu = np.arange(n, dtype=np.int64)
    n_psu = int(psu.max()) + 1
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu] = stratum
    n_h_count = int(stratum.max()) + 1
    n_psu_h = np.bincount(psu_stratum, minlength=n_h_count).astype(float)
    fpc_f = np.ones(n_h_count)
    if fpc:
        s = data[fpc]
        if not pd.api.types.is_numeric_dtype(s):
            raise DelibpollError(f"The fpc column '{fpc}' must be numeric; got dtype {s.dtype}.")
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(vals).any() or (vals <= 0).any():
            raise DelibpollError(
                f"The fpc column '{fpc}' has missing or non-positive values; give the population "
                "number of PSUs per stratum, or the sampling fraction."
            )
        per_h = pd.Series(vals).groupby(stratum).agg(["min", "max"])
        if (per_h["max"] - per_h["min"] > 1e-9 * per_h["max"]).any():
            raise DelibpollError(
                f"The fpc column '{fpc}' varies within a stratum; it must be constant per stratum."
            )
        fvals = per_h["min"].to_numpy()
        if np.all(vals <= 1):
            pop = n_psu_h / fvals  # sampling fractions -> population PSU counts
        else:
            pop = fvals
            small = pop < n_psu_h - 1e-9
            if small.any():
                raise DelibpollError(
                    f"The fpc column '{fpc}' gives fewer population PSUs than were sampled in "
                    f"{int(small.sum())} stratum(s); check that it holds population sizes."
                )
        with np.errstate(invalid="ignore"):  # an infinite population: no correction
            fpc_f = np.where(np.isinf(pop), 1.0, (pop - n_psu_h) / pop)
    return DesignStructure(
        psu=psu,
        stratum=stratum,
        psu_stratum=psu_stratum,
        n_psu_h=n_psu_h,
        fpc_f=fpc_f,
        has_fpc=fpc is not None,
    )
