"""``warehouse.make_env(G)`` and ``WarehouseModel(G)`` on an in-memory networkx graph: the floor,
the trajectories and the errors are those of the JSON file ``save_graph`` writes of ``G``, and
``G`` is left as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

import warehouse
from warehouse.errors import InputError
from warehouse.floor.formats import read_graph, save_graph
from warehouse.model import WarehouseModel

FLOOR_ARRAYS = (
    "pos",
    "kind",
    "nbr",
    "mask",
    "length",
    "cell_of",
    "start_ok",
    "goal_ok",
    "transit",
    "charger",
)


def hall(directed: bool = False) -> nx.Graph:
    """A small waypoint floor: tuple and text ids, numpy and fractional positions, lengths, a
    charger, a one-way loop where ``directed``."""
    graph: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    graph.graph.update(name="hall", cell_size=1.2)
    for col in range(5):
        graph.add_node((0, col), pos=(0, col), kind="aisle")
        graph.add_node((2, col), pos=np.array([2, col]), kind="aisle")
    graph.add_node("s1", pos=[1, 0], kind="station")
    graph.add_node("s2", pos=(1.4, 5.4), kind="station")  # off the grid
    graph.add_node("p1", pos=(3, 1), kind="pick")
    graph.add_node("p2", pos=(3, 3), kind="pick", start=False)
    graph.add_node("c1", pos=(-1, 2), kind="parking", charger=True, label="dock")
    edges = [((0, c), (0, c + 1)) for c in range(4)] + [((2, c + 1), (2, c)) for c in range(4)]
    edges += [((2, 0), "s1"), ("s1", (0, 0)), ((0, 4), "s2"), ("s2", (2, 4))]
    edges += [((2, 1), "p1"), ("p1", (2, 1)), ((2, 3), "p2"), ("p2", (2, 3))]
    edges += [((0, 2), "c1"), ("c1", (0, 2))]
    for u, v in edges:
        graph.add_edge(u, v)
    graph.edges["s2", (2, 4)]["length"] = np.float32(2.5)
    graph.edges[(0, 1), (0, 2)]["length"] = 1.7
    return graph


def _same_floor(a: Any, b: Any) -> None:
    for name in FLOOR_ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    assert a.nodes == b.nodes
    assert (a.is_grid, a.cell_size, a.name) == (b.is_grid, b.cell_size, b.name)


def _play(env: Any, steps: int, seed: int) -> list[Any]:
    """Every step's observations, rewards, ends and infos under random masked actions."""
    rng = np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    out: list[Any] = [(obs, infos)]
    for _ in range(steps):
        if not env.agents:
            break
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in env.agents}
        obs, rewards, terms, truncs, infos = env.step(actions)
        out.append((actions, obs, rewards, terms, truncs, infos))
    return out


