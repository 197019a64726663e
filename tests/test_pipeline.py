"""Tests for delibpoll.pipeline: the cohort pipeline writes the full report, deterministically,
and its numbers are the estimators' numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import delibpoll as dp
from delibpoll import DelibpollError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "analyses" / "cohort1.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dp.PipelineResult:
    # the example config rakes on education with merged small categories, which are then not
    # balanced one by one: compare_tiers says so; and the synthetic drop-outs from the second
    # knowledge quiz knew less before deliberation: attrition says so (issue #17)
    with pytest.warns(dp.WeightingWarning, match="ASMD above 0.1"), \
            pytest.warns(dp.AttritionWarning, match="related to the pre answers"):
        return dp.run_config(CONFIG, output=tmp_path_factory.mktemp("out"))


def test_full_report_written(run: dp.PipelineResult) -> None:
    out = run.output
    for name in ["report.md", "report.html", "weighting_report.txt", "headline_estimates.csv",
                 "tier_comparison.csv", "information_arm_contrast.csv", "banner_tables.xlsx",
                 "banner_tables.html", "banner_tables.md", "charts/weights.png", "charts/margins.svg",
                 "charts/tiers_dumbbell.png", "representativeness_tier1_vs_tier3.csv"]:
        assert (out / name).exists(), name
    md = (out / "report.md").read_text()
    assert "SYNTHETIC" in md and "## Methods" in md and "non-randomised" in md
    assert "<img src='charts/weights.png' alt='Histogram" in (out / "report.html").read_text()


def test_headline_numbers_are_the_estimators(run: dp.PipelineResult) -> None:
    t3 = dp.datasets.load_example(3)
    raked = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), cap=6.0)
    e = dp.proportion(raked, "q_pact").to_frame().set_index("category").loc["Increase confidence"]
    # synthetic data: each CSV starts with the one comment line, which pandas skips so
    h = pd.read_csv(run.output / "headline_estimates.csv", skiprows=1)
    row = h[(h.question == "q_pact") & (h.category == "Increase confidence")].iloc[0]
    assert row["estimate"] == round(e["estimate"], 4)
    assert row["ci_lower"] == round(e["ci_lower"], 4)
    tc = pd.read_csv(run.output / "tier_comparison.csv", skiprows=1)
    assert (abs(tc["difference"] - tc["deliberation_change"] - tc["baseline_gap"]) < 1e-5).all()


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text(
        f"""[cohort]
title = "Small"
synthetic = true
[data]
tier3 = "{ROOT / 'data/example/tier3.csv'}"
tier1 = "{ROOT / 'data/example/tier1.csv'}"
tier1_cluster = "group_id"
[weighting]
variables = ["sex", "age_group"]
[[headline]]
question = "q_pact"
category = "Increase confidence"
[comparison.questions.q_pact]
before = "q_pact_pre"
after = "q_pact_post"
[banner]
rows = ["q_pact"]
columns = ["sex"]
"""
    )
    a = dp.run_config(cfg, output=tmp_path / "a")
    b = dp.run_config(cfg, output=tmp_path / "b")
    for f in a.files:
        rel = f.relative_to(a.output)
        assert f.read_bytes() == (b.output / rel).read_bytes(), rel


def test_bad_config(tmp_path: Path) -> None:
    with pytest.raises(DelibpollError, match="does not exist"):
        dp.run_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[cohort\n")
    with pytest.raises(DelibpollError, match="not valid TOML"):
        dp.run_config(bad)
    bad.write_text("[cohort]\ntitle='x'\n")
    with pytest.raises(DelibpollError, match=r"needs a \[data\] section"):
        dp.run_config(bad, output=tmp_path / "o")


# ---------------------------------------------------------------------- generated prose
# Every sentence of the report must state what was done and measured (issue #12 item 13).
# The numbers are checked against an outside computation: the share errors, the weights at
# the cap and the adjustment-factor range are recomputed here with numpy from the written
# weights (tier3_weights.csv), the raw data file and the ONS target shares.

T3_CSV = ROOT / "data" / "example" / "tier3.csv"
T1_CSV = ROOT / "data" / "example" / "tier1.csv"
VARS = ["sex", "age_group", "region"]


def _small_config(tmp_path: Path, weighting: str, extra: str = "", name: str = "c") -> Path:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(
        f"""[cohort]
