"""The reproducible cohort pipeline: one TOML config in, a whole report out.

``run_config("analyses/cohort1.toml")`` (or ``delibpoll run analyses/cohort1.toml``) reads
both tiers, weights Tier 3, estimates the headline figures, checks representativeness,
compares the tiers question by question, estimates the information-arm effect, builds banner
tables and charts, and writes a Markdown and HTML report. Two runs give byte-identical
tables and report text. A new cohort is a new config, not new code.

The pipeline is built in two parts:

1. :func:`load_config` reads the TOML file into a typed, frozen :class:`CohortConfig` (one
   dataclass per TOML section, its fields named as the section's keys). Every key is checked
   for its type, the required keys for presence and the combinations of keys for sense
   before anything is read or written; all problems are reported in one
   :class:`~delibpoll.DelibpollError`.
2. One function per stage, each taking the config and the earlier stages' results and
   returning its own result: :func:`read_data` (files, targets, and every column the config
   names, still before any output is written), :func:`prepare_output`,
   :func:`weight_tier3`, :func:`estimate_headlines`, :func:`assess_representativeness`,
   :func:`compare_tier_views`, :func:`estimate_information_arm`, :func:`build_banner`,
   :func:`draw_charts` and :func:`write_report`. :func:`run_config` composes them.

Every sentence of the report is built from what was actually done and measured: the
weighting step recorded in the design (method, stopping rule, cap, iterations, the largest
share error reached), the variance method of the designs, and the comparisons actually run.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import pandas as pd

from . import datasets
from ._display import SYNTHETIC_NOTE, readable_number, synthetic_note, write_csv
from ._format import NOT_AVAILABLE, ci, count, number, p_value, percent, points, prose_share
from ._labels import Labels
from ._multiplicity import adjust_name
from ._types import (
    Adjust,
    CalFun,
    CIMethod,
    TableLayout,
    TierAdjustment,
    WeightingMethod,
    values,
)
from .banner import BannerTable, banner
from .contrast import contrast
from .deliberative import (
    Attrition,
    Balance,
    CohortComparison,
    CohortDeliberation,
    CohortStack,
    DifferenceInDifferences,
    GroupDynamics,
    Learning,
    QuestionComparison,
    Representativeness,
    attrition,
    compare_cohorts,
    compare_deliberation,
    compare_questions,
    difference_in_differences,
    group_dynamics,
    knowledge,
    learning,
    possible_comparisons,
    representativeness,
    stack_cohorts,
)
from .design import SurveyDesign
from .estimation import Estimate, mean, proportion
from .exceptions import DelibpollError
from .export._common import Cell, Document, Head, Row, View
from .io import read_survey
from .mapping import Mapping as DataMapping
from .plots import (
    A4_WIDTH,
    alt_text,
    plot_estimates,
    plot_margins,
    plot_tiers,
    plot_trend,
    plot_weights,
)
from .targets import Targets
from .weighting import WeightingReport, calibrate, rake

__all__ = [
    "BannerConfig",
    "BannerResult",
    "CohortsEntry",
    "TrackingConfig",
    "TrackingResult",
    "track_cohorts",
    "ChartsResult",
    "CohortConfig",
    "CohortData",
    "CohortInfo",
    "CohortResults",
    "ComparisonConfig",
    "DataConfig",
    "EstimationConfig",
    "HeadlineConfig",
    "HeadlineResult",
    "InformationArmConfig",
    "InformationArmResult",
    "PipelineResult",
    "RepresentativenessConfig",
    "RepresentativenessResult",
    "TierComparisonResult",
    "WeightingConfig",
    "WeightingResult",
    "assess_representativeness",
    "build_banner",
    "compare_tier_views",
    "draw_charts",
    "estimate_headlines",
    "estimate_information_arm",
    "load_config",
    "prepare_output",
    "read_data",
    "run_config",
    "weight_tier3",
    "write_report",
]

_BUNDLED_TARGETS = ("bundled:england", "england")
_LAYOUTS = values(TableLayout)

#: A category or arm label as a TOML value.
Scalar = str | int | float


# ====================================================================== the config object
def _k(kind: str, convert: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Field metadata: the TOML value kind the key must have, and how it is stored."""
    return {"kind": kind, "convert": convert}


def _pairs(table: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[str, str]]:
    return {q: (v["before"], v["after"]) for q, v in table.items()}


def _lists(table: Mapping[str, Sequence[Any]]) -> dict[str, tuple[Any, ...]]:
    return {name: tuple(members) for name, members in table.items()}


