"""The integer structure of a survey design: strata, PSUs, later-stage units and fpc
(values layer)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["DesignStructure", "SecondStage", "build_structure"]


@dataclasses.dataclass(frozen=True)
class SecondStage:
    """Second-stage units (SSUs) of a two-stage design, nested in the PSUs (read-only arrays).

    The stage-2 strata are the PSUs (R ``svydesign(ids=~psu+ssu)`` without stage-2 strata)."""

    ssu: np.ndarray  # (n,) SSU code 0..S-1, SSUs nested in PSUs
    ssu_psu: np.ndarray  # (S,) PSU of each SSU
    n_ssu: np.ndarray  # (P,) SSUs sampled in each PSU
    fpc_f: np.ndarray  # (P,) (N2_i - n2_i) / N2_i, the second-stage fpc of each PSU

    def __post_init__(self) -> None:
        for name in ("ssu", "ssu_psu", "n_ssu", "fpc_f"):
            arr = np.array(getattr(self, name))
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)


@dataclasses.dataclass(frozen=True)
class DesignStructure:
    """Strata and first-stage clusters of a design, coded as integers (read-only arrays)."""

    psu: np.ndarray  # (n,) PSU code 0..P-1, PSUs nested in strata
    stratum: np.ndarray  # (n,) stratum code 0..H-1
    psu_stratum: np.ndarray  # (P,) stratum of each PSU
    n_psu_h: np.ndarray  # (H,) PSUs per stratum
    fpc_f: np.ndarray  # (H,) (N_h - n_h) / N_h, 1 without fpc
    has_fpc: bool
    stage2: SecondStage | None = None  # a two-stage design with an fpc at both stages

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


def fpc_factors(
    vals_per_unit: np.ndarray, n_units: np.ndarray, fpc: str, what: str
) -> np.ndarray:
    """``(N - n) / N`` per stratum from an fpc given as population sizes or fractions."""
    if np.all(vals_per_unit <= 1):
        pop = n_units / vals_per_unit  # sampling fractions -> population counts
    else:
        pop = vals_per_unit
        small = pop < n_units - 1e-9
        if small.any():
            raise DelibpollError(
                f"The fpc column '{fpc}' gives fewer population {what} than were sampled in "
                f"{int(small.sum())} stratum(s); check that it holds population sizes."
            )
    with np.errstate(invalid="ignore"):  # an infinite population: no correction
        return np.asarray(np.where(np.isinf(pop), 1.0, (pop - n_units) / pop))


def _fpc_values(data: pd.DataFrame, fpc: str, groups: np.ndarray, unit: str) -> np.ndarray:
    s = data[fpc]
    if not pd.api.types.is_numeric_dtype(s):
        raise DelibpollError(f"The fpc column '{fpc}' must be numeric; got dtype {s.dtype}.")
    vals = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(vals).any() or (vals <= 0).any():
        raise DelibpollError(
            f"The fpc column '{fpc}' has missing or non-positive values; give the population "
            "number of units per stratum, or the sampling fraction."
        )
    per = pd.Series(vals).groupby(groups).agg(["min", "max"])
    if (per["max"] - per["min"] > 1e-9 * per["max"]).any():
        raise DelibpollError(
            f"The fpc column '{fpc}' varies within a {unit}; it must be constant per {unit}."
        )
    return np.asarray(per["min"].to_numpy())


def _stage2(
    data: pd.DataFrame, psu: np.ndarray, ids: str, fpc: str | None
) -> SecondStage:
    cl = _codes(data[ids], f"ids column '{ids}'")
    pair = psu * (int(cl.max()) + 1) + cl
    ssu, _ = pd.factorize(pair, sort=True)
    ssu = ssu.astype(np.int64)
    ssu_psu = np.zeros(int(ssu.max()) + 1, dtype=np.int64)
    ssu_psu[ssu] = psu
    n_psu = int(psu.max()) + 1
    n_ssu = np.bincount(ssu_psu, minlength=n_psu).astype(float)
    if fpc is None:
        f2 = np.ones(n_psu)
    else:
        f2 = fpc_factors(_fpc_values(data, fpc, psu, "first-stage unit (PSU)"), n_ssu, fpc,
                         "second-stage units")
    return SecondStage(ssu=ssu, ssu_psu=ssu_psu, n_ssu=n_ssu, fpc_f=f2)


def build_structure(
    data: pd.DataFrame,
    strata: str | None,
    ids: str | Sequence[str] | None,
    fpc: str | Sequence[str] | None,
) -> DesignStructure:
    """Code a design's columns; ``ids`` and ``fpc`` may list two stages (R ``~psu + ssu``).

    With two stages and an fpc for each, the structure carries the second stage (R's default
    multistage variance); with two stages and no fpc, only the first stage counts (with
    replacement at stage 1: R's variance is then the ultimate-cluster one)."""
    ids_list = [ids] if isinstance(ids, str) or ids is None else list(ids)
    fpc_list = [fpc] if isinstance(fpc, str) or fpc is None else list(fpc)
    ids = ids_list[0]
    fpc = fpc_list[0]
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
        fpc_f = fpc_factors(_fpc_values(data, fpc, stratum, "stratum"), n_psu_h, fpc, "PSUs")
    stage2 = None
    if len(ids_list) == 2 and len(fpc_list) == 2:
        assert ids_list[1] is not None and fpc_list[1] is not None
        stage2 = _stage2(data, psu, ids_list[1], fpc_list[1])
    return DesignStructure(
        psu=psu,
        stratum=stratum,
        psu_stratum=psu_stratum,
        n_psu_h=n_psu_h,
        fpc_f=fpc_f,
        has_fpc=fpc is not None,
        stage2=stage2,
    )
