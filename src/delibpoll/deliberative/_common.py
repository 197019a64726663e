"""What the deliberative comparisons share (inference layer, private module).

Item kinds, category sets and their indicator columns, t tests on per-row df, the design-based
adjusted Wald test, the minimum detectable difference, the descriptive note every tier
comparison carries and the read-only view of result contents. The names here are public
within the :mod:`delibpoll.deliberative` subpackage (used by its sibling modules).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._ci import t_quantile, two_sided_p
from .._coding import category_codes
from .._types import ItemKind, values
from .._validation import check_level
from ..exceptions import DelibpollError, DelibpollWarning, SmallSampleWarning

__all__ = [
    "NOTE",
    "WaldTest",
    "adjusted_wald",
    "categories",
    "conf_int_frame",
    "frozen",
    "indicators",
    "item_kind",
    "minimum_detectable_difference",
    "t_test",
    "welch_df",
]

#: The note every tier comparison carries.
NOTE = (
    "Descriptive, non-randomised comparison: Tier 1 participants were not randomly assigned "
    "to deliberate, so gaps between tiers mix the effect of deliberation with who took part."
)


def item_kind(series: Sequence[pd.Series], kind: ItemKind | None) -> ItemKind:
    """The kind of an item answered in ``series``: ``kind`` if given (checked), else
    categorical for categorical/object/bool columns and numeric 0/1 columns, numeric
    otherwise.

    Parameters
    ----------
    series : sequence of pandas.Series
        The item's columns (e.g. before and after, or both tiers' answers).
    kind : {"categorical", "numeric"} or None
        The caller's choice; None infers it.

    Returns
    -------
    {"categorical", "numeric"}
    """
    if kind is not None:
        if kind not in values(ItemKind):
            raise DelibpollError(f"The 'kind' parameter must be 'categorical' or 'numeric'; got {kind!r}.")
        return kind
    for s in series:
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s):
            return "categorical"
        if not pd.api.types.is_numeric_dtype(s):
            return "categorical"
    answers = pd.concat([s.dropna() for s in series])
    if len(answers) and set(np.unique(answers.to_numpy(dtype=float))) <= {0.0, 1.0}:
        return "categorical"
    return "numeric"


def categories(series: Sequence[pd.Series], names: Sequence[str]) -> list[Hashable]:
    """The one category set of columns that answer the same item.

    Declared categoricals must declare the same set (its first column's order is used);
    otherwise the sorted union of the columns' categories (:func:`~delibpoll._coding.category_codes`),
    with a :class:`DelibpollWarning` for categories missing from a column (their share there
    is 0).

    Parameters
    ----------
    series : sequence of pandas.Series
        The columns.
    names : sequence of str
        Their names, for messages.

    Returns
    -------
    list
        The categories, in order.
    """
    declared = [list(s.cat.categories) for s in series if isinstance(s.dtype, pd.CategoricalDtype)]
    if len(declared) == len(series) and declared:
        first = declared[0]
        for other, name in zip(declared[1:], names[1:], strict=True):
            if set(other) != set(first):
                only_a = [c for c in first if c not in other]
                only_b = [c for c in other if c not in first]
                raise DelibpollError(
                    f"'{names[0]}' and '{name}' have different category sets: {only_a} only in "
                    f"the first, {only_b} only in the second. Recode them to the same "
                    "categories before comparing."
                )
        return first
    sets = [set(category_codes(s)[1]) for s in series]
    union = sorted(set().union(*sets), key=lambda v: (str(type(v)), v))
    for s_set, name in zip(sets, names, strict=True):
        missing = [c for c in union if c not in s_set]
        if missing and len(series) > 1:
            warnings.warn(
                f"Categories {missing} do not occur in '{name}'; their share there is 0.",
                DelibpollWarning,
                stacklevel=3,
            )
    return union


def indicators(s: pd.Series, cats: Sequence[Hashable]) -> np.ndarray:
    """0/1 indicator columns of ``s`` for each category of ``cats`` (missing values match
    none).

    Parameters
    ----------
    s : pandas.Series
        The answers.
    cats : sequence
        The categories, one column each.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(s), len(cats))``.
    """
    out = np.zeros((len(s), len(cats)))
    vals = s.astype(object).to_numpy()
    # missing values (None, NaN, pandas NA of nullable dtypes) match no category; pd.NA
    # would otherwise make the comparison itself NA
    present = ~s.isna().to_numpy()
    for j, c in enumerate(cats):
        out[:, j] = np.array([bool(ok) and bool(v == c) for v, ok in zip(vals, present, strict=True)],
                             dtype=float)
    return out


def frozen(value: Any) -> Any:
    """A read-only view of a result's contents: mappings become ``MappingProxyType``, lists
    tuples, arrays read-only copies (result objects are immutable in fact).

    Parameters
    ----------
    value : object
        A mapping, list, tuple, array or scalar (nested ones are frozen too).

    Returns
    -------
    object
        The read-only view.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        arr = value.copy()
        arr.flags.writeable = False
        return arr
    return value


