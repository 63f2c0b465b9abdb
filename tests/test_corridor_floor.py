"""The corridor-only training floor of the navigator (``agents/scenarios/corridors*.yaml``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import networkx as nx

from scenarios import build_floor, load_scenario

FOLDER = Path(__file__).resolve().parents[1] / "agents" / "scenarios"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_corridors", FOLDER / "make_corridors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_graph_is_what_the_script_builds() -> None:
    committed = json.loads((FOLDER / "corridors.json").read_text(encoding="utf-8"))
    assert committed == _generator().build()


def test_picks_sit_on_single_lanes_and_no_station_is_a_dead_end() -> None:
    data = json.loads((FOLDER / "corridors.json").read_text(encoding="utf-8"))
    g = nx.Graph()
    pos = {n["id"]: tuple(n["pos"]) for n in data["nodes"]}
    kind = {n["id"]: n["kind"] for n in data["nodes"]}
    g.add_nodes_from(pos)
    g.add_edges_from((e["source"], e["target"]) for e in data["edges"])
    assert nx.is_connected(g)
    picks = [n for n in g if kind[n] == "pick"]
    assert picks and all(g.degree[n] == 2 for n in picks)
    # a pick's two neighbours are north and south of it: the rungs are north-south lanes
    for n in picks:
        assert {pos[m][1] for m in g[n]} == {pos[n][1]}
    stations = [n for n in g if kind[n] == "station"]
    assert stations and all(g.degree[n] >= 2 for n in stations)


def test_the_transposed_scenario_swaps_every_position() -> None:
    sc, src = load_scenario(str(FOLDER / "corridors.yaml"))
    sc_t, src_t = load_scenario(str(FOLDER / "corridors_T.yaml"))
    floor, turned = build_floor(sc, src), build_floor(sc_t, src_t)
    assert floor.pos.shape == turned.pos.shape
    assert sorted(map(tuple, floor.pos[:, ::-1].tolist())) == sorted(
        map(tuple, turned.pos.tolist())
    )
    assert sc_t.fleet.robots == sc.fleet.robots
