"""Charging policy of the battery model (warehouse/core/battery.py): where robots queued for a
busy charger wait (waiting cells), opportunity charging (``battery.opportunity_below``),
charging to a fraction (``battery.charge_to``), and the dead-end charger note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_helpers import run_cli
from sim_helpers import place

from agents import make_navigator
from hierarchy import make_dispatcher
from warehouse.config import BatteryConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.checks import (
    charger_dead_end_note,
    dead_end_chargers,
    neighbour_pairs,
    thoroughfares,
)
from warehouse.floor.formats import parse_ascii

A, P, S, X = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION, NodeKind.BLOCKED
#: a one-lane aisle from a station to a pick location, a 3 × 3 room below it; the charger at
#: (1, 5) in the room
ROOM = np.array(
    [
        [S, A, A, A, A, A, A, A, P],
        [X, X, X, X, A, A, A, X, X],
        [X, X, X, X, A, A, A, X, X],
        [X, X, X, X, A, A, A, X, X],
    ],
    np.int8,
)


def room_scene(robots: int = 2, collisions: str = "block", **battery) -> Simulation:
    """0.1 Wh a metre, 0.01 Wh a step idle, 0.28 Wh a step charging; robots start at 45 %
    (below ``recharge_below`` 0.5 unless told)."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.1, idle_power_w=36.0, collisions=collisions),
        battery=BatteryConfig(
            **{
                "capacity_wh": 10.0,
                "charge_w": 1000.0,
                "initial_soc": 0.45,
                "recharge_below": 0.5,
                "chargers": [[1, 5]],
                "rescue_s": None,
                "waiting_cells": True,
                **battery,
            }
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(ROOM)), cfg)
    sim.reset(seed=0)
    return sim


def cell(sim: Simulation, node: int) -> tuple[int, int] | None:
    return None if node < 0 else (int(sim.floor.pos[node][0]), int(sim.floor.pos[node][1]))


def queue_scene(**battery) -> tuple[Simulation, Fleet]:
    """Robot 0 (1 Wh) on the charger, robot 1 (4.5 Wh) in the one-lane aisle at (0, 2): robot
    0 takes the charger, robot 1 queues for it; the rule-based fleet, no orders."""
    sim = room_scene(**battery)
    place(sim, (1, 5), (0, 2))
    sim.state.soc_wh[0] = 1.0
    return sim, Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))


def test_waiting_cells_are_no_thoroughfares_nor_beside_a_charger_station_or_pick():
    sim = room_scene()
    f = sim.floor
    assert sim.battery is not None
    waits = sim.battery.waiting_cells(sim.dist)[0]
    cells = waits[waits >= 0]
    # the room's cells not beside the charger, nearest first (ties: node order)
    assert [cell(sim, int(v)) for v in cells] == [(2, 4), (2, 6), (3, 5), (3, 4), (3, 6)]
    assert thoroughfares(f, cells).size == 0
    special = np.zeros(f.n_nodes, dtype=bool)
    special[np.concatenate([f.stations, f.picks, sim.battery.chargers])] = True
    pairs = neighbour_pairs(f)
    beside = special[pairs[:, 0]] & np.isin(pairs[:, 1], cells)
    beside |= special[pairs[:, 1]] & np.isin(pairs[:, 0], cells)
    assert not beside.any()
    # the aisle cell the queued robot of queue_scene starts on is a thoroughfare
    assert thoroughfares(f, np.array([f.cell_of[0, 2]])).size == 1


def test_a_queued_robot_waits_at_a_waiting_cell_until_the_charger_frees():
    sim, fleet = queue_scene()
    s, f = sim.state, sim.floor
    fleet.step()
    assert s.charge.tolist() == [Charge.CHARGING, Charge.QUEUED]
    wait = f.cell_of[2, 4]  # the nearest waiting cell of the charger
    assert s.waypoint[1] == wait and sim.battery.wait_at[1] == wait
    arrived = -1
    while s.charge[0] == Charge.CHARGING:
        fleet.step()
        if arrived < 0 and s.pos[1] == wait:
            arrived = sim.t
        if arrived >= 0:  # once there it stays there, queued, with no sub-goal
            assert s.pos[1] == wait and s.charge[1] == Charge.QUEUED and s.waypoint[1] == -1
        assert sim.t < 100
    assert 0 < arrived <= 6  # 4 moves (through the aisle and the room)
    assert sim.t == 35  # robot 0: from 1 Wh to full at 0.27 Wh a step
    assert s.pos[1] == wait and s.charge[1] == Charge.QUEUED
    fleet.step()  # robot 0 steps off: the charger frees, robot 1 is handed it
    assert s.pos[0] != f.cell_of[1, 5]
    assert s.charge[1] == Charge.TO_CHARGER and sim.battery.wait_at[1] == -1
    for _ in range(5):
        fleet.step()
    assert s.charge[1] == Charge.CHARGING and s.pos[1] == f.cell_of[1, 5]
    assert s.depletions.sum() == 0


