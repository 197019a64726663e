"""A sample's profile against population targets: :func:`representativeness` (inference
layer).

Part of :mod:`delibpoll.deliberative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._display import frame_html
from .._format import p_value
from .._ratios import ratio_estimates
from ..design import SurveyDesign, check_design
from ..exceptions import DelibpollError
from ..targets import Targets
from ._common import adjusted_wald, indicators

__all__ = ["Representativeness", "representativeness"]


@dataclass(frozen=True)
class Representativeness:
    """Sample profile against targets (see :func:`representativeness`)."""

    _tests: pd.DataFrame = field(repr=False)
    _frame: pd.DataFrame = field(repr=False)

    @property
    def tests(self) -> pd.DataFrame:
        """One row per margin and test: ``variable``, ``test``, ``statistic``, ``df_num``,
        ``df_den``, ``p_value`` (a copy)."""
        return self._tests.copy()

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``variable``, ``category``, ``n``, ``unweighted_share``,
        ``weighted_share``, ``target_share``, ``difference`` (weighted - target),
        ``std_difference`` (difference / sqrt(target (1 - target)))."""
        return self._frame.copy()

    def _repr_html_(self) -> str:
        """The profile and its tests in fixed notation, p-values as "<0.001"."""
        return (frame_html(self._frame, caption="Representativeness: sample against targets")
                + frame_html(self._tests, caption="Tests", formats={"p_value": p_value}))

    def __repr__(self) -> str:
        return "Representativeness\n" + self._frame.to_string(index=False) + "\n" + self._tests.to_string(index=False)


def representativeness(design: SurveyDesign, targets: Targets) -> Representativeness:
    """Each margin of ``targets``: the sample's unweighted and weighted shares against the
    target shares, with a goodness-of-fit test per variable.

    Joint margins (``"sex|age_group"``) are compared cell by cell: ``variable`` is the
    margin's name and ``category`` the tuple of the crossed categories, tested like any
    other margin. Rows with a missing value in a margin's variables are left out of that
    margin.

    ``targets`` may come from ``tier3.profile([...])`` to compare Tier 1 with
    Tier 3. Tests (``.tests``): Pearson chi-square of the unweighted counts against the
    target shares (scipy ``chisquare``), and a design-based Wald test of the weighted shares
    using their design covariance, scaled as R's ``adjWald``: ``F = W (nu - p + 1) / (nu p)``
    on ``(p, nu - p + 1)`` df, with ``p = k - 1`` and ``nu`` the design df.
    """
    design = check_design(design, "representativeness")
    if not isinstance(targets, Targets):
        raise DelibpollError("representativeness needs Targets (e.g. design.profile(...)).")
    rows = []
    tests = []
    for m in targets.margins:
        var = m.name
        design.check_columns(list(m.variables), "targets")
        cats = list(m.categories)
        if len(m.variables) == 1:
            s = design.column(m.variables[0])
            valid = s.notna().to_numpy()
        else:
            # a joint margin: its cells are the combinations of the crossed variables
            parts = [design.column(v) for v in m.variables]
            valid = np.logical_and.reduce([p.notna().to_numpy() for p in parts])
            combos = list(zip(*[p.astype(object).to_numpy() for p in parts], strict=True))
            s = pd.Series([c if ok else None for c, ok in zip(combos, valid, strict=True)],
                          index=design.index, dtype=object)
        y = indicators(s, cats)
        outside = valid & (y.sum(axis=1) == 0)
        if outside.any():
            extra = sorted({str(v) for v in s[outside]})
            raise DelibpollError(
                f"'{var}' has categories {extra} with no target; add them to the targets."
            )
        vm = valid.astype(float)[:, None]
        est, vcov, _ = ratio_estimates(design, y * vm, np.repeat(vm, len(cats), axis=1))
        n = y[valid].sum(axis=0)
        total = n.sum()
        for j, c in enumerate(cats):
            t = float(m.shares[j])
            rows.append(
                {
                    "variable": var, "category": c, "n": int(n[j]),
                    "unweighted_share": n[j] / total, "weighted_share": est[j],
                    "target_share": t, "difference": est[j] - t,
                    "std_difference": (est[j] - t) / np.sqrt(t * (1 - t)) if 0 < t < 1 else np.nan,
                }
            )
        expected = m.shares * total
        pearson = stats.chisquare(n, expected)
        wt = adjusted_wald((est - m.shares)[:-1], vcov[:-1, :-1], design.df)
        tests.append(
            {"variable": var, "test": "Pearson chi-square (unweighted counts)",
             "statistic": float(pearson.statistic), "df_num": float(len(cats) - 1),
             "df_den": float("inf"),
             "p_value": float(pearson.pvalue)}
        )
        tests.append(
            {"variable": var, "test": "design-based adjusted Wald F (weighted shares)",
             "statistic": wt.statistic, "df_num": wt.df_num, "df_den": wt.df_den,
             "p_value": wt.p_value}
        )
    return Representativeness(_tests=pd.DataFrame(tests), _frame=pd.DataFrame(rows))
