"""Linear contrasts of estimates, using their joint covariance (R ``svycontrast``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._arrays import read_only
from ._ci import t_quantile, t_quantiles, two_sided_p
from ._display import frame_html
from ._format import p_value, percent
from ._validation import check_level
from .estimation import Estimate
from .exceptions import DelibpollError

__all__ = ["ContrastResult", "contrast"]


@dataclass(frozen=True)
class ContrastResult:
    """Contrasts of an :class:`~delibpoll.Estimate`.

    ``to_frame()`` columns: ``contrast``, ``estimate``, ``se``, ``ci_lower``, ``ci_upper``,
    ``t``, ``p_value``, ``df``. :meth:`conf_int` recomputes the intervals at another level.
    """

    level: float
    coefficients: Mapping[str, Mapping[Hashable, float]]
    vcov: np.ndarray
    _frame: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        # immutable in fact: read-only mappings and arrays, a private copy of the frame
        object.__setattr__(self, "coefficients", MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in self.coefficients.items()}
        ))
        object.__setattr__(self, "vcov", read_only(self.vcov))
        object.__setattr__(self, "_frame", self._frame.copy())

    def __getstate__(self) -> dict[str, Any]:
        # mapping proxies do not pickle: plain dicts of the same values
        state = dict(self.__dict__)
        state["coefficients"] = {k: dict(v) for k, v in self.coefficients.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def to_frame(self) -> pd.DataFrame:
        """One row per contrast (a copy)."""
        return self._frame.copy()

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals at ``level`` from the stored estimates, standard errors and
        df (``estimate -/+ t(level, df) se``; the numbers :func:`contrast` gives with that
        ``level``).

        Returns
        -------
        pandas.DataFrame
            Columns ``ci_lower`` and ``ci_upper``, indexed by the contrast names.
        """
        level = check_level(level, "ContrastResult.conf_int")
        fr = self._frame
        est = fr["estimate"].to_numpy(dtype=float)
        se = fr["se"].to_numpy(dtype=float)
        q = t_quantiles(level, fr["df"].to_numpy(dtype=float))
        return pd.DataFrame({"ci_lower": est - q * se, "ci_upper": est + q * se},
                            index=pd.Index(fr["contrast"].tolist(), name="contrast"))

    def __repr__(self) -> str:
        return f"ContrastResult(level={self.level})\n" + self._frame.to_string(index=False)

    def _repr_html_(self) -> str:
        """The contrasts in fixed notation, p-values as "<0.001"."""
        return frame_html(self._frame, caption=f"Contrasts ({percent(self.level)} CI)",
                          formats={"p_value": p_value})


def _coefficient(name: object, key: Hashable, wgt: object) -> float:
    """A contrast weight as a finite float, or a clear error naming the contrast and row."""
    if isinstance(wgt, bool) or not isinstance(wgt, int | float | np.integer | np.floating):
        raise DelibpollError(
            f"The weight of row {key!r} in contrast {name!r} must be a number; got {wgt!r} "
            f"({type(wgt).__name__}). Give weights such as {{'a': 1, 'b': -1}}."
        )
    value = float(wgt)
    if not np.isfinite(value):
        raise DelibpollError(
            f"The weight of row {key!r} in contrast {name!r} must be a finite number; got "
            f"{value!r}. Replace NaN or infinite weights by real numbers (0 leaves a row out)."
        )
    return value


def _check_df(df: object) -> float:
    if isinstance(df, bool) or not isinstance(df, int | float | np.integer | np.floating) or not (
        float(df) > 0
    ):
        raise DelibpollError(
            f"The 'df' parameter of contrast must be a positive number (or math.inf for "
            f"normal quantiles). Got {df!r} instead."
        )
    return float(df)


def contrast(
    estimate: Estimate,
    coefficients: Mapping[str, Mapping[Hashable, float]],
    *,
    level: float | None = None,
    df: float | None = None,
) -> ContrastResult:
    """Linear combinations of estimates with standard errors from their joint covariance.

    Parameters
    ----------
    estimate : Estimate
        From :func:`proportion`, :func:`mean` or :func:`total`.
    coefficients : dict
        ``{name: {row_key: weight}}``; a row key is a category, a domain label, or a
        ``(domain, category)`` tuple, as in ``estimate.labels``. Rows not named have
        weight 0.
    level : float, optional
        Confidence level; default the estimate's.
    df : float, optional
        Degrees of freedom for the t statistic and CI; default the design df (R ``degf``).

    Returns
    -------
    ContrastResult

    Notes
    -----
    ``estimate = c' theta``, ``se = sqrt(c' V c)`` with ``V`` the joint covariance, as R
    ``svycontrast`` after ``svyby(..., covmat=TRUE)``; ``t = estimate / se``, two-sided
    p-value from the t distribution on ``df``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, mean, contrast
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 6.0], "g": ["a", "a", "b", "b"]})
    >>> est = mean(SurveyDesign(df), "y", by="g")
    >>> float(contrast(est, {"b - a": {"b": 1, "a": -1}}).to_frame()["estimate"].iloc[0])
    3.0
    """
    if not isinstance(estimate, Estimate):
        raise DelibpollError(
            f"contrast needs an Estimate (from proportion, mean or total); got "
            f"{type(estimate).__name__}."
        )
    if not isinstance(coefficients, Mapping) or not coefficients:
        raise DelibpollError(
            "The 'coefficients' parameter of contrast must be a non-empty dict "
            "{name: {row_key: weight}}."
        )
    lvl = estimate.level if level is None else check_level(level, "contrast")
    dof = estimate.design_df if df is None else _check_df(df)
    k = len(estimate.labels)
    cmat = np.zeros((len(coefficients), k))
    clean: dict[str, dict[Hashable, float]] = {}
    for r, (name, coefs) in enumerate(coefficients.items()):
        if not isinstance(coefs, Mapping) or not coefs:
            raise DelibpollError(
                f"Contrast {name!r} must map row keys to weights, e.g. {{'a': 1, 'b': -1}}."
            )
        clean[str(name)] = {}
        for key, wgt in coefs.items():
            value = _coefficient(name, key, wgt)
            cmat[r, estimate.row_of(key)] += value
            clean[str(name)][key] = value
    theta = estimate.to_frame()["estimate"].to_numpy(dtype=float)
    est = cmat @ theta
    vc = cmat @ estimate.vcov @ cmat.T
    se = np.sqrt(np.clip(np.diag(vc), 0, None))
    q = t_quantile(lvl, dof)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = est / se
    p = two_sided_p(tstat, dof)
    frame = pd.DataFrame(
        {
            "contrast": list(clean),
            "estimate": est,
            "se": se,
            "ci_lower": est - q * se,
            "ci_upper": est + q * se,
            "t": tstat,
            "p_value": p,
            "df": dof,
        }
    )
    return ContrastResult(level=lvl, coefficients=clean, vcov=vc, _frame=frame)
