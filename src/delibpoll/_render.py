"""Registry of exporters (base layer).

A result object of a higher layer (e.g. :class:`~delibpoll.BannerTable`) renders itself
without importing the presentation layer: its ``to_excel``/``to_html``/... call
:func:`render` with a *kind* (``"banner.excel"``, ...), and the presentation layer
(:mod:`delibpoll.export`) registers the function of each kind with :func:`register` when it
is imported. The package names that module once (:func:`set_provider`), and :func:`render`
imports it the first time an exporter is asked for.

Examples
--------
>>> register("example.text", lambda obj, sep=" ": sep.join(obj))
>>> render("example.text", ["a", "b"], sep="-")
'a-b'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import DelibpollError

__all__ = ["register", "registered", "render", "set_provider"]

_RENDERERS: dict[str, Callable[..., Any]] = {}
# the module whose import registers the exporters (set by the package's __init__, so that
# this base module names no higher layer in an import statement), and whether it was loaded
_PROVIDER: dict[str, str | bool] = {"module": "", "loaded": False}


def set_provider(module: str) -> None:
    """Name the module whose import registers the exporters (``"delibpoll.export"``).

    :func:`render` imports it the first time a kind is not registered, so a result renders
    itself even when only its own module was imported (``from delibpoll.banner import
    banner``): dependency injection by module name, set once by ``delibpoll/__init__.py``.

    Parameters
    ----------
    module : str
        Absolute module name.
    """
    _PROVIDER["module"] = module
    _PROVIDER["loaded"] = False


def register(kind: str, fn: Callable[..., Any]) -> None:
    """Register ``fn(obj, *args, **kw)`` as the renderer of ``kind`` (replacing any other).

    Parameters
    ----------
    kind : str
        What is rendered to what, e.g. ``"banner.excel"``.
    fn : callable
        Called as ``fn(obj, *args, **kw)`` by :func:`render`.
    """
    if not isinstance(kind, str) or not kind:
        raise DelibpollError(f"An exporter kind must be non-empty text; got {kind!r}.")
    if not callable(fn):
        raise DelibpollError(f"The exporter of {kind!r} must be callable; got {type(fn).__name__}.")
    _RENDERERS[kind] = fn


def registered() -> tuple[str, ...]:
    """The registered kinds, sorted."""
    return tuple(sorted(_RENDERERS))


def render(kind: str, obj: object, *args: Any, **kw: Any) -> Any:
    """Render ``obj`` with the exporter registered for ``kind``.

    Raises
    ------
    DelibpollError
        If no exporter is registered for ``kind``.
    """
    fn = _RENDERERS.get(kind)
    if fn is None and _PROVIDER["module"] and not _PROVIDER["loaded"]:
        import importlib

        _PROVIDER["loaded"] = True
        importlib.import_module(str(_PROVIDER["module"]))
        fn = _RENDERERS.get(kind)
    if fn is None:
        raise DelibpollError(
            f"No exporter is registered for {kind!r} (registered: {list(registered())}). The "
            "exporters are registered by 'import delibpoll' (module delibpoll.export)."
        )
    return fn(obj, *args, **kw)