def _equal(a: Any, b: Any) -> bool:
    """Exact equality of nested dicts, lists and arrays (dtypes included)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _snapshot(graph: nx.Graph) -> str:
    return repr(
        (
            type(graph),
            graph.graph,
            list(graph.nodes(data=True)),
            list(graph.edges(data=True)),
        )
    )


@pytest.mark.parametrize(
    ("directed", "overrides"),
    [
        (False, {}),
        (True, {"collisions": "physical"}),
        (False, {"physics.speed_m_s": 1.0, "collisions": "pibt"}),
    ],
)
def test_make_env_of_a_graph_is_make_env_of_its_saved_json_file(
    directed: bool, overrides: dict[str, Any], tmp_path: Path
) -> None:
    """Same floor arrays, and the same observations, rewards and infos over 60 steps of the
    same seeded random masked actions, as the JSON file ``save_graph`` writes of the graph."""
    graph = hall(directed)
    path = save_graph(graph, tmp_path / "hall.json")
    from_graph = warehouse.make_env(graph, robots=4, steps=200, **overrides)
    from_file = warehouse.make_env(path, robots=4, steps=200, **overrides)
    _same_floor(from_graph.sim.floor, from_file.sim.floor)
    assert from_graph.sim.floor.is_grid is False
    if "physics.speed_m_s" in overrides:
        assert from_graph.sim.floor.transit.any()  # the 1.7 m and 2.5 m edges were split
    a, b = _play(from_graph, 60, seed=5), _play(from_file, 60, seed=5)
    assert len(a) == 61 and _equal(a, b)
    assert any(any(r != 0 for r in step[2].values()) for step in a[1:])  # something happened


def test_the_mesa_model_of_a_graph_is_that_of_its_saved_json_file(tmp_path: Path) -> None:
    """``WarehouseModel(G)`` runs the floor and KPIs of ``WarehouseModel(saved file)``."""
    graph = hall(directed=True)
    path = save_graph(graph, tmp_path / "hall.json")
    runs = [WarehouseModel(g, seed=2, robots=3, steps=40, collect_every=10) for g in (graph, path)]
    _same_floor(runs[0].sim.floor, runs[1].sim.floor)
    kpis = [model.run() for model in runs]
    assert kpis[0] == kpis[1] and kpis[0]["steps"] == 40
    assert runs[0].series().equals(runs[1].series())
    assert np.array_equal(runs[0].visits, runs[1].visits)


def test_the_callers_graph_is_not_changed(tmp_path: Path) -> None:
    """Neither make_env, WarehouseModel nor a split by speed changes the graph given, its
    attributes' values and types included (numpy positions, a transit mark, a frozenset of
    transit nodes as a split floor's graph holds them)."""
    graph = hall()
    graph.nodes[(0, 3)]["transit"] = True
    before = _snapshot(graph)
    warehouse.make_env(graph, robots=2)
    warehouse.make_env(graph, robots=2, **{"physics.speed_m_s": 1.0})
    WarehouseModel(graph, robots=2, steps=2).run()
    assert _snapshot(graph) == before
    first = warehouse.make_env(graph, robots=2, **{"physics.speed_m_s": 1.0}).sim.floor
    split = first.graph
    before = _snapshot(split)
    again = warehouse.make_env(split, robots=2, **{"physics.speed_m_s": 1.0})
    assert _snapshot(split) == before
    _same_floor(again.sim.floor, first)  # the chains kept, as a saved file's are
    assert first.transit.sum() > 0
    path = save_graph(split, tmp_path / "split.json")
    _same_floor(again.sim.floor, warehouse.make_env(path, robots=2).sim.floor)


def test_a_built_floors_graph_builds_the_same_floor() -> None:
    """The graph of a generated grid floor builds that floor again."""
    env = warehouse.make_env("tiny")
    _same_floor(warehouse.make_env(env.sim.floor.graph).sim.floor, env.sim.floor)


def _bad(kind: str) -> nx.Graph:
    graph = hall()
    if kind == "kind":
        graph.nodes["p1"]["kind"] = "shelf"
    elif kind == "typo":
        graph.nodes["p1"]["strat"] = False
    elif kind == "edge_typo":
        graph.edges["p1", (2, 1)]["lenght"] = 2.0
    elif kind == "text_length":
        graph.edges["p1", (2, 1)]["length"] = "2"
    elif kind == "negative_length":
        graph.edges["p1", (2, 1)]["length"] = -1.0
    elif kind == "self_loop":
        graph.add_edge("p1", "p1")
    elif kind == "charger":
        graph.nodes["p1"]["charger"] = True
    elif kind == "no_pos":
        del graph.nodes["p1"]["pos"]
    elif kind == "nan_pos":
        graph.nodes["p1"]["pos"] = (float("nan"), 1)
    elif kind == "flag":
        graph.nodes["p1"]["goal"] = "yes"
    elif kind == "blocked":
        graph.nodes["p1"]["kind"] = "blocked"
    elif kind == "cell_size":
        graph.graph["cell_size"] = 0
    elif kind == "transit":
        graph.nodes["p1"]["transit"] = True
    return graph