def test_a_queued_robot_pushed_off_its_waiting_cell_is_sent_back_or_waits_at_another():
    sim, fleet = queue_scene()
    s, f = sim.state, sim.floor
    for _ in range(8):
        fleet.step()
    assert s.pos[1] == f.cell_of[2, 4] and s.waypoint[1] == -1
    s.pos[1] = f.cell_of[1, 6]  # as if pushed aside, beside the charger: not a waiting cell
    sim.state_changed()
    fleet.step()
    assert s.waypoint[1] == f.cell_of[2, 4] and s.charge[1] == Charge.QUEUED
    for _ in range(4):
        fleet.step()
    assert s.pos[1] == f.cell_of[2, 4]
    s.pos[1] = f.cell_of[3, 6]  # pushed onto another waiting cell nobody holds: waits there
    sim.state_changed()
    for _ in range(5):
        fleet.step()
        assert s.pos[1] == f.cell_of[3, 6] and sim.battery.wait_at[1] == f.cell_of[3, 6]
        assert s.waypoint[1] == -1


def test_without_waiting_cells_the_queued_robot_waits_in_the_aisle(monkeypatch):
    """``waiting_cells: false`` (the default): a robot queued for a busy charger waits where
    it stands, here on a cell of the one-lane aisle (a thoroughfare), until the charger
    frees."""
    assert BatteryConfig().waiting_cells is False
    sim, fleet = queue_scene(waiting_cells=False)
    assert sim.battery is not None and not sim.battery.use_waits
    s, f = sim.state, sim.floor
    fleet.step()
    while s.charge[0] == Charge.CHARGING:
        assert s.charge[1] == Charge.QUEUED
        assert s.pos[1] == f.cell_of[0, 2] and s.waypoint[1] == -1
        fleet.step()
    assert sim.t == 35


def test_the_nearest_waiting_cell_taken_the_next_queued_robot_gets_the_next():
    sim = room_scene(robots=3)
    place(sim, (1, 5), (0, 1), (0, 2))
    sim.state.soc_wh[0] = 1.0
    sim.step(np.zeros(3, dtype=np.int64))
    # robots 1 and 2 queue the same step: the lower id first; (0, 2) is nearer the charger,
    # but both take waiting cells in queue order
    assert sim.battery.wait_at[1:].tolist() == [sim.floor.cell_of[2, 4], sim.floor.cell_of[2, 6]]


def test_a_queued_robot_on_a_waiting_cell_stays_there():
    sim = room_scene(robots=2)
    place(sim, (1, 5), (3, 6))
    sim.state.soc_wh[0] = 1.0
    sim.step(np.zeros(2, dtype=np.int64))
    s = sim.state
    assert s.charge[1] == Charge.QUEUED and sim.battery.wait_at[1] == sim.floor.cell_of[3, 6]
    assert s.waypoint[1] == -1  # already there: no sub-goal


def opportunity_scene(**battery) -> tuple[Simulation, Fleet]:
    """Robot 0 (1 Wh, below recharge_below 0.2) on the charger; robot 1 at (0, 2) with 5 Wh,
    between recharge_below and opportunity_below (0.6 unless told)."""
    sim = room_scene(**{"recharge_below": 0.2, "opportunity_below": 0.6, **battery})
    place(sim, (1, 5), (0, 2))
    sim.state.soc_wh[:] = [1.0, 5.0]
    return sim, Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))


def test_opportunity_charging_never_queues_and_takes_the_charger_once_free():
    sim, fleet = opportunity_scene()
    s, charger = sim.state, sim.floor.cell_of[1, 5]
    fleet.step()
    while s.pos[0] == charger:  # charging, then stepping off
        # the charger is busy: robot 1 neither queues nor drives to it, and stays available
        assert s.charge[1] == Charge.NONE and 1 in sim.idle_robots()
        fleet.step()
        assert sim.t < 100
    assert sim.t == 36  # full at step 35, off the charger the step after
    # the step robot 0 left the charger it was free: robot 1 was sent to it
    assert s.charge[1] == Charge.TO_CHARGER and s.waypoint[1] == charger
    assert 1 not in sim.idle_robots()
    for _ in range(10):
        fleet.step()
    assert s.charge[1] == Charge.CHARGING


