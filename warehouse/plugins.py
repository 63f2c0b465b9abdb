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
built-in part already uses (a navigator's name is a policy name too, so the presets' names are
taken as well), a name that could not be written in ``--policy`` (``,``, ``+``, ``:``, ``/`` or
spaces), or one that fails to load, is an :class:`InputError` naming the entry point: nothing is
replaced or skipped silently. So is an installed part whose factory raises when a run builds it
(:func:`build_part`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import InputError

DISPATCHER_GROUP = "warehouse_fleet.dispatchers"
NAVIGATOR_GROUP = "warehouse_fleet.navigators"
SHIELD_GROUP = "warehouse_fleet.shields"
GROUPS = (DISPATCHER_GROUP, NAVIGATOR_GROUP, SHIELD_GROUP)
_KINDS = {DISPATCHER_GROUP: "dispatcher", NAVIGATOR_GROUP: "navigator", SHIELD_GROUP: "shield"}

_loaded = False

#: (group, name) → the factory an entry point registered under that name
_installed: dict[tuple[str, str], Callable[..., Any]] = {}

#: a part's name is written in ``--policy A,B``, ``DISPATCHER+NAVIGATOR`` and in run labels
#: (``rule_based:fifo+random/pibt``)
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


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
    if not _NAME.fullmatch(point.name):
        raise InputError(
            None, where, "a part's name may use letters, digits, '_', '.' and '-' only"
        )
    if registry.get(point.name, factory) is not factory:
        raise InputError(None, where, f"the name {point.name!r} is already taken")
    if point.group == NAVIGATOR_GROUP:
        from .policies import PRESETS

        if point.name in PRESETS:  # the name would mean the preset, never this navigator
            raise InputError(
                None, where, f"the name {point.name!r} is already taken (a built-in policy)"
            )
    registry[point.name] = factory
    _installed[point.group, point.name] = factory


def entry_point_of(group: str, name: str) -> str | None:
    """``"entry point GROUP:NAME"`` when the part registered as ``name`` is an installed
    package's, else ``None`` (a built-in part, or one a script registered)."""
    factory = _installed.get((group, name))
    if factory is not None and _registries()[group].get(name) is factory:
        return f"entry point {group}:{name}"
    return None


def build_part(group: str, name: str, make: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """``make(**kwargs)``, building the part registered as ``name``. When it is an installed
    package's, an exception of its factory is an :class:`InputError` naming the entry point
    (its ``__cause__`` is the original exception); the other parts' exceptions, and an
    :class:`InputError` of any part, pass through."""
    try:
        return make(**kwargs)
    except InputError:
        raise
    except Exception as exc:
        where = entry_point_of(group, name)
        if where is None:
            raise
        kind = _KINDS[group]
        raise InputError(
            None, where, f"the {kind} {name!r} failed to build: {type(exc).__name__}: {exc}"
        ) from exc


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


#: what a built part must have: attribute → how the message names it
_INTERFACE = {
    "navigator": {
        "needs_observation": "needs_observation",
        "reset": "reset(seed)",
        "act": "act(sim, obs, mask)",
    },
    "dispatcher": {"reset": "reset(seed)", "dispatch": "dispatch(sim)"},
}


def check_part(part: str, name: str, obj: Any) -> Any:
    """``obj`` if the ``part`` (``"navigator"`` or ``"dispatcher"``) built as ``name`` has what a
    fleet calls, else the one-line :class:`InputError` saying what it lacks (before a run
    starts, not an ``AttributeError`` in its first step)."""
    missing = [
        shown
        for attr, shown in _INTERFACE[part].items()
        if not hasattr(obj, attr)
        or (attr != "needs_observation" and not callable(getattr(obj, attr)))
    ]
    if missing:
        group = DISPATCHER_GROUP if part == "dispatcher" else NAVIGATOR_GROUP
        where = entry_point_of(group, name) or f"{part} {name!r}"
        needs = ", ".join(["name", *_INTERFACE[part].values()])
        raise InputError(
            None,
            where,
            f"the {part} {name!r} built a {type(obj).__name__} without "
            f"{' and '.join(missing)} (a {part} has {needs})",
        )
    return obj
