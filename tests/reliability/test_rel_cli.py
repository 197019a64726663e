"""Reliability: the command line and run_config on bad input.

Each CLI case asserts the exact exit code (1 bad input, 2 usage, 3 internal error), a
one-paragraph ``delibpoll: error:`` message on standard error that names the problem and
the fix, and no traceback. Each run_config case asserts a DelibpollError naming the key,
that no output was written, and that the config and data files were left untouched.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import delibpoll as dp
from delibpoll import DelibpollError
from delibpoll.cli import main

ROOT = Path(__file__).resolve().parents[2]
T3 = ROOT / "data" / "example" / "tier3.csv"
T1 = ROOT / "data" / "example" / "tier1.csv"

GOOD_TOML = f"""[cohort]
title = "Reliability"
[data]
tier3 = "{T3}"
tier1 = "{T1}"
[weighting]
variables = ["sex", "age_group"]
"""


def _files(tmp: Path) -> dict[str, Path]:
    """Awkward input files, written fresh for each test."""
    made = {
        "junk_sav": ("junk.sav", b"hello world\x00\xff\xfe not a sav file"),
        "junk_parquet": ("junk.parquet", b"PAR1 not parquet"),
        "truncated_sav": ("trunc.sav", (ROOT / "data/example/tier3.sav").read_bytes()[:700]),
        "latin1_csv": ("latin.csv", "sex,q\nF,caf\u00e9\n".encode("latin-1")),
        "empty_csv": ("empty.csv", b""),
        "header_csv": ("header.csv", b"sex,q_pact\n"),
        "xlsx": ("data.xlsx", b"PK\x03\x04 not really"),
        "bad_targets": ("targets.csv", b"foo;bar\n1;2\n"),
    }
    out = {}
    for key, (name, content) in made.items():
        p = tmp / name
        p.write_bytes(content)
        out[key] = p
    return out


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, str]]:
    def run(argv: list[str]) -> tuple[int, str]:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    return run


def _assert_clean(err: str, pattern: str) -> None:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[delibpoll]")]
    assert lines, "no message on stderr"
    first = max(i for i, ln in enumerate(lines) if re.match(r"delibpoll( \w+)?: error: ", ln))
    # one paragraph, or one line per problem ("  - ...") for a list of problems
    assert all(ln.startswith(("  - ", "      fix:")) for ln in lines[first + 1:-1]), lines
    msg = " ".join(lines[first:])
    assert re.search(pattern, msg, flags=re.IGNORECASE), msg
    assert "\n\n" not in err.strip()


W = ["weight"]
ENG = ["--targets", "england", "--variables", "sex"]
TAB = ["--rows", "q_pact", "--columns", "sex"]

# (id, argv builder(tmp, files), exit code, pattern naming the problem and the fix)
CLI_CASES: list[tuple[str, Callable[[Path, dict[str, Path]], list[str]], int, str]] = [
    ("weight-missing-file", lambda t, f: W + [str(t / "nope.sav"), *ENG, "--out", str(t / "o.csv")], 1, r"does not exist"),
    ("table-missing-file", lambda t, f: ["table", str(t / "nope.csv"), *TAB, "--out", str(t / "o.md")], 1, r"does not exist"),
    ("input-is-folder", lambda t, f: W + [str(t), *ENG, "--out", str(t / "o.csv")], 1, r"folder"),
    ("junk-sav", lambda t, f: W + [str(f["junk_sav"]), *ENG, "--out", str(t / "o.csv")], 1, r"junk\.sav.*(truncated|type its extension|valid)"),
    ("truncated-sav", lambda t, f: ["table", str(f["truncated_sav"]), *TAB, "--out", str(t / "o.md")], 1, r"trunc\.sav"),
    ("junk-parquet", lambda t, f: W + [str(f["junk_parquet"]), *ENG, "--out", str(t / "o.csv")], 1, r"parquet"),
    ("latin1-csv", lambda t, f: ["table", str(f["latin1_csv"]), "--rows", "q", "--columns", "sex", "--out", str(t / "o.md")], 1, r"not UTF-8 text .* --encoding cp1252; other .* --encoding latin-1"),
    ("unknown-extension-input", lambda t, f: W + [str(f["xlsx"]), *ENG, "--out", str(t / "o.csv")], 1, r"extension.*\.csv"),
    ("empty-csv", lambda t, f: W + [str(f["empty_csv"]), *ENG, "--out", str(t / "o.csv")], 1, r"empty|no rows"),
    ("header-only-csv", lambda t, f: ["table", str(f["header_csv"]), *TAB, "--out", str(t / "o.md")], 1, r"no rows of data.*right file"),
    ("unknown-rows-column", lambda t, f: ["table", str(T3), "--rows", "q_pactt", "--columns", "sex", "--out", str(t / "o.md")], 1, r"--rows: 'q_pactt' is not a column.*spelling"),
    ("unknown-columns-column", lambda t, f: ["table", str(T3), "--rows", "q_pact", "--columns", "sexx", "gender", "--out", str(t / "o.md")], 1, r"--columns: 'sexx', 'gender' are not columns"),
    ("unknown-weights-column", lambda t, f: ["table", str(T3), *TAB, "--weights", "wt", "--out", str(t / "o.md")], 1, r"--weights: 'wt' is not a column"),
    ("unknown-variables", lambda t, f: W + [str(T3), "--targets", "england", "--variables", "sexe", "--out", str(t / "o.csv")], 1, r"--variables: 'sexe'"),
    ("bad-targets-name", lambda t, f: W + [str(T3), "--targets", "englnd", "--out", str(t / "o.csv")], 1, r"--targets 'englnd' does not exist.*'england'"),
    ("targets-wrong-format", lambda t, f: W + [str(T3), "--targets", str(f["bad_targets"]), "--out", str(t / "o.csv")], 1, r"variable, category, target"),
    ("weight-out-missing-folder", lambda t, f: W + [str(T3), *ENG, "--out", str(t / "no" / "o.csv")], 1, r"--out .*folder .* does not exist.*Create it"),
    ("table-out-missing-folder", lambda t, f: ["table", str(T3), *TAB, "--out", str(t / "no" / "o.md")], 1, r"--out .*does not exist"),
    ("table-out-unknown-extension", lambda t, f: ["table", str(T3), *TAB, "--out", str(t / "o.pdf")], 1, r"--out .*'\.pdf'.*\.xlsx, \.csv, \.html or \.md"),
    ("table-out-no-extension", lambda t, f: ["table", str(T3), *TAB, "--out", str(t / "table")], 1, r"no extension"),
    ("weight-out-unknown-extension", lambda t, f: W + [str(T3), *ENG, "--out", str(t / "o.xyz")], 1, r"o\.xyz.*\.csv"),
    ("out-is-folder", lambda t, f: ["table", str(T3), *TAB, "--out", str(t)], 1, r"is a folder"),
    ("bounds-with-rake", lambda t, f: W + [str(T3), *ENG, "--bounds", "0.5", "2", "--out", str(t / "o.csv")], 2, r"--bounds applies to calibration"),
    ("cap-with-calibration", lambda t, f: W + [str(T3), *ENG, "--method", "linear", "--cap", "3", "--out", str(t / "o.csv")], 2, r"--cap applies to --method rake"),
    ("logit-without-bounds", lambda t, f: W + [str(T3), *ENG, "--method", "logit", "--out", str(t / "o.csv")], 2, r"--bounds L U"),
    ("cap-not-above-1", lambda t, f: W + [str(T3), *ENG, "--cap", "0.5", "--out", str(t / "o.csv")], 2, r"--cap.*> 1"),
    ("negative-decimals", lambda t, f: ["table", str(T3), *TAB, "--decimals", "-1", "--out", str(t / "o.md")], 2, r"--decimals.*>= 0"),
    ("sig-level-out-of-range", lambda t, f: ["table", str(T3), *TAB, "--sig-level", "5", "--out", str(t / "o.md")], 2, r"--sig-level.*between 0 and 1"),
    ("run-missing-config", lambda t, f: ["run", str(t / "nope.toml")], 1, r"does not exist.*path"),
    ("run-config-is-folder", lambda t, f: ["run", str(t)], 1, r"folder.*\.toml"),
]


@pytest.mark.parametrize(("argv", "code", "pattern"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(tmp_path: Path, cli: Callable[[list[str]], tuple[int, str]],
                       argv: Callable[[Path, dict[str, Path]], list[str]], code: int, pattern: str) -> None:
    before = T3.read_bytes()
    got, err = cli(argv(tmp_path, _files(tmp_path)))
    assert got == code, err
    _assert_clean(err, pattern)
    assert T3.read_bytes() == before  # the input file is never touched


# ---------------------------------------------------------------------- config files
# (id, TOML text, pattern of the message naming the key and the fix)
TOML_CASES: list[tuple[str, str, str]] = [
    ("syntax-error", "[cohort\ntitle = 'x'\n", r"not valid TOML.*line 1"),
    ("unquoted-string", "[cohort]\ntitle = hello\n", r"not valid TOML.*quotes"),
    ("title-not-string", GOOD_TOML.replace('title = "Reliability"', "title = 5"), r"\[cohort\] title must be a string; got 5 \(an integer\)\. Put it in quotes"),
    ("tier3-not-string", GOOD_TOML.replace(f'tier3 = "{T3}"', "tier3 = 7"), r"\[data\] tier3 must be a string \(a file path\); got 7"),
    ("two-problems-at-once", GOOD_TOML.replace('title = "Reliability"', "title = 5").replace(f'tier3 = "{T3}"', "tier3 = 7"), r"(?s)has 2 problems:.*title.*tier3"),
    ("list-where-table", GOOD_TOML.replace('[weighting]\nvariables = ["sex", "age_group"]\n', '').replace("[cohort]", 'weighting = ["sex"]\n[cohort]'), r"'weighting' must be a table \(a \[weighting\] section\); got \['sex'\]"),
    ("questions-list-not-table", GOOD_TOML + '[comparison]\nquestions = ["q_pact"]\n', r"\[comparison\] questions must be a table"),
    ("question-not-table", GOOD_TOML + '[comparison.questions]\nq_pact = "q_pact_post"\n', r"\[comparison.questions\] q_pact must be a table"),
    ("headline-table-not-array", GOOD_TOML + '[headline]\nquestion = "q_pact"\n', r"'headline' must be an array of tables \(\[\[headline\]\]"),
    ("headline-without-question", GOOD_TOML + '[[headline]]\ncategory = "x"\n', r"\[\[headline\]\] number 1 needs 'question'"),
    ("comparison-without-tier1", GOOD_TOML.replace(f'tier1 = "{T1}"\n', "") + '[comparison.questions.q_pact]\nbefore = "a"\nafter = "b"\n', r"\[comparison.questions\] compares Tier 1 with Tier 3, but \[data\] has no tier1 file; add tier1"),
    ("missing-weighting-section", GOOD_TOML.split("[weighting]")[0], r"needs a \[weighting\] section \(with variables\)"),
    ("variables-empty", GOOD_TOML.replace('["sex", "age_group"]', "[]"), r"\[weighting\] variables must be a non-empty list of strings"),
    ("tier3-weights-number", GOOD_TOML.replace("[weighting]", "tier3_weights = 1\n[weighting]"), r"\[data\] tier3_weights must be a string"),
    ("synthetic-not-bool", GOOD_TOML.replace('title = "Reliability"', 'synthetic = "yes"'), r"\[cohort\] synthetic must be true or false"),
    ("cap-string", GOOD_TOML + 'cap = "6"\n', r"\[weighting\] cap must be a number; got '6'"),
    ("cap-with-linear", GOOD_TOML + 'method = "linear"\ncap = 3\n', r"cap applies to method = 'rake' only"),
    ("unknown-method", GOOD_TOML + 'method = "ipf"\n', r"\[weighting\] method must be one of \['rake'"),
    ("level-out-of-range", GOOD_TOML + "[estimation]\nlevel = 95\n", r"\[estimation\] level must be a number in \(0, 1\)"),
    ("banner-min-base-float", GOOD_TOML + '[banner]\ncolumns = ["sex"]\nmin_base = 50.5\n', r"\[banner\] min_base must be a whole number"),
    ("banner-without-columns", GOOD_TOML + '[banner]\nrows = ["q_pact"]\n', r"\[banner\] needs 'columns'"),
    ("arm-missing-keys", GOOD_TOML + '[information_arm]\nvariable = "info_arm"\n', r"(?s)\[information_arm\] needs 'question'.*needs 'category'"),
    ("missing-data-file", GOOD_TOML.replace(f'tier3 = "{T3}"', 'tier3 = "nope/tier3.csv"'), r"\[data\] tier3 file .*nope/tier3\.csv' does not exist \(a relative path is relative to the config file's folder"),
    ("unknown-weighting-variable", GOOD_TOML.replace('"age_group"]', '"agegroup"]'), r"\[weighting\] variables: No margin 'agegroup'.*Add the margin"),
    ("unknown-column", GOOD_TOML + '[[headline]]\nquestion = "q_pactt"\n', r"\[\[headline\]\] number 1 question names 'q_pactt', which is not a column of the Tier 3 data"),
    ("unknown-banner-column", GOOD_TOML + '[banner]\ncolumns = ["sexx"]\n', r"\[banner\] columns names 'sexx'"),
    ("unknown-before-column", GOOD_TOML + '[comparison.questions.q_pact]\nbefore = "q_pact_pree"\nafter = "q_pact_post"\n', r"\[comparison.questions.q_pact\] before names 'q_pact_pree'.*Tier 1"),
    ("rep-variable-without-target", GOOD_TOML + '[representativeness]\nvariables = ["info_arm"]\n', r"\[representativeness\] variables: No margin 'info_arm'"),
    ("unknown-bundled-file", GOOD_TOML.replace(f'tier3 = "{T3}"', 'tier3 = "bundled:example/nope.sav"'), r"\[data\] tier3: Bundled data file example/nope\.sav was not found"),
]


def _snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths if p.is_file()}


@pytest.mark.parametrize(("text", "pattern"), [c[1:] for c in TOML_CASES], ids=[c[0] for c in TOML_CASES])
def test_run_config_bad_toml(tmp_path: Path, text: str, pattern: str) -> None:
    cfg = tmp_path / "cohort.toml"
    cfg.write_text(text, encoding="utf-8")
    before = _snapshot(cfg, T3, T1)
    with pytest.raises(DelibpollError, match=pattern):
        dp.run_config(cfg, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written before the config was checked
    assert _snapshot(cfg, T3, T1) == before


@pytest.mark.parametrize(("text", "pattern"), [c[1:] for c in TOML_CASES[:6]], ids=[c[0] for c in TOML_CASES[:6]])
def test_cli_run_bad_toml(tmp_path: Path, cli: Callable[[list[str]], tuple[int, str]], text: str, pattern: str) -> None:
    cfg = tmp_path / "cohort.toml"
    cfg.write_text(text, encoding="utf-8")
    code, err = cli(["run", str(cfg), "--output", str(tmp_path / "out")])
    assert code == 1
    _assert_clean(err, pattern)
    assert not (tmp_path / "out").exists()


def test_config_not_utf8(tmp_path: Path, cli: Callable[[list[str]], tuple[int, str]]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(GOOD_TOML.replace("Reliability", "Caf\u00e9").encode("latin-1"))
    with pytest.raises(DelibpollError, match=r"not UTF-8 text.*Re-save it as UTF-8"):
        dp.run_config(cfg)
    code, err = cli(["run", str(cfg)])
    assert code == 1
    _assert_clean(err, r"not UTF-8")


def test_empty_data_file(tmp_path: Path) -> None:
    empty = tmp_path / "t3.csv"
    empty.write_bytes(b"")
    cfg = tmp_path / "c.toml"
    cfg.write_text(GOOD_TOML.replace(f'tier3 = "{T3}"', 'tier3 = "t3.csv"'), encoding="utf-8")
    with pytest.raises(DelibpollError, match=r"\[data\] tier3.*(empty|no rows)"):
        dp.run_config(cfg, output=tmp_path / "out")
    empty.write_bytes(b"sex,age_group\n")
    with pytest.raises(DelibpollError, match=r"\[data\] tier3 file .* has no rows of data"):
        dp.run_config(cfg, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_output_is_an_existing_file(tmp_path: Path, cli: Callable[[list[str]], tuple[int, str]]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(GOOD_TOML, encoding="utf-8")
    blocker = tmp_path / "out"
    blocker.write_text("a file")
    code, err = cli(["run", str(cfg), "--output", str(blocker)])
    assert code == 1
    _assert_clean(err, r"output folder .* is an existing file.*choose another")
    assert blocker.read_text() == "a file"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    yield other


def test_paths_relative_to_the_config_file(tmp_path: Path, elsewhere: Path) -> None:
    """Data paths and [cohort] output are relative to the config file, not the current folder."""
    proj = tmp_path / "project"
    (proj / "data").mkdir(parents=True)
    (proj / "data" / "t3.csv").write_bytes(T3.read_bytes())
    (proj / "data" / "t1.csv").write_bytes(T1.read_bytes())
    cfg = proj / "cohort.toml"
    cfg.write_text(
        GOOD_TOML.replace(f'tier3 = "{T3}"', 'tier3 = "data/t3.csv"').replace(f'tier1 = "{T1}"', 'tier1 = "data/t1.csv"')
        .replace('title = "Reliability"', 'title = "Reliability"\noutput = "results"'),
        encoding="utf-8",
    )
    before = _snapshot(cfg, proj / "data" / "t3.csv", proj / "data" / "t1.csv")
    res = dp.run_config(cfg)
    assert res.output == proj / "results" and (proj / "results" / "report.md").is_file()
    assert not (elsewhere / "results").exists()
    assert _snapshot(cfg, proj / "data" / "t3.csv", proj / "data" / "t1.csv") == before


# ---------------------------------------------------------------------- the dispatcher
def test_os_error_from_anywhere_is_a_clean_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   cli: Callable[[list[str]], tuple[int, str]]) -> None:
    """An unreadable file (as root, chmod cannot make one): the reader's PermissionError."""
    def denied(path: object, **_: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("delibpoll.io.read_survey", denied)
    code, err = cli(["table", str(T3), *TAB, "--out", str(tmp_path / "o.md")])
    assert code == 1
    _assert_clean(err, r"Reading INPUT .*tier3\.csv.*Permission denied.*permission to read")


def test_internal_error_exit_3_and_debug_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  cli: Callable[[list[str]], tuple[int, str]]) -> None:
    def broken(*_: object, **__: object) -> None:
        raise TypeError("unsupported operand")

    monkeypatch.setattr(sys.modules["delibpoll.banner"], "banner", broken)  # the module (dp.banner is the function)
    argv = ["table", str(T3), *TAB, "--out", str(tmp_path / "o.md")]
    code, err = cli(argv)
    assert code == 3
    _assert_clean(err, r"internal error TypeError: unsupported operand.*bug.*--debug")
    with pytest.raises(TypeError, match="unsupported operand"):
        main([*argv, "--debug"])
    with pytest.raises(DelibpollError, match="does not exist"):
        main(["--debug", "run", str(tmp_path / "nope.toml")])


