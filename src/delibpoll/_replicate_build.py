"""Building replicate weights (kernel layer): jackknife (JK1, JKn), bootstrap
(bootstrap, Rao-Wu subbootstrap), BRR and Fay's BRR as R ``as.svrepdesign``, from a design's structure and base
weights; user-supplied replicate weights as ``svrepdesign``, from the data's columns.

Nothing here takes a design: the design passes its :class:`DesignStructure`, weights and the
columns needed. The design's weighting log is then replayed on all replicate columns at once
(:func:`delibpoll._replay.replay_replicates`), so every replicate carries the raking or
calibration.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from ._hadamard import hadamard
from ._repweights import ReplicateWeights
from ._structure import DesignStructure
from ._types import LonelyPSU, ReplicateMethod, ReplicateType, values
from .exceptions import DelibpollError, DelibpollWarning

__all__ = ["build_replicates", "user_replicates"]

METHODS: tuple[str, ...] = values(ReplicateMethod)
REP_TYPES: tuple[str, ...] = values(ReplicateType)


# ---------------------------------------------------------------------- building replicates
def _psu_order(st: DesignStructure) -> np.ndarray:
    """PSU codes in R's order: strata by first appearance, PSUs by first appearance."""
    n_psu = len(st.psu_stratum)
    first = np.full(n_psu, len(st.psu), dtype=np.int64)
    np.minimum.at(first, st.psu, np.arange(len(st.psu)))
    h_first = np.full(len(st.n_psu_h), len(st.psu), dtype=np.int64)
    np.minimum.at(h_first, st.psu_stratum, first)
    return np.lexsort((first, h_first[st.psu_stratum]))


def _stratum_label(st: DesignStructure, strata: pd.Series | None, h: int) -> object:
    if strata is None:
        return "(all)"
    row = int(np.flatnonzero(st.stratum == h)[0])
    return strata.iloc[row]


def _check_n_replicates(method: str, n_replicates: object) -> int:
    if n_replicates is None:
        raise DelibpollError(
            f"with_replicates('{method}') needs n_replicates, the number of bootstrap "
            "replicates (for example n_replicates=500)."
        )
    if (
        isinstance(n_replicates, bool)
        or not isinstance(n_replicates, int | np.integer)
        or n_replicates < 2
    ):
        raise DelibpollError(
            f"The 'n_replicates' parameter of with_replicates must be an integer >= 2; got "
            f"{n_replicates!r}."
        )
    return int(n_replicates)


def _jackknife(
    st: DesignStructure, method: str, order: np.ndarray, lonely: LonelyPSU,
    strata: pd.Series | None, ids: str | None,
) -> tuple[np.ndarray, float, np.ndarray]:
    psu_stratum, n_h, fpc_f = st.psu_stratum, st.n_psu_h, st.fpc_f
    n_psu = len(psu_stratum)
    h_count = len(n_h)
    if method == "jk1":
        if h_count > 1:
            raise DelibpollError(
                "JK1 (delete-one-PSU jackknife) is for unstratified designs; this design has "
                f"{h_count} strata ('{None if strata is None else strata.name}'). Use method='jkn'."
            )
        if n_psu < 2:
            raise DelibpollError(
                f"A jackknife needs at least 2 PSUs; the design has {n_psu}"
                + (f" (ids='{ids}')." if ids else ".")
            )
        if fpc_f[0] == 0:
            raise DelibpollError(
                "Every PSU of the population is in the sample (the fpc equals the number of "
                "sampled PSUs): there is no sampling variance to replicate."
            )
        mult = np.full((n_psu, n_psu), n_psu / (n_psu - 1))
        mult[order, np.arange(n_psu)] = 0.0
        return mult, float(fpc_f[0] * (n_psu - 1) / n_psu), np.ones(n_psu)
    cols: list[np.ndarray] = []
    rs: list[float] = []
    skipped = 0
    h_seq = psu_stratum[order]
    _, first_idx = np.unique(h_seq, return_index=True)
    for h in h_seq[np.sort(first_idx)]:
        members = order[h_seq == h]
        nh = len(members)
        if fpc_f[h] == 0:
            continue  # fully sampled: no replicates (R's survey.drop.replicates)
        if nh == 1:
            if lonely == "fail":
                raise DelibpollError(
                    f"Stratum {_stratum_label(st, strata, int(h))!r} has only one PSU, so a "
                    "stratified jackknife cannot delete it. Build the design with "
                    "SurveyDesign(..., lonely_psu='adjust') (or 'remove', 'average', "
                    "'certainty'), or merge the stratum with a similar one."
                )
            if lonely == "adjust":
                if h_count < 2:
                    raise DelibpollError("A jackknife needs at least 2 PSUs; the design has 1.")
                cols.append(np.where(psu_stratum == h, 0.0, h_count / (h_count - 1)))
                rs.append((h_count - 1) / h_count)
            else:
                skipped += 1
            continue
        for j in members:
            col = np.ones(n_psu)
            col[members] = nh / (nh - 1)
            col[j] = 0.0
            cols.append(col)
            rs.append(float(fpc_f[h] * (nh - 1) / nh))
    if not cols:
        raise DelibpollError(
            "Every stratum was fully sampled or has a single PSU: a jackknife has no "
            "replicates to build."
        )
    scale = 1.0
    if skipped and lonely == "average":
        scale = n_psu / len(cols)
    return np.column_stack(cols), scale, np.asarray(rs, dtype=float)