def test_opportunity_charging_takes_a_free_charger_at_once_and_is_off_by_default():
    for opportunity, sent in ((0.6, True), (0.4, False), (None, False)):
        sim, _ = opportunity_scene(opportunity_below=opportunity)
        place(sim, (3, 4), (0, 2))  # robot 0 off the charger: it is free
        sim.state.soc_wh[:] = [9.0, 5.0]
        sim.step(np.zeros(2, dtype=np.int64))
        charge = sim.state.charge[1]
        assert charge == (Charge.TO_CHARGER if sent else Charge.NONE), opportunity


def add_orders(sim: Simulation, k: int) -> None:
    """``k`` open orders from the pick location (0, 8) to the station (0, 0)."""
    f = sim.floor
    sim.orders.add(np.full(k, f.cell_of[0, 8]), np.full(k, f.cell_of[0, 0]), step=sim.t)


def interrupt_scene(**battery) -> Simulation:
    """Two chargers, (1, 5) and (3, 5); robots 0 and 1 stand on them with 5 and 4 Wh (between
    recharge_below 0.2 and opportunity_below 0.6) and take them by opportunity; robot 2 idle at
    (0, 2) with 9 Wh; no orders."""
    sim = room_scene(
        robots=3,
        **{"recharge_below": 0.2, "opportunity_below": 0.6, "chargers": [[1, 5], [3, 5]]},
        **battery,
    )
    place(sim, (1, 5), (3, 5), (0, 2))
    sim.state.soc_wh[:] = [5.0, 4.0, 9.0]
    sim.step(np.zeros(3, dtype=np.int64))
    assert list(sim.state.charge[:2]) == [Charge.CHARGING] * 2 and sim.battery.by_chance[:2].all()
    return sim


def test_interruptible_opportunity_charging_gives_way_to_waiting_orders():
    sim = interrupt_scene(interruptible=True)
    s, chargers = sim.state, [sim.floor.cell_of[1, 5], sim.floor.cell_of[3, 5]]
    add_orders(sim, 1)  # one order, one idle robot (2): nobody is interrupted
    sim.step(np.zeros(3, dtype=np.int64))
    assert list(s.charge[:2]) == [Charge.CHARGING] * 2 and list(sim.idle_robots()) == [2]
    add_orders(sim, 1)  # two orders, one idle robot: the higher charged (0) gives way
    sim.step(np.zeros(3, dtype=np.int64))
    assert s.charge[0] == Charge.NONE and s.charge[1] == Charge.CHARGING
    assert sorted(sim.idle_robots()) == [0, 2] and sim.battery.claim[0] == -1
    assert s.waypoint[0] >= 0 and not sim.battery.is_charger[s.waypoint[0]]  # stepping off
    assert sim.battery.off_from[0] == chargers[0]
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.step()  # the dispatcher gives it an order: it leaves the charger
    for _ in range(5):
        fleet.step()
    assert s.pos[0] != chargers[0] and s.phase[0] != 0 and s.charge[1] == Charge.CHARGING


def test_interruptible_is_off_by_default_and_never_interrupts_the_queue():
    for battery in ({}, {"interruptible": False}):
        sim = interrupt_scene(**battery)
        add_orders(sim, 5)
        for _ in range(3):
            sim.step(np.zeros(3, dtype=np.int64))
        assert list(sim.state.charge[:2]) == [Charge.CHARGING] * 2
    # robot 0 queued below recharge_below (2 Wh) and got its charger from the queue: charged
    # past recharge_below it still is not interrupted, however many orders wait
    sim = interrupt_scene(interruptible=True)
    s = sim.state
    s.soc_wh[0] = 1.0  # robot 0 stops charging with 1 Wh: it queues, takes its charger again
    s.charge[0], sim.battery.claim[0] = Charge.NONE, -1
    for _ in range(10):
        sim.step(np.zeros(3, dtype=np.int64))
    assert s.charge[0] == Charge.CHARGING and not sim.battery.by_chance[0]
    assert s.soc_wh[0] > sim.battery.threshold
    add_orders(sim, 5)
    sim.step(np.zeros(3, dtype=np.int64))
    assert s.charge[0] == Charge.CHARGING and s.charge[1] == Charge.NONE  # only 1 gives way


def zeros(sim: Simulation) -> np.ndarray:
    return np.zeros(sim.n_robots, dtype=np.int64)