title = "Prose check"
[data]
tier3 = "{T3_CSV}"
tier1 = "{T1_CSV}"
[weighting]
variables = {VARS!r}
{weighting}
[[headline]]
question = "q_pact"
category = "Increase confidence"
{extra}
""".replace("'", '"')
    )
    return cfg


def _methods(md: str) -> str:
    return md.split("## Methods", 1)[1]


def _outside_check(out: Path) -> tuple[np.ndarray, float]:
    """The final weights as written, and the largest |weighted share - target share| over the
    weighting margins, recomputed with numpy from the raw data and the ONS targets."""
    w = pd.read_csv(out / "tier3_weights.csv")["weight"].to_numpy()
    data = pd.read_csv(T3_CSV, keep_default_na=False)
    ons = pd.read_csv(ROOT / "data" / "population" / "england_adult_targets.csv")
    worst = 0.0
    for v in VARS:
        t = ons[ons["variable"] == v].set_index("category")["target"].astype(float)
        t = t / t.sum()
        codes = data[v].to_numpy()
        for cat, share in t.items():
            worst = max(worst, abs(float(w[codes == cat].sum() / w.sum()) - float(share)))
    return w, worst


def _stated_share_error(md: str) -> float:
    m = re.search(r"largest share error of ([0-9.e+-]+)", _methods(md))
    assert m, "the Methods must state the largest share error reached"
    return float(m.group(1))


def test_prose_states_the_cap_and_the_weights_at_it(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, "method = 'rake'\ncap = 2.4".replace("'", '"')),
                        output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    w, worst = _outside_check(out)
    cap_value = 2.4 * w.mean()
    at_cap = int(np.sum(w >= cap_value * (1 - 1e-9)))
    assert at_cap > 0 and w.max() <= cap_value * (1 + 1e-9)  # the cap binds: a real test
    methods = _methods(md)
    assert "capped at 2.4 times the mean weight" in methods
    assert f"{at_cap} of the {len(w):,} weights are at the cap" in methods
    assert "no weights were trimmed" in methods
    # stated share error = the one recomputed from the weights (2 significant digits shown)
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)
    assert worst < 1e-10
    # consistency with the design's own report (same run)
    margins = pd.read_csv(out / "weighting_margins.csv")
    assert _stated_share_error(md) == pytest.approx(margins["error"].abs().max(), rel=0.05)
    assert "capped weights are treated as raked" in methods
    assert "within 0.0000000001 of its target share" in methods  # rake's stopping rule, as logged


def test_prose_without_cap_says_nothing_was_capped(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, ""), output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    methods = _methods(md)
    w, worst = _outside_check(out)
    assert "capped" not in methods and "no cap, bounds or trimming was applied" in methods.lower()
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)
    n_iter = int(pd.read_csv(out / "weighting_summary.csv").set_index("statistic").loc["iterations", "value"])
    assert f"converged after {n_iter} iterations" in methods
    # no clusters were declared for Tier 1: the text must not claim clustering
    assert "rows treated as independent" in methods.split("Tier 1 standard errors", 1)[1]
    assert "clustered" not in methods


def test_prose_of_linear_calibration(tmp_path: Path) -> None:
    out = dp.run_config(_small_config(tmp_path, "method = 'linear'".replace("'", '"')),
                        output=tmp_path / "o").output
    md = (out / "report.md").read_text(encoding="utf-8")
    methods = _methods(md)
    w, worst = _outside_check(out)
    assert "calibrated (calibration function 'linear'" in methods
    assert "raked" not in methods and "raking" not in methods
    assert "accounting for the calibration" in methods
    assert _stated_share_error(md) == pytest.approx(worst, rel=0.05, abs=1e-13)


def test_prose_of_bounded_logit_calibration(tmp_path: Path) -> None:
    out = dp.run_config(
        _small_config(tmp_path, "method = 'logit'\nbounds = [0.7, 2.4]".replace("'", '"')),
        output=tmp_path / "o",
    ).output
    methods = _methods((out / "report.md").read_text(encoding="utf-8"))
    w, _ = _outside_check(out)
    g = w / 1.0  # equal starting weights
    assert 0.7 - 1e-9 <= g.min() and g.max() <= 2.4 + 1e-9
    assert "bounded to [0.7, 2.4]" in methods
    assert f"ranges from {g.min():.4g} to {g.max():.4g}" in methods


def test_prose_of_comparison_and_arm_follows_the_config(tmp_path: Path) -> None:
    extra = """[data_extra]
