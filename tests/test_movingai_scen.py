"""MovingAI MAPF benchmark scenario files (``.scen``) as run targets: the reader
(:mod:`warehouse.floor.formats.movingai_scen`), ``warehouse run/validate/view FILE.scen`` as a
one-shot MAPF instance, its one-line errors and the benchmark's folder layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails_cleanly, run_cli

from scenarios import load_scenario
from scenarios.load import apply_overrides, build_floor
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.floor.formats import movingai_scen
from warehouse.floor.formats.movingai_scen import read_movingai_scen

#: a 3 × 5 MovingAI map (3 rows, 5 columns: x 0..4, y 0..2), one obstacle at x 1, y 1
MAP = "type octile\nheight 3\nwidth 5\nmap\n.....\n.@...\n.....\n"
#: (start_x, start_y, goal_x, goal_y) of three agents on MAP
AGENTS = [(4, 0, 0, 2), (0, 0, 4, 2), (3, 1, 2, 0)]


def _line(sx: int, sy: int, gx: int, gy: int, *, name: str = "m.map", w: int = 5, h: int = 3):
    return f"0\t{name}\t{w}\t{h}\t{sx}\t{sy}\t{gx}\t{gy}\t{abs(sx - gx) + abs(sy - gy)}"


def _scen(folder: Path, lines: list[str] | None = None, *, header: str = "version 1") -> Path:
    """``s.scen`` and ``m.map`` (:data:`MAP`) in ``folder``; ``lines`` default to
    :data:`AGENTS`."""
    (folder / "m.map").write_text(MAP)
    body = lines if lines is not None else [_line(*a) for a in AGENTS]
    path = folder / "s.scen"
    path.write_text("\n".join([header, *body]) + "\n")
    return path


def _cells(sim: Simulation, nodes: np.ndarray) -> list[tuple[int, int]]:
    return [(int(sim.floor.pos[n][0]), int(sim.floor.pos[n][1])) for n in nodes]


# --- the reader ------------------------------------------------------------------------------


def test_reader_takes_x_as_the_column_and_y_as_the_row(tmp_path: Path) -> None:
    """On a map 5 wide and 3 high, x 4 can only be a column: swapped, (4, 0) would be off the
    map. Cells come back as (row, col) = (y, x), in agent order."""
    scen = read_movingai_scen(_scen(tmp_path))
    assert scen.starts == [(0, 4), (0, 0), (1, 3)]
    assert scen.goals == [(2, 0), (2, 4), (0, 2)]
    assert scen.map_path == (tmp_path / "m.map").resolve()
    assert scen.optimal_lengths == [6.0, 6.0, 2.0] and scen.buckets == [0, 0, 0]


def test_reader_accepts_version_1_0_crlf_and_space_separated_columns(tmp_path: Path) -> None:
    lines = [_line(*AGENTS[0]).replace("\t", "  "), _line(*AGENTS[1]) + "\t"]
    path = _scen(tmp_path, lines, header="version 1.0")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    scen = read_movingai_scen(path)
    assert scen.starts == [(0, 4), (0, 0)] and scen.goals == [(2, 0), (2, 4)]


def test_optimal_length_is_read_as_a_float(tmp_path: Path) -> None:
    line = _line(*AGENTS[0]).rsplit("\t", 1)[0] + "\t13.82842712"
    assert read_movingai_scen(_scen(tmp_path, [line])).optimal_lengths == [13.82842712]


# --- run / validate / view -------------------------------------------------------------------


def test_run_scen_file_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``warehouse run s.scen``: a one-shot instance whose robots start and end where the file
    puts them, the same on every seed (no random starts or goals)."""
    monkeypatch.chdir(tmp_path)
    _scen(tmp_path)
    argv = ["run", "s.scen", "--policy", "rule_based", "--steps", "40", "--seeds", "0,1"]
    code, _, err = run_cli([*argv, "--out", "out"], capsys)
    assert code == 0, err
    written, _ = load_scenario(tmp_path / "out" / "scenario.yaml")  # (the run folder reruns it)
    assert written.fleet.start_cells == ((0, 4), (0, 0), (1, 3))
    assert written.tasks.goals == ((2, 0), (2, 4), (0, 2))
    assert (written.tasks.mode, written.tasks.assignment) == ("goal_visit", "one_shot")
    kpis = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]["kpis"]
    assert kpis["robots"]["per_seed"] == [3, 3]
    assert kpis["solved"]["per_seed"] == [1, 1]  # every robot on its own goal at the end
    assert kpis["on_goal_share"]["per_seed"] == [1.0, 1.0]
    # the lower bound: each agent's shortest path on this map (agent 0 and 1: 6, agent 2: 2)
    assert kpis["sum_of_costs_lb"]["per_seed"] == [14, 14]