def test_interruptible_releases_a_robot_driving_to_an_opportunity_charger():
    """Robot 0 (5 Wh) was sent to the free charger (1, 5) by opportunity; robot 1 (9 Wh) is
    idle. Two orders for one idle robot: robot 0 gives up its charger on the way (off by
    default: it drives on)."""
    for interruptible in (True, False):
        sim = room_scene(recharge_below=0.2, opportunity_below=0.6, interruptible=interruptible)
        place(sim, (0, 2), (3, 4))
        s, b = sim.state, sim.battery
        assert b is not None
        s.soc_wh[:] = [5.0, 9.0]
        sim.step(zeros(sim))  # no orders: robot 0 takes the free charger by opportunity
        assert s.charge[0] == Charge.TO_CHARGER and b.by_chance[0]
        add_orders(sim, 2)
        sim.step(zeros(sim))
        if interruptible:
            assert s.charge[0] == Charge.NONE and s.waypoint[0] == -1 and b.claim[0] == -1
            assert sorted(sim.idle_robots()) == [0, 1] and b.held[0]
        else:
            assert s.charge[0] == Charge.TO_CHARGER and b.claim[0] == sim.floor.cell_of[1, 5]


def test_interruptible_opportunity_charging_does_not_start_while_orders_wait():
    """Robots 0 (5 Wh) and 1 (4 Wh), both below opportunity_below, idle beside two free
    chargers: only the idle robots no order waits for take one, lowest charge first."""
    for orders, interruptible, sent in (
        (0, True, [1, 0]),
        (1, True, [1]),
        (2, True, []),
        (2, False, [1, 0]),  # off (the default): they take them whatever waits
    ):
        sim = room_scene(
            recharge_below=0.2,
            opportunity_below=0.6,
            interruptible=interruptible,
            chargers=[[1, 5], [3, 5]],
        )
        place(sim, (0, 2), (2, 4))
        sim.state.soc_wh[:] = [5.0, 4.0]
        add_orders(sim, orders)
        sim.step(zeros(sim))
        going = np.flatnonzero(sim.state.charge == Charge.TO_CHARGER)
        assert sorted(going.tolist()) == sorted(sent), (orders, interruptible)


def hold_scene() -> Simulation:
    """The interrupt scene with a fourth robot (9 Wh, at (0, 6)) broken down for 3 steps:
    two orders for one idle robot (2), so robot 0 (5 Wh, the higher) gives way; it is moved
    off its charger by hand."""
    sim = room_scene(
        robots=4,
        recharge_below=0.2,
        opportunity_below=0.6,
        interruptible=True,
        chargers=[[1, 5], [3, 5]],
    )
    place(sim, (1, 5), (3, 5), (0, 2), (0, 6))
    s = sim.state
    s.soc_wh[:] = [5.0, 4.0, 9.0, 9.0]
    s.broken[3] = 3
    sim.step(zeros(sim))
    assert list(s.charge[:2]) == [Charge.CHARGING] * 2
    add_orders(sim, 2)
    sim.step(zeros(sim))
    assert s.charge[0] == Charge.NONE and sim.battery is not None and sim.battery.held[0]
    s.pos[0] = s.waypoint[0]  # stepped off
    sim.state_changed()
    return sim


def test_an_interrupted_robot_no_dispatcher_takes_does_not_go_straight_back():
    """Robot 3 is repaired: three idle robots for two orders, the charger (1, 5) free and
    robot 0 still below opportunity_below. Held, it does not take it (without the hold it
    would: the ping-pong); given an order, it may charge by opportunity again."""
    sim = hold_scene()
    s, b, charger = sim.state, sim.battery, sim.floor.cell_of[1, 5]
    assert b is not None
    for _ in range(6):
        sim.step(zeros(sim))
        assert s.charge[0] == Charge.NONE and b.claim[0] == -1
    assert s.broken[3] == 0 and sorted(sim.idle_robots()) == [0, 2, 3]
    assert s.soc_wh[0] < b.opportunity and b.held[0] and b.claim[1] != charger
    unheld = hold_scene()
    for _ in range(6):
        unheld.battery.held[0] = False  # type: ignore[union-attr]
        unheld.step(zeros(unheld))
    assert unheld.state.charge[0] == Charge.TO_CHARGER
    assert unheld.battery.claim[0] == charger  # type: ignore[union-attr]
    # an order clears the hold
    sim.assign(np.array([0]), sim.dispatchable_orders()[:1])
    sim.step(zeros(sim))
    assert not b.held[0]


def test_the_hold_never_delays_charging_below_recharge_below():
    """Held robot 0 drops below recharge_below (2 Wh): it queues and is given the free
    charger in the same step, as without the hold."""
    sim = hold_scene()
    s, b = sim.state, sim.battery
    assert b is not None
    sim.step(zeros(sim))
    assert b.held[0] and s.charge[0] == Charge.NONE
    s.soc_wh[0] = 1.5
    sim.step(zeros(sim))
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == sim.floor.cell_of[1, 5]
    assert not b.by_chance[0] and not b.held[0]


