"""Records of weighting steps, as plain data (values layer).

Two kinds of record live here, both frozen, picklable and holding read-only arrays (no
closures, nothing that refers to a design):

- the *calibration records* (:class:`PostStratRecord`, :class:`RakingRecord`,
  :class:`GregRecord`) that the linearised variance needs to account for a calibration step,
  as R's ``svyrecvar`` postStrata elements;
- the *step records* (:class:`RakeStep`, :class:`CalibrateStep`, :class:`PostStratStep`,
  :class:`TrimStep`): everything needed to replay a weighting step on other weight columns
  (replicate weights), which :mod:`delibpoll._replay` does.

It also holds what a design keeps of its weighting without depending on the weighting layer:
:class:`LoggedStep`, the protocol of a log entry (``WeightingStep`` implements it), and
:class:`WeightingReport`, the diagnostics of a step (plain data; re-exported by
:mod:`delibpoll.weighting`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._display import frame_html
from ._format import percent
from ._types import CalFun, Redistribute
from .targets import Targets

__all__ = [
    "RAKING_SWEEPS",
    "CalibrateStep",
    "CalibrationRecord",
    "GregRecord",
    "MarginTarget",
    "PostStratRecord",
    "PostStratStep",
    "RakeStep",
    "RakingRecord",
    "StepRecord",
    "LoggedStep",
    "MarginSources",
    "TrimStep",
    "WeightingReport",
    "readonly",
]


def readonly(a: Any, dtype: Any = None) -> np.ndarray:
    """``a`` as a read-only array: itself when it already is one, else a frozen private copy
    (so nothing that holds the original can change the record)."""
    if (
        isinstance(a, np.ndarray)
        and not a.flags.writeable
        and (a.base is None or (isinstance(a.base, np.ndarray) and not a.base.flags.writeable))
        and (dtype is None or a.dtype == dtype)
    ):
        return a
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return readonly(value)
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    return value


class _Record:
    """Frozen dataclass records: read-only arrays, and picklable without their caches."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, _freeze(getattr(self, f.name)))

    def __getstate__(self) -> dict[str, Any]:
        # only the fields: memoised derived values (cached properties) are rebuilt on use
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self.__post_init__()  # unpickled arrays are writeable: freeze them again


# R's svyrecvar backfits the raking margins with exactly 10 sweeps; we do the same so the
# numbers agree with R (the projection is nearly converged after 10 sweeps in practice).
RAKING_SWEEPS = 10


@dataclass(frozen=True)
class PostStratRecord(_Record):
    """Post-stratification to one (possibly joint) margin."""

    row_cell: np.ndarray
    n_cells: int
    old_w: np.ndarray
    new_w: np.ndarray


