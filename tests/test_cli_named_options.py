"""Command-line errors name the option (or the file) the bad value came from, earlier outputs
are never replaced, and what the README promises of a few options holds (a new user's audit)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import TINY_LAYOUT, fails_cleanly, run_cli

RUN = ["run", "tiny", "--seeds", "0", "--steps", "5"]


# ------------------------------------------------------------------ which option is named
def test_a_policys_settings_in_a_scenario_file_name_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "na.yaml").write_text(
        f"name: na\n{TINY_LAYOUT}fleet: {{robots: 2}}\n"
        "policies: {navigator_args: {rule_based: {foo: 1}}}\n"
    )
    expected = "na.yaml: policies.navigator_args.rule_based.foo: the navigator 'rule_based' has"
    fails_cleanly(["validate", "na.yaml"], tmp_path, capsys, expected)
    fails_cleanly(["run", "na.yaml", "--policy", "rule_based", "--out", "o"], tmp_path, capsys,
                  expected)  # fmt: skip


def test_a_flag_that_breaks_a_file_setting_is_named(tmp_path, monkeypatch, capsys) -> None:
    """``--tasks goal_visit`` on a battery scenario: the flag is at fault, not the file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text(
        f"name: b\n{TINY_LAYOUT}fleet: {{robots: 2}}\nbattery: {{capacity_wh: 150}}\n"
    )
    fails_cleanly(
        ["run", "b.yaml", "--tasks", "goal_visit", "--out", "o"], tmp_path, capsys,
        "--tasks: battery.capacity_wh (b.yaml): the battery model needs tasks.mode",
    )  # fmt: skip


def test_collect_names_the_set_option(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["collect", "tiny", "--steps", "5", "--out", "d", "--set", "reward.colision=-1"]
    fails_cleanly(argv, tmp_path, capsys, "--set reward.colision: unknown setting")


def test_validate_checks_a_scenario_as_set_would_run_it(tmp_path, monkeypatch, capsys) -> None:
    """A small map fails on the default fleet; ``--set fleet.robots`` validates it as run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text("name: m\nlayout: {type: ascii, map: 'S..p'}\n")
    fails_cleanly(["validate", "m.yaml"], tmp_path, capsys, "m.yaml: fleet.robots: must be ≤")
    code, out, err = run_cli(["validate", "m.yaml", "--set", "fleet.robots=2"], capsys)
    assert code == 0, err
    assert out.startswith("OK m.yaml: m: 2 robots")
    fails_cleanly(["validate", "m.yaml", "--set", "fleet.robots=9"], tmp_path, capsys,
                  "--set fleet.robots: must be ≤ free cells")  # fmt: skip
    fails_cleanly(["validate", "--template", "--set", "fleet.robots=2"], tmp_path, capsys,
                  "--template: give it alone")  # fmt: skip


# ------------------------------------------------------------------ nothing is replaced
def test_an_existing_record_file_is_refused(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.npz").write_bytes(b"an earlier recording")
    fails_cleanly([*RUN, "--out", "o", "--record", "r.npz"], tmp_path, capsys,
                  "r.npz: --record: already exists")  # fmt: skip
    assert (tmp_path / "r.npz").read_bytes() == b"an earlier recording"


def test_a_recording_named_as_a_file_of_the_run_folder_is_refused(
    tmp_path, monkeypatch, capsys
) -> None:
    """``--record o/report.json --out o``: the run's report would take the recording's place."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").mkdir()
    expected = "o/report.json: --record: report.json is a file the run writes there"
    fails_cleanly([*RUN, "--out", "o", "--record", "o/report.json"], tmp_path, capsys, expected)


