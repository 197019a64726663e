"""Control groups: :func:`difference_in_differences` and :func:`possible_comparisons`
(inference layer).

Many Deliberative Polls survey a control group that does not deliberate at the same two
times as the participants. The deliberating group's change minus the control group's change
(difference in differences) removes what changed for everyone between the two surveys. Part
of :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._ci import t_quantile, two_sided_p
from .._validation import check_level
from ..design import SurveyDesign, check_design
from ..exceptions import DelibpollError
from ._common import welch_df
from ._means import mean_rows

__all__ = ["DifferenceInDifferences", "difference_in_differences", "possible_comparisons"]

_COMPARISONS = (
    ("Tier 1 change (after - before)", True, True,
     "the same people twice; describes change, not its cause"),
    ("Tier 1 after - control after", True, True, "descriptive; mixes deliberation and selection"),
    ("Tier 1 before - control before (balance)", True, True,
     "is the control group like the deliberators before deliberation?"),
    ("Control change (after - before)", False, True,
     "what changed for people who did not deliberate (news, the passage of time)"),
    ("Difference in differences (Tier 1 change - control change)", False, True,
     "removes common change; still assumes the groups would have changed alike (parallel "
     "trends) and, without random assignment, remains descriptive"),
)


def possible_comparisons(control_waves: int) -> pd.DataFrame:
    """Which comparisons a Deliberative Poll supports when the control (or Tier 3) sample is
    surveyed ``control_waves`` times (1 or 2).

    Parameters
    ----------
    control_waves : int
        1 when Tier 3 is surveyed once (at the time of Tier 1's before or after survey), 2
        when a control group is surveyed at both times.

    Returns
    -------
    pandas.DataFrame
        Columns ``comparison``, ``possible``, ``note``.

    Examples
    --------
    >>> possible_comparisons(1)["possible"].tolist()
    [True, True, True, False, False]
    """
    if control_waves not in (1, 2) or isinstance(control_waves, bool):
        raise DelibpollError(
            "The 'control_waves' parameter of possible_comparisons must be 1 (Tier 3 surveyed "
            f"once) or 2 (a control group surveyed before and after); got {control_waves!r}."
        )
    rows = [{"comparison": c, "possible": one if control_waves == 1 else two,
             "note": n if (one if control_waves == 1 else two) else
             "needs the control group surveyed at both times"}
            for c, one, two, n in _COMPARISONS]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DifferenceInDifferences:
    """Deliberators' change against a control group's (see :func:`difference_in_differences`)."""

    before: str
    after: str
    level: float
    n_treated: int
    n_control: int
    note: str
    _frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Rows ``quantity``: ``treated_before``, ``treated_after``, ``treated_change``,
        ``control_before``, ``control_after``, ``control_change``, ``balance_before``
        (treated - control before), ``difference_after`` (treated - control after),
        ``difference_in_differences``; columns ``estimate``, ``se``, ``ci_lower``,
        ``ci_upper``, ``df``, ``p_value``, ``n``."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return (f"DifferenceInDifferences({self.before} -> {self.after}: treated n="
                f"{self.n_treated}, control n={self.n_control})\n{self.note}\n"
                + self._frame.to_string(index=False))


def difference_in_differences(
    treated: SurveyDesign,
    control: SurveyDesign,
    before: str,
    after: str,
    *,
    control_before: str | None = None,
    control_after: str | None = None,
    level: float = 0.95,
) -> DifferenceInDifferences:
    """Difference in differences: the deliberators' change minus a control group's change.

    Parameters
    ----------
    treated : SurveyDesign
        The deliberating sample (Tier 1), one row per person with both answers, clustered by
        discussion group where known.
    control : SurveyDesign
        The control sample surveyed at the same two times (its own weights and design).
    before, after : str
        Numeric answers (a score, a scale or 0/1) in ``treated``.
    control_before, control_after : str, optional
        The control sample's columns (default ``before`` and ``after``).
    level : float, default 0.95

    Returns
    -------
    DifferenceInDifferences

    Notes
    -----
    Each sample's change is the weighted mean of the per-person change over people with both
    answers (R ``svymean(~I(after - before))`` on each design), so the pairing and each
    design's clusters, strata and weighting are respected. The samples are independent, so
    ``DiD = c_T - c_C`` has ``se = sqrt(se_T^2 + se_C^2)`` and Welch-Satterthwaite df;
    likewise ``balance_before`` and ``difference_after``. Without random assignment to
    deliberate this remains descriptive: it removes change common to both groups, under the
    assumption that they would otherwise have changed alike.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, difference_in_differences
    >>> t = pd.DataFrame({"pre": [1, 2, 3, 4], "post": [3, 3, 5, 6]})
    >>> c = pd.DataFrame({"pre": [1, 2, 3, 4], "post": [2, 2, 3, 5]})
    >>> res = difference_in_differences(SurveyDesign(t), SurveyDesign(c), "pre", "post")
    >>> float(res.to_frame().set_index("quantity").loc["difference_in_differences", "estimate"])
    1.25
    """
    func = "difference_in_differences"
    treated = check_design(treated, func)
    control = check_design(control, func)
    level = check_level(level, func)
    cb, ca = control_before or before, control_after or after
    parts = {}
    for name, des, b, a in (("treated", treated, before, after), ("control", control, cb, ca)):
        des.check_columns([b, a], f"{name} before/after")
        yb = pd.to_numeric(des.column(b), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ya = pd.to_numeric(des.column(a), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for col, raw, num in ((b, des.column(b), yb), (a, des.column(a), ya)):
            if (raw.notna().to_numpy() & np.isnan(num)).any():
                raise DelibpollError(
                    f"{func} needs numeric answers in the {name} sample's '{col}' (a score, a "
                    "scale or 0/1); code a categorical answer as 0/1 indicators first."
                )
        valid = ~np.isnan(yb) & ~np.isnan(ya)
        if int((valid & (des.weight_array != 0)).sum()) < 2:
            raise DelibpollError(
                f"{func}: the {name} sample needs at least 2 people with both '{b}' and '{a}'."
            )
        y = np.column_stack([np.where(valid, yb, 0), np.where(valid, ya, 0),
                             np.where(valid, ya - yb, 0)])
        fr = mean_rows(des, [f"{name}_before", f"{name}_after", f"{name}_change"], y, level, valid)
        parts[name] = fr
    rows = [parts["treated"], parts["control"]]
    t, c = parts["treated"], parts["control"]
    for q, i in (("balance_before", 0), ("difference_after", 1), ("difference_in_differences", 2)):
        est = float(t["estimate"].iloc[i] - c["estimate"].iloc[i])
        vt, vc = float(t["se"].iloc[i]) ** 2, float(c["se"].iloc[i]) ** 2
        se = float(np.sqrt(vt + vc))
        dfw = float(welch_df(np.array([vt]), float(t["df"].iloc[i]), np.array([vc]),
                             float(c["df"].iloc[i]))[0])
        qt = t_quantile(level, dfw)
        p = float(two_sided_p(np.array([est / se]), dfw)[0]) if se > 0 else float("nan")
        rows.append(pd.DataFrame([{"measure": q, "estimate": est, "se": se,
                                   "ci_lower": est - qt * se, "ci_upper": est + qt * se,
                                   "df": dfw, "p_value": p,
                                   "n": int(t["n"].iloc[i] + c["n"].iloc[i])}]))
    frame = pd.concat(rows, ignore_index=True).rename(columns={"measure": "quantity"})
    note = ("Descriptive, non-randomised comparison unless participants were randomly assigned "
            "to deliberate: the difference in differences removes change common to both "
            "groups, assuming they would otherwise have changed alike.")
    return DifferenceInDifferences(before=before, after=after, level=level,
                                   n_treated=int(t["n"].iloc[2]), n_control=int(c["n"].iloc[2]),
                                   note=note, _frame=frame)
