"""The reproducible cohort pipeline: one TOML config in, a whole report out.

``run_config("analyses/cohort1.toml")`` (or ``delibpoll run analyses/cohort1.toml``) reads
both tiers, weights Tier 3, estimates the headline figures, checks representativeness,
compares the tiers question by question, estimates the information-arm effect, builds banner
tables and charts, and writes a Markdown and HTML report. Two runs give byte-identical
tables and report text. A new cohort is a new config, not new code.

The config is checked before anything is read or written: every key the pipeline reads must
have the right type, and the required keys must be present; all problems are reported in one
:class:`~delibpoll.DelibpollError`. The data files are then read and every column the config
names is checked to exist, still before any output is written.

Every sentence of the report is built from what was actually done and measured: the
weighting step recorded in the design (method, stopping rule, cap, iterations, the largest
share error reached), the variance method of the designs, and the comparisons actually run.
"""

from __future__ import annotations

import html
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import datasets
from ._ci import CI_METHODS
from .banner import banner
from .contrast import contrast
from .deliberative import QuestionComparison, compare_questions, representativeness
from .design import SurveyDesign
from .estimation import mean, proportion
from .exceptions import DelibpollError
from .io import read_survey
from .plots import alt_text, plot_estimates, plot_margins, plot_tiers, plot_weights
from .targets import Targets
from .weighting import calibrate, rake

__all__ = ["PipelineResult", "run_config"]

_BUNDLED_TARGETS = ("bundled:england", "england")


@dataclass
class PipelineResult:
    """What a pipeline run wrote: ``files`` (paths), and the main result tables."""

    output: Path
    files: list[Path] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


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
}

# section -> (required, {key: (kind, required)})
_SCHEMA: dict[str, tuple[bool, dict[str, tuple[str, bool]]]] = {
    "cohort": (False, {"title": ("str", False), "synthetic": ("bool", False),
                       "output": ("path", False), "source": ("str", False)}),
    "data": (True, {"tier3": ("path", True), "tier1": ("path", True),
                    "tier1_cluster": ("str", False), "tier3_weights": ("str", False),
                    "tier1_weights": ("str", False)}),
    "weighting": (True, {"variables": ("strlist1", True), "targets": ("path", False),
                         "method": ("str", False), "cap": ("number", False),
                         "bounds": ("pair", False)}),
    "estimation": (False, {"level": ("number", False), "ci_method": ("str", False)}),
    "representativeness": (False, {"variables": ("strlist1", False)}),
    "comparison": (False, {"multiplicity": ("str", False), "equivalence_margin": ("number", False),
                           "adjust_for": ("strlist1", False), "categories": ("table", False),
                           "questions": ("table", False)}),
    "information_arm": (False, {"variable": ("str", True), "question": ("str", True),
                                "category": ("scalar", True), "treated": ("scalar", True),
                                "control": ("scalar", True), "tier1_question": ("str", False),
                                "randomised": ("bool", False)}),
    "banner": (False, {"rows": ("strlist", False), "columns": ("strlist1", True),
                       "sig_level": ("number", False), "adjust": ("str", False),
                       "min_base": ("int", False), "suppress_below": ("int", False),
                       "nets": ("table", False), "exclude": ("scalarlist", False),
                       "decimals": ("int", False), "multi_response": ("table", False)}),
}
_HEADLINE_KEYS: dict[str, tuple[str, bool]] = {
    "question": ("str", True), "category": ("scalar", False), "published": ("scalar", False),
}
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("weighting", "method"): ("rake", "linear", "raking", "logit"),
    ("estimation", "ci_method"): tuple(CI_METHODS),
    ("comparison", "multiplicity"): ("holm", "fdr_bh", "none"),
    ("banner", "adjust"): ("none", "holm", "bonferroni", "fdr_bh"),
}


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