class _Section:
    """A TOML section: its fields are the section's keys; a field without a default is a
    required key."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # each section is a dataclass
    section: ClassVar[str]
    required: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True, eq=False)
class CohortInfo(_Section):
    """``[cohort]``: the report's title, whether the data are synthetic, the output folder
    (relative to the config file) and the data source named in the spreadsheet."""

    section: ClassVar[str] = "cohort"
    title: str = field(default="Cohort report", metadata=_k("str"))
    synthetic: bool = field(default=False, metadata=_k("bool"))
    output: str = field(default="output", metadata=_k("path"))
    source: str = field(default="", metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class DataConfig(_Section):
    """``[data]``: the Tier 3 and Tier 1 files (``bundled:example/tier3.sav`` names a bundled
    file), Tier 1's cluster column and the starting-weight columns. Without ``tier1`` the run
    is survey-only: weighting, headline, banner and representativeness of Tier 3."""

    section: ClassVar[str] = "data"
    required: ClassVar[bool] = True
    tier3: str = field(metadata=_k("path"))
    tier1: str | None = field(default=None, metadata=_k("path"))
    tier1_cluster: str | None = field(default=None, metadata=_k("str"))
    tier3_weights: str | None = field(default=None, metadata=_k("str"))
    tier1_weights: str | None = field(default=None, metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class WeightingConfig(_Section):
    """``[weighting]``: the margins Tier 3 is weighted to, the targets (``bundled:england``
    or a CSV file), the method, and a cap (raking) or bounds (calibration)."""

    section: ClassVar[str] = "weighting"
    required: ClassVar[bool] = True
    variables: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    targets: str = field(default="bundled:england", metadata=_k("path"))
    method: WeightingMethod = field(default="rake", metadata=_k("str"))
    cap: float | None = field(default=None, metadata=_k("number"))
    bounds: tuple[float, float] | None = field(default=None, metadata=_k("pair", tuple))


@dataclass(frozen=True, kw_only=True, eq=False)
class EstimationConfig(_Section):
    """``[estimation]``: confidence level and proportion-CI method of every estimate."""

    section: ClassVar[str] = "estimation"
    level: float = field(default=0.95, metadata=_k("number", float))
    ci_method: CIMethod = field(default="logit", metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class RepresentativenessConfig(_Section):
    """``[representativeness]``: the margins both tiers are compared with the population on
    (by default the weighting variables)."""

    section: ClassVar[str] = "representativeness"
    variables: tuple[str, ...] = field(default=(), metadata=_k("strlist1", tuple))


@dataclass(frozen=True, kw_only=True, eq=False)
class ComparisonConfig(_Section):
    """``[comparison]``: the tier comparison. ``questions`` maps each Tier 3 question to
    Tier 1's (before, after) columns; ``categories`` declares the tested category of a
    question; ``adjust_for`` the covariates of the composition adjustment, ``adjust_method``
    how Tier 1 is reweighted to Tier 3's profile on them (``compare_tiers``' ``method``) and
    ``balance_threshold`` the ASMD above which a covariate category is reported as not
    balanced."""

    section: ClassVar[str] = "comparison"
    multiplicity: Adjust = field(default="holm", metadata=_k("str"))
    equivalence_margin: float | None = field(default=None, metadata=_k("number"))
    adjust_for: tuple[str, ...] | None = field(default=None, metadata=_k("strlist1", tuple))
    adjust_method: TierAdjustment = field(default="raking", metadata=_k("str"))
    balance_threshold: float = field(default=0.1, metadata=_k("number", float))
    categories: Mapping[str, Scalar] | None = field(default=None, metadata=_k("table", dict))
    questions: Mapping[str, tuple[str, str]] = field(
        default_factory=dict, metadata=_k("table", _pairs)
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class InformationArmConfig(_Section):
    """``[information_arm]``: the arm variable, its treated and control arms, the question
    and category compared, an optional Tier 1 question, and whether the arms were assigned
    at random (only then is the difference called causal)."""

    section: ClassVar[str] = "information_arm"
    variable: str = field(metadata=_k("str"))
    question: str = field(metadata=_k("str"))
    category: Scalar = field(metadata=_k("scalar"))
    treated: Scalar = field(metadata=_k("scalar"))
    control: Scalar = field(metadata=_k("scalar"))
    tier1_question: str | None = field(default=None, metadata=_k("str"))
    randomised: bool = field(default=False, metadata=_k("bool"))


@dataclass(frozen=True, kw_only=True, eq=False)
class BannerConfig(_Section):
    """``[banner]``: the banner tables' rows and columns, letters, bases, nets,
    multi-response sets (``[banner.nets]``, ``[banner.multi_response]``) and the table layout
    (``"accessible"``: one header row; ``"classic"``: banner variables spanning)."""

    section: ClassVar[str] = "banner"
    rows: tuple[str, ...] = field(default=(), metadata=_k("strlist", tuple))
    columns: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    sig_level: float = field(default=0.05, metadata=_k("number"))
    adjust: Adjust = field(default="none", metadata=_k("str"))
    min_base: int = field(default=50, metadata=_k("int"))
    suppress_below: int | None = field(default=None, metadata=_k("int"))
    nets: Mapping[str, tuple[Scalar, ...]] | None = field(default=None, metadata=_k("table", _lists))
    exclude: tuple[Scalar, ...] | None = field(default=None, metadata=_k("scalarlist", tuple))
    decimals: int = field(default=0, metadata=_k("int"))
    multi_response: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, metadata=_k("table", _lists)
    )
    layout: TableLayout = field(default="accessible", metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class HeadlineConfig(_Section):
    """One ``[[headline]]``: a question and the category whose share is reported (none: the
    question's mean), with the published figure shown beside it."""

    section: ClassVar[str] = "headline"
    question: str = field(metadata=_k("str"))
    category: Scalar | None = field(default=None, metadata=_k("scalar"))
    published: Scalar = field(default="", metadata=_k("scalar"))


def _numbers(value: float | Sequence[float]) -> float | tuple[float, ...]:
    if isinstance(value, int | float):
        return float(value)
    return tuple(float(v) for v in value)


@dataclass(frozen=True, kw_only=True, eq=False)
class KnowledgeConfig(_Section):
    """``[knowledge]``: a factual quiz asked to Tier 1 before and after deliberation.
    ``before`` and ``after`` list the item columns in the same item order; ``key`` the correct
    answers in that order (without it the items are scored 1 right, 0 wrong, empty "don't
    know"); ``dont_know`` the answers meaning "don't know"; ``chance`` the chance of a lucky
    guess (one number, or one per item: 0.5 for true/false) for the guessing-corrected
    learning; ``by`` a Tier 1 column whose groups' learning is compared."""

    section: ClassVar[str] = "knowledge"
    before: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    after: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    key: tuple[Scalar, ...] | None = field(default=None, metadata=_k("scalarlist", tuple))
    dont_know: tuple[Scalar, ...] = field(default=(), metadata=_k("scalarlist", tuple))
    chance: float | tuple[float, ...] | None = field(default=None, metadata=_k("numbers", _numbers))
    by: str | None = field(default=None, metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class AttritionConfig(_Section):
    """``[attrition]``: Tier 1 participants who answered before deliberation but not after.
    A non-completer is someone whose ``status`` column is not ``completed`` (when given),
    else someone with no answer after (for the knowledge quiz: no answer to any item after).
    ``measures`` are "knowledge" (the quiz score) and names of ``[comparison.questions]``;
    ``adjust_for`` the Tier 1 covariates on which completers are reweighted to everyone who
    answered before (and the rates are broken down by), with the pre answer too when
    ``adjust_pre``; a warning is given above ``max_rate``."""

    section: ClassVar[str] = "attrition"
    status: str | None = field(default=None, metadata=_k("str"))
    completed: Scalar | None = field(default=None, metadata=_k("scalar"))
    measures: tuple[str, ...] = field(default=("knowledge",), metadata=_k("strlist1", tuple))
    adjust_for: tuple[str, ...] = field(default=(), metadata=_k("strlist", tuple))
    adjust_pre: bool = field(default=True, metadata=_k("bool"))
    max_rate: float = field(default=0.2, metadata=_k("number", float))


@dataclass(frozen=True, kw_only=True, eq=False)
class DynamicsConfig(_Section):
    """``[dynamics]``: group dynamics in Tier 1's discussion groups (``group``, default
    ``[data] tier1_cluster``) for ``questions``: "knowledge" (the quiz score) and names of
    ``[comparison.questions]`` (numeric answers, or the share of the question's declared
    ``[comparison.categories]`` answer)."""

    section: ClassVar[str] = "dynamics"
    questions: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    group: str | None = field(default=None, metadata=_k("str"))


@dataclass(frozen=True, kw_only=True, eq=False)
class ControlConfig(_Section):
    """``[control]``: a control sample that did not deliberate, surveyed at the same two
    times as Tier 1 (``file``; optional ``weights`` and ``cluster`` columns). ``knowledge =
    true``: the file has the ``[knowledge]`` item columns under the same names.
    ``[control.questions.<name>]`` gives the control file's ``before`` and ``after`` columns
    of a ``[comparison.questions]`` question."""

    section: ClassVar[str] = "control"
    file: str = field(metadata=_k("path"))
    weights: str | None = field(default=None, metadata=_k("str"))
    cluster: str | None = field(default=None, metadata=_k("str"))
    knowledge: bool = field(default=False, metadata=_k("bool"))
    questions: Mapping[str, tuple[str, str]] = field(
        default_factory=dict, metadata=_k("table", _pairs)
    )


# ---------------------------------------------------------------------- tracking (#17)
@dataclass(frozen=True, kw_only=True, eq=False)
class TrackingConfig(_Section):
    """``[tracking]``: this cohort compared with the cohorts listed in ``[[cohorts]]``.
    ``label`` names this config's cohort (it comes last, after the listed ones);
    ``questions`` are Tier 3 questions every cohort asked; ``categories`` the tested answer
    of a question (default every answer); ``deliberation`` the ``[comparison.questions]``
    whose Tier 1 change is compared between cohorts; ``adjust`` the multiplicity adjustment
    over all differences; ``letters`` a banner with the cohort as column variable."""

    section: ClassVar[str] = "tracking"
    label: str = field(metadata=_k("str"))
    questions: tuple[str, ...] = field(metadata=_k("strlist1", tuple))
    categories: Mapping[str, Scalar] | None = field(default=None, metadata=_k("table", dict))
    deliberation: tuple[str, ...] = field(default=(), metadata=_k("strlist", tuple))
    adjust: Adjust = field(default="holm", metadata=_k("str"))
    sig_level: float = field(default=0.05, metadata=_k("number", float))
    letters: bool = field(default=True, metadata=_k("bool"))


@dataclass(frozen=True, kw_only=True, eq=False)
class CohortsEntry(_Section):
    """One ``[[cohorts]]``: another cohort's label and its cohort config file (relative to
    this config), whose data and weighting are used as that config describes them."""

    section: ClassVar[str] = "cohorts"
    label: str = field(metadata=_k("str"))
    config: str = field(metadata=_k("path"))


def _check_tracking(cfg: Mapping[str, Any], base: Path, errors: list[str]) -> None:
    """``[[cohorts]]`` and ``[tracking]``: each other without the other, labels, files, and
    the questions against ``[comparison.questions]``."""
    entries = cfg.get("cohorts")
    track = cfg.get("tracking")
    if entries is None and track is None:
        return
    if entries is not None and (not isinstance(entries, list)
                                or not all(isinstance(e, dict) for e in entries)):
        errors.append(f"'cohorts' must be an array of tables ([[cohorts]] sections with label "
                      f"and config); got {entries!r}.")
        return
    if not entries:
        errors.append("[tracking] compares this cohort with others, but there is no [[cohorts]] "
                      "section; add one per other cohort: [[cohorts]] label = \"Cohort 1\" "
                      "config = \"cohort1.toml\".")
        return
    if not isinstance(track, dict):
        errors.append("[[cohorts]] lists other cohorts, but there is no [tracking] section; add "
                      "[tracking] with label (this cohort's) and questions.")
        return
    labels = [track.get("label")]
    keys = list(_schema(CohortsEntry))
    for i, e in enumerate(entries, start=1):
        where = f"[[cohorts]] number {i}"
        for key in e:
            if key not in keys:
                errors.append(f"{where} has an unknown key '{key}'{_did_you_mean(key, keys)} Its "
                              "keys are label, config.")
        _check_keys(where, e, _schema(CohortsEntry), errors)
        labels.append(e.get("label"))
        path = e.get("config")
        if isinstance(path, str) and path:
            p = _resolve(base, path)
            if not p.is_file():
                errors.append(f"{where} config file '{p}' does not exist (a relative path is "
                              f"relative to this config's folder, {base}); fix the path.")
    sl: Any = track.get("sig_level")
    if _is_number(sl) and not 0 < float(sl) < 1:
        errors.append(f"[tracking] sig_level must be a number in (0, 1), e.g. 0.05; got {sl!r}.")
    named = [v for v in labels if isinstance(v, str)]
    dup = sorted({v for v in named if named.count(v) > 1})
    if dup:
        errors.append(f"Cohort labels must differ: {dup} is used twice in [tracking] label and "
                      "[[cohorts]] label.")
    comp = cfg.get("comparison")
    pairs = comp.get("questions", {}) if isinstance(comp, dict) else {}
    qs = track.get("questions")
    for q in track.get("deliberation", []) if isinstance(track.get("deliberation"), list) else []:
        if isinstance(pairs, dict) and q not in pairs:
            errors.append(f"[tracking] deliberation names '{q}', which is not one of the "
                          "[comparison.questions] (its before and after columns); add it there "
                          "or remove it.")
    cats = track.get("categories")
    if isinstance(cats, dict):
        for q, c in cats.items():
            if not _is_scalar(c):
                errors.append(f"[tracking.categories] {q} must be a string or a number; got {c!r}.")
            elif isinstance(qs, list) and q not in qs:
                errors.append(f"[tracking.categories] names '{q}', which is not one of the "
                              "[tracking] questions; add the question or remove the line.")


@dataclass(frozen=True, kw_only=True, eq=False)
class CohortConfig:
    """A validated cohort config (see :func:`load_config`): one field per TOML section.

    ``path`` is the config file as given and ``base`` its folder, against which relative
    paths are resolved. ``information_arm`` and ``banner`` are None when their section is
    absent; the other optional sections have their defaults. ``representativeness``
    variables default to the weighting variables. ``mapping`` is the ``[mapping]`` section
    (inline, or ``file = "mapping.toml"``) applied to the Tier 3 data when read, and
    ``labels`` the ``[labels]`` table as written (``Labels.from_toml_table`` reads it).
    """

    path: Path
    base: Path
    cohort: CohortInfo
    data: DataConfig
    weighting: WeightingConfig
    estimation: EstimationConfig
    representativeness: RepresentativenessConfig
    comparison: ComparisonConfig
    information_arm: InformationArmConfig | None
    banner: BannerConfig | None
    headline: tuple[HeadlineConfig, ...]
    mapping: DataMapping | None = None
    labels: Mapping[str, Any] | None = None
    knowledge: KnowledgeConfig | None = None
    attrition: AttritionConfig | None = None
    dynamics: DynamicsConfig | None = None
    control: ControlConfig | None = None
    tracking: TrackingConfig | None = None
    cohorts: tuple[CohortsEntry, ...] = ()


_SECTIONS: tuple[type[_Section], ...] = (
    CohortInfo, DataConfig, WeightingConfig, EstimationConfig, RepresentativenessConfig,
    ComparisonConfig, InformationArmConfig, BannerConfig, TrackingConfig,
    KnowledgeConfig, AttritionConfig, DynamicsConfig, ControlConfig,
)
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("banner", "layout"): _LAYOUTS,
    ("weighting", "method"): ("rake", *values(CalFun)),
    ("estimation", "ci_method"): values(CIMethod),
    ("comparison", "multiplicity"): values(Adjust),
    ("banner", "adjust"): values(Adjust),
    ("comparison", "adjust_method"): values(TierAdjustment),
    ("tracking", "adjust"): values(Adjust),
}


def _schema(cls: type[_Section]) -> dict[str, tuple[str, bool]]:
    """key -> (kind, required), from the section's fields."""
    out: dict[str, tuple[str, bool]] = {}
    for f in fields(cls):
        required = f.default is f.default_factory  # both MISSING: no default
        out[f.name] = (f.metadata["kind"], required)
    return out


_S = TypeVar("_S", bound=_Section)


def _build(cls: type[_S], table: Mapping[str, Any]) -> _S:
    """The section object from a checked TOML table."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in table:
            convert = f.metadata["convert"]
            kwargs[f.name] = convert(table[f.name]) if convert is not None else table[f.name]
    return cls(**kwargs)


def _resolve(base: Path, value: str) -> Path:
    if value.startswith("bundled:"):
        parts = value.removeprefix("bundled:").split("/")
        return datasets.data_path(*parts)
    p = Path(value)
    return p if p.is_absolute() else (base / p)


# ---------------------------------------------------------------------- config checking
def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_scalar(v: object) -> bool:
    return isinstance(v, str) or _is_number(v)


# kind -> (test, what the value must be, an example of the fix)
_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "path": (lambda v: isinstance(v, str) and v != "", "a string (a file path)"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "number": (_is_number, "a number"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "scalar": (_is_scalar, "a string or a number"),
    "strlist": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        'a list of strings, e.g. ["sex", "age_group"]',
    ),
    "strlist1": (
        lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, str) for x in v),
        'a non-empty list of strings, e.g. ["sex", "age_group"]',
    ),
    "scalarlist": (
        lambda v: isinstance(v, list) and all(_is_scalar(x) for x in v),
        'a list of categories, e.g. ["Don\'t know"]',
    ),
    "pair": (
        lambda v: isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v),
        "a list of two numbers, e.g. [0.3, 3]",
    ),
    "table": (lambda v: isinstance(v, dict), "a table"),
    "numbers": (
        lambda v: _is_number(v) or (isinstance(v, list) and len(v) > 0
                                    and all(_is_number(x) for x in v)),
        "a number or a list of numbers, e.g. 0.5 or [0.5, 0.5, 0.25]",
    ),
}
_QUESTION_KEYS: dict[str, tuple[str, bool]] = {"before": ("str", True), "after": ("str", True)}


def _check_keys(
    label: str, table: Mapping[str, Any], keys: Mapping[str, tuple[str, bool]], errors: list[str]
) -> None:
    for key, (kind, required) in keys.items():
        if key not in table:
            if required:
                errors.append(f"{label} needs '{key}' ({_KINDS[kind][1]}); add {key} = ... to it.")
            continue
        test, what = _KINDS[kind]
        value = table[key]
        if not test(value):
            hint = " Put it in quotes." if kind in ("str", "path") and _is_scalar(value) else ""
            errors.append(f"{label} {key} must be {what}; got {value!r} ({_type_name(value)}).{hint}")


def _did_you_mean(word: str, options: Sequence[str], template: str = "{}") -> str:
    """' (did you mean cap?)' for a near spelling, else ''."""
    import difflib

    near = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {template.format(near[0])}?" if near else ""


# sections that are not a _Section class: [[headline]] (an array), [mapping] and [labels]
_OTHER_SECTIONS = ("headline", "mapping", "labels", "cohorts")


def _check_unknown(cfg: Mapping[str, Any], errors: list[str]) -> None:
    """Sections and keys the pipeline does not read: a misspelling is an error, not ignored."""
    known = {cls.section: cls for cls in _SECTIONS}
    names = [*known, *_OTHER_SECTIONS]
    for name, value in cfg.items():
        if name in names:
            continue
        if isinstance(value, dict):
            errors.append(f"Unknown section [{name}]{_did_you_mean(name, names, '[{}]')} "
                          f"Sections are {', '.join(f'[{n}]' for n in names)}.")
        else:
            errors.append(f"Unknown top-level key '{name}'{_did_you_mean(name, names, '[{}]')} "
                          "Keys belong in a section, e.g. [cohort] title = ...")
    for section, cls in known.items():
        table = cfg.get(section)
        if isinstance(table, dict):
            keys = list(_schema(cls))
            for key in table:
                if key not in keys:
                    errors.append(f"[{section}] has an unknown key '{key}'"
                                  f"{_did_you_mean(key, keys)} Its keys are {', '.join(keys)}.")
    heads = cfg.get("headline")
    if isinstance(heads, list):
        keys = list(_schema(HeadlineConfig))
        for i, h in enumerate(heads, start=1):
            if isinstance(h, dict):
                for key in h:
                    if key not in keys:
                        errors.append(f"[[headline]] number {i} has an unknown key '{key}'"
                                      f"{_did_you_mean(key, keys)} Its keys are {', '.join(keys)}.")
    comp = cfg.get("comparison")
    qs = comp.get("questions") if isinstance(comp, dict) else None
    if isinstance(qs, dict):
        for q, ba in qs.items():
            if isinstance(ba, dict):
                for key in ba:
                    if key not in _QUESTION_KEYS:
                        errors.append(f"[comparison.questions.{q}] has an unknown key '{key}'"
                                      f"{_did_you_mean(key, list(_QUESTION_KEYS))} Its keys are "
                                      "before, after.")


def _check_tiers(cfg: Mapping[str, Any], errors: list[str]) -> None:
    """What needs Tier 1 when there is none (a survey-only config)."""
    data = cfg.get("data")
    if not isinstance(data, dict) or "tier1" in data:
        return
    comp = cfg.get("comparison")
    if isinstance(comp, dict) and comp.get("questions"):
        errors.append("[comparison.questions] compares Tier 1 with Tier 3, but [data] has no "
                      "tier1 file; add tier1 = \"...\" to [data], or remove the questions for a "
                      "survey-only report.")
    arm = cfg.get("information_arm")
    if isinstance(arm, dict) and "tier1_question" in arm:
        errors.append("[information_arm] tier1_question needs Tier 1 data; add tier1 = \"...\" "
                      "to [data] or remove tier1_question.")
    for key in ("tier1_cluster", "tier1_weights"):
        if key in data:
            errors.append(f"[data] {key} is set but there is no tier1 file; add tier1 or remove {key}.")


def _config_mapping(cfg: Mapping[str, Any], base: Path, errors: list[str]) -> DataMapping | None:
    """The ``[mapping]`` section: inline tables, or ``file = "mapping.toml"``."""
    table = cfg.get("mapping")
    if table is None:
        return None
    if not isinstance(table, dict):
        errors.append(f"'mapping' must be a table (a [mapping] section); got {_type_name(table)}.")
        return None
    try:
        if "file" in table:
            if set(table) != {"file"}:
                errors.append("[mapping] has file = ... and inline tables; use one or the other.")
                return None
            if not isinstance(table["file"], str) or not table["file"]:
                errors.append(f"[mapping] file must be a string (a file path); got {table['file']!r}.")
                return None
            return DataMapping.from_toml(_resolve(base, table["file"]))
        return DataMapping.from_dict(table, source="[mapping]")
    except DelibpollError as exc:
        errors.append(f"[mapping]: {' '.join(str(exc).split())}")
        return None


def _config_labels(cfg: Mapping[str, Any], errors: list[str]) -> Mapping[str, Any] | None:
    table = cfg.get("labels")
    if table is None:
        return None
    if not isinstance(table, dict):
        errors.append(f"'labels' must be a table (a [labels] section); got {_type_name(table)}.")
        return None
    from ._labels import Labels

    try:
        Labels.from_toml_table(table)
    except DelibpollError as exc:
        errors.append(" ".join(str(exc).split()))
        return None
    return table


# ---------------------------------------------------------------------- deliberative sections (#17)
_DELIBERATION_SECTIONS: tuple[type[_Section], ...] = (
    KnowledgeConfig, AttritionConfig, DynamicsConfig, ControlConfig,
)


def _measure_names(where: str, names: object, cfg: Mapping[str, Any], errors: list[str]) -> None:
    """Each measure is "knowledge" (needs [knowledge]) or a [comparison.questions] name."""
    if not isinstance(names, list):
        return
    comp = cfg.get("comparison")
    qs = comp.get("questions", {}) if isinstance(comp, dict) else {}
    qs = qs if isinstance(qs, dict) else {}
    for name in names:
        if name == "knowledge":
            if "knowledge" not in cfg:
                errors.append(f"{where} names \"knowledge\" (the quiz score), but the config has "
                              "no [knowledge] section; add it or remove \"knowledge\".")
        elif isinstance(name, str) and name not in qs:
            errors.append(f"{where} names '{name}', which is neither \"knowledge\" nor one of "
                          f"the [comparison.questions] ({', '.join(qs) or 'none'}); add the "
                          "question there or remove it.")


def _check_deliberation(cfg: Mapping[str, Any], errors: list[str]) -> None:
    """The combinations of keys of [knowledge], [attrition], [dynamics], [control] and the
    adjustment keys of [comparison] that make no sense (their types are checked with the
    other sections')."""
    data = cfg.get("data")
    has_t1 = isinstance(data, dict) and "tier1" in data
    sections = {cls.section: cfg.get(cls.section) for cls in _DELIBERATION_SECTIONS}
    for name, table in sections.items():
        if isinstance(table, dict) and isinstance(data, dict) and not has_t1:
            errors.append(f"[{name}] analyses Tier 1, but [data] has no tier1 file; add "
                          f"tier1 = \"...\" to [data] or remove [{name}].")
    comp = cfg.get("comparison")
    if isinstance(comp, dict):
        if "adjust_method" in comp and not comp.get("adjust_for"):
            errors.append("[comparison] adjust_method chooses how Tier 1 is reweighted on "
                          "adjust_for, which is not set; add adjust_for = [\"age_group\", ...] "
                          "or remove adjust_method.")
        thr = comp.get("balance_threshold")
        if isinstance(thr, int | float) and _is_number(thr) and not thr > 0:
            errors.append(f"[comparison] balance_threshold must be a positive number (an "
                          f"absolute standardised mean difference, e.g. 0.1); got {thr!r}.")
    know = sections["knowledge"]
    if isinstance(know, dict):
        before, after = know.get("before"), know.get("after")
        n_items = len(before) if isinstance(before, list) else None
        if isinstance(before, list) and isinstance(after, list) and len(before) != len(after):
            errors.append(f"[knowledge] before and after must list the same items in the same "
                          f"order; got {len(before)} and {len(after)} columns.")
        key = know.get("key")
        if isinstance(key, list) and n_items is not None and len(key) != n_items:
            errors.append(f"[knowledge] key must give one correct answer per item, in the "
                          f"order of before ({n_items} items); got {len(key)}.")
        chance = know.get("chance")
        vals = chance if isinstance(chance, list) else [chance] if _is_number(chance) else []
        if isinstance(chance, list) and n_items is not None and len(chance) != n_items:
            errors.append(f"[knowledge] chance must be one number, or one per item in the "
                          f"order of before ({n_items} items); got {len(chance)}.")
        if any(isinstance(v, int | float) and _is_number(v) and not 0 < v < 1 for v in vals):
            errors.append(f"[knowledge] chance must lie between 0 and 1 (1 / number of "
                          f"options, e.g. 0.5 for true/false); got {chance!r}.")
    att = sections["attrition"]
    if isinstance(att, dict):
        if ("status" in att) != ("completed" in att):
            errors.append("[attrition] status and completed go together: status names the "
                          "Tier 1 column saying who answered after deliberation and completed "
                          "its value for those who did (e.g. completed = \"Completed\"); set "
                          "both, or neither to recognise non-completers by their missing answers.")
        _measure_names("[attrition] measures", att.get("measures", ["knowledge"]), cfg, errors)
        rate = att.get("max_rate")
        if isinstance(rate, int | float) and _is_number(rate) and not 0 < rate < 1:
            errors.append(f"[attrition] max_rate must be a share between 0 and 1, e.g. 0.2; "
                          f"got {rate!r}.")
    dyn = sections["dynamics"]
    if isinstance(dyn, dict):
        _measure_names("[dynamics] questions", dyn.get("questions"), cfg, errors)
        if "group" not in dyn and not (isinstance(data, dict) and "tier1_cluster" in data):
            errors.append("[dynamics] needs the discussion-group column: add group = "
                          "\"group_id\" to [dynamics] or tier1_cluster to [data].")
    ctl = sections["control"]
    if isinstance(ctl, dict):
        qs = ctl.get("questions", {})
        if ctl.get("knowledge") is True and "knowledge" not in cfg:
            errors.append("[control] knowledge = true compares the quiz scores, but the "
                          "config has no [knowledge] section; add it or remove the key.")
        if ctl.get("knowledge") is not True and not qs:
            errors.append("[control] compares nothing: set knowledge = true or add "
                          "[control.questions.<question>] tables with before and after.")
        if isinstance(qs, dict):
            _measure_names("[control.questions]", list(qs), cfg, errors)
            for q, ba in qs.items():
                if not isinstance(ba, dict):
                    errors.append(f"[control.questions] {q} must be a table "
                                  f"([control.questions.{q}] with before and after); got "
                                  f"{ba!r} ({_type_name(ba)}).")
                    continue
                _check_keys(f"[control.questions.{q}]", ba, _QUESTION_KEYS, errors)
                for k in ba:
                    if k not in _QUESTION_KEYS:
                        errors.append(f"[control.questions.{q}] has an unknown key '{k}'"
                                      f"{_did_you_mean(k, list(_QUESTION_KEYS))} Its keys are "
                                      "before, after.")


def _check_config(cfg: Mapping[str, Any]) -> list[str]:
    """Types and required keys of every config key the pipeline reads, unknown sections and
    keys (with the nearest spelling), and the combinations of keys that make no sense; all
    problems."""
    errors: list[str] = []
    _check_unknown(cfg, errors)
    _check_tiers(cfg, errors)
    for cls in _SECTIONS:
        section, keys = cls.section, _schema(cls)
        if section not in cfg:
            if cls.required:
                need = [k for k, (_, r) in keys.items() if r]
                errors.append(f"The config needs a [{section}] section (with {', '.join(need)}).")
            continue
        table = cfg[section]
        if not isinstance(table, dict):
            errors.append(
                f"'{section}' must be a table (a [{section}] section); got {table!r} "
                f"({_type_name(table)})."
            )
            continue
        _check_keys(f"[{section}]", table, keys, errors)
        for (sec, key), choices in _CHOICES.items():
            v = table.get(key) if sec == section else None
            if isinstance(v, str) and v not in choices:
                errors.append(f"[{section}] {key} must be one of {list(choices)}; got {v!r}.")
    heads = cfg.get("headline", [])
    if not isinstance(heads, list) or not all(isinstance(h, dict) for h in heads):
        errors.append(
            f"'headline' must be an array of tables ([[headline]] sections); got {heads!r}."
        )
    else:
        for i, h in enumerate(heads, start=1):
            _check_keys(f"[[headline]] number {i}", h, _schema(HeadlineConfig), errors)
    w = cfg.get("weighting")
    if isinstance(w, dict):
        method = w.get("method", "rake")
        if method == "rake" and "bounds" in w:
            errors.append(
                "[weighting] bounds apply to calibration only (method = 'linear', 'raking' or "
                "'logit'); with method = 'rake' use cap, or remove bounds."
            )
        if method != "rake" and "cap" in w:
            errors.append(
                f"[weighting] cap applies to method = 'rake' only; with method = {method!r} "
                "use bounds = [L, U], or remove cap."
            )
        if method == "logit" and "bounds" not in w:
            errors.append("[weighting] method = 'logit' needs bounds = [L, U], e.g. [0.3, 3].")
        cap = w.get("cap")
        if cap is not None and _is_number(cap) and not cap > 1:
            errors.append(f"[weighting] cap must be a number > 1 (a multiple of the mean weight); got {cap!r}.")
    est = cfg.get("estimation")
    if isinstance(est, dict) and _is_number(est.get("level")) and not 0 < est["level"] < 1:
        errors.append(f"[estimation] level must be a number in (0, 1), e.g. 0.95; got {est['level']!r}.")
    comp = cfg.get("comparison")
    if isinstance(comp, dict):
        qs = comp.get("questions", {})
        if isinstance(qs, dict):
            for q, ba in qs.items():
                where = f"comparison.questions.{q}"
                if not isinstance(ba, dict):
                    errors.append(
                        f"[comparison.questions] {q} must be a table ([{where}] with before and "
                        f"after); got {ba!r} ({_type_name(ba)})."
                    )
                else:
                    _check_keys(f"[{where}]", ba, _QUESTION_KEYS, errors)
        cats = comp.get("categories", {})
        if isinstance(cats, dict):
            for q, c in cats.items():
                if not _is_scalar(c):
                    errors.append(f"[comparison.categories] {q} must be a string or a number; got {c!r}.")
            if isinstance(qs, dict):
                for q in cats:
                    if q not in qs:
                        errors.append(f"[comparison.categories] names '{q}', which is not one of "
                                      "the [comparison.questions]; add the question or remove the line.")
    _check_deliberation(cfg, errors)
    ban = cfg.get("banner")
    if isinstance(ban, dict):
        for key, kind in (("nets", "scalarlist"), ("multi_response", "strlist1")):
            sub = ban.get(key, {})
            if isinstance(sub, dict):
                for name, members in sub.items():
                    if not _KINDS[kind][0](members):
                        errors.append(
                            f"[banner.{key}] {name!r} must be {_KINDS[kind][1]}; got {members!r}."
                        )
    return errors


def _read_toml(cfg_path: Path) -> dict[str, Any]:
    import tomllib  # here, not at the top: `import delibpoll` (and the CLI) start faster

    if not cfg_path.exists():
        raise DelibpollError(
            f"Config file '{cfg_path}' does not exist. Check the path (a relative path is "
            "relative to the current folder)."
        )
    if cfg_path.is_dir():
        raise DelibpollError(f"'{cfg_path}' is a folder, not a TOML config file; give the .toml file.")
    try:
        raw = cfg_path.read_bytes()
    except OSError as exc:
        raise DelibpollError(
            f"Config file '{cfg_path}' cannot be read ({exc.strerror or exc}). Check that it "
            "exists and that you have permission to read it."
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DelibpollError(
            f"Config file '{cfg_path}' is not UTF-8 text (undecodable byte at position "
            f"{exc.start}); TOML files must be UTF-8. Re-save it as UTF-8."
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DelibpollError(
            f"Config file '{cfg_path}' is not valid TOML: {exc}. Fix that line: text values "
            'need quotes (title = "My cohort") and sections are written [name].'
        ) from None


def load_config(path: str | Path) -> CohortConfig:
    r"""Read and check a cohort config: the typed, frozen :class:`CohortConfig`.

    Parameters
    ----------
    path : path
        TOML file; see ``analyses/cohort1.toml`` for every key.

    Returns
    -------
    CohortConfig

    Raises
    ------
    DelibpollError
        The file is missing, a folder, unreadable, not UTF-8 or not valid TOML; or keys
        have the wrong type, required keys are missing, a choice is unknown or keys do not
        go together (all such problems in one message, each naming the key and the fix).
        Files and columns are checked later, by :func:`read_data`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cohort.toml").write_text(
    ...     '[data]\ntier3 = "t3.csv"\ntier1 = "t1.csv"\n[weighting]\nvariables = ["sex"]\n'
    ... )
    >>> config = load_config(folder / "cohort.toml")
    >>> config.weighting.method, config.representativeness.variables, config.banner
    ('rake', ('sex',), None)
    """
    cfg_path = Path(path)
    cfg = _read_toml(cfg_path)
    base = cfg_path.resolve().parent
    problems = _check_config(cfg)
    mapping = _config_mapping(cfg, base, problems)
    labels = _config_labels(cfg, problems)
    _check_tracking(cfg, base, problems)
    if problems:
        raise DelibpollError(
            f"Config file '{cfg_path}' has {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n"
            + "\n".join(f"  - {p}" for p in problems) + "\nFix the config and run again."
        )
    weighting = _build(WeightingConfig, cfg["weighting"])
    rep = _build(RepresentativenessConfig, cfg.get("representativeness", {}))
    if not rep.variables:
        rep = RepresentativenessConfig(variables=weighting.variables)
    arm = cfg.get("information_arm")
    ban = cfg.get("banner")
    return CohortConfig(
        path=cfg_path,
        base=base,
        cohort=_build(CohortInfo, cfg.get("cohort", {})),
        data=_build(DataConfig, cfg["data"]),
        weighting=weighting,
        estimation=_build(EstimationConfig, cfg.get("estimation", {})),
        representativeness=rep,
        comparison=_build(ComparisonConfig, cfg.get("comparison", {})),
        information_arm=_build(InformationArmConfig, arm) if arm else None,
        banner=_build(BannerConfig, ban) if ban else None,
        headline=tuple(_build(HeadlineConfig, h) for h in cfg.get("headline", [])),
        mapping=mapping,
        labels=labels,
        knowledge=_optional(KnowledgeConfig, cfg),
        attrition=_optional(AttritionConfig, cfg),
        dynamics=_optional(DynamicsConfig, cfg),
        control=_optional(ControlConfig, cfg),
        tracking=_build(TrackingConfig, cfg["tracking"]) if "tracking" in cfg else None,
        cohorts=tuple(_build(CohortsEntry, e) for e in cfg.get("cohorts", [])),
    )


def _optional(cls: type[_S], cfg: Mapping[str, Any]) -> _S | None:
    """An optional section's object, None when the config has no such section."""
    table = cfg.get(cls.section)
    return None if table is None else _build(cls, table)


# ====================================================================== stage results
# (named tuples: immutable and typed like frozen dataclasses, and much cheaper to define,
# which keeps `import delibpoll` and so the CLI's start as fast as before)
@dataclass
class PipelineResult:
    """What a pipeline run wrote: ``files`` (paths), and the main result tables."""

    output: Path
    files: list[Path] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class CohortData(NamedTuple):
    """What :func:`read_data` read: both tiers' data, the weighting targets, the population
    targets for representativeness, and how the targets are named in the report."""

    tier3: pd.DataFrame
    tier1: pd.DataFrame | None
    targets: Targets
    population: Targets
    targets_name: str
    control: pd.DataFrame | None = None  # the [control] sample, when configured


class WeightingResult(NamedTuple):
    """The designs after :func:`weight_tier3`: Tier 3 before (``start``) and after weighting,
    and Tier 1 (with its clusters); the files written."""

    start: SurveyDesign
    tier3: SurveyDesign
    tier1: SurveyDesign | None  # None in a survey-only run
    report: WeightingReport
    files: tuple[Path, ...]


class HeadlineResult(NamedTuple):
    """The headline table (one row per ``[[headline]]``), the estimate of the first share
    (for its chart; None when there is no share), and the files written."""

    table: pd.DataFrame
    first_share: Estimate | None
    files: tuple[Path, ...]


class RepresentativenessResult(NamedTuple):
    """Tier 3 and Tier 1 against the population, and Tier 1 against Tier 3's weighted
    profile; the files written."""

    tier3: Representativeness
    tier1: Representativeness | None  # None in a survey-only run
    tier1_vs_tier3: Representativeness | None
    files: tuple[Path, ...]


class TierComparisonResult(NamedTuple):
    """The question-by-question comparison of the tiers, its frame, and the files written."""

    comparison: QuestionComparison
    frame: pd.DataFrame
    files: tuple[Path, ...]


class InformationArmResult(NamedTuple):
    """The arm-by-question estimate, its frame, the treated - control contrast, Tier 1's
    share of the category (None without ``tier1_question``), and the files written."""

    estimate: Estimate
    frame: pd.DataFrame
    contrast: pd.DataFrame
    tier1_share: pd.Series | None
    files: tuple[Path, ...]


class BannerResult(NamedTuple):
    """The banner table and the files written (.xlsx, .ods, .html, .md, .csv)."""

    table: BannerTable
    files: tuple[Path, ...]


class CohortResults(NamedTuple):
    """Every computing stage's result, for the charts and the report."""

    data: CohortData
    weighting: WeightingResult
    headline: HeadlineResult
    representativeness: RepresentativenessResult
    comparison: TierComparisonResult | None
    information_arm: InformationArmResult | None
    banner: BannerResult | None
    deliberation: DeliberationResult | None = None
    tracking: TrackingResult | None = None


class ChartsResult(NamedTuple):
    """The charts drawn: name -> (path of the PNG relative to the output folder, alt text);
    and the files written (PNG and SVG of each)."""

    images: Mapping[str, tuple[str, str]]
    files: tuple[Path, ...]


# ====================================================================== stage: read data
def _file(base: Path, value: str, label: str, errors: list[str]) -> Path | None:
    try:
        p = _resolve(base, value)
    except DelibpollError as exc:
        errors.append(f"{label}: {exc}")
        return None
    if not p.is_file():
        where = "" if Path(value).is_absolute() or value.startswith("bundled:") else (
            f" (a relative path is relative to the config file's folder, {base})"
        )
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        errors.append(f"{label} file '{p}' {what}{where}; fix the path.")
        return None
    return p


def _read(path: Path, label: str) -> pd.DataFrame:
    try:
        df = read_survey(path)
    except DelibpollError as exc:
        raise DelibpollError(f"{label}: {exc}") from None
    except Exception as exc:  # a reader's own error on a corrupt file
        raise DelibpollError(
            f"{label}: could not read '{path}' ({type(exc).__name__}: {exc}). Check that the "
            "file is a valid survey file of the type its extension says."
        ) from exc
    if len(df) == 0:
        raise DelibpollError(f"{label} file '{path}' has no rows of data; check that it is the right file.")
    return df


def _needed_columns(config: CohortConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(config label, column) pairs the Tier 3 and the Tier 1 data must have."""
    data, rep_vars = config.data, config.representativeness.variables
    comp, arm, ban = config.comparison, config.information_arm, config.banner
    need3: list[tuple[str, str]] = [("[weighting] variables", v) for v in config.weighting.variables]
    need1: list[tuple[str, str]] = []
    if data.tier3_weights is not None:
        need3.append(("[data] tier3_weights", data.tier3_weights))
    if data.tier1_cluster is not None:
        need1.append(("[data] tier1_cluster", data.tier1_cluster))
    if data.tier1_weights is not None:
        need1.append(("[data] tier1_weights", data.tier1_weights))
    need3 += [(f"[[headline]] number {i} question", h.question) for i, h in enumerate(config.headline, 1)]
    need3 += [("[representativeness] variables", v) for v in rep_vars]
    need1 += [("[representativeness] variables", v) for v in rep_vars]
    for q, (before, after) in comp.questions.items():
        need3.append(("[comparison.questions] (the Tier 3 question)", q))
        need1 += [(f"[comparison.questions.{q}] before", before), (f"[comparison.questions.{q}] after", after)]
    for v in comp.adjust_for or ():
        need3.append(("[comparison] adjust_for", v))
        need1.append(("[comparison] adjust_for", v))
    if arm:
        need3 += [("[information_arm] variable", arm.variable), ("[information_arm] question", arm.question)]
        if arm.tier1_question is not None:
            need1.append(("[information_arm] tier1_question", arm.tier1_question))
    if ban:
        need3 += [("[banner] rows", v) for v in ban.rows]
        need3 += [("[banner] columns", v) for v in ban.columns]
        for name, members in ban.multi_response.items():
            need3 += [(f"[banner.multi_response] {name}", v) for v in members]
    need1 += _deliberation_columns(config)
    return need3, need1


def read_data(config: CohortConfig) -> CohortData:
    """Stage 1: find the data and targets files, read them, and check every column and
    margin the config names; nothing is written.

    Parameters
    ----------
    config : CohortConfig

    Returns
    -------
    CohortData

    Raises
    ------
    DelibpollError
        A file is missing, a folder or unreadable; a weighting or representativeness
        variable has no margin in the targets; the config names a column the data do not
        have (all missing columns in one message, with the data's columns).
    """
    base, data, w = config.base, config.data, config.weighting
    variables = list(w.variables)
    rep_vars = list(config.representativeness.variables)
    errors: list[str] = []
    t3_path = _file(base, data.tier3, "[data] tier3", errors)
    t1_path = None if data.tier1 is None else _file(base, data.tier1, "[data] tier1", errors)
    t_path = None if w.targets in _BUNDLED_TARGETS else _file(base, w.targets, "[weighting] targets", errors)
    ctl = getattr(config, "control", None)
    c_path = None if ctl is None else _file(base, ctl.file, "[control] file", errors)
    if errors:
        raise DelibpollError(" ".join(errors))
    assert t3_path is not None and (t1_path is not None or data.tier1 is None)
    if t_path is None:
        all_targets = datasets.england_adult_targets(list(datasets.DEFAULT_VARIABLES))
        t_name = "ONS population margins bundled with delibpoll (data/population/README.md)"
    else:
        try:
            all_targets = Targets.from_csv(t_path)
        except DelibpollError as exc:
            raise DelibpollError(f"[weighting] targets: {exc}") from None
        t_name = f"the targets file {t_path.name}"
    for label, wanted in (("[weighting] variables", variables),
                          ("[representativeness] variables", [v for v in rep_vars if v not in variables])):
        if not wanted:
            continue
        try:
            all_targets.select(wanted)
        except DelibpollError as exc:
            errors.append(f"{label}: {exc} Add the margin to [weighting] targets or remove the variable.")
    if errors:
        raise DelibpollError(" ".join(errors))

    t3 = _read(t3_path, "[data] tier3")
    if config.mapping is not None:
        try:
            t3 = config.mapping.apply(t3)
        except DelibpollError as exc:
            raise DelibpollError(f"[mapping] on the Tier 3 data ({t3_path.name}): {exc}") from None
    t1 = None if t1_path is None else _read(t1_path, "[data] tier1")
    need3, need1 = _needed_columns(config)
    tiers = [(t3, need3, "Tier 3", t3_path)]
    if t1 is not None and t1_path is not None:
        tiers.append((t1, need1, "Tier 1", t1_path))
    for df, need, tier, path in tiers:
        missing = list(dict.fromkeys((label, col) for label, col in need if col not in df.columns))
        for label, col in missing:
            near = _did_you_mean(col, [str(c) for c in df.columns], "'{}'")
            errors.append(f"{label} names '{col}', which is not a column of the {tier} data "
                          f"({path.name}){near or '.'}")
        if missing:
            cols = [str(c) for c in df.columns]
            errors.append(f"{tier} columns are: {', '.join(cols[:40])}{' ...' if len(cols) > 40 else ''}.")
    control = None
    if c_path is not None and ctl is not None:
        control = _read(c_path, "[control] file")
        missing_c = [(label, col) for label, col in _control_columns(config) if col not in control.columns]
        for label, col in missing_c:
            near = _did_you_mean(col, [str(c) for c in control.columns], "'{}'")
            errors.append(f"{label} names '{col}', which is not a column of the control data "
                          f"({c_path.name}){near or '.'}")
        if missing_c:
            errors.append(f"Control columns are: {', '.join(str(c) for c in control.columns)}.")
    if not errors and t1 is not None:
        errors += _deliberation_data_errors(config, t1, control)
    if errors:
        raise DelibpollError(f"Config file '{config.path}': " + " ".join(errors) + " Fix the config and run again.")
    if config.mapping is not None:  # every weighting margin must fit, with a fix line for each
        from .mapping import validate_against_targets

        try:
            validate_against_targets(t3, all_targets.select(variables))
        except DelibpollError as exc:
            raise DelibpollError(f"Config file '{config.path}': after [mapping], {exc}\nAdd the fix "
                                 "lines to the [mapping] section (or its file).") from None
    return CohortData(
        tier3=t3, tier1=t1, targets=all_targets.select(variables),
        population=all_targets.select(rep_vars), targets_name=t_name, control=control,
    )


def prepare_output(config: CohortConfig, output: str | Path | None = None) -> Path:
    """Stage 2: create the output folder (``output``, else the config's ``[cohort] output``
    relative to the config file) and return it.

    Raises
    ------
    DelibpollError
        The folder is an existing file or cannot be created.
    """
    out = Path(output) if output else _resolve(config.base, config.cohort.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DelibpollError(
            f"The output folder '{out}' is an existing file, not a folder; choose another "
            "output folder."
        ) from None
    except OSError as exc:
        raise DelibpollError(
            f"Cannot create the output folder '{out}' ({exc.strerror or exc}); choose a folder "
            "you can write to."
        ) from None
    return out


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _synthetic(config: CohortConfig) -> bool:
    """Whether the config marks the data synthetic (``[cohort] synthetic = true``)."""
    return bool(getattr(config.cohort, "synthetic", False))


def _csv(frame: pd.DataFrame, path: Path, float_format: str = "%.6g", *,
         synthetic: bool = False) -> Path:
    """A CSV output; synthetic data get the ``# SYNTHETIC DATA: ...`` first line."""
    return write_csv(frame, path, synthetic=synthetic, float_format=float_format)


# ====================================================================== computing stages
def weight_tier3(config: CohortConfig, data: CohortData, out: Path) -> WeightingResult:
    """Stage 3: weight Tier 3 to the targets (rake with the cap, or calibrate with the
    bounds), build Tier 1's design, and write the weighting report, margins and weights.

    Returns
    -------
    WeightingResult
    """
    w, d = config.weighting, config.data
    syn = _synthetic(config)
    d3_0 = SurveyDesign(data.tier3, weights=d.tier3_weights)
    if w.method == "rake":
        d3 = rake(d3_0, data.targets, cap=w.cap)
    else:
        d3 = calibrate(d3_0, data.targets, method=w.method, bounds=w.bounds)
    wr = d3.weighting_report
    assert wr is not None
    files = [
        _csv(wr.to_frame(), out / "weighting_summary.csv", "%.10g", synthetic=syn),
        _csv(wr.margins(), out / "weighting_margins.csv", "%.10g", synthetic=syn),
        # the final weights, one per Tier 3 row in file order, so anyone can check the margins
        _csv(pd.DataFrame({"weight": d3.weight_array}), out / "tier3_weights.csv", "%.17g",
             synthetic=syn),
        _write(out / "weighting_report.txt",
               (f"{SYNTHETIC_NOTE}\n\n" if syn else "") + str(wr) + "\n"),
    ]
    d1 = None if data.tier1 is None else SurveyDesign(data.tier1, ids=d.tier1_cluster,
                                                     weights=d.tier1_weights)
    return WeightingResult(start=d3_0, tier3=d3, tier1=d1, report=wr, files=tuple(files))


def estimate_headlines(config: CohortConfig, weighting: WeightingResult, out: Path) -> HeadlineResult:
    """Stage 4: each ``[[headline]]`` share (or mean) of weighted Tier 3 with its CI and
    base, beside the published figure; writes ``headline_estimates.csv``.

    Raises
    ------
    DelibpollError
        A headline category is not a category of its question.
    """
    d3, est = weighting.tier3, config.estimation
    level, ci_method = est.level, est.ci_method
    head_rows = []
    first_share: Estimate | None = None
    for h in config.headline:
        q, cat = h.question, h.category
        if cat is None:
            e = mean(d3, q, level=level, na="drop").to_frame().iloc[0]
            head_rows.append({"question": q, "category": "(mean)", "estimate": round(e["estimate"], 4),
                              "ci_lower": round(e["ci_lower"], 4), "ci_upper": round(e["ci_upper"], 4),
                              "n": int(e["n"]), "published": h.published})
            continue
        share = proportion(d3, q, level=level, ci_method=ci_method, na="drop")
        fr = share.to_frame().set_index("category")
        if cat not in fr.index:
            raise DelibpollError(
                f"[[headline]] category {cat!r} is not a category of '{q}'; its categories are "
                f"{list(fr.index)}."
            )
        if first_share is None:
            first_share = share
        row = fr.loc[cat]
        assert isinstance(row, pd.Series)  # the categories are unique
        head_rows.append({"question": q, "category": cat, "estimate": round(row["estimate"], 4),
                          "ci_lower": round(row["ci_lower"], 4), "ci_upper": round(row["ci_upper"], 4),
                          "n": int(row["n"]), "published": h.published})
    headline = pd.DataFrame(head_rows)
    _csv(headline, out / "headline_estimates.csv", synthetic=_synthetic(config))
    return HeadlineResult(table=headline, first_share=first_share,
                          files=(out / "headline_estimates.csv",))


def assess_representativeness(
    config: CohortConfig, data: CohortData, weighting: WeightingResult, out: Path
) -> RepresentativenessResult:
    """Stage 5: each tier against the population margins, and Tier 1 against Tier 3's
    weighted profile; writes the ``representativeness_*.csv`` files."""
    d3, d1 = weighting.tier3, weighting.tier1
    rep_vars = list(config.representativeness.variables)
    syn = _synthetic(config)
    r3 = representativeness(d3, data.population)
    r1 = None if d1 is None else representativeness(d1, data.population)
    r13 = None if d1 is None else representativeness(d1, d3.profile(rep_vars))
    files: list[Path] = []
    for name, rr in (("tier3_vs_population", r3), ("tier1_vs_population", r1), ("tier1_vs_tier3", r13)):
        if rr is None:
            continue
        files += [_csv(rr.to_frame(), out / f"representativeness_{name}.csv", synthetic=syn),
                  _csv(rr.tests, out / f"representativeness_{name}_tests.csv", synthetic=syn)]
    return RepresentativenessResult(tier3=r3, tier1=r1, tier1_vs_tier3=r13, files=tuple(files))


def compare_tier_views(
    config: CohortConfig, weighting: WeightingResult, out: Path
) -> TierComparisonResult | None:
    """Stage 6: Tier 1 (informed) against Tier 3 (uninformed) on every
    ``[comparison.questions]`` question, one test per question; writes
    ``tier_comparison.csv``. None when no questions are configured."""
    comp = config.comparison
    if not comp.questions or weighting.tier1 is None:
        return None
    qc = compare_questions(
        weighting.tier1, weighting.tier3, dict(comp.questions),
        adjust=comp.multiplicity,
        categories=None if comp.categories is None else dict(comp.categories),
        equivalence_margin=comp.equivalence_margin,
        adjust_for=None if comp.adjust_for is None else list(comp.adjust_for),
        method=comp.adjust_method, balance_threshold=comp.balance_threshold,
        level=config.estimation.level,
    )
    fr = qc.to_frame()
    return TierComparisonResult(comparison=qc, frame=fr,
                                files=(_csv(fr, out / "tier_comparison.csv",
                                            synthetic=_synthetic(config)),))


def estimate_information_arm(
    config: CohortConfig, weighting: WeightingResult, out: Path
) -> InformationArmResult | None:
    """Stage 7: the share of the category in each arm (domain estimates of weighted Tier 3)
    and their treated - control contrast; writes ``information_arm*.csv``. None without an
    ``[information_arm]`` section.

    Raises
    ------
    DelibpollError
        An arm or the category is not in the data, or the category is not a category of
        the Tier 1 question.
    """
    arm = config.information_arm
    if arm is None:
        return None
    d3, est_cfg = weighting.tier3, config.estimation
    level, ci_method = est_cfg.level, est_cfg.ci_method
    var, q, cat = arm.variable, arm.question, arm.category
    treated, control = arm.treated, arm.control
    est = proportion(d3, q, by=var, level=level, ci_method=ci_method, na="drop")
    labels = set(est.labels)
    for role, arm_value in (("treated", treated), ("control", control)):
        if (arm_value, cat) not in labels:
            raise DelibpollError(
                f"[information_arm] {role} = {arm_value!r} with category = {cat!r}: no such "
                f"arm and category in '{var}' x '{q}'. Arms: "
                f"{sorted({str(k[0]) for k in est.labels if isinstance(k, tuple)})}; "
                f"categories: {sorted({str(k[1]) for k in est.labels if isinstance(k, tuple)})}."
            )
    arm_c = contrast(est, {f"{treated} - {control}": {(treated, cat): 1, (control, cat): -1}}).to_frame()
    arm_frame = est.to_frame()
    syn = _synthetic(config)
    files = (_csv(arm_frame, out / "information_arm.csv", synthetic=syn),
             _csv(arm_c, out / "information_arm_contrast.csv", synthetic=syn))
    t1_share: pd.Series | None = None
    t1q = arm.tier1_question
    if t1q and weighting.tier1 is not None:
        t1_fr = proportion(weighting.tier1, t1q, level=level, ci_method=ci_method,
                           na="drop").to_frame().set_index("category")
        if cat not in t1_fr.index:
            raise DelibpollError(
                f"[information_arm] category {cat!r} is not a category of the Tier 1 "
                f"tier1_question '{t1q}'; its categories are {list(t1_fr.index)}."
            )
        found = t1_fr.loc[cat]
        assert isinstance(found, pd.Series)  # the categories are unique
        t1_share = found
    return InformationArmResult(estimate=est, frame=arm_frame, contrast=arm_c,
                                tier1_share=t1_share, files=files)


def build_banner(config: CohortConfig, weighting: WeightingResult, out: Path) -> BannerResult | None:
    """Stage 8: the banner tables of weighted Tier 3, written as .xlsx and .ods (cover,
    notes, contents, one table per sheet), a standalone .html, .md and the tidy .csv. The
    words come from the data file's labels, with the config's ``[labels]`` on top when the
    config has them. None without a ``[banner]`` section."""
    b = config.banner
    if b is None:
        return None
    rows: list[Any] = list(b.rows)
    for name, cols_ in b.multi_response.items():
        rows.append({name: list(cols_)})
    labels = getattr(config, "labels", None)  # [labels], where the config offers it
    table = banner(
        weighting.tier3, rows, list(b.columns), level=config.estimation.level,
        ci_method=config.estimation.ci_method, sig_level=b.sig_level, adjust=b.adjust,
        min_base=b.min_base, suppress_below=b.suppress_below,
        nets=None if b.nets is None else {k: list(v) for k, v in b.nets.items()},
        exclude=None if b.exclude is None else list(b.exclude), decimals=b.decimals,
        labels=labels if labels else None,
    )
    title, source = config.cohort.title, config.cohort.source
    files = [table.to_excel(out / "banner_tables.xlsx", title=title, source=source),
             table.to_ods(out / "banner_tables.ods", title=title, source=source),
             _write(out / "banner_tables.html", table.to_html(title=title, layout="classic")),
             _write(out / "banner_tables.md", table.to_markdown()),
             table.to_csv(out / "banner_tables.csv")]
    return BannerResult(table=table, files=tuple(files))


# ====================================================================== stage: deliberation (#17)
# The knowledge, balance, attrition, group-dynamics and control-group sections: each present
# only when the config provides its data. The numbers are the library functions' results
# (learning, balance, attrition, group_dynamics, difference_in_differences); the pipeline
# only chooses the rows and columns they are given.
class _Measure(NamedTuple):
    """A before/after measure of Tier 1: the knowledge score or a comparison question."""

    name: str  # "knowledge" or the [comparison.questions] name
    label: str  # the words readers see
    before: str  # its columns in the working Tier 1 design
    after: str
    share: bool  # a share (score, or the share giving one answer): shown in percent


class DelibTable(NamedTuple):
    """One table of the deliberative sections: shown in the report and written to
    ``deliberation_tables.xlsx`` from the same cells."""

    title: str
    base: str
    stub: str
    heads: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Any, ...]], ...]  # (row label, cells)
    notes: str

    def frame(self) -> pd.DataFrame:
        """The table as text cells, for the report."""
        return pd.DataFrame([[label, *(c.text for c in cells)] for label, cells in self.rows],
                            columns=[self.stub, *self.heads])


class DeliberationResult(NamedTuple):
    """The deliberative sections' results: learning (None without ``[knowledge]``), the
    covariate balance of the composition adjustment (None without ``adjust_for``), and per
    measure the attrition, group dynamics and difference in differences; the tables shown
    and the files written."""

    learning: Learning | None
    n_quiz: int  # Tier 1 participants who answered the quiz before deliberation
    balance: Balance | None
    attrition: Mapping[str, Attrition]
    dynamics: Mapping[str, GroupDynamics]
    control: Mapping[str, DifferenceInDifferences]
    n_control: int
    measures: Mapping[str, _Measure]
    tables: Mapping[str, tuple[DelibTable, ...]]  # section -> its tables
    files: tuple[Path, ...]


def _deliberation_columns(config: CohortConfig) -> list[tuple[str, str]]:
    """(config label, column) pairs of the deliberative sections that Tier 1 must have."""
    need: list[tuple[str, str]] = []
    kc, ac, dc = (getattr(config, s, None) for s in ("knowledge", "attrition", "dynamics"))
    if kc is not None:
        need += [("[knowledge] before", c) for c in kc.before]
        need += [("[knowledge] after", c) for c in kc.after]
        if kc.by is not None:
            need.append(("[knowledge] by", kc.by))
    if ac is not None:
        if ac.status is not None:
            need.append(("[attrition] status", ac.status))
        need += [("[attrition] adjust_for", c) for c in ac.adjust_for]
    if dc is not None and dc.group is not None:
        need.append(("[dynamics] group", dc.group))
    return need


def _control_columns(config: CohortConfig) -> list[tuple[str, str]]:
    """(config label, column) pairs the control data must have."""
    cc, kc = getattr(config, "control", None), getattr(config, "knowledge", None)
    if cc is None:
        return []
    need = [(f"[control] {k}", v) for k, v in (("weights", cc.weights), ("cluster", cc.cluster))
            if v is not None]
    if cc.knowledge and kc is not None:
        need += [("[control] knowledge ([knowledge] before)", c) for c in kc.before]
        need += [("[control] knowledge ([knowledge] after)", c) for c in kc.after]
    for q, (b, a) in cc.questions.items():
        need += [(f"[control.questions.{q}] before", b), (f"[control.questions.{q}] after", a)]
    return need


def _is_numeric_answer(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
                and not pd.api.types.is_bool_dtype(s))


def _answer_measure(
    config: CohortConfig, q: str, cols: Sequence[pd.Series], where: str, lab: Labels
) -> tuple[list[pd.Series], str, bool]:
    """The before/after answers of question ``q`` as numbers: numeric answers as they are,
    categorical ones as 1/0 for the question's declared ``[comparison.categories]`` answer
    (missing stays missing); with the label and whether it is a share."""
    if all(_is_numeric_answer(c) for c in cols):
        return [c.astype(float) for c in cols], lab.variable(q), False
    cats = config.comparison.categories or {}
    if q not in cats:
        raise DelibpollError(
            f"{where} names '{q}', whose answers are categories; declare the answer to count in "
            f"[comparison.categories] (e.g. {q} = \"...\"), or use a numeric question."
        )
    cat = cats[q]
    out = [pd.Series(np.where(c.isna(), np.nan, (c.astype(object) == cat).astype(float)),
                     index=c.index) for c in cols]
    return out, f"{lab.variable(q)}: share answering '{lab.category(q, cat)}'", True


def _deliberation_data_errors(config: CohortConfig, t1: pd.DataFrame,
                              control: pd.DataFrame | None) -> list[str]:
    """What the deliberative sections need of the data, checked before any output: a
    categorical measure has a declared category, the status column has the completed value."""
    errors: list[str] = []
    ac, dc, cc = (getattr(config, s, None) for s in ("attrition", "dynamics", "control"))
    cats = config.comparison.categories or {}
    uses = [("[attrition] measures", q) for q in (ac.measures if ac else ())]
    uses += [("[dynamics] questions", q) for q in (dc.questions if dc else ())]
    uses += [("[control.questions]", q) for q in (cc.questions if cc else {})]
    for where, q in dict.fromkeys(u for u in uses if u[1] != "knowledge"):
        b, a = config.comparison.questions[q]
        if not all(_is_numeric_answer(t1[c]) for c in (b, a)) and q not in cats:
            errors.append(f"{where} names '{q}', whose answers are categories; declare the "
                          f"answer to count in [comparison.categories] (e.g. {q} = \"...\"), or "
                          "use a numeric question.")
    if ac is not None and ac.status is not None:
        found = t1[ac.status].dropna().unique().tolist()
        if ac.completed not in found:
            errors.append(f"[attrition] completed = {ac.completed!r} is not a value of the status "
                          f"column '{ac.status}'; its values are {sorted(map(str, found))}.")
    return errors


def _completers(config: CohortConfig, d1: SurveyDesign) -> np.ndarray | None:
    """Who answered after deliberation by the ``[attrition] status`` column (None without
    one: then a missing answer after marks a non-completer)."""
    ac = getattr(config, "attrition", None)
    if ac is None or ac.status is None:
        return None
    s = d1.column(ac.status)
    found = [v for v in s.dropna().unique().tolist()]
    if ac.completed not in found:
        raise DelibpollError(
            f"[attrition] completed = {ac.completed!r} is not a value of the status column "
            f"'{ac.status}'; its values are {sorted(map(str, found))}."
        )
    done: np.ndarray = (s.astype(object) == ac.completed).to_numpy(dtype=bool)
    return done


def _comparison_balance(comparison: TierComparisonResult | None) -> Balance | None:
    """The covariate balance of the composition adjustment: Tier 1 is reweighted once for
    every question (the same rows and covariates), so the first question's balance is the
    balance of all of them."""
    if comparison is None:
        return None
    for comp in comparison.comparison.comparisons.values():
        return comp.balance
    return None


def analyse_deliberation(
    config: CohortConfig, data: CohortData, weighting: WeightingResult,
    comparison: TierComparisonResult | None, out: Path,
) -> DeliberationResult | None:
    """Stage 8b: the deliberative analyses the config asks for: learning (``[knowledge]``),
    the covariate balance of the composition adjustment (``[comparison] adjust_for``),
    attrition (``[attrition]``), group dynamics (``[dynamics]``) and the difference in
    differences against a control sample (``[control]``); writes their CSV files and
    ``deliberation_tables.xlsx``. None when the config asks for none of them.

    Raises
    ------
    DelibpollError
        A measure names a categorical question without a declared category, the
        ``[attrition] completed`` value is not in the status column, or a library function
        refuses its input (the message names the config section).
    """
    kc, ac = getattr(config, "knowledge", None), getattr(config, "attrition", None)
    dc, cc = getattr(config, "dynamics", None), getattr(config, "control", None)
    bal = _comparison_balance(comparison)
    d1 = weighting.tier1
    if d1 is None or (bal is None and all(x is None for x in (kc, ac, dc, cc))):
        return None
    lab = report_labels(config, weighting)
    level = config.estimation.level
    done = _completers(config, d1)
    work = d1
    measures: dict[str, _Measure] = {}
    learn: Learning | None = None
    n_quiz = 0
    if kc is not None:
        answered_after = d1.select(list(kc.after)).notna().any(axis=1).to_numpy()
        took_before = d1.select(list(kc.before)).notna().any(axis=1).to_numpy()
        took = answered_after if done is None else done
        n_quiz = int((took_before & (d1.weight_array != 0)).sum())
        both = d1.with_fixed_weights(d1.weight_array * (took & took_before))
        try:
            learn = learning(both, list(kc.before), list(kc.after),
                             key=None if kc.key is None else list(kc.key),
                             chance=kc.chance if not isinstance(kc.chance, tuple) else list(kc.chance),
                             dont_know=list(kc.dont_know), by=kc.by, level=level)
        except DelibpollError as exc:
            raise DelibpollError(f"[knowledge]: {exc}") from None
        sc = learn.scores
        work = work.with_columns({
            "knowledge_score_before": sc["score_before"].where(took_before),
            "knowledge_score_after": sc["score_after"].where(took & took_before)})
        measures["knowledge"] = _Measure(
            "knowledge", "Knowledge score",
            "knowledge_score_before", "knowledge_score_after", True)
    wanted = [*(ac.measures if ac else ()), *(dc.questions if dc else ()), *(cc.questions if cc else ())]
    for q in dict.fromkeys(m for m in wanted if m != "knowledge"):
        b, a = config.comparison.questions[q]
        (xb, xa), label, share = _answer_measure(
            config, q, [d1.column(b), d1.column(a)], f"[{'attrition' if ac and q in ac.measures else 'dynamics' if dc and q in dc.questions else 'control'}]", lab)
        work = work.with_columns({f"{q} (before)": xb, f"{q} (after)": xa})
        measures[q] = _Measure(q, label, f"{q} (before)", f"{q} (after)", share)
    att: dict[str, Attrition] = {}
    for name in ac.measures if ac else ():
        m = measures[name]
        design = work
        if done is not None and name != "knowledge":  # the status column decides
            design = work.with_columns({m.after: work.column(m.after).where(done)})
        try:
            att[name] = attrition(design, m.before, m.after, adjust_for=list(ac.adjust_for) if ac else [],
                                  adjust_pre=ac.adjust_pre if ac else True, level=level,
                                  max_rate=ac.max_rate if ac else 0.2)
        except DelibpollError as exc:
            raise DelibpollError(f"[attrition] measure '{name}': {exc}") from None
    dyn: dict[str, GroupDynamics] = {}
    group = (dc.group or config.data.tier1_cluster) if dc else None
    for name in dc.questions if dc else ():
        m = measures[name]
        try:
            dyn[name] = group_dynamics(work, m.before, m.after, group=group, level=level)
        except DelibpollError as exc:
            raise DelibpollError(f"[dynamics] question '{name}': {exc}") from None
    did: dict[str, DifferenceInDifferences] = {}
    n_control = 0
    if cc is not None and data.control is not None:
        cd = SurveyDesign(data.control, weights=cc.weights, ids=cc.cluster)
        n_control = cd.n
        cols: dict[str, pd.Series | np.ndarray] = {}
        if cc.knowledge and kc is not None:
            for when, items in (("before", kc.before), ("after", kc.after)):
                k = knowledge(cd, list(items), key=None if kc.key is None else list(kc.key),
                              dont_know=list(kc.dont_know))
                took_c = cd.select(list(items)).notna().any(axis=1)
                cols[f"knowledge_score_{when}"] = k.scores["score"].where(took_c)
        for q, (b, a) in cc.questions.items():
            (xb, xa), _, _ = _answer_measure(config, q, [cd.column(b), cd.column(a)],
                                             f"[control.questions.{q}]", lab)
            cols[f"{q} (before)"], cols[f"{q} (after)"] = xb, xa
        cdw = cd.with_columns(cols)
        for name in (["knowledge"] if cc.knowledge else []) + list(cc.questions):
            m = measures[name]
            try:
                did[name] = difference_in_differences(work, cdw, m.before, m.after, level=level)
            except DelibpollError as exc:
                raise DelibpollError(f"[control] measure '{name}': {exc}") from None
    parts: dict[str, Any] = dict(learning=learn, n_quiz=n_quiz, balance=bal, attrition=att,
                                 dynamics=dyn, control=did, n_control=n_control,
                                 measures=measures)
    res = DeliberationResult(**parts, tables={}, files=())
    tables = _deliberation_tables(config, res, lab)
    files = _write_deliberation(config, res, tables, out)
    return DeliberationResult(**parts, tables=tables, files=files)


# ---------------------------------------------------------------------- their cells
def _by(frame: pd.DataFrame, *keys: str) -> dict[Any, dict[Any, Any]]:
    """A result frame's rows by the values of ``keys`` (a tuple of them for two keys)."""
    recs = frame.to_dict("records")
    if len(keys) == 1:
        return {r[keys[0]]: r for r in recs}
    return {tuple(r[k] for k in keys): r for r in recs}


def _c_pct(x: Any, d: int = 0) -> Cell:
    return Cell(NOT_AVAILABLE) if pd.isna(x) else Cell(percent(float(x), d), float(x), "percent", d)


def _c_pts(x: Any, d: int = 0) -> Cell:
    return (Cell(NOT_AVAILABLE) if pd.isna(x)
            else Cell(points(float(x), d, unit=""), 100 * float(x), "points", d))


def _c_num(x: Any, d: int = 2, sign: bool = False) -> Cell:
    return (Cell(NOT_AVAILABLE) if pd.isna(x)
            else Cell(number(float(x), d, sign=sign), float(x), "points" if sign else "number", d))


def _c_count(x: Any) -> Cell:
    return Cell(NOT_AVAILABLE) if pd.isna(x) else Cell(count(x), float(x), "count", 0)


def _c_p(x: Any) -> Cell:
    if pd.isna(x):
        return Cell(NOT_AVAILABLE)
    return Cell(p_value(float(x)), None if float(x) < 0.001 else round(float(x), 3), "number", 3)


def _c_ci(lo: Any, hi: Any, share: bool, d: int | None = None) -> Cell:
    """A CI as text: of a difference of shares in points, else of a number (kept on one
    line in a table cell)."""
    text = (ci(lo, hi, 0 if d is None else d, "points").replace(" pts", "") if share
            else ci(lo, hi, 2 if d is None else d, "number"))
    return _c_text(text)


def _c_text(text: str) -> Cell:
    """A range such as '-0.08 to 1.21' as one unbroken line (no-break spaces)."""
    return Cell(text.replace(" to ", "\u00a0to\u00a0"))


def _c_val(x: Any, share: bool) -> Cell:
    """A level: a share in percent or a number with two decimals."""
    return _c_pct(x) if share else _c_num(x)


def _c_diff(x: Any, share: bool) -> Cell:
    """A change or a difference: in points for shares, else signed with two decimals."""
    return _c_pts(x) if share else _c_num(x, sign=True)


def _deliberation_tables(config: CohortConfig, res: DeliberationResult,
                         lab: Labels) -> dict[str, tuple[DelibTable, ...]]:
    lev = _fmt_pct(config.estimation.level)
    out: dict[str, tuple[DelibTable, ...]] = {}
    kc = getattr(config, "knowledge", None)
    if res.learning is not None and kc is not None:
        fr = _by(res.learning.to_frame(), "measure")
        names = {"score": "Share of items correct",
                 "corrected_score": "Corrected for guessing"}
        rows = tuple((names[str(m)], (_c_pct(r["before"]), _c_pct(r["after"]), _c_pts(r["gain"]),
                                 _c_ci(r["ci_lower"], r["ci_upper"], True), _c_p(r["p_value"])))
                     for m, r in fr.items())
        base = f"Base: {count(res.learning.n)} Tier 1 participants who answered the quiz both times"
        tabs = [DelibTable(
            "Knowledge quiz scores before and after deliberation", base, "Score",
            ("Before", "After", "Change (pts)", f"{lev} CI (pts)", "p"), rows,
            "Score: the share of the quiz's items answered correctly, 'don't know' and no answer "
            "counting as not correct. "
            + ("Corrected for guessing: right minus wrong / (k - 1) for an item with k options, "
               "'don't know' neither right nor wrong. " if "corrected_score" in fr else "")
            + "Change = after - before, same people. Source: knowledge_learning.csv.")]
        it = res.learning.item_frame()
        tabs.append(DelibTable(
            "Knowledge quiz items: answered correctly before and after", base, "Item",
            ("Correct before", "Correct after", "Change (pts)", f"{lev} CI (pts)",
             "Don't know before", "Don't know after"),
            tuple((_item_label(lab, b), (_c_pct(r["right_before"]), _c_pct(r["right_after"]),
                                         _c_pts(r["gain"]), _c_ci(r["ci_lower"], r["ci_upper"], True),
                                         _c_pct(r["dont_know_before"]), _c_pct(r["dont_know_after"])))
                  for b, r in zip(it["item_before"], it.to_dict("records"), strict=True)),
            "Shares of participants. Source: knowledge_items.csv."))
        gaps = res.learning.gap_frame()
        if kc.by is not None and len(gaps):
            g = _by(gaps, "measure", "group")
            groups = list(dict.fromkeys(gaps["group"]))
            ref = gaps["reference"].iloc[0]
            grows = []
            for grp in groups:
                gain = g["gain", grp]
                grows.append((lab.category(kc.by, grp), (
                    _c_pct(g["score_before", grp]["estimate"]),
                    _c_pct(g["score_after", grp]["estimate"]), _c_pts(gain["estimate"]),
                    _c_pts(gain["gap"]) if grp != ref else Cell("reference"),
                    _c_ci(gain["gap_ci_lower"], gain["gap_ci_upper"], True) if grp != ref else Cell(""),
                    _c_p(gain["gap_p_value"]) if grp != ref else Cell(""),
                    _c_count(gain["n"]))))
            tabs.append(DelibTable(
                f"Learning by {_names([kc.by], lab)}", base, lab.variable(kc.by),
                ("Score before", "Score after", "Change (pts)",
                 f"Change minus {lab.category(kc.by, ref)}'s (pts)", f"{lev} CI (pts)", "p",
                 "Base (unweighted)"), tuple(grows),
                "The difference in change between groups, with its design-based CI (the groups "
                "share discussion groups). Source: knowledge_gaps.csv."))
        out["knowledge"] = tuple(tabs)
    if res.balance is not None:
        b = res.balance.to_frame()
        has_after = "asmd_after" in b
        rows_b = []
        for r in b.to_dict("records"):
            cells = [_c_pct(r["uninformed"]), _c_pct(r["informed"]), _c_num(r["asmd_before"])]
            if has_after:
                cells += [_c_pct(r["informed_adjusted"]), _c_num(r["asmd_after"])]
            rows_b.append((f"{lab.variable(r['covariate'])}: {lab.category(r['covariate'], r['category'])}",
                           tuple(cells)))
        heads = ("Tier 3 (weighted)", "Tier 1", "ASMD before") + (
            ("Tier 1 adjusted", "ASMD after") if has_after else ())
        out["balance"] = (DelibTable(
            "Covariate balance of Tier 1 against Tier 3, before and after the adjustment",
            f"Base: {count(res.balance.n_informed)} Tier 1 participants; Kish effective size "
            f"{number(res.balance.n_eff_before, 1)} before and {number(res.balance.n_eff_after, 1)} "
            "after the adjustment", "Covariate: category", heads, tuple(rows_b),
            "Shares of each covariate's categories. ASMD: absolute standardised mean difference "
            "from Tier 3, |p1 - p3| / sqrt((p1 (1 - p1) + p3 (1 - p3)) / 2) with the unadjusted "
            f"shares in the denominator; above {readable_number(res.balance.threshold)} a "
            "category counts as not balanced. Source: balance.csv."),)
    if res.attrition:
        tabs = []
        first = next(iter(res.attrition.values()))
        rates = first.rate_frame()
        tabs.append(DelibTable(
            "Attrition: share of Tier 1 participants who did not answer after deliberation",
            f"Base: {count(first.n_before)} Tier 1 participants who answered before",
            "Participants", ("Did not answer after", f"{lev} CI", "Base (unweighted)"),
            tuple(("All participants" if r["variable"] == "all" else
                   f"{lab.variable(r['variable'])}: {lab.category(r['variable'], r['category'])}",
                   (_c_pct(r["rate"]), _c_text(ci(r["ci_lower"], r["ci_upper"], 0, "percent")),
                    _c_count(r["n"])))
                  for r in rates.to_dict("records")),
            f"Attrition of {res.measures[next(iter(res.attrition))].label.lower()}. Source: "
            "attrition_rates.csv."))
        arows = []
        for name, a in res.attrition.items():
            m = res.measures[name]
            fr = _by(a.to_frame(), "estimate_of", "measure")
            for est_of, text in (("complete_case", "complete case"),
                                 ("attrition_adjusted", "attrition-adjusted")):
                if (est_of, "change") not in fr:
                    continue
                ch = fr[est_of, "change"]
                arows.append((f"{m.label} ({text})", (
                    _c_val(fr[est_of, "before"]["estimate"], m.share),
                    _c_val(fr[est_of, "after"]["estimate"], m.share),
                    _c_diff(ch["estimate"], m.share),
                    _c_ci(ch["ci_lower"], ch["ci_upper"], m.share), _c_p(ch["p_value"]),
                    _c_num(ch["n_eff"], 1))))
        tabs.append(DelibTable(
            "Change among completers, without and with the attrition adjustment",
            f"Base: {count(first.n_complete)} Tier 1 participants who answered both times",
            "Measure", ("Before", "After", "Change", f"{lev} CI", "p", "Kish effective size"),
            tuple(arows),
            "Complete case: the completers with their own weights. Attrition-adjusted: the "
            "completers reweighted (raking) to the profile of everyone who answered before"
            + (f" on {_names([_attr_var(v, res.measures[next(iter(res.attrition))], lab) for v in first.adjustment['variables']], lab)}"
               if first.adjustment else "")
            + ". Changes of shares in percentage points. Source: attrition.csv."))
        out["attrition"] = tuple(tabs)
    if res.dynamics:
        drows, mrows = [], []
        for name, gd in res.dynamics.items():
            m = res.measures[name]
            fr = _by(gd.to_frame(), "quantity")
            vc, sl = fr["variance_change"], fr["movement_slope"]
            drows.append((m.label, (
                _c_num(fr["icc_before"]["estimate"]), _c_num(fr["icc_after"]["estimate"]),
                _c_num(fr["sd_before"]["estimate"]), _c_num(fr["sd_after"]["estimate"]),
                _c_num(vc["estimate"], 3, sign=True),
                _c_text(ci(vc["ci_lower"], vc["ci_upper"], 3, "number")))))
            mrows.append((m.label, (
                _c_num(sl["estimate"], sign=True), _c_text(ci(sl["ci_lower"], sl["ci_upper"], 2, "number")),
                _c_p(sl["p_value"]), _c_count(gd.n_pairs), _c_count(gd.n_groups))))
        g0 = next(iter(res.dynamics.values()))
        base = f"Base: Tier 1 participants with both answers in {g0.n_groups} discussion groups"
        scale = ("Knowledge score: the share of the quiz answered correctly; knowledge scores "
                 "and shares are on a 0 to 1 scale here. ")
        out["dynamics"] = (
            DelibTable(
                "Similarity of opinions within discussion groups, and their spread", base,
                "Measure", ("ICC before", "ICC after", "SD before", "SD after",
                            "Change in variance", f"{lev} CI"), tuple(drows),
                scale + "ICC: intra-class correlation ICC(1) of the answers within discussion "
                "groups (unweighted, one-way ANOVA). SD: standard deviation of the answers "
                "(weighted); its square, the variance, changes by 'Change in variance'. Source: "
                "group_dynamics.csv."),
            DelibTable(
                "Movement towards the rest of the group's starting view", base, "Measure",
                ("Slope", f"{lev} CI", "p", "Participants", "Groups"), tuple(mrows),
                scale + "Slope: the design-based regression slope of each person's change on the "
                "rest of their group's mean answer before deliberation; positive when people "
                "moved towards where the rest of their group started, 0 in expectation without "
                "group influence. Source: group_dynamics.csv."),
        )
    if res.control:
        crows = []
        for name, dd in res.control.items():
            m = res.measures[name]
            fr = _by(dd.to_frame(), "quantity")
            did = fr["difference_in_differences"]
            crows.append((m.label, (
                _c_diff(fr["treated_change"]["estimate"], m.share),
                _c_diff(fr["control_change"]["estimate"], m.share),
                _c_diff(did["estimate"], m.share), _c_ci(did["ci_lower"], did["ci_upper"], m.share),
                _c_p(did["p_value"]), _c_diff(fr["balance_before"]["estimate"], m.share))))
        out["control"] = (DelibTable(
            "Tier 1 and the control group: change and difference in differences",
            f"Base: Tier 1 participants and {count(res.n_control)} control respondents with "
            "both answers", "Measure",
            ("Change, Tier 1", "Change, control", "Difference in differences", f"{lev} CI", "p",
             "Difference before"), tuple(crows),
            "Knowledge score: the share of the quiz answered correctly. Difference in "
            "differences = Tier 1's change - the control group's change. Difference before: "
            "Tier 1 - control at the first survey (the difference after is in the CSV file). "
            "Changes of shares in "
            "percentage points. Source: control_comparison.csv."),)
    return out


def _item_label(lab: Labels, column: str) -> str:
    """A quiz item's words without the "(before deliberation)" ending of its label."""
    text = lab.variable(column)
    for end in (" (before deliberation)", " (after deliberation)"):
        text = text.removesuffix(end)
    return text.removeprefix("Knowledge: ")


def _write_deliberation(config: CohortConfig, res: DeliberationResult,
                        tables: Mapping[str, tuple[DelibTable, ...]], out: Path) -> tuple[Path, ...]:
    """The tidy CSV files of every result and the workbook of the tables."""
    from .export.excel import document_excel

    syn = _synthetic(config)
    files: list[Path] = []
    if res.learning is not None:
        files += [_csv(res.learning.to_frame(), out / "knowledge_learning.csv", synthetic=syn),
                  _csv(res.learning.item_frame(), out / "knowledge_items.csv", synthetic=syn)]
        if len(res.learning.gap_frame()):
            files.append(_csv(res.learning.gap_frame(), out / "knowledge_gaps.csv", synthetic=syn))
    if res.balance is not None:
        files.append(_csv(res.balance.to_frame(), out / "balance.csv", synthetic=syn))

    def stacked(results: Mapping[str, Any], how: Callable[[Any], pd.DataFrame]) -> pd.DataFrame:
        return pd.concat([how(r).assign(measure_name=name) for name, r in results.items()],
                         ignore_index=True)

    if res.attrition:
        files += [_csv(stacked(res.attrition, lambda a: a.to_frame()), out / "attrition.csv", synthetic=syn),
                  _csv(stacked(res.attrition, lambda a: a.rate_frame()), out / "attrition_rates.csv", synthetic=syn)]
    if res.dynamics:
        files.append(_csv(stacked(res.dynamics, lambda g: g.to_frame()), out / "group_dynamics.csv", synthetic=syn))
    if res.control:
        files.append(_csv(stacked(res.control, lambda d: d.to_frame()), out / "control_comparison.csv", synthetic=syn))
    views = tuple(
        View(t.title, t.base, t.stub, tuple(Head("", h) for h in t.heads),
             tuple(Row(label, tuple(cells)) for label, cells in t.rows))
        for section in tables.values() for t in section)
    if views:
        notes = tuple(f"{t.title}: {t.notes}" for section in tables.values() for t in section)
        if syn:
            notes = (SYNTHETIC_NOTE, *notes)
        doc = Document(views, notes, "the tables of the deliberative analyses")
        title = f"{config.cohort.title}: deliberative analyses"
        files.append(document_excel(doc, out / "deliberation_tables.xlsx", title=title,
                                    source=config.cohort.source))
    return tuple(files)


def _deliberation_charts(res: DeliberationResult | None, lab: Labels,
                         note: str | None) -> list[tuple[str, Any, float, float]]:
    """The love plot of the composition adjustment's balance."""
    if res is None or res.balance is None:
        return []
    from .plots_balance import plot_balance

    n = len(res.balance.to_frame())
    return [("balance", plot_balance(res.balance, labels=lab, note=note), A4_WIDTH, 2.2 + 0.36 * n)]


# ---------------------------------------------------------------------- their report sections
def _report_deliberation(rep: _Report, config: CohortConfig, res: DeliberationResult,
                         images: Mapping[str, tuple[str, str]], lab: Labels) -> list[str]:
    """The knowledge, balance, attrition, group-dynamics and control sections, each only
    when its result exists; returns their Methods sentences."""
    methods: list[str] = []
    level = config.estimation.level
    lev = _fmt_pct(level)
    tables = res.tables
    if res.balance is not None:
        b, comp = res.balance, config.comparison
        bf = b.to_frame()
        col = "asmd_after" if "asmd_after" in bf else "asmd_before"
        thr = b.threshold
        n_cat = len(bf)
        above_b = int((bf["asmd_before"] > thr).sum())
        above_a = int((bf[col] > thr).sum())
        worst = bf.to_dict("records")[int(np.argmax(bf[col].to_numpy()))]
        how = _ADJUST_WORDS[comp.adjust_method]
        rep.heading("Balance of the composition adjustment")
        rep.para(
            f"For the adjusted comparison, Tier 1 was reweighted to Tier 3's weighted profile on "
            f"{_names(comp.adjust_for or (), lab)} by {how}. Before the adjustment, {above_b} of "
            f"the {n_cat} covariate categories differed from Tier 3 by an absolute standardised "
            f"mean difference (ASMD) above {readable_number(thr)}; after it, {above_a} did. The "
            f"largest ASMD after the adjustment is {number(worst[col], 2)} "
            f"({lab.variable(worst['covariate'])}: {lab.category(worst['covariate'], worst['category'])}). "
            f"The Kish effective size of Tier 1 is {number(b.n_eff_before, 1)} before and "
            f"{number(b.n_eff_after, 1)} after the adjustment ({count(b.n_informed)} participants)."
        )
        if not b.balanced:
            rep.para(
                f"Warning: balance was not achieved. {above_a} covariate categor"
                f"{'y has' if above_a == 1 else 'ies have'} an ASMD above {readable_number(thr)} "
                "after the adjustment, so the adjusted differences in the comparison above still "
                "contain composition differences on them."
                + (" Raking merged the categories with fewer than 5 Tier 1 participants, which "
                   "are then not balanced one by one; [comparison] adjust_method = \"entropy\" "
                   "balances every category." if comp.adjust_method == "raking" else ""))
        if b.n_eff_after < 0.3 * b.n_informed:
            rep.para(f"Warning: the adjustment leaves a Kish effective size of "
                     f"{number(b.n_eff_after, 1)} of {count(b.n_informed)}; the adjusted "
                     "comparison rests on few people.")
        for t in tables.get("balance", ()):
            rep.table(t.frame(), t.title, f"{t.base}. {t.notes}")
        rep.image(images.get("balance"), "Covariate balance of Tier 1 against Tier 3 (love plot)")
        methods.append(
            f"Balance: absolute standardised mean differences of every covariate category "
            f"between Tier 1 and weighted Tier 3, before and after {how}, with the unadjusted "
            f"pooled SD as the denominator; threshold {readable_number(thr)} ([comparison] "
            "balance_threshold); Kish effective size (sum w)^2 / sum w^2.")
    learn = res.learning
    kc = getattr(config, "knowledge", None)
    if learn is not None and kc is not None:
        fr = _by(learn.to_frame(), "measure")
        s = fr["score"]
        j = len(learn.pre)
        rep.heading("Knowledge and learning (Tier 1)")
        text = (
            f"{count(res.n_quiz)} Tier 1 participants answered the {j}-item knowledge quiz "
            f"before deliberation and {count(learn.n)} of them answered it again after. Among "
            f"these {count(learn.n)}, the mean share of items answered correctly was "
            f"{_fmt_pct(s['before'])} before and {_fmt_pct(s['after'])} after: a change of "
            f"{points(s['gain'], 0)} ({lev} CI {ci(s['ci_lower'], s['ci_upper'], 0, 'points')}; "
            f"{_p_is(s['p_value'])}).")
        if "corrected_score" in fr:
            c = fr["corrected_score"]
            text += (f" Corrected for guessing, the score changed by {points(c['gain'], 0)} "
                     f"({lev} CI {ci(c['ci_lower'], c['ci_upper'], 0, 'points')}), from "
                     f"{_fmt_pct(c['before'])} to {_fmt_pct(c['after'])}.")
        text += (f" Cronbach's alpha of the quiz was {number(learn.alpha_before, 2)} before and "
                 f"{number(learn.alpha_after, 2)} after. This compares the same people before and "
                 "after, with no group that did not deliberate: it describes the change, not its "
                 "cause.")
        rep.para(text)
        gaps = learn.gap_frame()
        if kc.by is not None and len(gaps):
            gg = gaps[(gaps["measure"] == "gain") & gaps["gap"].notna()]
            parts = [f"the score of '{lab.category(kc.by, r['group'])}' changed by "
                     f"{number(100 * abs(r['gap']), 0)} percentage points "
                     f"{'more' if r['gap'] > 0 else 'less'} than that of "
                     f"'{lab.category(kc.by, r['reference'])}' (difference {points(r['gap'], 0)}, "
                     f"{lev} CI {ci(r['gap_ci_lower'], r['gap_ci_upper'], 0, 'points')}; "
                     f"{_p_is(r['gap_p_value'])})" for r in gg.to_dict("records")]
            rep.para(f"By {_names([kc.by], lab)}: " + "; ".join(parts) + ". A difference that "
                     "is not statistically significant is not evidence that the groups learned "
                     "alike.")
        for t in tables.get("knowledge", ()):
            rep.table(t.frame(), t.title, f"{t.base}. {t.notes}")
        methods.append(
            "Knowledge: each participant's score is the share of the quiz's items answered "
            "correctly ('don't know' and no answer count as not correct); learning is the "
            "weighted mean of the per-person change among those who answered both times, with "
            "a Taylor-linearised SE clustered like Tier 1's design; "
            + ("the correction for guessing counts right minus wrong / (k - 1) for an item with "
               "k options (Cor and Sood 2016); " if "corrected_score" in fr else "")
            + "Cronbach's alpha is unweighted.")
    if res.attrition:
        ac = config.attrition
        assert ac is not None
        rep.heading("Attrition between the two Tier 1 surveys")
        how = (f"by their answer to {_q(lab.variable(ac.status))} not being "
               f"'{lab.category(ac.status, ac.completed)}'"
               if ac.status is not None and ac.completed is not None else "by a missing answer after")
        for name, a in res.attrition.items():
            m = res.measures[name]
            fr = _by(a.to_frame(), "estimate_of", "measure")
            cc_ = fr["complete_case", "change"]
            text = (f"{m.label}: {count(a.n_before - a.n_complete)} of the {count(a.n_before)} "
                    f"participants who answered before deliberation did not answer after "
                    f"({_fmt_pct(a.rate)}; non-completers recognised {how}). Among the "
                    f"{count(a.n_complete)} who answered both times the change was "
                    f"{_prose_diff(cc_['estimate'], m.share)} ({lev} CI "
                    f"{_prose_ci(cc_['ci_lower'], cc_['ci_upper'], m.share)}).")
            if ("attrition_adjusted", "change") in fr:
                ad = fr["attrition_adjusted", "change"]
                text += (f" Reweighted to the profile of everyone who answered before (on "
                         f"{_names([_attr_var(v, m, lab) for v in a.adjustment['variables']], lab)}), "
                         f"it was {_prose_diff(ad['estimate'], m.share)} ({lev} CI "
                         f"{_prose_ci(ad['ci_lower'], ad['ci_upper'], m.share)}; Kish effective size "
                         f"{number(ad['n_eff'], 1)}); this assumes that, given these variables, "
                         "who dropped out is unrelated to the answer after.")
            pg = a.pre_gap_frame()
            if len(pg) > 1:
                r = pg.iloc[1]
                text += (f" Before deliberation, those who later dropped out scored "
                         f"{_prose_val(r['estimate'], m.share)} against "
                         f"{_prose_val(pg['estimate'].iloc[0], m.share)} for completers "
                         f"(difference {_prose_diff(r['gap'], m.share)}; {_p_is(r['gap_p_value'])}).")
            rep.para(text)
            if a.warnings:
                reasons = []
                if a.rate > ac.max_rate:
                    reasons.append(f"more than {_fmt_pct(ac.max_rate)} of participants did not "
                                   "answer after")
                if len(pg) > 1 and pg["gap_p_value"].iloc[1] < 0.05:
                    reasons.append("those who dropped out answered differently before "
                                   "deliberation (p below 0.05), so attrition is related to the "
                                   "answers")
                rep.para(f"Warning ({m.label.lower()}): " + "; ".join(reasons) + ". The "
                         "complete-case change may be biased; compare it with the "
                         "attrition-adjusted change.")
        for t in tables.get("attrition", ()):
            rep.table(t.frame(), t.title, f"{t.base}. {t.notes}")
        methods.append(
            "Attrition: the complete-case change uses the participants who answered both times "
            "with their own weights; the attrition-adjusted change rakes them to the weighted "
            "profile of everyone who answered before"
            + (" (including their answer before, in up to 5 categories or quartiles)"
               if ac.adjust_pre else "")
            + ", with raking-aware linearised SEs; rates are design-based shares with "
            f"'{config.estimation.ci_method}' intervals.")
    if res.dynamics:
        rep.heading("Group dynamics (Tier 1 discussion groups)")
        parts = []
        for name, g in res.dynamics.items():
            m = res.measures[name]
            fr = _by(g.to_frame(), "quantity")
            sl = fr["movement_slope"]
            moved = ("people moved towards where the rest of their group started"
                     if sl["p_value"] < 0.05 and sl["estimate"] > 0 else
                     "people moved away from where the rest of their group started"
                     if sl["p_value"] < 0.05 else
                     "the data do not show a movement towards or away from the rest of the group")
            vc = fr["variance_change"]
            parts.append(
                f"{m.label} ({count(g.n_pairs)} participants in {g.n_groups} groups): the "
                f"intra-class correlation was {number(fr['icc_before']['estimate'], 2)} before "
                f"and {number(fr['icc_after']['estimate'], 2)} after; the standard deviation "
                f"went from {number(fr['sd_before']['estimate'], 2)} to "
                f"{number(fr['sd_after']['estimate'], 2)} (change in variance "
                f"{number(vc['estimate'], 3, sign=True)}, {lev} CI "
                f"{ci(vc['ci_lower'], vc['ci_upper'], 3, 'number')}); the slope of people's "
                f"change on the rest of their group's starting mean is "
                f"{number(sl['estimate'], 2, sign=True)} ({lev} CI "
                f"{ci(sl['ci_lower'], sl['ci_upper'], 2, 'number')}; {_p_is(sl['p_value'])}): "
                f"{moved}.")
        for text in parts:
            rep.para(text)
        rep.para("These describe the deliberating sample; they compare discussion groups with "
                 "each other, not with people who did not deliberate.")
        for t in tables.get("dynamics", ()):
            rep.table(t.frame(), t.title, f"{t.base}. {t.notes}")
        methods.append(
            "Group dynamics: ICC(1) from a one-way ANOVA of the answers on the discussion groups "
            "with the Shrout-Fleiss F interval; the variance of the answers as R's svyvar, "
            "before and after estimated jointly; the movement slope is the design-based "
            "regression of each person's change on the weighted mean answer before deliberation "
            "of the rest of their group.")
    if not res.control and (learn is not None or res.dynamics or res.attrition):
        pc = possible_comparisons(1)
        missing = [str(c) for c, ok in zip(pc["comparison"], pc["possible"], strict=True) if not ok]
        methods.append(
            "Without a control group surveyed at both times, the change in Tier 1 cannot be "
            "separated from change that happened to everyone between the two surveys; not "
            f"possible here: {'; '.join(c[:1].lower() + c[1:] for c in missing)} (add a "
            "[control] section when such a sample exists).")
    if res.control:
        rep.heading("Control group: difference in differences")
        parts = []
        for name, dd in res.control.items():
            m = res.measures[name]
            fr = _by(dd.to_frame(), "quantity")
            did = fr["difference_in_differences"]
            parts.append(
                f"{m.label}: Tier 1 changed by {_prose_diff(fr['treated_change']['estimate'], m.share)} "
                f"and the control group by {_prose_diff(fr['control_change']['estimate'], m.share)}; "
                f"the difference in differences is {_prose_diff(did['estimate'], m.share)} ({lev} CI "
                f"{_prose_ci(did['ci_lower'], did['ci_upper'], m.share)}; {_p_is(did['p_value'])}). "
                f"Before deliberation the two groups differed by "
                f"{_prose_diff(fr['balance_before']['estimate'], m.share)} ({lev} CI "
                f"{_prose_ci(fr['balance_before']['ci_lower'], fr['balance_before']['ci_upper'], m.share)}), "
                f"and after it by {_prose_diff(fr['difference_after']['estimate'], m.share)} ({lev} CI "
                f"{_prose_ci(fr['difference_after']['ci_lower'], fr['difference_after']['ci_upper'], m.share)}).")
        rep.para(
            f"A control group of {count(res.n_control)} people who did not deliberate was "
            "surveyed at the same two times as Tier 1. " + " ".join(parts) + " Participants "
            "were not assigned to deliberate at random, so this is descriptive: the difference "
            "in differences removes change common to both groups, assuming they would otherwise "
            "have changed alike.")
        for t in tables.get("control", ()):
            rep.table(t.frame(), t.title, f"{t.base}. {t.notes}")
        methods.append(
            "Control group: each sample's change is the weighted mean of the per-person change "
            "among those with both answers, with its own design's linearised SE; the difference "
            "in differences has SE sqrt(se_1^2 + se_c^2) (independent samples) and "
            "Welch-Satterthwaite degrees of freedom.")
    return methods


_ADJUST_WORDS = {
    "raking": "raking to Tier 3's weighted margins (categories with fewer than 5 Tier 1 "
              "participants merged with the next)",
    "entropy": "entropy balancing (calibration to Tier 3's weighted share of every category)",
    "propensity": "propensity-score weighting (a logistic model of being in Tier 1 rather than "
                  "Tier 3 on the covariates)",
}


def _attr_var(v: str, m: _Measure, lab: Labels) -> str:
    """A raking variable of the attrition adjustment as a readable name (the library names
    the pre answer '<column> (pre answer)')."""
    return f"{m.label.lower()} before deliberation" if v.endswith(" (pre answer)") else v


def _p_is(p: Any) -> str:
    """'p = 0.27', 'p < 0.001'."""
    text = p_value(p)
    return f"p {text[0]} {text[1:]}" if text[:1] in "<>" else f"p = {text}"


def _prose_val(x: Any, share: bool) -> str:
    return _fmt_pct(x) if share else number(float(x), 2)


def _prose_diff(x: Any, share: bool) -> str:
    return points(float(x), 0) if share else number(float(x), 2, sign=True)


def _prose_ci(lo: Any, hi: Any, share: bool) -> str:
    return ci(lo, hi, 0, "points") if share else ci(lo, hi, 2, "number")


# ====================================================================== stage: tracking (#17)
class TrackingResult(NamedTuple):
    """The cohorts stacked, the same questions across them, the deliberation effects
    compared (None without ``[tracking] deliberation``), the cohort banner (None with
    ``letters = false``), the trend charts (name -> (PNG path, alt text)) and the files
    written."""

    stack: CohortStack
    comparison: CohortComparison
    deliberation: CohortDeliberation | None
    banner: BannerTable | None
    images: Mapping[str, tuple[str, str]]
    files: tuple[Path, ...]


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "cohort"


def track_cohorts(config: CohortConfig, weighting: WeightingResult, out: Path) -> TrackingResult | None:
    """Stage 8b: this cohort against the ``[[cohorts]]``: each other cohort's config read and
    its Tier 3 weighted as that config says (its weighting files under
    ``cohorts/<label>/``), the Tier 3 designs stacked (:func:`~delibpoll.stack_cohorts`), the
    ``[tracking]`` questions compared across cohorts (:func:`~delibpoll.compare_cohorts`),
    the Tier 1 changes compared (:func:`~delibpoll.compare_deliberation`), a banner with the
    cohort as column variable (letters from the design-based covariance, 0 across cohorts)
    and one trend chart per question. Writes ``tracking_estimates.csv``,
    ``tracking_differences.csv``, ``tracking_deliberation.csv``, ``tracking_gaps.csv``,
    ``tracking_banner.xlsx`` / ``.html`` / ``.csv`` and ``charts/trend_<question>.png`` /
    ``.svg``. None without a ``[tracking]`` section.

    Raises
    ------
    DelibpollError
        Another cohort's config or data has a problem (the message names the
        ``[[cohorts]]`` entry); a question is missing in a cohort or its categories differ;
        the cohorts are weighted in different ways.
    """
    t = config.tracking
    if t is None:
        return None
    syn = _synthetic(config)
    t3: dict[str, SurveyDesign] = {}
    t1: dict[str, SurveyDesign | None] = {}
    files: list[Path] = []
    for i, e in enumerate(config.cohorts, start=1):
        where = f"[[cohorts]] number {i} ('{e.label}')"
        try:
            other = load_config(_resolve(config.base, e.config))
            data = read_data(other)
            sub = out / "cohorts" / _slug(e.label)
            sub.mkdir(parents=True, exist_ok=True)
            w = weight_tier3(other, data, sub)
        except DelibpollError as exc:
            raise DelibpollError(f"{where}: {exc}") from None
        syn = syn or _synthetic(other)
        t3[e.label], t1[e.label] = w.tier3, w.tier1
        files += w.files
    t3[t.label], t1[t.label] = weighting.tier3, weighting.tier1
    cats = dict(t.categories or {})
    level, ci_method = config.estimation.level, config.estimation.ci_method
    try:
        stack = stack_cohorts(t3)
        comp = compare_cohorts(stack, list(t.questions), categories=cats, adjust=t.adjust,
                               sig_level=t.sig_level, level=level, ci_method=ci_method)
        delib = None
        if t.deliberation:
            none = [c for c, d in t1.items() if d is None]
            if none:
                raise DelibpollError(
                    f"deliberation compares Tier 1 changes, but cohort(s) {none} have no Tier 1 "
                    "data; add tier1 to their [data] or remove [tracking] deliberation."
                )
            delib = compare_deliberation(
                {c: d for c, d in t1.items() if d is not None},
                {q: config.comparison.questions[q] for q in t.deliberation}, tier3=t3,
                categories={q: c for q, c in cats.items() if q in t.deliberation},
                adjust=t.adjust, sig_level=t.sig_level, level=level,
            )
        lab = report_labels(config, weighting)
        ban = None
        if t.letters:
            ban = banner(stack.design, list(t.questions), [stack.column], total=False,
                         level=level, ci_method=ci_method, sig_level=t.sig_level,
                         adjust=t.adjust, labels=getattr(config, "labels", None) or None)
    except DelibpollError as exc:
        raise DelibpollError(f"[tracking]: {exc}") from None
    files += [_csv(comp.estimates(), out / "tracking_estimates.csv", "%.10g", synthetic=syn),
              _csv(comp.to_frame(), out / "tracking_differences.csv", "%.10g", synthetic=syn)]
    if delib is not None:
        both = pd.concat([delib.changes().assign(table="change"),
                          delib.to_frame().assign(table="difference in change")], ignore_index=True)
        files.append(_csv(both, out / "tracking_deliberation.csv", "%.10g", synthetic=syn))
        if len(delib.gaps()):
            gaps = pd.concat([delib.gaps().assign(table="gap"),
                              delib.gap_differences().assign(table="difference in gap")],
                             ignore_index=True)
            files.append(_csv(gaps, out / "tracking_gaps.csv", "%.10g", synthetic=syn))
    if ban is not None:
        title = f"{config.cohort.title}: tracking across cohorts"
        source = f"{SYNTHETIC_NOTE} {config.cohort.source}".strip() if syn else config.cohort.source
        page = ban.to_html(title=title, layout="classic")
        if syn:  # the exporters' own words, with the synthetic-data notice on top
            page = page.replace("<body>", f"<body>\n<p><strong>{html.escape(SYNTHETIC_NOTE)}</strong></p>", 1)
        path = ban.to_csv(out / "tracking_banner.csv")
        if syn:
            path.write_text(f"# {SYNTHETIC_NOTE}\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
        files += [ban.to_excel(out / "tracking_banner.xlsx", title=title, source=source),
                  _write(out / "tracking_banner.html", page), path]
    note = synthetic_note(syn) or None
    images: dict[str, tuple[str, str]] = {}
    for q in t.questions:
        name = f"trend_{_slug(q)}"
        p = plot_trend(comp, question=q, labels=lab, note=note)
        files += _save_chart(p, out, name, A4_WIDTH, 4.2)
        images[name] = (f"charts/{name}.png", alt_text(p))
    return TrackingResult(stack=stack, comparison=comp, deliberation=delib, banner=ban,
                          images=images, files=tuple(files))


def _report_tracking(rep: _Report, config: CohortConfig, result: TrackingResult, lab: Labels) -> str:
    """The tracking section; returns its Methods sentence."""
    t = config.tracking
    assert t is not None
    comp, stack = result.comparison, result.stack
    level = config.estimation.level
    lev = _fmt_pct(level)
    cohorts = list(stack.cohorts)
    sizes = stack.to_frame()
    rep.heading("Tracking across cohorts")
    rep.para(
        f"{t.label} is compared with {', '.join(cohorts[:-1])} on {len(comp.questions)} "
        "questions asked in every cohort. Tier 3 samples: "
        + "; ".join(f"{r['cohort']} {count(int(r['n']))} respondents" for _, r in sizes.iterrows())
        + f". Each other cohort's Tier 3 is weighted as its own config says (its weighting "
        f"files are in cohorts/). {comp.note}"
    )
    fr = comp.to_frame()
    shares = comp.estimates()
    sig = fr[fr["significant"]]
    adj = "no multiplicity adjustment" if comp.adjust == "none" else f"{adjust_name(comp.adjust)} adjustment over the {len(fr)} differences"
    rep.para(
        f"{len(sig)} of the {len(fr)} differences between cohorts are statistically significant "
        f"at the {readable_number(comp.sig_level)} level ({adj}). A difference that is not "
        "significant is not evidence that the cohorts agree."
    )
    rows = []
    for _, r in fr.iterrows():
        q, c = r["question"], r["category"]
        numeric = pd.isna(c)
        est = shares[(shares["question"] == q) & ((shares["category"] == c) if not numeric else shares["category"].isna())]
        row = {"Question": lab.variable(q), "Answer": "Mean" if numeric else lab.category(q, c)}
        for coh in cohorts:
            v = est.loc[est["cohort"] == coh, "estimate"]
            shown = (number(float(v.iloc[0]), 2) if numeric else _fmt_pct(float(v.iloc[0]))) if len(v) else ""
            row[coh] = shown if coh in (r["cohort_a"], r["cohort_b"]) else ""
        if len(cohorts) > 2:
            row["Comparison"] = r["comparison"]
        row["Difference"] = number(r["difference"], 2, sign=True) if numeric else points(r["difference"], 0)
        row[f"{lev} CI"] = (ci(r["ci_lower"], r["ci_upper"], 2, "number") if numeric
                            else ci(r["ci_lower"], r["ci_upper"], 0, "points"))
        row["Adjusted p"] = p_value(r["p_adjusted"])
        rows.append(row)
    table = pd.DataFrame(rows)
    table["Question"] = [qn if i == 0 or qn != table["Question"].iloc[i - 1] else ""
                         for i, qn in enumerate(table["Question"])]
    rep.table(table, "The same questions across cohorts (Tier 3, weighted)",
              f"Difference = {'later cohort - earlier cohort' if len(cohorts) > 2 else cohorts[1] + ' - ' + cohorts[0]} "
              "(percentage points for shares); confidence intervals are not adjusted for "
              "multiplicity. "
              f"Standard errors from the stacked design (covariance 0 between cohorts), t on "
              f"{readable_number(comp.df)} degrees of freedom. Adjusted p: {adjust_name(comp.adjust)} over "
              f"the {len(fr)} differences. Source: tracking_differences.csv.")
    for q in comp.questions:
        rep.image(result.images.get(f"trend_{_slug(q)}"), f"{lab.variable(q)}, by cohort")
    delib = result.deliberation
    if delib is not None:
        d = delib.to_frame()
        ch = delib.changes()
        drows = []
        for _, r in d.iterrows():
            q, c = r["question"], r["category"]
            numeric = pd.isna(c)
            row = {"Question": lab.variable(q), "Answer": "Mean" if numeric else lab.category(q, c)}
            for coh in (r["cohort_a"], r["cohort_b"]):
                v = r["change_a"] if coh == r["cohort_a"] else r["change_b"]
                row[f"Change, {coh}"] = number(v, 2, sign=True) if numeric else points(v, 0)
            row["Difference in change"] = number(r["difference"], 2, sign=True) if numeric else points(r["difference"], 0)
            row[f"{lev} CI"] = (ci(r["ci_lower"], r["ci_upper"], 2, "number") if numeric
                                else ci(r["ci_lower"], r["ci_upper"], 0, "points"))
            row["Adjusted p"] = p_value(r["p_adjusted"])
            drows.append(row)
        dt = pd.DataFrame(drows).fillna("")
        n_pairs = ", ".join(f"{c} {count(int(n))}" for c, n in
                            ch.groupby("cohort", sort=False)["n_pairs"].max().items())
        rep.para(
            "Tier 1 participants' change during deliberation (after - before, the same people) "
            f"is compared between cohorts ({n_pairs} participants). {delib.note}"
        )
        rep.table(dt, "Change during deliberation (Tier 1), compared between cohorts",
                  "Change in percentage points for shares. Difference in change = later cohort's "
                  "change - earlier cohort's; standard errors sqrt(se_a^2 + se_b^2) (independent "
                  f"samples, clustered by discussion group), t on the cohorts' summed degrees of "
                  f"freedom; confidence intervals not adjusted for multiplicity. Adjusted p: "
                  f"{adjust_name(delib.adjust)}. Source: tracking_deliberation.csv.")
        g = delib.gap_differences()
        if len(g):
            grows = [{"Question": lab.variable(r["question"]),
                      "Answer": "Mean" if pd.isna(r["category"]) else lab.category(r["question"], r["category"]),
                      f"Gap, {r['cohort_a']}": (number(r["gap_a"], 2, sign=True) if pd.isna(r["category"]) else points(r["gap_a"], 0)),
                      f"Gap, {r['cohort_b']}": (number(r["gap_b"], 2, sign=True) if pd.isna(r["category"]) else points(r["gap_b"], 0)),
                      "Difference in gap": (number(r["difference"], 2, sign=True) if pd.isna(r["category"]) else points(r["difference"], 0)),
                      f"{lev} CI": (ci(r["ci_lower"], r["ci_upper"], 2, "number") if pd.isna(r["category"])
                                    else ci(r["ci_lower"], r["ci_upper"], 0, "points")),
                      "Adjusted p": p_value(r["p_adjusted"])} for _, r in g.iterrows()]
            rep.table(pd.DataFrame(grows).fillna(""),
                      "Gap between Tier 1 after deliberation and Tier 3, compared between cohorts",
                      "Gap = Tier 1 after - Tier 3 within a cohort (descriptive, non-randomised). "
                      "Difference in gap: Welch-Satterthwaite degrees of freedom. Source: "
                      "tracking_gaps.csv.")
    if result.banner is not None:
        rep.para(f"tracking_banner.xlsx (with HTML and CSV versions): the {len(comp.questions)} "
                 "questions with the cohort as banner column; letters mark a cohort significantly "
                 "higher than the lettered one.")
    return (
        f"Tracking: the cohorts' Tier 3 designs are stacked with the cohort as an extra stratum "
        f"level (each cohort's strata, PSUs and weighting kept), so estimates of different cohorts "
        f"have covariance 0 and the degrees of freedom are the cohorts' summed; differences are "
        f"contrasts of the by-cohort estimates with t tests on those df and {adjust_name(comp.adjust)} "
        "adjustment."
    )


# ====================================================================== stage: charts
#: Resolution of the PNG charts (print quality).
CHART_DPI = 300


def _save_chart(plot: Any, out: Path, name: str, width: float, height: float) -> list[Path]:
    import matplotlib as mpl

    paths = []
    for ext in ("png", "svg"):
        path = out / "charts" / f"{name}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"metadata": {"Date": None}} if ext == "svg" else {}
        # fixed SVG element ids and no date, so two runs write identical files
        with mpl.rc_context({"svg.hashsalt": "delibpoll"}):
            plot.save(path, width=width, height=height, dpi=CHART_DPI, verbose=False, **kwargs)
        paths.append(path)
    return paths


def report_labels(config: CohortConfig, weighting: WeightingResult) -> Labels:
    """The words of the report: the Tier 3 file's labels, then Tier 1's for its own columns,
    with the config's ``[labels]`` (when the config has them) on top."""
    own = getattr(config, "labels", None)
    lab = Labels.from_attrs(weighting.tier3.attrs)
    if weighting.tier1 is not None:
        lab = Labels.from_attrs(weighting.tier1.attrs).merge(lab)
    if isinstance(own, Labels):
        return lab.merge(own)
    if isinstance(own, Mapping) and own:
        return lab.merge(Labels.from_toml_table(own))
    return lab


def draw_charts(config: CohortConfig, results: CohortResults, out: Path) -> ChartsResult:
    """Stage 9: the report's charts (weights, margins, the first headline share, the tier
    chart and scatter), drawn from the results with the data's labels, as PNG (300 dpi) and
    SVG under ``charts/``, sized for a full-width A4 page (6.3 inches)."""
    lab = report_labels(config, results.weighting)
    note = synthetic_note(_synthetic(config)) or None
    d3 = results.weighting.tier3
    n_vars = len(config.weighting.variables)
    plots: list[tuple[str, Any, float, float]] = [
        ("weights", plot_weights(d3, labels=lab, note=note), A4_WIDTH, 4.0),
        ("margins", plot_margins(d3, labels=lab, note=note), A4_WIDTH,
         2.0 + 2.3 * math.ceil(n_vars / 2)),
    ]
    first = results.headline.first_share
    if first is not None:
        plots.append(("headline", plot_estimates(
            first, labels=lab, note=note,
            title=f"{lab.variable(first.variable)} (Tier 3, weighted)"), A4_WIDTH, 4.0))
    comp = results.comparison
    if comp is not None:
        cat_rows = comp.frame[comp.frame["category"].notna()]
        if len(cat_rows):
            height = 1.8 + 0.42 * len(cat_rows) + 0.35 * cat_rows["question"].nunique()
            plots.append(("tiers_dumbbell", plot_tiers(cat_rows, labels=lab, note=note),
                          A4_WIDTH, height))
            plots.append(("tiers_scatter", plot_tiers(cat_rows, kind="scatter", labels=lab,
                                                      note=note), A4_WIDTH * 0.8, A4_WIDTH * 0.85))
    plots += _deliberation_charts(results.deliberation, lab, note)
    images: dict[str, tuple[str, str]] = {}
    files: list[Path] = []
    for name, p, width, height in plots:
        files += _save_chart(p, out, name, width, height)
        images[name] = (f"charts/{name}.png", alt_text(p))
    return ChartsResult(images=images, files=tuple(files))


# ====================================================================== prose from objects
def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _fmt_pct(x: float, decimals: int = 0) -> str:
    return "" if pd.isna(x) else percent(float(x), decimals)


def _fmt_num(x: float) -> str:
    """A measured small number as printed in the prose (two significant digits, fixed)."""
    return readable_number(x, 2)


def _q(text: str) -> str:
    """Question wording quoted in a sentence."""
    return f"\u201c{text}\u201d"


class _Report:
    """The report as blocks (headings, paragraphs, tables, images), written as Markdown,
    standalone HTML and Word from the same blocks."""

    def __init__(self, title: str, synthetic: bool) -> None:
        self.title = title
        self.synthetic = synthetic
        self.blocks: list[tuple[Any, ...]] = []
        self.n_tables = 0
        self.n_figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", text, level))

    def para(self, text: str) -> None:
        self.blocks.append(("para", text))

    def table(self, df: pd.DataFrame, caption: str = "", notes: str = "") -> None:
        """A table of text cells; its title is numbered, and synthetic data say so."""
        self.n_tables += 1
        title = f"Table {self.n_tables}: {caption}" if caption else f"Table {self.n_tables}"
        if self.synthetic:
            notes = f"{notes} {SYNTHETIC_NOTE}".strip()
        cells = df.astype(object).where(df.notna(), "").astype(str)
        self.blocks.append(("table", cells, title, notes))

    def image(self, image: tuple[str, str] | None, caption: str = "") -> None:
        if image is None:
            return
        self.n_figures += 1
        path, alt = image
        title = f"Figure {self.n_figures}" + (f": {caption}" if caption else "")
        self.blocks.append(("image", path, alt, title))

    # ---- renderers ----------------------------------------------------------------
    def markdown(self) -> str:
        lines: list[str] = []
        for b in self.blocks:
            if b[0] == "heading":
                lines.append("#" * b[2] + " " + b[1] + "\n")
            elif b[0] == "para":
                lines.append(b[1] + "\n")
            elif b[0] == "table":
                _, df, title, notes = b
                lines.append(f"**{title}**\n")
                cols = [str(c) for c in df.columns]
                rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                rows += ["| " + " | ".join(v.replace("|", "\\|") for v in r) + " |"
                         for r in df.itertuples(index=False, name=None)]
                lines.append("\n".join(rows) + "\n")
                if notes:
                    lines.append(f"*Notes: {notes}*\n")
            else:
                _, path, alt, title = b
                lines.append(f"**{title}**\n\n![{alt}]({path})\n")
        return "\n".join(lines)

    def html(self) -> str:
        parts: list[str] = []
        esc = html.escape
        for b in self.blocks:
            if b[0] == "heading":
                parts.append(f"<h{b[2]}>{esc(b[1])}</h{b[2]}>")
            elif b[0] == "para":
                cls = " class='synthetic'" if b[1].startswith("SYNTHETIC DATA") else ""
                parts.append(f"<p{cls}>{esc(b[1])}</p>")
            elif b[0] == "table":
                _, df, title, notes = b
                head = "".join(f"<th scope='col'>{esc(str(c))}</th>" for c in df.columns)
                body = "".join(
                    "<tr>" + "".join(
                        (f"<th scope='row'>{esc(v)}</th>" if i == 0 else
                         f"<td class='text'>{esc(v)}</td>" if _is_text(v) else f"<td>{esc(v)}</td>")
                        for i, v in enumerate(r)) + "</tr>"
                    for r in df.itertuples(index=False, name=None))
                note = f"<p class='notes'>Notes: {esc(notes)}</p>" if notes else ""
                parts.append(f"<table class='report'><caption>{esc(title)}</caption><thead><tr>"
                             f"{head}</tr></thead><tbody>{body}</tbody></table>{note}")
            else:
                _, path, alt, title = b
                parts.append(f"<figure><img src='{esc(path)}' alt='{esc(alt)}'>"
                             f"<figcaption>{esc(title)}</figcaption></figure>")
        return (
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            f"<title>{esc(self.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(parts) + "\n</main>\n</body>\n</html>\n"
        )

    def docx(self, path: Path, base: Path) -> Path:
        """The report as a Word document: real Word tables (header row repeated on each
        page), the charts embedded at full page width with their alt text."""
        from docx import Document
        from docx.enum.section import WD_ORIENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt

        doc = Document()
        doc.core_properties.title = self.title
        doc.core_properties.author = "delibpoll"
        # fixed dates, so two runs write the same document
        import datetime as _dt

        fixed = _dt.datetime(2000, 1, 1)
        doc.core_properties.created = fixed
        doc.core_properties.modified = fixed
        doc.core_properties.last_printed = fixed
        sec = doc.sections[0]
        sec.orientation = WD_ORIENT.PORTRAIT
        sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
        for side in ("left_margin", "right_margin"):
            setattr(sec, side, Cm(2.5))
        sec.top_margin = sec.bottom_margin = Cm(2.0)
        doc.styles["Normal"].font.name = "Arial"
        doc.styles["Normal"].font.size = Pt(11)
        if self.synthetic:
            sec.header.paragraphs[0].text = SYNTHETIC_NOTE
        alts: list[tuple[str, str]] = []
        for b in self.blocks:
            if b[0] == "heading":
                doc.add_heading(b[1], level=min(b[2] - 1, 3) if b[2] > 1 else 0)
            elif b[0] == "para":
                para = doc.add_paragraph(b[1])
                if b[1].startswith("SYNTHETIC DATA"):
                    for run in para.runs:
                        run.bold = True
            elif b[0] == "table":
                _, df, title, notes = b
                cap = doc.add_paragraph(title, style="Caption")
                cap.paragraph_format.keep_with_next = True
                table = doc.add_table(rows=1, cols=len(df.columns))
                table.style = "Table Grid"
                hdr = table.rows[0]
                for cell, name in zip(hdr.cells, df.columns, strict=True):
                    cell.text = str(name)
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
                for r in df.itertuples(index=False, name=None):
                    row = table.add_row().cells
                    for cell, v in zip(row, r, strict=True):
                        cell.text = v
                table.autofit = False
                widths = _column_widths(df, 16.0)
                for column, width in zip(table.columns, widths, strict=True):
                    column.width = Cm(width)  # the grid, which Word and LibreOffice lay out by
                for row in table.rows:
                    for cell, width in zip(row.cells, widths, strict=True):
                        cell.width = Cm(width)
                for row in table.rows:
                    for cell in row.cells:
                        for para in cell.paragraphs:
                            for run in para.runs:
                                run.font.size = Pt(9)
                if notes:
                    n = doc.add_paragraph(f"Notes: {notes}")
                    for run in n.runs:
                        run.font.size = Pt(9)
            else:
                _, rel, alt, title = b
                doc.add_picture(str(base / rel), width=Cm(16))
                alts.append((alt, title))
                doc.add_paragraph(title, style="Caption")
        body = doc.element.body
        # no row is split over two pages; every table's first row repeats on each page
        for tr in body.xpath("./w:tbl/w:tr"):
            tr_pr = tr.find(qn("w:trPr"))
            if tr_pr is None:
                tr_pr = OxmlElement("w:trPr")
                tr.insert(0, tr_pr)
            tr_pr.append(OxmlElement("w:cantSplit"))
            if tr.getprevious() is None or tr.getprevious().tag != qn("w:tr"):
                repeat = OxmlElement("w:tblHeader")
                repeat.set(qn("w:val"), "true")
                tr_pr.append(repeat)
        # each chart's alt text (Word: Format Picture > Alt Text), in the order drawn
        for pr, (alt, title) in zip(body.xpath(".//wp:docPr"), alts, strict=True):
            pr.set("descr", alt)
            pr.set("title", title)
        doc.save(str(path))
        _fix_zip_dates(path)
        return path


def _fix_zip_dates(path: Path) -> None:
    """Rewrite a zip package (.docx) with fixed entry dates, so two runs give the same bytes."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def _column_widths(df: pd.DataFrame, total: float) -> list[float]:
    """Column widths (cm): each number column as wide as its longest value or header word, the
    label columns (the first, and the second when it holds text) share the rest (their text
    wraps), so numbers stay on one line."""
    need: list[float] = []
    cap = 24 if len(df.columns) <= 7 else 16  # wide tables: labels wrap more, numbers do not
    for i, c in enumerate(df.columns):
        cells = [str(v) for v in df[c].tolist()]
        longest_word = max((len(w) for w in str(c).split()), default=4)
        label = i == 0 or (i == 1 and any(_is_text(v) for v in cells))
        if label:  # the label columns: room for their words, wrapped in the cell
            words = [len(w) for v in cells for w in v.split()]
            need.append(min(max([8, longest_word, *words, *map(len, cells)], default=8), cap))
        else:  # numbers: one line for the value and the header's longest word
            need.append(max([8.0, 1.2 * longest_word + 2, *(len(v) + 3.0 for v in cells)]))
    scale = total / sum(need)
    return [n * scale for n in need]


def _is_text(value: str) -> bool:
    return not (value[:1].isdigit() or value[:1] in "+-<>[" or value == "")


def _largest_share_error(report: WeightingReport) -> float:
    """Largest |weighted share - target share| over the margins in the weighting report."""
    err = report.margins()["error"].abs()
    return float(err.max()) if err.notna().any() else float("nan")


def _names(variables: Sequence[str], lab: Labels) -> str:
    """Variables named by their labels, in lower case after the first word of a sentence."""
    words = [lab.variable(v) for v in variables]
    words = [w if w[:2].isupper() else w[:1].lower() + w[1:] for w in words]
    return ", ".join(words[:-1]) + f" and {words[-1]}" if len(words) > 1 else "".join(words)


def _weighting_prose(
    d0: SurveyDesign, d: SurveyDesign, variables: Sequence[str], start_col: str | None,
    lab: Labels | None = None,
) -> tuple[str, str]:
    """(the Weighting paragraph, the weighting sentences of Methods), from the design's own
    weighting log and report."""
    lab = lab or Labels()
    wr = d.weighting_report
    assert wr is not None
    step = d.weighting_log[-1]
    opts = step.options
    w = d.weight_array
    n = len(w)
    share_err = _largest_share_error(wr)
    status = "converged" if step.converged else "did NOT converge"
    start = f"the weights in column '{start_col}'" if start_col else "equal weights"
    tol = readable_number(float(opts["tol"]), 2)
    if step.method == "rake":
        how = "raked (iterative proportional fitting)"
        rule = f"stopping rule: every weighted share within {tol} of its target share"
    else:
        how = f"calibrated (calibration function '{opts['method']}', as R's calibrate)"
        rule = (f"stopping rule: every calibration total within {tol} times the "
                "population total of its target")
    limits: list[str] = []
    cap = opts.get("cap")
    if cap is not None:
        cap_value = float(cap) * float(opts["total"]) / n
        at_cap = int(np.sum(w >= cap_value * (1 - 1e-9)))
        limits.append(
            f"weights were capped at {readable_number(float(cap))} times the mean weight "
            f"({readable_number(cap_value)}) inside the raking loop, and {at_cap} of the {n:,} "
            "weights are at the cap"
        )
    lo, hi = opts.get("bounds", (-np.inf, np.inf))
    if np.isfinite(lo) or np.isfinite(hi):
        g = w / d0.weight_array
        limits.append(
            f"the adjustment factors were bounded to [{readable_number(float(lo))}, "
            f"{readable_number(float(hi))}], and the ratio of final to starting weight ranges "
            f"from {readable_number(float(g.min()))} to {readable_number(float(g.max()))}"
        )
    if not any(s.method == "trim" for s in d.weighting_log):
        if not limits:
            limits.append("no cap, bounds or trimming was applied to the weights")
        else:
            limits.append("no weights were trimmed")
    if share_err < 0.00005:
        err_txt = "every weighted share is then within 0.005 percentage points of its target"
    else:
        err_txt = (f"the largest difference between a weighted share and its target is "
                   f"{readable_number(100 * share_err, 2)} percentage points")
    summary = (
        f"Tier 3 ({wr.n:,} respondents) was {how.split(' (')[0]}, starting from {start}, to "
        f"population figures for {_names(variables, lab)}. It {status} after "
        f"{step.iterations} iterations; {err_txt}. The Kish design effect of the weights is "
        f"{number(wr.kish_deff, 2)} (effective "
        f"sample size {count(wr.kish_n_eff)}), and the weights range from "
        f"{number(wr.weight_min, 2)} to {number(wr.weight_max, 2)}."
    )
    methods = (
        f"Weighting: Tier 3 was {how}, starting from {start}, to the population margins of "
        f"{_names(variables, lab)} ({rule}); it {status} after {step.iterations} iterations "
        f"with a largest share error of {_fmt_num(share_err)} (weighting_margins.csv). "
        + _sentence("; ".join(limits))
    )
    return summary, methods


def _variance_prose(design: SurveyDesign, name: str, cluster_col: str | None) -> str:
    """How the standard errors of one tier were computed, from the design itself."""
    if design.replicate_weights is not None:
        return (f"{name} standard errors use {design.replicate_weights.shape[1]} replicate "
                "weights.")
    parts = []
    if design.ids is not None:
        n_psu = int(design.column(design.ids).nunique())
        parts.append(f"clustered by {cluster_col or design.ids} ({n_psu} clusters)")
    else:
        parts.append("with rows treated as independent (no strata or clusters)")
    if design.strata is not None:
        parts.append(f"stratified by {design.strata}")
    kinds = {s.method for s in design.weighting_log}
    adj = ""
    if kinds & {"rake", "calibrate"}:
        what = " and ".join(sorted("the raking" if k == "rake" else "the calibration"
                                   for k in kinds & {"rake", "calibrate"}))
        adj = f", accounting for {what} as R's survey package does"
        if any(s.options.get("cap") is not None for s in design.weighting_log):
            adj += " (the capped weights are treated as raked to the margins)"
    return (
        f"{name} standard errors are Taylor-linearised, {', '.join(parts)}{adj}; "
        f"design degrees of freedom {readable_number(float(design.df))}."
    )


def _comparison_prose(qc: QuestionComparison, fr: pd.DataFrame, adjust_for: Sequence[str] | None,
                      equivalence_margin: float | None, lab: Labels | None = None) -> str:
    lab = lab or Labels()
    tested = fr[fr["tested"]]
    by_cat: list[str] = []
    omnibus: list[str] = []
    numeric: list[str] = []
    for q, rows in tested.groupby("question", sort=False):
        if rows["category"].isna().all():
            numeric.append(_q(lab.variable(q)))
        elif len(rows) == 1:
            by_cat.append(f"{_q(lab.variable(q))} (the share answering "
                          f"'{lab.category(q, rows['category'].iloc[0])}')")
        else:
            omnibus.append(_q(lab.variable(q)))
    tests = []
    if by_cat:
        tests.append("the difference in one declared answer's share for " + "; ".join(by_cat))
    if omnibus:
        tests.append("an omnibus test that the whole answer distribution is the same in both "
                     "tiers for " + "; ".join(omnibus))
    if numeric:
        tests.append("the difference in means for " + "; ".join(numeric))
    adj = "no multiplicity adjustment" if qc.adjust == "none" else f"{adjust_name(qc.adjust)} adjustment"
    text = (
        f"Tier comparisons ({qc.n_tests} questions) are descriptive: difference = Tier 1 after "
        "deliberation - Tier 3, with SEs combining each tier's own design SE and "
        "Welch-Satterthwaite degrees of freedom; the difference is split exactly into the change "
        "during deliberation (among Tier 1 participants who answered both times) and the gap "
        f"before deliberation. One test per question ({'; '.join(tests)}), with {adj} over the "
        f"{qc.n_tests} tests at the {readable_number(qc.alpha)} level."
    )
    if adjust_for:
        text += (f" The composition-adjusted gap rakes Tier 1 to Tier 3's weighted profile on "
                 f"{_names(adjust_for, lab)}; the adjusted gap before deliberation is a placebo "
                 "check.")
    if equivalence_margin is not None:
        text += (f" Equivalence (agreement) is tested with two one-sided tests against a margin "
                 f"of plus or minus {readable_number(100 * equivalence_margin)} percentage "
                 "points (column 'Equivalence p' of the decomposition table).")
    return text


# ---------------------------------------------------------------------- report sections
def _report_header(rep: _Report, config: CohortConfig) -> None:
    cohort, data = config.cohort, config.data
    rep.heading(cohort.title, 1)
    if _synthetic(config):
        origin = (
            "They were generated by delibpoll's data/example/"
            + ("make_cohort2.py" if "cohort2_" in data.tier3 else "make_example.py") + "."
            if _bundled_data(data) else "The config marks them synthetic ([cohort] synthetic = true)."
        )
        rep.para(f"{SYNTHETIC_NOTE} {origin}")


def _bundled_data(data: DataConfig) -> bool:
    return all(v.startswith("bundled:example/") for v in (data.tier3, data.tier1) if v is not None)


def _report_headline(rep: _Report, config: CohortConfig, headline: pd.DataFrame,
                     images: Mapping[str, tuple[str, str]], lab: Labels) -> None:
    level, ci_method = config.estimation.level, config.estimation.ci_method
    lev = _fmt_pct(level)
    rep.heading("Headline estimates (Tier 3, weighted)")
    if not len(headline):
        return
    is_mean = headline.category == "(mean)"
    sentences = []
    for _, h in headline.iterrows():
        q = lab.variable(h["question"])
        if h["category"] == "(mean)":
            sentences.append(
                f"Asked {_q(q)}, Tier 3 respondents gave a mean answer of "
                f"{number(h['estimate'], 2)} ({lev} CI {number(h['ci_lower'], 2)} to "
                f"{number(h['ci_upper'], 2)}; {count(h['n'])} respondents).")
        else:
            share = prose_share(h["estimate"], h["ci_lower"], h["ci_upper"], level=level)
            sentences.append(
                f"{share[:1].upper() + share[1:]} of Tier 3 respondents answered "
                f"'{lab.category(h['question'], h['category'])}' to {_q(q)} "
                f"({count(h['n'])} respondents).")
    rep.para(" ".join(sentences))
    shown = pd.DataFrame({
        "Question": [lab.variable(q) for q in headline["question"]],
        "Answer": [lab.category(q, c) if c != "(mean)" else "Mean"
                   for q, c in zip(headline["question"], headline["category"], strict=True)],
        "Estimate": [_fmt_pct(v) if c != "(mean)" else number(v, 2)
                     for v, c in zip(headline["estimate"], headline["category"], strict=True)],
        f"{lev} CI": [ci(a, b, 0, "percent") if c != "(mean)" else ci(a, b, 2, "number")
                      for a, b, c in zip(headline["ci_lower"], headline["ci_upper"],
                                         headline["category"], strict=True)],
        "Base (unweighted)": [count(n) for n in headline["n"]],
        "Published figure": [str(v) for v in headline["published"]],
    })
    kinds = []
    if (~is_mean).any():
        kinds.append(f"{ci_method} intervals for shares")
    if is_mean.any():
        kinds.append("t intervals for means")
    rep.table(shown, "Headline estimates, Tier 3 weighted",
              f"Weighted estimates with {lev} confidence intervals ({'; '.join(kinds)}); the base "
              "is the number of respondents who answered. Source: headline_estimates.csv.")
    rep.image(images.get("headline"), f"{lab.variable(headline['question'].iloc[0])} (Tier 3)")


def _report_representativeness(rep: _Report, config: CohortConfig, d1: SurveyDesign | None,
                               result: RepresentativenessResult, lab: Labels,
                               d3: SurveyDesign | None = None) -> None:
    # Tier 1's profile; in a survey-only run, Tier 3's sample before weighting
    r1 = result.tier1 if result.tier1 is not None else result.tier3
    d = d1 if d1 is not None else d3
    assert d is not None
    who, noun = ("Tier 1", "participants") if d1 is not None else ("Tier 3's unweighted sample", "respondents")
    rep.heading("Representativeness")
    worst = r1.to_frame().assign(gap=lambda f: (f["unweighted_share"] - f["target_share"]).abs()).sort_values("gap").iloc[-1]
    pearson = r1.tests[r1.tests["test"].str.startswith("Pearson")]
    n_rej = int((pearson["p_value"] < 0.05).sum())
    wv = worst["variable"]
    rep.para(
        f"{who} ({d.n:,} {noun}) was compared with the population on "
        f"{_names(config.representativeness.variables, lab)}. The Pearson test rejects the "
        f"population profile at the 5% level for {n_rej} of {len(pearson)} variables. The "
        f"largest difference is for {lab.variable(wv).lower() if not lab.variable(wv)[:2].isupper() else lab.variable(wv)} "
        f"'{lab.category(wv, worst['category'])}': {_fmt_pct(worst['unweighted_share'])} of "
        f"{noun} against {_fmt_pct(worst['target_share'])} of the population. Full "
        "tables: representativeness_*.csv."
    )
    tests = pd.DataFrame({
        "Variable": [lab.variable(v) for v in pearson["variable"]],
        "Chi-square": [number(v, 2) for v in pearson["statistic"]],
        "Degrees of freedom": [readable_number(float(v)) for v in pearson["df_num"]],
        "p": [p_value(v) for v in pearson["p_value"]],
    })
    rep.table(tests, f"{who} profile against the population",
              f"Pearson chi-square tests on {who}'s unweighted counts.")


def _pts(x: Any) -> str:
    return "" if pd.isna(x) else points(float(x), 0, unit="")


def _report_comparison(rep: _Report, config: CohortConfig, result: TierComparisonResult,
                       images: Mapping[str, tuple[str, str]], lab: Labels) -> None:
    qc, fr, eq_margin = result.comparison, result.frame, config.comparison.equivalence_margin
    level = config.estimation.level
    lev = _fmt_pct(level)
    rep.heading("Informed (Tier 1) and uninformed (Tier 3) views")
    rep.para(qc.note)
    adj_txt = "with no multiplicity adjustment" if qc.adjust == "none" else f"with {adjust_name(qc.adjust)} adjustment for multiplicity"
    if eq_margin is not None and "p_equivalence" in fr:
        n_eq = int(fr.loc[fr["tested"], "p_equivalence"].lt(qc.alpha).sum())
        agree = (f" The equivalence test (margin plus or minus {readable_number(100 * eq_margin)} "
                 f"percentage points; 'Equivalence p' in Table {rep.n_tables + 2}) shows "
                 f"agreement for {n_eq} of the {qc.n_tests} tested answers.")
    else:
        agree = " No equivalence margin was configured, so agreement was not tested."
    rep.para(
        f"{qc.n_tests} questions were tested, one test per question, {adj_txt}; "
        f"{qc.n_significant} differ significantly at the {readable_number(qc.alpha)} level. "
        f"Without adjustment about {number(qc.expected_false_positives, 1)} would be expected "
        f"to differ by chance. A gap that is not significant is not agreement.{agree}"
    )
    # one sentence per tested share, in the plain style of a published report
    findings = []
    for _, r in fr[fr["tested"] & fr["category"].notna()].iterrows():
        q, c = r["question"], r["category"]
        sig = ("a significant difference" if bool(r["significant"])
               else "a difference that is not statistically significant")
        findings.append(
            f"Asked {_q(lab.variable(q))}, {_fmt_pct(r['informed'])} of Tier 1 participants "
            f"answered '{lab.category(q, c)}' after deliberation ({_fmt_pct(r['informed_before'])} "
            f"before), against {prose_share(r['uninformed'], r['uninformed_ci_lower'], r['uninformed_ci_upper'], level=level)} "
            f"of Tier 3 respondents: {sig} of {points(r['difference'], 0)} ({lev} CI "
            f"{ci(r['ci_lower'], r['ci_upper'], 0, 'points')}; adjusted p = "
            f"{p_value(r['p_adjusted'])})."
        )
    if findings:
        rep.para(" ".join(findings))
    cat_rows = fr[fr["category"].notna()].reset_index(drop=True)
    if len(cat_rows):
        first_of_q = ~cat_rows["question"].duplicated()
        qtext = [lab.variable(q) if f else "" for q, f in zip(cat_rows["question"], first_of_q, strict=True)]
        answers = [lab.category(q, c) + (" (tested)" if t and qc_single else "")
                   for q, c, t, qc_single in zip(
                       cat_rows["question"], cat_rows["category"], cat_rows["tested"],
                       cat_rows.groupby("question")["tested"].transform("sum") == 1, strict=True)]
        shares = pd.DataFrame({
            "Question": qtext,
            "Answer": answers,
            "Tier 1 before": [_fmt_pct(v) for v in cat_rows["informed_before"]],
            "Tier 1 after": [_fmt_pct(v) for v in cat_rows["informed"]],
            "Tier 3": [_fmt_pct(v) for v in cat_rows["uninformed"]],
            "Difference (pts)": [_pts(v) for v in cat_rows["difference"]],
            f"{lev} CI (pts)": [f"{_pts(a)} to {_pts(b)}" for a, b in zip(cat_rows["ci_lower"], cat_rows["ci_upper"], strict=True)],
            "Adjusted p": [p_value(p) if t else "" for p, t in zip(cat_rows["p_adjusted"], cat_rows["tested"], strict=True)],
        })
        rep.table(shares, "Tier 1 before and after deliberation, and Tier 3: shares",
                  "Difference = Tier 1 after - Tier 3, in percentage points. Each question has one "
                  "test: where one answer is marked (tested), the test is about that answer's "
                  "share; otherwise the adjusted p on the question's first row is for an omnibus "
                  f"test of all its answers. Adjusted p: {adjust_name(qc.adjust)} adjustment over the "
                  f"{qc.n_tests} tests. Source: tier_comparison.csv.")
        decomp: dict[str, list[str]] = {
            "Question": qtext,
            "Answer": [lab.category(q, c) for q, c in zip(cat_rows["question"], cat_rows["category"], strict=True)],
            "Change during deliberation (pts)": [_pts(v) for v in cat_rows["deliberation_change"]],
            "Gap before deliberation (pts)": [_pts(v) for v in cat_rows["baseline_gap"]],
        }
        if "adjusted_difference" in cat_rows:
            decomp["Adjusted difference (pts)"] = [_pts(v) for v in cat_rows["adjusted_difference"]]
            decomp["Adjusted gap before (pts)"] = [_pts(v) for v in cat_rows["adjusted_baseline_gap"]]
        if eq_margin is not None and "p_equivalence" in cat_rows:
            decomp["Equivalence p"] = [p_value(v) for v in cat_rows["p_equivalence"]]
        decomp["Smallest detectable difference (pts)"] = [
            "" if pd.isna(v) else number(100 * float(v), 0) for v in cat_rows["mdd"]]
        notes = ("Difference = change during deliberation + gap before deliberation. ")
        if "adjusted_difference" in cat_rows:
            notes += ("Adjusted: Tier 1 reweighted to Tier 3's profile on "
                      f"{_names(config.comparison.adjust_for or (), lab)}. ")
        if eq_margin is not None:
            notes += (f"Equivalence p: two one-sided tests that the difference lies within plus "
                      f"or minus {readable_number(100 * eq_margin)} points. ")
        notes += (f"Smallest detectable difference: the gap this comparison detects with 80% "
                  f"power at the {readable_number(qc.alpha)} level.")
        rep.table(pd.DataFrame(decomp), "Where the difference comes from", notes)
    num_rows = fr[fr["category"].isna()]
    if len(num_rows):
        nshow = pd.DataFrame({
            "Question": [lab.variable(q) for q in num_rows["question"]],
            "Tier 1 before": [number(v, 2) for v in num_rows["informed_before"]],
            "Tier 1 after": [number(v, 2) for v in num_rows["informed"]],
            "Tier 3": [number(v, 2) for v in num_rows["uninformed"]],
            "Difference": [number(v, 2, sign=True) for v in num_rows["difference"]],
            f"{lev} CI": [ci(a, b, 2, "number") for a, b in zip(num_rows["ci_lower"], num_rows["ci_upper"], strict=True)],
            "Adjusted p": [p_value(v) for v in num_rows["p_adjusted"]],
        })
        rep.table(nshow, "Numeric questions (means)", "Difference = Tier 1 after - Tier 3.")
    rep.image(images.get("tiers_dumbbell"), "Tier 1 before and after deliberation, and Tier 3")
    rep.image(images.get("tiers_scatter"), "Tier 1 after deliberation against Tier 3")


def _report_arm(rep: _Report, config: CohortConfig, arm: InformationArmConfig,
                result: InformationArmResult, lab: Labels) -> str:
    """The information-arm section; returns its Methods sentence."""
    level = config.estimation.level
    var, q, cat = arm.variable, arm.question, arm.category
    treated, control, randomised = arm.treated, arm.control, arm.randomised
    rep.heading(f"Information arm ({'declared randomised, ' if randomised else ''}Tier 3)")
    r = result.contrast.iloc[0]
    sh = result.frame[result.frame["category"] == cat].set_index(var)["estimate"]
    if randomised:
        reading = ("The config declares the arms randomised ([information_arm] randomised = "
                   "true); if assignment was random, this difference estimates the causal "
                   "effect of the information.")
    else:
        reading = ("This is a descriptive difference between arms: the config does not "
                   "declare them randomised (set randomised = true in [information_arm] if "
                   "they were).")
    cat_l, ql = lab.category(q, cat), _q(lab.variable(q))
    rep.para(
        f"{_fmt_pct(sh[control])} of Tier 3 respondents in the {lab.category(var, control)} arm "
        f"and {_fmt_pct(sh[treated])} in the {lab.category(var, treated)} arm answered "
        f"'{cat_l}' to {ql}: a difference of {points(r['estimate'], 1)} "
        f"({_fmt_pct(level)} CI {ci(r['ci_lower'], r['ci_upper'], 1, 'points')}; "
        f"p = {p_value(r['p_value'])}). {reading}"
    )
    t1_share = result.tier1_share
    if t1_share is not None:
        rep.para(
            f"After deliberation, {prose_share(t1_share['estimate'], t1_share['ci_lower'], t1_share['ci_upper'], level=level)} "
            f"of Tier 1 participants answered '{cat_l}', against {_fmt_pct(sh[control])} in the "
            f"Tier 3 {lab.category(var, control)} arm (a descriptive comparison)."
        )
    return (
        f"Information arm: the shares of '{cat_l}' to {ql} in each arm of "
        f"{lab.variable(var)} are domain estimates of the weighted Tier 3 design and their "
        "difference is a contrast with their joint covariance; the arms are "
        f"{'declared randomised in the config' if randomised else 'not declared randomised, so the difference is descriptive'}."
    )


def _report_banner(rep: _Report, b: BannerConfig, result: BannerResult, lab: Labels) -> str:
    """The banner section; returns its Methods sentence."""
    rep.heading("Banner tables")
    rep.para(f"{len(result.table.questions)} questions by {_names(b.columns, lab)}: "
             "banner_tables.xlsx (spreadsheet), with HTML, Markdown and CSV versions.")
    adj = "no multiplicity adjustment" if b.adjust == "none" else f"{adjust_name(b.adjust)} adjustment over the pairs of columns"
    supp = f"; cells with a base below {b.suppress_below} are suppressed" if b.suppress_below is not None else ""
    return (
        f"Banner letters compare every pair of columns within a banner variable with "
        f"design-based t tests at the {readable_number(b.sig_level)} level ({adj}); cells with "
        f"an unweighted base below {b.min_base} are flagged{supp}."
    )


_STYLE = (
    "body{font-family:Arial,Helvetica,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;"
    "line-height:1.45;color:#111} "
    "h1{font-size:1.6em} h2{font-size:1.25em;margin-top:1.6em} "
    "p.synthetic{border:2px solid #B2182B;padding:.5em;font-weight:bold} "
    "table.report{border-collapse:collapse;margin:1em 0;font-size:.85em;width:100%} "
    "table.report caption{text-align:left;font-weight:bold;padding-bottom:.3em} "
    "table.report td,table.report th{border:1px solid #999;padding:.2em .4em;vertical-align:top} "
    "table.report thead th{background:#eee} table.report tbody th{font-weight:normal;text-align:left} "
    "table.report td{text-align:right} table.report td.text{text-align:left} p.notes{font-size:.85em;margin-top:-.5em} "
    "figure{margin:1em 0} figure img{max-width:100%;height:auto} "
    "figcaption{font-weight:bold;font-size:.9em} "
    "@media print{body{max-width:none;margin:0}}"
)


def write_report(
    config: CohortConfig, results: CohortResults, charts: ChartsResult, out: Path
) -> tuple[Path, ...]:
    """Stage 10: the report as Markdown, standalone HTML and Word (``report.md``,
    ``report.html``, ``report.docx``), every sentence built from the results and the designs'
    own records, with the data's labels; returns the three paths."""
    syn = _synthetic(config)
    rep = _Report(config.cohort.title, syn)
    lab = report_labels(config, results.weighting)
    w, d3_0 = results.weighting, results.weighting.start
    d3, d1, images = w.tier3, w.tier1, charts.images
    _report_header(rep, config)
    summary, weighting_methods = _weighting_prose(
        d3_0, d3, config.weighting.variables, config.data.tier3_weights, lab
    )
    rep.heading("Weighting")
    rep.para(summary)
    rep.image(images.get("weights"), "Distribution of the Tier 3 weights")
    rep.image(images.get("margins"), "Weighting margins")
    _report_headline(rep, config, results.headline.table, images, lab)
    _report_representativeness(rep, config, d1, results.representativeness, lab, d3)
    methods: list[str] = []
    if results.comparison is not None:
        comp = config.comparison
        methods.append(_comparison_prose(results.comparison.comparison, results.comparison.frame,
                                         comp.adjust_for, comp.equivalence_margin, lab))
        _report_comparison(rep, config, results.comparison, images, lab)
    if results.deliberation is not None:
        methods += _report_deliberation(rep, config, results.deliberation, images, lab)
    if results.information_arm is not None and config.information_arm is not None:
        methods.append(_report_arm(rep, config, config.information_arm, results.information_arm, lab))
    if results.banner is not None and config.banner is not None:
        methods.append(_report_banner(rep, config.banner, results.banner, lab))
    if results.tracking is not None:
        methods.append(_report_tracking(rep, config, results.tracking, lab))

    level, ci_method = config.estimation.level, config.estimation.ci_method
    rep.heading("Methods")
    rep.para(weighting_methods)
    any_mean = any(h.category is None for h in config.headline)
    est_kinds = "proportions and means" if any_mean or config.information_arm else "proportions"
    rep.para(
        f"Estimates: weighted {est_kinds}. {_variance_prose(d3, 'Tier 3', None)} "
        f"{'' if d1 is None else _variance_prose(d1, 'Tier 1', config.data.tier1_cluster)} Confidence intervals "
        f"are {_fmt_pct(level)} intervals: '{ci_method}' intervals for shares and t intervals for "
        "means, with t quantiles on the design degrees of freedom."
    )
    for text in methods:
        if text:
            rep.para(text)
    data_line = f"Population targets: {results.data.targets_name}."
    if syn:
        data_line = ("Data: SYNTHETIC example data (see data/example/README.md). " if _bundled_data(config.data)
                     else "Data: marked SYNTHETIC in the config. ") + data_line
    rep.para(data_line)
    md = _write(out / "report.md", rep.markdown())
    page = _write(out / "report.html", rep.html())
    docx = rep.docx(out / "report.docx", out)
    return md, page, docx


# ====================================================================== the composition
def run_config(
    config: str | Path,
    *,
    output: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run the cohort pipeline described by a TOML config.

    :func:`load_config`, then the stages in order: :func:`read_data`,
    :func:`prepare_output`, :func:`weight_tier3`, :func:`estimate_headlines`,
    :func:`assess_representativeness`, :func:`compare_tier_views`,
    :func:`estimate_information_arm`, :func:`build_banner`, :func:`draw_charts` and
    :func:`write_report`.

    Parameters
    ----------
    config : path
        TOML file; see ``analyses/cohort1.toml`` for every key. Relative paths are relative
        to the config file; ``bundled:example/tier3.sav`` names a bundled file.
    output : path, optional
        Output folder (default: the config's ``output``, relative to the config file).
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    PipelineResult

    Raises
    ------
    DelibpollError
        The config file is missing, unreadable, not UTF-8 or not valid TOML; keys have the
        wrong type or required keys are missing (all such problems in one message); a data
        or targets file is missing or unreadable; the config names a column the data do not
        have; the output folder cannot be created. All of these are raised before any
        output is written.

    Notes
    -----
    The stages write into a new temporary folder beside the output folder
    (``.output.partial-XXXX``); only when every stage has succeeded are the files moved into
    the output folder (replacing files of the same name). A run that fails removes the
    temporary folder and leaves the output folder as it was.
    """
    say = progress or (lambda _m: None)
    cfg = load_config(config)
    if _synthetic(cfg):
        say(SYNTHETIC_NOTE)
    say("reading data")
    data = read_data(cfg)
    final = _output_folder(cfg, output)
    staging = _staging_folder(final)
    try:
        res = _run_stages(cfg, data, staging, say)
        moved = _move_into_place(staging, final)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)  # a failed run leaves the old outputs alone
        raise
    res = PipelineResult(output=final, files=[moved[f] for f in res.files], tables=res.tables)
    say(f"wrote {len(res.files)} files to {final}"
        + (f" ({SYNTHETIC_NOTE})" if _synthetic(cfg) else ""))
    return res


def _run_stages(cfg: CohortConfig, data: CohortData, out: Path,
                say: Callable[[str], None]) -> PipelineResult:
    """The computing and writing stages, writing into ``out`` (the staging folder)."""
    say(f"weighting Tier 3 ({len(data.tier3)} rows) to {len(cfg.weighting.variables)} margins")
    weighting = weight_tier3(cfg, data, out)
    say("headline estimates")
    headline = estimate_headlines(cfg, weighting, out)
    say("representativeness")
    rep = assess_representativeness(cfg, data, weighting, out)
    if cfg.comparison.questions:
        say(f"comparing tiers on {len(cfg.comparison.questions)} questions")
    comparison = compare_tier_views(cfg, weighting, out)
    if cfg.information_arm is not None:
        say("information-arm effect")
    arm = estimate_information_arm(cfg, weighting, out)
    if cfg.banner is not None:
        say("banner tables")
    ban = build_banner(cfg, weighting, out)
    if any(getattr(cfg, c.section, None) is not None for c in _DELIBERATION_SECTIONS):
        say("deliberative analyses (knowledge, balance, attrition, group dynamics, control)")
    delib = analyse_deliberation(cfg, data, weighting, comparison, out)
    if cfg.tracking is not None:
        say(f"tracking across {len(cfg.cohorts) + 1} cohorts")
    tracking = track_cohorts(cfg, weighting, out)
    results = CohortResults(data=data, weighting=weighting, headline=headline,
                            representativeness=rep, comparison=comparison,
                            information_arm=arm, banner=ban, deliberation=delib,
                            tracking=tracking)
    charts = draw_charts(cfg, results, out)
    report = write_report(cfg, results, charts, out)
    res = PipelineResult(output=out)
    for stage in (weighting, headline, rep, comparison, arm, ban, delib, tracking, charts):
        if stage is not None:
            res.files += stage.files
    res.files += report
    res.tables["headline"] = headline.table
    if comparison is not None:
        res.tables["tier_comparison"] = comparison.frame
    if tracking is not None:
        res.tables["tracking"] = tracking.comparison.to_frame()
    return res


def _output_folder(config: CohortConfig, output: str | Path | None) -> Path:
    """The output folder (not created): ``output``, else ``[cohort] output``."""
    out = Path(output) if output else _resolve(config.base, config.cohort.output)
    if out.exists() and not out.is_dir():
        raise DelibpollError(
            f"The output folder '{out}' is an existing file, not a folder; choose another "
            "output folder."
        )
    return out


def _staging_folder(final: Path) -> Path:
    """A new temporary folder beside ``final`` (same file system, so moves are renames)."""
    import tempfile

    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    except OSError as exc:
        raise DelibpollError(
            f"Cannot create the output folder '{final}' ({exc.strerror or exc}); choose a folder "
            "you can write to."
        ) from None


def _move_into_place(staging: Path, final: Path) -> dict[Path, Path]:
    """Move every file written to ``staging`` into ``final`` (replacing files of the same
    name), then remove ``staging``; returns staging path -> final path."""
    import os
    import shutil

    try:
        final.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DelibpollError(f"Cannot create the output folder '{final}' ({exc.strerror or exc}).") from None
    moved: dict[Path, Path] = {}
    for src in sorted(p for p in staging.rglob("*") if p.is_file()):
        dst = final / src.relative_to(staging)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        moved[src] = dst
    shutil.rmtree(staging, ignore_errors=True)
    return moved
