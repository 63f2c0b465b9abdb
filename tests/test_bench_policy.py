"""``warehouse bench --scenario/--policy``: a whole fleet step of named policies, timed."""

from __future__ import annotations

import json

import pytest
from cli_helpers import fails_cleanly, run_cli


def test_policy_bench_times_each_policy_on_the_scenario(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    out = tmp_path / "bench.json"
    argv = ["bench", "--scenario", "tiny", "--policy", "rule_based,hierarchical", "--steps", "4"]
    code, text, err = run_cli([*argv, "--repeat", "2", "--out", str(out)], capsys)
    assert code == 0, err
    assert "whole fleet step, tiny" in text and "CPU ms/step" in text and "hierarchical" in text
    rows = json.loads(out.read_text())["results"]
    assert [(r["scenario"], r["policy"]) for r in rows] == [
        ("tiny", "rule_based"),
        ("tiny", "hierarchical"),
    ]
    from scenarios import load_scenario

    robots = load_scenario("tiny")[0].fleet.robots
    for r in rows:
        assert r["steps"] == 4 and r["robots"] == robots
        assert r["ms_per_step"] == pytest.approx(1e3 * r["seconds"] / 4)
        assert r["cpu_ms_per_step"] == pytest.approx(1e3 * r["cpu_seconds"] / 4)
        assert r["agent_steps_per_s"] == pytest.approx(robots * 4 / r["seconds"])
    assert torch.get_num_threads() == before  # the one-thread block gives the count back


def test_policy_bench_defaults_to_small_and_the_scenarios_policy(tmp_path, capsys):
    out = tmp_path / "b.json"
    code, _, err = run_cli(
        ["bench", "--policy", "rule_based", "--steps", "2", "--out", str(out)], capsys
    )
    assert code == 0, err
    (row,) = json.loads(out.read_text())["results"]
    assert (row["scenario"], row["policy"], row["robots"]) == ("small", "rule_based", 30)
    code, _, err = run_cli(
        ["bench", "--scenario", "tiny", "--steps", "2", "--out", str(out)], capsys
    )
    assert code == 2 and "b.json: --out: already exists" in err  # (never replaced)
    out = tmp_path / "c.json"
    code, _, err = run_cli(
        ["bench", "--scenario", "tiny", "--steps", "2", "--out", str(out)], capsys
    )
    assert code == 0, err
    (row,) = json.loads(out.read_text())["results"]
    from scenarios import load_scenario
    from warehouse.policies import resolve_policy

    own = resolve_policy(None, load_scenario("tiny")[0]).name
    assert (row["scenario"], row["policy"]) == ("tiny", own)


def test_policy_bench_counts_the_same_deliveries_for_the_same_seed(tmp_path, capsys):
    runs = []
    for i in range(2):
        out = tmp_path / f"b{i}.json"
        argv = ["bench", "--scenario", "tiny", "--policy", "rule_based", "--steps", "60"]
        code, _, err = run_cli([*argv, "--seed", "3", "--out", str(out)], capsys)
        assert code == 0, err
        runs.append(json.loads(out.read_text())["results"][0]["deliveries"])
    assert runs[0] == runs[1] and runs[0] > 0


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--policy", "nope"], "--policy: unknown policy 'nope'"),
        (["--policy", "rule_based,rule_based"], "--policy: rule_based given twice"),
        (["--scenario", "no_such.yaml"], "no_such.yaml: "),
        (["--scenario", "tiny", "--robots", "10"], "--robots: not with --scenario/--policy"),
        (["--policy", "rule_based", "--api", "array"], "--api: not with --scenario/--policy"),
    ],
)
def test_policy_bench_rejects_bad_input(argv, expected, tmp_path, capsys, monkeypatch):
    import warehouse.bench

    def must_not_run(*args, **kwargs):
        raise AssertionError("the benchmark ran on bad input")

    monkeypatch.setattr(warehouse.bench, "run_policy_bench", must_not_run)
    monkeypatch.chdir(tmp_path)
    fails_cleanly(["bench", *argv], tmp_path, capsys, expected)


def test_policy_bench_checks_out_before_running(tmp_path, monkeypatch, capsys):
    import warehouse.bench

    def must_not_run(*args, **kwargs):
        raise AssertionError("the benchmark ran before --out was checked")

    monkeypatch.setattr(warehouse.bench, "run_policy_bench", must_not_run)
    bad = tmp_path / "no" / "b.json"
    argv = ["bench", "--scenario", "tiny", "--steps", "1", "--out", str(bad)]
    fails_cleanly(argv, tmp_path, capsys, f"{bad}: --out: ")
