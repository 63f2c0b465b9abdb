"""Session 43: a scenario file's ``policies.baseline`` goes with the file's own policy list. Where
``--policy`` (or ``--set policies.run``) replaces that list and the recorded baseline is none of
the new policies, the run goes on: it pairs against the default baseline and says so in one
warning, and the written ``scenario.yaml`` leaves the stale baseline out. The file's own list
without its baseline stays an error (tests/test_session42_baseline_names.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import TINY, run_cli

SHORT = ["--steps", "10", "--seeds", "0,1"]


def _run_folder_file(tmp_path: Path) -> Path:
    """A run folder's file: two policies, paired against ``rule_based_push``."""
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["policies"] = {"run": ["rule_based", "rule_based_push"], "baseline": "rule_based_push"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "choose", [["--policy", "rule_based,random"], ["--set", "policies.run=[rule_based, random]"]]
)
def test_a_replaced_list_pairs_against_the_default_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], choose: list[str]
) -> None:
    path, out = _run_folder_file(tmp_path), tmp_path / "out"
    code, stdout, err = run_cli(["run", str(path), *choose, *SHORT, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    warned = [line for line in err.splitlines() if "policies.baseline" in line]
    assert len(warned) == 1, err
    assert "'rule_based_push' is not one of the policies" in warned[0]
    assert "default baseline" in warned[0]
    assert _report(out)["paired"]["baseline"] == "rule_based"  # the default: the rule-based fleet
    written = yaml.safe_load((out / "scenario.yaml").read_text(encoding="utf-8"))
    assert "baseline" not in written["policies"]
    # the written file runs again with no flags, and pairs the same way
    again = tmp_path / "again"
    code, stdout, err = run_cli(["run", str(out / "scenario.yaml"), "--out", str(again)], capsys)
    assert code == 0, (stdout, err)
    assert _report(again)["paired"] == _report(out)["paired"]


def test_one_policy_leaves_the_baseline_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out = _run_folder_file(tmp_path), tmp_path / "out"
    argv = ["run", str(path), "--policy", "random", *SHORT, "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, (stdout, err)
    assert "it is left out (one policy runs)" in err
    assert "paired" not in _report(out)  # (one policy: nothing to pair)


def test_a_replaced_list_that_has_the_baseline_keeps_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, out = _run_folder_file(tmp_path), tmp_path / "out"
    argv = ["run", str(path), "--policy", "random,rule_based_push", *SHORT, "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, (stdout, err)
    assert "policies.baseline" not in err
    assert _report(out)["paired"]["baseline"] == "rule_based_push"


def test_a_set_baseline_not_run_is_still_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _run_folder_file(tmp_path)
    argv = ["run", str(path), "--policy", "rule_based,random", "--set", "policies.baseline=lacam"]
    code, _stdout, err = run_cli([*argv, *SHORT, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "--set policies.baseline" in err and "'lacam' is not a policy of this run" in err
    assert not (tmp_path / "o").exists()
