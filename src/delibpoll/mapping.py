"""Mapping a survey file's vocabulary onto the targets' (values layer).

An agency's file rarely speaks the targets' language: ``gender`` where the targets say
``sex``, "Yorkshire and the Humber" where they say "Yorkshire and The Humber", age in years
where they have age groups, 98/99 declared user-missing. A :class:`Mapping` says, once, how
to turn the file into the targets' vocabulary; it is read from a TOML mapping file
(:meth:`Mapping.from_toml`) or from a config section (:meth:`Mapping.from_dict`) and applied
with :meth:`Mapping.apply`. :func:`check_against_targets` lists every way a frame does not
match a set of targets, each with near matches and the mapping line that would fix it;
:func:`suggest_mapping` writes a starter mapping file with its guesses marked.

Layer: values (it transforms a DataFrame and its ``attrs`` as :func:`~delibpoll.read_survey`
records them, and reads :class:`~delibpoll.Targets`); it imports only ``exceptions`` and
``targets``.

The mapping file
----------------
Every section is optional. Variables are named as they are in the data file (a renamed
variable may also be named by its new name); the steps run in this order, whatever the
order of the sections: ``[missing]``, ``[bands]``, ``[recode]``, then ``[rename]``::

    [missing]                  # user-missing codes, per variable
    q_pact = "keep"            # every user-missing code becomes a category (its label)
    q_charge = [99]            # only 99 ("Don't know") does; the others stay missing
    trust_nhs = "missing"      # make them missing values (what read_survey does by default)

    [bands.age]                # numbers -> categories: label = [lowest, highest], both included
    "18-24" = [18, 24]
    "75+" = [75, inf]

    [recode.region]            # categories -> categories: "as in the file" = "as in the targets"
    "Yorkshire and the Humber" = "Yorkshire and The Humber"
    "East" = "East of England"

    [recode.gender]            # two categories may be recoded into one
    "Man" = "Male"
    "Woman" = "Female"

    [rename]                   # name in the file = name in the targets
    gender = "sex"
    age = "age_group"

``[missing]`` values: ``"keep"`` (user-missing codes become categories named by their
value labels, as ``read_survey(..., user_missing="keep")`` gives), ``"missing"`` (they become
missing values, their codes and labels recorded in ``attrs["missing_reasons"]``), or a list
of codes or labels to keep (the others become missing). Variables not named stay as read.
``[recode.<var>]`` on a numeric variable labels its codes (``"1" = "Female"``) and must label
every value that occurs. Nothing in a mapping drops rows.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import tomllib
from collections.abc import Hashable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._frames import to_pandas
from ._types import ProblemKind
from .exceptions import DelibpollError
from .targets import Targets

__all__ = [
    "Mapping",
    "Problem",
    "ProblemKind",
    "check_against_targets",
    "match_columns",
    "normalize_label",
    "plain_frame",
    "suggest_mapping",
    "validate_against_targets",
]

MissingRule = str | tuple[int | float | str, ...]

SECTIONS = ("rename", "recode", "bands", "missing")
_LABEL_ATTRS = ("variable_labels", "value_labels", "missing_codes", "missing_reasons")

# Words an agency and a statistics office use for the same thing (after casefolding).
_WORD_SYNONYMS = {"man": "male", "men": "male", "woman": "female", "women": "female"}
# Variable names agencies use for the targets' variables.
_NAME_SYNONYMS: dict[str, tuple[str, ...]] = {
    "sex": ("gender", "sex_gender", "gender_identity", "sexgender"),
    "age_group": ("age", "age_band", "ageband", "agegroup", "agegrp", "age_cat", "age_bands"),
    "region": ("gor", "govt_region", "region_gor", "rgn", "gor_region"),
    "education": ("qual", "quals", "qualification", "highest_qual", "educ", "edu", "edlevel"),
    "ethnicity": ("ethnic", "ethnic_group", "ethnicgroup", "ethnic_grp", "eth", "ethnic_origin"),
}


# ---------------------------------------------------------------------------- matching


def normalize_label(value: object) -> str:
    """A category label reduced to what matters for matching.

    Case, spacing and punctuation are dropped, "&" is "and", age ranges are written one way
    ("18 to 24" is "18-24", "75 and over" is "75+") and "man"/"woman" are "male"/"female".

    Examples
    --------
    >>> normalize_label("Yorkshire and the Humber") == normalize_label("Yorkshire and The Humber")
    True
    >>> normalize_label("75 and over"), normalize_label("18 to 24"), normalize_label("Woman")
    ('75+', '18-24', 'female')
    """
    t = str(value).casefold().strip().replace("&", " and ")
    t = re.sub(r"(\d+)\s*(?:-|\u2013|\u2014|to)\s*(\d+)", r"\1-\2", t)
    t = re.sub(
        r"(\d+)\s*(?:\+|(?:years?\s*)?(?:and|or)\s*(?:over|above|older)|plus)", r"\1+", t
    )
    words = re.findall(r"\d+(?:-\d+|\+)?|[^\W\d_]+", t)
    return " ".join(_WORD_SYNONYMS.get(w, w) for w in words)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _near(value: object, options: Sequence[Hashable], n: int = 3) -> list[Hashable]:
    """Options that look like ``value``: equal once normalised first, then close spellings."""
    key = normalize_label(value)
    scored = []
    for opt in options:
        norm = normalize_label(opt)
        score = 2.0 if norm == key else _ratio(key, norm)
        if norm and key and (set(key.split()) <= set(norm.split())
                             or set(norm.split()) <= set(key.split())):
            score = max(score, 0.7)
        if score >= 0.6:
            scored.append((score, opt))
    scored.sort(key=lambda x: -x[0])
    return [opt for _, opt in scored[:n]]


Pairing = dict[Hashable, tuple[Hashable, str]]


def _pair_categories(data: Sequence[Hashable], targets: Sequence[Hashable]) -> Pairing:
    """Pair data categories with target categories: ``{data: (target, how)}``.

    ``how`` is "exact", "normalized" (case, spacing, punctuation or age wording differ),
    "synonym" (e.g. "Man" and "Male") or "guess" (a close spelling, or the last one left).
    """
    out: Pairing = {}
    free_t = [t for t in targets]
    for d in data:
        if d in free_t:
            out[d] = (d, "exact")
            free_t.remove(d)
    rest = [d for d in data if d not in out]
    for d in list(rest):
        base = re.sub(r"\s+", " ", str(d).casefold())
        hits = [t for t in free_t if normalize_label(t) == normalize_label(d)]
        if len(hits) == 1:
            plain = re.sub(r"\s+", " ", str(hits[0]).casefold())
            how = "normalized" if _strip_words(base) == _strip_words(plain) or not (
                set(normalize_label(d).split()) & set(_WORD_SYNONYMS.values())
            ) else "synonym"
            out[d] = (hits[0], how)
            free_t.remove(hits[0])
            rest.remove(d)
    candidates = []
    for d in rest:
        for t in free_t:
            a, b = normalize_label(d), normalize_label(t)
            score = _ratio(a, b)
            wa, wb = set(a.split()), set(b.split())
            if wa and wb and (wa <= wb or wb <= wa):
                score = max(score, 0.7)
            candidates.append((score, d, t))
    candidates.sort(key=lambda x: -x[0])
    for score, d, t in candidates:
        if score >= 0.6 and d in rest and t in free_t:
            out[d] = (t, "guess")
            rest.remove(d)
            free_t.remove(t)
    if len(rest) == 1 and len(free_t) == 1:
        out[rest[0]] = (free_t[0], "guess")
    return out


def _strip_words(s: str) -> str:
    return "".join(re.findall(r"[^\W_]+", s))


def _parse_band(label: object) -> tuple[float, float] | None:
    """``"18-24"`` -> (18, 24), ``"75+"`` -> (75, inf); None for other labels."""
    norm = normalize_label(label)
    m = re.fullmatch(r"(\d+)-(\d+)", norm)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.fullmatch(r"(\d+)\+", norm)
    if m:
        return float(m.group(1)), math.inf
    return None


def _target_bands(categories: Sequence[Hashable]) -> list[tuple[str, float, float]] | None:
    bands = [_parse_band(c) for c in categories]
    if not categories or any(b is None for b in bands):
        return None
    return [(str(c), b[0], b[1]) for c, b in zip(categories, bands, strict=True) if b is not None]


def plain_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy of ``df`` without ``attrs``.

    pandas deep-copies ``attrs`` into every column and result taken from a frame, and a
    file's ``missing_reasons`` hold an entry per missing value, so work on this copy.
    """
    out = df.copy(deep=False)
    out.attrs = {}
    return out


