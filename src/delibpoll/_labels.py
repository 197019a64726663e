"""What a reader sees for a variable and its categories: labels, not names (base layer).

A :class:`Labels` resolves the words shown for a variable (``q_pact`` -> "Would a Data Pact
increase or decrease your confidence in how the NHS uses data?") and for its categories
(code ``1`` -> "Female"), from three sources in priority order:

1. **the report author's labels**: ``labels=`` in the Python API or a ``[labels]`` table in
   the config (:meth:`Labels.from_mapping`, :meth:`Labels.from_toml_table`);
2. **the file's metadata**, as :func:`delibpoll.read_survey` keeps it in ``DataFrame.attrs``:
   ``variable_labels`` ``{column: label}``, ``value_labels`` ``{column: {code: label}}`` and
   ``missing_codes`` ``{column: {code: label}}`` (:meth:`Labels.from_attrs`);
3. **a readable fallback** made from the name (:func:`readable_name`), never the name itself.

The author's mapping, in Python or in TOML, takes either or both of two shapes::

    labels = {
        "q_pact": "Would a Data Pact increase your confidence?",  # a variable's label
        "q_pact:Increase confidence": "Increase",                 # "variable:category"
        "variables": {"age_group": "Age"},                          # the nested shape
        "values": {"sex": {"F": "Female", "M": "Male"}},
    }

.. code-block:: toml

    [labels]
    q_pact = "Would a Data Pact increase your confidence?"
    "q_pact:Increase confidence" = "Increase"

    [labels.variables]
    age_group = "Age"

    [labels.values.sex]
    F = "Female"
    M = "Male"

A category key is matched to the data however it is stored: TOML keys are text, so ``"1"``
matches the code ``1`` (or ``1.0`` as SPSS stores it), and a key given as a file code also
matches the data once :func:`read_survey` has turned the codes into their labels. A
``"variable:category"`` key splits at its first colon; a variable whose name contains a colon
uses the nested shape.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .exceptions import DelibpollError

__all__ = ["ItemLabels", "Labels", "readable_name", "wrap"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Lower-case name parts written as acronyms by the fallback (``respondent_id`` -> "Respondent ID").
ACRONYMS: dict[str, str] = {
    "id": "ID", "nhs": "NHS", "uk": "UK", "gp": "GP", "ons": "ONS", "ci": "CI",
}
#: Last name parts that mark a before/after measurement (``q_pact_pre`` -> "Pact (before)").
TIMING: dict[str, str] = {"pre": "(before)", "post": "(after)", "before": "(before)",
                          "after": "(after)"}
#: Value labels of a 0/1 item that say only "chosen", so they cannot name the item.
_GENERIC_CHOSEN = {"yes", "selected", "ticked", "mentioned", "chosen", "checked", "1", "true"}
_SEPARATORS = (": ", " - ", " \u2013 ", " \u2014 ", "? ")
_QUESTION = re.compile(r"^[qQ](?P<num>\d+[a-zA-Z]?)?(?:[_\-.\s]+|$)")
_NUMERIC_TEXT = re.compile(r"^[-+]?\d+(?:\.\d+)?$")


class _FrozenMap(Mapping[K, V]):
    """A read-only, hashable, picklable mapping."""

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._d: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._d[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(frozenset(self._d.items()))

    def __repr__(self) -> str:
        return repr(self._d)


def _canon(value: object) -> Hashable:
    """One spelling of a category key: 1, 1.0, np.int64(1) and "1" are the same code."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        f = float(value)
        return int(f) if f.is_integer() else f
    if isinstance(value, str) and _NUMERIC_TEXT.match(value.strip()):
        return _canon(float(value)) if "." in value else int(value)
    return value if isinstance(value, Hashable) else str(value)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _plain_number(value: float | int) -> str:
    """A number in fixed notation with the digits it has (1.0 -> "1", 1e-05 -> "0.00001")."""
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))).normalize(), "f")


