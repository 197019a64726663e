"""Reproducible sessions for delibpoll.

``nox -s analyses`` is the main job (the cohort pipeline on the bundled data);
``nox -s tests`` runs the test suite. Both work on a fresh machine with only Python and pip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["analyses"]
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against an installed (non-editable) copy of the package."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "analyses", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/."""
    session.install(".[typecheck]")
    session.run("mypy", "src/delibpoll")


@nox.session
def analyses(session: nox.Session) -> None:
    """The main job: run the analysis pipeline on the bundled data into analyses/output/."""
    session.install(".")
    session.run("python", "analyses/run_all.py", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (warnings fail) into docs/_build."""
    session.install(".", "mkdocs", "mkdocs-material", "mkdocstrings[python]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against peer packages (installed only here); writes benchmarks/output/."""
    session.install(".", "weightipy", "svy")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=False)
def reference(session: nox.Session) -> None:
    """Regenerate the R reference values (needs R with the survey package; not default)."""
    if shutil.which("Rscript") is None:
        session.error(
            "Rscript not found. Install R: apt-get update && "
            "apt-get install -y r-base-core r-cran-survey"
        )
    session.run("Rscript", "tests/reference/make_reference.R", external=True)
