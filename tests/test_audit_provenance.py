"""Audit of the provenance of results: which network files, and which versions, every output
records (``hierarchy.evaluate``'s rows, ``warehouse run``'s ``report.json``, ``warehouse
compare``), from what the parts actually loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli

import hierarchy.evaluate as ev
from warehouse.atomic import sha256_file
from warehouse.errors import display_path

ROOT = Path(__file__).resolve().parents[1]
NAV = ROOT / "agents" / "weights"
PPO = ROOT / "hierarchy" / "weights" / "ppo_dispatcher.json"


def _record(json_path: Path) -> dict[str, str]:
    """What a part that loaded the checkpoint ``json_path`` records: the file, the full sha256
    of its weights and of its JSON."""
    return {
        "file": display_path(json_path),
        "sha256": sha256_file(json_path.with_suffix(".safetensors")),
        "json_sha256": sha256_file(json_path),
    }


# -- hierarchy.evaluate --------------------------------------------------------------------------


def test_evaluate_rows_record_the_networks_each_part_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows recorded networks by policy name, loosely: a ``bc`` row was said to run the three
    CQL networks (and not the BC one it ran), a ``hierarchical (pibt)`` row all three navigator
    networks though it runs only ``cql_pibt`` under PIBT, and every digest was cut to 12 hex
    digits. Each row records the files its parts loaded, with their full sha256."""
    configs = {**ev.CONFIGS, "greedy + bc (pibt)": ("greedy", "bc", "pibt")}
    monkeypatch.setattr(ev, "CONFIGS", configs)
    monkeypatch.setattr(ev, "SCENARIOS", [("small", "small", False, {})])
    argv = ["--out", str(tmp_path / "a"), "--seeds", "1", "--steps", "3", "--scenarios", "small"]
    ev.main([*argv, "--configs", "greedy + bc (pibt),hierarchical (pibt),rule_based (block)"])
    rows = json.loads((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))
    by_config = {row["config"]: row for row in rows}
    assert by_config["greedy + bc (pibt)"]["weights"] == {"navigator": _record(NAV / "bc.json")}
    assert by_config["hierarchical (pibt)"]["weights"] == {
        "dispatcher": _record(PPO),
        "navigator": _record(NAV / "cql_pibt.json"),
    }
    assert "weights" not in by_config["rule_based (block)"]
    # the summary names them with the full digests
    summary = (tmp_path / "a" / "summary.md").read_text(encoding="utf-8")
    assert sha256_file(NAV / "cql_pibt.safetensors") in summary
    # and the rows merge into a later table, which refuses rows of other networks
    ev.main([*argv[:1], str(tmp_path / "b"), *argv[2:], "--configs", "none",
             "--merge", str(tmp_path / "a" / "results.json")])  # fmt: skip
    assert (tmp_path / "b" / "results.json").is_file()


def test_evaluate_merge_of_older_rows_checks_their_short_digests() -> None:
    """Rows written before the full record (name → 12 hex digits, every network of the policy)
    still share a table with new rows of the same networks, and not with rows of others."""
    from hierarchy.evaluate_rows import check_mergeable
    from warehouse.errors import InputError

    base = {"scenario": "small", "config": "hierarchical (pibt)", "dispatcher": "ppo",
            "navigator": "cql_tuned", "steps": 20}  # fmt: skip
    new = {"dispatcher": _record(PPO), "navigator": _record(NAV / "cql_pibt.json")}
    old = {
        "ppo_dispatcher": new["dispatcher"]["sha256"][:12] + " (5 seeds)",
        "cql": sha256_file(NAV / "cql.safetensors")[:12],
        "cql_pibt": new["navigator"]["sha256"][:12],
    }
    check_mergeable([("a.json", [{**base, "seed": 0, "weights": old}]),
                     ("this run", [{**base, "seed": 1, "weights": new}])])  # fmt: skip
    other = {**new, "navigator": _record(NAV / "cql.json")}
    other["navigator"]["sha256"] = "0" * 64
    with pytest.raises(InputError, match="measured with"):
        check_mergeable([("a.json", [{**base, "seed": 0, "weights": old}]),
                         ("this run", [{**base, "seed": 1, "weights": other}])])  # fmt: skip


# -- plug-in parts -------------------------------------------------------------------------------


class _OwnWeights:
    """A script's dispatcher that loads its own checkpoint and does not say where from."""

    name = "own_weights"

    def __init__(self, checkpoint: Any = None) -> None:
        self.checkpoint = checkpoint

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Any) -> None:
        pass