def readable_name(name: object) -> str:
    """A readable label made from a variable name, for variables the file does not label.

    The rule:

    * the name is split into words at ``_``, ``-``, ``.``, spaces and camelCase humps
      (``ageGroup``, ``AgeGroup``, ``age_group`` -> "Age group"), and written in sentence
      case; parts written in capitals in the name stay so (``NHSTrust`` -> "NHS trust"), and a
      few lower-case parts are known acronyms (:data:`ACRONYMS`: ``respondent_id`` ->
      "Respondent ID");
    * a question-number prefix is written as the questionnaire writes it: ``q1_age`` ->
      "Q1: Age", ``Q12b_trust`` -> "Q12b: Trust"; a bare ``q_`` prefix only says "question",
      so it is dropped: ``q_pact`` -> "Pact";
    * a last part ``pre``/``post`` (or ``before``/``after``) marks a before/after
      measurement: ``q_pact_pre`` -> "Pact (before)".

    Examples
    --------
    >>> [readable_name(n) for n in ["age_group", "q_pact", "q1_age", "Q12b_trust", "q1"]]
    ['Age group', 'Pact', 'Q1: Age', 'Q12b: Trust', 'Q1']
    >>> [readable_name(n) for n in ["ageGroup", "NHSTrust", "respondent_id", "q_pact_post"]]
    ['Age group', 'NHS trust', 'Respondent ID', 'Pact (after)']
    """
    text = str(name).strip()
    prefix = ""
    m = _QUESTION.match(text)
    if m and (m.group("num") or m.end() < len(text)):
        prefix = f"Q{m.group('num')}" if m.group("num") else ""
        text = text[m.end():]
    words = _words(text)
    if words and words[-1].lower() in TIMING and len(words) > 1:
        words[-1] = TIMING[words[-1].lower()]
    if words:
        first = words[0]
        words[0] = first if first.isupper() and len(first) > 1 else first[:1].upper() + first[1:]
    body = " ".join(words)
    if prefix:
        return f"{prefix}: {body}" if body else prefix
    return body or str(name)


