"""What a floor means for the fleets that drive it, said before a run: dead-end stations under
PIBT, edge lengths that are not travel times, learned navigators on floors that are not grids."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import fails_cleanly, run_cli

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.floor.checks import dead_end_targets, edge_length_note

#: stations in one-cell spurs off the west aisle (``S`` with walls above and below)
SPUR = "#.pppp..\nS.####..\n#.pppp..\nS.......\n#.pppp..\nS.####..\n#.pppp..\n"
OPEN = "..pppp..\nS.####..\n..pppp..\nS.......\n..pppp..\nS.####..\n..pppp..\n"


def _scenario(tmp_path: Path, drawing: str, extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    text = drawing.replace("\n", "\\n")
    path.write_text(f'layout: {{type: ascii, map: "{text}"}}\nfleet: {{robots: 4}}\n{extra}')
    return path


def test_dead_end_stations_are_counted(tmp_path: Path) -> None:
    for drawing, expected in ((SPUR, (3, 0)), (OPEN, (0, 0))):
        sc, src = load_scenario(_scenario(tmp_path, drawing))
        assert dead_end_targets(build_floor(sc, src)) == expected


def test_validate_notes_and_run_warns_only_under_plain_pibt(tmp_path: Path, capsys) -> None:
    path = _scenario(tmp_path, SPUR)
    code, out, err = run_cli(["validate", str(path)], capsys)
    assert code == 0, err
    assert "note: 3 stations are dead ends (one neighbour): under the PIBT shield" in out
    argv = ["run", str(path), "--policy", "rule_based", "--steps", "5", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--collisions", "pibt", "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and "warning: rule_based/pibt: 3 stations are dead ends" in err
    assert "--collisions pibt_swap (PIBT that lets two robots swap places" in err
    code, _, err = run_cli([*argv, "--collisions", "block", "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "dead ends" not in err
    # pibt_swap gets robots past dead ends (docs/results_swap.md): no warning
    out_c = str(tmp_path / "c")
    code, _, err = run_cli([*argv, "--collisions", "pibt_swap", "--out", out_c], capsys)
    assert code == 0 and "dead ends" not in err
    code, out, _ = run_cli(["validate", str(_scenario(tmp_path, OPEN))], capsys)
    assert code == 0 and "note:" not in out


def _graph(tmp_path: Path, long: float, diagonal: bool) -> Path:
    """A ladder of aisle cells with picks beside it and a station at one end; optionally one
    diagonal edge, which makes it a floor that is not a grid."""
    nodes = [{"id": f"a{i}", "pos": [i, 0], "kind": "aisle"} for i in range(6)]
    nodes += [{"id": f"p{i}", "pos": [i, 1], "kind": "pick"} for i in range(6)]
    nodes.append({"id": "s", "pos": [-1, 0], "kind": "station"})
    edges = [{"source": f"a{i}", "target": f"a{i + 1}"} for i in range(5)]
    edges += [{"source": f"a{i}", "target": f"p{i}"} for i in range(6)]
    edges += [{"source": f"p{i}", "target": f"p{i + 1}", "length": long} for i in range(5)]
    edges.append({"source": "s", "target": "a0"})
    if diagonal:
        edges.append({"source": "s", "target": "p0"})
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"directed": False, "graph": {"name": "ladder"}, "nodes": nodes,
                                "edges": edges}))  # fmt: skip
    return path


def test_edge_lengths_that_are_not_travel_times_are_noted(tmp_path: Path) -> None:
    for long, noted in ((1.0, False), (4.0, True)):
        sc, src = load_scenario(_graph(tmp_path, long, diagonal=False))
        sc = apply_overrides(sc, {"fleet.robots": 2})
        note = edge_length_note(build_floor(sc, src))
        assert (note is not None) == noted
        if note:
            assert note.startswith("edges are 1–4 m long, but every edge takes one step")


def test_a_learned_navigator_is_refused_on_a_floor_that_is_not_a_grid(tmp_path, capsys) -> None:
    """Asked for by --policy: refused. The default pair: rule_based runs alone, with a warning."""
    path = _graph(tmp_path, 1.0, diagonal=True)
    expected = (
        "--policy: 'hierarchical': its navigator 'cql_tuned' was trained on grid floors (moves "
        "N, E, S, W), and the floor 'ladder' is not a grid"
    )
    base = ["run", str(path), "--robots", "2", "--steps", "20", "--seeds", "0"]
    fails_cleanly([*base, "--policy", "hierarchical", "--out", str(tmp_path / "x")], tmp_path,
                  capsys, expected)  # fmt: skip
    code, _, err = run_cli([*base, "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "warning: the floor 'ladder' is not a grid" in err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [run["policy"] for run in report["runs"]] == ["rule_based"]