[comparison]
multiplicity = "none"
[comparison.questions.q_pact]
before = "q_pact_pre"
after = "q_pact_post"
[information_arm]
variable = "info_arm"
treated = "Reassured"
control = "Control"
question = "q_charge"
category = "Wrong"
"""
    cfg = _small_config(tmp_path, "", extra.replace("[data_extra]\n", ""))
    cfg.write_text(cfg.read_text().replace('tier1 = "', 'tier1_cluster = "group_id"\ntier1 = "'))
    md = (dp.run_config(cfg, output=tmp_path / "a").output / "report.md").read_text(encoding="utf-8")
    assert "causal" not in md and "randomised, Tier 3" not in md
    assert "not declare them randomised" in md
    assert "no multiplicity adjustment" in md and "agreement was not tested" in md
    assert "composition-adjusted" not in md  # no adjust_for in this config
    n_groups = pd.read_csv(T1_CSV)["group_id"].nunique()
    assert f"clustered by group_id ({n_groups} clusters)" in md
    # declaring the randomisation changes the wording, and only then
    cfg.write_text(cfg.read_text().replace('category = "Wrong"', 'category = "Wrong"\nrandomised = true'))
    md2 = (dp.run_config(cfg, output=tmp_path / "b").output / "report.md").read_text(encoding="utf-8")
    assert "declares the arms randomised" in md2 and "causal effect" in md2


# ---------------------------------------------------------------------- the config schema (#15)
T3_CSV = ROOT / "data" / "example" / "tier3.csv"
T1_CSV = ROOT / "data" / "example" / "tier1.csv"
AGENCY = ROOT / "data" / "example" / "agency_wave1.sav"
AGENCY_MAP = ROOT / "data" / "example" / "agency_wave1_mapping.toml"
BASE = f'[data]\ntier3 = "{T3_CSV}"\ntier1 = "{T1_CSV}"\n[weighting]\nvariables = ["sex"]\n'


def _cfg(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "capp = 3.0\n", "[weighting] has an unknown key 'capp'; did you mean cap?"),
    (BASE + '[baner]\ncolumns = ["sex"]\n', "Unknown section [baner]; did you mean [banner]?"),
    (BASE + '[cohort]\ntitel = "x"\n', "[cohort] has an unknown key 'titel'; did you mean title?"),
    (BASE + '[[headline]]\nquestion = "q_pact"\ncatgory = "x"\n',
     "[[headline]] number 1 has an unknown key 'catgory'; did you mean category?"),
    (BASE + '[comparison.questions.q_pact]\nbefore = "a"\nafer = "b"\n',
     "[comparison.questions.q_pact] has an unknown key 'afer'; did you mean after?"),
    (BASE + '[banner]\ncolumns = ["sex"]\nlayout = "fancy"\n',
     "[banner] layout must be one of ['accessible', 'classic']; got 'fancy'."),
    (BASE + '[mapping]\n[mapping.renam]\ngender = "sex"\n', "[mapping]: [mapping] is not valid"),
    (BASE + '[mapping]\nfile = "m.toml"\n[mapping.rename]\ngender = "sex"\n',
     "[mapping] has file = ... and inline tables; use one or the other."),
    (BASE + '[labels]\nq_pact = 5\n', "[labels]"),
    (BASE.replace(f'tier1 = "{T1_CSV}"\n', "") + '[information_arm]\nvariable = "info_arm"\n'
     'question = "q_charge"\ncategory = "Wrong"\ntreated = "Reassured"\ncontrol = "Control"\n'
     'tier1_question = "q_charge_post"\n', "[information_arm] tier1_question needs Tier 1 data"),
])
def test_config_schema_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DelibpollError) as info:
        dp.pipeline.load_config(_cfg(tmp_path, text))
    assert message in str(info.value)


def test_config_errors_all_together(tmp_path: Path) -> None:
    text = BASE + "capp = 3.0\n" + '[baner]\ncolumns = ["sex"]\n' + "[estimation]\nlevel = 95\n"
    with pytest.raises(DelibpollError) as info:
        dp.run_config(_cfg(tmp_path, text), output=tmp_path / "out")
    msg = str(info.value)
    assert msg.startswith(f"Config file '{tmp_path / 'c.toml'}' has 3 problems:\n  - ")
    assert "capp" in msg and "[baner]" in msg and "level must be a number in (0, 1)" in msg
    assert not (tmp_path / "out").exists()


def test_banner_row_typo_reported_before_anything_is_written(tmp_path: Path) -> None:
    text = BASE + '[banner]\nrows = ["q_pactt"]\ncolumns = ["sex", "age_grup"]\n'
    with pytest.raises(DelibpollError) as info:
        dp.run_config(_cfg(tmp_path, text), output=tmp_path / "out")
    msg = str(info.value)
    assert "[banner] rows names 'q_pactt', which is not a column of the Tier 3 data (tier3.csv); did you mean 'q_pact'?" in msg
    assert "[banner] columns names 'age_grup'" in msg and "did you mean 'age_group'?" in msg
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial-*"))


def test_config_object_gains_mapping_labels_synthetic_layout(tmp_path: Path) -> None:
    text = (f'[cohort]\nsynthetic = true\n[data]\ntier3 = "{AGENCY}"\n[mapping]\nfile = "{AGENCY_MAP}"\n'
            '[weighting]\nvariables = ["sex"]\n[banner]\ncolumns = ["sex"]\nlayout = "classic"\n'
            '[labels]\nq_pact = "Data Pact"\n')
    cfg = dp.pipeline.load_config(_cfg(tmp_path, text))
    assert cfg.cohort.synthetic is True
    assert cfg.banner is not None and cfg.banner.layout == "classic"
    assert cfg.labels == {"q_pact": "Data Pact"}
    assert cfg.mapping == dp.mapping.Mapping.from_toml(AGENCY_MAP)
    assert cfg.data.tier1 is None
    default = dp.pipeline.load_config(_cfg(tmp_path, BASE + '[banner]\ncolumns = ["sex"]\n'))
    assert default.cohort.synthetic is False and default.banner is not None
    assert default.banner.layout == "accessible" and default.mapping is None and default.labels is None
    # the mapping is applied to Tier 3 when it is read
    data = dp.pipeline.read_data(cfg)
    assert "sex" in data.tier3 and "gender" not in data.tier3 and data.tier1 is None


def test_mapping_that_leaves_a_mismatch_names_the_fix_line(tmp_path: Path) -> None:
    text = (f'[data]\ntier3 = "{AGENCY}"\n[mapping.rename]\ngender = "sex"\n'
            '[weighting]\nvariables = ["sex"]\n')
    with pytest.raises(DelibpollError) as info:
        dp.run_config(_cfg(tmp_path, text), output=tmp_path / "out")
    msg = str(info.value)
    assert "after [mapping], The data do not match the targets" in msg
    assert 'fix: [recode.sex] "Man" = "Male"' in msg
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- publishable outputs (#14)
from html.parser import HTMLParser  # noqa: E402

from delibpoll._format import scientific_notation  # noqa: E402

VARIABLE_NAMES = ["q_pact", "q_charge", "q_committee", "trust_nhs", "age_group", "info_arm"]
_VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Balance(HTMLParser):
    """Checks that every element is closed in order (a standalone, well-formed page)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _docx_text(path: Path) -> tuple[str, object]:
    import docx

    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        parts += [c.text for row in t.rows for c in row.cells]
    return "\n".join(parts), doc


def test_report_is_written_in_words_without_scientific_notation(run: dp.PipelineResult) -> None:
    out = run.output
    md = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    text, _ = _docx_text(out / "report.docx")
    for body in (md, page, text):
        assert scientific_notation(body) == []
        for name in VARIABLE_NAMES:
            assert not re.search(rf"\b{name}\b", body), name
    # the question wording from the file's labels, in the plain style of a published report
    assert ("Would a Data Pact increase or decrease your confidence in how the NHS uses data?"
            in md)
    t3 = dp.datasets.load_example(3)
    raked = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), cap=6.0)
    e = dp.proportion(raked, "q_pact").to_frame().set_index("category").loc["Increase confidence"]
    pct = [f"{100 * e[k]:.0f}%" for k in ("estimate", "ci_lower", "ci_upper")]
    assert (f"{pct[0]} (95% CI {pct[1]} to {pct[2]}) of Tier 3 respondents answered "
            "'Increase confidence'") in md


