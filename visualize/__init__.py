"""Visual debugger, env rendering and episode replay (pygame-ce, imported lazily).

``import visualize`` needs no pygame: every module that draws imports it on first use through
:func:`visualize.backend.require_pygame`, which names the extra to install when it is missing.

* :func:`render_env` — ``env.render()`` of :class:`~warehouse.env.WarehouseEnv`;
* :class:`~visualize.viewer.Viewer` — the interactive app (``warehouse view`` / ``replay``);
* :mod:`visualize.frame` / :mod:`visualize.draw` / :mod:`visualize.inspector` — frames, drawing
  and the robot inspector data, shared by all of them.
"""

from __future__ import annotations

from typing import Any


def render_env(env: Any) -> Any:
    """Render the env in its ``render_mode`` (see :mod:`visualize.env_render`)."""
    from .env_render import render_env as _render

    return _render(env)


__all__ = ["render_env"]
