"""The ``delibpoll`` command line, for people who do not write Python.

Commands::

    delibpoll weight INPUT --targets TARGETS --out OUTPUT
    delibpoll table INPUT --rows Q1 Q2 --columns sex age_group --out table.xlsx
    delibpoll run CONFIG.toml

Exit codes: 0 success; 1 bad input (a one-paragraph ``delibpoll: error: ...`` message on
standard error says what is wrong and how to fix it); 2 bad command-line usage; 3 an
internal error (a bug: the message asks for a report); 130 interrupted. No traceback is
printed unless ``--debug`` is given. Every error is turned into its message at one place,
:func:`main`.
"""

from __future__ import annotations

import argparse
import errno
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._types import Adjust, CalFun, CIMethod, TableLayout, Unmatched, UserMissing, values
from ._version import __version__
from .exceptions import DelibpollError, DelibpollWarning

if TYPE_CHECKING:  # the heavy modules are imported inside the commands: the CLI starts fast
    import pandas as pd

    from .mapping import Mapping
    from .targets import Targets

__all__ = ["main"]

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

TABLE_SUFFIXES = (".xlsx", ".csv", ".html", ".htm", ".md")
_LAYOUTS = values(TableLayout)

# what the command is doing now, for messages about errors that do not say (e.g. an OSError
# or a reader's own error): set by _doing(), read by main()
_state: dict[str, str] = {"doing": ""}

# modules whose exceptions mean "this file could not be read or written"
_FILE_ERROR_MODULES = ("pyreadstat", "pandas.errors", "pyarrow", "zipfile", "csv", "xlsxwriter",
                       "tomllib", "openpyxl")


def _progress(message: str) -> None:
    print(f"[delibpoll] {message}", file=sys.stderr, flush=True)


def _doing(what: str, *, show: bool = True) -> None:
    _state["doing"] = what
    if show:
        _progress(what)


def _check_columns(df: pd.DataFrame, wanted: Sequence[tuple[str, Sequence[str] | None]], source: str) -> None:
    """Every (option, names) pair checked at once: one error naming ALL missing columns."""
    parts = []
    for option, names in wanted:
        missing = [n for n in dict.fromkeys(names or ()) if n not in df.columns]
        if missing:
            verb = "is not a column" if len(missing) == 1 else "are not columns"
            parts.append(f"{option}: {', '.join(repr(m) for m in missing)} {verb}")
    if parts:
        cols = [str(c) for c in df.columns]
        shown = ", ".join(cols[:40]) + (" ..." if len(cols) > 40 else "")
        raise DelibpollError(
            f"{'; '.join(parts)} of {source}. Its columns are: {shown}. Check the spelling "
            "(names are case-sensitive), or rename the variable in a --map file ([rename])."
        )


def _check_out_folder(out: Path, option: str) -> None:
    folder = out.parent
    if not folder.exists():
        raise DelibpollError(
            f"{option} '{out}': the folder '{folder}' does not exist. Create it first, or give "
            f"{option} a path in an existing folder."
        )
    if not folder.is_dir():
        raise DelibpollError(f"{option} '{out}': '{folder}' is a file, not a folder.")
    if out.is_dir():
        raise DelibpollError(f"{option} '{out}' is a folder; give a file name, e.g. {out / 'out.csv'}.")


def _read_input(args: argparse.Namespace, user_missing: str | None = None) -> pd.DataFrame:
    """INPUT as read_survey reads it, then the --map mapping applied."""
    from .io import read_survey

    path = args.input
    _doing(f"reading INPUT '{path}'")
    um = user_missing or getattr(args, "user_missing", None) or "missing"
    df = read_survey(path, encoding=args.encoding, sep=args.sep,
                     user_missing="keep" if um == "keep" else "missing")
    if len(df) == 0:
        raise DelibpollError(
            f"INPUT '{path}' has no rows of data (only a header, or nothing); check that it is "
            "the right file."
        )
    mapping = _mapping(args)
    if mapping is not None:
        _doing(f"applying --map '{args.map}'", show=False)
        try:
            df = mapping.apply(df)
        except DelibpollError as exc:
            raise DelibpollError(f"--map '{args.map}': {exc}") from None
    return df