def test_every_seed_gives_the_same_instance(tmp_path: Path) -> None:
    sc, src = load_scenario(_scen(tmp_path))
    seen = []
    for seed in (0, 7):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        sim.reset(seed=seed)
        seen.append((_cells(sim, sim.state.pos), _cells(sim, sim.state.task_goal)))
    assert seen[0] == seen[1]
    assert seen[0] == ([(0, 4), (0, 0), (1, 3)], [(2, 0), (2, 4), (0, 2)])


def test_robots_option_takes_the_first_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--robots 2``: the first two agents, each with its own goal (not goals 0 and 2); every
    line is still checked."""
    sc, src = load_scenario(_scen(tmp_path))
    sc = apply_overrides(sc, {"robots": 2}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=0)
    assert _cells(sim, sim.state.pos) == [(0, 4), (0, 0)]
    assert _cells(sim, sim.state.task_goal) == [(2, 0), (2, 4)]
    monkeypatch.chdir(tmp_path)
    argv = ["run", "s.scen", "--robots", "2", "--policy", "rule_based", "--steps", "30"]
    code, _, err = run_cli([*argv, "--seeds", "0", "--out", "out"], capsys)
    assert code == 0, err
    kpis = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]["kpis"]
    assert kpis["robots"]["per_seed"] == [2] and kpis["sum_of_costs_lb"]["per_seed"] == [12]
    argv = ["run", "s.scen", "--robots", "4", "--steps", "5", "--out", "out2"]
    fails_cleanly(argv, tmp_path, capsys, "--robots: is 4 but fleet.start_cells gives 3 start")
    _scen(tmp_path, [_line(*AGENTS[0]), _line(*AGENTS[1]), _line(1, 1, 2, 0)])
    argv = ["run", "s.scen", "--robots", "1", "--steps", "5", "--out", "out2"]
    fails_cleanly(argv, tmp_path, capsys, "s.scen: line 4: start (x 1, y 1) is an obstacle")


@pytest.mark.parametrize("collisions", ["pibt", "pibt_swap"])
def test_collision_modes_run(
    collisions: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    _scen(tmp_path)
    argv = ["run", "s.scen", "--collisions", collisions, "--steps", "40", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--policy", "rule_based", "--out", "out"], capsys)
    assert code == 0, err
    run = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]
    assert run["collisions"] == collisions
    assert run["kpis"]["solved"]["per_seed"] == [1]


def test_validate_and_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _scen(tmp_path)
    code, out, err = run_cli(["validate", "s.scen"], capsys)
    assert code == 0, err
    assert out.startswith("OK s.scen: s: 3 robots, floor 3×5 (14 free cells")
    assert "one-shot MAPF, 3 agents on m.map" in out
    pytest.importorskip("pygame")
    argv = ["view", "s.scen", "--headless-frames", "f", "--frames", "1", "--steps", "2"]
    code, out, err = run_cli([*argv, "--policy", "rule_based"], capsys)
    assert code == 0, err
    assert (tmp_path / "f" / "frame_0000.png").is_file()


def test_transpose_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _scen(tmp_path)
    argv = ["run", "s.scen", "--set", "layout.transpose=true", "--steps", "5", "--out", "out"]
    expected = "--set layout.transpose: not with a MovingAI scenario file: its starts and tasks"
    fails_cleanly(argv, tmp_path, capsys, expected)


# --- where the map is looked up --------------------------------------------------------------


def test_map_in_a_sibling_folder_as_the_benchmark_ships_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mapf-map/`` beside ``scen-random/``: the map is found in the parent's subfolder, the
    floor is built from it and the run folder's ``scenario.yaml`` (with its copy of the map)
    runs again."""
    _scen(tmp_path)
    (tmp_path / "mapf-map").mkdir()
    (tmp_path / "scen-random").mkdir()
    shutil.move(tmp_path / "m.map", tmp_path / "mapf-map" / "m.map")
    shutil.move(tmp_path / "s.scen", tmp_path / "scen-random" / "s.scen")
    scen = read_movingai_scen(tmp_path / "scen-random" / "s.scen")
    assert scen.map_path == (tmp_path / "mapf-map" / "m.map").resolve()
    assert scen.starts[0] == (0, 4)
    monkeypatch.chdir(tmp_path)
    argv = ["--steps", "30", "--seeds", "0", "--policy", "rule_based"]
    for target, out in (("scen-random/s.scen", "out"), ("out/scenario.yaml", "again")):
        code, _, err = run_cli(["run", target, *argv, "--out", out], capsys)
        assert code == 0, err
    reports = [json.loads((tmp_path / o / "report.json").read_text()) for o in ("out", "again")]
    assert reports[0]["runs"][0]["kpis"] == reports[1]["runs"][0]["kpis"]
    assert reports[0]["runs"][0]["kpis"]["solved"]["per_seed"] == [1]
    (tmp_path / "scen-random" / "m.map").write_text(MAP.replace(".@...", "....."))
    assert read_movingai_scen(tmp_path / "scen-random" / "s.scen").map_path.parent.name == (
        "scen-random"  # its own folder first
    )