def _check_config(cfg: Mapping[str, Any]) -> list[str]:
    """Types and required keys of every config key the pipeline reads; all problems."""
    errors: list[str] = []
    for section, (required, keys) in _SCHEMA.items():
        if section not in cfg:
            if required:
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
            _check_keys(f"[[headline]] number {i}", h, _HEADLINE_KEYS, errors)
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
                    _check_keys(f"[{where}]", ba, {"before": ("str", True), "after": ("str", True)}, errors)
        cats = comp.get("categories", {})
        if isinstance(cats, dict):
            for q, c in cats.items():
                if not _is_scalar(c):
                    errors.append(f"[comparison.categories] {q} must be a string or a number; got {c!r}.")
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


def _load_config(cfg_path: Path) -> dict[str, Any]:
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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _fmt_pct(x: float) -> str:
    return "" if pd.isna(x) else f"{100 * x:.1f}%"


def _fmt_num(x: float) -> str:
    """A measured small number as printed in the prose (two significant digits)."""
    return f"{x:.2g}"


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(v) for v in r) + " |")
    return "\n".join(lines)


class _Report:
    """Builds the Markdown and the HTML report side by side."""

    def __init__(self) -> None:
        self.md: list[str] = []
        self.html: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.md.append("#" * level + " " + text + "\n")
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def para(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, df: pd.DataFrame, caption: str = "") -> None:
        if caption:
            self.md.append(f"*{caption}*\n")
        self.md.append(_md_table(df) + "\n")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.html.append(df.to_html(index=False, escape=True).replace("<table", "<table class='report'", 1).replace(">\n  <thead>", f">{cap}\n  <thead>", 1))

    def image(self, path: str, alt: str) -> None:
        self.md.append(f"![{alt}]({path})\n")
        self.html.append(f"<figure><img src='{html.escape(path)}' alt='{html.escape(alt)}' style='max-width:100%'></figure>")


def _save_chart(plot: Any, out: Path, name: str, files: list[Path], width: float, height: float) -> str:
    import matplotlib as mpl

    for ext in ("png", "svg"):
        path = out / "charts" / f"{name}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"metadata": {"Date": None}} if ext == "svg" else {}
        # fixed SVG element ids and no date, so two runs write identical files
        with mpl.rc_context({"svg.hashsalt": "delibpoll"}):
            plot.save(path, width=width, height=height, dpi=120, verbose=False, **kwargs)
        files.append(path)
    return f"charts/{name}.png"


def _write(path: Path, text: str, files: list[Path]) -> None:
    path.write_text(text, encoding="utf-8")
    files.append(path)


# ---------------------------------------------------------------------- prose from objects
def _largest_share_error(design: SurveyDesign) -> float:
    """Largest |weighted share - target share| over the margins in the weighting report."""
    wr = design.weighting_report
    assert wr is not None
    err = wr.margins()["error"].abs()
    return float(err.max()) if err.notna().any() else float("nan")


