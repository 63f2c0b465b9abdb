"""Session 42, front-ends: a run folder records its ``--baseline`` (``policies.baseline``);
``shadow`` resolves its sides as ``run`` resolves a policy; ``view`` names ``policies.run`` for
a listed policy that does not fit the floor; ``make_env`` runs the dispatcher and collision
mode of a file's ``policies.run``; ``python -m hierarchy.evaluate --maps DIR``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, fails_cleanly, run_cli
from cli_helpers import report_of as _report
from cli_helpers import run_ok as _run
from cli_helpers import written_policies as _policies

import warehouse
from hierarchy import evaluate as ev
from warehouse.compare import compare_reports

SHORT = ["--steps", "20", "--seeds", "0,1"]


def _scenario(tmp_path: Path, name: str, policies: dict[str, Any]) -> Path:
    """The built-in ``tiny`` scenario with this ``policies`` section."""
    path = tmp_path / name
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "policies": policies}), encoding="utf-8")
    return path


# ------------------------------------------------------ 1. the baseline of a run folder


@pytest.mark.parametrize(
    ("flags", "baseline", "policies"),
    [
        (
            ["--policy", "rule_based,random", "--baseline", "random"],
            "random",
            {"run": ["rule_based", "random"], "baseline": "random"},
        ),
        # the default policies: the file lists none, and still pairs against the hierarchy
        (["--baseline", "hierarchical"], "hierarchical", {"baseline": "hierarchical"}),
        # the name as given to --policy: recorded by the report's name
        (
            ["--policy", "random,rule_based", "--collisions", "pibt", "--baseline", "rule_based"],
            "rule_based/pibt",
            {"run": ["random/pibt", "rule_based/pibt"], "baseline": "rule_based/pibt"},
        ),
    ],
)
def test_a_run_folder_pairs_against_its_baseline_again(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    baseline: str,
    policies: dict[str, Any],
) -> None:
    """``warehouse run RUN/scenario.yaml`` with no flags gives RUN's ``paired`` section (it
    was computed against the default baseline, the rule-based fleet)."""
    steps = ["--steps", "10", "--seeds", "0"] if "hierarchical" in flags else SHORT
    first = _run(tmp_path / "first", capsys, TINY, *steps, *flags)
    assert _report(first)["paired"]["baseline"] == baseline
    assert _policies(first) == policies
    again = _run(tmp_path / "again", capsys, first / "scenario.yaml")
    assert _report(again)["paired"] == _report(first)["paired"]
    assert _report(again) == _report(first)
    assert (again / "scenario.yaml").read_bytes() == (first / "scenario.yaml").read_bytes()


def test_the_baseline_flag_wins_over_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "s.yaml", {"run": ["rule_based", "random"], "baseline": "random"})
    by_file = _run(tmp_path / "file", capsys, path, *SHORT)
    assert _report(by_file)["paired"]["baseline"] == "random"
    by_flag = _run(tmp_path / "flag", capsys, path, *SHORT, "--baseline", "rule_based")
    assert _report(by_flag)["paired"]["baseline"] == "rule_based"
    assert _policies(by_flag)["baseline"] == "rule_based"
    # the baseline pairs a run's own policies: no setting that differs between the two runs
    assert compare_reports(by_file, by_flag)["differ"] == {}


def test_a_baseline_that_is_not_a_policy_of_the_run_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(tmp_path, "s.yaml", {"run": ["rule_based", "random"], "baseline": "ghost"})
    argv = ["run", str(path), *SHORT, "--out", str(tmp_path / "out")]
    fails_cleanly(
        argv,
        tmp_path,
        capsys,
        f"{path}: policies.baseline: 'ghost' is not a policy of this run (rule_based, random)",
    )
    # (--policy choosing other policies, without the file's baseline among them, pairs against
    # the default since session 43: tests/test_session43_baseline.py)
    fails_cleanly(
        ["run", str(TINY), *SHORT, "--set", "policies.baseline=ghost", "--policy", "random"],
        tmp_path,
        capsys,
        "--set policies.baseline: 'ghost' is not a policy of this run (random)",
    )
    fails_cleanly(
        ["run", str(path), *SHORT, "--set", "policies.baseline=random", "--baseline", "random"],
        tmp_path,
        capsys,
        "--set policies.baseline: --baseline sets it too; give it once",
    )


# ------------------------------------------------------ 2. shadow resolves as run does


def _shadow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, target: Path, *flags: str
) -> tuple[dict[str, Any], bytes]:
    """``warehouse shadow TARGET FLAGS`` (30 steps): shadow.json and divergences.csv."""
    out = tmp_path / name
    argv = ["shadow", str(target), "--steps", "30", *flags, "--out", str(out)]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, (stdout, err)
    summary = json.loads((out / "shadow.json").read_text(encoding="utf-8"))
    return summary, (out / "divergences.csv").read_bytes()


def _same_shadow(a: tuple[dict[str, Any], bytes], b: tuple[dict[str, Any], bytes]) -> None:
    for key in ("dispatch", "navigation", "collisions"):
        assert a[0][key] == b[0][key], key
    for side in ("incumbent", "candidate"):
        assert a[0][side]["dispatcher"] == b[0][side]["dispatcher"]
        assert a[0][side]["navigator"] == b[0][side]["navigator"]
    assert a[1] == b[1]


def test_shadow_takes_the_names_a_report_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--incumbent guided/pibt`` is ``--incumbent guided --collisions pibt``;
    ``rule_based:hungarian+rule_based_push`` is ``hungarian+rule_based_push`` (both were
    refused as unknown policies); ``--candidate`` takes them too."""
    named = _shadow(
        tmp_path, capsys, "named", TINY, "--incumbent", "guided/pibt", "--candidate",
        "rule_based:hungarian+rule_based_push",
    )  # fmt: skip
    assert named[0]["incumbent"]["policy"] == "guided/pibt" and named[0]["collisions"] == "pibt"
    assert named[0]["candidate"]["policy"] == "rule_based:hungarian+rule_based_push"
    flags = _shadow(
        tmp_path, capsys, "flags", TINY, "--incumbent", "guided", "--collisions", "pibt",
        "--candidate", "hungarian+rule_based_push",
    )  # fmt: skip
    _same_shadow(named, flags)
    assert named[0]["dispatch"]["decisions"] > 0