@dataclass(frozen=True)
class RakingRecord(_Record):
    """Raking to several margins (R's ``raking`` postStrata element)."""

    row_cell: np.ndarray  # (n,) raking cell
    n_cells: int
    cell_codes: tuple[np.ndarray, ...]  # per margin, (C,) category of each cell
    n_categories: tuple[int, ...]
    cell_counts: np.ndarray  # (C,)
    psw: np.ndarray  # (n,) weights after raking

    @cached_property
    def row_indicator(self) -> sp.csr_matrix:
        """(C x n) sparse map from rows to raking cells."""
        n = len(self.row_cell)
        return sp.csr_matrix((np.ones(n), (self.row_cell, np.arange(n))), shape=(self.n_cells, n))

    @cached_property
    def margin_indicators(self) -> list[sp.csr_matrix]:
        return [
            sp.csr_matrix(
                (np.ones(self.n_cells), (codes, np.arange(self.n_cells))),
                shape=(self.n_categories[m], self.n_cells),
            )
            for m, codes in enumerate(self.cell_codes)
        ]

    @cached_property
    def stacked_indicator(self) -> sp.csr_matrix:
        """(T x C) map from cells to the categories of all margins, stacked."""
        return sp.vstack(self.margin_indicators).tocsr()

    @cached_property
    def cell_order(self) -> np.ndarray:
        """Row order that groups rows by raking cell (stable)."""
        return np.argsort(self.row_cell, kind="stable")

    @cached_property
    def psw_sorted(self) -> np.ndarray:
        """(n, 1) weights in ``cell_order``."""
        return np.ascontiguousarray(self.psw[self.cell_order][:, None])

    @cached_property
    def cell_starts(self) -> np.ndarray:
        """First position of each cell in ``cell_order`` (every cell has rows)."""
        counts = np.bincount(self.row_cell, minlength=self.n_cells)
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)

    @cached_property
    def stacked_dense(self) -> np.ndarray:
        """(T x C) dense map from cells to the categories of all margins."""
        return np.ascontiguousarray(np.asarray(self.stacked_indicator.todense()))

    @cached_property
    def cell_to_rows(self) -> sp.csr_matrix:
        """(n x T) rows' categories in every margin (row i has a 1 for each margin)."""
        return (self.row_indicator.T @ self.stacked_indicator.T).tocsr()

    @cached_property
    def stacked_cross(self) -> np.ndarray:
        """(T x T) rows in category c of one margin and c' of another, all margins."""
        ind = self.stacked_indicator
        return np.asarray((ind.multiply(self.cell_counts) @ ind.T).todense())

    @cached_property
    def margin_bounds(self) -> list[tuple[int, int]]:
        out, start = [], 0
        for k in self.n_categories:
            out.append((start, start + k))
            start += k
        return out

    @cached_property
    def sweep_operator(self) -> np.ndarray:
        """(T x T) linear map from category sums of z to the accumulated category means that
        R's 10 backfitting sweeps subtract (``svyrecvar``: ``z <- z - ave(z, margin)`` for
        each margin in turn). The sweeps are linear in z and act on category sums only, so
        they are run once on the identity and reused for every estimate."""
        cross = self.stacked_cross
        n_cat = np.diag(cross)[:, None]
        sums = np.eye(cross.shape[0])
        acc = np.zeros_like(sums)
        for _ in range(RAKING_SWEEPS):
            for lo, hi in self.margin_bounds:
                current = sums[lo:hi] - cross[lo:hi] @ acc
                acc[lo:hi] += current / n_cat[lo:hi]
        return acc


@dataclass(frozen=True)
class GregRecord(_Record):
    """Calibration with a cell-level model matrix (R's ``greg_calibration``, stage 0)."""

    row_cell: np.ndarray
    x: np.ndarray  # (C, p)
    w0_cell: np.ndarray  # (C,) cell totals of the weights before calibration
    g_cell: np.ndarray  # (C,) adjustment factor g = new / old of each cell
    new_w: np.ndarray  # (n,) calibrated weights


#: A calibration step as the linearised variance needs it.
CalibrationRecord = PostStratRecord | RakingRecord | GregRecord


# ---------------------------------------------------------------------- weighting steps
@dataclass(frozen=True)
class MarginTarget(_Record):
    """A margin matched to the data, as a replay needs it.

    Attributes
    ----------
    cell_code : numpy.ndarray
        ``(C,)`` category index of each weighting cell: the target categories first, then
        data categories kept without a target (``unmatched="keep"``).
    n_categories : int
        Number of categories (targeted and kept).
    shares : numpy.ndarray
        ``(n_target,)`` target shares of the targeted categories.
    """

    cell_code: np.ndarray
    n_categories: int
    shares: np.ndarray

    @property
    def n_target(self) -> int:
        """How many of the categories have a target."""
        return len(self.shares)


@dataclass(frozen=True)
class RakeStep(_Record):
    """A raking step: the weighting cells, the margins and the options of :func:`rake`.

    Attributes
    ----------
    row_cell : numpy.ndarray
        ``(n,)`` weighting cell of each row.
    cell_counts : numpy.ndarray
        ``(C,)`` rows per cell.
    margins : tuple of MarginTarget
        The raking margins.
    total : float
        Sum of the weights after raking.
    max_iter : int
    tol : float
    cap_value : float or None
        Largest weight (the cap times the mean weight), or None.
    """

    method: ClassVar[str] = "rake"
    row_cell: np.ndarray
    cell_counts: np.ndarray
    margins: tuple[MarginTarget, ...]
    total: float
    max_iter: int
    tol: float
    cap_value: float | None


