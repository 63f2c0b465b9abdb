"""Audit of the ``warehouse`` command and the ``python -m`` evaluation entry points, second
round: Ctrl-C, output folders, and one-line errors that name what the user typed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_helpers import TINY, fails_cleanly, run_cli, snapshot
from interrupt_helpers import children, press_ctrl_c

WAREHOUSE = [sys.executable, "-c", "from warehouse.cli.main import main; main()"]


LONG = ["--steps", "1000000", "--seeds", "0..3"]


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", str(TINY), "--set", "robots=2,3", *LONG, "--jobs", "2", "--out", "out"],
        ["run", str(TINY), "--policy", "rule_based,random", *LONG, "--jobs", "3", "--out", "out"],
    ],
    ids=["sweep", "run"],
)
def test_ctrl_c_with_worker_processes_is_one_line_and_leaves_nothing(
    argv: list[str], tmp_path: Path
) -> None:
    """Ctrl-C reaches the worker processes too (one process group): they stay quiet (no
    "Process SpawnPoolWorker-1:" nor their tracebacks), the command says it was interrupted
    on one line, exits 130 and leaves no output folder."""
    argv = [*WAREHOUSE, *argv]
    # the workers are booting (imports) or running once there: both must stay quiet
    code, out, err = press_ctrl_c(argv, tmp_path, lambda p: len(children(p.pid)) >= 2, settle_s=1)
    assert code == 130, (out, err)
    assert err.strip() == "interrupted", err
    assert "Traceback" not in out + err
    assert snapshot(tmp_path) == set()


def test_ctrl_c_of_collect_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """``collect`` (no workers) interrupted: one line, exit 130, no dataset nor staging folder."""
    argv = ["collect", str(TINY), "--out", "data", "--steps", "1000000", "--episodes", "50"]
    # collecting has begun once its staging folder is there
    code, out, err = press_ctrl_c([*WAREHOUSE, *argv], tmp_path, lambda p: any(tmp_path.iterdir()))
    assert code == 130, (out, err)
    assert err.strip() == "interrupted", err
    assert snapshot(tmp_path) == set()


def test_keyboard_interrupt_in_a_command_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process: a KeyboardInterrupt inside any command ends as ``interrupted``, exit 130."""
    import warehouse.runner

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(warehouse.runner, "run_experiment", interrupted)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["run", str(TINY), "--steps", "5", "--out", "o"], capsys)
    assert (code, err.strip()) == (130, "interrupted"), (out, err)
    assert snapshot(tmp_path) == set()


def test_collect_accepts_an_existing_empty_out_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As ``run``, ``sweep`` and the trainers: an empty ``--out`` folder is used, not refused."""
    (tmp_path / "data").mkdir()
    argv = ["collect", str(TINY), "--out", str(tmp_path / "data"), "--steps", "5"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert (tmp_path / "data" / "manifest.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_collect_still_refuses_a_folder_that_holds_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    argv = ["collect", str(TINY), "--out", str(tmp_path / "data"), "--steps", "5"]
    line = fails_cleanly(argv, tmp_path, capsys, str(tmp_path / "data"))
    assert "--out" in line and "not empty" in line


def test_run_records_into_the_out_folder_it_creates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--record DIR/x.npz --out DIR``: the run makes DIR, so the recording may go there; it
    is published with the run's files."""
    out = tmp_path / "new"
    argv = ["run", str(TINY), "--steps", "5", "--seeds", "0", "--policy", "rule_based"]
    code, _, err = run_cli([*argv, "--record", str(out / "x.npz"), "--out", str(out)], capsys)
    assert code == 0, err
    assert (out / "x.npz").is_file() and (out / "report.json").is_file()
    # the recording is still refused where it would replace a file there
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.npz").write_bytes(b"mine")
    line = fails_cleanly(
        [*argv, "--record", str(other / "x.npz"), "--out", str(other)], tmp_path, capsys, ""
    )
    assert "x.npz" in line and (other / "x.npz").read_bytes() == b"mine"


def test_run_record_into_a_missing_folder_that_is_not_out_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(TINY), "--steps", "5", "--record", str(tmp_path / "nowhere" / "x.npz")]
    fails_cleanly([*argv, "--out", str(tmp_path / "o")], tmp_path, capsys, str(tmp_path))


def test_empty_scenario_argument_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("run", "sweep"):
        line = fails_cleanly([command, "", "--out", str(tmp_path / "o")], tmp_path, capsys, "")
        assert "empty" in line and "TARGET" in line.upper() and "folder" not in line, line


def test_sweep_says_given_twice_as_the_other_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", str(TINY), "--set", "robots=2,3", "--set", "fleet.robots=4"]
    line = fails_cleanly(argv, tmp_path, capsys, "--set")
    assert "given twice" in line and "set twice" not in line


def test_agents_evaluate_names_the_collisions_option(capsys: pytest.CaptureFixture[str]) -> None:
    from agents.evaluate import main

    with pytest.raises(SystemExit) as exc:
        main(["--collisions", "bogus", "--scenarios", str(TINY), "--seeds", "0", "--steps", "2",
              "--policies", "rule_based"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2
    assert err.startswith("error: --collisions: ") and "bogus" in err, err


def test_hierarchy_evaluate_says_it_replaces_earlier_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regenerating a results folder (the documented workflow for docs/results_*) replaces its
    files, and says so."""
    import hierarchy.evaluate as ev

    monkeypatch.setattr(ev, "SCENARIOS", [("tiny", str(TINY), False, {})])
    argv = ["--seeds", "1", "--steps", "3", "--scenarios", "tiny", "--configs",
            "rule_based (block)"]  # fmt: skip
    out = tmp_path / "res"
    ev.main(["--out", str(out), *argv])
    first = capsys.readouterr().out
    assert f"wrote results.json and summary.md to {out}" in first and "replac" not in first
    (out / "results.json").write_text("[]")
    ev.main(["--out", str(out), *argv])
    second = capsys.readouterr().out
    assert "(replaced the earlier results.json and summary.md)" in second
    assert json.loads((out / "results.json").read_text())  # rewritten
