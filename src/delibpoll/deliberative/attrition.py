"""Attrition between the two Tier 1 surveys: :func:`attrition` (inference layer).

Participants who answer before deliberation but not after are not missing at random. The
complete-case change uses only the people who answered both times; the attrition-adjusted
change reweights them (raking, the package's :func:`~delibpoll.rake`) to the profile of
everyone who answered before, on covariates and on their pre-deliberation answers. Part of
:mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._stats import kish_deff
from .._validation import check_level
from ..design import SurveyDesign, check_design
from ..estimation import proportion
from ..exceptions import DelibpollError, DelibpollWarning
from ..weighting import rake
from ._common import frozen
from ._means import group_gaps, mean_rows

__all__ = ["Attrition", "AttritionWarning", "attrition"]


class AttritionWarning(DelibpollWarning):
    """Attrition between the two Tier 1 surveys is large or related to the pre answers."""


@dataclass(frozen=True)
class Attrition:
    """Complete-case and attrition-adjusted change (see :func:`attrition`)."""

    before: str
    after: str
    level: float
    n_before: int
    n_complete: int
    rate: float
    adjustment: Mapping[str, Any]
    warnings: tuple[str, ...]
    _frame: pd.DataFrame = field(repr=False)
    _rates: pd.DataFrame = field(repr=False)
    _pre_gap: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``estimate_of`` ("complete_case", and "attrition_adjusted" when there is
        something to rake on), ``measure`` ("before", "after", "change" of the completers),
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``p_value``, ``n``,
        ``n_eff`` (Kish)."""
        return self._frame.copy()

    def rate_frame(self) -> pd.DataFrame:
        """Attrition rate (share of pre respondents with no post answer), overall and by each
        covariate's categories: ``variable``, ``category``, ``rate``, ``ci_lower``,
        ``ci_upper``, ``n``."""
        return self._rates.copy()

    def pre_gap_frame(self) -> pd.DataFrame:
        """Mean pre answer of completers and of drop-outs and the gap (drop-outs minus
        completers) with its design-based SE, CI and p-value."""
        return self._pre_gap.copy()

    def __repr__(self) -> str:
        return (f"Attrition({self.before} -> {self.after}: {self.n_complete} of "
                f"{self.n_before} answered both, attrition {self.rate:.1%})\n"
                + self._frame.to_string(index=False))


def _pre_bins(s: pd.Series, max_categories: int) -> pd.Series:
    """The pre answer as raking categories: its values when there are at most
    ``max_categories`` of them, else quartiles."""
    if s.dropna().nunique() <= max_categories:
        return s.astype(object)
    return pd.qcut(s, 4, duplicates="drop").astype(object)


def _rows_design(design: SurveyDesign, rows: np.ndarray, extra: Mapping[str, pd.Series]) -> SurveyDesign:
    """A design of some rows of ``design`` (its current weights, strata, clusters and fpc;
    R ``svydesign`` on those rows), with ``extra`` columns added."""
    wname = "_attrition_weight"
    cols: dict[str, pd.Series | np.ndarray] = {wname: design.weight_array, **extra}
    data = design.with_columns(cols).select([*design.columns, *cols])
    data = data.loc[:, ~data.columns.duplicated(keep="last")]
    ids = [c for c, _ in design.stages] or None
    fpcs = [f for _, f in design.stages if f is not None] or None
    return SurveyDesign(data.iloc[rows], weights=wname, strata=design.strata, ids=ids,
                        fpc=fpcs if ids else design.fpc, lonely_psu=design.lonely_psu)


