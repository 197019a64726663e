"""Registry of exporters (base layer).

A result object of a higher layer (e.g. :class:`~delibpoll.BannerTable`) renders itself
without importing the presentation layer: its ``to_excel``/``to_html``/... call
:func:`render` with a *kind* (``"banner.excel"``, ...), and the presentation layer
(:mod:`delibpoll.export`, imported by ``import delibpoll``) registers the function of each
kind with :func:`register`.

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

__all__ = ["register", "registered", "render"]

_RENDERERS: dict[str, Callable[..., Any]] = {}


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
    if fn is None:
        raise DelibpollError(
            f"No exporter is registered for {kind!r} (registered: {list(registered())}). The "
            "exporters are registered by 'import delibpoll' (module delibpoll.export)."
        )
    return fn(obj, *args, **kw)