def t_test(est: np.ndarray, se: np.ndarray, df: float) -> np.ndarray:
    """Two-sided t p-values of ``est / se`` on ``df`` degrees of freedom (NaN where the
    ratio is undefined).

    Parameters
    ----------
    est, se : numpy.ndarray
        Estimates and their standard errors.
    df : float
        Degrees of freedom.

    Returns
    -------
    numpy.ndarray
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return two_sided_p(est / se, df)


def conf_int_frame(
    frame: pd.DataFrame, estimate: str, level: float, func: str, index: str | None = None
) -> pd.DataFrame:
    """t intervals of a result frame's ``estimate`` column from its ``se`` and ``df``
    columns at ``level``: ``estimate -/+ t_{df}(level) se`` (what a result's ``conf_int``
    gives; at the result's own level exactly its stored ``ci_lower``/``ci_upper``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The result's frame, with ``estimate``, ``se`` and ``df`` columns.
    estimate : str
        The column of the estimates.
    level : float
        Confidence level in (0, 1).
    func : str
        The calling method, for messages.
    index : str, optional
        A column of ``frame`` to index the intervals by (e.g. ``category``).

    Returns
    -------
    pandas.DataFrame
        Columns ``ci_lower`` and ``ci_upper``.
    """
    level = check_level(level, func)
    est = frame[estimate].to_numpy(dtype=float)
    se = frame["se"].to_numpy(dtype=float)
    q = np.array([t_quantile(level, float(d)) for d in frame["df"].to_numpy(dtype=float)])
    out = pd.DataFrame({"ci_lower": est - q * se, "ci_upper": est + q * se})
    if index is not None:
        out.index = pd.Index(frame[index].tolist(), name=index)
    return out


def welch_df(v1: np.ndarray, df1: float, v2: np.ndarray, df2: float) -> np.ndarray:
    """Welch-Satterthwaite df of a difference of two independent estimates:
    ``(v_1 + v_2)^2 / (v_1^2 / df_1 + v_2^2 / df_2)``.

    Parameters
    ----------
    v1, v2 : numpy.ndarray
        The variances of the two estimates.
    df1, df2 : float
        Their degrees of freedom.

    Returns
    -------
    numpy.ndarray
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((v1 + v2) ** 2 / (v1**2 / df1 + v2**2 / df2))


@dataclass(frozen=True)
class WaldTest:
    """Result of :func:`adjusted_wald`: the Wald statistic ``wald``, the F ``statistic`` on
    ``(df_num, df_den)`` and its ``p_value``."""

    wald: float
    statistic: float
    df_num: float
    df_den: float
    p_value: float


def adjusted_wald(d: np.ndarray, vcov: np.ndarray, design_df: float) -> WaldTest:
    """Design-based Wald test that ``d = 0`` given its covariance, with R's design-df
    correction (``svychisq(statistic="adjWald")``): ``W = d' V^- d``, ``p`` = rank of ``V``,
    ``F = W (nu - p + 1) / (nu p)`` referred to ``F(p, nu - p + 1)``, ``nu`` the design df.

    The one Wald test of the deliberative comparisons (the omnibus tier comparison and
    representativeness). ``V`` is inverted by ``solve``, or by a pseudo-inverse on its rank
    when it is singular (a category no one chose in either sample). With ``nu - p + 1 <= 0``
    (fewer design df than tested contrasts) the test is undefined: NaN with a
    :class:`SmallSampleWarning`.

    Parameters
    ----------
    d : numpy.ndarray
        The contrasts.
    vcov : numpy.ndarray
        Their covariance.
    design_df : float
        The design degrees of freedom ``nu``.

    Returns
    -------
    WaldTest
    """
    d = np.asarray(d, dtype=float)
    v = np.asarray(vcov, dtype=float)
    if len(d) == 0 or not np.all(np.isfinite(v)) or not np.all(np.isfinite(d)):
        return WaldTest(float("nan"), float("nan"), float(len(d)), float("nan"), float("nan"))
    p_ = int(np.linalg.matrix_rank(v)) if len(d) else 0
    if p_ == 0:
        # no sampling variance at all: defined only when there is no difference either
        same = bool(np.allclose(d, 0.0, atol=1e-12))
        return WaldTest(0.0 if same else float("inf"), 0.0 if same else float("inf"),
                        0.0, float(design_df), 1.0 if same else 0.0)
    if p_ == len(d):
        w = float(d @ np.linalg.solve(v, d))
    else:
        w = float(d @ np.linalg.pinv(v) @ d)
    den = float(design_df) - p_ + 1
    if not den > 0:
        warnings.warn(
            f"A design-based Wald test of {p_} contrasts needs more than {p_ - 1} design "
            f"degrees of freedom; the design has {design_df:.4g}, so the test is undefined "
            "(NaN). Merge categories or test one category at a time.",
            SmallSampleWarning,
            stacklevel=3,
        )
        return WaldTest(w, float("nan"), float(p_), den, float("nan"))
    f_stat = w * den / (float(design_df) * p_)
    return WaldTest(w, f_stat, float(p_), den, float(stats.f.sf(f_stat, p_, den)))


def minimum_detectable_difference(
    n_informed: float,
    n_uninformed: float,
    *,
    p: float = 0.5,
    deff_informed: float = 1.0,
    deff_uninformed: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest difference in proportions a two-sided test detects with the given power.

    ``MDD = (z_{1-alpha/2} + z_{power}) * sqrt(p (1 - p) (deff_1 / n_1 + deff_3 / n_3))``.

    Parameters
    ----------
    n_informed, n_uninformed : float
        Sample sizes of Tier 1 and Tier 3 (positive).
    p : float, default 0.5
        The share the difference is around.
    deff_informed, deff_uninformed : float, default 1.0
        Design effects of the two tiers' estimates.
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Power of the test.

    Returns
    -------
    float

    Examples
    --------
    >>> round(minimum_detectable_difference(100, 4000), 3)
    0.142
    """
    for name, v in (("n_informed", n_informed), ("n_uninformed", n_uninformed)):
        if not v > 0:
            raise DelibpollError(f"The '{name}' parameter must be positive; got {v!r}.")
    if not (0 < p < 1 and 0 < alpha < 1 and 0 < power < 1):
        raise DelibpollError("p, alpha and power must each lie in (0, 1).")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z * np.sqrt(p * (1 - p) * (deff_informed / n_informed + deff_uninformed / n_uninformed)))