@dataclass(frozen=True)
class CalibrateStep(_Record):
    """A calibration step (:func:`calibrate`): cells, cell model matrix, margins, options.

    Attributes
    ----------
    row_cell : numpy.ndarray
        ``(n,)`` weighting cell of each row.
    cell_counts : numpy.ndarray
        ``(C,)`` rows per cell.
    x : numpy.ndarray
        ``(C, p)`` cell-level model matrix.
    margins : tuple of MarginTarget
    total : float
    calfun : str
        ``"linear"``, ``"raking"`` or ``"logit"``.
    bounds : tuple of float
        ``(L, U)`` bounds on ``g``.
    max_iter : int
    tol : float
    numeric_totals : numpy.ndarray
        ``(q,)`` population totals of the numeric auxiliaries, whose cell values are the last
        ``q`` columns of ``x`` (cells are split by their values); empty without them.
    """

    method: ClassVar[str] = "calibrate"
    row_cell: np.ndarray
    cell_counts: np.ndarray
    x: np.ndarray
    margins: tuple[MarginTarget, ...]
    total: float
    calfun: CalFun
    bounds: tuple[float, float]
    max_iter: int
    tol: float
    numeric_totals: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


@dataclass(frozen=True)
class PostStratStep(_Record):
    """A post-stratification step (:func:`poststratify`).

    Attributes
    ----------
    row_cell : numpy.ndarray
        ``(n,)`` post-stratum (category of the margin) of each row.
    margin : MarginTarget
        The margin, whose categories are the post-strata.
    total : float
    """

    method: ClassVar[str] = "poststratify"
    row_cell: np.ndarray
    margin: MarginTarget
    total: float


@dataclass(frozen=True)
class TrimStep(_Record):
    """A trimming step (:func:`trim`), with its bounds resolved to weights.

    Attributes
    ----------
    lower, upper : float
        Smallest and largest allowed weight (``-inf`` / ``inf`` when not given).
    redistribute : str
        ``"additive"`` or ``"proportional"``.
    strict : bool
    max_iter : int
    """

    method: ClassVar[str] = "trim"
    lower: float
    upper: float
    redistribute: Redistribute
    strict: bool
    max_iter: int


#: Everything a weighting step's replay needs, as data.
StepRecord = RakeStep | CalibrateStep | PostStratStep | TrimStep


class LoggedStep(Protocol):
    """What a design's weighting log holds (a :class:`~delibpoll.WeightingStep`): the step's
    description and its record. The design stores steps without depending on the weighting
    layer; :meth:`apply` replays the step (the weighting layer implements it)."""

    @property
    def method(self) -> str: ...

    @property
    def targets(self) -> Targets | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    @property
    def iterations(self) -> int: ...

    @property
    def converged(self) -> bool: ...

    @property
    def max_error(self) -> float: ...

    @property
    def record(self) -> StepRecord: ...

    def apply(self, row_w: np.ndarray) -> np.ndarray: ...


# ---------------------------------------------------------------------- weighting report
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

_MARGIN_COLUMNS = [
    "variable", "category", "n", "target_share", "unweighted_share",
    "weighted_share_before", "weighted_share_after", "error",
]


