"""Model formulas through formulaic, with R's coefficient names (kernel layer).

One place turns a Wilkinson formula and a data frame into a model matrix: treatment contrasts
with the first category as the reference (the package's one category order: the declared
order of a categorical, otherwise sorted values, as R's factor levels), interactions, and
coefficient names written as R writes them (``stypeH``, ``ell:stypeM``, ``(Intercept)``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._frames import to_pandas
from .exceptions import DelibpollError

__all__ = ["ModelFrame", "build_model", "new_matrix", "r_name", "term_columns"]

_LEVEL = re.compile(r"\[T\.(.*?)\]")


def r_name(column: str) -> str:
    """formulaic's column name as R writes it: ``stype[T.H]`` -> ``stypeH``."""
    if column == "Intercept":
        return "(Intercept)"
    return _LEVEL.sub(lambda m: m.group(1), column)


@dataclass(frozen=True)
class ModelFrame:
    """A formula evaluated on data: the response (or None), the model matrix, R's names of its
    columns, the columns of each term, the formulaic spec (to evaluate new data the same way;
    None when the main-effects fast path built the matrix)
    and the categories of the categorical variables used."""

    response: str | None
    y: np.ndarray | None
    x: np.ndarray
    names: tuple[str, ...]
    terms: Mapping[str, tuple[int, ...]]
    spec: Any
    categories: Mapping[str, tuple[Hashable, ...]]
    variables: tuple[str, ...]
    complete: np.ndarray | None = None
    """Rows with every model variable present (``na="drop"``; None when all are). The other
    rows hold placeholder values in ``x`` and ``y``: callers give them zero weight."""
    row_key: np.ndarray | None = None
    """An integer per row, equal for rows of ``x`` that are equal and only for them (built
    from the category codes when every predictor is categorical; None otherwise): the
    distinct rows of ``x`` without comparing them."""

    @property
    def n_incomplete(self) -> int:
        """Rows with a missing model variable."""
        return 0 if self.complete is None else int(np.count_nonzero(~self.complete))


def _formulaic() -> Any:
    import formulaic

    return formulaic


def _check_formula(formula: object, func: str) -> str:
    if not isinstance(formula, str) or "~" not in formula:
        raise DelibpollError(
            f"The 'formula' parameter of {func} must be a string 'response ~ predictors' "
            f"(e.g. 'api00 ~ ell + stype'); got {formula!r}."
        )
    return formula