def test_charging_stops_at_charge_to():
    sim = room_scene(robots=1, charge_to=0.6)
    place(sim, (1, 5))
    s = sim.state
    s.soc_wh[0] = 1.0
    steps = 0
    sim.step(np.zeros(1, dtype=np.int64))  # takes the charger it stands on
    while s.charge[0] == Charge.CHARGING:
        sim.step(np.zeros(1, dtype=np.int64))
        steps += 1
        assert steps < 100
    net = 1000.0 / 3600 - 36.0 / 3600  # Wh a step
    assert steps == int(np.ceil((6.0 - 0.99) / net - 1e-9))  # from 0.99 Wh after the 1st step
    assert 6.0 <= s.soc_wh[0] < 6.0 + net and s.waypoint[0] >= 0  # stops, steps off
    # the default (1.0) charges to full
    full = room_scene(robots=1)
    place(full, (1, 5))
    full.state.soc_wh[0] = 1.0
    while full.state.charge[0] != Charge.NONE or full.t == 0:
        full.step(np.zeros(1, dtype=np.int64))
    assert full.state.soc_wh[0] == 10.0


def test_waiting_robots_under_pibt_reach_the_charger_in_turn():
    """Three robots queued for the one charger under the PIBT shield with a navigator that
    always waits: the stall rescue takes each to its waiting cell and then to the charger."""
    sim = room_scene(robots=3, collisions="pibt")
    place(sim, (1, 5), (0, 1), (0, 7))
    sim.state.soc_wh[0] = 1.0
    s = sim.state
    charged = set()
    for _ in range(600):
        sim.step(np.zeros(3, dtype=np.int64))
        charged |= set(np.flatnonzero(s.charge == Charge.CHARGING).tolist())
        waiting = (s.charge == Charge.QUEUED) & (sim.battery.wait_at >= 0)
        assert thoroughfares(sim.floor, sim.battery.wait_at[waiting]).size == 0
    assert charged == {0, 1, 2} and s.depletions.sum() == 0


#: a charger in a dead-end pocket at (1, 2) and one in a pocket with two ways in at (1, 4)
POCKETS = "S.....p\n##C#C.#\n"


def test_dead_end_chargers_and_their_note():
    floor = compile_floor(parse_ascii(POCKETS))
    chargers = floor.cell_of[[1, 1], [2, 4]]
    assert dead_end_chargers(floor, chargers).tolist() == [floor.cell_of[1, 2]]
    note = charger_dead_end_note(floor, chargers)
    assert note is not None and note.startswith("1 of 2 chargers are dead ends (one neighbour;")
    assert "(1, 2)" in note and "pibt_swap" in note
    assert charger_dead_end_note(floor, chargers[1:]) is None


def scenario(tmp_path: Path, battery: str) -> Path:
    path = tmp_path / "s.yaml"
    text = POCKETS.replace("\n", "\\n")
    path.write_text(
        f'layout: {{type: ascii, map: "{text}"}}\nfleet: {{robots: 2}}\nbattery: {battery}\n'
    )
    return path


def test_validate_notes_and_run_warns_of_dead_end_chargers(tmp_path, capsys):
    path = scenario(tmp_path, "{capacity_wh: 100}")
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert code == 0, err
    assert "note: 1 of 2 chargers are dead ends (one neighbour; first: (1, 2))" in out
    argv = ["run", str(path), "--steps", "3", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--policy", "rule_based", "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and "dead ends" not in err  # block: its traffic rules get robots past
    pibt = ["--policy", "rule_based", "--collisions", "pibt", "--out", str(tmp_path / "b")]
    code, _, err = run_cli([*argv, *pibt], capsys)
    assert code == 0 and "warning: rule_based/pibt: 1 of 2 chargers are dead ends" in err
    off = scenario(tmp_path, "{}")
    code, out, _ = run_cli(["validate", str(off)], capsys)
    assert code == 0 and "chargers are dead ends" not in out


def test_validate_describes_the_charging_policy(tmp_path, capsys):
    path = scenario(
        tmp_path,
        "{capacity_wh: 100, recharge_below: 0.3, opportunity_below: 0.6, charge_to: 0.9, "
        "waiting_cells: true, chargers: [[1, 4]]}",
    )
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert code == 0, err
    line = "battery: 100 Wh per robot, recharge below 30% (below 60% when a charger is free) to 90%"
    assert line + " (queued at waiting cells), 1000 W chargers" in out
