"""Session 42: ``--baseline`` (and a file's ``policies.baseline``) takes a policy as it was given
to ``--policy`` or listed in ``policies.run``, also where the run names it otherwise
(``greedy+rule_based_push`` runs as ``rule_based_push``); a file's baseline that is not a policy
of the run says that ``--baseline`` picks another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import TINY, fails_cleanly, run_cli

from warehouse.runner import baseline_name

SHORT = ["--steps", "10", "--seeds", "0"]
PAIR = "rule_based,greedy+rule_based_push"


def _paired_baseline(folder: Path) -> str:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))["paired"]["baseline"]


def test_baseline_as_given_to_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["run", "tiny", "--policy", PAIR, "--baseline", "greedy+rule_based_push", *SHORT]
    code, stdout, err = run_cli([*argv, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    assert _paired_baseline(out) == "rule_based_push"  # the name the run gives it
    written = yaml.safe_load((out / "scenario.yaml").read_text(encoding="utf-8"))
    assert written["policies"]["baseline"] == "rule_based_push"


def test_a_file_baseline_as_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["policies"] = {"run": PAIR.split(","), "baseline": "greedy+rule_based_push"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, err = run_cli(["run", str(path), *SHORT, "--out", str(out)], capsys)
    assert code == 0, (stdout, err)
    assert _paired_baseline(out) == "rule_based_push"


def test_a_file_baseline_not_run_says_baseline_picks_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's own list without its baseline (session 43: a list --policy replaces takes the
    default baseline instead, tests/test_session43_baseline.py)."""
    monkeypatch.chdir(tmp_path)
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["policies"] = {"run": ["rule_based", "rule_based_push"], "baseline": "random"}
    Path("s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    line = fails_cleanly(
        ["run", "s.yaml", *SHORT, "--out", "o"], tmp_path, capsys, "s.yaml: policies.baseline"
    )
    assert "'random' is not a policy of this run" in line
    assert line.endswith("--baseline NAME picks another")


def test_baseline_name_rules() -> None:
    names = ["rule_based/pibt", "rule_based:fifo+random"]
    assert baseline_name("rule_based/pibt", names) == "rule_based/pibt"
    # as typed, in the order of the names
    assert baseline_name("x", names, typed=["a", "x"]) == "rule_based:fifo+random"
    assert baseline_name("rule_based", names) == "rule_based/pibt"  # (the one without parts)
    with pytest.raises(Exception, match="not a policy of this run") as err:
        baseline_name("rule_based", ["rule_based/pibt", "rule_based/block"])  # ambiguous
    assert "picks another" not in str(err.value)  # (--baseline itself is the one given)