def _prepared(data: pd.DataFrame, reference: Mapping[str, Hashable] | None,
              func: str) -> pd.DataFrame:
    """String, boolean-free categoricals in the package's order; ``reference`` levels first."""
    out = data.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            cats = sorted(pd.unique(s.dropna()).tolist())
            out[col] = pd.Categorical(s, categories=cats)
    for col, level in (reference or {}).items():
        if col not in out.columns:
            raise DelibpollError(
                f"The 'reference' parameter of {func} names column {col!r}, which is not in the "
                f"data. Available columns: {list(out.columns)}."
            )
        s = out[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = pd.Series(pd.Categorical(s, categories=sorted(pd.unique(s.dropna()).tolist())))
        cats = list(s.cat.categories)
        if level not in cats:
            raise DelibpollError(
                f"The 'reference' level {level!r} of {col!r} in {func} is not one of its "
                f"categories {cats}."
            )
        out[col] = pd.Categorical(np.asarray(s), categories=[level] + [c for c in cats if c != level],
                                  ordered=False)
    return out


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _main_effects(
    rhs: str, data: pd.DataFrame
) -> tuple[np.ndarray, tuple[str, ...], dict[str, tuple[int, ...]], list[str]] | None:
    """The model matrix of ``1 + a + b + ...`` (main effects of plain column names, numeric
    or categorical) built directly, as formulaic builds it (intercept, then each term in the
    order written; treatment dummies of every category but the first; R's names), in a
    fraction of formulaic's time. None for anything else (interactions, functions, boolean
    columns, ...): formulaic evaluates those."""
    names_in = _plain_terms(rhs, data)
    if names_in is None:
        return None
    n = len(data)
    blocks = [np.ones((n, 1))]
    names = ["(Intercept)"]
    terms: dict[str, tuple[int, ...]] = {"1": (0,)}
    col = 1
    for v in names_in:
        s = data[v]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            codes = s.cat.codes.to_numpy()
            block = (codes[:, None] == np.arange(1, len(cats))[None, :]).astype(float)
            labels = [f"{v}{c}" for c in cats[1:]]
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            block = s.to_numpy(dtype=float, na_value=np.nan)[:, None]
            labels = [v]
        else:
            return None
        blocks.append(block)
        names += labels
        terms[v] = tuple(range(col, col + block.shape[1]))
        col += block.shape[1]
    return np.hstack(blocks), tuple(names), terms, sorted(names_in)


Coder = Callable[[Hashable], tuple[np.ndarray, list[Hashable]]]
"""A column coder: integer codes (-1 missing) and categories in the package's order (a
design's ``column_codes``, computed once per design)."""


def _plain_terms(rhs: str, data: pd.DataFrame) -> list[str] | None:
    """The column names of a main-effects right-hand side ``a + b + `c d` ...`` (each a
    column, none twice), or None for anything else."""
    names_in: list[str] = []
    for p in (p.strip() for p in rhs.split("+")):
        if len(p) > 2 and p[0] == p[-1] == "`" and "`" not in p[1:-1]:
            p = p[1:-1]
        elif not _PLAIN.match(p):
            return None
        if p not in data.columns or p in names_in:
            return None
        names_in.append(p)
    return names_in or None


def _coded_main_effects(
    rhs: str, data: pd.DataFrame, reference: Mapping[str, Hashable], codes: Coder
) -> tuple[np.ndarray, tuple[str, ...], dict[str, tuple[int, ...]], list[str],
           dict[str, tuple[Hashable, ...]], dict[str, np.ndarray], np.ndarray | None] | None:
    """:func:`_main_effects` from the coder's integer codes, without preparing the data
    frame: the same matrix, names, terms and categories (the coder's order is
    :func:`_prepared`'s: declared categories, else sorted values; ``reference`` levels
    first), each variable's missing rows and the row key (:attr:`ModelFrame.row_key`).
    None when :func:`build_model`'s general path
    is needed (not main effects, a boolean or other column, a ``reference`` that is not a
    categorical predictor or not one of its levels: that path explains the error)."""
    names_in = _plain_terms(rhs, data)
    if names_in is None:
        return None
    kinds: dict[str, bool] = {}  # True: categorical
    for v in names_in:
        s = data[v]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object \
                or pd.api.types.is_string_dtype(s):
            kinds[v] = True
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            kinds[v] = False
        else:
            return None
    if any(not kinds.get(str(c), False) for c in reference):
        return None
    n = len(data)
    width = 1 + sum(len(codes(v)[1]) - 1 if kinds[v] else 1 for v in names_in)
    x = np.zeros((n, width))
    x[:, 0] = 1.0
    names = ["(Intercept)"]
    terms: dict[str, tuple[int, ...]] = {"1": (0,)}
    categories: dict[str, tuple[Hashable, ...]] = {}
    missing: dict[str, np.ndarray] = {}
    rows = np.arange(n)
    col = 1
    # mixed-radix key of the (reference-permuted) codes, -1 shifted to 0: one integer per
    # distinct combination of categories (None with a numeric predictor or on overflow)
    radix = 1
    key: np.ndarray | None = np.zeros(n, dtype=np.int64)
    for v in names_in:
        if kinds[v]:
            code, cats = codes(v)
            if v in reference:
                level = reference[v]
                if level not in cats:
                    return None
                first = cats.index(level)
                order = [first] + [j for j in range(len(cats)) if j != first]
                new_of_old = np.empty(len(cats) + 1, dtype=np.int64)
                new_of_old[np.asarray(order)] = np.arange(len(cats))
                new_of_old[-1] = -1  # code -1 (missing) stays -1
                code = new_of_old[code]
                cats = [cats[j] for j in order]
            k = len(cats) - 1
            dummy = code >= 1
            x[rows[dummy], col - 1 + code[dummy]] = 1.0
            names += [f"{v}{c}" for c in cats[1:]]
            categories[v] = tuple(cats)
            missing[v] = code < 0
            if key is not None:
                radix *= len(cats) + 1
                key = key * (len(cats) + 1) + (code + 1) if radix < 2**62 else None
        else:
            key = None
            vals = data[v].to_numpy(dtype=float, na_value=np.nan)
            x[:, col] = vals
            names.append(v)
            missing[v] = np.isnan(vals)
            k = 1
        terms[v] = tuple(range(col, col + k))
        col += k
    return x, tuple(names), terms, sorted(names_in), categories, missing, key


def _general_model(
    data: pd.DataFrame,
    formula: str,
    rhs_text: str,
    lhs_text: str,
    func: str,
    reference: Mapping[str, Hashable] | None,
    na: str,
) -> tuple[np.ndarray, tuple[str, ...], dict[str, tuple[int, ...]], Any, list[str],
           dict[str, tuple[Hashable, ...]], dict[str, np.ndarray]]:
    """The model matrix through a prepared copy of the data (:func:`_prepared`): the direct
    main-effects path, else formulaic. Returns the matrix, names, terms, formulaic spec (or
    None), the variables used, the categories and the missing rows of each model variable
    (the response's too)."""
    fl = _formulaic()
    # only the columns the formula can name (its text contains theirs) are prepared
    keep = [c for c in data.columns if (isinstance(c, str) and c in formula)
            or c in (reference or {})]
    prepared = _prepared(data[keep], reference, func)
    if na == "drop":
        # evaluate the formula on complete stand-ins: a missing value takes the column's first
        # present value (a category it has, a number in its range); those rows get no weight
        used_cols = [c for c in prepared.columns if prepared[c].isna().any()]
        if used_cols:
            probe = prepared.copy()
            for c in used_cols:
                present = probe[c].dropna()
                if len(present):
                    probe[c] = probe[c].fillna(present.iloc[0])
            raw_prepared, prepared = prepared, probe
        else:
            raw_prepared = prepared
    else:
        raw_prepared = prepared
    fast = _main_effects(rhs_text, prepared)
    if fast is not None:
        x, names, terms, used = fast
        spec: Any = None
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mm = fl.model_matrix(rhs_text if rhs_text.strip() else "1", prepared,
                                     na_action="ignore", output="pandas")
        except Exception as exc:  # formulaic raises many kinds of errors for a bad formula
            raise DelibpollError(
                f"The formula {formula!r} of {func} could not be evaluated: {exc}. Available "
                f"columns: {list(data.columns)}; put names with dots or spaces in backticks."
            ) from None
        spec = mm.model_spec
        used = sorted(spec.variables_by_source.get("data", set()))
        x = mm.to_numpy(dtype=float)
        names = tuple(r_name(str(c)) for c in mm.columns)
        terms = {str(t): tuple(int(i) for i in idx) for t, idx in spec.term_indices.items()}
    categories = {
        str(c): tuple(prepared[c].cat.categories)
        for c in used if isinstance(prepared[c].dtype, pd.CategoricalDtype)
    }
    missing = {str(v): raw_prepared[v].isna().to_numpy()
               for v in dict.fromkeys([lhs_text, *used])}
    return x, names, terms, spec, used, categories, missing


def build_model(
    data: pd.DataFrame,
    formula: str,
    func: str,
    *,
    reference: Mapping[str, Hashable] | None = None,
    numeric_response: bool = True,
    na: str = "error",
    codes: Coder | None = None,
) -> ModelFrame:
    """Evaluate ``formula`` on ``data`` (every row).

    With ``numeric_response`` the left-hand side is one numeric (or boolean) column, returned
    as floats; otherwise it is only named (the caller codes it) and the right-hand side is
    evaluated alone. With ``na="drop"`` rows with a missing model variable are marked in
    ``complete`` (their ``x`` and ``y`` hold placeholders); with ``na="error"`` they raise.
    ``codes`` (a design's ``column_codes``, which keeps each column's codes) builds a
    main-effects matrix from integer codes without preparing a copy of the data frame: the
    same result, several times faster.

    Raises
    ------
    DelibpollError
        The formula does not parse, names unknown columns, or (``na="error"``) variables it
        uses have missing values: the message names every such column and its count.
    """
    formula = _check_formula(formula, func)
    lhs_text, rhs_text = formula.split("~", 1)
    lhs_text = lhs_text.strip().strip("`")
    if not lhs_text:
        raise DelibpollError(
            f"The formula of {func} needs a response on the left of '~'; got {formula!r}."
        )
    if lhs_text not in data.columns:
        raise DelibpollError(
            f"The response {lhs_text!r} of the formula of {func} is not a column of the data. "
            f"Available columns: {list(data.columns)}. Put names with dots or spaces in "
            "backticks: '`sch.wide` ~ ell'."
        )
    for col in reference or {}:
        if col not in data.columns:
            raise DelibpollError(
                f"The 'reference' parameter of {func} names column {col!r}, which is not in "
                f"the data. Available columns: {list(data.columns)}."
            )
    coded = (None if codes is None
             else _coded_main_effects(rhs_text, data, reference or {}, codes))
    row_key: np.ndarray | None = None
    if coded is not None:
        x, names, terms, used, categories, missing, row_key = coded
        spec: Any = None
        variables = tuple([lhs_text] + [v for v in used if v != lhs_text])
        if lhs_text not in missing:
            missing[lhs_text] = data[lhs_text].isna().to_numpy()
    else:
        x, names, terms, spec, used, categories, missing = _general_model(
            data, formula, rhs_text, lhs_text, func, reference, na)
        variables = tuple([lhs_text] + [v for v in used if v != lhs_text])
    complete: np.ndarray | None = None
    n_na = {v: int(np.count_nonzero(missing[v])) for v in variables}
    n_na = {v: k for v, k in n_na.items() if k}
    if n_na:
        incomplete = np.logical_or.reduce([missing[v] for v in n_na])
        if na != "drop":
            cols = ", ".join(f"{v!r} ({k})" for v, k in n_na.items())
            n_rows = int(np.count_nonzero(incomplete))
            raise DelibpollError(
                f"{func}: model variables have missing values: {cols}; {n_rows} row(s) are "
                "incomplete. Pass na='drop' to fit on the complete rows (as R's svyglm with "
                "na.omit: the variance keeps the whole design, the result reports n_dropped), "
                "or impute or recode them first."
            )
        complete = ~incomplete
        if not complete.any():
            raise DelibpollError(
                f"{func}: no row has every model variable present (missing: {list(n_na)})."
            )
    y = None
    if numeric_response:
        s = data[lhs_text]
        if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)
        ):
            raise DelibpollError(
                f"The response {lhs_text!r} of {func} must be numeric (0/1 for binomial); it "
                f"has dtype {s.dtype}. Make a 0/1 column first, e.g. "
                f"design.with_columns({{'y': design.column({lhs_text!r}) == 'Yes'}})."
            )
        y = s.to_numpy(dtype=float, na_value=np.nan)
        if complete is not None:
            y = np.where(complete, y, 0.0)
        if not np.all(np.isfinite(y)):
            raise DelibpollError(f"{func}: the response {lhs_text!r} has infinite values.")
    if complete is not None:
        x = np.where(complete[:, None], x, 0.0)
    return ModelFrame(response=lhs_text, y=y, x=x, names=names, terms=terms, spec=spec,
                      categories=categories, variables=variables, complete=complete,
                      row_key=None if complete is not None else row_key)