def _mapping(args: argparse.Namespace) -> Mapping | None:
    from .mapping import Mapping

    if not getattr(args, "map", None):
        return None
    path = Path(args.map)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DelibpollError(
            f"--map '{path}' {what}. Give a mapping file (TOML); `delibpoll init INPUT` writes "
            "a starter one."
        )
    return Mapping.from_toml(path)


def _load_targets(spec: str, variables: Sequence[str] | None) -> Targets:
    from . import datasets
    from .targets import Targets

    if spec in ("england", "england-adults"):
        if variables:
            return datasets.england_adult_targets(variables=tuple(variables))
        return datasets.england_adult_targets()
    path = Path(spec)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DelibpollError(
            f"--targets '{spec}' {what}. Give a CSV file with columns variable,category,target, "
            "or 'england' for the bundled ONS margins."
        )
    _doing(f"reading --targets file '{spec}'", show=False)
    targets = Targets.from_csv(path)
    return targets.select(list(variables)) if variables else targets


def _check_against_targets(df: pd.DataFrame, targets: Targets, args: argparse.Namespace) -> None:
    """Every mismatch between the data and the targets in one error, each with near matches
    and the mapping line that fixes it (in CLI words: --map, --unmatched keep)."""
    from .mapping import check_against_targets

    problems = check_against_targets(df, targets)
    if args.unmatched == "keep":  # categories without a target keep their share
        problems = [p for p in problems if p.kind != "category"]
    if not problems:
        return
    lines = []
    for p in problems:
        text = p.message
        if p.kind == "missing_values":
            text += "; or read them as categories with --user-missing keep"
        lines.append(f"  - {text}" + (f"\n      fix: {p.fix}" if p.fix else ""))
    fixes = [p.fix for p in problems if p.fix]
    hint = (" Put the fix lines in a mapping file (TOML) and pass it with --map FILE "
            "(`delibpoll init INPUT` writes one with every guess)." if fixes else "")
    if any(p.kind == "category" for p in problems):
        hint += " Or pass --unmatched keep to let categories without a target keep their share."
    raise _MultiLineError(
        f"INPUT '{args.input}' does not match --targets {args.targets} "
        f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n" + "\n".join(lines)
        + "\n" + hint.strip()
    )


class _MultiLineError(DelibpollError):
    """A data error whose message is a list: printed as it is, not joined into one line."""