def test_shadow_drives_the_floor_with_the_files_dispatcher_and_navigator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file's plain ``policies.dispatcher`` / ``policies.navigator`` (no list) is its
    incumbent, as it is the policy ``warehouse run`` runs (was: rule_based)."""
    path = _scenario(tmp_path, "s.yaml", {"dispatcher": "hungarian", "navigator": "random"})
    by_file = _shadow(tmp_path, capsys, "file", path, "--candidate", "rule_based")
    assert by_file[0]["incumbent"]["dispatcher"] == "hungarian"
    assert by_file[0]["incumbent"]["policy"] == "hungarian+random"
    by_flag = _shadow(
        tmp_path, capsys, "flag", TINY, "--candidate", "rule_based", "--incumbent",
        "hungarian+random",
    )  # fmt: skip
    _same_shadow(by_file, by_flag)
    # the shadow folder's scenario.yaml lists that incumbent: the file alone shadows it again
    written = tmp_path / "file" / "scenario.yaml"
    assert yaml.safe_load(written.read_text(encoding="utf-8"))["policies"]["run"] == [
        "hungarian+random"
    ]
    _same_shadow(by_file, _shadow(tmp_path, capsys, "again", written, "--candidate", "rule_based"))


def test_shadow_names_its_option_for_a_name_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["shadow", str(TINY), "--steps", "5", "--out", str(tmp_path / "o")]
    fails_cleanly(
        [*argv, "--incumbent", "rule_based:hungarian"],
        tmp_path,
        capsys,
        "--incumbent: cannot read the policy 'rule_based:hungarian'",
    )
    fails_cleanly(
        [*argv, "--candidate", "ghost/pibt"], tmp_path, capsys, "--candidate: unknown policy"
    )
    path = _scenario(tmp_path, "bad.yaml", {"dispatcher": "ghost"})
    argv = ["shadow", str(path), "--steps", "5", "--out", str(tmp_path / "o")]
    fails_cleanly(argv, tmp_path, capsys, f"{path}: policies.dispatcher: unknown dispatcher")


# ------------------------------------------------------ 3. view: the field that chose it


def _not_a_grid(tmp_path: Path, policies: dict[str, Any]) -> Path:
    """A scenario file on a waypoint graph that is not a grid (a diagonal edge)."""
    nodes = [{"id": f"a{i}", "pos": [i, 0], "kind": "aisle"} for i in range(4)]
    nodes += [{"id": f"p{i}", "pos": [i, 1], "kind": "pick"} for i in range(4)]
    nodes.append({"id": "s", "pos": [-1, 0], "kind": "station"})
    edges = [{"source": f"a{i}", "target": f"a{i + 1}"} for i in range(3)]
    edges += [{"source": f"a{i}", "target": f"p{i}"} for i in range(4)]
    edges += [{"source": "s", "target": "a0"}, {"source": "s", "target": "p0"}]
    graph = {"directed": False, "graph": {"name": "ladder"}, "nodes": nodes, "edges": edges}
    (tmp_path / "g.json").write_text(json.dumps(graph), encoding="utf-8")
    path = tmp_path / "ladder.yaml"
    data = {"layout": {"type": "file", "path": "g.json"}, "fleet": {"robots": 2}}
    path.write_text(yaml.safe_dump({**data, "policies": policies}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("policies", "field"),
    [({"run": ["cql"]}, "policies.run"), ({"navigator": "cql"}, "policies")],
)
def test_view_names_the_field_that_chose_a_policy_that_does_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policies: dict[str, Any], field: str
) -> None:
    """Was ``error: policy: ...`` (no such option or field)."""
    pytest.importorskip("pygame")
    path = _not_a_grid(tmp_path, policies)
    argv = ["view", str(path), "--headless-frames", str(tmp_path / "frames"), "--frames", "1"]
    fails_cleanly(
        argv, tmp_path, capsys, f"{path}: {field}: 'cql': its navigator 'cql' was trained on grid"
    )
    fails_cleanly(
        [*argv, "--policy", "cql"], tmp_path, capsys, "--policy: 'cql': its navigator 'cql'"
    )


# ------------------------------------------------------ 4. make_env and a file's list


def _dispatcher(env: Any) -> str:
    return type(env.dispatcher).__name__


def test_make_env_runs_the_dispatcher_and_mode_of_a_run_folders_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run folder of ``--dispatcher hungarian --collisions pibt`` lists
    ``rule_based:hungarian+rule_based/pibt``: the env runs hungarian under pibt, as the run did
    (was: the file's greedy under block)."""
    folder = _run(
        tmp_path / "r", capsys, TINY, "--steps", "3", "--seeds", "0", "--policy", "rule_based",
        "--dispatcher", "hungarian", "--collisions", "pibt",
    )  # fmt: skip
    path = folder / "scenario.yaml"
    assert _policies(folder) == {"run": ["rule_based:hungarian+rule_based/pibt"]}
    env = warehouse.make_env(path)
    assert (_dispatcher(env), env.sim.config.physics.collisions) == ("HungarianDispatcher", "pibt")
    # a keyword wins over the list
    env = warehouse.make_env(path, dispatcher="random", collisions="block")
    assert (_dispatcher(env), env.sim.config.physics.collisions) == ("RandomDispatcher", "block")
    # the list, not the file's own parts (a file written by hand with both)
    own = _scenario(
        tmp_path, "own.yaml", {"dispatcher": "random", "shield": "block", "run": ["guided/pibt"]}
    )
    env = warehouse.make_env(own)
    assert (_dispatcher(env), env.sim.config.physics.collisions) == ("GreedyDispatcher", "pibt")


