"""The reproducible cohort pipeline: one TOML config in, a whole report out.

``run_config("analyses/cohort1.toml")`` (or ``delibpoll run analyses/cohort1.toml``) reads
both tiers, weights Tier 3, estimates the headline figures, checks representativeness,
compares the tiers question by question, estimates the information-arm effect, builds banner
tables and charts, and writes a Markdown and HTML report. Two runs give byte-identical
tables and report text. A new cohort is a new config, not new code.
"""

from __future__ import annotations

import html
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import datasets
from .compare import compare_questions, representativeness
from .contrast import contrast
from .design import SurveyDesign
from .estimation import mean, proportion
from .exceptions import DelibpollError
from .io import read_survey
from .plots import alt_text, plot_estimates, plot_margins, plot_tiers, plot_weights
from .tables import banner
from .targets import Targets
from .weighting import calibrate, rake

__all__ = ["PipelineResult", "run_config"]


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


def _need(cfg: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in cfg:
        raise DelibpollError(f"Config section [{where}] needs '{key}'.")
    return cfg[key]


def _fmt_pct(x: float) -> str:
    return "" if pd.isna(x) else f"{100 * x:.1f}%"


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
        Output folder (default: the config's ``output``).
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    PipelineResult
    """
    say = progress or (lambda _m: None)
    cfg_path = Path(config)
    if not cfg_path.exists():
        raise DelibpollError(f"Config file '{cfg_path}' does not exist.")
    try:
        cfg = tomllib.loads(cfg_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise DelibpollError(f"Config file '{cfg_path}' is not valid TOML: {exc}") from None
    base = cfg_path.resolve().parent
    cohort = cfg.get("cohort", {})
    out = Path(output) if output else _resolve(base, cohort.get("output", "output"))
    out.mkdir(parents=True, exist_ok=True)
    res = PipelineResult(output=out)
    files = res.files
    data_cfg = _need(cfg, "data", "root")
    rep = _Report()
    title = cohort.get("title", "Cohort report")
    rep.heading(title, 1)
    if cohort.get("synthetic", False):
        rep.para(
            "NOTE: the data in this report are SYNTHETIC example data generated by delibpoll's "
            "data/example/make_example.py. No respondent is real; the figures illustrate the "
            "method only."
        )

    # ---------------------------------------------------------------- data and weighting
    say("reading data")
    t3 = read_survey(_resolve(base, _need(data_cfg, "tier3", "data")))
    t1 = read_survey(_resolve(base, _need(data_cfg, "tier1", "data")))
    w_cfg = _need(cfg, "weighting", "root")
    variables = list(_need(w_cfg, "variables", "weighting"))
    target_spec = w_cfg.get("targets", "bundled:england")
    if target_spec in ("bundled:england", "england"):
        targets = datasets.england_adult_targets(variables)
    else:
        targets = Targets.from_csv(_resolve(base, target_spec)).select(variables)
    say(f"weighting Tier 3 ({len(t3)} rows) to {len(variables)} margins")
    d3_0 = SurveyDesign(t3, weights=data_cfg.get("tier3_weights"))
    method = w_cfg.get("method", "rake")
    if method == "rake":
        d3 = rake(d3_0, targets, cap=w_cfg.get("cap"))
    else:
        bounds = tuple(w_cfg["bounds"]) if "bounds" in w_cfg else None
        d3 = calibrate(d3_0, targets, method=method, bounds=bounds)
    wr = d3.weighting_report
    assert wr is not None
    wr.to_frame().to_csv(out / "weighting_summary.csv", index=False, float_format="%.10g")
    wr.margins().to_csv(out / "weighting_margins.csv", index=False, float_format="%.10g")
    (out / "weighting_report.txt").write_text(str(wr) + "\n")
    files += [out / "weighting_summary.csv", out / "weighting_margins.csv", out / "weighting_report.txt"]
    d1 = SurveyDesign(t1, ids=data_cfg.get("tier1_cluster"), weights=data_cfg.get("tier1_weights"))

    rep.heading("Weighting")
    rep.para(
        f"Tier 3 ({wr.n:,} respondents) was {'raked' if method == 'rake' else 'calibrated'} to "
        f"population margins for {', '.join(variables)} "
        f"({'converged' if wr.converged else 'NOT converged'} after {wr.iterations} iterations; "
        f"largest margin error {wr.max_margin_error:.1e}). Kish design effect of the weights "
        f"{wr.kish_deff:.2f}, effective sample size {wr.kish_n_eff:,.0f}; weights range from "
        f"{wr.weight_min:.2f} to {wr.weight_max:.2f}."
    )
    p = plot_weights(d3)
    rep.image(_save_chart(p, out, "weights", files, 7, 4), alt_text(p))
    p = plot_margins(d3)
    rep.image(_save_chart(p, out, "margins", files, 10, 9), alt_text(p))

    # ---------------------------------------------------------------- headline estimates
    say("headline estimates")
    level = float(cfg.get("estimation", {}).get("level", 0.95))
    ci_method = cfg.get("estimation", {}).get("ci_method", "logit")
    head_rows = []
    for h in cfg.get("headline", []):
        q, cat = h["question"], h.get("category")
        if cat is None:
            e = mean(d3, q, level=level, na="drop").to_frame().iloc[0]
            head_rows.append({"question": q, "category": "(mean)", "estimate": round(e["estimate"], 4),
                              "ci_lower": round(e["ci_lower"], 4), "ci_upper": round(e["ci_upper"], 4),
                              "n": int(e["n"]), "published": h.get("published", "")})
            continue
        fr = proportion(d3, q, level=level, ci_method=ci_method, na="drop").to_frame().set_index("category")
        if cat not in fr.index:
            raise DelibpollError(f"Headline category {cat!r} is not a category of '{q}'.")
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
        shown = headline.assign(
            estimate=[_fmt_pct(v) if c != "(mean)" else f"{v:.2f}" for v, c in zip(headline.estimate, headline.category, strict=True)],
            ci=[f"{_fmt_pct(a)} to {_fmt_pct(b)}" if c != "(mean)" else f"{a:.2f} to {b:.2f}"
                for a, b, c in zip(headline.ci_lower, headline.ci_upper, headline.category, strict=True)],
        )[["question", "category", "estimate", "ci", "n", "published"]]
        rep.table(shown, f"Weighted estimates with {level:.0%} confidence intervals ({ci_method}); n = unweighted base.")
        first = headline.iloc[0]
        head_est = proportion(d3, first["question"], level=level, ci_method=ci_method, na="drop")
        p = plot_estimates(head_est, title=f"{first['question']} (Tier 3, weighted)")
        rep.image(_save_chart(p, out, "headline", files, 7, 4), alt_text(p))

    # ---------------------------------------------------------------- representativeness
    say("representativeness")
    rep_vars = list(cfg.get("representativeness", {}).get("variables", variables))
    pop_t = targets.select([v for v in rep_vars if v in variables])
    r3 = representativeness(d3, pop_t)
    r1 = representativeness(d1, pop_t)
    r13 = representativeness(d1, Targets.from_design(d3, rep_vars))
    for name, rr in (("tier3_vs_population", r3), ("tier1_vs_population", r1), ("tier1_vs_tier3", r13)):
        rr.to_frame().to_csv(out / f"representativeness_{name}.csv", index=False, float_format="%.6g")
        rr.tests.to_csv(out / f"representativeness_{name}_tests.csv", index=False, float_format="%.6g")
        files += [out / f"representativeness_{name}.csv", out / f"representativeness_{name}_tests.csv"]
    rep.heading("Representativeness")
    worst = r1.to_frame().assign(gap=lambda f: (f["unweighted_share"] - f["target_share"]).abs()).sort_values("gap").iloc[-1]
    rep.para(
        f"Tier 1 ({d1.n} participants) is not a random sample. Its largest departure from the "
        f"population is {worst['variable']} '{worst['category']}': "
        f"{_fmt_pct(worst['unweighted_share'])} of participants against "
        f"{_fmt_pct(worst['target_share'])} of adults. Full tables: representativeness_*.csv."
    )
    tests = r1.tests[r1.tests["test"].str.startswith("Pearson")][["variable", "statistic", "df_num", "p_value"]].round(4)
    rep.table(tests, "Tier 1 profile against the population (Pearson chi-square on unweighted counts)")

    # ---------------------------------------------------------------- tier comparison
    comp_cfg = cfg.get("comparison", {})
    questions = {q: (v["before"], v["after"]) for q, v in comp_cfg.get("questions", {}).items()}
    if questions:
        say(f"comparing tiers on {len(questions)} questions")
        qc = compare_questions(
            d1, d3, questions, adjust=comp_cfg.get("multiplicity", "holm"),
            categories=comp_cfg.get("categories"), equivalence_margin=comp_cfg.get("equivalence_margin"),
            adjust_for=comp_cfg.get("adjust_for"),
        )
        fr = qc.to_frame()
        fr.to_csv(out / "tier_comparison.csv", index=False, float_format="%.6g")
        files.append(out / "tier_comparison.csv")
        res.tables["tier_comparison"] = fr
        rep.heading("Informed (Tier 1) and uninformed (Tier 3) views")
        rep.para(qc.note)
        rep.para(
            f"{qc.n_tests} questions were tested (one test per question, {qc.adjust} adjusted); "
            f"{qc.n_significant} differ significantly. Without adjustment about "
            f"{qc.expected_false_positives:.1f} would be expected to by chance at the "
            f"{qc.alpha} level. A non-significant gap is not agreement: agreement is shown only "
            "where the equivalence test (p_equivalence) is significant."
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
    arm = cfg.get("information_arm")
    if arm:
        say("information-arm effect")
        var, q, cat = arm["variable"], arm["question"], arm["category"]
        treated, control = arm["treated"], arm["control"]
        est = proportion(d3, q, by=var, level=level, na="drop")
        arm_c = contrast(est, {f"{treated} - {control}": {(treated, cat): 1, (control, cat): -1}}).to_frame()
        arm_frame = est.to_frame()
        arm_frame.to_csv(out / "information_arm.csv", index=False, float_format="%.6g")
        arm_c.to_csv(out / "information_arm_contrast.csv", index=False, float_format="%.6g")
        files += [out / "information_arm.csv", out / "information_arm_contrast.csv"]
        rep.heading("Information arm (randomised, Tier 3)")
        r = arm_c.iloc[0]
        sh = arm_frame[arm_frame["category"] == cat].set_index(var)["estimate"]
        rep.para(
            f"'{cat}' to {q}: {_fmt_pct(sh[control])} in the {control} arm and "
            f"{_fmt_pct(sh[treated])} in the {treated} arm; difference {100 * r['estimate']:+.1f} "
            f"points ({level:.0%} CI {100 * r['ci_lower']:+.1f} to {100 * r['ci_upper']:+.1f}; "
            f"p = {r['p_value']:.3g}). The arms were randomised, so this difference is causal."
        )
        t1q = arm.get("tier1_question")
        if t1q:
            t1_share = proportion(d1, t1q, level=level, na="drop").to_frame().set_index("category").loc[cat]
            rep.para(
                f"Tier 1 after deliberation: {_fmt_pct(t1_share['estimate'])} '{cat}' "
                f"({_fmt_pct(t1_share['ci_lower'])} to {_fmt_pct(t1_share['ci_upper'])}), against "
                f"{_fmt_pct(sh[control])} in the Tier 3 {control} arm (descriptive comparison)."
            )

    # ---------------------------------------------------------------- banner tables
    b_cfg = cfg.get("banner")
    if b_cfg:
        say("banner tables")
        rows: list[Any] = list(b_cfg.get("rows", []))
        for name, cols_ in b_cfg.get("multi_response", {}).items():
            rows.append({name: list(cols_)})
        table = banner(
            d3, rows, list(b_cfg["columns"]), sig_level=b_cfg.get("sig_level", 0.05),
            adjust=b_cfg.get("adjust", "none"), min_base=b_cfg.get("min_base", 50),
            suppress_below=b_cfg.get("suppress_below"), nets=b_cfg.get("nets"),
            exclude=b_cfg.get("exclude"), decimals=b_cfg.get("decimals", 0),
        )
        table.to_excel(out / "banner_tables.xlsx", title=title, source=cohort.get("source", ""))
        (out / "banner_tables.html").write_text(table.to_html())
        (out / "banner_tables.md").write_text(table.to_markdown())
        table.to_csv(out / "banner_tables.csv")
        files += [out / f"banner_tables.{e}" for e in ("xlsx", "html", "md", "csv")]
        rep.heading("Banner tables")
        rep.para(f"{len(table.questions)} questions by {', '.join(b_cfg['columns'])}: banner_tables.xlsx (accessible spreadsheet), .html, .md and .csv.")

    # ---------------------------------------------------------------- methods
    rep.heading("Methods")
    rep.para(
        "Weighting: iterative proportional fitting (raking) to the population margins, converged "
        "when every weighted share is within 1e-10 of its target. Estimates: weighted "
        "proportions and means with Taylor-linearised standard errors that account for the "
        "raking (as R's survey package), t-based confidence intervals on the design degrees of "
        "freedom. Tier 1 standard errors are clustered by discussion group. Tier comparisons are "
        "descriptive: difference SEs combine each tier's own SE, with Welch-Satterthwaite "
        "degrees of freedom; the difference is split exactly into the change during deliberation "
        "and the baseline gap before it; the composition-adjusted gap reweights Tier 1 to Tier 3's "
        "weighted profile, and the adjusted baseline gap is a placebo check. Multiplicity is "
        "controlled with one test per question. Banner letters compare columns within a banner "
        "variable with design-based t tests."
    )
    if cohort.get("synthetic", False):
        rep.para("Data: SYNTHETIC example data (see data/example/README.md); population targets from ONS (data/population/README.md).")
    (out / "report.md").write_text("\n".join(rep.md))
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4} table.report{border-collapse:collapse;margin:1em 0} table.report td,table.report th{border:1px solid #ccc;padding:.25em .5em}"
    (out / "report.html").write_text(
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(rep.html) + "\n</body></html>\n"
    )
    files += [out / "report.md", out / "report.html"]
    say(f"wrote {len(files)} files to {out}")
    return res
