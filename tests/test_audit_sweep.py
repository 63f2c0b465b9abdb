"""``warehouse sweep``: swept values that would be silently merged, ignored or misread, checks
that must come before any run, and output that another sweep wrote while this one ran."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import fails_cleanly
from cli_helpers import run_cli as cli

REPO = Path(__file__).resolve().parents[1]


def test_values_that_give_the_same_setting_are_refused(tmp_path: Path, capsys) -> None:
    """``robots=4,4.0`` is one setting: its runs were merged into one row, each seed twice."""
    argv = ["sweep", "tiny", "--set", "robots=4,4.0", "--seeds", "0", "--steps", "5"]
    fails_cleanly(
        [*argv, "--out", str(tmp_path / "out")],
        tmp_path,
        capsys,
        "--set fleet.robots: '4' and '4.0' give the same setting",
    )


def test_swept_collisions_that_the_shield_overrides_are_refused(tmp_path: Path, capsys) -> None:
    """With ``policies.shield`` set, ``physics.collisions`` changes nothing: every value ran
    the same, silently."""
    argv = ["sweep", "tiny", "--set", "policies.shield=pibt", "--set", "collisions=block,physical"]
    fails_cleanly(
        [*argv, "--seeds", "0", "--steps", "5", "--out", str(tmp_path / "out")],
        tmp_path,
        capsys,
        "--set physics.collisions: its values would be ignored: policies.shield (pibt)",
    )


def test_policy_settings_are_checked_before_any_run(tmp_path: Path, capsys, monkeypatch) -> None:
    """A bad value of a part's keyword is named by its ``--set``, and fails before the
    combinations before it ran."""
    import mesa.batchrunner

    def no_runs(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(mesa.batchrunner, "batch_run", no_runs)
    argv = ["sweep", "tiny", "--set", "policies.navigator_args.rule_based.patience=1,abc"]
    fails_cleanly(
        [*argv, "--seeds", "0", "--steps", "5", "--out", str(tmp_path / "out")],
        tmp_path,
        capsys,
        "--set policies.navigator_args.rule_based.patience: the navigator 'rule_based' takes "
        "patience as int, got 'abc'",
    )


def test_checkpoint_paths_count_from_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    """As ``warehouse run --set policies.navigator_checkpoint=...`` (README), not from the
    built-in scenario's folder."""
    from warehouse.cli.sweep_inputs import parse_grid

    monkeypatch.chdir(tmp_path)
    grid, labels = parse_grid(["policies.navigator_checkpoint=a/one.json,two.json"], None)
    assert grid["policies.navigator_checkpoint"] == [
        str(tmp_path / "a" / "one.json"),
        str(tmp_path / "two.json"),
    ]
    assert labels["policies.navigator_checkpoint"] == ["a/one.json", "two.json"]


