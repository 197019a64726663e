"""Population targets: validated margins for weighting.

A :class:`Targets` object holds one or more *margins*. A margin is the population
distribution of one variable (``"sex"``) or of a combination of variables
(``("age_group", "sex")``, a joint margin). Each margin is stored as shares that sum to 1,
together with the kind it was given in (shares, percentages or counts). When any margin is
given as counts the population total is known, and every other margin given as counts must
agree with it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ._display import frame_html
from ._format import count, percent
from ._frames import to_pandas
from ._types import TargetKind, values
from .exceptions import DelibpollError, WeightingWarning

__all__ = ["MarginKey", "TargetKind", "Targets", "margin_keys"]

MarginKey = str | tuple[str, ...]

_KINDS: tuple[str, ...] = values(TargetKind)
_SUM_TOL = 1e-6
# percentages rounded to whole numbers can sum to 98.5..101.5 ({33, 33, 33} sums to 99)
PERCENT_ROUNDING = 1.5
JOINT_SEP = "|"
#: The CSV ``kind`` of a numeric column's population total.
NUMERIC_TOTAL = "total"


@dataclass(frozen=True)
class Margin:
    """One validated margin (internal; reach it through :class:`Targets`)."""

    variables: tuple[str, ...]
    categories: tuple[Hashable, ...]
    shares: np.ndarray
    kind: TargetKind
    count_total: float | None
    source: str | None

    def __post_init__(self) -> None:
        # a read-only private copy: targets cannot be edited after weighting with them
        shares = np.array(self.shares, dtype=float, copy=True)
        shares.flags.writeable = False
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "variables", tuple(self.variables))
        object.__setattr__(self, "categories", tuple(self.categories))

    @property
    def key(self) -> MarginKey:
        return self.variables[0] if len(self.variables) == 1 else self.variables

    @property
    def name(self) -> str:
        return JOINT_SEP.join(self.variables)


def _key_to_variables(key: object) -> tuple[str, ...]:
    if isinstance(key, str):
        if JOINT_SEP in key:
            return tuple(part.strip() for part in key.split(JOINT_SEP))
        return (key,)
    if isinstance(key, tuple) and key and all(isinstance(k, str) for k in key):
        return cast(tuple[str, ...], key)
    raise DelibpollError(
        f"A margin key must be a column name (a string) or a tuple of column names; got "
        f"{key!r} ({type(key).__name__}). Use 'sex' for one variable or ('age_group', 'sex') "
        "for a joint margin; rename non-string columns first (df.columns = "
        "df.columns.astype(str))."
    )


def margin_keys(variables: object, func: str) -> list[MarginKey]:
    """``variables`` as a list of margin keys: a column name, a tuple of names (a joint
    margin) or a non-empty list of them; else a DelibpollError naming ``func``."""
    if isinstance(variables, str | tuple):
        return [cast(MarginKey, variables)]
    if isinstance(variables, Sequence) and variables:
        return list(variables)
    raise DelibpollError(
        f"The 'variables' parameter of {func} must be a column name, a tuple of names (a joint "
        f"margin) or a non-empty list of them; got {variables!r}."
    )


def _check_frame_columns(df: pd.DataFrame, cols: Sequence[str], param: str) -> list[str]:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DelibpollError(
            f"The '{param}' parameter names column(s) {missing} that are not in the data. "
            f"Available columns: {list(df.columns)}."
        )
    return list(cols)


def _infer_kind(name: str, values: np.ndarray) -> TargetKind:
    total = float(values.sum())
    if np.all(values <= 1.0):
        if abs(total - 1.0) > _SUM_TOL:
            raise DelibpollError(
                f"Margin '{name}' looks like shares (every value is <= 1) but its shares sum to "
                f"{total:.10g}, not 1. Fix the values, or pass kind='count' if they are counts."
            )
        return "share"
    if np.all(values <= 100.0) and abs(total - 100.0) <= PERCENT_ROUNDING:
        if abs(total - 100.0) > _SUM_TOL * 100:
            warnings.warn(
                f"Margin '{name}' sums to {total:.10g}, not 100: it is read as rounded "
                "percentages and rescaled to sum to 100 (not as counts of a population of "
                f"{total:.10g}). Pass kind='percent' to accept rounded percentages without this "
                "warning, or kind='count' if the values are counts.",
                WeightingWarning,
                stacklevel=5,
            )
        return "percent"
    return "count"


def _validate_values(name: str, categories: Sequence[Hashable], values: Sequence[Any]) -> np.ndarray:
    if len(categories) == 0:
        raise DelibpollError(f"Margin '{name}' has no categories; give at least one category.")
    seen: set[Hashable] = set()
    for cat in categories:
        parts = cat if isinstance(cat, tuple) else (cat,)
        if any(p is None or p is pd.NA or (isinstance(p, float) and math.isnan(p)) for p in parts):
            raise DelibpollError(
                f"Margin '{name}' has a missing value ({cat!r}) as a category. Missing values "
                "cannot be weighting categories: recode them in the data to a label such as "
                "'Not known' and give that label a target."
            )
        if cat in seen:
            raise DelibpollError(
                f"Margin '{name}' lists category {cat!r} twice; give each category once."
            )
        seen.add(cat)
    try:
        arr = np.asarray([float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise DelibpollError(
            f"Margin '{name}' has a target that is not a number ({exc}); targets must be numeric."
        ) from None
    bad = [c for c, v in zip(categories, arr, strict=True) if not math.isfinite(v)]
    if bad:
        raise DelibpollError(
            f"Margin '{name}' has non-finite targets for categories {bad}; give finite numbers."
        )
    neg = [c for c, v in zip(categories, arr, strict=True) if v < 0]
    if neg:
        raise DelibpollError(
            f"Margin '{name}' has negative targets for categories {neg}; targets must be >= 0."
        )
    if arr.sum() <= 0:
        raise DelibpollError(f"Margin '{name}' targets sum to 0; give positive targets.")
    return arr


def _make_margin(
    key: object,
    mapping: Mapping[Any, Any] | pd.Series,
    kind: TargetKind | None,
    source: str | None,
) -> Margin:
    variables = _key_to_variables(key)
    name = JOINT_SEP.join(variables)
    if isinstance(mapping, pd.Series):
        items = list(mapping.items())
    elif isinstance(mapping, Mapping):
        items = list(mapping.items())
    else:
        raise DelibpollError(
            f"Margin '{name}' must be a mapping of category to target (a dict or Series); "
            f"got {type(mapping).__name__}."
        )
    categories: list[Hashable] = []
    for cat, _ in items:
        if len(variables) > 1:
            if isinstance(cat, str) and JOINT_SEP in cat:
                cat = tuple(part.strip() for part in cat.split(JOINT_SEP))
            if not isinstance(cat, tuple) or len(cat) != len(variables):
                raise DelibpollError(
                    f"Joint margin '{name}' needs categories that are tuples of {len(variables)} "
                    f"labels (or 'a{JOINT_SEP}b' strings); got {cat!r}."
                )
        categories.append(cat)
    values = _validate_values(name, categories, [v for _, v in items])
    if kind is None:
        kind = _infer_kind(name, values)
    elif kind not in _KINDS:
        raise DelibpollError(
            f"The 'kind' of margin '{name}' must be one of {list(_KINDS)}; got {kind!r}."
        )
    elif kind == "share" and abs(values.sum() - 1.0) > _SUM_TOL:
        raise DelibpollError(
            f"Margin '{name}' is declared as shares but sums to {values.sum():.10g}, not 1."
        )
    elif kind == "percent" and abs(values.sum() - 100.0) > PERCENT_ROUNDING:
        raise DelibpollError(
            f"Margin '{name}' is declared as percentages but sums to {values.sum():.10g}, not "
            f"100 (rounded percentages may sum to 100 +- {PERCENT_ROUNDING}). Fix the values, "
            "or pass kind='count' if they are counts."
        )
    total = float(values.sum())
    shares = values / total
    return Margin(
        variables=variables,
        categories=tuple(categories),
        shares=shares,
        kind=kind,
        count_total=total if kind == "count" else None,
        source=source,
    )


class Targets:
    """Validated population margins for weighting.

    Build with :meth:`from_dict`, :meth:`from_csv` or :meth:`from_frame` (a design's profile:
    :meth:`SurveyDesign.profile <delibpoll.SurveyDesign.profile>`); the constructor
    is internal. Targets are immutable.

    Notes
    -----
    Each margin is stored as shares summing to 1. When margins are given as counts they fix
    the population total: every count margin must sum to the same total (within 1e-6
    relative), and weighting then makes the weights sum to that total. When all margins
    are shares or percentages the weights keep the design's current total, unless
    ``total=`` is passed to the weighting function.
    """

    __slots__ = ("_margins", "_total", "_numeric")

    def __init__(
        self, margins: Iterable[Margin], numeric: Iterable[tuple[str, float]] = ()
    ) -> None:
        ms = tuple(margins)
        num = tuple((str(v), float(t)) for v, t in numeric)
        if not ms:
            raise DelibpollError(
                "Targets need at least one categorical margin"
                + (" beside the numeric totals (the calibration model's intercept comes with "
                   "it)." if num else ".")
            )
        for var, t in num:
            if not np.isfinite(t):
                raise DelibpollError(
                    f"The population total of numeric variable '{var}' must be a finite "
                    f"number; got {t!r}."
                )
        names = [m.name for m in ms] + [v for v, _ in num]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise DelibpollError(f"Margins {sorted(dup)} are given more than once.")
        totals = [(m.name, m.count_total) for m in ms if m.count_total is not None]
        total: float | None = None
        if totals:
            total = totals[0][1]
            assert total is not None
            for name, t in totals[1:]:
                assert t is not None
                if abs(t - total) > 1e-6 * max(abs(total), 1.0):
                    raise DelibpollError(
                        f"Count margins disagree on the population total: '{totals[0][0]}' sums to "
                        f"{total:.10g} but '{name}' sums to {t:.10g}. Give counts for the same "
                        "population, or give the margins as shares (kind='share')."
                    )
        self._margins = ms
        self._total = total
        self._numeric = num

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_dict(
        cls,
        d: Mapping[Any, Mapping[Any, Any] | pd.Series],
        *,
        kind: TargetKind | Mapping[Any, TargetKind] | None = None,
        source: str | None = None,
    ) -> Targets:
        """Build targets from a dict of margins.

        Parameters
        ----------
        d : mapping
            ``{variable: {category: target}}``. A key may be a tuple of variables for a joint
            margin, whose categories are then tuples: ``{("age_group", "sex"): {("18-24",
            "Female"): 0.05, ...}}``. A number instead of a mapping is the population
            *total* of a numeric column (``{"enroll": 3811472}``, R ``calibrate(~enroll +
            ...)``), which only :func:`~delibpoll.calibrate` uses, beside at least one
            categorical margin.
        kind : {"share", "percent", "count"}, mapping or None
            How to read the numbers, for every margin or per margin key. When None, a margin
            whose values are all <= 1 is shares and must sum to 1 within 1e-6; a margin whose
            values are all <= 100 and sum to 100 within 1.5 is percentages (when the sum is
            not 100, e.g. 99 for rounded ``{33, 33, 33}``, with a
            :class:`~delibpoll.WeightingWarning`); anything else is counts. Declared
            percentages may sum to 100 +- 1.5 (rounding) without a warning. Percentages and
            shares are rescaled to sum exactly to 1.
        source : str, optional
            Where the figures come from; kept for reports.

        Raises
        ------
        DelibpollError
            Shares that do not sum to 1, negative or non-finite targets, duplicated categories,
            count margins that disagree on the total.

        Examples
        --------
        >>> from delibpoll import Targets
        >>> t = Targets.from_dict({"sex": {"Female": 0.52, "Male": 0.48}})
        >>> t.shares("sex").round(2).to_dict()
        {'Female': 0.52, 'Male': 0.48}
        """
        if not isinstance(d, Mapping) or not d:
            raise DelibpollError("Targets.from_dict needs a non-empty dict of margins.")
        margins = []
        numeric: list[tuple[str, float]] = []
        for key, mapping in d.items():
            if isinstance(mapping, int | float | np.integer | np.floating) and not isinstance(
                mapping, bool | np.bool_
            ):
                if not isinstance(key, str):
                    raise DelibpollError(
                        f"A numeric population total belongs to one column; got key {key!r} "
                        f"with total {mapping!r}."
                    )
                numeric.append((key, float(mapping)))
                continue
            k = kind.get(key) if isinstance(kind, Mapping) else kind
            margins.append(_make_margin(key, mapping, k, source))
        return cls(margins, numeric)

    @classmethod
    def from_csv(cls, path: str | Path) -> Targets:
        """Read targets from a CSV file.

        The file has columns ``variable,category,target`` and optionally ``kind`` and
        ``source``. A numeric column's population total is one row with ``kind`` ``total``
        (``category`` is not used; write ``-``): ``enroll,-,3811472,total``. Joint margins are written with ``|``: variable ``age_group|sex``,
        category ``18-24|Female``. Categories are read as text, so ``None`` or ``NA`` are
        category labels, not missing values.
        """
        if not isinstance(path, str | Path):
            raise DelibpollError(
                f"The 'path' parameter of Targets.from_csv must be a file path (str or Path); "
                f"got {type(path).__name__} {path!r}."
            )
        p = Path(path)
        if not p.exists():
            raise DelibpollError(f"Targets file '{p}' does not exist.")
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
        except Exception as exc:  # pragma: no cover - pandas parser errors vary
            raise DelibpollError(f"Could not read targets file '{p}': {exc}") from None
        required = {"variable", "category", "target"}
        missing = required - set(df.columns)
        if missing:
            raise DelibpollError(
                f"Targets file '{p}' lacks columns {sorted(missing)}; it has {list(df.columns)}. "
                "Expected columns: variable, category, target (and optionally kind, source)."
            )
        if "kind" in df:
            is_total = df["kind"] == NUMERIC_TOTAL
            df.loc[is_total & df["category"].isna(), "category"] = "-"
        if df[["variable", "category", "target"]].isna().any().any():
            bad = df.index[df[["variable", "category", "target"]].isna().any(axis=1)]
            raise DelibpollError(
                f"Targets file '{p}' has empty variable/category/target fields on data rows "
                f"{[int(i) + 2 for i in bad[:10]]} (line numbers); fill them in."
            )
        margins = []
        numeric: list[tuple[str, float]] = []
        for var, g in df.groupby("variable", sort=False):
            kinds = set(g["kind"].dropna()) if "kind" in g else set()
            if len(kinds) > 1:
                raise DelibpollError(f"Margin '{var}' in '{p}' mixes kinds {sorted(kinds)}.")
            if kinds == {NUMERIC_TOTAL}:
                if len(g) != 1:
                    raise DelibpollError(
                        f"Numeric total '{var}' in '{p}' has {len(g)} rows; give one row with "
                        "kind 'total' and the population total in 'target'."
                    )
                try:
                    numeric.append((str(var), float(g["target"].iloc[0])))
                except ValueError:
                    raise DelibpollError(
                        f"Numeric total '{var}' in '{p}' is not a number: "
                        f"{g['target'].iloc[0]!r}."
                    ) from None
                continue
            k = cast(TargetKind, kinds.pop()) if kinds else None
            sources = sorted(set(g["source"].dropna())) if "source" in g else []
            try:
                values = [float(v) for v in g["target"]]
            except ValueError:
                raise DelibpollError(
                    f"Margin '{var}' in '{p}' has a target that is not a number: "
                    f"{list(g['target'])}."
                ) from None
            mapping = dict(zip(g["category"], values, strict=True))
            if len(mapping) != len(g):
                raise DelibpollError(f"Margin '{var}' in '{p}' lists a category twice.")
            margins.append(_make_margin(str(var), mapping, k, "; ".join(sources) or None))
        return cls(margins, numeric)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        variables: Sequence[MarginKey] | MarginKey,
        weights: str | Sequence[float] | np.ndarray | pd.Series | None = None,
        *,
        source: str | None = "weighted profile of a data frame",
    ) -> Targets:
        """The weighted distribution of some columns of a data frame, as share targets.

        :meth:`SurveyDesign.profile <delibpoll.SurveyDesign.profile>` gives a design's
        weighted profile this way. Declared categories with no weight are dropped from the
        margin.

        Parameters
        ----------
        df : pandas.DataFrame
        variables : str, tuple of str, or list of them
            A column, a tuple of columns (a joint margin), or a list of either.
        weights : str or array-like, optional
            A column of ``df`` or one weight per row (positional). Default: every weight 1.
        source : str, optional
            Kept with the margins, for reports.

        Returns
        -------
        Targets

        Raises
        ------
        DelibpollError
            Not a data frame, unknown columns, missing values in a variable, weights of the
            wrong length.

        Examples
        --------
        >>> import pandas as pd
        >>> from delibpoll import Targets
        >>> df = pd.DataFrame({"sex": ["F", "F", "M"], "w": [1.0, 2.0, 1.0]})
        >>> Targets.from_frame(df, "sex", weights="w").shares("sex").to_dict()
        {'F': 0.75, 'M': 0.25}
        """
        df = to_pandas(df, "Targets.from_frame", "df")
        keys = margin_keys(variables, "Targets.from_frame")
        if weights is None:
            w = np.ones(len(df))
        elif isinstance(weights, str):
            _check_frame_columns(df, [weights], "weights")
            w = df[weights].to_numpy(dtype=float)
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(df),):
                raise DelibpollError(
                    f"The 'weights' parameter of Targets.from_frame needs one weight per row "
                    f"({len(df)}); got an array of shape {w.shape}."
                )
        margins = []
        for key in keys:
            vars_ = _key_to_variables(key)
            cols = _check_frame_columns(df, vars_, "variables")
            frame = df[cols]
            n_missing = int(frame.isna().any(axis=1).sum())
            if n_missing:
                raise DelibpollError(
                    f"Variable(s) {list(vars_)} have {n_missing} missing values in the source "
                    "data; recode them to a category before taking targets from it."
                )
            if len(vars_) == 1:
                s = pd.Series(w, index=frame.index).groupby(frame[vars_[0]], observed=True).sum()
                mapping: dict[Hashable, float] = {k: float(v) for k, v in s.items() if v > 0}
            else:
                s = pd.Series(w, index=frame.index).groupby(
                    [frame[v] for v in vars_], observed=True
                ).sum()
                mapping = {tuple(cast(tuple[Hashable, ...], k)): float(v) for k, v in s.items() if v > 0}
            total = sum(mapping.values())
            margins.append(
                _make_margin(
                    vars_ if len(vars_) > 1 else vars_[0],
                    {k: v / total for k, v in mapping.items()},
                    "share",
                    source,
                )
            )
        return cls(margins)

    # ------------------------------------------------------------------ accessors
    @property
    def variables(self) -> list[MarginKey]:
        """Margin keys in order: a column name, or a tuple of names for a joint margin."""
        return [m.key for m in self._margins]

    @property
    def total(self) -> float | None:
        """Population total fixed by count margins, or None when all margins are shares."""
        return self._total

    @property
    def margins(self) -> tuple[Margin, ...]:
        return self._margins

    @property
    def numeric_totals(self) -> dict[str, float]:
        """Population totals of numeric columns, ``{column: total}`` (for
        :func:`~delibpoll.calibrate`); empty when there are none."""
        return dict(self._numeric)

    def margin(self, key: MarginKey) -> Margin:
        """The margin for ``key`` (a column name, tuple, or ``'a|b'`` string)."""
        vars_ = _key_to_variables(key)
        for m in self._margins:
            if m.variables == vars_:
                return m
        raise DelibpollError(
            f"No margin {key!r} in these targets; available: {[m.name for m in self._margins]}."
        )

    def shares(self, key: MarginKey) -> pd.Series:
        """Target shares of one margin, indexed by category."""
        m = self.margin(key)
        index: pd.Index = (
            pd.MultiIndex.from_tuples(
                [cast(tuple[Hashable, ...], c) for c in m.categories], names=list(m.variables)
            )
            if len(m.variables) > 1
            else pd.Index(list(m.categories), name=m.variables[0])
        )
        return pd.Series(m.shares.copy(), index=index, name="target")

    def select(self, keys: Sequence[MarginKey] | MarginKey) -> Targets:
        """A new Targets with only the named margins, in the order given."""
        names = {m.variables for m in self._margins}
        if isinstance(keys, str):
            ks: list[MarginKey] = [keys]
        elif isinstance(keys, tuple) and _key_to_variables(keys) in names:
            ks = [keys]  # a joint margin
        else:
            ks = list(keys)
        numeric = dict(self._numeric)
        return Targets([self.margin(k) for k in ks if not (isinstance(k, str) and k in numeric)],
                       [(k, numeric[k]) for k in ks if isinstance(k, str) and k in numeric])

    def to_frame(self) -> pd.DataFrame:
        """One row per margin and category: ``variable, category, target, kind, source``.

        ``target`` is the share; joint margins are written with ``|``; a numeric column's
        population total is one row of kind ``total``.
        """
        rows = []
        for m in self._margins:
            for cat, share in zip(m.categories, m.shares, strict=True):
                label = JOINT_SEP.join(str(c) for c in cat) if isinstance(cat, tuple) else cat
                rows.append(
                    {
                        "variable": m.name,
                        "category": label,
                        "target": float(share),
                        "kind": "share",
                        "source": m.source or "",
                    }
                )
        for var, t in self._numeric:
            rows.append({"variable": var, "category": "-", "target": t, "kind": NUMERIC_TOTAL,
                         "source": ""})
        return pd.DataFrame(rows, columns=["variable", "category", "target", "kind", "source"])

    def to_csv(self, path: str | Path) -> None:
        """Write the targets as shares in the format :meth:`from_csv` reads."""
        self.to_frame().to_csv(path, index=False, float_format="%.17g")

    def __len__(self) -> int:
        return len(self._margins)

    def _repr_html_(self) -> str:
        """The margins as shares in %, one row per category, in fixed notation."""
        fr = self.to_frame()
        cap = f"Targets: {len(self._margins)} margins"
        if self._total is not None:
            cap += f", population total {count(self._total)}"
        formats = {c: (lambda v: percent(v, 2)) for c in fr.columns if c in ("share", "target")}
        return frame_html(fr, caption=cap, formats=formats)

    def __repr__(self) -> str:
        parts = [f"{m.name} ({len(m.categories)} categories, {m.kind})" for m in self._margins]
        parts += [f"{v} (numeric total {t:,.6g})" for v, t in self._numeric]
        total = f", total={self._total:,.0f}" if self._total is not None else ""
        return f"Targets({'; '.join(parts)}{total})"


def targets_of(targets: object, func: str) -> Targets:
    """The ``targets`` parameter of a weighting call: a :class:`Targets`, or a dict for
    :meth:`Targets.from_dict`."""
    if isinstance(targets, dict):
        targets = Targets.from_dict(targets)
    if not isinstance(targets, Targets):
        raise DelibpollError(
            f"The 'targets' parameter of {func} must be a Targets object (or a dict for "
            f"Targets.from_dict); got {type(targets).__name__}."
        )
    return targets