def test_tier_table_has_labelled_columns_and_names_the_tested_answer(run: dp.PipelineResult) -> None:
    md = (run.output / "report.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| Question | Answer | Tier 1 before"))
    assert header.split(" | ")[2:] == ["Tier 1 before", "Tier 1 after", "Tier 3", "Difference (pts)",
                                       "95% CI (pts)", "Adjusted p |"]
    decomp = next(line for line in md.splitlines() if "Change during deliberation" in line)
    assert "Gap before deliberation (pts)" in decomp and "Equivalence p" in decomp
    for answer in ("Increase confidence (tested)", "Wrong (tested)", "Central committee (tested)"):
        assert f"| {answer} |" in md
    # every table fits an A4 page: at most 8 columns
    for line in md.splitlines():
        if line.startswith("|---"):
            assert line.count("---") <= 8
    # the equivalence the prose refers to is shown in a table
    assert "'Equivalence p' in Table" in md


def test_html_report_is_standalone_and_well_formed(run: dp.PipelineResult) -> None:
    page = (run.output / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n<html lang='en'>")
    parser = _Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    tags = [t for t, _ in parser.tags]
    assert {"meta", "title", "style", "caption", "figcaption"} <= set(tags)
    assert any(a.get("charset") == "utf-8" for t, a in parser.tags if t == "meta")
    imgs = [a for t, a in parser.tags if t == "img"]
    assert imgs and all(a.get("alt") for a in imgs)
    assert all((run.output / str(a["src"])).is_file() for a in imgs)
    assert all(a.get("scope") in ("col", "row") for t, a in parser.tags if t == "th")


def test_word_report_has_real_tables_and_embedded_charts(run: dp.PipelineResult) -> None:
    text, doc = _docx_text(run.output / "report.docx")
    md = (run.output / "report.md").read_text(encoding="utf-8")
    n_tables = len(re.findall(r"^\*\*Table \d+", md, flags=re.M))
    n_figures = len(re.findall(r"^\*\*Figure \d+", md, flags=re.M))
    assert len(doc.tables) == n_tables >= 4  # type: ignore[attr-defined]
    shapes = doc.inline_shapes  # type: ignore[attr-defined]
    assert len(shapes) == n_figures >= 4
    for s in shapes:
        assert s._inline.docPr.get("descr")  # alt text on every chart
    first = doc.tables[2]  # type: ignore[attr-defined]
    assert first.rows[0]._tr.trPr.xml.count("tblHeader") == 1  # header repeats on each page


def test_synthetic_data_are_marked_in_every_output(run: dp.PipelineResult) -> None:
    out = run.output
    for f in sorted(out.glob("*.csv")):
        if f.name.startswith("banner_"):
            continue  # the banner exporters' files (their own issue)
        assert f.read_text(encoding="utf-8").startswith("# SYNTHETIC DATA:"), f.name
        pd.read_csv(f, skiprows=1)  # still reads as data after the comment line
    assert (out / "weighting_report.txt").read_text(encoding="utf-8").startswith("SYNTHETIC DATA:")
    md = (out / "report.md").read_text(encoding="utf-8")
    tables = re.findall(r"^\*\*Table \d+.*?(?=^\*\*(?:Table|Figure) |^## |\Z)", md, flags=re.M | re.S)
    assert tables and all("SYNTHETIC DATA" in t for t in tables)
    alts = re.findall(r"!\[([^\]]*)\]\(charts/", md)
    assert alts and all("SYNTHETIC DATA" in a for a in alts)
    text, doc = _docx_text(out / "report.docx")
    assert doc.sections[0].header.paragraphs[0].text.startswith("SYNTHETIC DATA")  # type: ignore[attr-defined]


def test_console_summary_says_synthetic(tmp_path: Path) -> None:
    said: list[str] = []
    with pytest.warns(dp.WeightingWarning, match="ASMD above 0.1"), \
            pytest.warns(dp.AttritionWarning):  # the example's education and drop-outs
        dp.run_config(CONFIG, output=tmp_path / "o", progress=said.append)
    assert said[0].startswith("SYNTHETIC DATA") and "SYNTHETIC DATA" in said[-1]
    assert all(scientific_notation(s) == [] for s in said)


def test_charts_are_300_dpi_and_a4_wide(run: dp.PipelineResult) -> None:
    from PIL import Image

    for name in ("weights", "margins", "tiers_dumbbell"):
        with Image.open(run.output / "charts" / f"{name}.png") as im:
            dpi = im.info["dpi"]
            assert round(dpi[0]) == 300
            assert im.size[0] / dpi[0] == pytest.approx(6.3, abs=0.02)  # 16 cm


# ---------------------------------------------------------------------- deliberative sections (#17)
# The knowledge, balance, attrition, group-dynamics and control sections print the results of
# learning, balance (through compare_tiers), attrition, group_dynamics and
# difference_in_differences. Those functions are checked against R and hand-worked formulas
# in tests/test_knowledge.py, test_balance.py, test_attrition.py, test_dynamics.py and
# test_control.py; here the pipeline's numbers are checked to be the library's on the same
# inputs (a consistency check), and the knowledge scores and the difference in differences
# once more against formulas worked with numpy from the raw files (an outside check).
T1_SAV = ROOT / "data" / "example" / "tier1.sav"
CONTROL_SAV = ROOT / "data" / "example" / "control.sav"
from delibpoll.pipeline import load_config  # noqa: E402

KNOW_PRE = [f"know_{i}_pre" for i in range(1, 7)]
KNOW_POST = [f"know_{i}_post" for i in range(1, 7)]
KEY = ["False", "True", "True", "False", "A data access committee", "About 1 in 20"]
CHANCE = [0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


def _tier1_designs() -> tuple[dp.SurveyDesign, np.ndarray]:
    """Tier 1 as the pipeline builds it (clustered by discussion group), and who took the
    second quiz (the config's [attrition] status = "post_quiz", completed = "Completed")."""
    t1 = dp.read_survey(T1_SAV)
    return dp.SurveyDesign(t1, ids="group_id"), (t1["post_quiz"] == "Completed").to_numpy()


def _learning() -> dp.deliberative.Learning:
    d1, done = _tier1_designs()
    return dp.learning(d1.with_fixed_weights(d1.weight_array * done), KNOW_PRE, KNOW_POST,
                       key=KEY, chance=CHANCE, dont_know=["Don't know"], by="sex")


def _csv_of(run: dp.PipelineResult, name: str) -> pd.DataFrame:
    return pd.read_csv(run.output / name, skiprows=1)  # the synthetic-data comment line


def test_knowledge_section_is_learning_of_the_completers(run: dp.PipelineResult) -> None:
    lrn = _learning()
    got = _csv_of(run, "knowledge_learning.csv")
    want = lrn.to_frame()
    for col in ("before", "after", "gain", "se", "ci_lower", "ci_upper", "p_value", "n"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-5)  # CSV keeps 6 digits
    np.testing.assert_allclose(got["alpha_before"].iloc[0], lrn.alpha_before, rtol=1e-5)
    items = _csv_of(run, "knowledge_items.csv")
    np.testing.assert_allclose(items["gain"], lrn.item_frame()["gain"], rtol=1e-5, atol=1e-12)
    gaps = _csv_of(run, "knowledge_gaps.csv")
    np.testing.assert_allclose(gaps["estimate"], lrn.gap_frame()["estimate"], rtol=1e-5)
    # outside check: the scores worked by hand from the raw answers and the key
    t1 = dp.read_survey(T1_SAV)
    done = (t1["post_quiz"] == "Completed").to_numpy()
    pre = np.column_stack([(t1[c].astype(object) == k).to_numpy() for c, k in zip(KNOW_PRE, KEY, strict=True)])
    post = np.column_stack([(t1[c].astype(object) == k).to_numpy() for c, k in zip(KNOW_POST, KEY, strict=True)])
    gain = post.mean(axis=1) - pre.mean(axis=1)
    assert got["gain"].iloc[0] == pytest.approx(gain[done].mean(), rel=1e-5)
    assert got["n"].iloc[0] == done.sum() == 93
    md = (run.output / "report.md").read_text(encoding="utf-8")
    s = want.set_index("measure").loc["score"]
    assert (f"the mean share of items answered correctly was {100 * s['before']:.0f}% before and "
            f"{100 * s['after']:.0f}% after: a change of +{100 * s['gain']:.0f} pts") in md
    assert f"Cronbach's alpha of the quiz was {lrn.alpha_before:.2f} before" in md
    assert "describes the change, not its cause" in md


def test_balance_section_is_the_comparisons_balance(run: dp.PipelineResult) -> None:
    t3 = dp.datasets.load_example(3)
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), cap=6.0)
    d1, _ = _tier1_designs()
    with pytest.warns(dp.WeightingWarning, match="ASMD above 0.1"):
        comp = dp.compare_tiers(d1, d3, "q_pact", before="q_pact_pre", after="q_pact_post",
                                adjust_for=["age_group", "education"], method="raking",
                                balance_threshold=0.1)
    assert comp.balance is not None
    want = comp.balance.to_frame()
    got = _csv_of(run, "balance.csv")
    for col in ("uninformed", "informed", "asmd_before", "informed_adjusted", "asmd_after"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-5, atol=1e-9)
    md = (run.output / "report.md").read_text(encoding="utf-8")
    above = int((want["asmd_after"] > 0.1).sum())
    assert above >= 1 and f"after it, {above} did" in md
    assert "Warning: balance was not achieved." in md  # the ASMD > 0.1 line
    assert f"{comp.balance.n_eff_after:.1f} after the adjustment" in md
    assert (run.output / "charts" / "balance.png").exists()
    assert "<img src='charts/balance.png' alt='Love plot" in (run.output / "report.html").read_text()


