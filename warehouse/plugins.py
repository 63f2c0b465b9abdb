"""Dispatchers, navigators and shields from other packages, registered through entry points.

A package makes its own parts available to every ``warehouse`` command, scenario file and
:class:`~warehouse.model.WarehouseModel` by naming them in its ``pyproject.toml``::

    [project.entry-points."warehouse_fleet.dispatchers"]
    nearest = "my_fleet.dispatch:NearestFirst"      # factory(**kwargs) -> Dispatcher

    [project.entry-points."warehouse_fleet.navigators"]
    careful = "my_fleet.navigate:make_careful"      # factory(**kwargs) -> Navigator

    [project.entry-points."warehouse_fleet.shields"]
    lacam = "my_fleet.shield:LaCAMShield"           # factory() -> Shield

After ``pip install`` of that package, ``warehouse run --dispatcher nearest`` works and
``warehouse list`` shows the names. A dispatcher has ``name``, ``reset(seed)`` and
``dispatch(sim)`` (:class:`hierarchy.dispatchers.Dispatcher`); a navigator has ``name``,
``needs_observation``, ``reset(seed)`` and ``act(sim, obs, mask)``
(:class:`agents.base.Navigator`); a shield has ``name`` and ``__call__(sim, actions,
preferences, mask)`` (:class:`warehouse.shield.Shield`), and its name becomes a collision mode
(``--collisions lacam``, ``physics.collisions: lacam``). In a script, adding to
:data:`hierarchy.DISPATCHERS`, :data:`agents.NAVIGATORS` or :data:`warehouse.shield.SHIELDS`
does the same.

Entry points are loaded once per process, when names are first resolved. A name that a
built-in part already uses, or one that fails to load, is an :class:`InputError` naming the
entry point: nothing is replaced or skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import InputError

DISPATCHER_GROUP = "warehouse_fleet.dispatchers"
NAVIGATOR_GROUP = "warehouse_fleet.navigators"
SHIELD_GROUP = "warehouse_fleet.shields"
GROUPS = (DISPATCHER_GROUP, NAVIGATOR_GROUP, SHIELD_GROUP)

_loaded = False


def _registries() -> dict[str, dict[str, Callable[..., Any]]]:
    from agents import NAVIGATORS
    from hierarchy import DISPATCHERS

    from .shield import SHIELDS

    return {DISPATCHER_GROUP: DISPATCHERS, NAVIGATOR_GROUP: NAVIGATORS, SHIELD_GROUP: SHIELDS}


def _load(point: EntryPoint, registry: dict[str, Callable[..., Any]]) -> None:
    where = f"entry point {point.group}:{point.name}"
    try:
        factory = point.load()
    except Exception as exc:  # an import error, a missing attribute, an error in the module
        raise InputError(None, where, f"cannot load {point.value!r}: {exc}") from None
    if not callable(factory):
        raise InputError(None, where, f"{point.value!r} is not callable")
    if registry.get(point.name, factory) is not factory:
        raise InputError(None, where, f"the name {point.name!r} is already taken")
    registry[point.name] = factory


def load_plugins() -> None:
    """Register the installed packages' dispatchers, navigators and shields (once per
    process)."""
    global _loaded
    if _loaded:
        return
    found = {group: entry_points(group=group) for group in GROUPS}
    if any(found.values()):
        registries = _registries()
        for group, points in found.items():
            for point in sorted(points, key=lambda p: p.name):
                _load(point, registries[group])
    _loaded = True