def test_a_record_file_in_a_missing_folder_says_the_folder_does_not_exist(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    fails_cleanly([*RUN, "--out", "o", "--record", "nowhere/r.npz"], tmp_path, capsys,
                  "nowhere/r.npz: --record: 'nowhere' does not exist")  # fmt: skip
    (tmp_path / "f").write_text("a file")
    fails_cleanly([*RUN, "--out", "o", "--record", "f/r.npz"], tmp_path, capsys,
                  "f/r.npz: --record: 'f' is not a folder")  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("policies.navigator_checkpoint=agents/weights/cql.json",
         "--set policies.navigator_checkpoint: no navigator of this run loads a checkpoint"),
        ("policies.navigator_args.rule_based.zz=1",
         "--set policies.navigator_args.rule_based.zz: the navigator 'rule_based' has no keyword"),
    ],
)  # fmt: skip
def test_view_checks_the_policy_settings_as_run_does(
    setting, expected, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["view", "tiny", "--policy", "rule_based", "--set", setting]
    fails_cleanly([*argv, "--headless-frames", "f", "--frames", "1"], tmp_path, capsys, expected)


@pytest.mark.parametrize("key", ["navigator", "policies.navigator", "dispatcher"])
def test_a_set_policy_part_beside_policy_is_refused(key, tmp_path, monkeypatch, capsys) -> None:
    """``--policy cql --set navigator=random`` would run cql and drop the --set."""
    monkeypatch.chdir(tmp_path)
    argv = [*RUN, "--policy", "cql", "--out", "o", "--set", f"{key}=random"]
    fails_cleanly(argv, tmp_path, capsys, f"--set {key}: --policy picks the policies")


def test_a_frames_folder_of_an_earlier_run_is_refused(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["view", "tiny", "--headless-frames", "f", "--frames", "1"]
    assert run_cli(argv, capsys)[0] == 0
    fails_cleanly(argv, tmp_path, capsys, "f: --headless-frames: already holds frame_0000.png")


# ------------------------------------------------------------------ options as documented
def test_baseline_takes_the_name_given_to_policy(tmp_path, monkeypatch, capsys) -> None:
    """With ``--collisions`` the policies are ``rule_based/pibt`` …; ``--baseline rule_based``
    still picks it (and the full name too)."""
    monkeypatch.chdir(tmp_path)
    argv = [*RUN, "--policy", "rule_based,random", "--collisions", "pibt"]
    for i, name in enumerate(["rule_based", "rule_based/pibt", "random"]):
        code, _, err = run_cli([*argv, "--baseline", name, "--out", f"o{i}"], capsys)
        assert code == 0, err
        report = json.loads((tmp_path / f"o{i}" / "report.json").read_text())
        assert report["paired"]["baseline"] == ("random/pibt" if name == "random" else
                                                "rule_based/pibt")  # fmt: skip
    fails_cleanly([*argv, "--baseline", "greedy", "--out", "x"], tmp_path, capsys,
                  "--baseline: 'greedy' is not a policy of this run")  # fmt: skip


def test_goal_visit_leaves_its_undefined_kpis_out_of_the_paired_table(tmp_path, capsys) -> None:
    argv = [*RUN, "--policy", "rule_based,random", "--tasks", "goal_visit"]
    code, out, err = run_cli([*argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    paired = out.split("paired over", 1)[1]
    assert "deliveries" in paired and "distance_m" in paired
    for kpi in ("cycle_time_p50", "cycle_time_p95", "oldest_open_order_s"):
        assert kpi not in paired


def test_a_sweep_target_on_the_backlog(tmp_path, monkeypatch, capsys) -> None:
    """``open_orders`` is a column of sweep.csv, so it is a target too (not in goal_visit)."""
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", "tiny", "--set", "fleet.robots=2,4", "--seeds", "0,1", "--steps", "60"]
    code, _, err = run_cli([*argv, "--target", "open_orders<=1000", "--out", "o"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "target.json").read_text())["smallest"] == {
        "fleet.robots": 2
    }
    goal_visit = ["--set", "tasks.mode=goal_visit", "--target", "open_orders<=1", "--out", "g"]
    fails_cleanly([*argv, *goal_visit], tmp_path, capsys, "--target: open_orders is undefined")


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("kind", ["navigator", "dispatcher"])
def test_a_damaged_checkpoint_json_is_named_before_a_missing_companion(
    kind, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.json").write_text('{"bad json')
    policy = "cql" if kind == "navigator" else "ppo+rule_based"
    argv = [*RUN, "--policy", policy, "--set", f"policies.{kind}_checkpoint=bad.json"]
    line = fails_cleanly([*argv, "--out", "o"], tmp_path, capsys, "")
    assert "bad.json" in line and "safetensors" not in line


def test_train_dispatcher_says_a_navigator_checkpoint_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "100", "--out", "o", "--navigator", "no.json"]
    fails_cleanly(argv, tmp_path, capsys, "no.json: --navigator: checkpoint file not found")


def test_compare_titles_settings_as_yaml(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    base = [*RUN, "--policy", "rule_based"]
    assert run_cli([*base, "--out", "a"], capsys)[0] == 0
    assert run_cli([*base, "--set", "policies.park_idle=5", "--out", "b"], capsys)[0] == 0
    code, out, err = run_cli(["compare", "a", "b"], capsys)
    assert code == 0, err
    assert "policies.park_idle null → 5.0" in " ".join(out.split())


def test_shadow_without_out_writes_a_new_runs_folder_each_time(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["shadow", "tiny", "--steps", "5", "--candidate", "rule_based"]
    for _ in range(2):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2 and all(
        f.name.split("-", 2)[2].startswith("shadow-tiny") for f in folders
    )
    assert all((f / "shadow.json").is_file() for f in folders)