def test_attrition_section_is_attrition_of_the_knowledge_score(run: dp.PipelineResult) -> None:
    d1, done = _tier1_designs()
    sc = _learning().scores
    design = d1.with_columns({"knowledge_score_before": sc["score_before"],
                              "knowledge_score_after": sc["score_after"].where(done)})
    with pytest.warns(dp.AttritionWarning, match="related to the pre answers"):
        a = dp.attrition(design, "knowledge_score_before", "knowledge_score_after",
                         adjust_for=["sex"])
    got = _csv_of(run, "attrition.csv")
    np.testing.assert_allclose(got["estimate"], a.to_frame()["estimate"], rtol=1e-5)
    np.testing.assert_allclose(got["se"], a.to_frame()["se"], rtol=1e-5)
    rates = _csv_of(run, "attrition_rates.csv")
    np.testing.assert_allclose(rates["rate"], a.rate_frame()["rate"], rtol=1e-5)
    assert rates["rate"].iloc[0] == pytest.approx((~done).mean(), rel=1e-5)  # 8 of 101
    md = (run.output / "report.md").read_text(encoding="utf-8")
    assert "Knowledge score: 8 of the 101 participants who answered before deliberation did not answer after" in md
    assert "Warning (knowledge score): those who dropped out answered differently" in md


def test_dynamics_section_is_group_dynamics(run: dp.PipelineResult) -> None:
    d1, _ = _tier1_designs()
    got = _csv_of(run, "group_dynamics.csv")
    g = dp.group_dynamics(d1, "trust_nhs_pre", "trust_nhs_post", group="group_id")
    mine = got[got["measure_name"] == "trust_nhs"].reset_index(drop=True)
    np.testing.assert_allclose(mine["estimate"], g.to_frame()["estimate"], rtol=1e-5)
    # a categorical question enters as 1/0 for its declared answer
    t1 = d1.with_columns({
        "b": (d1.column("q_pact_pre") == "Increase confidence").astype(float),
        "a": (d1.column("q_pact_post") == "Increase confidence").astype(float)})
    gp = dp.group_dynamics(t1, "b", "a", group="group_id")
    mine = got[got["measure_name"] == "q_pact"].reset_index(drop=True)
    np.testing.assert_allclose(mine["estimate"], gp.to_frame()["estimate"], rtol=1e-5)
    md = (run.output / "report.md").read_text(encoding="utf-8")
    slope = g.to_frame().set_index("quantity").loc["movement_slope", "estimate"]
    assert f"rest of their group's starting mean is +{slope:.2f}" in md


