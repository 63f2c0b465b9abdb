"""Bad input: one line ``error: FILE: FIELD: MESSAGE``, exit code 2, nothing left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import given_once, run_cli

from warehouse import runner
from warehouse.cli.main import main

TINY_LAYOUT = "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


UNREACHABLE = """\
layout:
  type: ascii
  map: |
    .....#S
    .p...##
    .......
fleet: {robots: 2}
"""

#: name -> (files to write {relative path: text or bytes}, extra argv, expected "FILE: FIELD")
CASES: dict[str, tuple[dict[str, str | bytes], list[str], str]] = {
    "yaml_syntax": ({"s.yaml": "fleet: [robots: 3\nlayout: x\n"}, [], "s.yaml: line 2"),
    "unknown_key": ({"s.yaml": "fleet:\n  robotz: 3\n"}, [], "s.yaml: fleet.robotz: unknown key"),
    "bool_as_number": (
        {"s.yaml": "fleet:\n  robots: true\n"},
        [],
        "s.yaml: fleet.robots: expected a number, got true",
    ),
    "nan_reward": (
        {"s.yaml": "reward:\n  delivery: .nan\n"},
        [],
        "s.yaml: reward.delivery: Input should be a finite number",
    ),
    "parking_on_a_station_wall": (
        {"s.yaml": "layout: {station_walls: [west, east], parking_walls: [north, east]}\n"},
        [],
        "s.yaml: layout.parking_walls: east carries stations; parking needs another wall",
    ),
    "unknown_collision_mode": (
        {"s.yaml": "physics: {collisions: bounce}\n"},
        [],
        "s.yaml: physics.collisions: expected a collision mode: physical, block, pibt, "
        "pibt_swap, pibt_lacam, got 'bounce'",
    ),
    "duplicate_key": (
        {"s.yaml": "fleet:\n  robots: 3\n  robots: 4\n"},
        [],
        "s.yaml: line 3: duplicate",
    ),
    "folder_target": ({"s.yaml/x.txt": "not a scenario"}, [], "s.yaml: is a folder"),
    "unknown_section": ({"s.yaml": "flet:\n  robots: 3\n"}, [], "s.yaml: flet: unknown key"),
    "unknown_layout_key": (
        {"s.yaml": "layout: {type: generator, shelf_rowz: 3}\n"},
        [],
        "s.yaml: layout.shelf_rowz: unknown key",
    ),
    "wrong_type": ({"s.yaml": "fleet:\n  robots: many\n"}, [], "s.yaml: fleet.robots: "),
    "wrong_type_section": ({"s.yaml": "fleet: [1, 2]\n"}, [], "s.yaml: fleet: "),
    "out_of_range": ({"s.yaml": "tasks:\n  arrival_rate: -1\n"}, [], "s.yaml: tasks.arrival_rate"),
    "bad_enum": ({"s.yaml": "physics: {collisions: bounce}\n"}, [], "s.yaml: physics.collisions"),
    "bad_layout_type": ({"s.yaml": "layout: {type: spiral}\n"}, [], "s.yaml: layout.type"),
    "not_a_mapping": ({"s.yaml": "- just\n- a list\n"}, [], "s.yaml: expected a mapping"),
    "too_many_robots": (
        {"s.yaml": TINY_LAYOUT + "fleet: {robots: 5000}\n"},
        [],
        "s.yaml: fleet.robots: must be ≤ free cells (59)",
    ),
    # a value the schema takes but the floor refuses names the flag, not the file
    "too_many_robots_flag": (
        {"s.yaml": TINY_LAYOUT},
        ["--robots", "60"],
        "--robots: must be ≤ free cells (59)",
    ),
    "unreachable_station": ({"s.yaml": UNREACHABLE}, [], "s.yaml: layout: 1 pick location"),
    "missing_map": (
        {"s.yaml": "layout: {type: file, path: nope.map}\n"},
        [],
        "s.yaml: layout.path: map file 'nope.map' not found",
    ),
    "malformed_map": (
        {
            "s.yaml": "layout: {type: file, path: bad.map}\nfleet: {robots: 2}\n",
            "bad.map": "type octile\nheight x\nwidth 3\nmap\n...\n",
        },
        [],
        "bad.map: header.height",
    ),
    "empty_map": ({"s.yaml": "layout: {type: file, path: e.map}\n", "e.map": ""}, [], "e.map: "),
    "binary_map": (
        {"s.yaml": "layout: {type: file, path: b.map}\n", "b.map": b"\x00\x01\x02type"},
        [],
        "b.map: ",
    ),
    "python_tag": (
        {"s.yaml": "fleet: !!python/object/apply:os.system ['echo pwned']\n"},
        [],
        "s.yaml: line 1: unsupported YAML tag",
    ),
    "python_name_tag": (
        {"s.yaml": "name: !!python/name:os.system\n"},
        [],
        "s.yaml: line 1: unsupported YAML tag",
    ),
    "alias_bomb": (
        {"s.yaml": alias_bomb()},
        [],
        "s.yaml: line 6: document expands to more than 1,000,000 nodes (alias bomb?)",
    ),
    "deep_nesting": ({"s.yaml": "a: " + "[" * 1000 + "]" * 1000 + "\n"}, [], "s.yaml: line 1"),
    "deep_mapping": (
        {"s.yaml": "".join("  " * i + f"k{i}:\n" for i in range(1000))},
        [],
        "s.yaml: line ",
    ),
    "escaping_path": (
        {"sc/s.yaml": "layout: {type: file, path: ../outside.map}\n", "outside.map": "...\n"},
        [],
        "sc/s.yaml: layout.path: '../outside.map' escapes the scenario's folder",
    ),
    "absolute_path": (
        {"s.yaml": "layout: {type: file, path: /etc/hostname}\n"},
        [],
        "s.yaml: layout.path: '/etc/hostname' escapes",
    ),
    "empty_file": ({"s.yaml": ""}, [], "s.yaml: scenario file is empty"),
    "whitespace_file": ({"s.yaml": "\n  \n# only a comment\n"}, [], "s.yaml: "),
    "binary_file": (
        {"s.yaml": b"\x89PNG\r\n\x1a\n\x00\x00"},
        [],
        "s.yaml: scenario file is binary",
    ),
    "latin1_file": ({"s.yaml": "name: caf\xe9\n".encode("latin-1")}, [], "s.yaml: "),
    "set_unparsable": (
        {"s.yaml": TINY_LAYOUT},
        ["--set", "fleet.robots=[1,"],
        "--set fleet.robots: cannot parse value",
    ),
    "set_wrong_type": (
        {"s.yaml": TINY_LAYOUT},
        ["--set", "fleet.robots=abc"],
        "--set fleet.robots: Input should be a valid integer",
    ),
    "set_unknown_key": (
        {"s.yaml": TINY_LAYOUT},
        ["--set", "fleet.robotz=3"],
        "--set fleet.robotz: unknown setting",
    ),
    "set_no_equals": (
        {"s.yaml": TINY_LAYOUT},
        ["--set", "fleet.robots"],
        "--set: expected KEY=VALUE",
    ),
    "set_python_tag": (
        {"s.yaml": TINY_LAYOUT},
        ["--set", "name=!!python/name:os.system"],
        "--set name: cannot parse value",
    ),
    "bad_seeds": ({"s.yaml": TINY_LAYOUT}, ["--seeds", "0..x"], "--seeds: cannot parse"),
    "negative_seed_flag": (
        {"s.yaml": TINY_LAYOUT},
        ["--seeds", "-1"],
        "--seeds: seeds must be ≥ 0, got -1",
    ),
    "negative_seed_file": (
        {"s.yaml": TINY_LAYOUT + "episode: {seeds: [3, -2]}\n"},
        [],
        "s.yaml: episode.seeds: seeds must be ≥ 0, got -2",
    ),
    "repeated_seed_file": (
        {"s.yaml": TINY_LAYOUT + "episode: {seeds: [1, 1]}\n"},
        [],
        "s.yaml: episode.seeds: seeds repeat",
    ),
    "bad_policy": ({"s.yaml": TINY_LAYOUT}, ["--policy", "telepathy"], "--policy: unknown policy"),
    "bad_navigator": ({"s.yaml": TINY_LAYOUT}, ["--navigator", "nope"], "--navigator: unknown"),
    "bad_tasks": ({"s.yaml": TINY_LAYOUT}, ["--tasks", "juggling"], "--tasks: Input should be"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files, extra, expected = CASES[case]
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    scenario = next((p for p in files if p.endswith("s.yaml")), "s.yaml")
    monkeypatch.chdir(tmp_path)
    episodes: list[object] = []  # bad input is refused before any episode runs
    monkeypatch.setattr(runner, "_run_episode", lambda *args, **kw: episodes.append(args))
    before = snapshot(tmp_path)
    code, out, err = run_cli(
        given_once(["run", scenario, "--steps", "5", "--seeds", "0", "--out", "out"], extra), capsys
    )
    assert episodes == []
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {expected}"), lines[0]
    assert "Traceback" not in err + out
    assert snapshot(tmp_path) == before  # no output folder, no partial files, no runs/


def test_validate_reports_same_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "small.yaml"
    bad.write_text(TINY_LAYOUT + "fleet: {robots: 812}\n", encoding="utf-8")
    code, _, err = run_cli(["validate", str(bad)], capsys)
    assert code == 2
    assert err.strip() == f"error: {bad}: fleet.robots: must be ≤ free cells (59)"


def test_missing_target(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["run", "no_such_scenario", "--out", "o"], capsys)
    assert code == 2
    assert err.strip() == "error: no_such_scenario: no such built-in scenario or file"
    assert list(tmp_path.iterdir()) == []


def test_malformed_map_target(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "broken.map").write_text("type octile\nheight 2\nwidth 2\nmap\n.\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["run", "broken.map", "--out", "o"], capsys)
    assert code == 2
    assert err.startswith("error: broken.map: ")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_map(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: m.map}\n", "utf-8")
    secret = tmp_path / "m.map"
    secret.write_text("....\n", "utf-8")
    secret.chmod(0)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["run", "s.yaml", "--out", "o"], capsys)
    assert code == 2
    assert err.startswith("error: m.map: ")
    assert not (tmp_path / "o").exists()


def test_same_file_name_in_two_folders_is_told_apart(tmp_path: Path, monkeypatch, capsys) -> None:
    """Two runs' ``policy.json``: the error names the folder too, so the user knows which of
    the two files is broken (the bare name ``policy.json`` would fit both)."""
    import torch

    from agents.checkpoint import save_checkpoint
    from agents.cql import CQL, CQLConfig
    from agents.networks import NetworkConfig

    net = NetworkConfig(radius=2, intent=True, heads=2, window_dim=16, hidden=(16,))
    for i in range(2):
        torch.manual_seed(i)
        (tmp_path / f"run{i}").mkdir()
        stem = tmp_path / f"run{i}" / "policy"
        save_checkpoint(stem, CQL(CQLConfig(network=net)), step=0, training=False)
    (tmp_path / "run1" / "policy.json").write_text("{not json", "utf-8")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    argv = ["ensemble", "run0/policy.json", "run1/policy.json", "--out", "ens"]
    code, out, err = run_cli(argv, capsys)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: run1/policy.json: line 1: invalid JSON: "), lines[0]
    assert "Traceback" not in err + out
    assert snapshot(tmp_path) == before  # no ens.json, no ens.safetensors


def _entry_point() -> list[str]:
    exe = Path(sys.executable).parent / "warehouse"
    found = shutil.which("warehouse")
    if exe.exists():
        return [str(exe)]
    if found:
        return [found]
    return [sys.executable, "-c", "from warehouse.cli.main import main; main()"]


def test_real_subprocess_entry_point(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(TINY_LAYOUT + "fleet:\n  robots: -4\n", "utf-8")
    proc = subprocess.run(
        [*_entry_point(), "run", "small.yaml", "--steps", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: small.yaml: fleet.robots: Input should be greater than or equal to 1, got -4"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]  # no runs/ folder


def test_failure_mid_run_removes_staging(tmp_path: Path, monkeypatch, capsys) -> None:
    """An error after the run started (here: in plotting) leaves no output folder behind."""
    import warehouse.plots

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(warehouse.plots, "plot_congestion", boom)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        main(["run", "tiny", "--steps", "3", "--seeds", "0", "--out", "deep/er/out"])
    assert list(tmp_path.iterdir()) == []
