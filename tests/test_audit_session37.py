"""Review of session 37's changes: the order book's compiled writer, the distance cache asked in
parts, settings a dump leaves out at their default, League of Robot Runners problem files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

from hierarchy.matching import by_goal_parts
from warehouse.core.state import OrderBook
from warehouse.errors import InputError
from warehouse.floor.formats.lorr import read_lorr_problem

#: a 4 × 6 MovingAI map, obstacles at (1, 1) and (1, 2) (linearized cells 7 and 8)
MAP = "type octile\nheight 4\nwidth 6\nmap\n......\n.@@...\n......\n......\n"


def _problem(folder: Path, tasks: str = "6\n3\n20\n12\n23\n2\n17\n", **keys: object) -> Path:
    """A LoRR problem of three robots on :data:`MAP`; ``keys`` replace the JSON's."""
    (folder / "m.map").write_text(MAP)
    (folder / "a.agents").write_text("3\n0\n5\n18\n")
    (folder / "t.tasks").write_text(tasks)
    doc = {"mapFile": "m.map", "agentFile": "a.agents", "taskFile": "t.tasks", "teamSize": 3}
    (path := folder / "p.json").write_text(json.dumps(doc | keys))
    return path


# ---------------------------------------------------------------- OrderBook.add
def test_order_book_add_gives_one_station_to_every_order() -> None:
    """A station for all the orders (as numpy assignment broadcast it before the compiled
    writer) was read past its end: garbage stations, or a numba TypingError for a scalar."""
    book = OrderBook()
    assert book.add(np.array([1, 2, 3]), np.array([7]), 0).tolist() == [0, 1, 2]
    assert book.station[:3].tolist() == [7, 7, 7]
    book.add(np.array([4, 5], dtype=np.int64), 9, 2)  # (a scalar station, int64 picks)
    assert book.station[3:5].tolist() == [9, 9] and book.pick[3:5].tolist() == [4, 5]
    assert book.open_ids.tolist() == [0, 1, 2, 3, 4]
    assert book.arrival[:5].tolist() == [0, 0, 0, 2, 2]


def test_order_book_add_refuses_stations_of_another_length() -> None:
    book = OrderBook()
    with pytest.raises(ValueError, match="broadcast"):
        book.add(np.array([1, 2, 3]), np.array([7, 8]), 0)
    assert book.count == 0 and book.open_ids.size == 0  # nothing written
    assert book.add(np.array([], dtype=np.int64), np.array([], dtype=np.int64), 0).size == 0