def test_control_section_is_the_difference_in_differences(run: dp.PipelineResult) -> None:
    d1, _ = _tier1_designs()
    ctl = dp.read_survey(CONTROL_SAV)
    did = dp.difference_in_differences(d1, dp.SurveyDesign(ctl), "trust_nhs_pre", "trust_nhs_post")
    got = _csv_of(run, "control_comparison.csv")
    mine = got[got["measure_name"] == "trust_nhs"].reset_index(drop=True)
    np.testing.assert_allclose(mine["estimate"], did.to_frame()["estimate"], rtol=1e-5)
    np.testing.assert_allclose(mine["se"], did.to_frame()["se"], rtol=1e-5)
    # outside check: the difference of the two mean changes, worked by hand
    t1 = dp.read_survey(T1_SAV)
    c1 = (t1["trust_nhs_post"] - t1["trust_nhs_pre"]).dropna().mean()
    c0 = (ctl["trust_nhs_post"] - ctl["trust_nhs_pre"]).mean()
    est = mine.set_index("quantity").loc["difference_in_differences", "estimate"]
    assert est == pytest.approx(c1 - c0, rel=1e-5)
    know = got[got["measure_name"] == "knowledge"].set_index("quantity")
    ck = np.column_stack([(ctl[a].astype(object) == k).to_numpy() for a, k in zip(KNOW_POST, KEY, strict=True)]).mean(1) \
        - np.column_stack([(ctl[b].astype(object) == k).to_numpy() for b, k in zip(KNOW_PRE, KEY, strict=True)]).mean(1)
    assert know.loc["control_change", "estimate"] == pytest.approx(ck.mean(), rel=1e-5, abs=1e-9)
    md = (run.output / "report.md").read_text(encoding="utf-8")
    assert "were not assigned to deliberate at random, so this is descriptive" in md


def test_deliberation_workbook_stores_numbers(run: dp.PipelineResult) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(run.output / "deliberation_tables.xlsx")
    assert wb.sheetnames[:3] == ["Cover", "Notes", "Contents"]
    assert len(wb.sheetnames) == 3 + 9
    t1 = wb["Table 1"]
    rows = list(t1.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "Score")
    assert rows[head][1:4] == ("Before", "After", "Change (pts)")
    before = rows[head + 1][1]
    assert isinstance(before, float)  # a number with a percent format, not text
    assert before == pytest.approx(_learning().to_frame()["before"].iloc[0])
    notes = [r[1] for r in wb["Notes"].iter_rows(values_only=True) if r[1]]
    assert any("SYNTHETIC" in str(n) for n in notes)


def test_deliberative_tables_have_labels_not_column_names(run: dp.PipelineResult) -> None:
    md = (run.output / "report.md").read_text(encoding="utf-8")
    body = md.split("## Balance of the composition adjustment", 1)[1].split("## Information arm", 1)[0]
    for raw in ("know_1", "knowledge_score", "trust_nhs", "q_pact", "age_group", "post_quiz", "nan"):
        assert raw not in body, raw
    assert scientific_notation(body) == []
    for heading in ("## Knowledge and learning (Tier 1)", "## Attrition between the two Tier 1 surveys",
                    "## Group dynamics (Tier 1 discussion groups)",
                    "## Control group: difference in differences"):
        assert heading in md


# ---- sections present only when configured, and config errors
def _delib_config(tmp_path: Path, extra: str, *, name: str = "d", tier1: bool = True) -> Path:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(
        f"""[cohort]
title = "Deliberative sections"
synthetic = true
[data]
tier3 = "{ROOT / 'data/example/tier3.sav'}"
{f'tier1 = "{T1_SAV}"' if tier1 else ''}
{'tier1_cluster = "group_id"' if tier1 else ''}
[weighting]
variables = ["sex", "age_group"]
{extra}
"""
    )
    return cfg


KNOWLEDGE_TOML = f"""[knowledge]
before = {KNOW_PRE!r}
after = {KNOW_POST!r}
key = {KEY!r}
dont_know = ["Don't know"]
""".replace("'", '"').replace('Don"t', "Don't")


def test_sections_are_absent_without_their_config(tmp_path: Path) -> None:
    out = dp.run_config(_delib_config(tmp_path, ""), output=tmp_path / "none").output
    md = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("Knowledge", "Balance of the composition", "Attrition", "Group dynamics",
                    "Control group"):
        assert f"## {heading}" not in md
    assert not (out / "deliberation_tables.xlsx").exists()
    # [knowledge] alone: the knowledge section only; without status, a non-completer is
    # someone with no answer to any item after deliberation (the same 8 people here)
    out = dp.run_config(_delib_config(tmp_path, KNOWLEDGE_TOML, name="k"), output=tmp_path / "k").output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Knowledge and learning (Tier 1)" in md
    for heading in ("Balance of the composition", "Attrition", "Group dynamics", "Control group"):
        assert f"## {heading}" not in md
    assert "Corrected for guessing" not in md  # no chance given
    got = _csv_of(dp.PipelineResult(output=out), "knowledge_learning.csv")
    assert got["n"].iloc[0] == 93
    assert list(got["measure"]) == ["score"]