def _words(text: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    out = []
    for w in re.split(r"[_\-.\s]+", spaced):
        if not w:
            continue
        if w.isupper() and len(w) > 1:
            out.append(w)
        elif w.lower() in ACRONYMS:
            out.append(ACRONYMS[w.lower()])
        else:
            out.append(w.lower())
    return out


def wrap(text: str, width: int = 60) -> str:
    """Text broken into balanced lines of at most ``width`` characters, for chart titles.

    Lines break only at spaces: never inside a word nor at a hyphen (``"18-24"`` stays whole),
    and a word longer than ``width`` keeps a line of its own rather than being split. The
    lines are balanced: the fewest lines that fit, made as equal as possible, so a title never
    ends on one orphaned word. Line breaks already in the text are kept.

    Examples
    --------
    >>> wrap("Would a Data Pact increase or decrease your confidence in how the NHS uses "
    ...      "data?", 50).split("\\n")
    ['Would a Data Pact increase or decrease', 'your confidence in how the NHS uses data?']
    >>> wrap("Respondents aged 18-24", 12)
    'Respondents\\naged 18-24'
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise DelibpollError(
            f"The 'width' parameter of wrap must be an integer >= 1; got {width!r}."
        )
    return "\n".join(_balanced(par, width) for par in str(text).split("\n"))


def _balanced(par: str, width: int) -> str:
    def lines(w: int) -> list[str]:
        return textwrap.wrap(par, w, break_long_words=False, break_on_hyphens=False)

    best = lines(width)
    if len(best) <= 1:
        return best[0] if best else ""
    for w in range(width - 1, 0, -1):
        trial = lines(w)
        if len(trial) > len(best):
            break
        best = trial
    return "\n".join(best)


@dataclass(frozen=True)
class ItemLabels:
    """The words of a multi-response set: its title and one label per item (0/1 column).

    Attributes
    ----------
    title : str
        The set's label (the question).
    items : tuple of str
        The items' labels, in the order of the columns.
    """

    title: str
    items: tuple[str, ...]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise DelibpollError(
            f"{where} must be text (a label); got {value!r} ({type(value).__name__}). "
            "Put it in quotes."
        )
    if not value.strip():
        raise DelibpollError(f"{where} is empty; give the words to show or leave the key out.")
    return value.strip()


def _freeze_vars(variables: Mapping[Any, Any] | None, where: str) -> _FrozenMap[str, str]:
    if variables is None:
        return _FrozenMap()
    if not isinstance(variables, Mapping):
        raise DelibpollError(
            f"{where} must be a mapping {{variable: label}}; got {type(variables).__name__}."
        )
    out: dict[str, str] = {}
    for k, v in variables.items():
        if v is None or (isinstance(v, str) and not v.strip()):
            continue  # an unlabelled variable in a file
        out[str(k)] = _text(v, f"{where}[{k!r}]")
    return _FrozenMap(out)


def _freeze_values(
    values: Mapping[Any, Any] | None, where: str
) -> _FrozenMap[str, _FrozenMap[Hashable, str]]:
    if values is None:
        return _FrozenMap()
    if not isinstance(values, Mapping):
        raise DelibpollError(
            f"{where} must be a mapping {{variable: {{code: label}}}}; got "
            f"{type(values).__name__}."
        )
    out: dict[str, _FrozenMap[Hashable, str]] = {}
    for var, codes in values.items():
        if not isinstance(codes, Mapping):
            raise DelibpollError(
                f"{where}[{var!r}] must be a mapping {{category: label}}; got {codes!r} "
                f"({type(codes).__name__})."
            )
        inner: dict[Hashable, str] = {}
        for code, label in codes.items():
            if label is None:
                continue
            inner[_canon(code)] = _text(label, f"{where}[{var!r}][{code!r}]")
        out[str(var)] = _FrozenMap(inner)
    return _FrozenMap(out)


@dataclass(frozen=True, repr=False)
class Labels:
    """The words shown for variables and categories, with lower-priority labels below them.

    Build one with :meth:`from_attrs` (a file's labels, with the author's on top),
    :meth:`from_mapping` (``labels=``) or :meth:`from_toml_table` (``[labels]``); stack them
    with :meth:`merge`. Lookups never fail: what no source labels gets a readable fallback.

    Parameters
    ----------
    variables : mapping, optional
        ``{variable: label}``.
    values : mapping, optional
        ``{variable: {category or code: label}}``.
    missing : mapping, optional
        ``{variable: {code: label}}``: the file's declared user-missing codes ("Don't know").
    source : str, default "labels"
        Where these labels came from, as :meth:`to_frame` reports it.
    below : Labels, optional
        Labels consulted when these have none.

    Examples
    --------
    >>> attrs = {"variable_labels": {"sex": "Sex of respondent"},
    ...          "value_labels": {"sex": {1.0: "Female", 2.0: "Male"}},
    ...          "missing_codes": {"trust": {99: "Don't know"}}}
    >>> lab = Labels.from_attrs(attrs, overrides={"sex": "Sex", "sex:2": "Men"})
    >>> lab.variable("sex"), lab.variable("age_group"), lab.variable("q_pact")
    ('Sex', 'Age group', 'Pact')
    >>> lab.category("sex", 1.0), lab.category("sex", "Female"), lab.category("sex", "Male")
    ('Female', 'Female', 'Men')
    >>> lab.category("trust", 99), lab.missing_codes("trust")
    ("Don't know", {99: "Don't know"})
    """

    variables: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[Hashable, str]] = field(default_factory=dict)
    missing: Mapping[str, Mapping[Hashable, str]] = field(default_factory=dict)
    source: str = "labels"
    below: Labels | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", _freeze_vars(self.variables, "variables"))
        object.__setattr__(self, "values", _freeze_values(self.values, "values"))
        object.__setattr__(self, "missing", _freeze_values(self.missing, "missing"))
        if self.below is not None and not isinstance(self.below, Labels):
            raise DelibpollError(
                f"The 'below' parameter of Labels must be a Labels; got "
                f"{type(self.below).__name__}."
            )

    def __repr__(self) -> str:
        parts = [f"{len(self.variables)} variable labels",
                 f"{len(self.values)} value-label sets"]
        if self.missing:
            parts.append(f"{len(self.missing)} missing-code sets")
        below = f", below={self.below!r}" if self.below is not None else ""
        return f"Labels({self.source}: {', '.join(parts)}{below})"

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def from_attrs(
        cls,
        attrs: Mapping[str, Any] | None,
        overrides: Labels | Mapping[str, Any] | None = None,
    ) -> Labels:
        """A file's labels from ``DataFrame.attrs``, with the author's ``overrides`` on top.

        Parameters
        ----------
        attrs : mapping or None
            ``df.attrs`` as :func:`delibpoll.read_survey` leaves it (``variable_labels``,
            ``value_labels``, ``missing_codes``); other keys are ignored, absent keys mean no
            labels (a CSV).
        overrides : Labels or mapping, optional
            The author's labels (the shapes of :meth:`from_mapping`); they win.

        Raises
        ------
        DelibpollError
            A metadata entry is not of the shape ``read_survey`` writes, or ``overrides`` has
            an unknown shape (the message names the key).
        """
        if attrs is not None and not isinstance(attrs, Mapping):
            raise DelibpollError(
                f"The 'attrs' parameter of Labels.from_attrs must be a mapping (df.attrs); got "
                f"{type(attrs).__name__}."
            )
        a = attrs or {}
        file = cls(
            variables=a.get("variable_labels") or {},
            values=a.get("value_labels") or {},
            missing=a.get("missing_codes") or {},
            source="file",
        )
        if overrides is None:
            return file
        return file.merge(overrides)

    @classmethod
    def from_mapping(cls, labels: Mapping[str, Any], *, where: str = "labels") -> Labels:
        """The author's labels from the ``labels=`` mapping (shapes in the module notes).

        Parameters
        ----------
        labels : mapping
            ``{"variable": "label", "variable:category": "label", "variables": {...},
            "values": {"variable": {"category": "label"}}}``, any mix of the two shapes.
        where : str, default "labels"
            How error messages name the mapping.

        Raises
        ------
        DelibpollError
            A key or value of an unknown shape, an empty label, or the same label given twice
            with different words; the message names the key.

        Examples
        --------
        >>> lab = Labels.from_mapping({"q_pact": "Would a Data Pact increase your confidence?",
        ...                            "values": {"sex": {"F": "Female"}}})
        >>> lab.variable("q_pact"), lab.category("sex", "F"), lab.category("sex", "M")
        ('Would a Data Pact increase your confidence?', 'Female', 'M')
        """
        if isinstance(labels, Labels):
            return labels
        if not isinstance(labels, Mapping):
            raise DelibpollError(
                f"{where} must be a mapping of variable names to labels; got "
                f"{type(labels).__name__}. Example: {{'q_pact': 'Would a Data Pact increase "
                "your confidence?', 'sex:F': 'Female'}."
            )
        variables: dict[str, str] = {}
        values: dict[str, dict[Hashable, str]] = {}
        given: dict[tuple[str, Hashable], str] = {}

        def add_var(var: str, label: object, key: str) -> None:
            text = _text(label, f"{where} {key!r}")
            if var in variables and variables[var] != text:
                raise DelibpollError(
                    f"{where} gives variable {var!r} two labels ({variables[var]!r} and "
                    f"{text!r}); keep one."
                )
            variables[var] = text

        def add_value(var: str, cat: object, label: object, key: str) -> None:
            text = _text(label, f"{where} {key}")
            c = _canon(cat)
            if (var, c) in given and given[var, c] != text:
                raise DelibpollError(
                    f"{where} gives category {cat!r} of {var!r} two labels "
                    f"({given[var, c]!r} and {text!r}); keep one."
                )
            given[var, c] = text
            values.setdefault(var, {})[c] = text

        for key, val in labels.items():
            if not isinstance(key, str) or not key.strip():
                raise DelibpollError(
                    f"{where} keys must be variable names (text); got {key!r}."
                )
            if key in ("variables", "values") and not isinstance(val, Mapping):
                shape = "{variable: label}" if key == "variables" else (
                    "{variable: {category: label}}")
                raise DelibpollError(
                    f"{where} '{key}' must be a table {shape}; got {val!r} "
                    f"({type(val).__name__}). A variable named '{key}' is labelled inside the "
                    f"table: variables = {{{key} = \"words\"}}."
                )
            if key == "variables" and isinstance(val, Mapping):
                for var, label in val.items():
                    add_var(str(var), label, f"variables.{var}")
            elif key == "values" and isinstance(val, Mapping):
                for var, cats in val.items():
                    if not isinstance(cats, Mapping):
                        raise DelibpollError(
                            f"{where} 'values.{var}' must be a table {{category: label}}; got "
                            f"{cats!r} ({type(cats).__name__}). Example: values = "
                            "{sex = {F = \"Female\"}}."
                        )
                    for cat, label in cats.items():
                        add_value(str(var), cat, label, f"'values.{var}.{cat}'")
            elif isinstance(val, str):
                if ":" in key:
                    var, cat = key.split(":", 1)
                    if not var.strip() or not cat.strip():
                        raise DelibpollError(
                            f"{where} key {key!r} must be 'variable:category' with both parts; "
                            "e.g. 'sex:F'."
                        )
                    add_value(var, cat, val, repr(key))
                else:
                    add_var(key, val, key)
            else:
                raise DelibpollError(
                    f"{where} key {key!r} has {val!r} ({type(val).__name__}); a label must be "
                    "text. Write a variable's label as name = \"words\", a category's as "
                    "\"name:category\" = \"words\", or use the 'variables' and 'values' tables."
                )
        return cls(variables=variables, values=values, source=where)

    @classmethod
    def from_toml_table(cls, table: Mapping[str, Any]) -> Labels:
        """The author's labels from a config's ``[labels]`` table (parsed TOML).

        The shapes are those of :meth:`from_mapping`; error messages name ``[labels]``.

        Examples
        --------
        >>> import tomllib
        >>> cfg = tomllib.loads('''
        ... [labels]
        ... q_pact = "Would a Data Pact increase your confidence?"
        ... "q_pact:Increase confidence" = "Increase"
        ... [labels.values.trust_nhs]
        ... 99 = "Don't know"
        ... ''')
        >>> lab = Labels.from_toml_table(cfg["labels"])
        >>> lab.category("q_pact", "Increase confidence"), lab.category("trust_nhs", 99.0)
        ('Increase', "Don't know")
        >>> Labels.from_toml_table({"sex": 1})
        Traceback (most recent call last):
        ...
        delibpoll.exceptions.DelibpollError: [labels] key 'sex' has 1 (int); a label must be ...
        """
        return cls.from_mapping(table, where="[labels]")

    def merge(self, *others: Labels | Mapping[str, Any]) -> Labels:
        """These labels with ``others`` on top: each later one wins over all before it.

        Mappings are read with :meth:`from_mapping`.

        Examples
        --------
        >>> base = Labels(variables={"sex": "Sex of respondent", "region": "Region"})
        >>> lab = base.merge({"sex": "Sex"}, Labels(variables={"region": "English region"}))
        >>> lab.variable("sex"), lab.variable("region")
        ('Sex', 'English region')
        """
        out = self
        for other in others:
            top = other if isinstance(other, Labels) else Labels.from_mapping(other)
            for layer in reversed(top.layers()):
                out = Labels(layer.variables, layer.values, layer.missing, layer.source, out)
        return out

    # ---- lookups --------------------------------------------------------------------
    def layers(self) -> list[Labels]:
        """These labels and the ones below them, highest priority first."""
        out: list[Labels] = []
        cur: Labels | None = self
        while cur is not None:
            out.append(cur)
            cur = cur.below
        return out

    def variable(self, name: Hashable) -> str:
        """The words shown for a variable: its label, else :func:`readable_name`."""
        key = str(name)
        for layer in self.layers():
            if key in layer.variables:
                return layer.variables[key]
        return readable_name(key)

    def has_label(self, name: Hashable) -> bool:
        """Whether a source labels the variable (False: the fallback is used)."""
        return any(str(name) in layer.variables for layer in self.layers())

    def category(self, name: Hashable, value: object) -> str:
        """The words shown for one category of a variable.

        The author's label for it, else the file's value label (or missing-code label), else
        the value itself as text: a text category as it is (``"Increase confidence"``, or
        ``"not_at_all"`` -> "Not at all" when it looks like a name), a number in fixed
        notation (``1.0`` -> "1"), True/False as "Yes"/"No", a missing value as "Missing".

        A category given by its file code matches the data after ``read_survey`` turned codes
        into labels, and the other way round.
        """
        var = str(name)
        if _is_missing(value):
            return "Missing"
        layers = self.layers()
        keys: list[Hashable] = [_canon(value)]
        if isinstance(value, str):  # a label text: also try the codes that carry it
            for layer in layers:
                for table in (layer.values.get(var, {}), layer.missing.get(var, {})):
                    keys += [c for c, lab in table.items() if lab == value.strip()]
        for layer in layers:
            for table in (layer.values.get(var, {}), layer.missing.get(var, {})):
                for k in keys:
                    if k in table:
                        return table[k]
        return _value_text(value)

    def categories(self, name: Hashable, values: Iterable[object]) -> list[str]:
        """:meth:`category` for each of ``values``."""
        return [self.category(name, v) for v in values]

    def missing_codes(self, name: Hashable) -> dict[Hashable, str]:
        """The declared user-missing codes of a variable and their labels (``{}`` if none).

        For the base line and notes of a table ("Don't know (99) excluded from the base").
        """
        out: dict[Hashable, str] = {}
        for layer in reversed(self.layers()):
            for code in layer.missing.get(str(name), {}):
                out[code] = self.category(name, code)
        return out

    def multi_response(self, name: Hashable, columns: Sequence[Hashable]) -> ItemLabels:
        """The title and item labels of a multi-response set ``{name: [0/1 columns]}``.

        Item labels, for each column: its variable label from the highest-priority source that
        labels it, with the text shared by that source's labels of the set's columns removed
        (a common lead-in up to ``": "``, ``" - "``, ``" – "`` or ``"? "``, and a common ending
        from ``" ("``; nothing is removed where that would leave an item empty or two items
        alike), so "Priority for the value of data: Medical research (selected = 1)" gives
        "Medical research"; else the file's label of the item's code 1 when it names the item (not
        "Yes"/"Selected"); else the readable column name without the prefix the columns share
        (``prio_care`` -> "Care").

        Title: the label of ``name``; else the shared lead-in of the items' labels; else
        :func:`readable_name` of ``name``.

        Examples
        --------
        >>> lab = Labels(variables={
        ...     "prio_care": "Priority for the value of data: Improving NHS care (selected = 1)",
        ...     "prio_research": "Priority for the value of data: Medical research (selected = 1)"})
        >>> lab.multi_response("Priorities", ["prio_care", "prio_research"])
        ItemLabels(title='Priority for the value of data', items=('Improving NHS care', 'Medical research'))
        >>> Labels().multi_response("priorities", ["prio_care", "prio_research"])
        ItemLabels(title='Priorities', items=('Care', 'Research'))
        """
        cols = [str(c) for c in columns]
        if not cols:
            raise DelibpollError(
                f"The 'columns' parameter of Labels.multi_response must name the set's 0/1 "
                f"columns; got an empty list for set {name!r}."
            )
        layers = self.layers()
        stem: str | None = None
        items: list[str | None] = [None] * len(cols)
        for layer in layers:  # highest priority first
            labelled = [i for i, c in enumerate(cols) if c in layer.variables]
            texts = [layer.variables[cols[i]] for i in labelled]
            if len(labelled) > 1:
                layer_stem, stripped = _strip_common(texts)
                stem = stem or layer_stem
            else:
                stripped = list(texts)
            for i, text in zip(labelled, stripped, strict=True):
                if items[i] is None:
                    items[i] = text
        for i, col in enumerate(cols):
            if items[i] is None:
                chosen = self.category(col, 1)
                if chosen.strip().lower() not in _GENERIC_CHOSEN:
                    items[i] = chosen
        rest = _strip_name_prefix(cols)
        final = tuple(t if t is not None else rest[i] for i, t in enumerate(items))
        title = self.variable(name) if self.has_label(name) else stem or readable_name(name)
        return ItemLabels(title=title, items=final)

    def to_frame(self) -> pd.DataFrame:
        """Every label held, one row each, with where it came from.

        Returns
        -------
        pandas.DataFrame
            Columns ``variable``, ``category`` (None for a variable's own label), ``label``,
            ``source`` and ``used`` (False where a higher-priority source overrides it).

        Examples
        --------
        >>> lab = Labels.from_attrs({"variable_labels": {"sex": "Sex of respondent"}},
        ...                         overrides={"sex": "Sex"})
        >>> lab.to_frame()
          variable category              label  source   used
        0      sex     None                Sex  labels   True
        1      sex     None  Sex of respondent    file  False
        """
        rows: list[dict[str, Any]] = []
        seen: set[tuple[str, Hashable]] = set()
        for layer in self.layers():
            here: set[tuple[str, Hashable]] = set()
            entries: list[tuple[str, Hashable, str]] = [
                (var, None, label) for var, label in layer.variables.items()
            ]
            for table in (layer.values, layer.missing):
                entries += [(var, code, label) for var, codes in table.items()
                            for code, label in codes.items()]
            for var, code, label in entries:
                if (var, code) in here:
                    continue  # a missing code that is also a value label
                here.add((var, code))
                rows.append({"variable": var, "category": code, "label": label,
                             "source": layer.source, "used": (var, code) not in seen})
            seen |= here
        out = pd.DataFrame(rows, columns=["variable", "category", "label", "source", "used"])
        out["category"] = pd.Series([r["category"] for r in rows], index=out.index, dtype=object)
        return out


def _value_text(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _plain_number(float(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    text = str(value)
    if "_" in text and not re.search(r"\s", text):
        return readable_name(text)
    return text


def _strip_common(texts: list[str]) -> tuple[str | None, list[str | None]]:
    """The lead-in all ``texts`` share (up to a separator), and each text without it and
    without a shared ending in parentheses."""
    prefix = _common_prefix(texts)
    stem: str | None = None
    cut = 0
    best = -1
    for sep in _SEPARATORS:
        pos = prefix.rfind(sep)
        if pos > best:
            best = pos
            cut = pos + len(sep)
            stem = prefix[: pos + (1 if sep == "? " else 0)].strip() or None
    if best < 0:
        cut, stem = 0, None
    rev = _common_prefix([t[::-1] for t in texts])[::-1]
    end = rev.find(" (")
    tail = len(rev) - end if end >= 0 else 0
    out: list[str | None] = []
    for t in texts:
        body = t[cut: len(t) - tail if tail else None].strip()
        out.append(body or None)
    if any(o is None for o in out) or len(set(out)) < len(out):
        return stem, [t for t in texts]  # stripping would lose the items: keep them whole
    return stem, out


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def _strip_name_prefix(cols: list[str]) -> list[str]:
    """Readable column names without the name parts all of them share at the start."""
    if len(cols) > 1:
        parts = [re.split(r"[_\-.]", c) for c in cols]
        n = 0
        while all(len(p) > n + 1 for p in parts) and len({p[n] for p in parts}) == 1:
            n += 1
        if n:
            return [readable_name("_".join(p[n:])) for p in parts]
    return [readable_name(c) for c in cols]