def test_title_spans_a_swept_step_length(tmp_path: Path, capsys) -> None:
    argv = ["sweep", "tiny", "--set", "physics.step_seconds=0.5,1", "--seeds", "0"]
    code, printed, err = cli([*argv, "--steps", "6", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "6 steps (0.05–0.1 min)" in " ".join(printed.split())
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert table["physics.step_seconds"].tolist() == [0.5, 1]


def test_jobs_beyond_the_runs_start_no_idle_processes(tmp_path: Path, capsys, monkeypatch) -> None:
    import mesa.batchrunner

    real, asked = mesa.batchrunner.batch_run, []

    def spy(*args, **kwargs):
        asked.append(kwargs["number_processes"])
        return real(*args, **{**kwargs, "number_processes": 1})

    monkeypatch.setattr(mesa.batchrunner, "batch_run", spy)
    argv = ["sweep", "tiny", "--seeds", "0", "--steps", "3", "--jobs", "16"]
    code, _, err = cli([*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert asked == [1]


def _writes_meanwhile(monkeypatch, folder_of) -> None:
    """batch_run, after which another sweep's sweep.csv is in ``folder_of()``."""
    import mesa.batchrunner

    real = mesa.batchrunner.batch_run

    def and_another(*args, **kwargs):
        rows = real(*args, **kwargs)
        folder = folder_of()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sweep.csv").write_text("another sweep's\n")
        return rows

    monkeypatch.setattr(mesa.batchrunner, "batch_run", and_another)


def test_an_out_folder_written_meanwhile_is_not_replaced(tmp_path: Path, capsys, monkeypatch):
    out = tmp_path / "out"
    _writes_meanwhile(monkeypatch, lambda: out)
    argv = ["sweep", "tiny", "--seeds", "0", "--steps", "3", "--out", str(out)]
    code, _, err = cli(argv, capsys)
    assert code == 2 and "already holds sweep.csv" in err and "Traceback" not in err, err
    assert (out / "sweep.csv").read_text() == "another sweep's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_default_folder_taken_meanwhile_is_chosen_anew(tmp_path: Path, capsys, monkeypatch):
    """Two sweeps started in the same second pick the same ``runs/STAMP-sweep-tiny``."""
    import warehouse.cli.cmd_sweep as cmd_sweep

    names = iter(["runs/first", "runs/second"])
    monkeypatch.setattr(cmd_sweep, "new_run_folder", lambda kind: Path(next(names)))
    monkeypatch.chdir(tmp_path)
    _writes_meanwhile(monkeypatch, lambda: tmp_path / "runs" / "first")
    code, printed, err = cli(["sweep", "tiny", "--seeds", "0", "--steps", "3"], capsys)
    assert code == 0, err
    assert (tmp_path / "runs/first/sweep.csv").read_text() == "another sweep's\n"
    assert len(pd.read_csv(tmp_path / "runs/second/sweep.csv")) == 1
    assert "to runs/second" in printed


def test_learned_policies_run_torch_on_one_thread(tmp_path: Path, capsys, monkeypatch) -> None:
    """As ``warehouse run`` (warehouse.threads): several threads on a fleet's small batches
    were 10× slower on a busy 2-core machine; in this process and in the workers."""
    torch = pytest.importorskip("torch")
    import mesa.batchrunner

    import warehouse.cli.cmd_sweep as cmd_sweep

    real, seen = mesa.batchrunner.batch_run, []

    def spy(model_cls, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(model_cls, *args, **kwargs)

    before = torch.get_num_threads()
    monkeypatch.setattr(mesa.batchrunner, "batch_run", spy)
    try:
        torch.set_num_threads(2)
        argv = ["sweep", "tiny", "--policy", "cql", "--seeds", "0", "--steps", "2"]
        code, _, err = cli([*argv, "--out", str(tmp_path / "out")], capsys)
        assert code == 0, err
        assert seen == [1]
        assert torch.get_num_threads() == 2  # given back
        cmd_sweep._sweep_model(scenario="tiny", policy="cql", steps=2)  # a worker's model
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_kpis_are_computed_for_the_last_step_only(tmp_path: Path, capsys, monkeypatch) -> None:
    """mesa.batch_run reads each run's last entry: every KPI after every step made a sweep 4 to
    6 times slower (same final KPIs)."""
    from warehouse.kpis import KPI_FUNCTIONS

    calls = []
    deliveries = KPI_FUNCTIONS["deliveries"]

    def counted(sim):
        calls.append(sim.t)
        return deliveries(sim)

    monkeypatch.setitem(KPI_FUNCTIONS, "deliveries", counted)
    argv = ["sweep", "tiny", "--seeds", "0", "--steps", "30", "--out", str(tmp_path / "out")]
    code, _, err = cli(argv, capsys)
    assert code == 0, err
    assert set(calls) == {30}
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert table["steps"].tolist() == [30]
    assert table["deliveries"].tolist() == [deliveries(_run(30))]


def _run(steps: int):
    from warehouse.model import WarehouseModel

    model = WarehouseModel("tiny", seed=0, steps=steps, policy="")
    model.run()
    return model.sim


def test_a_navigator_that_does_not_fit_the_floor_names_its_option(tmp_path: Path, capsys) -> None:
    """Was ``error: policy: ...`` (no such option or field), after the combinations before it
    ran."""
    import json

    nodes = [{"id": f"a{i}", "pos": [i, 0], "kind": "aisle"} for i in range(4)]
    nodes += [{"id": f"p{i}", "pos": [i, 1], "kind": "pick"} for i in range(4)]
    nodes.append({"id": "s", "pos": [-1, 0], "kind": "station"})
    edges = [{"source": f"a{i}", "target": f"a{i + 1}"} for i in range(3)]
    edges += [{"source": f"a{i}", "target": f"p{i}"} for i in range(4)]
    edges += [{"source": "s", "target": "a0"}, {"source": "s", "target": "p0"}]  # diagonal
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"directed": False, "graph": {"name": "ladder"}, "nodes": nodes,
                                 "edges": edges}))  # fmt: skip
    argv = ["sweep", str(graph), "--set", "robots=2", "--seeds", "0", "--steps", "5"]
    fails_cleanly(
        [*argv, "--set", "navigator=rule_based,cql", "--out", str(tmp_path / "out")],
        tmp_path,
        capsys,
        "--set policies.navigator: 'cql': its navigator 'cql' was trained on grid floors",
    )
    fails_cleanly(
        [*argv, "--policy", "cql", "--out", str(tmp_path / "out")],
        tmp_path,
        capsys,
        "--policy: 'cql': its navigator 'cql' was trained on grid floors",
    )


def test_sweep_csv_names_the_policy_and_collision_mode_of_each_row(tmp_path: Path, capsys) -> None:
    argv = ["sweep", "tiny", "--set", "policies.shield=block,pibt", "--seeds", "0", "--steps", "5"]
    code, _, err = cli([*argv, "--policy", "greedy+rule_based", "--out", str(tmp_path / "o")],
                       capsys)  # fmt: skip
    assert code == 0, err
    table = pd.read_csv(tmp_path / "o" / "sweep.csv")
    assert list(table.columns[:4]) == ["policies.shield", "policy", "collision_mode", "seed"]
    assert table["collision_mode"].tolist() == ["block", "pibt"]
    assert set(table["policy"]) == {"rule_based"}  # (the preset of that pair)


def test_a_swept_setting_that_changes_nothing_is_warned(tmp_path: Path, capsys) -> None:
    """A reward weight changes no run (only training reads it): every value gives the same
    runs, and the sweep says so; a setting that matters is not named."""
    argv = ["sweep", "tiny", "--set", "reward.delivery=10,100", "--set", "robots=3,6"]
    code, _, err = cli([*argv, "--seeds", "0,1", "--steps", "30", "--out", str(tmp_path / "o")],
                       capsys)  # fmt: skip
    assert code == 0, err
    assert "warning: --set reward.delivery: every value gave identical runs" in err
    assert "--set fleet.robots: every value" not in err