@pytest.mark.parametrize(
    ("kind", "field", "message"),
    [
        ("kind", "node 'p1'.kind", "unknown kind 'shelf'"),
        ("typo", "node 'p1'.strat", "unknown attribute; did you mean 'start'?"),
        ("edge_typo", "edge (2, 1)-'p1'.lenght", "unknown attribute; did you mean 'length'?"),
        ("text_length", "edge (2, 1)-'p1'.length", "expected a number, got '2'"),
        ("negative_length", "edge (2, 1)-'p1'.length", "must be > 0, got -1.0"),
        ("self_loop", "edge 'p1'-'p1'", "self-loops are not allowed"),
        ("charger", "node 'p1'.charger", "a charger must be an aisle or parking node, not pick"),
        ("no_pos", "node 'p1'.pos", "missing (row, col) position"),
        ("nan_pos", "node 'p1'.pos", "expected a finite number, got nan"),
        ("flag", "node 'p1'.goal", "expected true or false, got 'yes'"),
        ("blocked", "edge (2, 1)-'p1'", "joins the blocked node 'p1'"),
        ("cell_size", "graph.cell_size", "must be > 0, got 0"),
        ("transit", "node 'p1'.transit", "a transit node is an aisle node, not pick"),
    ],
)
def test_a_bad_graph_is_refused_by_the_rules_of_its_json_file(
    kind: str, field: str, message: str, tmp_path: Path
) -> None:
    """One line naming ``graph`` and the node, edge or attribute; the JSON file of the same
    graph is refused by the same rule (its field names the list entry instead)."""
    graph = _bad(kind)
    with pytest.raises(InputError) as caught:
        warehouse.make_env(graph, robots=2)
    err = caught.value
    assert (err.source, err.field) == ("graph", field)
    assert message in err.message and "\n" not in str(err)
    path = save_graph(graph, tmp_path / "bad.json")
    with pytest.raises(InputError) as from_file:
        warehouse.make_env(path, robots=2)
    assert from_file.value.source == "bad.json" or from_file.value.source.endswith("bad.json")
    assert message in from_file.value.message
    with pytest.raises(InputError) as model:
        WarehouseModel(graph, robots=2)
    assert str(model.value) == str(err)


def test_what_no_json_file_holds_is_refused_by_name() -> None:
    """A multigraph, an empty graph, a position JSON cannot hold, a non-graph: one line each;
    an attribute the floor does not read may hold anything (it is ignored, as in a file)."""
    multi = nx.MultiGraph(hall())
    with pytest.raises(InputError, match=r"^graph: multigraph: parallel edges"):
        warehouse.make_env(multi)
    with pytest.raises(InputError, match=r"^graph: nodes: expected a non-empty list of nodes"):
        warehouse.make_env(nx.Graph())
    graph = hall()
    graph.nodes["p1"]["pos"] = (3, object())
    with pytest.raises(InputError, match=r"^graph: node 'p1'\.pos: not a JSON value"):
        warehouse.make_env(graph)
    with pytest.raises(InputError, match=r"^graph: expected a networkx Graph or DiGraph, got"):
        read_graph({"nodes": []})
    graph = hall()
    graph.nodes["p1"]["label"] = object()  # ignored, as a file's other attributes are
    floors = [warehouse.make_env(g, robots=2).sim.floor for g in (graph, hall())]
    _same_floor(*floors)


def test_a_graph_takes_no_layout_setting_but_transpose(tmp_path: Path) -> None:
    """The graph is the floor: a layout setting would be ignored, so it is refused; the
    transpose applies, as to its file."""
    with pytest.raises(InputError, match=r"^layout\.shelf_rows: the floor is the networkx graph"):
        warehouse.make_env(hall(), **{"layout.shelf_rows": 3})
    with pytest.raises(InputError, match=r"^layout: the floor is the networkx graph"):
        WarehouseModel(hall(), layout={"type": "generator"})
    path = save_graph(hall(), tmp_path / "hall.json")
    turned = {"layout.transpose": True}
    _same_floor(
        warehouse.make_env(hall(), robots=2, **turned).sim.floor,
        warehouse.make_env(path, robots=2, **turned).sim.floor,
    )


def test_the_scenario_of_a_graph_fits_it() -> None:
    """The default scenario on the graph, named after it; a fleet the floor cannot hold is
    refused as for a file; the floor keeps a graph of its own."""
    graph = hall()
    env = warehouse.make_env(graph, robots=3, seed=1)
    assert env.scenario.name == "hall" and env.scenario.fleet.robots == 3
    assert env.sim.floor.graph is not graph
    with pytest.raises(InputError, match=r"^fleet\.robots: must be ≤ start cells \(14; "):
        warehouse.make_env(graph, robots=100)


@pytest.mark.parametrize("target", [123, None, b"small", ["small"]])
def test_a_target_of_another_type_is_named_in_one_line(target: Any) -> None:
    """Neither a name, a path nor a graph: a TypeError saying what is taken, not ``os.fspath``'s
    "expected str, bytes or os.PathLike object"."""
    with pytest.raises(TypeError, match=r"^expected a built-in scenario name.*graph\), got"):
        warehouse.make_env(target)
    with pytest.raises(TypeError, match=r"^expected a built-in scenario name"):
        WarehouseModel(target)
