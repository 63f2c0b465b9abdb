"""Session 44: ``warehouse shadow`` runs one episode, ``--steps`` long (else the scenario's
``episode.steps``) and seeded by ``--seed`` (else the first of its ``episode.seeds``); its
folder's ``scenario.yaml`` records both, so the file alone shadows the same episode again.
Before, ``--steps`` and ``--seed`` were not recorded (a re-shadow ran the file's 500 steps and
seed 0), and a ``--set episode.seeds=[5]`` was silently ignored (seed 0 ran; the written file
said 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, run_cli


def _shadow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, *argv: str
) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """``warehouse shadow ARGV --out NAME``: shadow.json, the written scenario's ``episode``
    section and divergences.csv."""
    out = tmp_path / name
    code, stdout, err = run_cli(["shadow", *argv, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    summary = json.loads((out / "shadow.json").read_text(encoding="utf-8"))
    written = yaml.safe_load((out / "scenario.yaml").read_text(encoding="utf-8"))
    return summary, written["episode"], (out / "divergences.csv").read_bytes()


def test_steps_and_seed_are_recorded_and_the_file_repeats_the_episode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, episode, diverged = _shadow(
        tmp_path, capsys, "a", str(TINY), "--steps", "30", "--seed", "4"
    )
    assert (first["steps"], first["seed"]) == (30, 4)
    assert (episode["steps"], episode["seeds"]) == (30, [4])
    again, episode_again, diverged_again = _shadow(
        tmp_path, capsys, "b", str(tmp_path / "a" / "scenario.yaml")
    )
    assert (again["steps"], again["seed"]) == (30, 4)
    for key in ("dispatch", "navigation", "robots", "collisions"):
        assert again[key] == first[key], key
    assert diverged_again == diverged and episode_again == episode


def test_a_set_of_the_seeds_seeds_the_episode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    five, _, diverged = _shadow(
        tmp_path, capsys, "a", str(TINY), "--steps", "30", "--set", "episode.seeds=[5]"
    )
    flag, _, diverged_flag = _shadow(
        tmp_path, capsys, "b", str(TINY), "--steps", "30", "--seed", "5"
    )
    assert five["seed"] == flag["seed"] == 5
    assert diverged == diverged_flag and five["navigation"] == flag["navigation"]


def test_without_seed_the_scenarios_first_seed_runs_and_its_list_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = yaml.safe_load(TINY.read_text(encoding="utf-8"))["episode"]["seeds"]
    summary, episode, _ = _shadow(tmp_path, capsys, "a", str(TINY), "--steps", "20")
    assert summary["seed"] == listed[0] and episode["seeds"] == listed
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["episode"]["seeds"] = [7, 8]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    summary, episode, _ = _shadow(tmp_path, capsys, "b", str(tmp_path / "s.yaml"), "--steps", "20")
    assert summary["seed"] == 7 and episode["seeds"] == [7, 8]


def test_seed_and_a_set_of_the_seeds_together_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a"
    argv = ["shadow", str(TINY), "--seed", "3", "--set", "episode.seeds=[5]", "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 2 and stdout == "" and not out.exists()
    assert err.strip() == "error: --set episode.seeds: --seed sets episode.seeds too; give it once"
