"""Make the images of the docs (run from the repository root):

    PYTHONPATH=src python docs/images/make_images.py

Charts are drawn by delibpoll and saved at the width of an A4 page; the tables are the
package's own HTML and xlsx outputs rendered by headless Chromium and LibreOffice (both must
be installed: ``apt-get install chromium libreoffice-calc-nogui poppler-utils``).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import delibpoll as dp
from delibpoll._labels import Labels
from delibpoll.mapping import Mapping
from delibpoll.plots import A4_WIDTH

HERE = Path(__file__).resolve().parent
DPI = 150  # enough for the web page; the pipeline saves 300 dpi for print


def save(plot: object, name: str, height: float, width: float = A4_WIDTH) -> None:
    plot.save(HERE / name, width=width, height=height, dpi=DPI, verbose=False)  # type: ignore[attr-defined]


def screenshot_html(fragment: str, name: str, size: str = "900,420") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "t.html"
        page.write_text(
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>table</title>"
            "<style>body{font-family:Arial,sans-serif;font-size:15px;margin:12px} "
            "table{border-collapse:collapse} td,th{border:1px solid #999;padding:3px 8px} "
            "caption{font-weight:bold;text-align:left;padding-bottom:4px}</style></head><body>"
            + fragment + "</body></html>", encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", f"--screenshot={HERE / name}",
                        f"--window-size={size}", "--hide-scrollbars", str(page)],
                       check=True, capture_output=True)


def screenshot_xlsx(path: Path, name: str, page: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(path)],
                       check=True, capture_output=True)
        pdf = next(Path(tmp).glob("*.pdf"))
        # the first table sheet (after the cover and notes sheets), cropped to its content
        subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(Path(tmp) / "page")], check=True)
        from PIL import Image, ImageOps

        with Image.open(Path(tmp) / "page.png") as im:
            box = ImageOps.invert(im.convert("L")).getbbox()
            assert box is not None
            pad = 20
            im.crop((max(box[0] - pad, 0), max(box[1] - pad, 0), box[2] + pad,
                     box[3] + pad)).save(HERE / name)


def main() -> None:
    # the tutorial: an agency's .sav, mapped to the ONS categories, weighted from its own weights
    raw = dp.read_survey(dp.datasets.data_path("example", "agency_wave1.sav"))
    df = Mapping.from_toml(dp.datasets.data_path("example", "agency_wave1_mapping.toml")).apply(raw)
    targets = dp.Targets.from_csv(dp.datasets.data_path("population", "england_adult_targets.csv"))
    design = dp.rake(dp.SurveyDesign(df, weights="weight_vendor"),
                     targets.select(["sex", "age_group", "region", "education", "ethnicity"]),
                     cap=6)
    lab = Labels.from_attrs(design.attrs)
    table = dp.banner(design, ["q_pact"], ["sex", "age_group"])
    screenshot_html(table.to_html(), "tutorial_table.png", "1100,480")
    save(dp.plot_estimates(dp.proportion(design, "q_pact", by="sex"), labels=lab),
         "tutorial_chart.png", 4.2)

    # the charts page, on the bundled example cohort
    t3 = dp.read_survey(dp.datasets.data_path("example", "tier3.sav"))
    t1 = dp.read_survey(dp.datasets.data_path("example", "tier1.sav"))
    d3 = dp.rake(dp.SurveyDesign(t3), dp.datasets.england_adult_targets(), cap=6)
    d1 = dp.SurveyDesign(t1, ids="group_id")
    lab = Labels.from_attrs(d3.attrs)
    qc = dp.compare_questions(d1, d3, {"q_pact": ("q_pact_pre", "q_pact_post"),
                                       "q_charge": ("q_charge_pre", "q_charge_post")})
    save(dp.plot_estimates(dp.proportion(d3, "q_charge", by="info_arm"), labels=lab),
         "estimates.png", 4.0)
    save(dp.plot_likert(dp.proportion(d3, "q_pact", by="sex"), labels=lab,
                        negative=["Decrease confidence"], neutral=["No impact"],
                        positive=["Increase confidence"], other=["Don't know"]),
         "likert.png", 3.6)
    save(dp.plot_tiers(qc, labels=lab), "tiers_dumbbell.png", 5.6)
    save(dp.plot_tiers(qc, kind="scatter", labels=lab), "tiers_scatter.png", 5.2, 5.0)
    save(dp.plot_weights(d3), "weights.png", 3.8)
    save(dp.plot_margins(d3), "margins.png", 9.0)
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "banner.xlsx"
        dp.banner(d3, ["q_pact", "q_charge"], ["sex", "info_arm"]).to_excel(
            xlsx, title="Example banner tables (synthetic data)")
        screenshot_xlsx(xlsx, "banner_excel.png")
    trend()


def trend() -> None:
    """The trend chart of docs/tracking.md: the two synthetic cohorts, raked as there."""
    targets = dp.datasets.england_adult_targets()
    t3 = dp.datasets.load_example(3)
    cohorts = {"Cohort 1": dp.rake(dp.SurveyDesign(t3), targets),
               "Cohort 2": dp.rake(dp.SurveyDesign(dp.datasets.load_example(3, cohort=2)), targets)}
    res = dp.compare_cohorts(cohorts, ["q_pact"])
    save(dp.plot_trend(res, labels=Labels.from_attrs(t3.attrs),
                       note="SYNTHETIC DATA: no respondent is real; the figures illustrate the "
                            "method only."), "trend.png", 4.2)


if __name__ == "__main__":
    main()
