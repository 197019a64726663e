"""The package's structure stays as built (docs/architecture.md).

Every module of ``src/delibpoll`` belongs to one layer; imports point only downward (to the
module's own layer or a lower one), anywhere in a module: at module level, inside functions
and under ``if TYPE_CHECKING:``. There is no import cycle, no import of another module's
underscore name, and no access to another object's underscore attributes (a
``SurveyDesign``'s private fields above all): only ``self`` and ``cls`` reach their own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "delibpoll"

LAYERS = ["base", "values", "kernels", "design", "api", "inference", "presentation",
          "application", "package"]

LAYER_OF = {
    # base: no statistics of a design; everything else builds on it
    "exceptions": "base",
    "_types": "base",
    "_validation": "base",
    "_coding": "base",
    "_ci": "base",
    "_multiplicity": "base",
    "_stats": "base",
    "_render": "base",
    "_labels": "base",
    "_arrays": "base",
    "_frames": "base",
    "_format": "base",
    "_display": "base",
    "io": "base",
    "_version": "base",
    # values: plain, frozen data
    "targets": "values",
    "_structure": "values",
    "_records": "values",
    "_repweights": "values",
    "mapping": "values",
    "codebook": "values",
    # kernels: computations on plain arrays
    "_engine": "kernels",
    "_cells": "kernels",
    "_variance": "kernels",
    "_ratios": "kernels",
    "_quantiles": "kernels",
    "_replicate_build": "kernels",
    "_hadamard": "kernels",
    "_replay": "kernels",
    "_glm": "kernels",
    "_formula": "kernels",
    # the design object
    "design": "design",
    # public statistics API
    "estimation": "api",
    "lazy": "api",
    "quantiles": "api",
    "summaries": "api",
    "weighting": "api",
    "datasets": "api",
    "regression": "api",
    "ordinal": "api",
    "weightspec": "api",
    "cells": "api",
    # inference on top of estimates
    "contrast": "inference",
    "chisq": "inference",
    "banner": "inference",
    "grid": "inference",
    "deliberative": "inference",
    # presentation: results in, files and charts out
    "export": "presentation",
    "plots": "presentation",
    "plots_balance": "presentation",
    # application
    "pipeline": "application",
    "cli": "application",
    "__init__": "package",
}


def _modules() -> dict[str, Path]:
    """``dotted name relative to delibpoll -> path`` for every module of the package."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> str:
    top = module.split(".")[0]
    if top not in LAYER_OF:
        raise KeyError(top)
    return LAYER_OF[top]


def _package_of(module: str, path: Path) -> list[str]:
    parts = module.split(".") if module != "__init__" else []
    return parts if path.name == "__init__.py" else parts[:-1]


def _imports(module: str, path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(imported delibpoll module, names imported from it, line) for every import anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "delibpoll" or alias.name.startswith("delibpoll."):
                    yield alias.name.removeprefix("delibpoll").lstrip(".") or "__init__", [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module and (node.module == "delibpoll"
                                         or node.module.startswith("delibpoll."))):
                    continue
                base = node.module.removeprefix("delibpoll").lstrip(".").split(".") if node.module != "delibpoll" else []
                base = [b for b in base if b]
            else:
                pkg = _package_of(module, path)
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                if node.module:
                    base = base + node.module.split(".")
            names = [a.name for a in node.names]
            target = ".".join(base) or "__init__"
            # "from . import datasets" imports a module
            for name in names:
                sub = ".".join([*base, name])
                if sub in MODULES:
                    yield sub, [], node.lineno
            plain = [n for n in names if ".".join([*base, n]) not in MODULES]
            if plain or not names:
                yield target, plain, node.lineno


def test_every_module_has_a_layer() -> None:
    unknown = sorted(m for m in MODULES if m.split(".")[0] not in LAYER_OF)
    assert not unknown, (
        f"modules without a layer: {unknown}; add them to LAYER_OF here and to "
        "docs/architecture.md"
    )


def _violations() -> tuple[list[str], list[str], dict[str, set[str]]]:
    upward, private = [], []
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for target, names, line in _imports(module, path):
            if target not in MODULES:
                continue
            graph[module].add(target)
            if LAYERS.index(_layer(target)) > LAYERS.index(_layer(module)):
                upward.append(f"{path.relative_to(SRC)}:{line} imports {target} "
                              f"({_layer(module)} -> {_layer(target)})")
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    private.append(f"{path.relative_to(SRC)}:{line} imports {target}.{name}")
    return upward, private, graph


def test_imports_point_only_downward() -> None:
    upward, _, _ = _violations()
    assert not upward, "imports into a higher layer:\n" + "\n".join(upward)


def test_no_import_of_another_modules_underscore_name() -> None:
    _, private, _ = _violations()
    assert not private, "imports of underscore names:\n" + "\n".join(private)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    _, _, graph = _violations()
    # a package's __init__ importing its own submodules is not a cycle of the code
    for m in list(graph):
        if MODULES[m].name == "__init__.py":
            graph[m] = {t for t in graph[m] if not t.startswith(m + ".") or m == "__init__"}
    graph["__init__"] = set()  # the top of the package imports everything, nothing imports it
    cycles = _cycles(graph)
    assert not cycles, f"import cycles: {cycles}"


def _private_attribute_uses(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
            if not name.startswith("_") or name.startswith("__"):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            yield f"{path.relative_to(SRC)}:{node.lineno} .{name}"


def test_no_access_to_another_objects_private_attributes() -> None:
    """Only ``self``/``cls`` touch underscore attributes; every other layer goes through
    public accessors (e.g. ``design.weight_array``, never ``design._w``)."""
    uses = [u for path in MODULES.values() for u in _private_attribute_uses(path)]
    assert not uses, "underscore attributes of other objects:\n" + "\n".join(uses)


@pytest.mark.parametrize("code, expected", [
    ("from .design import _Structure\n",
     ["imports design (values -> design)", "imports design._Structure"]),
    ("def f():\n    from .pipeline import run_config\n", ["imports pipeline (values -> application)"]),
])
def test_the_checks_catch_violations(tmp_path: Path, code: str, expected: list[str]) -> None:
    """The checker itself: a values-layer module that imports an underscore name, or a
    higher layer inside a function, is reported."""
    fake = tmp_path / "_structure.py"
    fake.write_text(code, encoding="utf-8")
    found = []
    for target, names, _line in _imports("_structure", fake):
        if LAYERS.index(_layer(target)) > LAYERS.index(_layer("_structure")):
            found.append(f"imports {target} ({_layer('_structure')} -> {_layer(target)})")
        found.extend(f"imports {target}.{n}" for n in names if n.startswith("_"))
    assert found == expected


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
