"""``warehouse compare``: two runs over the same seeds, paired seed by seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import given_once, run_cli

from warehouse.kpis import KPI_NAMES
from warehouse.report import PAIRED_KPIS

RUN = ["run", "tiny", "--seeds", "0,1,2", "--steps", "60"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs on tiny: two policies with and without parking, single policies, another length,
    other seeds, and two learned policies."""
    from warehouse.cli.main import main

    root = tmp_path_factory.mktemp("compare")
    for name, extra in (
        ("off", ["--policy", "rule_based,random"]),
        ("park", ["--policy", "rule_based,random", "--set", "policies.park_idle=0"]),
        ("random", ["--policy", "random"]),
        ("rule", ["--policy", "rule_based"]),
        ("short", ["--policy", "rule_based", "--steps", "30"]),
        ("seeds", ["--policy", "rule_based", "--seeds", "0,1"]),
        ("learned", ["--policy", "bc,cql"]),
        ("fleet", ["--policy", "rule_based", "--robots", "4"]),
        ("pibt", ["--policy", "rule_based", "--set", "physics.collisions=pibt"]),
    ):
        try:
            main([*given_once(RUN, extra), "--out", str(root / name)])
        except SystemExit as exc:
            assert exc.code in (0, None)
    return root


def test_a_setting_compared_seed_by_seed(runs: Path, capsys) -> None:
    code, out, err = run_cli(["compare", str(runs / "off"), str(runs / "park"), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert sorted(result["pairs"]) == ["random", "rule_based"] and result["seeds"] == [0, 1, 2]
    base, other = (json.loads((runs / n / "report.json").read_text()) for n in ("off", "park"))
    for i, policy in enumerate(("rule_based", "random")):
        a, b = base["runs"][i]["kpis"], other["runs"][i]["kpis"]
        for kpi in KPI_NAMES:
            pairs = zip(b[kpi]["per_seed"], a[kpi]["per_seed"], strict=True)
            diffs = [x - y for x, y in pairs if x is not None and y is not None]
            row = result["pairs"][policy][kpi]
            if diffs:
                assert row["diff"] == pytest.approx(sum(diffs) / len(diffs), abs=1e-6)
            else:
                assert row["diff"] is None
    # parking moves idle robots, so the two runs differ somewhere
    assert any(row["diff"] for row in result["pairs"]["rule_based"].values())
    code, out, err = run_cli(["compare", str(runs / "off"), str(runs / "park")], capsys)
    assert code == 0, err
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert [r for r in rows if r] == list(PAIRED_KPIS) and "rule_based" in out and "0..2" in out
    code, out, _ = run_cli(["compare", str(runs / "off"), str(runs / "park"), "--all"], capsys)
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    # every KPI but those no run defines (the battery's: no battery model), as `run` prints
    means = [r["kpis"] for rep in (base, other) for r in rep["runs"]]
    undefined = [k for k in KPI_NAMES if all(kpis[k]["mean"] is None for kpis in means)]
    assert undefined  # (the battery's)
    assert result["undefined"] == sorted(undefined)
    assert code == 0 and [r for r in rows if r] == [k for k in KPI_NAMES if k not in undefined]


def test_a_kpi_in_one_report_only_is_named(runs: Path, tmp_path: Path, capsys) -> None:
    """A report from another version may lack a KPI: it is left out and said so."""
    report = json.loads((runs / "rule" / "report.json").read_text())
    del report["runs"][0]["kpis"]["blocked_share"]
    (tmp_path / "old.json").write_text(json.dumps(report))
    code, out, err = run_cli(["compare", str(tmp_path / "old.json"), str(runs / "rule")], capsys)
    assert code == 0, err
    assert out.strip().endswith("not compared (in one report only): blocked_share")
    code, out, _ = run_cli(["compare", str(tmp_path / "old.json"), str(runs / "rule"), "--json"],
                           capsys)  # fmt: skip
    result = json.loads(out)
    assert result["not_compared"] == ["blocked_share"]
    assert "blocked_share" not in result["pairs"]["rule_based"]
    assert result["pairs"]["rule_based"]["deliveries"]["diff"] == 0  # the same run


def test_one_policy_each_compares_across_names(runs: Path, capsys) -> None:
    report = runs / "random" / "report.json"
    code, out, err = run_cli(["compare", str(runs / "rule"), str(report), "--json"], capsys)
    assert code == 0, err
    pairs = json.loads(out)["pairs"]
    # same floor, same fleet; the parts of the two policies are named
    assert json.loads(out)["differ"] == {
        "random vs rule_based.dispatcher": ["greedy", "random"],
        "random vs rule_based.navigator": ["rule_based", "random"],
    }
    assert list(pairs) == ["random vs rule_based"]
    assert pairs["random vs rule_based"]["deliveries"]["diff"] < 0


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (None, "short", "steps: 30 differ from"),
        (None, "seeds", "seeds: [0, 1] differ from"),
        (None, "learned", "runs: no policy in common with"),
        ("not json", None, "bad.json: line 1: invalid JSON"),
        ({"seeds": [0, 1, 2], "steps": 60, "runs": []}, None, "scenario: Field required"),
        (
            {"scenario": "t", "seeds": [0, 1, 2], "steps": 60, "runs": []},
            None,
            "runs: no run in the report",
        ),
        (
            {
                "scenario": "t",
                "seeds": [0, 1, 2],
                "steps": 60,
                "runs": [{"policy": "x", "kpis": {"deliveries": {"mean": 1, "per_seed": [1]}}}],
            },
            None,
            "runs.0.kpis.deliveries.per_seed: 1 values for 3 seeds",
        ),
    ],
)
def test_bad_reports_are_one_line_exit_2(runs: Path, tmp_path: Path, capsys, edit, field,
                                         message) -> None:  # fmt: skip
    if field == "learned":
        other, base = runs / "learned", runs / "off"
    elif field is not None:
        other, base = runs / field, runs / "rule"
    else:
        other, base = tmp_path / "bad.json", runs / "rule"
        other.write_text(edit if isinstance(edit, str) else json.dumps(edit))
    code, out, err = run_cli(["compare", str(base), str(other)], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_a_missing_run_names_the_path(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["compare", str(tmp_path), str(tmp_path / "nope")], capsys)
    assert code == 2
    assert err.strip() == (
        f"error: {tmp_path / 'report.json'}: no such file (expected a run folder or its "
        "report.json)"
    )


def test_runs_of_other_fleets_compare_and_say_so(runs: Path, capsys) -> None:
    code, out, err = run_cli(["compare", str(runs / "rule"), str(runs / "fleet")], capsys)
    assert code == 0, err
    assert "robots 6 → 4" in " ".join(out.split())
    code, out, _ = run_cli(["compare", str(runs / "rule"), str(runs / "fleet"), "--json"], capsys)
    assert json.loads(out)["differ"] == {"robots": [6, 4]}


def test_policies_of_one_run_only_are_named(runs: Path, tmp_path: Path, capsys) -> None:
    """Two runs with two policies each, one in common: that one is compared, the others named."""
    report = json.loads((runs / "off" / "report.json").read_text())
    report["runs"][1]["policy"] = "renamed"
    (tmp_path / "other.json").write_text(json.dumps(report))
    code, out, err = run_cli(["compare", str(runs / "off"), str(tmp_path / "other.json")], capsys)
    assert code == 0, err
    assert out.strip().endswith("not compared (policies of one run only): random, renamed")


def test_a_policy_run_with_other_parts_is_compared_and_said_so(runs: Path, capsys) -> None:
    """The same label with another collision mode (a scenario setting, not a flag): the
    comparison names the part that differs."""
    code, out, err = run_cli(["compare", str(runs / "rule"), str(runs / "pibt")], capsys)
    assert code == 0, err
    assert "rule_based.collisions block → pibt" in " ".join(out.split())
    code, out, _ = run_cli(["compare", str(runs / "rule"), str(runs / "pibt"), "--json"], capsys)
    assert json.loads(out)["differ"] == {
        "rule_based.collisions": ["block", "pibt"],
        "physics.collisions": ["block", "pibt"],  # the setting, from the runs' scenario.yaml
    }


def test_the_settings_that_differ_are_named(runs: Path, tmp_path: Path, capsys) -> None:
    """From the ``scenario.yaml`` beside each ``report.json``; a report alone says none."""
    code, out, err = run_cli(["compare", str(runs / "off"), str(runs / "park")], capsys)
    assert code == 0, err
    assert "policies.park_idle null → 0.0" in " ".join(out.split())
    code, out, _ = run_cli(["compare", str(runs / "off"), str(runs / "park"), "--json"], capsys)
    assert json.loads(out)["differ"] == {"policies.park_idle": [None, 0.0]}
    files = [str(runs / "off" / "report.json"), str(runs / "park" / "report.json")]
    code, out, _ = run_cli(["compare", *files, "--json"], capsys)
    assert json.loads(out)["differ"] == {"policies.park_idle": [None, 0.0]}
    alone = tmp_path / "report.json"
    alone.write_bytes((runs / "park" / "report.json").read_bytes())
    code, out, _ = run_cli(["compare", files[0], str(alone), "--json"], capsys)
    assert code == 0 and json.loads(out)["differ"] == {}