def test_make_env_refuses_a_list_whose_policies_differ_unless_a_keyword_picks(
    tmp_path: Path,
) -> None:
    path = _scenario(tmp_path, "two.yaml", {"run": ["hierarchical", "rule_based"]})
    with pytest.raises(ValueError, match=r"runs the dispatchers greedy, ppo.*dispatcher=NAME"):
        warehouse.make_env(path)
    with pytest.raises(ValueError, match=r"collision modes block, pibt.*collisions=MODE"):
        warehouse.make_env(path, dispatcher="greedy")
    env = warehouse.make_env(path, dispatcher="greedy", collisions="pibt")
    assert (_dispatcher(env), env.sim.config.physics.collisions) == ("GreedyDispatcher", "pibt")
    # policies that share their dispatcher and mode are no choice
    same = _scenario(tmp_path, "same.yaml", {"run": ["rule_based", "rule_based_push"]})
    env = warehouse.make_env(same)
    assert (_dispatcher(env), env.sim.config.physics.collisions) == ("GreedyDispatcher", "block")


def test_make_env_refuses_settings_the_list_decides_or_it_does_not_use(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "one.yaml", {"run": ["rule_based/pibt"]})
    with pytest.raises(ValueError, match=r"physics.collisions has no effect.*use collisions="):
        warehouse.make_env(path, **{"physics.collisions": "block"})
    with pytest.raises(ValueError, match=r"policies.baseline=.*has no effect in the env"):
        warehouse.make_env("tiny", **{"policies.baseline": "rule_based"})


# ------------------------------------------------------ 5. evaluate --maps DIR


def _map(folder: Path) -> Path:
    """A small MovingAI map as ``folder/lorr/warehouse_small.map``."""
    rows = ["." * 12] + [".@@@@..@@@@." if r % 2 else "." * 12 for r in range(1, 9)]
    rows.append("." * 12)
    path = folder / "lorr" / "warehouse_small.map"
    path.parent.mkdir(parents=True)
    header = f"type octile\nheight {len(rows)}\nwidth 12\nmap\n"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_evaluate_reads_the_shared_maps_from_the_folder_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _map(tmp_path / "maps")
    argv = ["--seeds", "1", "--steps", "5", "--configs", "rule_based (block)"]
    ev.main(["--out", "o", *argv, "--scenarios", "lorr_warehouse_small", "--maps", "maps"])
    rows = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    assert [row["scenario"] for row in rows] == ["lorr_warehouse_small"]
    assert rows[0]["robots"] == 20  # (the map's floor: 20 robots of the map target's default)


@pytest.mark.parametrize(
    ("maps", "expected"),
    [
        ("nowhere", "error: --maps: nowhere: no such folder"),
        ("file.txt", "error: --maps: file.txt: is not a folder"),
        # the folder has no lorr/warehouse_small.map, which the default set reads
        ("empty", "error: --maps: lorr_warehouse_small needs the map file empty/lorr/"),
    ],
)
def test_evaluate_refuses_a_maps_folder_it_cannot_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    maps: str,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exc:
        ev.main(["--out", "o", "--seeds", "1", "--steps", "5", "--maps", maps])
    assert exc.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith(expected), line
    assert not (tmp_path / "o").exists()
