"""The survey design object: data, sampling weights, strata, clusters and weighting history."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ._coding import category_codes
from ._display import frame_html, readable_number
from ._format import count
from ._frames import DataFrameLike, to_pandas
from ._records import CalibrationRecord, LoggedStep, WeightingReport
from ._replay import replay_replicates
from ._replicate_build import build_replicates, user_replicates
from ._repweights import ReplicateWeights
from ._structure import DesignStructure, build_structure
from ._types import LonelyPSU, ReplicateMethod, ReplicateType, values
from ._validation import validate_weights
from .exceptions import DelibpollError
from .targets import MarginKey, Targets, margin_keys

__all__ = ["CODE_CACHE_COLUMNS", "LonelyPSU", "SurveyDesign", "check_design"]

_T = TypeVar("_T")
_MISSING = object()

# pandas 3 copies on write: a shallow copy of the data is then as safe as a deep one
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3 or bool(
    getattr(pd.options.mode, "copy_on_write", False) is True
)

_LONELY = values(LonelyPSU)

#: The most columns whose category codes a design keeps (least recently used dropped first).
CODE_CACHE_COLUMNS = 64
_CODES = ("codes",)


def _atomic(v: object) -> bool:
    return v is None or isinstance(v, str | bytes | int | float | bool)


def _narrow(n_categories: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer type for codes -1..n_categories-1."""
    if n_categories < 2**7:
        return np.int8
    if n_categories < 2**15:
        return np.int16
    if n_categories < 2**31:
        return np.int32
    return np.int64


