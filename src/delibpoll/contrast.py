"""Linear contrasts of estimates, using their joint covariance (R ``svycontrast``)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._ci import t_quantile, two_sided_p
from ._validation import check_level
from .estimation import Estimate, read_only
from .exceptions import DelibpollError

__all__ = ["ContrastResult", "contrast"]


@dataclass(frozen=True)
class ContrastResult:
    """Contrasts of an :class:`~delibpoll.Estimate`.

    ``to_frame()`` columns: ``contrast``, ``estimate``, ``se``, ``ci_lower``, ``ci_upper``,
    ``t``, ``p_value``, ``df``.
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

    def to_frame(self) -> pd.DataFrame:
        return self._frame.copy()

    def __repr__(self) -> str:
        return f"ContrastResult(level={self.level})\n" + self._frame.to_string(index=False)

    def _repr_html_(self) -> str:
        return self._frame.to_html(index=False)


def _find(estimate: Estimate, key: Hashable) -> int:
    labels = estimate.labels
    for i, lab in enumerate(labels):
        if lab == key:
            return i
    # a domain label alone when each domain has one row (means, totals)
    matches = [i for i, lab in enumerate(labels) if isinstance(lab, tuple) and lab[0] == key]
    if len(matches) == 1:
        return matches[0]
    raise DelibpollError(
        f"Row key {key!r} is not among the estimate's rows. Available keys: {list(labels)}. "
        "For proportions by domain use (domain, category) tuples."
    )


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
            cmat[r, _find(estimate, key)] += value
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
