"""The ``delibpoll`` command line, for people who do not write Python.

Commands::

    delibpoll weight INPUT --targets TARGETS --out OUTPUT
    delibpoll table INPUT --rows Q1 Q2 --columns sex age_group --out table.xlsx
    delibpoll run CONFIG.toml

Exit codes: 0 success, 1 bad input (a one-line message says what and how to fix it),
2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from .exceptions import DelibpollError, DelibpollWarning

__all__ = ["main"]

EXIT_OK = 0
EXIT_INPUT = 1


def _progress(message: str) -> None:
    print(f"[delibpoll] {message}", file=sys.stderr, flush=True)


def _load_targets(spec: str, variables: Sequence[str] | None) -> object:
    from . import datasets
    from .targets import Targets

    if spec in ("england", "england-adults"):
        if variables:
            return datasets.england_adult_targets(variables=tuple(variables))
        return datasets.england_adult_targets()
    path = Path(spec)
    if not path.exists():
        raise DelibpollError(
            f"Targets file '{spec}' does not exist. Give a CSV with columns "
            "variable,category,target, or 'england' for the bundled ONS margins."
        )
    targets = Targets.from_csv(path)
    return targets.select(list(variables)) if variables else targets


def _cmd_weight(args: argparse.Namespace) -> int:
    from .design import SurveyDesign
    from .io import read_survey, write_survey
    from .weighting import calibrate, rake

    t0 = time.perf_counter()
    _progress(f"reading {args.input}")
    df = read_survey(args.input)
    targets = _load_targets(args.targets, args.variables)
    design = SurveyDesign(df, weights=args.weights)
    _progress(f"weighting {len(df):,} rows to {len(targets)} margins ({args.method})")  # type: ignore[arg-type]
    if args.method == "rake":
        out = rake(design, targets, cap=args.cap, unmatched=args.unmatched)  # type: ignore[arg-type]
    else:
        bounds = tuple(args.bounds) if args.bounds else None
        out = calibrate(
            design, targets, method=args.method, bounds=bounds, unmatched=args.unmatched  # type: ignore[arg-type]
        )
    write_survey(out, args.out, weight_name=args.weight_name)
    print(out.weighting_report)
    _progress(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_table(args: argparse.Namespace) -> int:
    from .design import SurveyDesign
    from .io import read_survey
    from .tables import banner

    df = read_survey(args.input)
    design = SurveyDesign(df, weights=args.weights)
    _progress(f"building a banner of {len(args.rows)} question(s) by {len(args.columns)} variable(s)")
    table = banner(
        design,
        args.rows,
        args.columns,
        sig_level=args.sig_level,
        adjust=args.adjust,
        min_base=args.min_base,
        suppress_below=args.suppress_below,
        decimals=args.decimals,
    )
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        table.to_excel(out)
    elif suffix == ".csv":
        table.to_csv(out)
    elif suffix in (".html", ".htm"):
        out.write_text(table.to_html())
    elif suffix == ".md":
        out.write_text(table.to_markdown())
    else:
        raise DelibpollError(
            f"Cannot write a table to '{out}': use a .xlsx, .csv, .html or .md file name."
        )
    _progress(f"wrote {out}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run_config

    run_config(args.config, output=args.output, progress=_progress)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="delibpoll",
        description=(
            "Survey weighting and deliberative-poll analysis. Weight a survey file to "
            "population margins, make weighted banner tables, or run a whole cohort "
            "analysis from a TOML config."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    w = sub.add_parser(
        "weight",
        help="weight a survey file to population margins",
        description="Read INPUT, weight it to TARGETS and write the data with a weight column.",
    )
    w.add_argument("input", help="survey file: .sav, .zsav, .por, .dta, .csv, .tsv or .parquet")
    w.add_argument(
        "--targets",
        required=True,
        help="targets CSV (variable,category,target) or 'england' for the bundled ONS margins",
    )
    w.add_argument("--out", required=True, help="output file (.sav, .csv or .parquet)")
    w.add_argument(
        "--variables", nargs="+", help="weight on these margins only (default: all in TARGETS)"
    )
    w.add_argument("--weights", help="column of starting (design) weights; default all 1")
    w.add_argument(
        "--method",
        choices=["rake", "linear", "raking", "logit"],
        default="rake",
        help="rake (default), or calibrate with this distance function",
    )
    w.add_argument("--cap", type=float, help="rake only: cap weights at CAP x the mean weight")
    w.add_argument(
        "--bounds", type=float, nargs=2, metavar=("L", "U"),
        help="calibration only: bounds on the adjustment factors, e.g. 0.3 3",
    )
    w.add_argument(
        "--unmatched", choices=["error", "keep"], default="error",
        help="data categories without a target: stop (default) or keep their share",
    )
    w.add_argument("--weight-name", default="weight", help="name of the weight column written")
    w.set_defaults(func=_cmd_weight)

    t = sub.add_parser(
        "table",
        help="weighted banner table with significance letters",
        description="Questions down the side (--rows), subgroups across the top (--columns).",
    )
    t.add_argument("input", help="survey file")
    t.add_argument("--rows", nargs="+", required=True, help="question columns")
    t.add_argument("--columns", nargs="+", required=True, help="banner (subgroup) columns")
    t.add_argument("--out", required=True, help="output: .xlsx, .csv, .html or .md")
    t.add_argument("--weights", help="weight column (default: all 1)")
    t.add_argument("--sig-level", type=float, default=0.05, help="significance level (0.05)")
    t.add_argument(
        "--adjust", choices=["none", "holm", "bonferroni", "fdr_bh"], default="none",
        help="multiplicity adjustment within each banner variable",
    )
    t.add_argument("--min-base", type=int, default=50, help="flag cells with a smaller base")
    t.add_argument("--suppress-below", type=int, help="blank cells with a smaller base")
    t.add_argument("--decimals", type=int, default=0, help="decimals shown for percentages")
    t.set_defaults(func=_cmd_table)

    r = sub.add_parser(
        "run",
        help="run a cohort analysis from a TOML config",
        description="Run the whole pipeline (weighting, estimates, comparisons, tables, charts).",
    )
    r.add_argument("config", help="TOML config file (see analyses/cohort1.toml)")
    r.add_argument("--output", help="output folder (default: the config's)")
    r.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``delibpoll`` console script. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", DelibpollWarning)
            result: int = args.func(args)
            return result
    except DelibpollError as exc:
        print(f"delibpoll: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"delibpoll: error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