def _bootstrap(
    st: DesignStructure, method: str, reps: int, gen: np.random.Generator, rule: LonelyPSU,
    strata: pd.Series | None,
) -> tuple[np.ndarray, float, np.ndarray]:
    psu_stratum, n_h, fpc_f = st.psu_stratum, st.n_psu_h, st.fpc_f
    n_psu = len(psu_stratum)
    nh_psu = n_h[psu_stratum].astype(np.int64)
    if (n_h < 2).all():
        raise DelibpollError(
            "Every stratum has a single PSU, so a bootstrap of PSUs has no variation to "
            "replicate; merge strata or check the 'ids' column."
        )
    # single-PSU strata follow the design's lonely_psu rule, as the linearised variance does
    # (stratum_rule): a fully sampled one adds nothing; otherwise "fail" raises, "remove" and
    # "certainty" keep its PSU in every replicate with multiplier 1 (no variance, as R's
    # bootweights does for any option), "adjust" and "average" have no bootstrap form
    lonely = (n_h == 1) & ~(fpc_f < 1e-7)
    if lonely.any():
        h = int(np.flatnonzero(lonely)[0])
        label = _stratum_label(st, strata, h)
        if rule == "fail":
            raise DelibpollError(
                f"Stratum {label!r} has only one PSU, so the {method} cannot resample it and "
                "its variance cannot be estimated (lonely_psu='fail', as the linearised "
                "variance). Build the design with lonely_psu='remove' or 'certainty' (the "
                "stratum adds no variance, as R's bootweights), use method='jkn' for "
                "'adjust' or 'average', or merge the stratum with a similar one."
            )
        if rule in ("adjust", "average"):
            raise DelibpollError(
                f"Stratum {label!r} has only one PSU and the design's lonely_psu={rule!r} has "
                f"no {method} form (R's bootweights ignores survey.lonely.psu). Use "
                "method='jkn', which applies it as R's jknweights, or lonely_psu='remove' or "
                "'certainty' (the stratum adds no variance)."
            )
    order = np.argsort(psu_stratum, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_h.astype(np.int64))[:-1]])
    # without-replacement strata (design fpc): R samples n_h PSUs from rep(psus, N_h)
    wor = np.zeros(len(n_h), dtype=bool)
    if method == "bootstrap" and st.has_fpc:
        wor = fpc_f < 1
    counts = np.zeros((n_psu, reps))
    slot_h = np.flatnonzero(~wor[psu_stratum[order]])
    if method == "subbootstrap":
        # n_h - 1 draws per stratum: drop the first slot of each stratum
        keep = np.ones(n_psu, dtype=bool)
        keep[start] = False
        slot_h = slot_h[keep[slot_h]]
    if slot_h.size:
        # with replacement: each slot draws a position in its stratum; strata of one size
        # share one call; counted per replicate
        h_of_slot = psu_stratum[order[slot_h]]
        size_of_slot = n_h[h_of_slot].astype(np.int64)
        sizes = np.unique(size_of_slot)
        if len(sizes) == 1:
            pick = gen.integers(0, int(sizes[0]), size=(reps, len(slot_h)))
        else:
            pick = np.empty((reps, len(slot_h)), dtype=np.int64)
            for size in sizes:
                cols = np.flatnonzero(size_of_slot == size)
                pick[:, cols] = gen.integers(0, int(size), size=(reps, len(cols)))
        if np.any(start[h_of_slot]):
            pick += start[h_of_slot][None, :]
        target = pick if np.array_equal(order, np.arange(n_psu)) else order[pick]
        # one bincount per replicate, written into its column: its n_psu bins stay in cache
        # (one bincount over replicate-major bins and a transpose touch every count twice)
        for r in range(reps):
            counts[:, r] = np.bincount(target[r], minlength=n_psu)
    for hh in np.flatnonzero(wor):
        h = int(hh)
        members = order[start[h] : start[h] + int(n_h[h])]
        nh = len(members)
        pop = int(np.floor(nh / (1 - fpc_f[h]) + 1e-8))
        copies = np.full(nh, pop // nh, dtype=np.int64)
        copies[gen.permutation(nh)[: pop % nh]] += 1
        draws = gen.multivariate_hypergeometric(copies, nh, size=reps)
        counts[members] = draws.T
    if method == "subbootstrap":
        with np.errstate(divide="ignore", invalid="ignore"):
            counts *= (nh_psu / (nh_psu - 1))[:, None]
        scale = 1.0 / (reps - 1)
    else:
        per = 1.0 / float(np.mean(1.0 / n_h))
        scale = per / ((per - 1) * (reps - 1))
    # a single-PSU stratum (removed or certain) stays in every replicate with weight 1
    counts[n_h[psu_stratum] == 1] = 1.0
    return counts, float(scale), np.ones(reps)


def check_fay_rho(method: str, fay_rho: object) -> float:
    """The Fay coefficient of ``method`` ("fay": 0 < rho < 1 required; others: none)."""
    if method != "fay":
        if fay_rho is not None:
            raise DelibpollError(
                f"fay_rho={fay_rho!r} applies only to Fay's BRR; use method 'fay' (or "
                f"rep_type='fay') or leave fay_rho out for {method!r}."
            )
        return 0.0
    if (
        fay_rho is None
        or isinstance(fay_rho, bool)
        or not isinstance(fay_rho, int | float | np.integer | np.floating)
        or not 0.0 < float(fay_rho) < 1.0
    ):
        raise DelibpollError(
            f"Fay's BRR needs fay_rho, the perturbation, a number strictly between 0 and 1 "
            f"(R fay.rho; e.g. fay_rho=0.3); got {fay_rho!r}. For plain BRR use 'brr'."
        )
    return float(fay_rho)


def _brr(
    st: DesignStructure, strata: pd.Series | None, rho: float, method: str
) -> tuple[np.ndarray, float, np.ndarray]:
    """PSU multipliers (P x R) of BRR / Fay as R ``brrweights`` (exactly 2 PSUs a stratum).

    Strata are numbered in the order of their labels sorted as character strings (R's
    ``order(as.character(strata))``); stratum ``s`` (1-based) follows row ``1 + s`` of R's
    Hadamard matrix; the PSU met first in the data gets ``2 - rho`` where that row is 1 and
    ``rho`` elsewhere, the other PSU the reverse. Scale ``1 / (R (1 - rho)^2)``."""
    if strata is None:
        raise DelibpollError(
            f"with_replicates({method!r}) needs a stratified design with exactly 2 PSUs per "
            "stratum (R: 'BRR/Fay requires a stratified design'); pass strata= (the "
            "variance strata) and ids= (the PSUs)."
        )
    bad = np.flatnonzero(st.n_psu_h != 2)
    if bad.size:
        labels = [_stratum_label(st, strata, int(h)) for h in bad[:5]]
        counts = [int(st.n_psu_h[h]) for h in bad[:5]]
        raise DelibpollError(
            f"with_replicates({method!r}) needs exactly 2 PSUs in every stratum; stratum "
            f"(strata column {strata.name!r}) {labels} has {counts} PSUs ({bad.size} "
            "stratum(s) in all). Pair the PSUs into variance strata of two first."
        )
    n_h = st.n_strata
    text = [str(_stratum_label(st, strata, h)) for h in range(n_h)]
    rank = np.empty(n_h, dtype=np.int64)
    rank[sorted(range(n_h), key=lambda h: text[h])] = np.arange(n_h)
    h_mat = hadamard(n_h)
    n_rep = h_mat.shape[0]
    first = np.full(st.n_psu, len(st.psu), dtype=np.int64)
    np.minimum.at(first, st.psu, np.arange(len(st.psu)))
    up = np.zeros(st.n_psu, dtype=bool)
    for h in range(n_h):
        pair = np.flatnonzero(st.psu_stratum == h)
        up[pair[np.argmin(first[pair])]] = True
    rows = h_mat[1 + rank[st.psu_stratum]] == 1  # (P, R)
    mult = np.where(rows == up[:, None], 2.0 - rho, rho)
    return mult, 1.0 / (n_rep * (1.0 - rho) ** 2), np.ones(n_rep)


def build_replicates(
    structure: DesignStructure,
    base_weights: np.ndarray,
    method: str,
    n_replicates: int | None,
    rng: np.random.Generator | int | None,
    *,
    lonely_psu: LonelyPSU,
    strata: pd.Series | None = None,
    ids: str | None = None,
    fay_rho: float | None = None,
) -> ReplicateWeights:
    """Replicate weights of a design from its base weights (before its weighting log).

    Multipliers per PSU as R ``jk1weights``, ``jknweights``, ``bootweights``,
    ``subbootweights`` and ``brrweights`` (BRR and Fay, see :func:`_brr`); jackknife replicates in R's column order (strata and PSUs in order
    of first appearance).

    Parameters
    ----------
    structure : DesignStructure
        The design's strata, PSUs and fpc.
    base_weights : numpy.ndarray
        ``(n,)`` the design's weights before any weighting step.
    method : {"jk1", "jkn", "bootstrap", "subbootstrap", "brr", "fay"}
    n_replicates : int or None
        Number of bootstrap replicates (None for a jackknife).
    rng : numpy Generator, int seed or None
        The bootstraps' only source of randomness.
    lonely_psu : str
        The design's rule for single-PSU strata.
    strata : pandas.Series, optional
        The strata column (named), for messages naming a stratum.
    ids : str, optional
        The name of the PSU column, for messages.
    fay_rho : float, optional
        Fay's perturbation (``method="fay"`` only).

    Returns
    -------
    ReplicateWeights
        With ``mse=False``.
    """
    if method not in METHODS:
        raise DelibpollError(
            f"The 'method' parameter of with_replicates must be one of {list(METHODS)}; got "
            f"{method!r}."
        )
    psu = structure.psu
    rho = check_fay_rho(method, fay_rho)
    if method in ("brr", "fay"):
        if n_replicates is not None:
            raise DelibpollError(
                f"BRR has one replicate per column of its Hadamard matrix; "
                f"n_replicates={n_replicates!r} does not apply to method={method!r}. Leave it "
                "out."
            )
        mult, scale, rscales = _brr(structure, strata, rho, method)
    elif method in ("jk1", "jkn"):
        if n_replicates is not None:
            raise DelibpollError(
                f"A jackknife has one replicate per PSU; n_replicates={n_replicates!r} does "
                f"not apply to method={method!r}. Leave it out."
            )
        mult, scale, rscales = _jackknife(
            structure, method, _psu_order(structure), lonely_psu, strata, ids
        )
    else:
        reps = _check_n_replicates(method, n_replicates)
        if rng is not None and not isinstance(rng, np.random.Generator | int | np.integer):
            raise DelibpollError(
                "The 'rng' parameter of with_replicates must be a numpy Generator or an "
                f"integer seed; got {type(rng).__name__}."
            )
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        mult, scale, rscales = _bootstrap(structure, method, reps, gen, lonely_psu, strata)
    weights = mult if np.array_equal(psu, np.arange(len(psu))) else mult[psu]
    if not np.all(base_weights == 1.0):  # (x 1 changes nothing: skip the n x R pass)
        weights *= base_weights[:, None]
    if weights.base is None:
        weights.flags.writeable = False  # built here: handed over without a copy
    return ReplicateWeights(
        weights=weights, type=cast(ReplicateType, method), scale=scale, rscales=rscales,
        mse=False,
    )


# ---------------------------------------------------------------------- supplied with the data
def user_replicates(
    data: pd.DataFrame,
    repweights: Sequence[str] | str,
    rep_type: ReplicateType,
    scale: float | None,
    rscales: Sequence[float] | np.ndarray | None,
    mse: bool,
    combined_weights: bool,
    full_weights: np.ndarray,
    *,
    has_weights: bool = True,
    fay_rho: float | None = None,
) -> ReplicateWeights:
    """Replicate weights supplied with the data, as R ``svrepdesign``.

    ``repweights`` is a list of columns or a regular expression searched in the column names
    (R ``grep``). Default ``scale`` and ``rscales`` per ``rep_type`` are R's.

    Parameters
    ----------
    data : pandas.DataFrame
        The design's data (the replicate columns are read from it).
    repweights : list of str or str
        Replicate columns, or a regular expression.
    rep_type, scale, rscales, mse, combined_weights
        As :class:`~delibpoll.SurveyDesign`.
    full_weights : numpy.ndarray
        ``(n,)`` the full-sample weights.
    has_weights : bool
        Whether sampling weights were given (a warning otherwise).
    fay_rho : float, optional
        Fay's perturbation, required with ``rep_type="fay"`` (scale ``1/(R (1-rho)^2)``).

    Returns
    -------
    ReplicateWeights
    """
    if rep_type not in REP_TYPES:
        raise DelibpollError(
            f"The 'rep_type' parameter of SurveyDesign must be one of {list(REP_TYPES)}; got "
            f"{rep_type!r}. For Fay's BRR use rep_type='fay' with fay_rho=."
        )
    rho = check_fay_rho(rep_type, fay_rho)
    if isinstance(repweights, str):
        try:
            pattern = re.compile(repweights)
        except re.error as exc:
            raise DelibpollError(
                f"The 'repweights' parameter {repweights!r} is not a valid regular expression "
                f"({exc}); pass a list of column names instead."
            ) from None
        cols = [c for c in data.columns if isinstance(c, str) and pattern.search(c)]
        if not cols:
            raise DelibpollError(
                f"No columns match the 'repweights' pattern {repweights!r}. Available "
                f"columns: {list(data.columns)}."
            )
    else:
        if not isinstance(repweights, Sequence) or len(repweights) == 0:
            raise DelibpollError(
                "The 'repweights' parameter must be a non-empty list of column names or a "
                f"regular expression; got {repweights!r}."
            )
        cols = list(repweights)
        dup = sorted({str(c) for c in cols if cols.count(c) > 1})
        if dup:
            raise DelibpollError(
                f"The 'repweights' parameter names column(s) {dup} more than once; list each "
                "replicate column once."
            )
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DelibpollError(
                f"The 'repweights' parameter names column(s) {missing} that are not in the "
                f"data. Available columns: {list(data.columns)}."
            )
    block = data[cols]
    non_num = [c for c in cols if not pd.api.types.is_numeric_dtype(block[c])
               or pd.api.types.is_bool_dtype(block[c])]
    if non_num:
        raise DelibpollError(
            f"Replicate weight column(s) {non_num[:5]} are not numeric; convert them to "
            "numbers (for example with pandas.to_numeric) first."
        )
    w = block.to_numpy(dtype=float, na_value=np.nan)
    nan_cols = [c for c, bad in zip(cols, np.isnan(w).any(axis=0).tolist(), strict=True) if bad]
    if nan_cols:
        raise DelibpollError(
            f"Replicate weight column(s) {nan_cols[:5]} have missing values; every replicate "
            "needs a weight for every row (0 for rows left out of a replicate)."
        )
    inf_cols = [c for c, bad in zip(cols, np.isinf(w).any(axis=0).tolist(), strict=True) if bad]
    if inf_cols:
        raise DelibpollError(f"Replicate weight column(s) {inf_cols[:5]} have infinite values.")
    neg_cols = [c for c, bad in zip(cols, np.any(w < 0, axis=0).tolist(), strict=True) if bad]
    if neg_cols:
        raise DelibpollError(
            f"Replicate weight column(s) {neg_cols[:5]} have negative values; replicate "
            "weights must be zero or positive. Check that these are weights, not "
            "differences from the full-sample weight."
        )
    r = w.shape[1]
    if r < 2:
        raise DelibpollError(
            f"Replicate weights need at least 2 columns; got {r} ({cols}). A regular "
            "expression such as r'repwt_\\d+' selects them all."
        )
    if not has_weights:
        warnings.warn(
            "No sampling weights given with the replicate weights: full-sample estimates use "
            "weight 1 for every row (R svrepdesign assumes the same). Pass weights=.",
            DelibpollWarning,
            stacklevel=4,
        )
    repwt_mean = float(w.mean())
    wt_mean = float(full_weights.mean())
    if combined_weights and repwt_mean < 5 and wt_mean / repwt_mean > 5:
        warnings.warn(
            f"The replicate weights do not look like combined weights (mean replicate weight "
            f"{repwt_mean:.4g}, mean sampling weight {wt_mean:.4g}); if they are multipliers "
            "of the sampling weights, pass combined_weights=False.",
            DelibpollWarning,
            stacklevel=4,
        )
    if not combined_weights and repwt_mean > 5 and wt_mean / repwt_mean < 5:
        warnings.warn(
            f"The replicate weights look like combined weights (mean replicate weight "
            f"{repwt_mean:.4g}, mean sampling weight {wt_mean:.4g}); if they already include "
            "the sampling weights, pass combined_weights=True.",
            DelibpollWarning,
            stacklevel=4,
        )
    rs: np.ndarray | None = None
    if rscales is not None:
        rs = np.atleast_1d(np.asarray(rscales, dtype=float))
        if len(rs) == 1:
            rs = np.full(r, float(rs[0]))
        if len(rs) != r:
            raise DelibpollError(
                f"The 'rscales' parameter has {len(rs)} values for {r} replicate columns; "
                "give one per replicate (or a single value)."
            )
        if not np.all(np.isfinite(rs)) or (rs < 0).any():
            raise DelibpollError("The 'rscales' parameter must hold finite values >= 0.")
    if scale is not None and (
        isinstance(scale, bool) or not isinstance(scale, int | float | np.floating)
        or not np.isfinite(scale) or scale <= 0
    ):
        raise DelibpollError(f"The 'scale' parameter must be a positive number; got {scale!r}.")

    def ignored(what: str) -> None:
        warnings.warn(
            f"rep_type={rep_type!r} fixes the variance multipliers; {what} is ignored, as R's "
            "svrepdesign does.",
            DelibpollWarning,
            stacklevel=5,
        )

    if rep_type in ("bootstrap", "subbootstrap"):
        scale = 1.0 / (r - 1) if scale is None else scale
    elif rep_type == "jk1":
        if scale is None:
            if combined_weights:
                scale = (r - 1) / r
                how = f"n = number of replicates: (n - 1)/n = {scale:.6g}"
            else:
                scale = 1.0 / float(w[:, 0].max())
                how = f"from the weights: 1/max(first replicate) = {scale:.6g}"
            warnings.warn(
                f"JK1 scale (n - 1)/n not given; guessing {how} (as R). Pass scale= "
                "(times the finite population correction, if any).",
                DelibpollWarning,
                stacklevel=4,
            )
    elif rep_type == "jkn":
        if rs is None:
            if combined_weights:
                raise DelibpollError(
                    "rep_type='jkn' with combined weights needs rscales=, one (n_h - 1)/n_h "
                    "per replicate (times 1 - f_h with a finite population correction), as R."
                )
            rs = 1.0 / w.max(axis=0)
            warnings.warn(
                "JKn rscales (n_h - 1)/n_h not given; guessing them from the weights as "
                "1/max per replicate (as R). Pass rscales=.",
                DelibpollWarning,
                stacklevel=4,
            )
    elif rep_type in ("brr", "fay"):
        if scale is not None:
            ignored("scale")
        scale = 1.0 / (r * (1.0 - rho) ** 2)
    elif rep_type in ("successive-difference", "acs"):
        if scale is not None or rs is not None:
            ignored("scale/rscales")
        scale, rs = 4.0 / r, None
    elif rep_type == "jk2":
        if scale is not None or rs is not None:
            ignored("scale/rscales")
        scale, rs = 1.0, None
    elif scale is None or rs is None:  # "other"
        warnings.warn(
            "rep_type='other' without scale= or rscales=: the missing ones are set to 1 (as "
            "R).",
            DelibpollWarning,
            stacklevel=4,
        )
    if rs is None:
        rs = np.ones(r)
    if scale is None:
        scale = 1.0
    if not combined_weights:
        w = w * full_weights[:, None]
    return ReplicateWeights(
        weights=w, type=rep_type, scale=float(scale), rscales=rs, mse=bool(mse)
    )