def _is_numeric(s: pd.Series) -> bool:
    return (
        not isinstance(s.dtype, pd.CategoricalDtype)
        and pd.api.types.is_numeric_dtype(s)
        and not pd.api.types.is_bool_dtype(s)
    )


def _observed(s: pd.Series) -> list[Hashable]:
    """Categories that occur, in the column's order (declared order for categoricals)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    return sorted(s.dropna().unique().tolist(), key=str)


def _target_categories(targets: Targets) -> dict[str, list[Hashable]]:
    """Each target variable (joint margins split) with its categories, in order."""
    out: dict[str, list[Hashable]] = {}
    for m in targets.margins:
        for j, var in enumerate(m.variables):
            cats = out.setdefault(var, [])
            for c in m.categories:
                value = c[j] if len(m.variables) > 1 and isinstance(c, tuple) else c
                if value not in cats:
                    cats.append(value)
    return out


def _column_score(df: pd.DataFrame, col: str, var: str, cats: Sequence[Hashable]) -> float:
    """How well column ``col`` could stand for target variable ``var`` (0 = not at all)."""
    name_a, name_b = col.casefold(), var.casefold()
    name = 1.0 if name_a == name_b else 0.9 if name_a in _NAME_SYNONYMS.get(name_b, ()) else (
        _ratio(name_a, name_b)
    )
    s = df[col]
    content = 0.0
    if _is_numeric(s):
        bands = _target_bands(cats)
        values = s.dropna().to_numpy(dtype=float)
        if bands and len(values) and np.all(np.mod(values, 1) == 0):
            lo = min(b[1] for b in bands)
            if values.min() >= lo and values.max() <= 120:
                content = 0.5
    else:
        observed = _observed(s)
        if observed and len(observed) <= 4 * len(cats) + 5:
            pairs = _pair_categories(observed, cats)
            sure = sum(1 for _, how in pairs.values() if how != "guess")
            content = sure / len(cats)
    if content < 0.5 and name < 0.75:
        return 0.0
    return content + name


def _candidates(df: pd.DataFrame, var: str, cats: Sequence[Hashable]) -> list[str]:
    """Columns that could be target variable ``var``, best first."""
    scored = [
        (score, str(col))
        for col in df.columns
        if isinstance(col, str) and (score := _column_score(df, col, var, cats)) > 0
    ]
    scored.sort(key=lambda x: -x[0])
    return [c for _, c in scored]


def match_columns(df: pd.DataFrame, targets: Targets) -> dict[str, list[str]]:
    """For each target variable, the data columns that could stand for it, best first.

    A column with the target's name comes first; others qualify by their name (close
    spellings, and names agencies use such as ``gender`` for ``sex``) and by their content
    (categories that match the target's once case, spacing and wording are ignored, or whole
    numbers that fit age bands).

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import datasets
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Man", "Woman"]), "age": [23, 71]})
    >>> match_columns(df, datasets.england_adult_targets(["sex", "age_group"]))
    {'sex': ['gender'], 'age_group': ['age']}
    """
    plain = plain_frame(df)
    return {var: _candidates(plain, var, cats) for var, cats in _target_categories(targets).items()}


# ---------------------------------------------------------------------------- TOML


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_str(key)


def _toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML does not allow raw."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_number(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _toml_scalar(v: int | float | str) -> str:
    return _toml_str(v) if isinstance(v, str) else _toml_number(float(v))


# ---------------------------------------------------------------------------- Mapping


def _problem_list(problems: Sequence[str], what: str) -> DelibpollError:
    lines = "\n".join(f"  - {p}" for p in problems)
    return DelibpollError(f"{what} ({len(problems)} problem(s)):\n{lines}")


def _did_you_mean(value: object, options: Sequence[Hashable]) -> str:
    near = _near(value, options)
    if not near:
        near = [str(x) for x in difflib.get_close_matches(str(value), [str(o) for o in options])]
    return f"; did you mean {' or '.join(repr(str(x)) for x in near)}?" if near else ""


def _did_you_mean_name(name: str, names: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, list(names), n=3, cutoff=0.7)
    return f"; did you mean {' or '.join(repr(x) for x in near)}?" if near else ""


@dataclass(frozen=True)
class Mapping:
    """How to turn a survey file's variables and categories into the targets' vocabulary.

    Build it with :meth:`from_toml` (a mapping file), :meth:`from_toml_text` or
    :meth:`from_dict` (a config section with the same keys); the file format is in the
    module docstring and in docs/mapping.md. Frozen: every field is a tuple of pairs.

    Attributes
    ----------
    rename : tuple of (str, str)
        ``(name in the file, new name)``.
    recode : tuple of (str, tuple of (str, str))
        Per variable, ``(category in the file, new category)``.
    bands : tuple of (str, tuple of (str, float, float))
        Per numeric variable, ``(label, lowest, highest)``, both ends included, in order.
    missing : tuple of (str, rule)
        Per variable, ``"keep"``, ``"missing"`` or a tuple of codes or labels to keep.

    Examples
    --------
    >>> import pandas as pd
    >>> m = Mapping.from_toml_text('''
    ... [rename]
    ... gender = "sex"
    ... [recode.gender]
    ... Man = "Male"
    ... Woman = "Female"
    ... ''')
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Woman", "Man", "Woman"])})
    >>> m.apply(df)["sex"].tolist()
    ['Female', 'Male', 'Female']
    >>> list(df.columns)  # the input is not changed
    ['gender']
    """

    rename: tuple[tuple[str, str], ...] = ()
    recode: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    bands: tuple[tuple[str, tuple[tuple[str, float, float], ...]], ...] = ()
    missing: tuple[tuple[str, MissingRule], ...] = ()

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_toml(cls, path: str | Path) -> Mapping:
        """Read a mapping file (TOML). Errors name the file, and the line for bad TOML."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DelibpollError(f"Mapping file '{p}' does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DelibpollError(f"Could not read mapping file '{p}': {exc}.") from None
        return cls.from_toml_text(text, source=f"mapping file '{p}'")

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "the mapping") -> Mapping:
        """Parse mapping TOML given as text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DelibpollError(f"{source[0].upper()}{source[1:]} is not valid TOML: {exc}.") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any], *, source: str = "the mapping") -> Mapping:
        """A mapping from a dict shaped like the TOML file (e.g. a config's ``[mapping]``).

        Every problem (unknown sections, values of the wrong type, overlapping bands) is
        reported in one :class:`~delibpoll.DelibpollError`.
        """
        if not isinstance(data, AbcMapping):
            raise DelibpollError(
                f"{source} must be a table (dict) with sections {list(SECTIONS)}. "
                f"Got {type(data).__name__} instead."
            )
        problems: list[str] = []
        for key in data:
            if key not in SECTIONS:
                problems.append(f"unknown section [{key}]{_did_you_mean_name(str(key), SECTIONS)} "
                                f"Sections are {', '.join(f'[{s}]' for s in SECTIONS)}.")

        def table(name: str) -> AbcMapping[str, Any]:
            value = data.get(name, {})
            if not isinstance(value, AbcMapping):
                problems.append(f"[{name}] must be a table, got {value!r}")
                return {}
            return value

        rename: list[tuple[str, str]] = []
        for old, new in table("rename").items():
            if not isinstance(new, str) or not new.strip():
                problems.append(f"[rename] {old} must be a new name in quotes, got {new!r}")
            else:
                rename.append((str(old), new))
        news = [n for _, n in rename]
        for n in sorted({n for n in news if news.count(n) > 1}):
            olds = [o for o, x in rename if x == n]
            problems.append(f"[rename] gives {len(olds)} variables the name {n!r}: {olds}")

        recode: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        for var, pairs in table("recode").items():
            if not isinstance(pairs, AbcMapping):
                problems.append(
                    f"[recode] {var} must be a table [recode.{_toml_key(var)}] of "
                    f'"old" = "new" lines, got {pairs!r}'
                )
                continue
            good = []
            for old, new in pairs.items():
                if not isinstance(new, str):
                    problems.append(
                        f"[recode.{_toml_key(var)}] {_toml_str(old)} must be a category in "
                        f"quotes, got {new!r}"
                    )
                else:
                    good.append((str(old), new))
            recode.append((str(var), tuple(good)))

        bands: list[tuple[str, tuple[tuple[str, float, float], ...]]] = []
        for var, spec in table("bands").items():
            head = f"[bands.{_toml_key(var)}]"
            if not isinstance(spec, AbcMapping) or not spec:
                problems.append(f'{head} must be a table of "label" = [lowest, highest] lines')
                continue
            rows = []
            for label, rng in spec.items():
                ok = (
                    isinstance(rng, list) and len(rng) == 2
                    and all(isinstance(x, int | float) and not isinstance(x, bool) for x in rng)
                    and not any(math.isnan(float(x)) for x in rng)
                )
                if not ok:
                    problems.append(
                        f"{head} {_toml_str(label)} must be [lowest, highest] (two numbers; "
                        f"inf for no upper end), got {rng!r}"
                    )
                elif float(rng[0]) > float(rng[1]):
                    problems.append(f"{head} {_toml_str(label)} = {rng!r} has lowest > highest")
                else:
                    rows.append((str(label), float(rng[0]), float(rng[1])))
            ordered = sorted(rows, key=lambda r: r[1])
            for a, b in zip(ordered, ordered[1:], strict=False):
                if b[1] <= a[2]:
                    problems.append(
                        f"{head} bands {a[0]!r} [{_toml_number(a[1])}, {_toml_number(a[2])}] "
                        f"and {b[0]!r} [{_toml_number(b[1])}, {_toml_number(b[2])}] overlap"
                    )
            bands.append((str(var), tuple(rows)))

        missing: list[tuple[str, MissingRule]] = []
        for var, rule in table("missing").items():
            if rule in ("keep", "missing"):
                missing.append((str(var), str(rule)))
            elif isinstance(rule, list) and rule and all(
                isinstance(x, int | float | str) and not isinstance(x, bool) for x in rule
            ):
                missing.append((str(var), tuple(rule)))
            else:
                problems.append(
                    f'[missing] {_toml_key(str(var))} must be "keep", "missing" or a list of '
                    f"codes or labels to keep (e.g. [99]), got {rule!r}"
                )
        if problems:
            raise _problem_list(problems, f"{source[0].upper()}{source[1:]} is not valid")
        return cls(tuple(rename), tuple(recode), tuple(bands), tuple(missing))

    # ------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """The mapping as the dict :meth:`from_dict` reads (bands as ``[lowest, highest]``)."""
        out: dict[str, Any] = {}
        if self.rename:
            out["rename"] = dict(self.rename)
        if self.recode:
            out["recode"] = {v: dict(p) for v, p in self.recode}
        if self.bands:
            out["bands"] = {v: {lab: [lo, hi] for lab, lo, hi in b} for v, b in self.bands}
        if self.missing:
            out["missing"] = {v: (r if isinstance(r, str) else list(r)) for v, r in self.missing}
        return out

    def to_toml(self) -> str:
        """The mapping file text (round-trips through :meth:`from_toml_text`)."""
        lines: list[str] = []
        if self.missing:
            lines.append("[missing]")
            for var, rule in self.missing:
                value = _toml_str(rule) if isinstance(rule, str) else (
                    "[" + ", ".join(_toml_scalar(x) for x in rule) + "]"
                )
                lines.append(f"{_toml_key(var)} = {value}")
            lines.append("")
        for var, rows in self.bands:
            lines.append(f"[bands.{_toml_key(var)}]")
            lines += [
                f"{_toml_str(lab)} = [{_toml_number(lo)}, {_toml_number(hi)}]"
                for lab, lo, hi in rows
            ]
            lines.append("")
        for var, pairs in self.recode:
            lines.append(f"[recode.{_toml_key(var)}]")
            lines += [f"{_toml_str(old)} = {_toml_str(new)}" for old, new in pairs]
            lines.append("")
        if self.rename:
            lines.append("[rename]")
            lines += [f"{_toml_key(old)} = {_toml_str(new)}" for old, new in self.rename]
            lines.append("")
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return bool(self.rename or self.recode or self.bands or self.missing)

    # ------------------------------------------------------------ apply
    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        """A new frame with the mapping applied; ``df`` is not modified.

        Rows and their order and index are kept. ``attrs`` follow the changes: variable and
        value labels move with renamed variables and recoded categories, user-missing codes
        that are kept as categories leave ``missing_codes``/``missing_reasons`` and codes set
        missing enter them; ``attrs["mapping"]`` records the mapping (as :meth:`to_dict`).

        Raises
        ------
        DelibpollError
            One error listing every problem: variables that are not in the data, categories
            to recode that do not occur (with near matches), values outside every band,
            user-missing rules for variables without user-missing codes, renames onto an
            existing column.
        """
        df = to_pandas(df, "Mapping.apply", "df")
        problems: list[str] = []
        columns = [c for c in df.columns]
        renamed_to = {new: old for old, new in self.rename}

        def resolve(var: str, section: str) -> str | None:
            if var in columns:
                return var
            if var in renamed_to and renamed_to[var] in columns:
                return renamed_to[var]
            problems.append(
                f"{section} names variable {var!r}, which is not in the data"
                f"{_did_you_mean_name(var, [str(c) for c in columns])}"
            )
            return None

        attrs: dict[str, Any] = {str(k): copy.deepcopy(v) for k, v in df.attrs.items()}
        out = plain_frame(df)
        for key in _LABEL_ATTRS:
            attrs[key] = dict(attrs.get(key) or {})

        for var, rule in self.missing:
            col = resolve(var, f"[missing] {_toml_key(var)}")
            if col is not None:
                self._apply_missing(out, attrs, col, rule, problems)
        for var, rows in self.bands:
            col = resolve(var, f"[bands.{_toml_key(var)}]")
            if col is not None:
                self._apply_bands(out, attrs, col, rows, problems)
        for var, pairs in self.recode:
            col = resolve(var, f"[recode.{_toml_key(var)}]")
            if col is not None:
                self._apply_recode(out, attrs, col, pairs, problems)

        names: dict[str, str] = {}
        for old, new in self.rename:
            if old not in columns:
                problems.append(
                    f"[rename] {_toml_key(old)}: there is no variable {old!r} in the data"
                    f"{_did_you_mean_name(old, [str(c) for c in columns])}"
                )
            else:
                names[old] = new
        leaving = set(names)
        for old, new in names.items():
            if new in columns and new not in leaving and new != old:
                problems.append(
                    f"[rename] {_toml_key(old)} = {_toml_str(new)}: the data already has a "
                    f"variable {new!r}; rename or drop that one first"
                )
        if problems:
            raise _problem_list(problems, "The mapping does not fit the data")
        if names:
            out = out.rename(columns=names)
            for key in _LABEL_ATTRS:
                attrs[key] = {names.get(k, k): v for k, v in attrs[key].items()}
        attrs["mapping"] = self.to_dict()
        out.attrs = {}
        out.attrs.update(attrs)
        return out

    @staticmethod
    def _apply_missing(
        out: pd.DataFrame, attrs: dict[str, Any], col: str, rule: MissingRule,
        problems: list[str],
    ) -> None:
        head = f"[missing] {_toml_key(col)}"
        codes: dict[Any, str] = dict(attrs["missing_codes"].get(col) or {})
        reasons: dict[Hashable, list[Any]] = dict(attrs["missing_reasons"].get(col) or {})
        s = out[col]
        if not codes:
            if rule != "missing":
                problems.append(
                    f"{head}: {col!r} has no declared user-missing codes (none in "
                    "attrs['missing_codes']; a CSV file has none), so there is nothing to keep"
                )
            return
        if rule == "keep":
            keep = set(codes)
        elif rule == "missing":
            keep = set()
        else:
            keep = set()
            for item in rule:
                hit = [c for c, lab in codes.items() if c == item or lab == item]
                if not hit:
                    shown = ", ".join(f"{c} {lab!r}" for c, lab in codes.items())
                    problems.append(
                        f"{head}: {item!r} is not a user-missing code or label of {col!r} "
                        f"(it has {shown})"
                    )
                keep.update(hit)
        if keep and not isinstance(s.dtype, pd.CategoricalDtype):
            problems.append(
                f"{head}: {col!r} is not categorical (dtype {s.dtype}), so its user-missing "
                f"codes cannot become categories; use {head} = \"missing\" or leave it out"
            )
            return
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            new_cats = [c for c in cats if not any(
                lab == c and code not in keep for code, lab in codes.items())]
            new_cats += [codes[c] for c in sorted(keep, key=str) if codes[c] not in new_cats]
            values = s.astype(object).copy()
            # restore kept codes from the reasons; record newly missing ones
            restore = {
                idx: label for idx, (code, label) in reasons.items()
                if code in keep and idx in values.index
            }
            if restore:
                fill = pd.Series(restore, dtype=object).reindex(values.index)
                values = values.where(fill.isna(), fill)
                for idx in restore:
                    del reasons[idx]
            drop_labels = {lab: code for code, lab in codes.items() if code not in keep}
            hits = values.isin(list(drop_labels))
            for idx, label in values[hits].items():
                reasons[idx] = [drop_labels[label], label]
            values = values.mask(hits)
            out[col] = pd.Series(
                pd.Categorical(values, categories=new_cats, ordered=s.cat.ordered),
                index=s.index, name=col,
            )
        else:
            num = pd.to_numeric(s, errors="coerce")
            hits = num.isin(list(codes))
            for idx, code in num[hits].items():
                reasons[idx] = [code, codes[code]]
            out[col] = s.mask(hits)
        remaining = {c: lab for c, lab in codes.items() if c not in keep}
        if remaining:
            attrs["missing_codes"][col] = remaining
        else:
            attrs["missing_codes"].pop(col, None)
        if reasons:
            attrs["missing_reasons"][col] = reasons
        else:
            attrs["missing_reasons"].pop(col, None)

    @staticmethod
    def _apply_bands(
        out: pd.DataFrame, attrs: dict[str, Any], col: str,
        rows: tuple[tuple[str, float, float], ...], problems: list[str],
    ) -> None:
        head = f"[bands.{_toml_key(col)}]"
        s = out[col]
        if not _is_numeric(s):
            problems.append(f"{head}: {col!r} is not numeric (dtype {s.dtype}); bands need numbers")
            return
        x = s.to_numpy(dtype=float, na_value=np.nan)
        labels = np.full(len(x), None, dtype=object)
        for lab, lo, hi in rows:
            labels[(x >= lo) & (x <= hi)] = lab
        outside = ~np.isnan(x) & pd.isna(labels)
        if outside.any():
            bad = sorted(set(x[outside].tolist()))
            shown = ", ".join(_toml_number(v) for v in bad[:8]) + (" ..." if len(bad) > 8 else "")
            problems.append(
                f"{head}: {int(outside.sum())} value(s) of {col!r} are in no band ({shown}); "
                "widen a band or add one (both ends are included: [18, 24] holds 18 and 24)"
            )
            return
        cats = [lab for lab, _, _ in rows]
        out[col] = pd.Series(
            pd.Categorical(labels, categories=cats, ordered=True), index=s.index, name=col
        )
        attrs["value_labels"][col] = {i + 1: lab for i, lab in enumerate(cats)}

    @staticmethod
    def _apply_recode(
        out: pd.DataFrame, attrs: dict[str, Any], col: str,
        pairs: tuple[tuple[str, str], ...], problems: list[str],
    ) -> None:
        head = f"[recode.{_toml_key(col)}]"
        s = out[col]
        lookup: dict[Any, str] = {}
        if isinstance(s.dtype, pd.CategoricalDtype) or not _is_numeric(s):
            known = list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype) else (
                _observed(s)
            )
            missing_labels = set((attrs["missing_codes"].get(col) or {}).values())
            for old, new in pairs:
                if old in known:
                    lookup[old] = new
                elif old in missing_labels:
                    problems.append(
                        f"{head} {_toml_str(old)}: {old!r} is a user-missing code of {col!r}, "
                        f"so it is a missing value, not a category; keep it first with "
                        f'[missing] {_toml_key(col)} = "keep"'
                    )
                else:
                    problems.append(
                        f"{head} {_toml_str(old)}: {col!r} has no category {old!r}"
                        f"{_did_you_mean(old, known)} Its categories: "
                        f"{', '.join(repr(str(k)) for k in known)}"
                    )
        else:
            present = sorted(set(pd.to_numeric(s).dropna().tolist()))
            for old, new in pairs:
                try:
                    code: Any = float(old)
                except ValueError:
                    problems.append(
                        f"{head} {_toml_str(old)}: {col!r} holds numbers, so each line must "
                        f'label a number ("1" = "Female"); use [bands.{_toml_key(col)}] for ranges'
                    )
                    continue
                code = int(code) if code.is_integer() else code
                if code not in present:
                    problems.append(f"{head} {_toml_str(old)}: {col!r} has no value {old}")
                lookup[code] = new
            unlabelled = [v for v in present if v not in lookup]
            if unlabelled:
                problems.append(
                    f"{head}: values {unlabelled[:8]} of {col!r} have no label; a recode of "
                    "a numeric variable must label every value that occurs"
                )
                return
        if any(p.startswith(head) for p in problems):
            return
        if isinstance(s.dtype, pd.CategoricalDtype):
            old_cats: list[Any] = list(s.cat.categories)
        elif _is_numeric(s):
            old_cats = sorted(lookup)
        else:
            old_cats = _observed(s)
        new_cats = list(dict.fromkeys(lookup.get(c, c) for c in old_cats))
        values = s.astype(object).map(lambda v: lookup.get(v, v) if pd.notna(v) else None)
        ordered = bool(s.cat.ordered) if isinstance(s.dtype, pd.CategoricalDtype) else False
        if isinstance(s.dtype, pd.CategoricalDtype) or _is_numeric(s):
            out[col] = pd.Series(
                pd.Categorical(values, categories=new_cats, ordered=ordered),
                index=s.index, name=col,
            )
        else:
            out[col] = values.astype(s.dtype) if s.dtype != object else values
        vlabels = attrs["value_labels"].get(col)
        if vlabels:
            attrs["value_labels"][col] = {
                k: lookup.get(v, v) if not _is_numeric(s) else lookup.get(_code(k), v)
                for k, v in vlabels.items()
            }
        elif _is_numeric(s):
            attrs["value_labels"][col] = {k: v for k, v in lookup.items()}


def _code(k: Any) -> Any:
    return int(k) if isinstance(k, float) and k.is_integer() else k


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Problem:
    """One way a frame does not match a set of targets.

    Attributes
    ----------
    kind : {"variable", "category", "numeric", "missing_values", "absent_category"}
        A target variable with no column of that name; a data category with no target
        category; a numeric column where the targets have categories; missing values in a
        weighting variable; a target category no row has.
    variable : str
        The target variable.
    column : str or None
        The data column checked for it (the best match when ``variable`` is not a column).
    value : str or None
        The data category (``kind="category"``) or target category (``"absent_category"``).
    suggestions : tuple of str
        Near matches, best first (column names, or target categories).
    fix : str
        Mapping-file lines that would fix it ("" when no line can).
    message : str
        One sentence saying what is wrong.
    """

    kind: ProblemKind
    variable: str
    column: str | None
    value: str | None
    suggestions: tuple[str, ...]
    fix: str
    message: str

    def __str__(self) -> str:
        if not self.fix:
            return self.message
        fix = self.fix.replace("\n", "\n      ")
        return f"{self.message}\n    fix: {fix}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "variable": self.variable, "column": self.column,
            "value": self.value, "suggestions": list(self.suggestions), "fix": self.fix,
            "message": self.message,
        }


def _recode_line(col: str, old: object, new: object) -> str:
    return f"[recode.{_toml_key(col)}] {_toml_str(str(old))} = {_toml_str(str(new))}"


def _bands_lines(col: str, bands: Sequence[tuple[str, float, float]]) -> str:
    rows = [f"{_toml_str(lab)} = [{_toml_number(lo)}, {_toml_number(hi)}]" for lab, lo, hi in bands]
    return f"[bands.{_toml_key(col)}]\n" + "\n".join(rows)


def check_against_targets(df: pd.DataFrame, targets: Targets) -> list[Problem]:
    """Every way ``df`` does not match ``targets``, each with near matches and a fix.

    For each target variable (the parts of joint margins too): is there a column of that
    name (else which columns could it be, judged by name and content); does every category
    that occurs have a target (else which target category it looks like, ignoring case,
    spacing, punctuation and age wording); is the column categorical; has it missing values
    (weighting needs a category for every row); has every target category some rows. When
    a variable is missing, the best matching column is checked in its place, so one call
    lists everything the mapping must say.

    Parameters
    ----------
    df : pandas.DataFrame
        The survey data (after any mapping already applied).
    targets : Targets
        The population margins.

    Returns
    -------
    list of Problem
        Empty when ``df`` can be weighted to ``targets`` as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import datasets
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Man", "Woman", "Woman"])})
    >>> for p in check_against_targets(df, datasets.england_adult_targets(["sex"])):
    ...     print(p.fix)
    [rename] gender = "sex"
    [recode.gender] "Man" = "Male"
    [recode.gender] "Woman" = "Female"
    """
    df = to_pandas(df, "check_against_targets", "df")
    if not isinstance(targets, Targets):
        raise DelibpollError(
            "The 'targets' parameter of check_against_targets must be a Targets object "
            f"(e.g. Targets.from_csv(path)). Got {type(targets).__name__} instead."
        )
    problems: list[Problem] = []
    df = plain_frame(df)
    for var, cats in _target_categories(targets).items():
        col: str | None = var if var in df.columns else None
        if col is None:
            cands = _candidates(df, var, cats)
            if cands:
                col = cands[0]
                problems.append(Problem(
                    "variable", var, col, None, tuple(cands),
                    f"[rename] {_toml_key(col)} = {_toml_str(var)}",
                    f"The targets have variable {var!r} but the data has no column of that "
                    f"name; did you mean {' or '.join(repr(c) for c in cands[:3])}?",
                ))
            else:
                near = difflib.get_close_matches(var, [str(c) for c in df.columns], cutoff=0.5)
                problems.append(Problem(
                    "variable", var, None, None, tuple(near), "",
                    f"The targets have variable {var!r} but the data has no column of that "
                    "name, and no column looks like it"
                    + (f" (closest names: {', '.join(near)})" if near else "") + ".",
                ))
                continue
        problems += _check_column(df[col], var, col, cats)
    return problems


def _check_column(
    s: pd.Series, var: str, col: str, cats: Sequence[Hashable]
) -> list[Problem]:
    out: list[Problem] = []
    if _is_numeric(s):
        bands = _target_bands(cats)
        values = s.dropna()
        span = f" ({_toml_number(float(values.min()))} to {_toml_number(float(values.max()))})" if (
            len(values)) else ""
        fix = _bands_lines(col, bands) if bands else ""
        out.append(Problem(
            "numeric", var, col, None, (), fix,
            f"Column {col!r} holds numbers{span} but the targets of {var!r} are categories "
            f"({', '.join(repr(str(c)) for c in cats)}); "
            + ("put the numbers into bands" if bands else
               "label its codes with [recode] lines, or read the file with its value labels"),
        ))
        return out
    observed = _observed(s)
    pairs = _pair_categories(observed, cats)
    used: set[Hashable] = set()
    for d in observed:
        if d in cats:
            used.add(d)
            continue
        if d in pairs:
            t, how = pairs[d]
            used.add(t)
            near = [t] if how != "guess" else [t] + [x for x in _near(d, cats) if x != t][:2]
            kind = {"normalized": "differs only in case, spacing or wording from",
                    "synonym": "looks like", "guess": "may be"}.get(how, "may be")
            out.append(Problem(
                "category", var, col, str(d), tuple(str(x) for x in near),
                _recode_line(col, d, t),
                f"{col}: category {str(d)!r} has no target ({kind} {str(t)!r}); did you mean "
                f"{' or '.join(repr(str(x)) for x in near)}?",
            ))
        else:
            near = _near(d, cats)
            out.append(Problem(
                "category", var, col, str(d), tuple(str(x) for x in near),
                _recode_line(col, d, near[0]) if near else "",
                f"{col}: category {str(d)!r} has no target"
                + (f"; did you mean {' or '.join(repr(str(x)) for x in near)}?" if near else
                   f" (targets: {', '.join(repr(str(c)) for c in cats)}); recode it into one "
                   "of them, or weight with unmatched categories kept at their share"),
            ))
    for t in cats:
        if t not in used:
            out.append(Problem(
                "absent_category", var, col, str(t), (), "",
                f"{col}: target category {str(t)!r} of {var!r} has no respondents; a target "
                "cannot be met without rows (merge it with a neighbour in targets and data)",
            ))
    n_missing = int(s.isna().sum())
    if n_missing:
        out.append(Problem(
            "missing_values", var, col, None, (), "",
            f"{col}: {n_missing} row(s) have no value; weighting needs a category for every "
            "row (keep user-missing codes as categories with [missing], or recode them)",
        ))
    return out


def validate_against_targets(df: pd.DataFrame, targets: Targets) -> None:
    """Raise one :class:`~delibpoll.DelibpollError` listing every mismatch, or return None.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import datasets
    >>> df = pd.DataFrame({"region": pd.Categorical(["Yorkshire and the Humber", "London"])})
    >>> validate_against_targets(df, datasets.england_adult_targets(["region"]))
    Traceback (most recent call last):
    ...
    delibpoll.exceptions.DelibpollError: The data do not match the targets (8 problem(s)):
      - region: category 'Yorkshire and the Humber' has no target (differs only in case, spacing or wording from 'Yorkshire and The Humber'); did you mean 'Yorkshire and The Humber'?
        fix: [recode.region] "Yorkshire and the Humber" = "Yorkshire and The Humber"
      - region: target category 'North East' of 'region' has no respondents; ...
    """
    problems = check_against_targets(df, targets)
    if problems:
        raise _problem_list([str(p) for p in problems], "The data do not match the targets")


# ---------------------------------------------------------------------------- suggesting


def suggest_mapping(df: pd.DataFrame, targets: Targets) -> str:
    """A starter mapping file (TOML text) for ``df`` and ``targets``, guesses marked.

    Lines that only fix case, spacing, punctuation or the wording of age ranges are marked
    ``# case/spacing/wording``; every
    other choice (a rename, a recode by likeness, bands read from the target labels) is
    marked ``# guess: check``; categories with no likely target are written commented out
    with the target categories to choose from. Variables with user-missing codes are listed,
    commented out, in ``[missing]``. The text is valid TOML as written.

    Examples
    --------
    >>> import pandas as pd
    >>> from delibpoll import datasets
    >>> df = pd.DataFrame({"gender": pd.Categorical(["Man", "Woman"])})
    >>> print(suggest_mapping(df, datasets.england_adult_targets(["sex"])))
    # delibpoll mapping file: suggested for 2 rows and the targets sex.
    # Review every line marked "guess: check". Variables are named as in the data file;
    # [rename] is applied last. See docs/mapping.md.
    <BLANKLINE>
    [recode.gender]
    "Man" = "Male"  # guess: check
    "Woman" = "Female"  # guess: check
    <BLANKLINE>
    [rename]
    gender = "sex"  # guess: check (other candidates: none)
    <BLANKLINE>
    """
    tcats = _target_categories(targets)
    missing_codes = df.attrs.get("missing_codes") or {}
    df = plain_frame(df)
    renames: list[str] = []
    recodes: dict[str, list[str]] = {}
    bands: list[str] = []
    for var, cats in tcats.items():
        if var in df.columns:
            col = var
        else:
            cands = _candidates(df, var, cats)
            if not cands:
                renames.append(f"# {_toml_key(var)}: no column looks like it; add a line "
                               f'<name in the file> = {_toml_str(var)}')
                continue
            col = cands[0]
            others = ", ".join(cands[1:4]) or "none"
            renames.append(f"{_toml_key(col)} = {_toml_str(var)}  # guess: check "
                           f"(other candidates: {others})")
        s = df[col]
        if _is_numeric(s):
            tb = _target_bands(cats)
            if tb:
                bands.append(f"[bands.{_toml_key(col)}]  # guess: check (read from the "
                             "target labels)")
                bands += [f"{_toml_str(lab)} = [{_toml_number(lo)}, {_toml_number(hi)}]"
                          for lab, lo, hi in tb]
                bands.append("")
            continue
        lines = recodes.setdefault(col, [])
        pairs = _pair_categories(_observed(s), cats)
        for d in _observed(s):
            if d in cats:
                continue
            if d in pairs:
                t, how = pairs[d]
                mark = "case/spacing/wording" if how == "normalized" else "guess: check"
                lines.append(f"{_toml_str(str(d))} = {_toml_str(str(t))}  # {mark}")
            else:
                choices = ", ".join(repr(str(c)) for c in cats)
                lines.append(f'# {_toml_str(str(d))} = ""  # no target looks like this; one '
                             f"of {choices}")
    missing_lines = []
    for col, codes in missing_codes.items():
        if col in df.columns and codes:
            shown = ", ".join(f"{_toml_scalar(c)} {_toml_str(str(lab))}" for c, lab in codes.items())
            missing_lines.append(f'# {_toml_key(str(col))} = "keep"  # user-missing: {shown}')
    names = ", ".join(tcats)
    text = [
        f"# delibpoll mapping file: suggested for {len(df)} rows and the targets {names}.",
        '# Review every line marked "guess: check". Variables are named as in the data file;',
        "# [rename] is applied last. See docs/mapping.md.",
        "",
    ]
    if missing_lines:
        text += ["[missing]  # user-missing codes stay missing unless a line says keep"]
        text += missing_lines + [""]
    text += bands
    for col, lines in recodes.items():
        if lines:
            text += [f"[recode.{_toml_key(col)}]", *lines, ""]
    if renames:
        text += ["[rename]", *renames, ""]
    return "\n".join(text)

