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
from typing import TYPE_CHECKING, TextIO

from ._types import Adjust, CalFun, Unmatched, values
from .exceptions import DelibpollError, DelibpollWarning

if TYPE_CHECKING:  # the heavy modules are imported inside the commands: the CLI starts fast
    import pandas as pd

    from .targets import Targets

__all__ = ["main"]

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

TABLE_SUFFIXES = (".xlsx", ".csv", ".html", ".htm", ".md")

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


def _check_columns(df: pd.DataFrame, option: str, names: Sequence[str] | None, source: str) -> None:
    if not names:
        return
    missing = [n for n in names if n not in df.columns]
    if missing:
        cols = [str(c) for c in df.columns]
        shown = ", ".join(cols[:40]) + (" ..." if len(cols) > 40 else "")
        raise DelibpollError(
            f"{option}: {', '.join(repr(m) for m in missing)} "
            f"{'is not a column' if len(missing) == 1 else 'are not columns'} of {source}. "
            f"Its columns are: {shown}. Check the spelling (names are case-sensitive)."
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


def _read_input(args: argparse.Namespace) -> pd.DataFrame:
    from .io import read_survey

    path = args.input
    _doing(f"reading INPUT '{path}'")
    df = read_survey(path, encoding=args.encoding, sep=args.sep)
    if len(df) == 0:
        raise DelibpollError(
            f"INPUT '{path}' has no rows of data (only a header, or nothing); check that it is "
            "the right file."
        )
    return df


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


def _cmd_weight(args: argparse.Namespace) -> int:
    from .design import SurveyDesign
    from .io import write_survey
    from .weighting import calibrate, rake

    t0 = time.perf_counter()
    out_path = Path(args.out)
    _check_out_folder(out_path, "--out")
    df = _read_input(args)
    _check_columns(df, "--variables", args.variables, f"INPUT '{args.input}'")
    _check_columns(df, "--weights", [args.weights] if args.weights else None, f"INPUT '{args.input}'")
    targets = _load_targets(args.targets, args.variables)
    design = SurveyDesign(df, weights=args.weights)
    _doing(f"weighting {len(df):,} rows to {len(targets)} margins ({args.method})")
    if args.method == "rake":
        out = rake(design, targets, cap=args.cap, unmatched=args.unmatched)
    else:
        bounds = tuple(args.bounds) if args.bounds else None
        out = calibrate(design, targets, method=args.method, bounds=bounds, unmatched=args.unmatched)
    _doing(f"writing --out '{args.out}'", show=False)
    write_survey(out, out_path, weight_name=args.weight_name)
    print(out.weighting_report)
    _progress(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


def _cmd_table(args: argparse.Namespace) -> int:
    from .banner import banner
    from .design import SurveyDesign

    out = Path(args.out)
    _check_out_folder(out, "--out")
    suffix = out.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DelibpollError(
            f"--out '{out}': cannot write a table to a '{suffix or 'no extension'}' file; use a "
            ".xlsx, .csv, .html or .md file name."
        )
    df = _read_input(args)
    source = f"INPUT '{args.input}'"
    _check_columns(df, "--rows", args.rows, source)
    _check_columns(df, "--columns", args.columns, source)
    _check_columns(df, "--weights", [args.weights] if args.weights else None, source)
    design = SurveyDesign(df, weights=args.weights)
    _doing(f"building a banner of {len(args.rows)} question(s) by {len(args.columns)} variable(s)")
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
    _doing(f"writing --out '{out}'", show=False)
    if suffix == ".xlsx":
        table.to_excel(out)
    elif suffix == ".csv":
        table.to_csv(out)
    elif suffix in (".html", ".htm"):
        out.write_text(table.to_html(), encoding="utf-8")
    else:
        out.write_text(table.to_markdown(), encoding="utf-8")
    _progress(f"wrote {out}")
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
    """The ``delibpoll`` argument parser: the ``weight``, ``table`` and ``run`` commands.

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
            "Survey weighting and deliberative-poll analysis. Weight a survey file to "
            "population margins, make weighted banner tables, or run a whole cohort "
            "analysis from a TOML config."
        ),
        epilog="Exit codes: 0 success, 1 bad input, 2 bad usage, 3 internal error.",
        parents=[debug],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument(
        "--encoding", help="text encoding of a CSV/TSV INPUT, e.g. cp1252 (default: UTF-8, or "
        "the file's byte-order mark)"
    )
    reading.add_argument(
        "--sep", help="separator of a CSV/TSV INPUT, e.g. ';' (default: detected)"
    )

    w = sub.add_parser(
        "weight",
        help="weight a survey file to population margins",
        description="Read INPUT, weight it to TARGETS and write the data with a weight column.",
        parents=[debug, reading],
    )
    w.add_argument("input", help="survey file: .sav, .zsav, .por, .dta, .csv, .tsv or .parquet")
    w.add_argument(
        "--targets",
        required=True,
        help="targets CSV (variable,category,target) or 'england' for the bundled ONS margins",
    )
    w.add_argument("--out", required=True, help="output file (.sav, .zsav, .csv or .parquet)")
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
        description="Questions down the side (--rows), subgroups across the top (--columns).",
        parents=[debug, reading],
    )
    t.add_argument("input", help="survey file")
    t.add_argument("--rows", nargs="+", required=True, help="question columns")
    t.add_argument("--columns", nargs="+", required=True, help="banner (subgroup) columns")
    t.add_argument("--out", required=True, help="output: .xlsx, .csv, .html or .md")
    t.add_argument("--weights", help="weight column (default: all 1)")
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
    t.set_defaults(func=_cmd_table)

    r = sub.add_parser(
        "run",
        help="run a cohort analysis from a TOML config",
        description="Run the whole pipeline (weighting, estimates, comparisons, tables, charts).",
        parents=[debug],
    )
    r.add_argument("config", help="TOML config file (see analyses/cohort1.toml)")
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
              "unmatched": "--unmatched", "cap": "--cap", "bounds": "--bounds"}
_PARAM_SYNTAX = re.compile(
    r"(?:read_survey\(path, )?\b(" + "|".join(_OPTION_OF) + r")=(?:'([^']*)'|(\.\.\.))?\)?"
)


def _cli_vocabulary(message: str) -> str:
    """``read_survey(path, encoding='cp1252')`` -> ``--encoding cp1252``; ``sep=`` -> ``--sep``."""

    def flag(m: re.Match[str]) -> str:
        value = m.group(2) if m.group(2) is not None else (m.group(3) and "...")
        return _OPTION_OF[m.group(1)] + (f" {value}" if value else "")

    return _PARAM_SYNTAX.sub(flag, message)


def _describe(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-paragraph message for an exception that reached main()."""
    if isinstance(exc, DelibpollError):
        return EXIT_INPUT, _cli_vocabulary(" ".join(str(exc).split()))
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