def new_matrix(model: ModelFrame, newdata: pd.DataFrame, func: str) -> np.ndarray:
    """The model matrix of ``newdata`` under ``model``'s spec (its categories and
    contrasts).

    Raises
    ------
    DelibpollError
        ``newdata`` lacks a predictor, has missing values, or a category the model has not
        seen.
    """
    newdata = to_pandas(newdata, func, "newdata")
    need = [v for v in model.variables[1:]]
    missing = [v for v in need if v not in newdata.columns]
    if missing:
        raise DelibpollError(
            f"The 'newdata' of {func} lacks the predictor column(s) {missing} of the model."
        )
    nd = newdata[need].copy()
    for v in need:
        if nd[v].isna().any():
            raise DelibpollError(f"The 'newdata' of {func} has missing values in {v!r}.")
        if v in model.categories:
            cats = list(model.categories[v])
            vals = nd[v].astype(object)
            unknown = sorted({str(a) for a in vals if a not in cats})
            if unknown:
                raise DelibpollError(
                    f"The 'newdata' of {func} has categories {unknown} of {v!r} that the model "
                    f"was not fitted on; its categories are {cats}."
                )
            nd[v] = pd.Categorical(vals, categories=cats)
    if model.spec is None:  # built by _main_effects: encode the same way
        blocks = []
        for term in model.terms:
            if term == "1":
                blocks.append(np.ones((len(nd), 1)))
            elif term in model.categories:
                codes = nd[term].cat.codes.to_numpy()
                k = len(model.categories[term])
                blocks.append((codes[:, None] == np.arange(1, k)[None, :]).astype(float))
            else:
                blocks.append(nd[term].to_numpy(dtype=float)[:, None])
        return np.hstack(blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm = model.spec.get_model_matrix(nd, output="pandas")
    return np.asarray(mm.to_numpy(dtype=float))


def term_columns(model: ModelFrame, term: str, func: str) -> tuple[int, ...]:
    """Columns of the model matrix that belong to ``term`` (``"stype"``, ``"ell:stype"``;
    the order of the factors of an interaction does not matter)."""
    if not isinstance(term, str):
        raise DelibpollError(f"The 'term' parameter of {func} must be a string; got {term!r}.")
    want = frozenset(p.strip().strip("`") for p in term.split(":"))
    for name, cols in model.terms.items():
        if frozenset(p.strip() for p in name.split(":")) == want:
            return cols
    raise DelibpollError(
        f"The 'term' parameter of {func} must be a term of the model; got {term!r}. Terms: "
        f"{[t for t in model.terms if t != '1']}."
    )
