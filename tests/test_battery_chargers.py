"""Chargers drawn on the floor (``C`` in ASCII drawings, ``charger: true`` graph nodes) that
``battery.chargers`` defaults to, and the floor note on chargers robots must pass through
(warehouse/floor/checks.py: thoroughfare_chargers)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from agents import make_navigator
from hierarchy import make_dispatcher
from scenarios import build_floor, load_scenario
from warehouse.config import BatteryConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.battery import resolve_chargers
from warehouse.core.state import Charge
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor
from warehouse.floor.checks import charger_thoroughfare_note, thoroughfare_chargers
from warehouse.floor.formats import (
    detect_format,
    parse_ascii,
    parse_movingai,
    parse_node_link_json,
    parse_pogema,
    parse_rhcr,
)
from warehouse.recording import EpisodeRecorder, load_recording

#: picks and stations marked (no inference); chargers in a pocket off the top aisle at (0, 7)
#: and in the one-lane aisle at (2, 4)
DRAWN = "S......C\n.##.##..\nS...C..p\n.##.##..\nS......p\n"
PLAIN = DRAWN.replace("C", ".")


def floor_of(text: str):
    return compile_floor(parse_ascii(text))


def config(chargers=(), **battery) -> SimConfig:
    return SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.5, idle_power_w=1800.0),
        battery=BatteryConfig(
            **{"capacity_wh": 10.0, "charge_w": 5400.0, "chargers": chargers, **battery}
        ),
    )


def test_a_drawn_charger_is_an_aisle_cell_with_a_charger_mark():
    drawn, plain = floor_of(DRAWN), floor_of(PLAIN)
    marked = [tuple(p) for p in drawn.pos[drawn.charger].tolist()]
    assert marked == [(0, 7), (2, 4)]
    assert (drawn.kind[drawn.charger] == NodeKind.AISLE).all()
    # without the marks, every array is the plain drawing's; no node carries the attribute
    for k in ("pos", "kind", "nbr", "mask", "length", "cell_of", "start_ok", "goal_ok"):
        np.testing.assert_array_equal(getattr(drawn, k), getattr(plain, k))
    assert not plain.charger.any() and plain.charger.shape == (plain.n_nodes,)
    assert not any("charger" in d for _, d in parse_ascii(PLAIN).nodes(data=True))


def test_the_inference_leaves_a_drawn_charger_an_aisle():
    # no marked picks or stations: the aisle cells facing shelves become pick locations
    text = "......\n.####.\n..C...\n"
    inferred = floor_of(text.replace("C", "."))
    assert inferred.kind[inferred.cell_of[2, 2]] == NodeKind.PICK
    floor = floor_of(text)
    assert floor.kind[floor.cell_of[2, 2]] == NodeKind.AISLE and floor.charger[floor.cell_of[2, 2]]


def test_the_battery_uses_the_drawn_chargers_by_default():
    floor = floor_of(DRAWN)
    cfg = config()
    np.testing.assert_array_equal(resolve_chargers(floor, cfg), floor.cell_of[[0, 2], [7, 4]])
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    sim.state.pos[:] = floor.cell_of[0, 5]
    sim.state.soc_wh[:] = 1.0  # below the threshold: sent to the nearest charger, the pocket
    sim.step(np.zeros(1, dtype=np.int64))
    assert sim.state.charge[0] == Charge.TO_CHARGER
    assert sim.state.waypoint[0] == floor.cell_of[0, 7]


def test_listed_chargers_replace_the_drawn_ones_and_none_at_all_is_refused():
    floor = floor_of(DRAWN)
    listed = resolve_chargers(floor, config(chargers=((4, 3),)))
    np.testing.assert_array_equal(listed, [floor.cell_of[4, 3]])
    with pytest.raises(InputError, match="at least one charger") as err:
        resolve_chargers(floor_of(PLAIN), config())
    assert err.value.field == "battery.chargers"


def scenario(tmp_path: Path, drawing: str, battery: str = "{capacity_wh: 100}") -> Path:
    path = tmp_path / "s.yaml"
    text = drawing.replace("\n", "\\n")
    path.write_text(
        f'layout: {{type: ascii, map: "{text}"}}\nfleet: {{robots: 2}}\nbattery: {battery}\n'
    )
    return path


def test_validate_lists_drawn_listed_and_unused_chargers(tmp_path, capsys):
    code, out, err = run_cli(["validate", str(scenario(tmp_path, DRAWN))], capsys)
    assert code == 0, err
    assert "battery: 2 chargers (drawn on the floor): (0, 7), (2, 4)" in out
    path = scenario(tmp_path, DRAWN, "{capacity_wh: 100, chargers: [[4, 3]]}")
    code, out, _ = run_cli(["validate", str(path)], capsys)
    assert "battery: 1 charger (battery.chargers; the floor's 2 drawn are not used): (4, 3)" in out
    code, out, _ = run_cli(["validate", str(scenario(tmp_path, DRAWN, "{}"))], capsys)
    assert code == 0
    assert "battery: the floor marks 2 chargers, unused: the battery model is off" in out
    code, out, _ = run_cli(["validate", str(scenario(tmp_path, PLAIN, "{}"))], capsys)
    assert code == 0 and "charger" not in out


#: a one-lane loop around a shelf block, from a station to pick locations
LOOP = "S.....\n.####.\n.####p\n......\n"


@pytest.mark.parametrize(
    ("drawing", "cell", "through"),
    [
        (LOOP, (3, 2), True),  # in the one-lane loop: the way round is long
        (LOOP, (0, 5), True),  # a corner of the loop
        ("S...\n....\n...p\n", (0, 3), False),  # a corner of an open hall: round it in 2
        (LOOP + "......\n", (3, 2), False),  # beside a second lane: round it in 4 steps
        (LOOP + "###.##\n", (3, 3), True),  # the only way into the cell below it
        (LOOP + "###.##\n", (4, 3), False),  # a dead end
        ("S....p\n##.###\n", (0, 2), True),  # cuts the floor in two
        ("S....p\n##.###\n", (1, 2), False),  # a pocket off the aisle
    ],
)
def test_thoroughfare_chargers(drawing, cell, through):
    floor = floor_of(drawing)
    node = floor.cell_of[cell]
    assert node >= 0
    assert thoroughfare_chargers(floor, np.array([node])).tolist() == ([node] if through else [])


def test_the_thoroughfare_note_counts_the_chargers_in_the_way():
    floor = floor_of(LOOP + "###.##\n")
    chargers = floor.cell_of[[4, 3], [3, 2]]
    note = charger_thoroughfare_note(floor, chargers)
    assert note is not None and note.startswith("1 of 2 chargers sit on cells robots need to")
    assert "(first: (3, 2))" in note and "pibt_swap" in note
    assert charger_thoroughfare_note(floor, chargers[:1]) is None


def test_run_warns_of_chargers_in_the_way_only_with_the_battery_on(tmp_path, capsys):
    lane = "S......C\n.##.##..\nS...C..p\n.##.##..\nS......p\n"
    argv = ["run", "--policy", "rule_based", "--steps", "3", "--seeds", "0"]
    path = scenario(tmp_path, lane)
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert "note: 1 of 2 chargers sit on cells robots need to pass through (first: (2, 4))" in out
    code, _, err = run_cli([*argv, str(path), "--out", str(tmp_path / "on")], capsys)
    assert code == 0, err
    assert "warning: 1 of 2 chargers sit on cells robots need to pass through" in err
    off = scenario(tmp_path, lane, "{}")
    code, out, _ = run_cli(["validate", str(off)], capsys)
    assert "pass through" not in out
    code, _, err = run_cli([*argv, str(off), "--out", str(tmp_path / "off")], capsys)
    assert code == 0 and "pass through" not in err


def test_a_c_in_another_map_format_stays_an_error():
    with pytest.raises(InputError, match="unknown map character 'C'"):
        parse_movingai("type octile\nheight 1\nwidth 3\nmap\n.C.\n")
    with pytest.raises(InputError, match="unknown map character 'C'"):
        parse_rhcr("1,3\n2\n1\n100\n.C.\n")
    with pytest.raises(InputError, match="unknown map character 'C'"):
        parse_pogema("#@.\n.C.\n")
    assert detect_format("f.txt", "#@\n.C\n") == "ascii"  # (C is ASCII's own mark, as p S P are)


def graph_json(**attrs) -> str:
    nodes = [
        {"id": "s", "pos": [0, 0], "kind": "station"},
        {"id": "a", "pos": [0, 1], "kind": "aisle", **attrs},
        {"id": "p", "pos": [0, 2], "kind": "pick"},
    ]
    edges = [{"source": "s", "target": "a"}, {"source": "a", "target": "p"}]
    return json.dumps({"directed": False, "nodes": nodes, "edges": edges})


def test_graph_nodes_marked_charger():
    floor = compile_floor(parse_node_link_json(graph_json(charger=True)))
    assert floor.charger.tolist() == [False, True, False]
    assert not compile_floor(parse_node_link_json(graph_json())).charger.any()
    with pytest.raises(InputError, match="expected true or false"):
        parse_node_link_json(graph_json(charger="yes"))
    bad = json.loads(graph_json())
    bad["nodes"][0]["charger"] = True
    with pytest.raises(InputError, match="aisle or parking node, not station"):
        parse_node_link_json(json.dumps(bad))


def test_a_recording_keeps_the_drawn_chargers(tmp_path):
    sc, src = load_scenario(scenario(tmp_path, DRAWN))
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.reset(0)
    rec = EpisodeRecorder(sim, meta={"scenario": "drawn", "seed": 0})
    for _ in range(3):
        rec.capture(sim, fleet.step())
    loaded = load_recording(rec.save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(loaded.floor.charger, sim.floor.charger)
    np.testing.assert_array_equal(
        resolve_chargers(loaded.floor, loaded.config), sim.battery.chargers
    )