def attrition(
    design: SurveyDesign,
    before: str,
    after: str,
    *,
    adjust_for: Sequence[str] = (),
    adjust_pre: bool = True,
    level: float = 0.95,
    max_rate: float = 0.2,
    max_categories: int = 5,
) -> Attrition:
    """Change among completers, and reweighted for attrition between the two Tier 1 surveys.

    Parameters
    ----------
    design : SurveyDesign
        Tier 1, one row per person who was invited to both surveys (clustered by discussion
        group where known); ``after`` is missing for those who did not answer after.
    before, after : str
        Numeric answers (a score, a scale, 0/1) before and after.
    adjust_for : list of str, default ()
        Categorical covariates (no missing values among pre respondents) on which completers
        are raked to the profile of all pre respondents; the rates are also given by them.
    adjust_pre : bool, default True
        Also rake on the pre answer (its values, or quartiles when it has more than
        ``max_categories`` values): completers then have the pre-answer profile of everyone.
    max_rate : float, default 0.2
        Warn (:class:`AttritionWarning`) when more than this share of pre respondents did not
        answer after.
    max_categories : int, default 5

    Returns
    -------
    Attrition

    Notes
    -----
    Complete case: ``mean(after - before)`` over people with both answers (R ``svymean`` on
    the completers' design). Adjusted: the completers' design (same weights, strata,
    clusters and fpc) is raked to the weighted shares among pre respondents of each
    ``adjust_for`` covariate and of the pre answer; means and their raking-aware linearised
    SEs follow (R ``rake`` then ``svymean``); the profile is treated as fixed. The gap in the
    pre answer between drop-outs and completers is the test of "related to the pre answers"
    (R ``svyby`` + ``svycontrast``); a warning is given when its p-value is below 0.05. The
    adjustment assumes attrition is random given the adjustment variables; it is a
    descriptive correction, not a guarantee.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, attrition
    >>> df = pd.DataFrame({"pre": [1, 2, 3, 4, 5, 6], "post": [2, 3, 3, 5, None, 7]})
    >>> res = attrition(SurveyDesign(df), "pre", "post", adjust_pre=False)
    >>> float(res.to_frame()["estimate"].iloc[2])  # complete-case change: (1+1+0+1+1)/5
    0.8
    """
    func = "attrition"
    design = check_design(design, func)
    level = check_level(level, func)
    cov = list(adjust_for)
    design.check_columns([before, after, *cov], "before/after/adjust_for")
    if not 0 < max_rate < 1:
        raise DelibpollError(f"The 'max_rate' parameter of {func} must lie in (0, 1); got {max_rate!r}.")
    b = pd.to_numeric(design.column(before), errors="coerce")
    a = pd.to_numeric(design.column(after), errors="coerce")
    for name, raw, num in ((before, design.column(before), b), (after, design.column(after), a)):
        if (raw.notna() & num.isna()).any():
            raise DelibpollError(
                f"{func} needs numeric answers in '{name}' (a score, a scale or 0/1); it has "
                "non-numeric values. Code a categorical answer as 0/1 indicators first."
            )
    w = design.weight_array
    pre = b.notna().to_numpy() & (w != 0)
    comp = pre & a.notna().to_numpy()
    n_pre, n_comp = int(pre.sum()), int(comp.sum())
    if n_comp < 2:
        raise DelibpollError(
            f"{func} needs at least 2 people with both '{before}' and '{after}'; found {n_comp}."
        )
    for c in cov:
        if design.column(c)[pre].isna().any():
            raise DelibpollError(
                f"Adjustment covariate '{c}' of {func} has missing values among pre "
                "respondents; recode them to a category first."
            )
    notes: list[str] = []
    # attrition rates, overall and by covariate, through proportion()
    status = pd.Series(pd.Categorical(np.where(comp, "answered after", "dropped out"),
                                      categories=["dropped out", "answered after"]),
                       index=design.index).where(pre)
    sname = "_attrition_status"
    work = design.with_columns({sname: status})
    rrows = []
    for by in [None, *cov]:
        fr = proportion(work, sname, by=by, level=level, na="drop").to_frame()
        fr = fr[fr["category"] == "dropped out"]
        for _, r in fr.iterrows():
            rrows.append({"variable": by or "all", "category": r[by] if by else "all",
                          "rate": r["estimate"], "ci_lower": r["ci_lower"],
                          "ci_upper": r["ci_upper"], "n": int(r["n"])})
    rates = pd.DataFrame(rrows)
    rate = float(rates["rate"].iloc[0])
    if rate > max_rate:
        notes.append(f"{rate:.1%} of the {n_pre} people who answered '{before}' did not answer "
                     f"'{after}' (more than {max_rate:.0%}); the complete-case change may be "
                     "biased.")
    # pre answers of drop-outs against completers
    pre_gap = pd.DataFrame()
    if n_pre > n_comp:
        gname = "_attrition_group"
        gwork = design.with_columns({gname: pd.Series(
            pd.Categorical(np.where(comp, "answered after", "dropped out"),
                           categories=["answered after", "dropped out"]),
            index=design.index).where(pre)})
        pre_gap = group_gaps(gwork, [before], np.where(pre, b.to_numpy(dtype=float, na_value=0.0), 0.0),
                             gname, level, func).drop(columns="by")
        p = float(pre_gap["gap_p_value"].iloc[1])
        if p < 0.05:
            notes.append(f"Drop-outs answered '{before}' differently from completers (gap "
                         f"{pre_gap['gap'].iloc[1]:.3g}, p = {p:.3g}): attrition is related to "
                         "the pre answers.")
    for msg in notes:
        warnings.warn(f"{func}: {msg}", AttritionWarning, stacklevel=2)
    # complete case
    bb = np.where(comp, b.to_numpy(dtype=float, na_value=0.0), 0.0)
    aa = np.where(comp, a.to_numpy(dtype=float, na_value=0.0), 0.0)
    keep = np.flatnonzero(comp)
    cdes = _rows_design(design, keep, {})
    yc = np.column_stack([bb, aa, aa - bb])[keep]
    rows = []
    cc = mean_rows(cdes, ["before", "after", "change"], yc, level)
    cc.insert(0, "estimate_of", "complete_case")
    cc["n_eff"] = n_comp / kish_deff(w[keep])
    rows.append(cc)
    adjustment: dict[str, Any] = {}
    rake_on = list(cov)
    extra: dict[str, pd.Series] = {}
    if adjust_pre:
        pname = "_attrition_pre"
        extra[pname] = _pre_bins(b.where(pre), max_categories)
        rake_on.append(pname)
    if rake_on:
        profile = _rows_design(design, np.flatnonzero(pre), extra).profile(rake_on)
        cdes2 = _rows_design(design, keep, extra)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DelibpollWarning)
                raked = rake(cdes2, profile, max_iter=2000, on_nonconvergence="warn")
        except DelibpollError as exc:
            raise DelibpollError(
                f"{func}: the completers cannot be raked to the pre respondents' profile on "
                f"{rake_on} ({exc}). A category with no completers cannot be reweighted: "
                "merge small categories, or set adjust_pre=False."
            ) from None
        ad = mean_rows(raked, ["before", "after", "change"], yc, level)
        ad.insert(0, "estimate_of", "attrition_adjusted")
        n_eff = n_comp / kish_deff(raked.weight_array)
        ad["n_eff"] = n_eff
        rows.append(ad)
        adjustment = {"variables": [v if v != "_attrition_pre" else f"{before} (pre answer)"
                                    for v in rake_on],
                      "method": "raking of completers to the weighted profile of all pre "
                                "respondents (profile treated as fixed)",
                      "n_eff": n_eff}
    frame = pd.concat(rows, ignore_index=True)
    return Attrition(before=before, after=after, level=level, n_before=n_pre, n_complete=n_comp,
                     rate=rate, adjustment=frozen(adjustment), warnings=tuple(notes),
                     _frame=frame, _rates=rates, _pre_gap=pre_gap)
