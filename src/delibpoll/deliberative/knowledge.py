"""Knowledge and learning: factual batteries asked before and after deliberation
(inference layer).

:func:`knowledge` scores one battery (per-person scores, the mean score with its
design-based CI, item shares right / wrong / "don't know", Cronbach's alpha, subgroup gaps);
:func:`learning` compares the same battery before and after (the gain with its design-based
CI, item-level gains, the guessing-corrected gain, alpha at both times, gaps in learning
between subgroups). Part of :mod:`delibpoll.deliberative`.

Conventions of the knowledge-gain literature (Luskin, Fishkin and Jowell 2002; Cor and Sood
2016): a person's score is the share of items answered correctly, "don't know" and no answer
counting as not correct; learning is the mean change in that score; the correction for
guessing counts ``right - wrong / (k - 1)`` for an item with ``k`` options (``chance = 1/k``)
and leaves "don't know" as neither right nor wrong.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_level
from ..design import SurveyDesign, check_design
from ..exceptions import DelibpollError
from ._means import group_gaps, mean_rows

__all__ = ["Knowledge", "Learning", "cronbach_alpha", "knowledge", "learning"]

Key = Mapping[str, Hashable] | Sequence[Hashable] | None
Chance = float | Mapping[str, float] | Sequence[float] | None


def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's alpha of an n x J matrix of item scores (unweighted, complete rows):
    ``alpha = J / (J - 1) * (1 - sum_j var(x_j) / var(sum_j x_j))``.

    Parameters
    ----------
    items : numpy.ndarray
        One row per person, one column per item (e.g. 1 right, 0 not right).

    Returns
    -------
    float
        NaN when there are fewer than two items or the total score does not vary.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]])
    >>> round(cronbach_alpha(x), 4)
    0.75
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        return float("nan")
    total_var = float(np.var(x.sum(axis=1), ddof=1))
    if not total_var > 0:
        return float("nan")
    j = x.shape[1]
    return float(j / (j - 1) * (1 - np.var(x, axis=0, ddof=1).sum() / total_var))


def _check_items(design: SurveyDesign, items: Sequence[str], param: str, func: str) -> list[str]:
    if isinstance(items, str) or not isinstance(items, Sequence) or len(items) == 0:
        raise DelibpollError(
            f"The '{param}' parameter of {func} must be a non-empty list of item columns; "
            f"got {items!r}."
        )
    cols = [str(c) for c in items]
    if len(set(cols)) != len(cols):
        raise DelibpollError(f"The '{param}' parameter of {func} names a column twice: {cols}.")
    design.check_columns(cols, param)
    return cols


def _key_for(key: Key, cols: list[str], func: str) -> list[Hashable] | None:
    if key is None:
        return None
    if isinstance(key, Mapping):
        missing = [c for c in cols if c not in key]
        if missing:
            raise DelibpollError(
                f"The 'key' parameter of {func} gives no correct answer for {missing}; give "
                "one for every item column (or a list in item order)."
            )
        return [key[c] for c in cols]
    if isinstance(key, str) or not isinstance(key, Sequence) or len(key) != len(cols):
        raise DelibpollError(
            f"The 'key' parameter of {func} must be a mapping from item column to its correct "
            f"answer, or a list of {len(cols)} correct answers in item order; got {key!r}."
        )
    return list(key)


def _chance_for(chance: Chance, cols: list[str], func: str) -> np.ndarray | None:
    if chance is None:
        return None
    if isinstance(chance, Mapping):
        missing = [c for c in cols if c not in chance]
        if missing:
            raise DelibpollError(
                f"The 'chance' parameter of {func} gives no chance of a lucky guess for "
                f"{missing}; give one for every item (e.g. 0.5 for true/false)."
            )
        vals = [chance[c] for c in cols]
    elif isinstance(chance, int | float | np.floating | np.integer) and not isinstance(chance, bool):
        vals = [float(chance)] * len(cols)
    elif isinstance(chance, Sequence) and not isinstance(chance, str) and len(chance) == len(cols):
        vals = list(chance)
    else:
        raise DelibpollError(
            f"The 'chance' parameter of {func} must be a number in (0, 1) (1 / number of "
            f"options, e.g. 0.5 for true/false), a list of {len(cols)} such numbers in item "
            f"order, or a mapping from item column to it; got {chance!r}."
        )
    arr = np.array(vals, dtype=float)
    if not np.all((arr > 0) & (arr < 1)):
        raise DelibpollError(
            f"The 'chance' parameter of {func} must lie in (0, 1) for every item (1 / number "
            f"of options); got {vals}."
        )
    return arr


def _score(
    design: SurveyDesign, cols: list[str], key: list[Hashable] | None,
    dont_know: Sequence[Hashable], func: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right, wrong and "don't know" indicator matrices (n x J) of the items.

    Without a key, each column must hold 1 (right), 0 (wrong) or missing ("don't know" or no
    answer). With a key, an answer equal to the key is right, a missing answer or one of
    ``dont_know`` is "don't know", anything else wrong."""
    n = design.n
    right = np.zeros((n, len(cols)))
    dk = np.zeros((n, len(cols)))
    dk_set = list(dont_know)
    for j, c in enumerate(cols):
        s = design.column(c)
        miss = s.isna().to_numpy()
        if key is None:
            if pd.api.types.is_bool_dtype(s):
                x = s.astype(float).to_numpy()
            else:
                x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            bad = ~miss & ~np.isin(x, [0.0, 1.0])
            if bad.any():
                shown = sorted({str(v) for v in s[bad].tolist()})[:5]
                raise DelibpollError(
                    f"{func}: item '{c}' must be scored 1 (right), 0 (wrong) or missing "
                    f"(\"don't know\" / no answer) when no 'key' is given; it has {shown}. "
                    "Pass key={column: correct answer} to score raw answers."
                )
            right[:, j] = np.where(miss, 0.0, x)
            dk[:, j] = miss
        else:
            vals = s.astype(object).to_numpy()
            is_dk = miss | np.array([not m and any(v == d for d in dk_set)
                                     for v, m in zip(vals, miss, strict=True)])
            is_right = np.array([not d and bool(v == key[j])
                                 for v, d in zip(vals, is_dk, strict=True)])
            right[:, j] = is_right
            dk[:, j] = is_dk
    wrong = 1.0 - right - dk
    return right, wrong, dk