def test_reader_library_error_is_a_clean_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 cli: Callable[[list[str]], tuple[int, str]]) -> None:
    import pyreadstat

    def corrupt(path: object, **_: object) -> None:
        raise pyreadstat.ReadstatError("Invalid file, or file has unsupported features")

    monkeypatch.setattr("delibpoll.io.read_survey", corrupt)
    code, err = cli(W + [str(T3), *ENG, "--out", str(tmp_path / "o.csv")])
    assert code == 1
    _assert_clean(err, r"Reading INPUT.*ReadstatError: Invalid file.*valid file of the type its extension says")


def test_encoding_and_separator_options_read_what_the_message_asks_for(
    tmp_path: Path, cli: Callable[[list[str]], tuple[int, str]]
) -> None:
    """The messages name CLI options (--encoding, --sep), never Python parameters, and the
    options they name read the file: 2 of 3 respondents answer "café" (by hand)."""
    data = tmp_path / "win.csv"
    data.write_bytes("sex;q\nF;caf\u00e9\nM;caf\u00e9\nM;th\u00e9\n".encode("cp1252"))
    out = tmp_path / "o.csv"
    code, err = cli(["table", str(data), "--rows", "q", "--columns", "sex", "--out", str(out)])
    assert code == 1 and "encoding=" not in err and "read_survey" not in err
    _assert_clean(err, r"--encoding cp1252")
    code, err = cli(["table", str(data), "--rows", "q", "--columns", "sex", "--out", str(out),
                     "--encoding", "cp1252", "--sep", ";", "--min-base", "0"])
    assert code == 0, err
    import pandas as pd

    fr = pd.read_csv(out, comment="#")
    total = fr[(fr["column"] == "Total") & (fr["category"] == "caf\u00e9")]
    assert float(total["estimate"].iloc[0]) == pytest.approx(2 / 3, rel=1e-12)