@dataclass(frozen=True)
class MarginSources(_Record):
    """What a report's margins table is made from, as plain data; the table itself is built
    only when it is asked for (:meth:`WeightingReport.margins`).

    Attributes
    ----------
    names : tuple of str
        The margins' names.
    categories : tuple of tuple
        Per margin, its categories (targets first, then data categories kept without one).
    shares : tuple of numpy.ndarray
        Per margin, the target shares of its targeted categories.
    cell_codes : tuple of numpy.ndarray
        Per margin, ``(C,)`` the category of each weighting cell.
    cell_counts : numpy.ndarray
        ``(C,)`` rows per cell.
    before, after : numpy.ndarray
        ``(C,)`` cell totals of the weights before and after the step.
    """

    names: tuple[str, ...]
    categories: tuple[tuple[Hashable, ...], ...]
    shares: tuple[np.ndarray, ...]
    cell_codes: tuple[np.ndarray, ...]
    cell_counts: np.ndarray
    before: np.ndarray
    after: np.ndarray

    def __post_init__(self) -> None:
        # the arrays only: names and category labels are plain immutable values
        for name in ("shares", "cell_codes", "cell_counts", "before", "after"):
            object.__setattr__(self, name, _freeze(getattr(self, name)))

    def to_frame(self) -> pd.DataFrame:
        """The margins table (columns as :meth:`WeightingReport.margins`)."""
        before_c, after_c = self.before, self.after
        n = float(self.cell_counts.sum())
        cols: dict[str, list[Any]] = {name: [] for name in _MARGIN_COLUMNS}
        for name, cats, target_shares, codes in zip(
            self.names, self.categories, self.shares, self.cell_codes, strict=True
        ):
            n_cat = len(cats)
            target = np.full(n_cat, np.nan)
            target[: len(target_shares)] = target_shares  # no target: NaN (and NaN error)
            counts = np.bincount(codes, weights=self.cell_counts, minlength=n_cat)
            before = np.bincount(codes, weights=before_c, minlength=n_cat) / before_c.sum()
            after = np.bincount(codes, weights=after_c, minlength=n_cat) / after_c.sum()
            cols["variable"] += [name] * n_cat
            cols["category"] += [
                "|".join(str(c) for c in cat) if isinstance(cat, tuple) else cat for cat in cats
            ]
            cols["n"].append(np.rint(counts).astype(np.int64))
            cols["target_share"].append(target)
            cols["unweighted_share"].append(counts / n)
            cols["weighted_share_before"].append(before)
            cols["weighted_share_after"].append(after)
            cols["error"].append(after - target)
        if not self.names:  # no margins (trimming an unweighted design): an empty table
            return pd.DataFrame([], columns=_MARGIN_COLUMNS)
        data: dict[str, Any] = {"variable": cols["variable"], "category": cols["category"]}
        for key in _MARGIN_COLUMNS[2:]:
            data[key] = np.concatenate(cols[key])
        return pd.DataFrame(data)  # columns in _MARGIN_COLUMNS order


