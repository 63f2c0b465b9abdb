"""Writing one's own floor (a new user's audit): a map of a POGEMA collection picked by name, the
format ``auto`` chose said in a note, what validate counts, and a closure the run never reaches."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import fails_cleanly, run_cli

COLLECTION = """\
floorA: |
  $.........
  .###..###.
  ..@....@..
  .###..###.
  $.........
floorB: |
  ..........
  .###..###.
  ..........
"""

#: walls and shelves drawn with # and @ and nothing else of ASCII's: POGEMA's @ are pick faces
AT_SHELVES = "##########\n#........#\n#.@@..@@.#\n#........#\n##########\n"


def scenario(tmp_path: Path, name: str, layout: str) -> str:
    (tmp_path / f"{name}.yaml").write_text(
        f"name: {name}\nlayout: {layout}\nfleet: {{robots: 2}}\n"
    )
    return f"{name}.yaml"


def test_a_map_of_a_pogema_collection_is_picked_by_name(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps.yaml").write_text(COLLECTION)
    two = scenario(tmp_path, "two", "{type: file, path: maps.yaml}")
    fails_cleanly(["validate", two], tmp_path, capsys,
                  "maps.yaml: the file holds 2 maps (floorA, floorB); choose one by name "
                  "(a scenario's layout.map_name)")  # fmt: skip
    a = scenario(tmp_path, "a", "{type: file, path: maps.yaml, map_name: floorA}")
    code, out, err = run_cli(["validate", a], capsys)
    assert code == 0, err
    assert "floor 5×10 (38 free cells; 2 pick locations, 2 stations)" in out
    code, _, err = run_cli(["run", a, "--policy", "rule_based", "--steps", "20", "--seeds", "0",
                            "--out", "o"], capsys)  # fmt: skip
    assert code == 0, err
    assert run_cli(["validate", "o/scenario.yaml"], capsys)[0] == 0  # the run folder reruns it
    fails_cleanly(["validate", scenario(tmp_path, "z", "{type: file, path: maps.yaml, map_name: "
                   "floorZ}")], tmp_path, capsys, "maps.yaml: floorZ: no such map")  # fmt: skip
    (tmp_path / "one.txt").write_text(AT_SHELVES)
    fails_cleanly(
        ["validate", scenario(tmp_path, "n", "{type: file, path: one.txt, map_name: floorA}")],
        tmp_path, capsys, "n.yaml: layout.map_name: picks a map of a POGEMA YAML file, not of",
    )  # fmt: skip


def test_validate_notes_a_drawing_auto_read_as_pogema(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "at.txt").write_text(AT_SHELVES)
    code, out, err = run_cli(["validate", scenario(tmp_path, "auto", "{type: file, path: at.txt}")],
                             capsys)  # fmt: skip
    assert code == 0, err
    assert "4 pick locations" in out and "note: read as a POGEMA map" in out
    code, out, err = run_cli(
        ["validate", scenario(tmp_path, "drawn", "{type: file, path: at.txt, format: ascii}")],
        capsys,
    )
    assert code == 0, err
    assert "16 pick locations" in out and "POGEMA" not in out  # @ read as shelves


def test_validate_counts_parking_cells_and_one_way_moves(tmp_path, monkeypatch, capsys) -> None:
    """``S..P`` over ``p>>.``: one parking cell; the two ``>`` cells leave only eastward, so
    p → >, > → > and > → . have no move back."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pk.yaml").write_text("name: pk\nlayout:\n  type: ascii\n  map: |\n    S..P\n"
                                      "    p>>.\nfleet: {robots: 2}\n")  # fmt: skip
    code, out, err = run_cli(["validate", "pk.yaml"], capsys)
    assert code == 0, err
    assert "(8 free cells; 1 pick location, 1 station, 1 parking cell, 3 one-way moves)" in out
    code, out, _ = run_cli(["validate", "small"], capsys)
    assert code == 0 and "parking" not in out and "one-way" not in out


def test_run_warns_of_a_closure_that_begins_after_the_episode(tmp_path, capsys) -> None:
    closure = "faults.closures=[{cells: [[1, 0]], start_s: 500}]"
    argv = ["run", "small", "--policy", "rule_based", "--steps", "50", "--seeds", "0"]
    code, _, err = run_cli([*argv, "--set", closure, "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert ("warning: faults.closures[0] begins at step 500, after the episode's 50 steps, so it "
            "never closes") in err  # fmt: skip
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "p")], capsys)
    assert code == 0 and "never closes" not in err
