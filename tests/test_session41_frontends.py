"""Session 41, front-ends: a run folder's ``scenario.yaml`` runs what ran again (``policies.run``),
the ``sweep``/``view`` hint for a navigator that needs a PIBT shield names the setting that
decides the collision mode, and ``make_env`` refuses keywords the env does not use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import TINY, run_cli
from cli_helpers import report_of as _report
from cli_helpers import run_ok as _run
from cli_helpers import written_policies as _policies

import warehouse
from scenarios import apply_overrides, load_scenario, parse_assignment
from warehouse.compare import compare_reports
from warehouse.policies import SET_PIBT, build_policy, pibt_note, resolve_policy
from warehouse.runner import policy_entry, prepare

SHORT = ["--steps", "20", "--seeds", "0,1"]


# ------------------------------------------------------ run folders that run again, alone


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        (["--policy", "rule_based"], ["rule_based"]),
        (
            ["--dispatcher", "hungarian", "--navigator", "rule_based_push"],
            ["rule_based:hungarian+rule_based_push"],
        ),
        (
            ["--policy", "rule_based,random", "--collisions", "pibt"],
            ["rule_based/pibt", "random/pibt"],
        ),
        (["--set", "navigator=guided", "--collisions", "pibt"], ["guided/pibt"]),
    ],
)
def test_a_run_folder_runs_what_ran_without_its_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], names: list[str]
) -> None:
    """``warehouse run RUN/scenario.yaml`` (no flags) gives RUN's report.json but for
    ``created``, and writes the same scenario.yaml (the policies flags chose were left out of it,
    so the file ran the command's default policies, or the file's own)."""
    first = _run(tmp_path / "first", capsys, TINY, *SHORT, *flags)
    assert _policies(first)["run"] == names
    again = _run(tmp_path / "again", capsys, first / "scenario.yaml")
    assert _report(again) == _report(first)
    assert [run["policy"] for run in _report(again)["runs"]] == names
    assert (again / "scenario.yaml").read_bytes() == (first / "scenario.yaml").read_bytes()


def test_the_default_policies_and_collisions_flag_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--collisions pibt`` without ``--policy``: the hierarchy (PIBT already) beside
    ``rule_based/pibt``; the file lists both, in the order of the table's columns."""
    first = _run(
        tmp_path / "first", capsys, TINY, "--steps", "10", "--seeds", "0", "--collisions", "pibt"
    )
    assert _policies(first) == {"run": ["hierarchical", "rule_based/pibt"]}
    again = _run(tmp_path / "again", capsys, first / "scenario.yaml")
    assert _report(again) == _report(first)