def _cmd_weight(args: argparse.Namespace) -> int:
    from .design import SurveyDesign
    from .io import write_survey
    from .weighting import calibrate, rake
    from .weightspec import WeightingSpec, sidecar_path, write_spec

    t0 = time.perf_counter()
    out_path = Path(args.out)
    _check_out_folder(out_path, "--out")
    df = _read_input(args)
    _check_columns(df, [("--variables", args.variables),
                        ("--weights", [args.weights] if args.weights else None)],
                   f"INPUT '{args.input}'" + (f" after --map '{args.map}'" if args.map else ""))
    if args.weight_name in df.columns:
        raise DelibpollError(
            f"INPUT '{args.input}' already has a column '{args.weight_name}'; pass "
            "--weight-name with another name so the new weights do not overwrite it."
        )
    targets = _load_targets(args.targets, args.variables)
    _check_against_targets(df, targets, args)
    design = SurveyDesign(df, weights=args.weights)
    _doing(f"weighting {len(df):,} rows to {len(targets)} margins ({args.method})")
    bounds = tuple(args.bounds) if args.bounds else None
    if args.method == "rake":
        out = rake(design, targets, cap=args.cap, unmatched=args.unmatched)
    else:
        out = calibrate(design, targets, method=args.method, bounds=bounds, unmatched=args.unmatched)
    _doing(f"writing --out '{args.out}'", show=False)
    write_survey(out, out_path, weight_name=args.weight_name)
    mapping = _mapping(args)
    spec = WeightingSpec.of(
        out, targets, weight_column=args.weight_name, targets_source=args.targets,
        start_weights=args.weights, method=args.method, cap=args.cap,
        bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
        unmatched=args.unmatched, user_missing=args.user_missing or "missing",
        mapping_source=None if mapping is None else Path(args.map).name,
        mapping_toml=None if mapping is None else mapping.to_toml(),
    )
    write_spec(spec, out_path)
    print(out.weighting_report)
    _progress(f"wrote {args.out} and {sidecar_path(out_path).name} (how the weights were made) "
              f"in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _banner_kwargs(fn: Callable[..., object], wanted: dict[str, Any]) -> dict[str, Any]:
    """The options this version's function takes (``labels``/``layout`` arrive with the
    accessible tables): the others are reported, not passed."""
    import inspect

    params = inspect.signature(fn).parameters
    out = {}
    for key, value in wanted.items():
        if value is None:
            continue
        if key in params:
            out[key] = value
        else:
            warnings.warn(f"--{key} is not supported by this delibpoll's tables; ignored.",
                          DelibpollWarning, stacklevel=2)
    return out


def _labels(args: argparse.Namespace) -> object | None:
    from ._labels import Labels

    if not args.labels:
        return None
    path = Path(args.labels)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DelibpollError(f"--labels '{path}' {what}. Give a TOML file with a [labels] table.")
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DelibpollError(f"--labels '{path}' is not a valid UTF-8 TOML file: {exc}.") from None
    table = data.get("labels", data)
    if not isinstance(table, dict):
        raise DelibpollError(f"--labels '{path}': [labels] must be a table.")
    try:
        return Labels.from_toml_table(table)
    except DelibpollError as exc:
        raise DelibpollError(f"--labels '{path}': {exc}") from None


def _cmd_table(args: argparse.Namespace) -> int:
    import dataclasses

    from .banner import banner
    from .weightspec import design_for_file, read_spec

    out = Path(args.out)
    _check_out_folder(out, "--out")
    suffix = out.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DelibpollError(
            f"--out '{out}': cannot write a table to a '{suffix or 'no extension'}' file; use a "
            ".xlsx, .csv, .html or .md file name."
        )
    labels = _labels(args)
    spec = read_spec(args.input)
    df = _read_input(args, user_missing=args.user_missing or (spec.user_missing if spec else None))
    source = f"INPUT '{args.input}'"
    _check_columns(df, [("--rows", args.rows), ("--columns", args.columns),
                        ("--weights", [args.weights] if args.weights else None)], source)
    _doing("rebuilding the design from the weighting specification" if spec else "building the design")
    fd = design_for_file(df, args.input, weights=args.weights)
    if fd.weights is None:
        print("delibpoll: warning: UNWEIGHTED: no --weights and no weighting specification "
              f"beside INPUT '{args.input}'; the percentages are of the sample, not of the "
              "population. Give --weights COLUMN, or weight the file with `delibpoll weight`.",
              file=sys.stderr)
    else:
        _progress(f"weights: column '{fd.weights}' ({fd.se_note})")
    _doing(f"building a banner of {len(args.rows)} question(s) by {len(args.columns)} variable(s)")
    table = banner(
        fd.design, args.rows, args.columns,
        ci_method=args.ci_method, level=args.level,
        sig_level=args.sig_level, adjust=args.adjust, min_base=args.min_base,
        suppress_below=args.suppress_below, decimals=args.decimals,
        **_banner_kwargs(banner, {"labels": labels}),
    )
    table = dataclasses.replace(table, notes=[fd.note, *table.notes])
    _doing(f"writing --out '{out}'", show=False)
    layout = {"layout": args.layout} if args.layout else {}
    if suffix == ".xlsx":
        title = ("UNWEIGHTED banner tables (sample percentages)" if fd.weights is None
                 else f"Weighted banner tables ({fd.se_note})")
        table.to_excel(out, title=title, source=f"{Path(args.input).name}",
                       **_banner_kwargs(table.to_excel, layout))
    elif suffix == ".csv":
        frame = table.to_frame()
        frame.insert(len(frame.columns), "standard_errors", fd.se_note)
        frame.to_csv(out, index=False)
    elif suffix in (".html", ".htm"):
        out.write_text(table.to_html(**_banner_kwargs(table.to_html, layout)),
                       encoding="utf-8")
    else:
        out.write_text(table.to_markdown(**_banner_kwargs(table.to_markdown, layout)),
                       encoding="utf-8")
    _progress(f"wrote {out}" + (" (UNWEIGHTED)" if fd.weights is None else f" ({fd.se_note})"))
    return EXIT_OK


def _cmd_describe(args: argparse.Namespace) -> int:
    from .codebook import format_codebook

    df = _read_input(args)
    targets = _load_targets(args.targets, None)
    print(format_codebook(df, targets, max_values=args.max_values))
    return EXIT_OK


def _toml_str(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _starter_config(mapped: pd.DataFrame, args: argparse.Namespace,
                    mapping_name: str, targets: Targets) -> str:
    """A cohort config for a survey-only run on INPUT, guesses marked."""
    import os

    import pandas as pd

    weight_guess = [str(c) for c in mapped.columns
                    if re.search(r"(^|_)(w|wt|weight|wgt)(_|$|\d)", str(c), re.I)
                    and pd.api.types.is_float_dtype(mapped[c])]
    variables = [v for v in targets.variables if isinstance(v, str)]
    skip = set(variables) | set(weight_guess)
    questions = [str(c) for c in mapped.columns if str(c) not in skip
                 and isinstance(mapped[c].dtype, pd.CategoricalDtype)]
    data_rel = os.path.relpath(Path(args.input).resolve(), Path(args.out_dir).resolve())
    lines = [
        f"# Starter cohort config for {Path(args.input).name}, written by `delibpoll init`.",
        "# Review every line marked \"guess: check\", then run: delibpoll run THIS_FILE",
        "# The keys are documented in docs/pipeline.md.",
        "",
        "[cohort]",
        f"title = {_toml_str(Path(args.input).stem + ' (starter config: review)')}",
        "output = \"output\"",
        "synthetic = false  # set true if the data are synthetic",
        "",
        "[data]",
        f"tier3 = {_toml_str(Path(data_rel).as_posix())}",
    ]
    if weight_guess:
        lines.append(f"tier3_weights = {_toml_str(str(weight_guess[0]))}  # guess: check "
                     "(starting weights; remove the line to start from 1)")
    lines += [
        "# tier1 = \"tier1.sav\"  # the deliberation (Tier 1) file, for the tier comparison",
        "",
        "[mapping]",
        f"file = {_toml_str(mapping_name)}  # the agency's vocabulary -> the targets'",
        "",
        "[weighting]",
        f"targets = {_toml_str('bundled:england' if args.targets in ('england', 'england-adults') else args.targets)}",
        f"variables = [{', '.join(_toml_str(v) for v in variables)}]",
        "method = \"rake\"",
        "# cap = 6.0  # cap the weights at 6 x the mean weight",
        "",
    ]
    # headline guesses: questions named q..., else the first categorical columns
    heads = [q for q in questions if q.lower().startswith("q")] or questions
    for q in heads[:3]:
        cats = list(mapped[q].cat.categories)
        if cats:
            lines += ["[[headline]]", f"question = {_toml_str(q)}  # guess: check",
                      f"category = {_toml_str(str(cats[0]))}", ""]
    if questions:
        cols = variables[:2]
        lines += [
            "[banner]",
            f"rows = [{', '.join(_toml_str(q) for q in questions)}]  # guess: check",
            f"columns = [{', '.join(_toml_str(c) for c in cols)}]  # guess: check",
            "# layout = \"accessible\"  # or \"classic\"",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _cmd_init(args: argparse.Namespace) -> int:
    from .mapping import Mapping, suggest_mapping

    folder = Path(args.out_dir)
    if not folder.is_dir():
        raise DelibpollError(f"--out-dir '{folder}' is not an existing folder; create it first.")
    stem = Path(args.input).stem
    map_path, cfg_path = folder / f"{stem}_mapping.toml", folder / f"{stem}_cohort.toml"
    existing = [str(p) for p in (map_path, cfg_path) if p.exists()]
    if existing and not args.force:
        raise DelibpollError(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "delibpoll init does not overwrite files. Pass --force to overwrite, or --out-dir "
            "another folder."
        )
    args.map = None
    df = _read_input(args)
    targets = _load_targets(args.targets, None)
    _doing("suggesting a mapping", show=False)
    text = suggest_mapping(df, targets)
    mapped = Mapping.from_toml_text(text).apply(df)
    map_path.write_text(text, encoding="utf-8")
    cfg_path.write_text(_starter_config(mapped, args, map_path.name, targets), encoding="utf-8")
    n_guess = text.count("guess: check")
    print(f"wrote {map_path} ({n_guess} guess{'es' if n_guess != 1 else ''} to check)")
    print(f"wrote {cfg_path} (a survey-only cohort config; review the lines marked \"guess: check\")")
    print(f"next: delibpoll weight {args.input} --map {map_path} --targets {args.targets} --out weighted.sav")
    print(f"  or: delibpoll run {cfg_path}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run_config

    def progress(message: str) -> None:
        _doing(f"{message} (CONFIG '{args.config}')", show=False)
        _progress(message)

    _doing(f"running CONFIG '{args.config}'", show=False)
    run_config(args.config, output=args.output, progress=progress)
    return EXIT_OK


# ---------------------------------------------------------------------- argument types
def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}; got {value}")
        return value

    return parse


def _float_between(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}") from None
        if not (low < value < high):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``delibpoll`` argument parser: ``describe``, ``init``, ``weight``, ``table``, ``run``.

    Returns
    -------
    argparse.ArgumentParser
        Each command's parsed arguments carry ``func``, the command function, which returns
        the exit code.
    """
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS,
        help="on an error, show the full Python traceback (for bug reports)",
    )
    parser = argparse.ArgumentParser(
        prog="delibpoll",
        description=(
            "Survey weighting and deliberative-poll analysis. Describe a survey file, map it "
            "to the targets' vocabulary, weight it to population margins, make weighted "
            "banner tables, or run a whole cohort analysis from a TOML config."
        ),
        epilog="Exit codes: 0 success, 1 bad input, 2 bad usage, 3 internal error. "
        "Documentation: docs/cli.md.",
        parents=[debug],
    )
    parser.add_argument("--version", action="version", version=f"delibpoll {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument(
        "--encoding", help="text encoding of a CSV/TSV INPUT, e.g. cp1252 (default: UTF-8, or "
        "the file's byte-order mark)"
    )
    reading.add_argument(
        "--sep", help="separator of a CSV/TSV INPUT, e.g. ';' (default: detected)"
    )
    reading.add_argument(
        "--user-missing", choices=list(values(UserMissing)), default=None,
        help="declared user-missing codes (SPSS/Stata, e.g. 99 \"Don't know\"): missing values "
        "(default) or kept as categories",
    )
    mapping = argparse.ArgumentParser(add_help=False)
    mapping.add_argument(
        "--map", metavar="FILE",
        help="mapping file (TOML) renaming variables and recoding categories to the targets' "
        "vocabulary (docs/mapping.md; `delibpoll init` writes one)",
    )
    targets = argparse.ArgumentParser(add_help=False)
    targets.add_argument(
        "--targets", default="england",
        help="targets CSV (variable,category,target) or 'england' for the bundled ONS margins "
        "(default)",
    )

    d = sub.add_parser(
        "describe", help="codebook of a survey file, and which targets each variable could match",
        description="Variables, labels, value labels, user-missing codes and counts of INPUT, "
        "and the target variables each could stand for.",
        parents=[debug, reading, mapping, targets],
    )
    d.add_argument("input", help="survey file: .sav, .zsav, .por, .dta, .csv, .tsv or .parquet")
    d.add_argument("--max-values", type=_int_at_least(1), default=30,
                   help="values listed per variable (30)")
    d.set_defaults(func=_cmd_describe)

    i = sub.add_parser(
        "init", help="write a starter mapping file and cohort config for a survey file",
        description="Write INPUT_mapping.toml (the suggested mapping to the targets, guesses "
        "marked 'guess: check') and INPUT_cohort.toml (a survey-only cohort config using it).",
        parents=[debug, reading, targets],
    )
    i.add_argument("input", help="survey file")
    i.add_argument("--out-dir", default=".", help="folder for the two files (default: here)")
    i.add_argument("--force", action="store_true", help="overwrite existing files")
    i.set_defaults(func=_cmd_init)

    w = sub.add_parser(
        "weight",
        help="weight a survey file to population margins",
        description="Read INPUT, map it (--map), weight it to TARGETS and write the data with a "
        "weight column, and OUT.weighting.toml saying how the weights were made.",
        parents=[debug, reading, mapping],
    )
    w.add_argument("input", help="survey file: .sav, .zsav, .por, .dta, .csv, .tsv or .parquet")
    w.add_argument(
        "--targets", required=True,
        help="targets CSV (variable,category,target) or 'england' for the bundled ONS margins",
    )
    w.add_argument("--out", required=True, help="output file (.sav, .zsav, .dta, .csv or .parquet)")
    w.add_argument(
        "--variables", nargs="+", help="weight on these margins only (default: all in TARGETS)"
    )
    w.add_argument("--weights", help="column of starting (design) weights; default all 1")
    w.add_argument(
        "--method",
        choices=["rake", *values(CalFun)],
        default="rake",
        help="rake (default), or calibrate with this distance function",
    )
    w.add_argument(
        "--cap", type=_float_between(1, float("inf"), "a number > 1 (a multiple of the mean weight)"),
        help="rake only: cap weights at CAP x the mean weight",
    )
    w.add_argument(
        "--bounds", type=float, nargs=2, metavar=("L", "U"),
        help="calibration only: bounds on the adjustment factors, e.g. 0.3 3",
    )
    w.add_argument(
        "--unmatched", choices=list(values(Unmatched)), default="error",
        help="data categories without a target: stop (default) or keep their share",
    )
    w.add_argument("--weight-name", default="weight", help="name of the weight column written")
    w.set_defaults(func=_cmd_weight)

    t = sub.add_parser(
        "table",
        help="weighted banner table with significance letters",
        description="Questions down the side (--rows), subgroups across the top (--columns). "
        "Weights: --weights, else the column recorded in INPUT.weighting.toml (with the "
        "raking-aware design rebuilt), else UNWEIGHTED (said in the table and on stderr).",
        parents=[debug, reading, mapping],
    )
    t.add_argument("input", help="survey file")
    t.add_argument("--rows", nargs="+", required=True, help="question columns")
    t.add_argument("--columns", nargs="+", required=True, help="banner (subgroup) columns")
    t.add_argument("--out", required=True, help="output: .xlsx, .csv, .html or .md")
    t.add_argument("--weights", help="weight column (default: the file's recorded weight, else none)")
    t.add_argument("--ci-method", choices=list(values(CIMethod)), default="logit",
                   help="confidence intervals of shares (logit)")
    t.add_argument("--level", type=_float_between(0, 1, "a number between 0 and 1, e.g. 0.95"),
                   default=0.95, help="confidence level (0.95)")
    t.add_argument(
        "--sig-level", type=_float_between(0, 1, "a number between 0 and 1, e.g. 0.05"),
        default=0.05, help="significance level (0.05)",
    )
    t.add_argument(
        "--adjust", choices=list(values(Adjust)), default="none",
        help="multiplicity adjustment within each banner variable",
    )
    t.add_argument("--min-base", type=_int_at_least(0), default=50, help="flag cells with a smaller base")
    t.add_argument("--suppress-below", type=_int_at_least(0), help="blank cells with a smaller base")
    t.add_argument("--decimals", type=_int_at_least(0), default=0, help="decimals shown for percentages")
    t.add_argument("--labels", metavar="FILE",
                   help="TOML file with a [labels] table: the words shown for questions and categories")
    t.add_argument("--layout", choices=list(_LAYOUTS), default=None,
                   help="accessible (one header row; default) or classic (banner variables spanning)")
    t.set_defaults(func=_cmd_table)

    r = sub.add_parser(
        "run",
        help="run a cohort analysis from a TOML config",
        description="Check the config, then run the whole pipeline (weighting, estimates, "
        "comparisons, tables, charts) into a temporary folder moved into place at the end.",
        parents=[debug],
    )
    r.add_argument("config", help="TOML config file (see analyses/cohort1.toml, docs/pipeline.md)")
    r.add_argument("--output", help="output folder (default: the config's)")
    r.set_defaults(func=_cmd_run)
    return parser


def _check_usage(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Option combinations argparse cannot check (exit 2 with the usage line)."""
    if args.command == "weight":
        if args.method == "rake" and args.bounds:
            parser.error("--bounds applies to calibration (--method linear, raking or logit); "
                         "with --method rake use --cap")
        if args.method != "rake" and args.cap is not None:
            parser.error(f"--cap applies to --method rake only; with --method {args.method} "
                         "use --bounds L U")
        if args.method == "logit" and not args.bounds:
            parser.error("--method logit needs --bounds L U, e.g. --bounds 0.3 3")


# ---------------------------------------------------------------------- error reporting
def _with_doing(text: str) -> str:
    doing = _state["doing"]
    return f"{doing[:1].upper()}{doing[1:]}: {text}" if doing else text[:1].upper() + text[1:]


# Python parameters of the library that the CLI offers as options: messages from the library
# name the parameter (``encoding='cp1252'``); on the command line they name the option
_OPTION_OF = {"encoding": "--encoding", "sep": "--sep", "delimiter": "--sep",
              "unmatched": "--unmatched", "cap": "--cap", "bounds": "--bounds",
              "user_missing": "--user-missing", "weight_name": "--weight-name",
              "weights": "--weights", "targets": "--targets", "method": "--method",
              "ci_method": "--ci-method", "level": "--level", "sig_level": "--sig-level",
              "adjust": "--adjust", "min_base": "--min-base", "suppress_below": "--suppress-below",
              "decimals": "--decimals", "labels": "--labels", "layout": "--layout",
              "variables": "--variables"}
_PARAM_SYNTAX = re.compile(
    r"(?:read_survey\(path, )?\b(" + "|".join(_OPTION_OF) + r")=(?:'([^']*)'|\"([^\"]*)\"|(\.\.\.))?\)?"
)
# "The 'targets' parameter of rake must be ..." -> "--targets must be ..."
_PARAM_WORDS = re.compile(r"\b[Tt]he '(" + "|".join(_OPTION_OF) + r")' parameter(?: of [\w.]+)?")


def _cli_vocabulary(message: str) -> str:
    """Python spellings of the options in the CLI's words: ``unmatched='keep'`` ->
    ``--unmatched keep``, ``read_survey(path, encoding='cp1252')`` -> ``--encoding cp1252``,
    "The 'targets' parameter of rake" -> "--targets"."""

    def flag(m: re.Match[str]) -> str:
        value = next((g for g in (m.group(2), m.group(3)) if g is not None), None)
        if value is None and m.group(4):
            value = "..."
        return _OPTION_OF[m.group(1)] + (f" {value}" if value else "")

    message = _PARAM_WORDS.sub(lambda m: _OPTION_OF[m.group(1)], message)
    return _PARAM_SYNTAX.sub(flag, message)


def _tidy(text: str) -> str:
    """One paragraph; a message that lists problems ("  - ...") keeps one line per item."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    if any(line.startswith("- ") for line in lines):
        return "\n".join(("  " + line if line.startswith(("- ", "fix:")) else line)
                         .replace("  fix:", "      fix:") for line in lines if line)
    return " ".join(text.split())


def _describe(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-paragraph message for an exception that reached main()."""
    if isinstance(exc, DelibpollError):
        return EXIT_INPUT, _cli_vocabulary(_tidy(str(exc)))
    if isinstance(exc, UnicodeError):
        detail = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        enc = getattr(exc, "encoding", "the expected encoding")
        return EXIT_INPUT, _with_doing(
            f"the file is not valid {enc} text ({detail}). Re-save it as UTF-8, or convert it "
            "(e.g. from latin-1 or cp1252) before giving it to delibpoll."
        )
    if isinstance(exc, OSError):
        name = exc.filename or ""
        fixes = {
            errno.ENOENT: "check the path, and that its folder exists",
            errno.EACCES: "check that you have permission to read or write it",
            errno.EPERM: "check that you have permission to read or write it",
            errno.EISDIR: "give a file, not a folder",
            errno.ENOTDIR: "a part of the path is a file, not a folder",
            errno.ENOSPC: "free some disk space",
            errno.EROFS: "choose a location that is not read-only",
        }
        fix = fixes.get(exc.errno or -1, "check the path and try again")
        what = exc.strerror or str(exc)
        where = f" '{name}'" if name else ""
        return EXIT_INPUT, _with_doing(f"cannot use{where}: {what}; {fix}.")
    module = type(exc).__module__ or ""
    if module.startswith(_FILE_ERROR_MODULES):
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return EXIT_INPUT, _with_doing(
            f"the file could not be read or written ({type(exc).__name__}: {detail}). Check that "
            "it is a complete, valid file of the type its extension says (re-export it from "
            "the program that made it)."
        )
    detail = " ".join(str(exc).split())
    return EXIT_INTERNAL, _with_doing(
        f"internal error {type(exc).__name__}: {detail}. This is a bug in delibpoll, not a "
        "problem you can fix in your input: please report it with the output of the same "
        "command run with --debug."
    )


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: TextIO | None = None, line: str | None = None,
) -> None:
    name = category.__name__
    print(f"delibpoll: warning ({name}): {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``delibpoll`` console script. Returns the exit code.

    Every exception is turned into a one-paragraph message on standard error here, and only
    here: exit code 1 for bad input (any :class:`~delibpoll.DelibpollError`, file and
    encoding errors, a reader's error on a corrupt file), 3 for an internal error; ``--debug``
    re-raises instead, with the traceback. Usage errors exit 2 (argparse).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_usage(parser, args)
    debug = bool(getattr(args, "debug", False))
    _state["doing"] = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", DelibpollWarning)
            if not debug:
                warnings.showwarning = _show_warning
            command: Callable[[argparse.Namespace], int] = args.func
            return command(args)
    except BrokenPipeError:  # the output was piped into a program that stopped reading (head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        if debug:
            raise
        print("delibpoll: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        code, message = _describe(exc)
        print(f"delibpoll: error: {message}", file=sys.stderr)
        return code
    finally:
        _state["doing"] = ""


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