# ---------------------------------------------------------------- by_goal_parts
def _outer(goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """A stand-in table that broadcasts like ``DistanceCache.lookup``; records goal counts."""
    _outer.sizes.append(int(np.asarray(goals).size))  # type: ignore[attr-defined]
    return np.asarray(goals) * 100 + np.asarray(nodes)


def test_by_goal_parts_with_nodes_of_more_dimensions() -> None:
    """Goals of one axis against nodes of two was a broadcast ValueError: the goals' axis was
    taken as the nodes' first axis, not the one numpy aligns it with (the last)."""
    goals, nodes = np.arange(5), np.arange(15).reshape(3, 5)
    _outer.sizes = []  # type: ignore[attr-defined]
    got = by_goal_parts(_outer, 2, goals, nodes)
    assert np.array_equal(got, _outer(goals, nodes))
    goals = np.arange(5)[None, :]
    nodes = np.arange(3)[:, None, None] + np.zeros((1, 1, 5), int)
    assert np.array_equal(by_goal_parts(_outer, 2, goals, nodes), _outer(goals, nodes))


def test_by_goal_parts_cuts_goals_that_vary_along_two_axes() -> None:
    """Goals varying along two axes were asked for at once, however many (the MemoryError the
    parts exist to avoid); now no part holds more than ``capacity`` goals where a slice fits."""
    goals = np.arange(24).reshape(6, 4)
    nodes = np.arange(4)
    _outer.sizes = []  # type: ignore[attr-defined]
    got = by_goal_parts(_outer, 8, goals, nodes)
    sizes = _outer.sizes  # type: ignore[attr-defined]
    assert np.array_equal(got, goals * 100 + nodes)
    assert len(sizes) == 3 and max(sizes) <= 8


# ---------------------------------------------------------------- compare and left-out settings
def test_compare_shows_left_out_settings_at_their_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting a scenario.yaml leaves out at its default (tasks.assignment: greedy,
    tasks.reveal: 1) was compared as null: ``roundrobin → null; null → 2``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rr").mkdir()
    (tmp_path / "gr").mkdir()
    _problem(tmp_path / "rr", taskAssignmentStrategy="roundrobin", numTasksReveal=1)
    _problem(tmp_path / "gr", taskAssignmentStrategy="greedy", numTasksReveal=2)
    for name in ("rr", "gr"):
        argv = ["run", f"{name}/p.json", "--policy", "rule_based", "--steps", "10", "--seeds", "0"]
        code, _, err = run_cli([*argv, "--out", f"{name}/out"], capsys)
        assert code == 0, err
    code, out, err = run_cli(["compare", "rr/out", "gr/out", "--json"], capsys)
    assert code == 0, err
    differ = json.loads(out)["differ"]
    assert differ["tasks.assignment"] == ["roundrobin", "greedy"]
    assert differ["tasks.reveal"] == [1, 2]
    assert "tasks.goals" not in differ and "fleet.start_cells" not in differ  # the same files
    # against a run of random goals: the cell lists are named, not printed whole
    argv = ["run", "rr/m.map", "--policy", "rule_based", "--steps", "10", "--seeds", "0"]
    argv += ["--tasks", "goal_visit", "--robots", "3", "--out", "rand"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    code, out, err = run_cli(["compare", "rand", "rr/out", "--json"], capsys)
    assert code == 0, err
    differ = json.loads(out)["differ"]
    assert differ["tasks.goals"] == [[], "(differs)"]
    assert differ["fleet.start_cells"] == [[], "(differs)"]
    assert "tasks.reveal" not in differ  # (1 in both: one left out, one from the file)


# ---------------------------------------------------------------- layout.transpose
def test_transpose_of_a_problem_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The problem's cells (its map's) were read as cells of the turned floor: an error about a
    start "outside the floor", or on a square map another instance run silently."""
    monkeypatch.chdir(tmp_path)
    _problem(tmp_path)
    argv = ["run", "p.json", "--set", "layout.transpose=true", "--steps", "5", "--out", "out"]
    line = fails_cleanly(argv, tmp_path, capsys, "--set layout.transpose: not with a League")
    assert "cells of its map as drawn" in line
    argv = ["run", "p.json", "--set", "layout.transpose=false", "--steps", "5", "--out", "out"]
    argv += ["--policy", "rule_based", "--seeds", "0"]
    code, _, err = run_cli(argv, capsys)  # (as drawn: runs)
    assert code == 0, err


def test_transpose_reads_start_cells_and_goals_of_the_turned_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a scenario, fixed cells are those of the turned floor, as closures and chargers
    (README, ``layout.transpose``): (0, 5) lies off the 6 × 4 turned floor, (5, 0) on it."""
    from scenarios import load_scenario
    from scenarios.load import build_floor, check_fits

    (tmp_path / "m.map").write_text(MAP)
    body = "layout: {type: file, path: m.map, transpose: true}\n"
    (tmp_path / "s.yaml").write_text(
        body + "fleet: {start_cells: [[5, 0], [0, 0]]}\n"
        "tasks: {mode: goal_visit, goals: [[5, 3], [2, 0]]}\n"
    )
    sc, src = load_scenario(tmp_path / "s.yaml")
    floor = build_floor(sc, src)
    check_fits(sc, floor, src)
    assert floor.shape == (6, 4)
    (tmp_path / "t.yaml").write_text(body + "fleet: {start_cells: [[0, 5]]}\n")
    monkeypatch.chdir(tmp_path)
    fails_cleanly(["validate", "t.yaml"], tmp_path, capsys, "t.yaml: fleet.start_cells[0]: (0, 5)")


# ---------------------------------------------------------------- the LoRR reader, vectorized
def test_lorr_reader_reports_the_first_bad_line_in_line_order(tmp_path: Path) -> None:
    """The reader checks the lines as arrays; an error still names the first bad line, whatever
    rule it breaks (an obstacle on line 3 before a word on line 5)."""
    _problem(tmp_path, tasks="4\n3\n7\n20\nx\n")
    with pytest.raises(InputError) as err:
        read_lorr_problem(tmp_path / "p.json")
    assert err.value.one_line().endswith("t.tasks: line 3: cell 7 (row 1, col 1) is an obstacle")
    _problem(tmp_path, tasks="3\n3\n24\nx\n")
    with pytest.raises(InputError, match="line 3: cell 24 is off the map"):
        read_lorr_problem(tmp_path / "p.json")
    _problem(tmp_path, tasks="3\n3\n4,5\n-1\n")
    with pytest.raises(InputError, match="line 3: a task of 2 errands"):
        read_lorr_problem(tmp_path / "p.json")
    _problem(tmp_path, tasks="3\n3\n\n5\n")
    with pytest.raises(InputError, match="line 3: expected a linearized task cell"):
        read_lorr_problem(tmp_path / "p.json")
    problem = read_lorr_problem(_problem(tmp_path, tasks="3\n+3\n23,\n 12 \n"))
    assert problem.goals == [(0, 3), (3, 5), (2, 0)] and problem.starts == [(0, 0), (0, 5), (3, 0)]
    assert all(type(v) is int for cell in problem.goals for v in cell)
