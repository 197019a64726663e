"""Balance of Tier 1 against Tier 3 on covariates, before and after an adjustment:
:func:`balance` (inference layer).

Absolute standardised mean differences (ASMD) per covariate category and the Kish effective
size of Tier 1, the diagnostics a composition adjustment must show. Part of
:mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._stats import kish_deff
from ..design import SurveyDesign, check_design
from ..exceptions import DelibpollError, WeightingWarning
from ._common import categories, indicators

__all__ = ["Balance", "balance"]


@dataclass(frozen=True)
class Balance:
    """Covariate balance of Tier 1 against Tier 3 (see :func:`balance`)."""

    covariates: tuple[str, ...]
    threshold: float
    n_informed: int
    n_eff_before: float
    n_eff_after: float
    balanced: bool
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate category: ``covariate``, ``category``, ``uninformed``
        (Tier 3's weighted share), ``informed`` (Tier 1's share with its design weights),
        ``asmd_before``; with ``adjusted``: ``informed_adjusted``, ``asmd_after``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (f"Balance({len(self.covariates)} covariates, n_eff {self.n_eff_before:.1f} -> "
                f"{self.n_eff_after:.1f}, balanced={self.balanced})\n"
                + self._frame.to_string(index=False))


def _shares(design: SurveyDesign, cov: str, cats: list[Hashable], w: np.ndarray) -> np.ndarray:
    x = indicators(design.column(cov), cats)
    return np.asarray((w @ x) / w.sum())


def balance(
    informed: SurveyDesign,
    uninformed: SurveyDesign,
    covariates: Sequence[str],
    *,
    adjusted: SurveyDesign | None = None,
    threshold: float = 0.1,
    min_n_eff_share: float = 0.3,
) -> Balance:
    """Absolute standardised mean differences between Tier 1 and Tier 3, per covariate
    category, before and (with ``adjusted``) after an adjustment of Tier 1's weights.

    Parameters
    ----------
    informed : SurveyDesign
        Tier 1 with its design (unadjusted) weights.
    uninformed : SurveyDesign
        Tier 3, weighted (the profile Tier 1 is compared with).
    covariates : list of str
        Categorical covariates in both designs.
    adjusted : SurveyDesign, optional
        Tier 1 after the adjustment (same rows, adjusted weights), e.g. raked to Tier 3's
        profile.
    threshold : float, default 0.1
        ASMD above which a category counts as not balanced (the usual rule of thumb).
    min_n_eff_share : float, default 0.3
        Warn when the adjusted Kish effective size falls below this share of Tier 1's n.

    Returns
    -------
    Balance

    Notes
    -----
    For category ``c`` with weighted shares ``p_1`` (Tier 1) and ``p_3`` (Tier 3):
    ``ASMD = |p_1 - p_3| / sqrt((p_1 (1 - p_1) + p_3 (1 - p_3)) / 2)``, the standardised
    difference with the pooled SD of the two unadjusted groups (the same denominator before
    and after, so the two are comparable; 0 when both SDs are 0 and the shares agree). Kish
    effective size ``n_eff = (sum w)^2 / sum w^2``. A :class:`WeightingWarning` is given
    when any ASMD (after the adjustment, or before when there is none) exceeds
    ``threshold``, or the adjusted ``n_eff`` falls below ``min_n_eff_share * n``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign
    >>> from delibpoll.deliberative import balance
    >>> t1 = SurveyDesign(pd.DataFrame({"sex": ["F", "F", "F", "M"]}))
    >>> t3 = SurveyDesign(pd.DataFrame({"sex": ["F", "M"]}))
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     b = balance(t1, t3, ["sex"])
    >>> round(float(b.to_frame()["asmd_before"].iloc[0]), 4)  # 0.25 / sqrt((0.1875 + 0.25) / 2)
    0.5345
    """
    func = "balance"
    informed = check_design(informed, func)
    uninformed = check_design(uninformed, func)
    covs = list(covariates)
    if not covs:
        raise DelibpollError(f"The 'covariates' parameter of {func} must name at least one column.")
    informed.check_columns(covs, "covariates")
    uninformed.check_columns(covs, "covariates")
    if adjusted is not None:
        adjusted = check_design(adjusted, func)
        if adjusted.n != informed.n:
            raise DelibpollError(
                f"The 'adjusted' design of {func} must have Tier 1's rows ({informed.n}); it "
                f"has {adjusted.n}. Pass Tier 1 after reweighting, not another sample."
            )
    w1 = informed.weight_array
    w3 = uninformed.weight_array
    rows = []
    for cov in covs:
        cats = categories([informed.column(cov), uninformed.column(cov)], [cov, cov])
        p1 = _shares(informed, cov, cats, w1)
        p3 = _shares(uninformed, cov, cats, w3)
        sd = np.sqrt((p1 * (1 - p1) + p3 * (1 - p3)) / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            asmd = np.where(sd > 0, np.abs(p1 - p3) / sd, np.where(p1 == p3, 0.0, np.inf))
        fr = pd.DataFrame({"covariate": cov, "category": cats, "uninformed": p3,
                           "informed": p1, "asmd_before": asmd})
        if adjusted is not None:
            pa = _shares(adjusted, cov, cats, adjusted.weight_array)
            with np.errstate(divide="ignore", invalid="ignore"):
                fr["informed_adjusted"] = pa
                fr["asmd_after"] = np.where(sd > 0, np.abs(pa - p3) / sd,
                                            np.where(pa == p3, 0.0, np.inf))
        rows.append(fr)
    frame = pd.concat(rows, ignore_index=True)
    n = informed.n
    n_before = float(n / kish_deff(w1))
    n_after = float(n / kish_deff(adjusted.weight_array)) if adjusted is not None else n_before
    col = "asmd_after" if adjusted is not None else "asmd_before"
    worst = frame[frame[col] > threshold]
    balanced = worst.empty
    if not balanced:
        shown = ", ".join(f"{r.covariate}={r.category} ({getattr(r, col):.2f})"
                          for r in worst.head(5).itertuples())
        warnings.warn(
            f"{func}: {len(worst)} covariate categories have an ASMD above {threshold} "
            f"{'after the adjustment' if adjusted is not None else '(no adjustment)'}: "
            f"{shown}. Tier 1 is not balanced with Tier 3 on them.",
            WeightingWarning, stacklevel=2,
        )
    if adjusted is not None and n_after < min_n_eff_share * n:
        warnings.warn(
            f"{func}: the adjusted Kish effective size of Tier 1 is {n_after:.1f} of {n} "
            f"(below {min_n_eff_share:.0%}); the adjusted comparison rests on few people.",
            WeightingWarning, stacklevel=2,
        )
    return Balance(covariates=tuple(covs), threshold=threshold, n_informed=n,
                   n_eff_before=n_before, n_eff_after=n_after, balanced=balanced, _frame=frame)