def _weighting_prose(
    d0: SurveyDesign, d: SurveyDesign, variables: Sequence[str], start_col: str | None
) -> tuple[str, str]:
    """(the Weighting paragraph, the weighting sentences of Methods), from the design's own
    weighting log and report."""
    wr = d.weighting_report
    assert wr is not None
    step = d.weighting_log[-1]
    opts = step.options
    w = d.weights.to_numpy()
    n = len(w)
    share_err = _largest_share_error(d)
    status = "converged" if step.converged else "did NOT converge"
    start = f"the weights in column '{start_col}'" if start_col else "equal weights"
    if step.method == "rake":
        how = "raked (iterative proportional fitting)"
        rule = f"stopping rule: every weighted share within {opts['tol']:g} of its target share"
    else:
        how = f"calibrated (calibration function '{opts['method']}', as R's calibrate)"
        rule = (f"stopping rule: every calibration total within {opts['tol']:g} times the "
                "population total of its target")
    limits: list[str] = []
    cap = opts.get("cap")
    if cap is not None:
        cap_value = float(cap) * float(opts["total"]) / n
        at_cap = int(np.sum(w >= cap_value * (1 - 1e-9)))
        limits.append(
            f"weights were capped at {cap:g} times the mean weight ({cap_value:.4g}) inside the "
            f"raking loop, and {at_cap} of the {n:,} weights are at the cap"
        )
    lo, hi = opts.get("bounds", (-np.inf, np.inf))
    if np.isfinite(lo) or np.isfinite(hi):
        g = w / d0.weights.to_numpy()
        limits.append(
            f"the adjustment factors were bounded to [{lo:g}, {hi:g}], and the ratio of final "
            f"to starting weight ranges from {g.min():.4g} to {g.max():.4g}"
        )
    if not any(s.method == "trim" for s in d.weighting_log):
        if not limits:
            limits.append("no cap, bounds or trimming was applied to the weights")
        else:
            limits.append("no weights were trimmed")
    summary = (
        f"Tier 3 ({wr.n:,} respondents) was {how.split(' (')[0]}, starting from {start}, to "
        f"population margins for {', '.join(variables)}; it {status} after {step.iterations} iterations, "
        f"and the largest difference between a weighted share and its target share is "
        f"{_fmt_num(share_err)}. Kish design effect of the weights {wr.kish_deff:.2f}, effective "
        f"sample size {wr.kish_n_eff:,.0f}; weights range from {wr.weight_min:.2f} to "
        f"{wr.weight_max:.2f}."
    )
    methods = (
        f"Weighting: Tier 3 was {how}, starting from {start}, to the population margins of "
        f"{', '.join(variables)} ({rule}); it {status} after {step.iterations} iterations with a "
        f"largest share error of {_fmt_num(share_err)} (weighting_margins.csv). "
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
        n_psu = int(design.data[design.ids].nunique())
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
        f"design degrees of freedom {design.df:g}."
    )


def _comparison_prose(qc: QuestionComparison, fr: pd.DataFrame, adjust_for: Sequence[str] | None,
                      equivalence_margin: float | None) -> str:
    tested = fr[fr["tested"]]
    by_cat: list[str] = []
    omnibus: list[str] = []
    numeric: list[str] = []
    for q, rows in tested.groupby("question", sort=False):
        if rows["category"].isna().all():
            numeric.append(str(q))
        elif len(rows) == 1:
            by_cat.append(f"{q} ('{rows['category'].iloc[0]}')")
        else:
            omnibus.append(str(q))
    tests = []
    if by_cat:
        tests.append("the difference in one declared category's share for " + ", ".join(by_cat))
    if omnibus:
        tests.append("an omnibus test that the whole answer distribution is the same in both "
                     "tiers for " + ", ".join(omnibus))
    if numeric:
        tests.append("the difference in means for " + ", ".join(numeric))
    adj = "no multiplicity adjustment" if qc.adjust == "none" else f"{qc.adjust} adjustment"
    text = (
        f"Tier comparisons ({qc.n_tests} questions) are descriptive: difference = Tier 1 after "
        "deliberation - Tier 3, with SEs combining each tier's own design SE and "
        "Welch-Satterthwaite degrees of freedom; the difference is split exactly into the change "
        "during deliberation (among Tier 1 participants who answered both times) and the baseline "
        f"gap before it. One test per question ({'; '.join(tests)}), with {adj} over the "
        f"{qc.n_tests} tests at the {qc.alpha} level."
    )
    if adjust_for:
        text += (f" The composition-adjusted gap rakes Tier 1 to Tier 3's weighted profile on "
                 f"{', '.join(adjust_for)}; the adjusted baseline gap is a placebo check.")
    if equivalence_margin is not None:
        text += (f" Equivalence (agreement) is tested with two one-sided tests against a margin "
                 f"of ±{100 * equivalence_margin:g} points (p_equivalence).")
    return text