def _person_scores(
    right: np.ndarray, wrong: np.ndarray, dk: np.ndarray, chance: np.ndarray | None,
    index: pd.Index,
) -> pd.DataFrame:
    out = pd.DataFrame(
        {"right": right.sum(axis=1), "wrong": wrong.sum(axis=1), "dont_know": dk.sum(axis=1),
         "score": right.mean(axis=1)},
        index=index,
    )
    if chance is not None:
        out["corrected_score"] = (right - wrong * (chance / (1 - chance))[None, :]).mean(axis=1)
    return out


@dataclass(frozen=True)
class Knowledge:
    """One knowledge battery (see :func:`knowledge`)."""

    items: tuple[str, ...]
    level: float
    n: int
    alpha: float
    _frame: pd.DataFrame = field(repr=False)
    _items: pd.DataFrame = field(repr=False)
    _scores: pd.DataFrame = field(repr=False)
    _gaps: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Columns: ``measure`` ("score", and "corrected_score" with ``chance``),
        ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``n``."""
        return self._frame.copy()

    def item_frame(self) -> pd.DataFrame:
        """One row per item: ``item``, ``right`` (weighted share), ``right_se``, ``wrong``,
        ``dont_know`` (shares; they sum to 1)."""
        return self._items.copy()

    @property
    def scores(self) -> pd.DataFrame:
        """Per person (the design's index): ``right``, ``wrong``, ``dont_know`` (counts),
        ``score`` (share right) and, with ``chance``, ``corrected_score``."""
        return self._scores.copy()

    def gap_frame(self) -> pd.DataFrame:
        """Subgroup means and gaps to the reference group (empty without ``by``)."""
        return self._gaps.copy()

    def __repr__(self) -> str:
        return (f"Knowledge({len(self.items)} items, n={self.n}, alpha={self.alpha:.3f})\n"
                + self._frame.to_string(index=False))


@dataclass(frozen=True)
class Learning:
    """The same battery before and after deliberation (see :func:`learning`)."""

    pre: tuple[str, ...]
    post: tuple[str, ...]
    level: float
    n: int
    alpha_before: float
    alpha_after: float
    _frame: pd.DataFrame = field(repr=False)
    _items: pd.DataFrame = field(repr=False)
    _scores: pd.DataFrame = field(repr=False)
    _gaps: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per measure ("score", and "corrected_score" with ``chance``):
        ``before``, ``after``, ``gain`` (after - before), ``se``, ``ci_lower``,
        ``ci_upper``, ``df``, ``p_value`` (of the gain, design-based t), ``n``,
        ``alpha_before``, ``alpha_after`` (score row only)."""
        return self._frame.copy()

    def item_frame(self) -> pd.DataFrame:
        """One row per item: ``item_before``, ``item_after``, ``right_before``,
        ``right_after``, ``gain``, ``se``, ``ci_lower``, ``ci_upper``, ``p_value``,
        ``dont_know_before``, ``dont_know_after``."""
        return self._items.copy()

    @property
    def scores(self) -> pd.DataFrame:
        """Per person: ``score_before``, ``score_after``, ``gain`` and, with ``chance``,
        ``corrected_before``, ``corrected_after``, ``corrected_gain``."""
        return self._scores.copy()

    def gap_frame(self) -> pd.DataFrame:
        """With ``by``: for measures ``score_before``, ``score_after``, ``gain`` (and
        ``corrected_gain``), each group's mean and its gap to the reference (first) group with
        design-based SE, CI and p-value."""
        return self._gaps.copy()

    def __repr__(self) -> str:
        return (f"Learning({len(self.pre)} items, n={self.n}, alpha {self.alpha_before:.3f} -> "
                f"{self.alpha_after:.3f})\n" + self._frame.to_string(index=False))


def knowledge(
    design: SurveyDesign,
    items: Sequence[str],
    *,
    key: Key = None,
    chance: Chance = None,
    dont_know: Sequence[Hashable] = (),
    by: str | None = None,
    level: float = 0.95,
) -> Knowledge:
    """Score a knowledge battery: per-person scores, the mean score, item shares.

    Parameters
    ----------
    design : SurveyDesign
        The people who took the battery (clustered by discussion group where known).
    items : list of str
        The item columns: scored 1 (right), 0 (wrong), missing ("don't know" or no answer),
        or raw answers with ``key``.
    key : mapping or list, optional
        The correct answer of each item (by column, or in item order). Answers equal to it are
        right, missing answers and ``dont_know`` values "don't know", others wrong.
    chance : float, list or mapping, optional
        The chance of a lucky guess of each item (``1/k`` for ``k`` options); adds the
        guessing-corrected score.
    dont_know : sequence, default ()
        Answer values meaning "don't know" (with ``key``).
    by : str, optional
        A subgroup column: each group's mean score and its gap to the first group.
    level : float, default 0.95

    Returns
    -------
    Knowledge

    Notes
    -----
    Score ``s_i = (1/J) sum_j r_ij`` (``r`` = 1 right, "don't know" not right); corrected
    score ``(1/J) sum_j (r_ij - u_ij c_j / (1 - c_j))`` with ``u`` = 1 wrong and ``c_j`` the
    chance (Cor and Sood 2016: right minus wrong/(k-1); "don't know" neither). Means are
    weighted with the design's sampling weights and their SEs linearised (R ``svymean``),
    clustered by the design's PSUs; t intervals on the design df. Cronbach's alpha is the
    unweighted alpha of the right/not-right matrix (R ``psych::alpha``'s ``raw_alpha``).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, knowledge
    >>> df = pd.DataFrame({"k1": [1, 0, 1, None], "k2": [1, 1, 0, 0]})
    >>> k = knowledge(SurveyDesign(df), ["k1", "k2"], chance=0.5)
    >>> k.to_frame().set_index("measure")["estimate"].round(3).to_dict()
    {'score': 0.5, 'corrected_score': 0.125}
    """
    func = "knowledge"
    design = check_design(design, func)
    level = check_level(level, func)
    cols = _check_items(design, items, "items", func)
    r, u, dk = _score(design, cols, _key_for(key, cols, func), dont_know, func)
    ch = _chance_for(chance, cols, func)
    scores = _person_scores(r, u, dk, ch, design.index)
    measures = [c for c in ("score", "corrected_score") if c in scores]
    frame = mean_rows(design, measures, scores[measures].to_numpy(), level).drop(columns="p_value")
    est_r = mean_rows(design, cols, r, level)
    est_u = mean_rows(design, cols, u, level)
    est_d = mean_rows(design, cols, dk, level)
    item_fr = pd.DataFrame({"item": cols, "right": est_r["estimate"], "right_se": est_r["se"],
                            "wrong": est_u["estimate"], "dont_know": est_d["estimate"]})
    gaps = (group_gaps(design, measures, scores[measures].to_numpy(), by, level, func)
            if by is not None else pd.DataFrame())
    inset = design.weight_array != 0
    return Knowledge(items=tuple(cols), level=level, n=int(inset.sum()),
                     alpha=cronbach_alpha(r[inset]), _frame=frame, _items=item_fr,
                     _scores=scores, _gaps=gaps)


def learning(
    design: SurveyDesign,
    pre: Sequence[str],
    post: Sequence[str],
    *,
    key: Key = None,
    chance: Chance = None,
    dont_know: Sequence[Hashable] = (),
    by: str | None = None,
    level: float = 0.95,
) -> Learning:
    """Learning: the same knowledge battery before and after deliberation, same people.

    Parameters
    ----------
    design : SurveyDesign
        Tier 1 participants who took both surveys (one row each), ideally clustered by
        discussion group (``ids="group_id"``): people in a group learn together.
    pre, post : list of str
        The item columns before and after, in the same item order.
    key : mapping or list, optional
        Correct answers (a mapping over the ``pre`` and ``post`` columns, or one list in item
        order used for both), as in :func:`knowledge`.
    chance : float, list or mapping, optional
        Chance of a lucky guess per item (list in item order, or mapping keyed by the ``pre``
        column); adds the guessing-corrected learning.
    dont_know : sequence, default ()
        Answer values meaning "don't know" (with ``key``).
    by : str, optional
        Subgroup column: gaps in knowledge before, after and in learning between groups.
    level : float, default 0.95

    Returns
    -------
    Learning

    Notes
    -----
    ``gain_i = s_i(after) - s_i(before)``; learning is its weighted mean with the linearised
    SE of a mean of per-person differences (R ``svymean(~gain, design)``), so the pairing
    and the clustering are both respected. Corrected learning is the same with corrected
    scores. Item gains are the mean change in each item's right indicator. The comparison
    is before/after for the same people: it is not randomised (there is no control group
    here), so it describes change, not its cause; see
    :func:`~delibpoll.difference_in_differences` when a control group was surveyed.

    References
    ----------
    Cor, M. K. and Sood, G. (2016). Guessing and Forgetting: A Latent Class Model for
    Measuring Learning. Political Analysis 24(2), 226-242.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import SurveyDesign, learning
    >>> df = pd.DataFrame({"a1": [1, 0, None, 0], "a2": [1, 1, 1, 0]})
    >>> res = learning(SurveyDesign(df), pre=["a1"], post=["a2"])
    >>> float(res.to_frame()["gain"].iloc[0])
    0.5
    """
    func = "learning"
    design = check_design(design, func)
    level = check_level(level, func)
    pre_c = _check_items(design, pre, "pre", func)
    post_c = _check_items(design, post, "post", func)
    if len(pre_c) != len(post_c):
        raise DelibpollError(
            f"The 'pre' and 'post' parameters of {func} must list the same items in the same "
            f"order; got {len(pre_c)} and {len(post_c)} columns."
        )
    if isinstance(key, Mapping):
        key_pre, key_post = _key_for(key, pre_c, func), _key_for(key, post_c, func)
    else:
        key_pre = key_post = _key_for(key, pre_c, func)
    ch = _chance_for(chance, pre_c, func)
    rb, ub, db = _score(design, pre_c, key_pre, dont_know, func)
    ra, ua, da = _score(design, post_c, key_post, dont_know, func)
    sb = _person_scores(rb, ub, db, ch, design.index)
    sa = _person_scores(ra, ua, da, ch, design.index)
    scores: dict[str, Any] = {"score_before": sb["score"], "score_after": sa["score"],
                              "gain": sa["score"] - sb["score"]}
    if ch is not None:
        scores.update(corrected_before=sb["corrected_score"],
                      corrected_after=sa["corrected_score"],
                      corrected_gain=sa["corrected_score"] - sb["corrected_score"])
    sc = pd.DataFrame(scores, index=design.index)
    inset = design.weight_array != 0
    a_b, a_a = cronbach_alpha(rb[inset]), cronbach_alpha(ra[inset])
    rows = []
    for measure, (bcol, acol, gcol) in {
        "score": ("score_before", "score_after", "gain"),
        "corrected_score": ("corrected_before", "corrected_after", "corrected_gain"),
    }.items():
        if gcol not in sc:
            continue
        m = mean_rows(design, [bcol, acol, gcol], sc[[bcol, acol, gcol]].to_numpy(), level)
        g = m.iloc[2]
        rows.append({"measure": measure, "before": m["estimate"].iloc[0],
                     "after": m["estimate"].iloc[1], "gain": g["estimate"], "se": g["se"],
                     "ci_lower": g["ci_lower"], "ci_upper": g["ci_upper"], "df": g["df"],
                     "p_value": g["p_value"], "n": int(g["n"]),
                     "alpha_before": a_b if measure == "score" else float("nan"),
                     "alpha_after": a_a if measure == "score" else float("nan")})
    frame = pd.DataFrame(rows)
    ig = mean_rows(design, pre_c, ra - rb, level)
    item_fr = pd.DataFrame({
        "item_before": pre_c, "item_after": post_c,
        "right_before": mean_rows(design, pre_c, rb, level)["estimate"],
        "right_after": mean_rows(design, post_c, ra, level)["estimate"],
        "gain": ig["estimate"], "se": ig["se"], "ci_lower": ig["ci_lower"],
        "ci_upper": ig["ci_upper"], "p_value": ig["p_value"],
        "dont_know_before": mean_rows(design, pre_c, db, level)["estimate"],
        "dont_know_after": mean_rows(design, post_c, da, level)["estimate"],
    })
    gap_cols = ["score_before", "score_after", "gain"] + (["corrected_gain"] if ch is not None else [])
    gaps = (group_gaps(design, gap_cols, sc[gap_cols].to_numpy(), by, level, func)
            if by is not None else pd.DataFrame())
    return Learning(pre=tuple(pre_c), post=tuple(post_c), level=level, n=int(inset.sum()),
                    alpha_before=a_b, alpha_after=a_a, _frame=frame, _items=item_fr,
                    _scores=sc, _gaps=gaps)