@dataclass(frozen=True)
class WeightingReport:
    """Diagnostics of a weighting step.

    Attributes
    ----------
    method : str
    iterations : int
    converged : bool
    max_margin_error : float
        Largest absolute difference between a weighted share and its target share.
    n : int
    weight_sum : float
    kish_deff : float
        ``n * sum(w^2) / sum(w)^2``.
    kish_n_eff : float
        ``n / kish_deff``.
    weight_min, weight_max, weight_ratio : float
    quantiles : dict
        Weight quantiles at 1, 5, 25, 50, 75, 95 and 99 percent.

    Notes
    -----
    The margins table (:meth:`margins`) is built from the step's cells the first time it is
    asked for (by :meth:`margins`, ``str()`` or the notebook view), not when the weights are
    made: weighting at interactive speed does not pay for a table nobody reads.
    """

    method: str
    iterations: int
    converged: bool
    max_margin_error: float
    n: int
    weight_sum: float
    kish_deff: float
    kish_n_eff: float
    weight_min: float
    weight_max: float
    weight_ratio: float
    _margins: pd.DataFrame | MarginSources = field(repr=False, compare=False)
    _weights: np.ndarray = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_weights", readonly(self._weights))
        if isinstance(self._margins, pd.DataFrame):
            object.__setattr__(self, "_margins", self._margins.copy())

    @classmethod
    def of(
        cls, margins: pd.DataFrame | MarginSources, weights: np.ndarray, **stats: Any
    ) -> WeightingReport:
        """A report from its margins table (or what to build it from when asked: a
        :class:`MarginSources`), the weights it describes and its statistics (the attributes
        above, by name); a table and the weights are copied."""
        return cls(**stats, _margins=margins, _weights=weights)

    @property
    def _table(self) -> pd.DataFrame:
        """The margins table, built on first use and kept (not copied: callers copy)."""
        if isinstance(self._margins, MarginSources):
            object.__setattr__(self, "_margins", self._margins.to_frame())
        table = self._margins
        assert isinstance(table, pd.DataFrame)
        return table

    @property
    def quantiles(self) -> dict[float, float]:
        """Weight quantiles at 1, 5, 25, 50, 75, 95 and 99 percent (computed on access)."""
        qs = np.quantile(self._weights, _QUANTILES)
        return {q: float(v) for q, v in zip(_QUANTILES, qs, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """Summary statistics, one row each: ``statistic``, ``value``."""
        rows: list[tuple[str, float]] = [
            ("iterations", float(self.iterations)),
            ("converged", float(self.converged)),
            ("max_margin_error", self.max_margin_error),
            ("n", float(self.n)),
            ("weight_sum", self.weight_sum),
            ("kish_deff", self.kish_deff),
            ("kish_n_eff", self.kish_n_eff),
            ("weight_min", self.weight_min),
            ("weight_max", self.weight_max),
            ("weight_ratio", self.weight_ratio),
        ]
        rows += [(f"weight_q{round(q * 100):02d}", v) for q, v in self.quantiles.items()]
        return pd.DataFrame(rows, columns=["statistic", "value"])

    def margins(self) -> pd.DataFrame:
        """Per weighting variable and category: target share, unweighted sample share,
        weighted share before and after this step, and the error after.

        Columns: ``variable, category, n, target_share, unweighted_share,
        weighted_share_before, weighted_share_after, error``.
        """
        return self._table.copy()

    def __str__(self) -> str:
        status = "converged" if self.converged else "NOT converged"
        lines = [
            f"Weighting report ({self.method}, {status} after {self.iterations} iterations)",
            f"  n = {self.n}, sum of weights = {self.weight_sum:,.6g}",
            (f"  max margin error = {self.max_margin_error:.3g}"
             if np.isfinite(self.max_margin_error) else "  max margin error: no targets"),
            f"  Kish design effect = {self.kish_deff:.4f}, effective n = {self.kish_n_eff:.1f}",
            f"  weights: min {self.weight_min:.4g}, max {self.weight_max:.4g}, "
            f"ratio {self.weight_ratio:.4g}",
        ]
        if len(self._table):
            m = self._table
            lines.append("")
            lines.append(
                m.assign(
                    target_share=(100 * m["target_share"]).round(2),
                    unweighted_share=(100 * m["unweighted_share"]).round(2),
                    weighted_share_after=(100 * m["weighted_share_after"]).round(2),
                )[
                    ["variable", "category", "n", "target_share", "unweighted_share",
                     "weighted_share_after"]
                ].rename(
                    columns={
                        "target_share": "target %",
                        "unweighted_share": "sample %",
                        "weighted_share_after": "weighted %",
                    }
                ).to_string(index=False)
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The summary and the margins in fixed notation (iterations as "7", shares in %)."""
        head = frame_html(self.to_frame(), caption=f"Weighting report ({self.method})")
        m = self._table
        shown = pd.DataFrame({
            "variable": m["variable"], "category": m["category"].astype(str),
            "n": m["n"].astype(int),
            "target %": [percent(v, 2, unit="") for v in m["target_share"]],
            "sample %": [percent(v, 2, unit="") for v in m["unweighted_share"]],
            "weighted %": [percent(v, 2, unit="") for v in m["weighted_share_after"]],
        })
        return head + frame_html(shown, caption="Margins: target, sample and weighted shares")