def run_config(
    config: str | Path,
    *,
    output: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run the cohort pipeline described by a TOML config.

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
    """
    say = progress or (lambda _m: None)
    cfg_path = Path(config)
    cfg = _load_config(cfg_path)
    problems = _check_config(cfg)
    if problems:
        raise DelibpollError(
            f"Config file '{cfg_path}' has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            + " ".join(problems) + " Fix the config and run again."
        )
    base = cfg_path.resolve().parent
    cohort: dict[str, Any] = cfg.get("cohort", {})
    data_cfg: dict[str, Any] = cfg["data"]
    w_cfg: dict[str, Any] = cfg["weighting"]
    est_cfg: dict[str, Any] = cfg.get("estimation", {})
    comp_cfg: dict[str, Any] = cfg.get("comparison", {})
    arm: dict[str, Any] | None = cfg.get("information_arm")
    b_cfg: dict[str, Any] | None = cfg.get("banner")
    heads: list[dict[str, Any]] = cfg.get("headline", [])
    variables = list(w_cfg["variables"])
    rep_vars = list(cfg.get("representativeness", {}).get("variables", variables))
    method = w_cfg.get("method", "rake")
    target_spec = w_cfg.get("targets", "bundled:england")

    # ------------------------------------------------------------ files, then columns
    errors: list[str] = []
    t3_path = _file(base, data_cfg["tier3"], "[data] tier3", errors)
    t1_path = _file(base, data_cfg["tier1"], "[data] tier1", errors)
    t_path = None if target_spec in _BUNDLED_TARGETS else _file(base, target_spec, "[weighting] targets", errors)
    if errors:
        raise DelibpollError(" ".join(errors))
    assert t3_path is not None and t1_path is not None
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
    targets = all_targets.select(variables)
    pop_t = all_targets.select(rep_vars)

    say("reading data")
    t3 = _read(t3_path, "[data] tier3")
    t1 = _read(t1_path, "[data] tier1")
    need3: list[tuple[str, str]] = [("[weighting] variables", v) for v in variables]
    need1: list[tuple[str, str]] = []
    for key in ("tier3_weights",):
        if key in data_cfg:
            need3.append((f"[data] {key}", data_cfg[key]))
    for key in ("tier1_cluster", "tier1_weights"):
        if key in data_cfg:
            need1.append((f"[data] {key}", data_cfg[key]))
    need3 += [(f"[[headline]] number {i} question", h["question"]) for i, h in enumerate(heads, 1)]
    need3 += [("[representativeness] variables", v) for v in rep_vars]
    need1 += [("[representativeness] variables", v) for v in rep_vars]
    questions = {q: (v["before"], v["after"]) for q, v in comp_cfg.get("questions", {}).items()}
    for q, (before, after) in questions.items():
        need3.append(("[comparison.questions] (the Tier 3 question)", q))
        need1 += [(f"[comparison.questions.{q}] before", before), (f"[comparison.questions.{q}] after", after)]
    for v in comp_cfg.get("adjust_for", []):
        need3.append(("[comparison] adjust_for", v))
        need1.append(("[comparison] adjust_for", v))
    for q in comp_cfg.get("categories", {}):
        if q not in questions:
            errors.append(f"[comparison.categories] names '{q}', which is not one of the "
                          "[comparison.questions]; add the question or remove the line.")
    if arm:
        need3 += [("[information_arm] variable", arm["variable"]), ("[information_arm] question", arm["question"])]
        if "tier1_question" in arm:
            need1.append(("[information_arm] tier1_question", arm["tier1_question"]))
    if b_cfg:
        need3 += [("[banner] rows", v) for v in b_cfg.get("rows", [])]
        need3 += [("[banner] columns", v) for v in b_cfg["columns"]]
        for name, members in b_cfg.get("multi_response", {}).items():
            need3 += [(f"[banner.multi_response] {name}", v) for v in members]
    for df, need, tier, path in ((t3, need3, "Tier 3", t3_path), (t1, need1, "Tier 1", t1_path)):
        missing = list(dict.fromkeys((label, col) for label, col in need if col not in df.columns))
        for label, col in missing:
            errors.append(f"{label} names '{col}', which is not a column of the {tier} data ({path.name}).")
        if missing:
            cols = [str(c) for c in df.columns]
            errors.append(f"{tier} columns are: {', '.join(cols[:40])}{' ...' if len(cols) > 40 else ''}.")
    if errors:
        raise DelibpollError(f"Config file '{cfg_path}': " + " ".join(errors) + " Fix the config and run again.")

    # ------------------------------------------------------------ output folder
    out = Path(output) if output else _resolve(base, cohort.get("output", "output"))
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
    res = PipelineResult(output=out)
    files = res.files
    rep = _Report()
    title = cohort.get("title", "Cohort report")
    synthetic = bool(cohort.get("synthetic", False))
    bundled_data = all(str(data_cfg[k]).startswith("bundled:example/") for k in ("tier3", "tier1"))
    rep.heading(title, 1)
    if synthetic:
        origin = (
            "generated by delibpoll's data/example/make_example.py" if bundled_data
            else "(the config marks them synthetic: [cohort] synthetic = true)"
        )
        rep.para(
            f"NOTE: the data in this report are SYNTHETIC data {origin}. No respondent is real; "
            "the figures illustrate the method only."
        )

    # ---------------------------------------------------------------- weighting
    say(f"weighting Tier 3 ({len(t3)} rows) to {len(variables)} margins")
    d3_0 = SurveyDesign(t3, weights=data_cfg.get("tier3_weights"))
    if method == "rake":
        d3 = rake(d3_0, targets, cap=w_cfg.get("cap"))
    else:
        bounds = tuple(w_cfg["bounds"]) if "bounds" in w_cfg else None
        d3 = calibrate(d3_0, targets, method=method, bounds=bounds)
    wr = d3.weighting_report
    assert wr is not None
    wr.to_frame().to_csv(out / "weighting_summary.csv", index=False, float_format="%.10g")
    wr.margins().to_csv(out / "weighting_margins.csv", index=False, float_format="%.10g")
    # the final weights, one per Tier 3 row in file order, so anyone can check the margins
    pd.DataFrame({"weight": d3.weights.to_numpy()}).to_csv(
        out / "tier3_weights.csv", index=False, float_format="%.17g"
    )
    files += [out / "weighting_summary.csv", out / "weighting_margins.csv", out / "tier3_weights.csv"]
    _write(out / "weighting_report.txt", str(wr) + "\n", files)
    d1 = SurveyDesign(t1, ids=data_cfg.get("tier1_cluster"), weights=data_cfg.get("tier1_weights"))

    weighting_summary, weighting_methods = _weighting_prose(d3_0, d3, variables, data_cfg.get("tier3_weights"))
    rep.heading("Weighting")
    rep.para(weighting_summary)
    p = plot_weights(d3)
    rep.image(_save_chart(p, out, "weights", files, 7, 4), alt_text(p))
    p = plot_margins(d3)
    rep.image(_save_chart(p, out, "margins", files, 10, 9), alt_text(p))

    # ---------------------------------------------------------------- headline estimates
    say("headline estimates")
    level = float(est_cfg.get("level", 0.95))
    ci_method = est_cfg.get("ci_method", "logit")
    head_rows = []
    for h in heads:
        q, cat = h["question"], h.get("category")
        if cat is None:
            e = mean(d3, q, level=level, na="drop").to_frame().iloc[0]
            head_rows.append({"question": q, "category": "(mean)", "estimate": round(e["estimate"], 4),
                              "ci_lower": round(e["ci_lower"], 4), "ci_upper": round(e["ci_upper"], 4),
                              "n": int(e["n"]), "published": h.get("published", "")})
            continue
        fr = proportion(d3, q, level=level, ci_method=ci_method, na="drop").to_frame().set_index("category")
        if cat not in fr.index:
            raise DelibpollError(
                f"[[headline]] category {cat!r} is not a category of '{q}'; its categories are "
                f"{list(fr.index)}."
            )
        e = fr.loc[cat]
        head_rows.append({"question": q, "category": cat, "estimate": round(e["estimate"], 4),
                          "ci_lower": round(e["ci_lower"], 4), "ci_upper": round(e["ci_upper"], 4),
                          "n": int(e["n"]), "published": h.get("published", "")})
    headline = pd.DataFrame(head_rows)
    headline.to_csv(out / "headline_estimates.csv", index=False)
    files.append(out / "headline_estimates.csv")
    res.tables["headline"] = headline
    rep.heading("Headline estimates (Tier 3, weighted)")
    if len(headline):
        is_mean = headline.category == "(mean)"
        shown = headline.assign(
            estimate=[_fmt_pct(v) if c != "(mean)" else f"{v:.2f}" for v, c in zip(headline.estimate, headline.category, strict=True)],
            ci=[f"{_fmt_pct(a)} to {_fmt_pct(b)}" if c != "(mean)" else f"{a:.2f} to {b:.2f}"
                for a, b, c in zip(headline.ci_lower, headline.ci_upper, headline.category, strict=True)],
        )[["question", "category", "estimate", "ci", "n", "published"]]
        kinds = []
        if (~is_mean).any():
            kinds.append(f"{ci_method} intervals for shares")
        if is_mean.any():
            kinds.append("t intervals for means")
        rep.table(shown, f"Weighted estimates with {level:.0%} confidence intervals ({'; '.join(kinds)}); n = unweighted base.")
        shares = headline[~is_mean]
        if len(shares):
            first = shares.iloc[0]
            head_est = proportion(d3, first["question"], level=level, ci_method=ci_method, na="drop")
            p = plot_estimates(head_est, title=f"{first['question']} (Tier 3, weighted)")
            rep.image(_save_chart(p, out, "headline", files, 7, 4), alt_text(p))

    # ---------------------------------------------------------------- representativeness
    say("representativeness")
    r3 = representativeness(d3, pop_t)
    r1 = representativeness(d1, pop_t)
    r13 = representativeness(d1, d3.profile(rep_vars))
    for name, rr in (("tier3_vs_population", r3), ("tier1_vs_population", r1), ("tier1_vs_tier3", r13)):
        rr.to_frame().to_csv(out / f"representativeness_{name}.csv", index=False, float_format="%.6g")
        rr.tests.to_csv(out / f"representativeness_{name}_tests.csv", index=False, float_format="%.6g")
        files += [out / f"representativeness_{name}.csv", out / f"representativeness_{name}_tests.csv"]
    rep.heading("Representativeness")
    worst = r1.to_frame().assign(gap=lambda f: (f["unweighted_share"] - f["target_share"]).abs()).sort_values("gap").iloc[-1]
    pearson = r1.tests[r1.tests["test"].str.startswith("Pearson")]
    n_rej = int((pearson["p_value"] < 0.05).sum())
    rep.para(
        f"Tier 1 ({d1.n} participants) against the population on {', '.join(rep_vars)}: the "
        f"Pearson test rejects the population profile at the 5% level for {n_rej} of "
        f"{len(pearson)} variables. Its largest departure from the population is "
        f"{worst['variable']} '{worst['category']}': {_fmt_pct(worst['unweighted_share'])} of "
        f"participants against {_fmt_pct(worst['target_share'])} of the population. Full "
        "tables: representativeness_*.csv."
    )
    tests = pearson[["variable", "statistic", "df_num", "p_value"]].round(4)
    rep.table(tests, "Tier 1 profile against the population (Pearson chi-square on unweighted counts)")

    # ---------------------------------------------------------------- tier comparison
    comparison_methods = ""
    if questions:
        say(f"comparing tiers on {len(questions)} questions")
        adjust_for = comp_cfg.get("adjust_for")
        eq_margin = comp_cfg.get("equivalence_margin")
        qc = compare_questions(
            d1, d3, questions, adjust=comp_cfg.get("multiplicity", "holm"),
            categories=comp_cfg.get("categories"), equivalence_margin=eq_margin,
            adjust_for=adjust_for, level=level,
        )
        fr = qc.to_frame()
        fr.to_csv(out / "tier_comparison.csv", index=False, float_format="%.6g")
        files.append(out / "tier_comparison.csv")
        res.tables["tier_comparison"] = fr
        comparison_methods = _comparison_prose(qc, fr, adjust_for, eq_margin)
        rep.heading("Informed (Tier 1) and uninformed (Tier 3) views")
        rep.para(qc.note)
        adj_txt = "not adjusted for multiplicity" if qc.adjust == "none" else f"{qc.adjust} adjusted"
        agree = ""
        if eq_margin is not None and "p_equivalence" in fr:
            n_eq = int(fr.loc[fr["tested"], "p_equivalence"].lt(qc.alpha).sum())
            agree = (f"; the equivalence test (margin ±{100 * eq_margin:g} points, p_equivalence "
                     f"in tier_comparison.csv) shows agreement for {n_eq} tested row(s)")
        else:
            agree = "; no equivalence margin was configured, so agreement was not tested"
        rep.para(
            f"{qc.n_tests} questions were tested (one test per question, {adj_txt}); "
            f"{qc.n_significant} differ significantly at the {qc.alpha} level. Without adjustment "
            f"about {qc.expected_false_positives:.1f} would be expected to by chance. A "
            f"non-significant gap is not agreement{agree}."
        )
        cols = ["question", "category", "informed_before", "informed", "uninformed", "difference",
                "deliberation_change", "baseline_gap", "p_adjusted", "mdd"]
        if "adjusted_difference" in fr:
            cols += ["adjusted_difference", "adjusted_baseline_gap"]
        cat_rows = fr[fr["category"].notna()]
        shown = cat_rows[[c for c in cols if c in fr]].copy()
        for c in shown.columns[2:]:
            if c != "p_adjusted":
                shown[c] = shown[c].map(_fmt_pct)
        shown["p_adjusted"] = shown["p_adjusted"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
        rep.table(shown, "Shares; difference = Tier 1 after - Tier 3 = deliberation change + baseline gap")
        num_rows = fr[fr["category"].isna()]
        if len(num_rows):
            nshow = num_rows[["question", "informed_before", "informed", "uninformed", "difference", "p_adjusted"]].round(3)
            rep.table(nshow, "Numeric questions (means)")
        if len(cat_rows):
            p = plot_tiers(cat_rows)
            rep.image(_save_chart(p, out, "tiers_dumbbell", files, 9, 6), alt_text(p))
            p = plot_tiers(cat_rows, kind="scatter")
            rep.image(_save_chart(p, out, "tiers_scatter", files, 6, 6), alt_text(p))

    # ---------------------------------------------------------------- information arm
    arm_methods = ""
    if arm:
        say("information-arm effect")
        var, q, cat = arm["variable"], arm["question"], arm["category"]
        treated, control = arm["treated"], arm["control"]
        randomised = bool(arm.get("randomised", False))
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
        arm_frame.to_csv(out / "information_arm.csv", index=False, float_format="%.6g")
        arm_c.to_csv(out / "information_arm_contrast.csv", index=False, float_format="%.6g")
        files += [out / "information_arm.csv", out / "information_arm_contrast.csv"]
        rep.heading(f"Information arm ({'declared randomised, ' if randomised else ''}Tier 3)")
        r = arm_c.iloc[0]
        sh = arm_frame[arm_frame["category"] == cat].set_index(var)["estimate"]
        if randomised:
            reading = ("The config declares the arms randomised ([information_arm] randomised = "
                       "true); if assignment was random, this difference estimates the causal "
                       "effect of the information.")
        else:
            reading = ("This is a descriptive difference between arms: the config does not "
                       "declare them randomised (set randomised = true in [information_arm] if "
                       "they were).")
        rep.para(
            f"'{cat}' to {q}: {_fmt_pct(sh[control])} in the {control} arm and "
            f"{_fmt_pct(sh[treated])} in the {treated} arm; difference {100 * r['estimate']:+.1f} "
            f"points ({level:.0%} CI {100 * r['ci_lower']:+.1f} to {100 * r['ci_upper']:+.1f}; "
            f"p = {r['p_value']:.3g}). {reading}"
        )
        arm_methods = (
            f"Information arm: the shares of '{cat}' to {q} in each arm of {var} are domain "
            "estimates of the weighted Tier 3 design and their difference is a contrast with "
            f"their joint covariance; the arms are {'declared randomised in the config' if randomised else 'not declared randomised, so the difference is descriptive'}."
        )
        t1q = arm.get("tier1_question")
        if t1q:
            t1_fr = proportion(d1, t1q, level=level, ci_method=ci_method, na="drop").to_frame().set_index("category")
            if cat not in t1_fr.index:
                raise DelibpollError(
                    f"[information_arm] category {cat!r} is not a category of the Tier 1 "
                    f"tier1_question '{t1q}'; its categories are {list(t1_fr.index)}."
                )
            t1_share = t1_fr.loc[cat]
            rep.para(
                f"Tier 1 after deliberation: {_fmt_pct(t1_share['estimate'])} '{cat}' "
                f"({_fmt_pct(t1_share['ci_lower'])} to {_fmt_pct(t1_share['ci_upper'])}), against "
                f"{_fmt_pct(sh[control])} in the Tier 3 {control} arm (descriptive comparison)."
            )

    # ---------------------------------------------------------------- banner tables
    banner_methods = ""
    if b_cfg:
        say("banner tables")
        rows: list[Any] = list(b_cfg.get("rows", []))
        for name, cols_ in b_cfg.get("multi_response", {}).items():
            rows.append({name: list(cols_)})
        sig_level = b_cfg.get("sig_level", 0.05)
        b_adjust = b_cfg.get("adjust", "none")
        min_base = b_cfg.get("min_base", 50)
        suppress_below = b_cfg.get("suppress_below")
        table = banner(
            d3, rows, list(b_cfg["columns"]), level=level, ci_method=ci_method,
            sig_level=sig_level, adjust=b_adjust, min_base=min_base,
            suppress_below=suppress_below, nets=b_cfg.get("nets"),
            exclude=b_cfg.get("exclude"), decimals=b_cfg.get("decimals", 0),
        )
        table.to_excel(out / "banner_tables.xlsx", title=title, source=cohort.get("source", ""))
        files.append(out / "banner_tables.xlsx")
        _write(out / "banner_tables.html", table.to_html(), files)
        _write(out / "banner_tables.md", table.to_markdown(), files)
        table.to_csv(out / "banner_tables.csv")
        files.append(out / "banner_tables.csv")
        rep.heading("Banner tables")
        rep.para(f"{len(table.questions)} questions by {', '.join(b_cfg['columns'])}: banner_tables.xlsx (spreadsheet), .html, .md and .csv.")
        adj = "no multiplicity adjustment" if b_adjust == "none" else f"{b_adjust} adjustment over the pairs of columns"
        supp = f"; cells with a base below {suppress_below} are suppressed" if suppress_below is not None else ""
        banner_methods = (
            f"Banner letters compare every pair of columns within a banner variable with "
            f"design-based t tests at the {sig_level} level ({adj}); cells with an unweighted "
            f"base below {min_base} are flagged{supp}."
        )

    # ---------------------------------------------------------------- methods
    rep.heading("Methods")
    rep.para(weighting_methods)
    est_kinds = "proportions and means" if any("category" not in h for h in heads) or arm else "proportions"
    rep.para(
        f"Estimates: weighted {est_kinds}. {_variance_prose(d3, 'Tier 3', None)} "
        f"{_variance_prose(d1, 'Tier 1', data_cfg.get('tier1_cluster'))} Confidence intervals "
        f"are {level:.0%} intervals: '{ci_method}' intervals for shares and t intervals for "
        "means, with t quantiles on the design degrees of freedom."
    )
    for text in (comparison_methods, arm_methods, banner_methods):
        if text:
            rep.para(text)
    data_line = f"Population targets: {t_name}."
    if synthetic:
        data_line = ("Data: SYNTHETIC example data (see data/example/README.md). " if bundled_data
                     else "Data: marked SYNTHETIC in the config. ") + data_line
    rep.para(data_line)
    _write(out / "report.md", "\n".join(rep.md), files)
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4} table.report{border-collapse:collapse;margin:1em 0} table.report td,table.report th{border:1px solid #ccc;padding:.25em .5em}"
    _write(
        out / "report.html",
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(rep.html) + "\n</body></html>\n",
        files,
    )
    say(f"wrote {len(files)} files to {out}")
    return res