def _stage_columns(value: str | Sequence[str] | None, param: str) -> tuple[str, ...]:
    """The stage columns of ``ids=`` / ``fpc=``: one name, or a list of one or two names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
        raise DelibpollError(
            f"The '{param}' parameter must be a column name (str) or a list of one or two "
            f"column names (one per sampling stage); got {value!r}."
        )
    if not 1 <= len(value) <= 2:
        raise DelibpollError(
            f"The '{param}' parameter lists {len(value)} stage(s); delibpoll handles one or "
            f"two sampling stages (R ids=~psu+ssu). Got {list(value)!r}."
        )
    return tuple(value)


class SurveyDesign:
    """A survey design: the data, sampling weights, strata, clusters and how weights were made.

    The design is immutable. Weighting functions (:func:`~delibpoll.rake`,
    :func:`~delibpoll.calibrate`, :func:`~delibpoll.poststratify`, :func:`~delibpoll.trim`)
    return a new design; estimators (:func:`~delibpoll.proportion`, ...) take the design first.

    Parameters
    ----------
    data : pandas.DataFrame or another dataframe
        One row per respondent: a pandas DataFrame, or a Polars, PyArrow, DuckDB or Dask
        frame (converted once, categories in their declared order, else sorted; lazy frames
        are collected: for data bigger than memory use :func:`~delibpoll.scan`). It is copied: later changes to the caller's frame do not
        reach the design, and the design never changes the caller's frame.
    weights : str, optional
        Column of *sampling* weights (inverse selection probabilities, possibly adjusted), not
        frequency weights: a weight of 3 means the respondent stands for 3 population
        members, not that the row was observed 3 times. Default: every weight 1.
    strata : str, optional
        Column of stratum labels.
    ids : str or list of two str, optional
        Column of first-stage cluster (PSU) labels. Clusters are taken as nested in strata.
        Default: every row is its own PSU (``ids=~1`` in R). A two-stage design lists the
        stages, ``ids=["district", "school"]`` (R ``ids=~district+school``): second-stage
        units are nested in the PSUs.
    fpc : str or list of two str, optional
        Finite population correction as in R ``svydesign``: per row, the number of PSUs in
        the population of its stratum, or the sampling fraction when every value is <= 1.
        Must be constant within a stratum. For a two-stage design, one column per stage
        (R ``fpc=~fpc1+fpc2``; the second: population units in the row's PSU, constant
        within a PSU): the variance is then R's multistage estimator, the first-stage term
        plus ``n1/N1`` times the second-stage variance within each PSU. Without an fpc a
        two-stage design's variance is the first stage's (with replacement, as R).
    lonely_psu : {"fail", "remove", "adjust", "average", "certainty"}
        What variance estimation does with a stratum that has a single PSU, with R's
        ``options(survey.lonely.psu=)`` meanings. Default ``"fail"`` raises an error.
    repweights : list of str or str, optional
        Replicate weights supplied with the data (R ``svrepdesign``): a list of columns, or a
        regular expression searched in the column names (R ``grep``), e.g. ``r"repwt_\\d+"``.
        Variances then come from the replicates (see :meth:`with_replicates` to build them).
        Missing, infinite or negative replicate weights are errors.
    rep_type : ReplicateType, default "bootstrap"
        How the replicates were made: "bootstrap", "subbootstrap", "jk1", "jkn", "brr", "fay",
        "successive-difference", "acs", "jk2" or "other". It sets R's default ``scale`` and
        ``rscales``: bootstrap
        ``1/(R-1)``; jk1 ``(R-1)/R`` (guessed, with a warning); jkn needs ``rscales`` with
        combined weights; brr ``1/R``; fay ``1/(R (1 - fay_rho)^2)``; successive-difference and
        acs ``4/R``; jk2 and other 1.
    fay_rho : float, optional
        Fay's perturbation (0 < rho < 1, R ``svrepdesign(type="Fay", rho=)``), required with
        ``rep_type="fay"`` and refused with any other type.
    scale : float, optional
        Overall multiplier of the replicate variance.
    rscales : sequence of float, optional
        Per-replicate multipliers (one per column, or one value for all).
    mse : bool, default False
        Centre the replicate variance at the full-sample estimate (R ``mse=TRUE``).
    combined_weights : bool, default True
        Whether the replicate columns already include the sampling weights (True) or are
        multipliers of them (False), as R ``combined.weights``.

    Attributes
    ----------
    data : pandas.DataFrame
        The data (never mutated).
    weights : pandas.Series
        Current weights, on ``data.index``.
    n : int
        Number of rows.
    weighting_report : WeightingReport or None
        Diagnostics of the last weighting step; None until the design is weighted.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign
    >>> df = pd.DataFrame({"sex": ["Female", "Male", "Male"], "w": [1.0, 2.0, 1.5]})
    >>> d = SurveyDesign(df, weights="w")
    >>> d.n, float(d.weights.sum())
    (3, 4.5)
    """

    __slots__ = (
        "_data",
        "_w",
        "_weights_col",
        "_strata_col",
        "_ids_col",
        "_fpc_col",
        "_stages",
        "_lonely_psu",
        "_structure",
        "_calibration",
        "_log",
        "_report",
        "_replicates",
        "_base_w",
        "_base_constant",
        "_attrs",
        "_cache",
    )

    _data: pd.DataFrame
    _w: np.ndarray
    _base_w: np.ndarray
    _base_constant: list[bool]  # [whether every starting weight is equal], once known
    _weights_col: str | None
    _strata_col: str | None
    _ids_col: str | None
    _fpc_col: str | None
    _stages: tuple[tuple[str, str | None], ...]
    _lonely_psu: LonelyPSU
    _structure: DesignStructure
    _calibration: tuple[CalibrationRecord, ...]
    _log: tuple[LoggedStep, ...]
    _report: WeightingReport | None
    _replicates: ReplicateWeights | None
    _attrs: dict[str, Any]
    _cache: dict[Hashable, Any]  # derived constants (e.g. for variances); reset by _replace

    def __init__(
        self,
        data: DataFrameLike,
        *,
        weights: str | None = None,
        strata: str | None = None,
        ids: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        lonely_psu: LonelyPSU = "fail",
        repweights: list[str] | str | None = None,
        rep_type: ReplicateType = "bootstrap",
        scale: float | None = None,
        rscales: Sequence[float] | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        fay_rho: float | None = None,
    ) -> None:
        data = to_pandas(data, "SurveyDesign")
        if len(data) == 0:
            raise DelibpollError("SurveyDesign got an empty DataFrame (0 rows).")
        if not data.index.is_unique:
            raise DelibpollError(
                "The data's index has duplicate labels, so weights could not be lined up with "
                "rows. Call data.reset_index(drop=True) first."
            )
        if data.columns.duplicated().any():
            dup = list(data.columns[data.columns.duplicated()])
            raise DelibpollError(f"The data has duplicated column names {dup}; rename them.")
        if lonely_psu not in _LONELY:
            raise DelibpollError(
                f"The 'lonely_psu' parameter must be one of {list(_LONELY)}; got {lonely_psu!r}."
            )
        own = data.copy()
        # file metadata (labels, missing codes) lives on the design, not on the frame: pandas
        # deep-copies DataFrame.attrs on every column access, which is slow for large label sets
        # deep: the labels are nested dicts, which the caller's frame must not share. The
        # copy above already deep-copied them (pandas >= 2.1); copied again only if shared
        attrs = dict(own.attrs)
        if any(attrs.get(k) is v for k, v in data.attrs.items() if not _atomic(v)):
            attrs = copy.deepcopy(dict(data.attrs))
        object.__setattr__(self, "_attrs", attrs)
        own.attrs = {}
        object.__setattr__(self, "_data", own)
        object.__setattr__(self, "_lonely_psu", lonely_psu)
        ids_stages = _stage_columns(ids, "ids")
        fpc_stages = _stage_columns(fpc, "fpc")
        if fpc_stages and ids_stages and len(fpc_stages) != len(ids_stages):
            raise DelibpollError(
                f"The 'fpc' parameter gives {len(fpc_stages)} column(s) for "
                f"{len(ids_stages)} sampling stage(s) in 'ids'; give one fpc column per stage "
                f"(R fpc=~fpc1+fpc2), or none."
            )
        if len(fpc_stages) == 2 and not ids_stages:
            raise DelibpollError(
                "The 'fpc' parameter lists two stages but 'ids' is not given; pass "
                "ids=[psu, ssu] for a two-stage design."
            )
        self._check_columns(list(ids_stages) + list(fpc_stages), "ids/fpc")
        ids = ids_stages[0] if ids_stages else None
        fpc = fpc_stages[0] if fpc_stages else None
        for param, col in (("weights", weights), ("strata", strata), ("ids", ids), ("fpc", fpc)):
            if col is not None:
                if not isinstance(col, str):
                    raise DelibpollError(
                        f"The '{param}' parameter must be a column name (str); got {col!r}."
                    )
                self._check_columns([col], param)
        object.__setattr__(self, "_weights_col", weights)
        object.__setattr__(self, "_strata_col", strata)
        object.__setattr__(self, "_ids_col", ids)
        object.__setattr__(self, "_fpc_col", fpc)
        object.__setattr__(self, "_stages", tuple(
            (c, fpc_stages[k] if fpc_stages else None) for k, c in enumerate(ids_stages)
        ))
        if weights is None:
            w = np.ones(len(data))
        else:
            w = validate_weights(self._data[weights], f"weights column '{weights}'")
        w.flags.writeable = False
        object.__setattr__(self, "_w", w)
        object.__setattr__(self, "_base_w", w)
        # shared by every design made from this one (the starting weights are too)
        object.__setattr__(self, "_base_constant", [True] if weights is None else [])
        object.__setattr__(self, "_structure", build_structure(
            self._data, strata, list(ids_stages) or None, list(fpc_stages) or None
        ))
        reps = None
        if repweights is not None:
            reps = user_replicates(
                self._data, repweights, rep_type, scale,
                None if rscales is None else list(rscales), mse, combined_weights, w,
                has_weights=weights is not None, fay_rho=fay_rho,
            )
        elif fay_rho is not None:
            raise DelibpollError(
                f"fay_rho={fay_rho!r} describes supplied Fay replicate weights; give them with "
                "repweights= and rep_type='fay', or build them with "
                "with_replicates('fay', fay_rho=...)."
            )
        object.__setattr__(self, "_calibration", ())
        object.__setattr__(self, "_log", ())
        object.__setattr__(self, "_report", None)
        object.__setattr__(self, "_replicates", reps if repweights is not None else None)
        object.__setattr__(self, "_cache", {})

    # ------------------------------------------------------------------ internal
    def _replace(self, **changes: Any) -> SurveyDesign:
        """A copy with some internal fields replaced (data is shared, never mutated)."""
        new = object.__new__(SurveyDesign)
        for slot in SurveyDesign.__slots__:
            object.__setattr__(new, slot, getattr(self, slot))
        for key, value in changes.items():
            object.__setattr__(new, "_" + key, value)
        cache: dict[Hashable, Any] = {}
        if "data" not in changes:
            # codes depend on the data only: designs on the same frame (weighted, raked,
            # subset weights) share one bounded code cache
            cache[_CODES] = self._codes_cache()
        object.__setattr__(new, "_cache", cache)
        return new

    # an immutable object: copies are the object itself
    def __copy__(self) -> SurveyDesign:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SurveyDesign:
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {slot: getattr(self, slot) for slot in SurveyDesign.__slots__ if slot != "_cache"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        # unpickled arrays are writeable: the weights are read-only again (the weighting log
        # is plain data that replays as it is: nothing is re-run)
        self._w.flags.writeable = False
        self._base_w.flags.writeable = False
        if "_base_constant" not in state:  # pickled before the slot existed
            object.__setattr__(self, "_base_constant", [])
        object.__setattr__(self, "_cache", {})

    def _check_columns(self, cols: Sequence[Hashable], param: str) -> list[Hashable]:
        missing = [c for c in cols if c not in self._data.columns]
        if missing:
            raise DelibpollError(
                f"The '{param}' parameter names column(s) {missing} that are not in the data. "
                f"Available columns: {list(self._data.columns)}."
            )
        return list(cols)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SurveyDesign is immutable; weighting functions return a new one.")

    # ------------------------------------------------------------------ public
    @property
    def data(self) -> pd.DataFrame:
        """The design's data: a copy of the frame it was built from. Changing the returned
        frame does not change the design (with pandas copy-on-write the copy is cheap)."""
        return self._data.copy(deep=not _COPY_ON_WRITE)

    def _codes_cache(self) -> OrderedDict[Hashable, tuple[np.ndarray, list[Hashable]]]:
        cache = self._cache.get(_CODES)
        if cache is None:
            cache = OrderedDict()
            self._cache[_CODES] = cache
        return cache

    def _compact_codes(self, column: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        cache = self._codes_cache()
        hit = cache.get(column)
        if hit is not None:
            cache.move_to_end(column)
            return hit
        s = self._data[column]
        if isinstance(s.dtype, pd.CategoricalDtype):
            # the declared order, as category_codes; pandas already keeps narrow codes
            codes = np.array(s.array.codes, copy=True)
            cats = s.cat.categories.tolist()
        else:
            wide, cats = category_codes(s)
            codes = wide.astype(_narrow(len(cats)))
        if not np.issubdtype(codes.dtype, np.signedinteger):  # pragma: no cover - defensive
            codes = codes.astype(np.int64)
        codes.flags.writeable = False
        hit = (codes, cats)
        cache[column] = hit
        while len(cache) > CODE_CACHE_COLUMNS:
            cache.popitem(last=False)  # least recently used
        return hit

    # ------------------------------------------------------- read-only access for other layers
    @property
    def weight_array(self) -> np.ndarray:
        """Current weights as a read-only numpy array, in row order (no copy)."""
        return self._w

    @property
    def base_weight_array(self) -> np.ndarray:
        """The starting (design) weights before any weighting step, read-only."""
        return self._base_w

    @property
    def base_weights_constant(self) -> bool:
        """Whether every starting weight is the same (known without a pass when the design
        was built without weights; worked out once otherwise, for all designs made from it)."""
        known = self._base_constant
        if not known:
            b = self._base_w
            known.append(bool(b.max() == b.min()))
        return known[0]

    @property
    def columns(self) -> list[Hashable]:
        """Names of the data's columns."""
        return list(self._data.columns)

    @property
    def index(self) -> pd.Index:
        """The data's row index (weights and results line up with it)."""
        return self._data.index

    def column(self, name: Hashable) -> pd.Series:
        """One column of the data (a copy: changing it cannot change the design)."""
        return self._data[name].copy(deep=not _COPY_ON_WRITE)

    def select(self, names: Sequence[Hashable]) -> pd.DataFrame:
        """Some columns of the data, as a new frame (a copy)."""
        return self._data[list(names)].copy(deep=not _COPY_ON_WRITE)

    def check_columns(self, cols: Sequence[Hashable], param: str) -> list[Hashable]:
        """``cols`` if every one is a column of the data, else a DelibpollError naming the
        missing ones and listing the available columns."""
        return self._check_columns(cols, param)

    def column_codes(self, column: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        """Integer codes (-1 missing; int64, read-only) and categories of a column, in the
        package's one category order (:func:`delibpoll._coding.category_codes`).

        The coding is done once and kept compactly (:meth:`compact_codes`); each call hands
        out a fresh int64 copy that is freed with the caller's last reference."""
        codes, cats = self._compact_codes(column)
        out = codes.astype(np.int64)
        out.flags.writeable = False
        return out, list(cats)

    def compact_codes(self, column: Hashable) -> tuple[np.ndarray, list[Hashable]]:
        """The codes of :meth:`column_codes` in the narrowest signed integer type that holds
        them (int8 below 128 categories), read-only and kept with the design (no copy).

        The design keeps the codes of at most :data:`CODE_CACHE_COLUMNS` columns, the least
        recently used dropped first: 1 byte a row per question for typical questions, so a
        long questionnaire or banner never accumulates 8 bytes a row per question."""
        codes, cats = self._compact_codes(column)
        return codes, list(cats)

    def cached_code_columns(self) -> int:
        """How many columns' codes the design keeps (at most :data:`CODE_CACHE_COLUMNS`)."""
        return len(self._codes_cache())

    @property
    def structure(self) -> DesignStructure:
        """Strata, PSUs and fpc coded as integers (read-only)."""
        return self._structure

    @property
    def calibration(self) -> tuple[CalibrationRecord, ...]:
        """The records of the calibration steps (raking, post-stratification, GREG) that the
        linearised variance accounts for, in order."""
        return self._calibration

    @property
    def replicates(self) -> ReplicateWeights | None:
        """The design's replicate weights, or None for a linearised design."""
        return self._replicates

    def derived(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """A constant derived from the design (e.g. for variances), built on first use and
        kept with the design. ``key`` names it; ``build()`` makes it."""
        hit = self._cache.get(key, _MISSING)
        if hit is _MISSING:
            hit = build()
            self._cache[key] = hit
        return hit  # type: ignore[no-any-return]

    def with_columns(self, columns: Mapping[str, pd.Series | np.ndarray]) -> SurveyDesign:
        """A copy whose data has these columns added or replaced (same rows, weights,
        structure and weighting)."""
        for name, col in columns.items():
            if len(col) != self.n:
                raise DelibpollError(
                    f"with_columns: column '{name}' has {len(col)} values; the design has "
                    f"{self.n} rows."
                )
        return self._replace(data=self._data.assign(**columns))

    def without_replicates(self) -> SurveyDesign:
        """A copy whose variances are linearised (its replicate weights dropped)."""
        return self._replace(replicates=None)

    def with_fixed_weights(self, weights: np.ndarray) -> SurveyDesign:
        """A copy with these weights taken as fixed: no calibration for the variance to
        account for and no replicates (the structure and data are kept)."""
        w = np.array(weights, dtype=float)
        if w.shape != (self.n,):
            raise DelibpollError(
                f"with_fixed_weights needs {self.n} weights; got an array of shape {w.shape}."
            )
        w.flags.writeable = False
        return self._replace(w=w, replicates=None, calibration=())

    def reweighted(
        self,
        weights: np.ndarray,
        *,
        step: LoggedStep,
        report: WeightingReport,
        record: CalibrationRecord | None,
        replicates: ReplicateWeights | None,
    ) -> SurveyDesign:
        """A copy after one weighting step: new weights, the step appended to the log, its
        report, its calibration record (for the variance) and the replicates reweighted by
        it. Used by the weighting functions."""
        w = np.array(weights, dtype=float)
        w.flags.writeable = False
        calibration = self._calibration + ((record,) if record is not None else ())
        return self._replace(
            w=w, calibration=calibration, log=self._log + (step,), report=report,
            replicates=replicates,
        )

    def profile(self, variables: Sequence[MarginKey] | MarginKey) -> Targets:
        """The design's weighted distribution of some variables, as share targets.

        Used to reweight one sample (for example deliberation participants) to the weighted
        profile of another (the national survey). Declared categories with no weight are
        dropped from the margin.

        Parameters
        ----------
        variables : str, tuple of str, or list of them
            A column, a tuple of columns (a joint margin), or a list of either.

        Returns
        -------
        Targets
            One share margin per variable, with source "weighted profile of another design".

        Raises
        ------
        DelibpollError
            Unknown columns, or missing values in a variable.

        Examples
        --------
        >>> import pandas as pd
        >>> from delibpoll import SurveyDesign
        >>> df = pd.DataFrame({"sex": ["F", "F", "M"], "w": [1.0, 2.0, 1.0]})
        >>> SurveyDesign(df, weights="w").profile("sex").shares("sex").to_dict()
        {'F': 0.75, 'M': 0.25}
        """
        keys = margin_keys(variables, "SurveyDesign.profile")
        return Targets.from_frame(
            self._data, keys, weights=self._w, source="weighted profile of another design"
        )

    @property
    def attrs(self) -> dict[str, Any]:
        """Metadata of the data it was built from (``DataFrame.attrs``: variable and value
        labels, user-missing codes and reasons from :func:`~delibpoll.read_survey`).

        A deep copy on each access: editing it (or the caller's frame) never changes the
        design, and editing the design's never changes the caller's frame."""
        return copy.deepcopy(self._attrs)

    @property
    def weights(self) -> pd.Series:
        """Current weights as a Series on ``data.index`` (a fresh copy on each access)."""
        return pd.Series(self._w.copy(), index=self._data.index, name="weight")

    @property
    def n(self) -> int:
        """Number of rows (respondents)."""
        return len(self._data)

    @property
    def strata(self) -> str | None:
        """Name of the strata column, or None."""
        return self._strata_col

    @property
    def ids(self) -> str | None:
        """Name of the first-stage cluster (PSU) column, or None."""
        return self._ids_col

    @property
    def stages(self) -> tuple[tuple[str, str | None], ...]:
        """The sampling stages as ``(ids column, fpc column or None)`` pairs, first stage first
        (empty when every row is its own PSU)."""
        return self._stages

    @property
    def fpc(self) -> str | None:
        """Name of the finite population correction column, or None."""
        return self._fpc_col

    @property
    def lonely_psu(self) -> LonelyPSU:
        """How single-PSU strata are handled in variance estimation."""
        return self._lonely_psu

    @property
    def df(self) -> float:
        """Design degrees of freedom: PSUs minus strata (R ``degf``)."""
        if self._replicates is not None:
            return float(self._replicates.df)
        s = self._structure
        return float(len(s.psu_stratum) - len(s.n_psu_h))

    @property
    def weighting_report(self) -> WeightingReport | None:
        """Diagnostics of the last weighting step, or None if the design is unweighted."""
        return self._report

    @property
    def weighting_log(self) -> tuple[LoggedStep, ...]:
        """Every weighting step applied, in order; replayable on other weight columns."""
        return self._log

    @property
    def is_calibrated(self) -> bool:
        """Whether raking, calibration or post-stratification has been applied."""
        return len(self._calibration) > 0

    @property
    def replicate_weights(self) -> pd.DataFrame | None:
        """Replicate (analysis) weights, one column per replicate, or None."""
        if self._replicates is None:
            return None
        w = self._replicates.weights
        return pd.DataFrame(np.array(w, copy=True), index=self._data.index,
                            columns=[f"rep_{i + 1}" for i in range(w.shape[1])])

    def with_replicates(
        self,
        method: ReplicateMethod,
        *,
        n_replicates: int | None = None,
        rng: np.random.Generator | int | None = None,
        mse: bool = False,
        fay_rho: float | None = None,
    ) -> SurveyDesign:
        """A copy with replicate weights, as R ``as.svrepdesign(type=...)``.

        Parameters
        ----------
        method : {"jk1", "jkn", "bootstrap", "subbootstrap", "brr", "fay"}
            Delete-one-PSU jackknife (unstratified designs), stratified jackknife, the
            bootstrap of ``n_h`` PSUs per stratum (R ``type="bootstrap"``: with replacement,
            or without replacement from ``N_h`` copies when the design has an fpc), the
            Rao-Wu bootstrap of ``n_h - 1`` PSUs with replacement, balanced repeated
            replication (``"brr"``, R ``type="BRR"``) or Fay's BRR (``"fay"``, R
            ``type="Fay"``) for designs with exactly two PSUs per stratum. BRR and Fay use R's
            Hadamard matrix for the number of strata (its order is the number of replicates)
            and take no fpc, as R.
        n_replicates : int
            Number of bootstrap replicates (required for the bootstraps; a jackknife has one
            replicate per PSU).
        rng : numpy Generator or int seed, optional
            The only source of randomness of the bootstraps (never numpy's global RNG).
        mse : bool, default False
            Centre the replicate variance at the full-sample estimate instead of the mean of
            the replicates (R ``mse=TRUE``).
        fay_rho : float, optional
            Fay's perturbation, strictly between 0 and 1 (R ``fay.rho``), for ``"fay"`` only:
            the two PSUs of a stratum get multipliers ``2 - rho`` and ``rho``; scale
            ``1 / (R (1 - rho)^2)``.

        Returns
        -------
        SurveyDesign
            A copy whose variances come from the replicates.

        Raises
        ------
        DelibpollError
            Unknown method, JK1 on a stratified design, fewer than 2 PSUs, a single-PSU
            stratum with ``lonely_psu="fail"``, ``n_replicates`` missing for a bootstrap, BRR
            or Fay on a design without strata or with a stratum of other than 2 PSUs, or
            ``fay_rho`` missing or outside (0, 1) for Fay.

        Notes
        -----
        Replicates start from the design's weights before any weighting; the weighting log
        (rake, calibrate, poststratify, trim) is then replayed on all of them at once, so the
        replicates carry the weighting. Degrees of freedom: rank of the replicate weights minus
        one, as R (for a domain, of the domain's rows).

        Examples
        --------
        >>> import pandas as pd
        >>> from delibpoll import SurveyDesign
        >>> df = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "psu": [1, 1, 2, 3]})
        >>> d = SurveyDesign(df, ids="psu").with_replicates("jk1")
        >>> d.replicate_weights.shape, d.df
        ((4, 3), 2.0)
        """
        strata = None if self._strata_col is None else self._data[self._strata_col]
        built = build_replicates(
            self._structure, self._base_w, method, n_replicates, rng,
            lonely_psu=self._lonely_psu, strata=strata, ids=self._ids_col, fay_rho=fay_rho,
        )
        reps = ReplicateWeights(
            weights=built.weights, type=built.type, scale=built.scale,
            rscales=built.rscales, mse=bool(mse),
        )
        for step in self._log:
            reps = replay_replicates(step.record, reps)
        return self._replace(replicates=reps)

    def with_lonely_psu(self, lonely_psu: LonelyPSU) -> SurveyDesign:
        """A copy with another rule for single-PSU strata."""
        if lonely_psu not in _LONELY:
            raise DelibpollError(
                f"The 'lonely_psu' parameter must be one of {list(_LONELY)}; got {lonely_psu!r}."
            )
        return self._replace(lonely_psu=lonely_psu)

    def _repr_html_(self) -> str:
        """What the design holds, as a short table in words and fixed notation."""
        s = self._structure
        w = self._w
        rows: list[tuple[str, str]] = [("Rows", count(self.n))]
        if self._strata_col:
            rows.append(("Strata", f"{self._strata_col} ({count(len(s.n_psu_h))})"))
        if self._ids_col:
            rows.append(("Clusters (PSUs)", f"{self._ids_col} ({count(len(s.psu_stratum))})"))
        if self._fpc_col:
            rows.append(("Finite population correction", self._fpc_col))
        rows.append(("Sum of weights", readable_number(float(w.sum()))))
        rows.append(("Weights from", f"{readable_number(float(w.min()))} to "
                                     f"{readable_number(float(w.max()))}"))
        rows.append(("Design degrees of freedom", readable_number(float(self.df))))
        if self._log:
            rows.append(("Weighted by", " then ".join(step.method for step in self._log)))
        if self._replicates is not None:
            rows.append(("Replicates", f"{self._replicates.n_replicates} {self._replicates.type}"))
        fr = pd.DataFrame(rows, columns=["", "value"])
        return frame_html(fr, caption="Survey design")

    def __repr__(self) -> str:
        s = self._structure
        parts = [f"n={self.n}"]
        if self._strata_col:
            parts.append(f"strata={self._strata_col!r} ({len(s.n_psu_h)})")
        if len(self._stages) == 2:
            ids = [c for c, _ in self._stages]
            parts.append(f"ids={ids!r} ({len(s.psu_stratum)} PSUs)")
        elif self._ids_col:
            parts.append(f"ids={self._ids_col!r} ({len(s.psu_stratum)} PSUs)")
        if len(self._stages) == 2 and self._stages[1][1] is not None:
            parts.append(f"fpc={[f for _, f in self._stages]!r}")
        elif self._fpc_col:
            parts.append(f"fpc={self._fpc_col!r}")
        parts.append(f"weights sum={self._w.sum():,.6g}")
        if self._log:
            parts.append("weighted by " + " -> ".join(step.method for step in self._log))
        if self._replicates is not None:
            parts.append(f"{self._replicates.n_replicates} {self._replicates.type} replicates")
        return f"SurveyDesign({', '.join(parts)})"




def check_design(design: object, func: str) -> SurveyDesign:
    """``design`` if it is a SurveyDesign, else a DelibpollError naming ``func``: the one
    design check of every public function that takes a design."""
    if not isinstance(design, SurveyDesign):
        raise DelibpollError(
            f"{func} needs a SurveyDesign as its first argument; got {type(design).__name__}. "
            "Build one with delibpoll.SurveyDesign(df, weights=...)."
        )
    return design
