"""A griffe extension for the API page: Sphinx roles in numpydoc docstrings
(``:func:`~delibpoll.rake```) become cross-references (mkdocs-autorefs' ``<autoref>``
elements) instead of showing as raw text.

``:role:`~pkg.name``` shows ``name``; ``:role:`pkg.name``` shows ``pkg.name``; a relative
name (``:meth:`to_frame```) is looked up beside the documented object, then in the package.
The references are optional: a target the API page does not render (a private module) shows
as code with no link, and no warning.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

ROLE = re.compile(
    r":(?:py:)?(?P<role>func|class|meth|data|attr|mod|obj|exc|const)"
    r":`(?P<tilde>~?)(?P<text>[^`<]+?)(?:\s*<(?P<target>[^>]+)>)?`"
)
CALLABLE = {"func", "meth"}


def _target(name: str, obj: Object) -> str:
    if name.startswith("delibpoll"):
        return name
    if name.startswith("."):
        name = name.lstrip(".")
    parent = obj.parent if obj.is_function or obj.is_attribute else obj
    if parent is not None and "." not in name:
        return f"{parent.path}.{name}"
    return f"delibpoll.{name}"


def convert(text: str, obj: Object) -> str:
    """Every Sphinx role in ``text`` as an optional autoref."""

    def one(m: re.Match[str]) -> str:
        shown = m.group("text").strip()
        target = _target((m.group("target") or shown).strip(), obj)
        if m.group("target") is None:
            shown = shown.rsplit(".", 1)[-1] if m.group("tilde") else shown.lstrip(".")
            if m.group("role") in CALLABLE and not shown.endswith(")"):
                shown += "()"
        return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'

    return ROLE.sub(one, text)


class RstRoles(Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = convert(obj.docstring.value, obj)
