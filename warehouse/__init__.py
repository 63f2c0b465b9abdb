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
    from collections.abc import Mapping

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

    The env takes the robots' moves from the caller (``env.step(actions)``) and gives them their
    tasks with the scenario's dispatcher (``policies.dispatcher`` and its settings). A setting
    given here that the env does not use is refused with a ``ValueError`` (:data:`ENV_UNUSED`):
    a navigator (``navigator=``, its checkpoint and arguments, ``policies.run``: navigators run
    in ``warehouse run`` and :class:`~warehouse.model.WarehouseModel`), ``seeds`` (use ``seed``
    or ``reset(seed=...)``), ``policies.baseline``, ``policies.candidate``,
    ``policies.candidate_set``, ``policies.incumbent_set``, ``episode.collect_every``, a
    dispatcher checkpoint the dispatcher does not load and another dispatcher's arguments.

    A scenario *file* loads as it is, so one file serves ``warehouse run`` and the env, which
    does not use its navigator or navigator settings. Where the file's ``policies.run`` lists
    the policies (a run folder's ``scenario.yaml``), the env runs as they run in ``warehouse
    run``: their dispatcher, not the file's ``policies.dispatcher``, and the collision mode they
    run under (``rule_based/pibt``: pibt), not the file's ``policies.shield``. A list whose
    policies differ in their dispatcher (or mode) is refused with a ``ValueError`` unless
    ``dispatcher=`` (``collisions=``) picks it: a keyword wins over the list. Otherwise the env
    runs the file's ``policies.dispatcher`` and ``policies.shield``. ``WarehouseEnv(floor,
    scenario)`` built directly follows the same rule (:func:`~warehouse.env.env_scenario`), and
    ``env.scenario`` says what runs: those parts, the list left out.
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

    from .env import WarehouseEnv, env_scenario
    from .errors import InputError

    _check_used(overrides)
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
    sc = env_scenario(sc, source, _picked(overrides))  # (the rule WarehouseEnv follows)
    if sc.policies.shield and _sets_physics_mode(overrides):
        raise ValueError(
            f"make_env: physics.collisions has no effect in the env: the scenario's "
            f"policies.shield ({sc.policies.shield}) sets its collision mode; use collisions="
        )
    floor = build_floor(sc, source, names, graph=graph)
    _check_dispatcher_settings_used(overrides, sc)
    try:
        env = WarehouseEnv(floor, sc, render_mode=render_mode, source=source, state=state)
    except InputError as exc:
        raise blame_override(exc, overrides, names) from None
    if seed is not None:
        env.reset(seed=seed)
    return env


_MOVES = (
    "the env takes the robots' moves from the caller (env.step(actions)); navigators run in "
    "`warehouse run` and WarehouseModel"
)
#: settings :func:`make_env` refuses as keywords (by their dotted path, and anything below
#: them): the env does not use them (why)
ENV_UNUSED = {
    "policies.navigator": _MOVES,
    "policies.navigator_checkpoint": _MOVES,
    "policies.navigator_args": _MOVES,
    "policies.run": _MOVES,
    "policies.baseline": "it is the policy `warehouse run` compares the others with",
    "policies.candidate": "it is the policy `warehouse shadow` logs the decisions of",
    "policies.candidate_set": "it is the candidate's own settings in `warehouse shadow`",
    "policies.incumbent_set": "it is the incumbent's own settings in `warehouse shadow`",
    "episode.seeds": "the env is seeded by make_env(seed=...) or env.reset(seed=...)",
    "episode.collect_every": "it is the period of `warehouse run`'s kpis.csv; the env keeps "
    "no series",
}


def _picked(overrides: dict[str, Any]) -> set[str]:
    """The dotted settings ``overrides`` give (a whole section given as a mapping: each of its
    fields too), which win over a file's ``policies.run`` (:func:`~warehouse.env.env_scenario`)."""
    from scenarios.load import SHORTCUTS

    given: set[str] = set()
    for key, value in overrides.items():
        dotted = SHORTCUTS.get(key, key)
        given.add(dotted)
        if isinstance(value, dict):  # (a whole section: policies={...}, physics={...})
            given |= {f"{dotted}.{name}" for name in value}
    return given


def _sets_physics_mode(overrides: dict[str, Any]) -> bool:
    """Whether ``overrides`` set ``physics.collisions`` by its dotted path or in a ``physics``
    mapping (``collisions=`` is the env's own mode, :func:`make_env`)."""
    physics = overrides.get("physics")
    return "physics.collisions" in overrides or (
        isinstance(physics, dict) and "collisions" in physics
    )


def unused_setting(
    key: str, value: Any, table: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """``(setting, why)`` for an override ``key`` (a short name or dotted path) of a setting of
    ``table`` (``{dotted setting: why it is not used}``; default :data:`ENV_UNUSED`, what the env
    does not use; :data:`warehouse.cli.checks.READ_BY_ONE_COMMAND`, what only ``warehouse run``
    or only ``warehouse shadow`` reads): the setting or anything below it, or a whole section
    given as a mapping that holds it (its first such setting); ``None`` when none is."""
    from scenarios.load import SHORTCUTS

    dotted = SHORTCUTS.get(key, key)
    for setting, why in (ENV_UNUSED if table is None else table).items():
        if dotted == setting or dotted.startswith(f"{setting}."):
            return setting, why
        section, _, name = setting.partition(".")
        if dotted == section and isinstance(value, dict) and name in value:
            return setting, why
    return None


def _check_used(overrides: dict[str, Any]) -> None:
    """A keyword of :func:`make_env` that the env would ignore: a one-line ``ValueError``."""
    for key, value in overrides.items():
        if (found := unused_setting(key, value)) is not None:
            setting, why = found
            named = key if key == setting else f"{key} ({setting})"
            raise ValueError(f"make_env: {named}={value!r} has no effect in the env: {why}")


def _check_dispatcher_settings_used(overrides: dict[str, Any], sc: Any) -> None:
    """A dispatcher checkpoint given to :func:`make_env` that the scenario's dispatcher does
    not load, or arguments given for another dispatcher: a one-line ``ValueError`` (the env
    runs one dispatcher)."""
    from scenarios.load import SHORTCUTS

    from .policies import checkpoint_kwargs

    name = sc.policies.dispatcher
    for key, value in overrides.items():
        dotted = SHORTCUTS.get(key, key)
        section = value if dotted == "policies" and isinstance(value, dict) else {}
        if dotted == "policies.dispatcher_checkpoint" or "dispatcher_checkpoint" in section:
            if sc.policies.dispatcher_checkpoint and not checkpoint_kwargs("dispatcher", name, sc):
                why = f"its dispatcher {name!r} loads no checkpoint"
                raise ValueError(f"make_env: {key}={value!r} has no effect in the env: {why}")
        args = section.get("dispatcher_args") if section else None
        if dotted == "policies.dispatcher_args":
            args = value
        parts = dotted.split(".")
        given = set(args) if isinstance(args, dict) else set()
        if parts[:2] == ["policies", "dispatcher_args"] and len(parts) > 2:
            given = {parts[2]}
        if others := sorted(str(n) for n in given - {name}):
            why = f"it runs the dispatcher {name!r}, not {', '.join(others)}"
            raise ValueError(f"make_env: {key}={value!r} has no effect in the env: {why}")


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