def test_a_run_of_the_scenarios_own_policies_writes_no_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No flag chose a policy: the scenario.yaml is written as before (the default run leaves
    ``policies`` out, so ``warehouse run`` prints the same table for the file)."""
    default = _run(tmp_path / "default", capsys, TINY, "--steps", "10", "--seeds", "0")
    assert _policies(default) is None
    assert [run["policy"] for run in _report(default)["runs"]] == ["hierarchical", "rule_based"]
    own = _run(
        tmp_path / "own", capsys, TINY, *SHORT, "--set", "policies.navigator=rule_based_push"
    )
    assert "run" not in _policies(own) and _policies(own)["navigator"] == "rule_based_push"


def test_a_policy_named_as_a_report_names_it_is_that_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_flag = _run(
        tmp_path / "flag", capsys, TINY, *SHORT, "--policy", "rule_based", "--collisions", "pibt"
    )
    by_name = _run(tmp_path / "name", capsys, TINY, *SHORT, "--policy", "rule_based/pibt")
    assert _report(by_name) == _report(by_flag)
    assert policy_entry("hungarian+rule_based:fifo+random/pibt") == (
        "hungarian+rule_based", "fifo", "random", "pibt"
    )  # fmt: skip


def test_a_short_set_of_the_navigator_names_a_policy() -> None:
    """``--set navigator=guided`` is ``--set policies.navigator=guided``: it ran the command's
    default policies instead, and the navigator was dropped."""
    default = ("hierarchical", "rule_based")
    exp = prepare(TINY, steps=3, sets=["navigator=rule_based_push"], default_policies=default)
    assert [spec.name for spec in exp.policies] == ["rule_based_push"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nope", r"policies\.run: unknown policy 'nope'"),
        ("rule_based/nope", r"policies\.run: 'rule_based/nope': expected a collision mode"),
        ("rule_based:fifo", r"policies\.run: cannot read the policy 'rule_based:fifo'"),
    ],
)
def test_a_bad_name_in_policies_run_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, message: str
) -> None:
    path = tmp_path / "listed.yaml"
    layout = "layout: {type: generator, shelf_rows: 2, shelf_cols: 2}\n"
    path.write_text(f"{layout}policies: {{run: [rule_based, '{entry}']}}\n")
    for argv in (
        ["run", str(path), *SHORT, "--out", str(tmp_path / "out")],
        ["validate", str(path)],
    ):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and re.search(rf"listed\.yaml: {message}", err), (argv, err)
    assert not (tmp_path / "out").exists()


def test_a_set_policy_part_on_a_listed_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The list picks the policies: a ``--set navigator`` would be ignored."""
    first = _run(tmp_path / "first", capsys, TINY, *SHORT, "--policy", "rule_based")
    argv = [
        "run",
        str(first / "scenario.yaml"),
        "--set",
        "navigator=guided",
        "--out",
        str(tmp_path / "x"),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "--set navigator: " in err and "policies.run (rule_based)" in err, err
    # --policy picks the policies instead of the list (as instead of the file's parts)
    other = _run(tmp_path / "other", capsys, first / "scenario.yaml", "--policy", "random")
    assert [run["policy"] for run in _report(other)["runs"]] == ["random"]


def test_compare_lists_no_setting_between_folders_before_and_after_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder written before ``policies.run`` (its scenario.yaml without it) and one written
    since, of the same command: no setting differs; a setting that does differ is listed."""
    old = _run(tmp_path / "old", capsys, TINY, *SHORT, "--policy", "rule_based_push")
    text = (old / "scenario.yaml").read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    assert written["policies"] == {"run": ["rule_based_push"]}
    del written["policies"]  # (what the earlier version wrote)
    (old / "scenario.yaml").write_text(yaml.safe_dump(written, sort_keys=False), encoding="utf-8")
    new = _run(tmp_path / "new", capsys, TINY, *SHORT, "--policy", "rule_based_push")
    assert compare_reports(old, new)["differ"] == {}
    swaps = _run(
        tmp_path / "swaps",
        capsys,
        TINY,
        *SHORT,
        "--policy",
        "rule_based_push",
        "--set",
        "policies.task_swaps=true",
    )
    assert compare_reports(old, swaps)["differ"] == {"policies.task_swaps": [False, True]}
    assert compare_reports(new, swaps)["differ"] == {"policies.task_swaps": [False, True]}


# ------------------------------------------------------ the PIBT hint names what decides


def _shield_block(tmp_path: Path, shield: str | None = "block") -> Path:
    path = tmp_path / "guided_block.yaml"
    policies = {"navigator": "guided", **({"shield": shield} if shield else {})}
    physics = {} if shield else {"physics": {"collisions": "block"}}
    data = {"layout": {"type": "generator", "shelf_rows": 2, "shelf_cols": 2}, **physics}
    path.write_text(yaml.safe_dump({**data, "fleet": {"robots": 6}, "policies": policies}))
    return path


def _hint(note: str) -> tuple[str, Any]:
    """The ``--set KEY=VALUE`` the note tells the user to give, parsed."""
    found = re.search(r"use --set (\S+=\S+)", note)
    assert found, note
    return parse_assignment(found.group(1))


@pytest.mark.parametrize(
    ("shield", "field"), [("block", "policies.shield"), (None, "physics.collisions")]
)
def test_following_the_pibt_hint_gives_the_pibt_shield(
    tmp_path: Path, shield: str | None, field: str
) -> None:
    path = _shield_block(tmp_path, shield)
    sc, source = load_scenario(path)
    spec = resolve_policy(None, sc, source=source)
    _, navigator = build_policy(spec, sc, source)
    note = pibt_note(spec, navigator, sc, SET_PIBT)
    assert note is not None and f"under {field}=block" in note
    key, value = _hint(note)
    assert key == field
    fixed = apply_overrides(sc, {key: value}, source)
    assert spec.collisions_for(fixed) == "pibt"
    assert pibt_note(spec, navigator, fixed, SET_PIBT) is None


def test_the_sweep_prints_a_hint_that_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _shield_block(tmp_path)
    sweep = ["sweep", str(path), "--steps", "3", "--seeds", "0", "--set", "fleet.robots=4,6"]
    code, out, err = run_cli([*sweep, "--out", str(tmp_path / "a")], capsys)
    assert code == 0, (out, err)
    (line,) = [line for line in err.splitlines() if "PIBT shield" in line]
    key, value = _hint(line)
    code, out, err = run_cli(
        [*sweep, "--set", f"{key}={value}", "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0 and "PIBT shield" not in err, (out, err)


def test_the_viewer_hint_names_the_scenarios_shield(tmp_path: Path) -> None:
    pytest.importorskip("pygame")
    from visualize.viewer import live_viewer

    path = _shield_block(tmp_path)
    notes: list[str] = []
    live_viewer(str(path), seed=0, headless=True, out_dir=tmp_path, on_note=notes.append)
    (note,) = notes
    key, value = _hint(note)
    live_viewer(
        str(path),
        seed=0,
        headless=True,
        out_dir=tmp_path,
        on_note=notes.append,
        overrides={key: value},
    )
    assert notes == [note]  # no note under the hint's setting


# ------------------------------------------------------ make_env refuses what it ignores


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"navigator": "guided"}, "navigator (policies.navigator)='guided'"),
        ({"policies.navigator_args.guided.vertex_weight": 0.5}, "policies.navigator_args.guided"),
        ({"policies.navigator_checkpoint": "x.json"}, "policies.navigator_checkpoint='x.json'"),
        ({"policies": {"navigator": "guided"}}, "policies (policies.navigator)"),
        ({"policies.run": ["rule_based"]}, "policies.run=['rule_based']"),
        ({"seeds": [1, 2]}, "seeds (episode.seeds)=[1, 2]"),
        ({"episode.collect_every": 5}, "episode.collect_every=5"),
        (
            {"policies.dispatcher_checkpoint": "x.json"},
            "its dispatcher 'greedy' loads no checkpoint",
        ),
        ({"policies.dispatcher_args.hungarian.lookahead_steps": 1}, "not hungarian"),
    ],
)
def test_make_env_refuses_a_keyword_the_env_does_not_use(
    overrides: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=r"^make_env: .*has no effect in the env: ") as err:
        warehouse.make_env("tiny", **overrides)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_make_env_says_where_navigators_run() -> None:
    with pytest.raises(
        ValueError, match=r"env\.step\(actions\).*`warehouse run` and WarehouseModel"
    ):
        warehouse.make_env("tiny", navigator="guided")


def test_make_env_loads_a_file_whose_policies_serve_warehouse_run(tmp_path: Path) -> None:
    """The file's navigator and its arguments are for the commands: the env loads the file,
    and runs its shield and its dispatcher (which a keyword may still set). (A file whose
    policies.run lists the policies: their dispatcher and mode, test_session42_frontends.py.)"""
    path = tmp_path / "both.yaml"
    policies = {
        "navigator": "guided", "shield": "pibt",
        "navigator_args": {"guided": {"vertex_weight": 0.5}}, "dispatcher": "hungarian",
    }  # fmt: skip
    layout = {"type": "generator", "shelf_rows": 2, "shelf_cols": 2}
    path.write_text(yaml.safe_dump({"layout": layout, "policies": policies}))
    env = warehouse.make_env(path)
    assert env.sim.config.physics.collisions == "pibt"
    assert type(env.dispatcher).__name__ == "HungarianDispatcher"
    assert (
        type(warehouse.make_env(path, dispatcher="random").dispatcher).__name__
        == "RandomDispatcher"
    )