@pytest.mark.parametrize(("extra", "message"), [
    ('[comparison]\nadjust_method = "matching"\nadjust_for = ["sex"]',
     r"\[comparison\] adjust_method must be one of \['raking', 'propensity', 'entropy'\]"),
    ('[comparison]\nadjust_method = "entropy"', r"adjust_method chooses how Tier 1 is reweighted on adjust_for, which is not set"),
    ('[comparison]\nbalance_threshold = 0', r"balance_threshold must be a positive number"),
    ('[comparison]\nbalance_threshold = "0.1"', r"balance_threshold must be a number"),
    ('[knowledge]\nbefore = ["a", "b"]\nafter = ["c"]', r"same items in the same order; got 2 and 1"),
    ('[knowledge]\nbefore = ["a"]\nafter = ["c"]\nkey = [1, 2]', r"\[knowledge\] key must give one correct answer per item"),
    ('[knowledge]\nbefore = ["a"]\nafter = ["c"]\nchance = 2', r"\[knowledge\] chance must lie between 0 and 1"),
    ('[knowledge]\nbefore = ["a"]\nafter = ["c"]\nchance = "half"', r"\[knowledge\] chance must be a number or a list of numbers"),
    ('[knowledge]\nafter = ["c"]', r"\[knowledge\] needs 'before'"),
    ('[attrition]\nstatus = "post_quiz"', r"\[attrition\] status and completed go together"),
    ('[attrition]\nmeasures = ["knowledge"]', r"names \"knowledge\" \(the quiz score\), but the config has no \[knowledge\]"),
    ('[attrition]\nmeasures = ["trust"]', r"names 'trust', which is neither \"knowledge\" nor one of the \[comparison.questions\]"),
    ('[attrition]\nmax_rate = 20', r"max_rate must be a share between 0 and 1"),
    ('[dynamics]\nquestions = ["knowledge"]\n[knowledge]\nbefore = ["a"]\nafter = ["b"]', None),
    ('[control]\nfile = "c.csv"', r"\[control\] compares nothing"),
    ('[control]\nfile = "c.csv"\nknowledge = true', r"knowledge = true compares the quiz scores, but the config has no \[knowledge\]"),
    ('[control]\nfile = "c.csv"\n[control.questions.q]\nbefore = "a"\nafer = "b"', r"\[control.questions.q\] has an unknown key 'afer'; did you mean after\?"),
    ('[knowledg]\nbefore = ["a"]', r"Unknown section \[knowledg\]; did you mean \[knowledge\]\?"),
    ('[dynamics]\nquestion = ["x"]', r"\[dynamics\] has an unknown key 'question'; did you mean questions\?"),
])
def test_deliberative_config_errors_name_the_key(tmp_path: Path, extra: str, message: str | None) -> None:
    cfg = _delib_config(tmp_path, extra)
    if message is None:  # [dynamics] without a group column: tier1_cluster is in [data] here
        cfg.write_text(cfg.read_text().replace('tier1_cluster = "group_id"\n', ""))
        message = r"\[dynamics\] needs the discussion-group column: add group"
    with pytest.raises(DelibpollError, match=message):
        load_config(cfg)


def test_deliberative_sections_need_tier1(tmp_path: Path) -> None:
    cfg = _delib_config(tmp_path, KNOWLEDGE_TOML, tier1=False)
    with pytest.raises(DelibpollError, match=r"\[knowledge\] analyses Tier 1, but \[data\] has no tier1 file"):
        load_config(cfg)


def test_deliberative_data_errors_name_the_key(tmp_path: Path) -> None:
    bad_item = KNOWLEDGE_TOML.replace('"know_6_post"', '"know_6_postt"')
    with pytest.raises(DelibpollError, match=r"\[knowledge\] after names 'know_6_postt', which is not a column of the Tier 1 data \(tier1.sav\); did you mean 'know_6_post'\?"):
        dp.run_config(_delib_config(tmp_path, bad_item, name="a"), output=tmp_path / "a")
    ctl = KNOWLEDGE_TOML + f'[control]\nfile = "{tmp_path / "missing.sav"}"\nknowledge = true\n'
    with pytest.raises(DelibpollError, match=r"\[control\] file file '.*missing.sav' does not exist"):
        dp.run_config(_delib_config(tmp_path, ctl, name="b"), output=tmp_path / "b")
    ctl = (f'[control]\nfile = "{CONTROL_SAV}"\n[control.questions.trust_nhs]\nbefore = "trust_pre"\n'
           'after = "trust_nhs_post"\n[comparison.questions.trust_nhs]\nbefore = "trust_nhs_pre"\n'
           'after = "trust_nhs_post"\n')
    with pytest.raises(DelibpollError, match=r"\[control.questions.trust_nhs\] before names 'trust_pre', which is not a column of the control data \(control.sav\)"):
        dp.run_config(_delib_config(tmp_path, ctl, name="c"), output=tmp_path / "c")
    att = KNOWLEDGE_TOML + '[attrition]\nstatus = "post_quiz"\ncompleted = "Done"\n'
    with pytest.raises(DelibpollError, match=r"\[attrition\] completed = 'Done' is not a value of the status column 'post_quiz'"):
        dp.run_config(_delib_config(tmp_path, att, name="d"), output=tmp_path / "d")
    dyn = ('[dynamics]\nquestions = ["q_committee"]\n[comparison.questions.q_committee]\n'
           'before = "q_committee_pre"\nafter = "q_committee_post"\n')
    with pytest.raises(DelibpollError, match=r"\[dynamics\] questions names 'q_committee', whose answers are categories; declare the answer to count in \[comparison.categories\]"):
        dp.run_config(_delib_config(tmp_path, dyn, name="e"), output=tmp_path / "e")
    for name in "abcde":  # every one raised before any output was written
        assert not (tmp_path / name).exists()