def test_a_part_that_takes_a_checkpoint_but_names_no_source_records_the_one_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plug-in part given ``policies.dispatcher_checkpoint`` that has no ``source`` attribute
    got no ``weights`` entry: the record dropped the checkpoint it ran. It records the
    checkpoint given, with that file's sha256."""
    from hierarchy import DISPATCHERS
    from warehouse.provenance import policy_weights
    from warehouse.runner import prepare

    monkeypatch.setitem(DISPATCHERS, "own_weights", _OwnWeights)
    mine = tmp_path / "mine.bin"
    mine.write_bytes(b"my weights")
    exp = prepare(
        "tiny", policies=["own_weights+rule_based"], seeds=[0], steps=2,
        sets=[f"policies.dispatcher_checkpoint={mine}"],
    )  # fmt: skip
    assert exp.weights == {
        "own_weights+rule_based": {
            "dispatcher": {"checkpoint": display_path(mine), "checkpoint_sha256": sha256_file(mine)}
        }
    }
    # the same helper, called directly: a part without a checkpoint and without a source
    from warehouse.policies import PolicySpec

    spec = PolicySpec("x", "own_weights", "rule_based")
    assert policy_weights(spec, exp.scenario, None, (_OwnWeights(), object()), {}) == {}


# -- warehouse run / compare ---------------------------------------------------------------------


def test_run_report_records_the_weights_each_policy_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report.json`` recorded no weights at all: two runs of ``cql`` with different
    checkpoints looked the same. Each run records the network files its parts loaded (the one
    for its own collision mode), ``{}`` for a rule-based policy."""
    out = tmp_path / "r"
    argv = ["run", "tiny", "--policy", "rule_based,cql,cql_tuned", "--collisions", "pibt"]
    argv += ["--seeds", "0", "--steps", "3", "--out", str(out)]
    argv += ["--set", f"policies.navigator_checkpoint={NAV / 'cql_physical.json'}"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    weights = {run["navigator"]: run["weights"] for run in report["runs"]}
    assert weights["rule_based"] == {}
    # the --set checkpoint reached cql: the record names it, not the shipped cql network
    assert weights["cql"] == {"navigator": _record(NAV / "cql_physical.json")}
    # cql_tuned ran the network tuned under PIBT
    assert weights["cql_tuned"] == {"navigator": _record(NAV / "cql_pibt.json")}


def _report(folder: Path, weights: dict[str, Any], numpy: str = "2.0.0") -> Path:
    folder.mkdir()
    kpis = {"deliveries": {"mean": 1.0, "ci95": None, "per_seed": [1.0]}}
    run = {"policy": "cql", "dispatcher": "greedy", "navigator": "cql", "collisions": "block",
           "kpis": kpis, "weights": weights}  # fmt: skip
    report = {"scenario": "tiny", "seeds": [0], "steps": 3, "robots": 2, "runs": [run],
              "versions": {"python": "3.11.9", "numpy": numpy}}  # fmt: skip
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def test_compare_says_when_the_runs_used_other_weights_or_versions(tmp_path: Path) -> None:
    """``warehouse compare`` paired two runs of ``cql`` that ran different networks, or under
    different numpy versions, without a word. ``differ`` names both."""
    from warehouse.compare import compare_reports

    cql, bc = _record(NAV / "cql.json"), _record(NAV / "bc.json")
    a = _report(tmp_path / "a", {"navigator": cql})
    b = _report(tmp_path / "b", {"navigator": bc}, numpy="2.1.0")
    differ = compare_reports(a, b)["differ"]
    assert differ["cql.weights.navigator"] == [cql["file"], bc["file"]]
    assert differ["versions.numpy"] == ["2.0.0", "2.1.0"]
    same = compare_reports(a, _report(tmp_path / "c", {"navigator": cql}))["differ"]
    assert not any(key.startswith(("cql.weights", "versions")) for key in same)
    # same file name, other contents: said with the digests
    other = _report(tmp_path / "d", {"navigator": {**cql, "sha256": "f" * 64}})
    differ = compare_reports(a, other)["differ"]
    assert differ["cql.weights.navigator"] == [cql["sha256"][:12], "f" * 12]


def test_evaluate_refuses_to_merge_rows_of_other_networks_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rows a run will add are checked against ``--merge`` rows with the networks their
    parts will load, before any run: an earlier row of another navigator network is refused
    in one line, and nothing is written."""
    monkeypatch.setattr(ev, "SCENARIOS", [("small", "small", False, {})])
    earlier = tmp_path / "earlier.json"
    row = {"scenario": "small", "seen_in_training": False, "config": "greedy + cql frozen (pibt)",
           "seed": 7, "dispatcher": "greedy", "navigator": "cql", "collisions": 0,
           "lookahead": None, "steps": 3, "weights": {"cql": "000000000000"}}  # fmt: skip
    earlier.write_text(json.dumps([row]), encoding="utf-8")
    monkeypatch.setattr(ev, "_task", lambda *a: pytest.fail("ran before the check"))
    out = tmp_path / "o"
    argv = ["--out", str(out), "--seeds", "1", "--steps", "3", "--scenarios", "small"]
    with pytest.raises(SystemExit) as exc:
        ev.main([*argv, "--configs", "greedy + cql frozen (pibt)", "--merge", str(earlier)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--merge: this run: small / greedy + cql frozen (pibt): measured with navigator " in err
    assert f"{display_path(NAV / 'cql.json')} `{sha256_file(NAV / 'cql.safetensors')}`" in err
    assert err.endswith("has it with cql `000000000000`")
    assert not out.exists()