def test_map_in_two_subfolders_is_ambiguous(tmp_path: Path) -> None:
    _scen(tmp_path)
    for sub in ("a", "b", "scen"):
        (tmp_path / sub).mkdir()
    shutil.copy(tmp_path / "m.map", tmp_path / "a" / "m.map")
    shutil.move(tmp_path / "m.map", tmp_path / "b" / "m.map")
    shutil.move(tmp_path / "s.scen", tmp_path / "scen" / "s.scen")
    with pytest.raises(InputError, match=r"line 2: map: 'm.map' is in both .*a and .*b"):
        read_movingai_scen(tmp_path / "scen" / "s.scen")


# --- bad files -------------------------------------------------------------------------------

#: (lines after the header, or None for the whole file as given; the error line's start)
BAD_FILES: list[tuple[list[str] | str, str]] = [
    ("", "s.scen: empty file"),
    ("version 1\n", "s.scen: no agents"),
    ("version 2\n" + _line(*AGENTS[0]), "s.scen: line 1: expected the header 'version 1'"),
    (_line(*AGENTS[0]) + "\n", "s.scen: line 1: expected the header 'version 1'"),
    (
        [_line(*AGENTS[0]), _line(*AGENTS[1]).rsplit("\t", 1)[0]],
        "s.scen: line 3: expected 9 tab-separated columns (bucket, map, map_width, map_height, "
        "start_x, start_y, goal_x, goal_y, optimal_length), got 8",
    ),
    ([_line(*AGENTS[0]), "", _line(*AGENTS[1])], "s.scen: line 3: expected 9 tab-separated"),
    (
        [_line(*AGENTS[0]).replace("\t4\t0\t", "\t4.0\t0\t", 1)],
        "s.scen: line 2: start_x: expected a whole number ≥ 0, got '4.0'",
    ),
    ([_line(0, 0, 4, 2).replace("\t4\t2\t", "\t4\t-2\t")], "s.scen: line 2: goal_y: expected a"),
    (
        [_line(*AGENTS[0]).rsplit("\t", 1)[0] + "\tnan"],
        "s.scen: line 2: optimal_length: expected a number ≥ 0, got 'nan'",
    ),
    ([_line(5, 0, 0, 2)], "s.scen: line 2: start (x 5, y 0) is off the map (x 0..4, y 0..2"),
    ([_line(0, 0, 0, 3)], "s.scen: line 2: goal (x 0, y 3) is off the map"),
    ([_line(*AGENTS[0]), _line(0, 0, 1, 1)], "s.scen: line 3: goal (x 1, y 1) is an obstacle"),
    ([_line(4, 0, 0, 2, w=4)], "s.scen: line 2: map_width: is 4 but m.map is 5 cells wide"),
    ([_line(4, 0, 0, 2, h=5)], "s.scen: line 2: map_height: is 5 but m.map is 3 cells high"),
    (
        [_line(*AGENTS[0]), _line(4, 0, 2, 0)],
        "s.scen: line 3: start (x 4, y 0) is also agent 0's (line 2): two agents cannot start",
    ),
    (
        [_line(*AGENTS[0]), _line(2, 0, 0, 2)],
        "s.scen: line 3: goal (x 0, y 2) is also agent 0's (line 2): two agents cannot share a "
        "goal",
    ),
    (
        [_line(*AGENTS[0]), _line(*AGENTS[1], name="n.map")],
        "s.scen: line 3: map: 'n.map', but line 2 names 'm.map'",
    ),
    ([_line(*AGENTS[0], name="none.map")], "s.scen: line 2: map: 'none.map' not found (looked in"),
    ([_line(*AGENTS[0], name="../m.map")], "s.scen: line 2: map: expected a map file name"),
    ([_line(*AGENTS[0], name="x" * 300)], f"s.scen: line 2: map: '{'x' * 60}'… not found"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_FILES)
def test_bad_scen_files_are_one_line_errors(
    body: list[str] | str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _scen(tmp_path, body if isinstance(body, list) else [])
    if isinstance(body, str):
        path.write_text(body)
    for command in (["run", "s.scen", "--steps", "5", "--out", "out"], ["validate", "s.scen"]):
        fails_cleanly(command, tmp_path, capsys, expected)


def test_cell_cut_off_from_the_floor_names_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The floor treats a walled-in pocket as blocked: the error points at the ``.scen`` line,
    not at ``fleet.start_cells[i]``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.map").write_text("type octile\nheight 3\nwidth 5\nmap\n...@.\n...@.\n...@@\n")
    lines = [_line(0, 0, 2, 2), _line(4, 1, 1, 1)]
    (tmp_path / "s.scen").write_text("version 1\n" + "\n".join(lines) + "\n")
    expected = "s.scen: line 3: start (x 4, y 1) is cut off from the main floor"
    fails_cleanly(["run", "s.scen", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


def test_too_many_lines_are_refused_before_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the cap the file is refused at once (a malformed line after it is never read)."""
    monkeypatch.setattr(movingai_scen, "MAX_LINES", 3)
    monkeypatch.chdir(tmp_path)
    _scen(tmp_path, [_line(*AGENTS[0])] * 3 + ["junk"])
    expected = "s.scen: 4 lines follow the header; MovingAI scenario files are limited to 3"
    fails_cleanly(["run", "s.scen", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)
    monkeypatch.setattr(movingai_scen, "MAX_LINES", 1_000_000)
    monkeypatch.setattr(movingai_scen, "MAX_AGENTS", 2)
    _scen(tmp_path)
    expected = "s.scen: 3 agents; a fleet is limited to 2 robots"
    fails_cleanly(["run", "s.scen", "--steps", "5", "--out", "out"], tmp_path, capsys, expected)


# --- a benchmark map -------------------------------------------------------------------------

#: four agents across warehouse-10-20-10-2-1 (161 wide, 63 high): x beyond 62 catches a swap
SHARED_AGENTS = [(1, 1, 159, 61), (1, 4, 159, 58), (1, 7, 159, 55), (1, 10, 159, 52)]


def test_scen_on_the_shared_movingai_warehouse_map(
    shared_maps: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The benchmark's layout (map in ``mapf-map/``, scenario in ``scen-random/``) on its own
    warehouse map: the cells land where x and y say, and PIBT brings every robot home."""
    name = "warehouse-10-20-10-2-1.map"
    (tmp_path / "mapf-map").mkdir()
    (tmp_path / "scen-random").mkdir()
    shutil.copy(shared_maps / "movingai" / name, tmp_path / "mapf-map" / name)
    lines = [_line(*a, name=name, w=161, h=63) for a in SHARED_AGENTS]
    (tmp_path / "scen-random" / "w.scen").write_text("version 1\n" + "\n".join(lines) + "\n")
    sc, _ = load_scenario(tmp_path / "scen-random" / "w.scen")
    assert sc.fleet.start_cells == tuple((y, x) for x, y, _, _ in SHARED_AGENTS)
    assert sc.tasks.goals == tuple((y, x) for _, _, x, y in SHARED_AGENTS)
    monkeypatch.chdir(tmp_path)
    argv = ["run", "scen-random/w.scen", "--policy", "rule_based", "--collisions", "pibt"]
    code, _, err = run_cli([*argv, "--steps", "400", "--seeds", "0", "--out", "out"], capsys)
    assert code == 0, err
    kpis = json.loads((tmp_path / "out" / "report.json").read_text())["runs"][0]["kpis"]
    assert kpis["solved"]["per_seed"] == [1]
    # shortest paths here are as long as the Manhattan distances (row 1 and column 159 free)
    manhattan = sum(abs(gx - sx) + abs(gy - sy) for sx, sy, gx, gy in SHARED_AGENTS)
    assert kpis["sum_of_costs_lb"]["per_seed"] == [manhattan] == [836]