def test_without_control_the_report_says_what_is_not_possible(tmp_path: Path) -> None:
    """Consistency with possible_comparisons(1): the comparisons a single-wave public sample
    cannot support are named, and only without [control]."""
    out = dp.run_config(_delib_config(tmp_path, KNOWLEDGE_TOML, name="k"), output=tmp_path / "k").output
    methods = _methods((out / "report.md").read_text(encoding="utf-8"))
    for c in dp.possible_comparisons(1).query("~possible")["comparison"]:
        assert c[:1].lower() + c[1:] in methods
    assert "add a [control] section" in methods


# ---------------------------------------------------------------------- tracking across cohorts (#17)
CONFIG2 = ROOT / "analyses" / "cohort2.toml"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> dp.PipelineResult:
    return dp.run_config(CONFIG2, output=tmp_path_factory.mktemp("cohort2"))


def test_tracking_report_is_a_config(tracked: dp.PipelineResult) -> None:
    """The two-cohort report from analyses/cohort2.toml: tables, banner, trend charts, the
    other cohort's weighting files and the report section. Consistency check (the numbers
    are checked against R in tests/test_cohorts.py): the table is compare_cohorts on the two
    cohorts weighted as their configs say."""
    out = tracked.output
    for name in ("tracking_estimates.csv", "tracking_differences.csv", "tracking_deliberation.csv",
                 "tracking_gaps.csv", "tracking_banner.xlsx", "tracking_banner.html",
                 "tracking_banner.csv", "charts/trend_q_pact.png", "charts/trend_trust_nhs.svg",
                 "cohorts/cohort_1/weighting_report.txt"):
        assert (out / name).is_file(), name
        if name.endswith(".csv"):
            assert (out / name).read_text(encoding="utf-8").startswith("# SYNTHETIC DATA")
        if name.endswith(".html"):
            assert "<body>\n<p><strong>SYNTHETIC DATA" in (out / name).read_text(encoding="utf-8")
    targets = dp.datasets.england_adult_targets(["sex", "age_group", "region", "education", "ethnicity"])
    d = {"Cohort 1": dp.rake(dp.SurveyDesign(dp.datasets.load_example(3)), targets, cap=6.0),
         "Cohort 2": dp.rake(dp.SurveyDesign(dp.datasets.load_example(3, cohort=2)), targets, cap=6.0)}
    want = dp.compare_cohorts(d, ["q_pact", "q_charge", "trust_nhs"],
                              categories={"q_pact": "Increase confidence", "q_charge": "Wrong"}).to_frame()
    got = tracked.tables["tracking"]
    np.testing.assert_allclose(got["difference"], want["difference"], atol=1e-12)
    np.testing.assert_allclose(got["p_adjusted"], want["p_adjusted"], rtol=1e-12)
    written = pd.read_csv(out / "tracking_differences.csv", comment="#")
    np.testing.assert_allclose(written["se"], want["se"], rtol=1e-9)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Tracking across cohorts" in md
    assert "Cohort 2 is compared with Cohort 1 on 3 questions" in md
    assert "Change during deliberation (Tier 1), compared between cohorts" in md
    assert "![Line chart of Would a Data Pact" in md
    banner_csv = pd.read_csv(out / "tracking_banner.csv", comment="#")
    assert set(banner_csv["column"]) == {"Cohort 1", "Cohort 2"}


TRACK = (f'[[cohorts]]\nlabel = "Cohort 1"\nconfig = "{CONFIG}"\n'
         '[tracking]\nlabel = "Cohort 2"\nquestions = ["q_pact"]\n')


@pytest.mark.parametrize(("text", "message"), [
    (BASE + '[tracking]\nlabel = "C2"\nquestions = ["q_pact"]\n', "there is no [[cohorts]] section"),
    (BASE + f'[[cohorts]]\nlabel = "C1"\nconfig = "{CONFIG}"\n', "there is no [tracking] section"),
    (BASE + TRACK.replace('label = "Cohort 2"', 'label = "Cohort 1"'),
     "Cohort labels must differ: ['Cohort 1'] is used twice"),
    (BASE + TRACK.replace(str(CONFIG), "nowhere.toml"), "[[cohorts]] number 1 config file"),
    (BASE + TRACK + 'deliberation = ["q_pact"]\n',
     "[tracking] deliberation names 'q_pact', which is not one of the [comparison.questions]"),
    (BASE + TRACK + '[tracking.categories]\nq_charge = "Wrong"\n',
     "[tracking.categories] names 'q_charge', which is not one of the [tracking] questions"),
    (BASE + TRACK + 'adjust = "sidak"\n', "[tracking] adjust must be one of"),
    (BASE + TRACK + 'sig_level = 5\n', "[tracking] sig_level must be a number in (0, 1)"),
    (BASE + TRACK.replace('config = ', 'confg = "x"\nconfig = '),
     "[[cohorts]] number 1 has an unknown key 'confg'; did you mean config?"),
    (BASE + TRACK.replace('questions = ["q_pact"]', 'questions = []'),
     "[tracking] questions must be a non-empty list of strings"),
])
def test_tracking_config_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DelibpollError) as info:
        dp.pipeline.load_config(_cfg(tmp_path, text))
    assert message in str(info.value)


def test_tracking_stage_errors_leave_no_output(tmp_path: Path) -> None:
    text = CONFIG2.read_text(encoding="utf-8").replace('config = "cohort1.toml"', f'config = "{CONFIG}"')
    bad = text.replace('questions = ["q_pact", "q_charge", "trust_nhs"]',
                       'questions = ["q_pact", "q_gp_planning"]').replace('q_charge = "Wrong"\n', "")
    out = tmp_path / "out"
    with pytest.raises(DelibpollError, match=r"\[tracking\]: compare_cohorts: question "
                                             r"'q_gp_planning' has no answers in cohort 'Cohort 1'"):
        dp.run_config(_cfg(tmp_path, bad), output=out)
    assert not out.exists() or not any(out.iterdir())
