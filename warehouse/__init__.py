"""warehouse: simulate, learn to run, watch and measure warehouse robot fleets.

Flow of the package: scenario (``scenarios``) → floor (``warehouse.floor``) → core
(``warehouse.core``) → env (``warehouse.env``) → policies (``agents``, ``hierarchy``) → KPIs
(``warehouse.kpis``) → views (``visualize``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .jit_cache import configure as _configure_jit_cache

if TYPE_CHECKING:
    import networkx as nx

__version__ = "0.1.0"

_configure_jit_cache()  # before any numba kernel is compiled (warehouse.jit_cache)


def make_env(
    scenario: str | Path | nx.Graph = "small",
    *,
    seed: int | None = None,
    render_mode: str | None = None,
    state: str = "grid",
    **overrides: Any,
):
    """Build the PettingZoo ParallelEnv of a built-in scenario name, a scenario/map file or a
    networkx ``Graph``/``DiGraph`` floor.

    A graph's nodes and edges carry the attributes of a JSON waypoint graph (``pos``, ``kind``,
    ``length`` …; :mod:`warehouse.floor.formats.graphio`) and are checked by exactly its rules:
    the env is the one ``save_graph(G, "g.json")`` then ``make_env("g.json")`` builds, on the
    default scenario. ``G`` is not changed; errors name ``graph`` and the node or edge.

    ``overrides`` are scenario settings, by short name (``robots=10``, ``steps=200``,
    ``collisions="physical"``, ``tasks="goal_visit"``) or dotted path (``**{"fleet.robots": 10}``).
    The env runs the collision mode ``collisions=`` names; without it the scenario's
    ``policies.shield``, else its ``physics.collisions`` (as ``warehouse run --collisions``).
    With ``seed`` the env is reset once with it, so the first ``reset()`` without a seed continues
    that stream. ``state``: what ``env.state()`` returns, ``"grid"`` (the occupancy grid) or
    ``"channels"`` (five channels for a centralized critic; :class:`~warehouse.env.WarehouseEnv`).
    """
    import networkx as nx

    from scenarios import (
        apply_overrides,
        blame_override,
        build_floor,
        graph_scenario,
        load_scenario,
    )
    from scenarios.load import dotted_names

    from .env import WarehouseEnv
    from .errors import InputError

    graph = None
    if isinstance(scenario, nx.Graph):
        (sc, graph), source = graph_scenario(scenario, overrides), None
    else:
        sc, source = load_scenario(scenario)
    # a setting given here that the floor or the dispatcher refuses is named (by its dotted
    # path), not blamed on the scenario file, as apply_overrides names those the schema refuses
    names = dotted_names(overrides)
    if "collisions" in overrides:  # the env's mode, also over a scenario's policies.shield
        overrides = {**overrides, "policies.shield": None}
        names["policies.shield"] = "collisions"
    sc = apply_overrides(sc, overrides, source)
    floor = build_floor(sc, source, names, graph=graph)
    try:
        env = WarehouseEnv(floor, sc, render_mode=render_mode, source=source, state=state)
    except InputError as exc:
        raise blame_override(exc, overrides, names) from None
    if seed is not None:
        env.reset(seed=seed)
    return env


def set_threads(n: int) -> None:
    """Threads that build observations (:mod:`warehouse.core.threads`); 1 (the default unless
    ``WAREHOUSE_THREADS`` is set) uses none but the caller's."""
    from .core.threads import set_threads as _set

    _set(n)


def get_threads() -> int:
    """The thread count set by :func:`set_threads` or ``WAREHOUSE_THREADS``."""
    from .core.threads import get_threads as _get

    return _get()


__all__ = ["__version__", "get_threads", "make_env", "set_threads"]
