"""New-user QA of the ``warehouse`` command: bad input to every command ends as one line and
exit code 2 with nothing written, options are not silently ignored, outputs are as announced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import TINY, TINY_LAYOUT, fails_cleanly, given_once, run_cli

# ------------------------------------------------------------------------------------ sweep
SWEEP = ["sweep", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "5"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--set", "fleet.robots=2", "--steps", "0"], "--steps: "),
        (["--set", "fleet.robots=2", "--seeds", "-1"], "--seeds: seeds must be"),
        (["--set", "episode.steps=5,10"], "--set episode.steps: cannot be swept"),
        (["--set", "episode.seeds=[1],[2]"], "--set episode.seeds: cannot be swept"),
        (["--set", "fleet.robots=2,2"], "--set fleet.robots: values repeat"),
        (["--set", "policies.navigator=rule_based,random"], "--set policies.navigator: "),
    ],
)
def test_sweep_rejects_ignored_or_bad_settings(extra, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fails_cleanly([*given_once(SWEEP, extra), "--out", "o"], tmp_path, capsys, expected)


def test_sweep_table_shows_list_values(tmp_path: Path, capsys) -> None:
    """Swept values such as ``[north]`` are printed as text (rich would take them for markup)."""
    argv = [*SWEEP, "--set", "layout.station_walls=[west],[north]", "--out", str(tmp_path / "o")]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "[west]" in out and "[north]" in out


# -------------------------------------------------------------------------------------- run
def test_run_names_every_file_it_writes(tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "o"
    argv = ["run", "tiny", "--policy", "rule_based", "--seeds", "0", "--steps", "5"]
    code, out, err = run_cli([*argv, "--out", str(out_dir)], capsys)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("wrote "))
    named = set(line.split("(", 1)[1].rstrip(")").split(", "))
    assert named == {p.name for p in out_dir.iterdir()}


def test_set_layout_type_drops_the_old_layout_settings(tmp_path, monkeypatch, capsys) -> None:
    """``--set layout.type=ascii`` on a generator floor names what is missing, not the
    generator settings that no longer apply."""
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--policy", "rule_based", "--set", "layout.type=ascii", "--out", "o"]
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert err.strip() == f"error: {TINY}: layout.map: Field required"
    assert list(tmp_path.iterdir()) == []
    # ... and the new kind's settings can follow.
    argv[4:4] = ["--set", "layout.map=S..p", "--set", "fleet.robots=2", "--steps", "3"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "map: S..p" in (tmp_path / "o" / "scenario.yaml").read_text("utf-8")


def test_run_refuses_a_policy_set_that_policy_overrides(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--policy", "rule_based", "--set", "policies.navigator=random"]
    expected = "--set policies.navigator: --policy picks"
    fails_cleanly([*argv, "--out", "o"], tmp_path, capsys, expected)


# ------------------------------------------------------------- checkpoints nobody would load
SHIPPED_CQL = Path(__file__).resolve().parents[1] / "agents" / "weights" / "cql.json"
SHIPPED_PPO = SHIPPED_CQL.parents[2] / "hierarchy" / "weights" / "ppo_dispatcher.json"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["run", "tiny", "--policy", "rule_based", "--set",
             f"policies.navigator_checkpoint={SHIPPED_CQL}"],
            "--set policies.navigator_checkpoint: no navigator of this run loads a "
            "checkpoint (rule_based); those that do: bc, bc_sampled, cql,",
        ),
        (
            ["run", "tiny", "--policy", "rule_based,random", "--set",
             f"policies.dispatcher_checkpoint={SHIPPED_PPO}"],
            "--set policies.dispatcher_checkpoint: no dispatcher of this run loads a "
            "checkpoint (greedy, random); those that do: ppo",
        ),
        (
            ["sweep", "tiny", "--policy", "rule_based", "--set", "fleet.robots=2,3", "--set",
             f"policies.navigator_checkpoint={SHIPPED_CQL}"],
            "--set policies.navigator_checkpoint: no navigator",
        ),
        (  # the hierarchy's navigator runs its three shipped networks
            ["run", "tiny", "--policy", "hierarchical", "--set",
             f"policies.navigator_checkpoint={SHIPPED_CQL}"],
            "--set policies.navigator_checkpoint: no navigator of this run loads a "
            "checkpoint (cql_tuned)",
        ),
    ],
)  # fmt: skip
def test_a_checkpoint_no_policy_loads_is_refused(argv, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fails_cleanly([*argv, "--seeds", "0", "--steps", "3", "--out", "o"], tmp_path, capsys, expected)


def test_a_checkpoint_goes_to_the_policies_that_load_it(tmp_path, monkeypatch, capsys) -> None:
    """Comparing ``cql`` with ``rule_based`` under another CQL checkpoint: the learned
    navigator loads it, the rule-based one runs without it."""
    from scenarios import apply_overrides, load_scenario
    from warehouse.policies import PolicySpec, build_policy

    sc, source = load_scenario("tiny")
    sc = apply_overrides(sc, {"policies.navigator_checkpoint": str(SHIPPED_CQL)}, source)
    _, rule = build_policy(PolicySpec("rule_based", "greedy", "rule_based"), sc, source)
    _, learned = build_policy(PolicySpec("cql", "greedy", "cql"), sc, source)
    assert type(rule).__name__ == "RuleBasedNavigator"
    assert Path(learned.scorer.source).resolve() == SHIPPED_CQL.resolve()
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--policy", "rule_based,cql", "--seeds", "0", "--steps", "3",
            "--set", f"policies.navigator_checkpoint={SHIPPED_CQL}", "--out", "o"]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text("utf-8"))
    assert [r["policy"] for r in report["runs"]] == ["rule_based", "cql"]


def test_shadow_gives_a_scenario_checkpoint_to_the_parts_that_load_it(tmp_path, capsys) -> None:
    """``warehouse shadow`` on a scenario file with ``policies.navigator_checkpoint``: the
    candidate ``cql`` loads it (a missing file is reported, not replaced by the shipped
    weights); with only rule-based parts it is refused."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"{TINY_LAYOUT}policies: {{navigator_checkpoint: gone.json}}\n", "utf-8")
    argv = ["shadow", str(scenario), "--steps", "3", "--out", str(tmp_path / "o")]
    gone = tmp_path / "gone.json"  # next to the scenario file
    fails_cleanly([*argv, "--candidate", "greedy+cql"], tmp_path, capsys, f"{gone}: ")
    fails_cleanly(
        [*argv, "--candidate", "rule_based"],
        tmp_path,
        capsys,
        f"{scenario}: policies.navigator_checkpoint: no navigator of this run loads a checkpoint",
    )
    scenario.write_text(
        f"{TINY_LAYOUT}policies: {{navigator_checkpoint: {SHIPPED_CQL}}}\n", "utf-8"
    )
    code, out, err = run_cli([*argv, "--candidate", "greedy+cql"], capsys)
    assert code == 0, err
    assert "navigation: agreement" in out


def test_shadow_set_gives_the_candidate_another_dispatcher(tmp_path, monkeypatch, capsys):
    """``warehouse shadow --set policies.dispatcher_checkpoint=...``: the candidate's PPO
    dispatcher runs that policy (its confidence margins differ from the shipped policy's); a
    missing file and an unknown setting are one-line errors, and nothing is written."""
    import torch

    from hierarchy.checkpoint import save_policy
    from hierarchy.features import FeatureConfig
    from hierarchy.network import CandidateScorer, NetConfig

    torch.manual_seed(3)
    other = save_policy(
        tmp_path / "other", CandidateScorer(NetConfig(hidden=8)), FeatureConfig(), 10
    )
    argv = ["shadow", "tiny", "--steps", "40", "--candidate", "ppo+rule_based"]
    margins = []
    for extra, out in (([], "a"), (["--set", f"policies.dispatcher_checkpoint={other}"], "b")):
        code, _, err = run_cli([*argv, *extra, "--out", str(tmp_path / out)], capsys)
        assert code == 0, err
        report = json.loads((tmp_path / out / "shadow.json").read_text("utf-8"))
        margins.append(report["dispatch"]["mean_margin"])
    assert margins[0] != margins[1]
    monkeypatch.chdir(tmp_path)  # relative paths below; the built-in is shown absolute
    fails_cleanly(
        [*argv, "--set", "policies.dispatcher_checkpoint=gone.json", "--out", "c"],
        tmp_path, capsys, "gone.json: policy file not found",
    )  # fmt: skip
    fails_cleanly(
        [*argv, "--set", "fleet.robotz=3", "--out", "d"],
        tmp_path,
        capsys,
        "--set fleet.robotz: unknown setting",
    )


# --------------------------------------------------------------------------------- validate
@pytest.mark.parametrize(
    ("policies", "file", "expected"),
    [
        ("{navigator: nope}", "s.yaml", "policies.navigator: unknown navigator 'nope'"),
        ("{dispatcher: nope}", "s.yaml", "policies.dispatcher: unknown dispatcher 'nope'"),
        ("{navigator: cql, navigator_checkpoint: gone.json}", "gone.json", ""),
        (
            "{navigator: rule_based, navigator_checkpoint: x.json}",
            "s.yaml",
            "policies.navigator_checkpoint: no navigator of this run loads",
        ),
    ],
)
def test_validate_checks_the_policies_section(policies, file, expected, tmp_path, capsys):
    """``FILE: EXPECTED``, FILE (in ``tmp_path``, given absolute) shown as it was given."""
    (tmp_path / "s.yaml").write_text(f"{TINY_LAYOUT}policies: {policies}\n", "utf-8")
    expected = f"{tmp_path / file}: {expected}"
    fails_cleanly(["validate", str(tmp_path / "s.yaml")], tmp_path, capsys, expected)


def test_map_path_that_is_a_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "s.yaml").write_text("layout: {type: file, path: maps}\n", "utf-8")
    expected = f"{tmp_path / 's.yaml'}: layout.path: 'maps' is a folder, expected a map file"
    fails_cleanly(["validate", str(tmp_path / "s.yaml")], tmp_path, capsys, expected)


# ---------------------------------------------------------------------------------- collect
COLLECT = ["collect", "tiny", "--steps", "4", "--out", "d"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--seeds", "-1"], "--seeds: seeds must be ≥ 0"),
        (["--seeds", "1,1"], "--seeds: seeds repeat"),
        (["--seeds", "1,2", "--episodes", "3"], "--seeds: 2 seed(s) for 3 episode(s)"),
        (["--behavior", "nope"], "--behavior: unknown navigator 'nope'"),
        (
            ["--collisions", "bounce"],
            "--collisions: expected a collision mode: physical, block, pibt, pibt_swap, "
            "pibt_lacam, got 'bounce'",
        ),
        (["--intent", "--set", "observation.radius=0"], "observation.radius: "),
    ],
)
def test_collect_bad_options(extra, expected, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    fails_cleanly([*COLLECT, *extra], tmp_path, capsys, expected)


def test_collect_out_is_a_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").write_text("a file", "utf-8")
    fails_cleanly(COLLECT, tmp_path, capsys, "d: --out: exists and is not a folder")


def test_collect_seed_range_sets_the_episodes(tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "d"
    code, _, err = run_cli([*COLLECT[:-1], str(out_dir), "--seeds", "3..5"], capsys)
    assert code == 0, err
    manifest = json.loads((out_dir / "manifest.json").read_text("utf-8"))
    assert manifest["seeds"] == [3, 4, 5]
    assert manifest["n_transitions"] == 3 * 4 * 6  # episodes x steps x robots


# -------------------------------------------------------------------------- train-navigator
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--algo", "cql", "--data", "nodata"], "nodata: --data: no such dataset folder"),
        (["--algo", "cql", "--data", ".", "--hidden", "0"], "--hidden: expected positive"),
        (["--algo", "bc", "--data", ".", "--hidden", ","], "--hidden: expected positive"),
        (["--algo", "cql", "--data", ".", "--encoder", "rnn"], "--encoder: expected mlp or conv"),
        (["--algo", "cql", "--data", ".", "--init", "m.json"], "--init: does not apply"),
        (["--algo", "ppo", "--init", "m.json", "--data", "."], "--data: does not apply"),
        (["--algo", "cql", "--data", ".", "--eval-scenario", "nope"], "nope: no such built-in"),
        (["--algo", "ppo", "--init", "m.json", "--eval-scenario", "nope"], "nope: no such"),
        (["--algo", "ppo", "--init", "m.json", "--device", "cuda"], "--device: --algo ppo"),
    ],
)
def test_train_navigator_bad_options(extra, expected, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["train-navigator", "--steps", "1", "--out", "run", "--no-progress", *extra]
    fails_cleanly(argv, tmp_path, capsys, expected)


@pytest.mark.parametrize("algo", ["cql", "ppo"])
def test_train_navigator_out_is_a_file(algo: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").write_text("not a folder", "utf-8")
    source = ["--data", "."] if algo == "cql" else ["--init", "m.json"]
    argv = ["train-navigator", "--algo", algo, "--steps", "1", "--out", "run", *source]
    fails_cleanly(argv, tmp_path, capsys, "run: --out: exists and is not a folder")


def test_train_navigator_resume_past_steps_says_so(tmp_path: Path, capsys) -> None:
    data, run = tmp_path / "d", tmp_path / "run"
    assert run_cli(["collect", "tiny", "--steps", "4", "--out", str(data)], capsys)[0] == 0
    argv = ["train-navigator", "--algo", "bc", "--data", str(data), "--out", str(run)]
    argv += ["--batch-size", "8", "--ckpt-every", "1", "--no-progress"]
    assert run_cli([*argv, "--steps", "2"], capsys)[0] == 0
    code, out, err = run_cli([*argv, "--steps", "1", "--resume"], capsys)
    assert code == 0, err
    assert "step 2: nothing to train (--steps 1)" in out


# ------------------------------------------------------------------- train-dispatcher, shadow
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["nope"], "nope: no such built-in scenario or file"),
        (["tiny", "--navigator", "nope"], "--navigator: unknown navigator 'nope'"),
        (["tiny", "--eval-seeds", "-1"], "--eval-seeds: seeds must be ≥ 0"),
    ],
)
def test_train_dispatcher_bad_input_writes_nothing(extra, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "--steps", "50", "--out", "run", "--no-tensorboard", *extra]
    fails_cleanly(argv, tmp_path, capsys, expected)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # (the message `run --policy` gives for the name, session 42)
        (
            ["--candidate", "nope+rule_based"],
            "--candidate: 'nope+rule_based': unknown dispatcher 'nope'",
        ),
        (["--candidate", "greedy+nope"], "--candidate: 'greedy+nope': unknown navigator 'nope'"),
        (["--incumbent", "nope"], "--incumbent: unknown policy 'nope'"),
    ],
)
def test_shadow_bad_policy_names_its_option(extra, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    fails_cleanly(
        ["shadow", "tiny", "--steps", "5", "--out", "sh", *extra], tmp_path, capsys, expected
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["train-dispatcher", "tiny", "--steps", "50", "--out", "o"],
        ["shadow", "tiny", "--steps", "5", "--out", "o"],
        ["train-navigator", "--algo", "ppo", "--init", "m.json", "--steps", "1", "--out", "o"],
    ],
)
def test_out_that_is_a_file(argv: list[str], tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o").write_text("a file", "utf-8")
    fails_cleanly(argv, tmp_path, capsys, "o: --out: exists and is not a folder")


@pytest.mark.parametrize(
    "argv",
    [
        ["shadow", "tiny", "--steps", "5", "--out", "o"],
        ["train-dispatcher", "tiny", "--steps", "50", "--out", "o"],
        ["train-navigator", "--algo", "cql", "--data", ".", "--steps", "1", "--out", "o"],
        ["view", "tiny", "--headless-frames", "o"],
        ["bench", "--robots", "5", "--steps", "1"],
    ],
)
def test_negative_seed_is_a_usage_error(argv: list[str], tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli([*argv, "--seed", "-1"], capsys)
    assert code == 2
    assert "--seed" in err and "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------------- bench, view
def test_bench_checks_out_before_running(tmp_path, monkeypatch, capsys) -> None:
    import warehouse.bench

    def must_not_run(*args, **kwargs):
        raise AssertionError("the benchmark ran before --out was checked")

    monkeypatch.setattr(warehouse.bench, "run_bench", must_not_run)
    argv = ["bench", "--robots", "5", "--steps", "1", "--out", str(tmp_path / "no" / "b.json")]
    fails_cleanly(argv, tmp_path, capsys, f"{tmp_path / 'no' / 'b.json'}: --out: ")


def test_headless_frames_stop_at_the_end_of_the_run(tmp_path, monkeypatch, capsys) -> None:
    pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    frames = tmp_path / "frames"
    argv = ["view", "tiny", "--policy", "rule_based", "--steps", "4", "--every", "2"]
    code, out, err = run_cli([*argv, "--frames", "10", "--headless-frames", str(frames)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in frames.iterdir()) == [f"frame_000{i}.png" for i in range(3)]
    assert "wrote 3 frame(s)" in out and "ends at step 4" in out


def test_set_checkpoint_path_is_relative_to_the_current_folder(tmp_path, monkeypatch, capsys):
    """README: ``warehouse run faults --policy cql_ft --set policies.navigator_checkpoint=
    runs/ft/model.json``; a built-in target must not resolve it next to its own YAML file."""
    import shutil

    import agents

    weights = Path(agents.__file__).resolve().parent / "weights"
    (tmp_path / "runs").mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(weights / f"cql{suffix}", tmp_path / "runs" / f"model{suffix}")
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--policy", "cql_ft", "--seeds", "0", "--steps", "3", "--out", "o"]
    code, _, err = run_cli(
        [*argv, "--set", "policies.navigator_checkpoint=runs/model.json"], capsys
    )
    assert code == 0, err
    effective = (tmp_path / "o" / "scenario.yaml").read_text("utf-8")
    assert f"navigator_checkpoint: {tmp_path / 'runs' / 'model.json'}" in effective


def test_train_dispatcher_resume_refuses_other_settings(tmp_path, monkeypatch, capsys) -> None:
    """--resume continues with the run's saved settings: changing one is an error, not ignored."""
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "40", "--out", "run", "--no-tensorboard"]
    argv += ["--envs", "1", "--horizon", "20", "--imitation", "0", "--eval-every", "0"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    resume = ["train-dispatcher", "tiny", "--steps", "80", "--out", "run", "--resume"]
    fails_cleanly([*resume, "--envs", "2"], tmp_path, capsys, "--envs: the resumed run keeps 1")
    fails_cleanly([*resume[:1], "small", *resume[2:]], tmp_path, capsys, "TARGET: the run in")
    # The same command again with --resume (the same settings) continues the run.
    code, _, err = run_cli([*argv[:3], "80", *argv[4:], "--resume"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["run", "tiny", "--steps", "3", "--out", "f/o"], "--out"),
        (["sweep", "tiny", "--steps", "3", "--out", "f/o"], "--out"),
        (["collect", "tiny", "--steps", "3", "--out", "f/o"], "--out"),
        (
            ["train-navigator", "--algo", "bc", "--data", ".", "--steps", "1", "--out", "f/o"],
            "--out",
        ),
        (["shadow", "tiny", "--steps", "3", "--out", "f/o"], "--out"),
        (["train-dispatcher", "tiny", "--steps", "40", "--out", "f/o"], "--out"),
        (["view", "tiny", "--headless-frames", "f/o"], "--headless-frames"),
        (["run", "tiny", "--steps", "3", "--out", "o", "--record", "f/r.npz"], "--record"),
        (["bench", "--robots", "5", "--steps", "1", "--out", "f/b.json"], "--out"),
    ],
)
def test_output_inside_a_file(argv: list[str], flag: str, tmp_path, monkeypatch, capsys) -> None:
    """An output path below an existing file is bad input (it used to end in a traceback)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("a file", "utf-8")
    given = argv[argv.index(flag) + 1]  # relative, e.g. f/o: shown as given
    fails_cleanly(argv, tmp_path, capsys, f"{given}: {flag}: ")


# ------------------------------------------------------------------------------------ seeds
@pytest.mark.parametrize(
    ("text", "seeds"),
    [("3", [3]), ("0..3", [0, 1, 2, 3]), ("0..2, 7", [0, 1, 2, 7]), ("5 .. 5", [5])],
)
def test_seed_lists(text: str, seeds: list[int]) -> None:
    from warehouse.runner import parse_seeds

    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3..1", "bad range '3..1' (want LO..HI, LO ≤ HI)"),
        ("0..20000", "range '0..20000' has more than 10000 seeds"),
        ("0..9999,10000", "10001 seeds; at most 10000"),
        ("1,2,1", "seeds repeat"),
        ("1;2", "cannot parse '1;2'"),
    ],
)
def test_seed_list_errors_say_what_is_wrong(text: str, message: str) -> None:
    from warehouse.errors import InputError
    from warehouse.runner import parse_seeds

    with pytest.raises(InputError) as err:
        parse_seeds(text)
    assert err.value.field == "--seeds"
    assert message in err.value.message


def test_checkpoint_fields_name_the_parts_that_load_them() -> None:
    """The schema (and so the README table) lists exactly the parts that load a checkpoint."""
    import re

    from agents import CHECKPOINT_NAVIGATORS
    from hierarchy import CHECKPOINT_DISPATCHERS
    from scenarios.schema import PoliciesConfig

    fields = PoliciesConfig.model_fields
    for field, names in (
        ("navigator_checkpoint", CHECKPOINT_NAVIGATORS),
        ("dispatcher_checkpoint", CHECKPOINT_DISPATCHERS),
    ):
        listed = re.search(
            r"(?:\(([a-z_, ]+)\)|The (\w+) dispatcher) load", fields[field].description
        )
        assert listed is not None, fields[field].description
        assert set(re.split(r",\s*", listed.group(1) or listed.group(2))) == set(names)


def _words(text: str) -> list[str]:
    """The words of a help text, without the box drawing and the backticks markdown eats."""
    import re

    return re.findall(r"[^\s│╭╮╰╯─`]+", text.replace("`", ""))


def test_help_shows_every_word_of_each_command_and_option(capsys, monkeypatch) -> None:
    """Help text is markdown: ``[north,south]`` in a docstring used to vanish as a rich markup
    tag. Each command's docstring and each option's help appear in its ``--help`` word for word.
    """
    import typer

    from warehouse.cli.main import _register_commands, app

    monkeypatch.setenv("COLUMNS", "200")
    _register_commands()
    group = typer.main.get_group(app)
    assert group.commands, "no commands registered"
    for name, command in group.commands.items():
        code, out, _ = run_cli([name, "--help"], capsys)
        assert code == 0, name
        shown = " ".join(_words(out))
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        for text in texts:
            words = " ".join(_words(text))
            assert words in shown, (name, words)


def test_top_level_help_groups_the_commands_in_the_flow_of_work(capsys) -> None:
    """Every command has a panel of its own in ``warehouse --help`` (none falls into "Other"),
    and the panels and commands come in the order of HELP_PANELS."""
    from warehouse.cli.main import HELP_PANELS, _register_commands, app

    _register_commands()
    registered = [c.name for c in app.registered_commands]
    listed = [name for names in HELP_PANELS.values() for name in names]
    assert registered == listed
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    where = [out.index(f"─ {panel} ─") for panel in HELP_PANELS]
    assert where == sorted(where)
    commands = [out.index(f"│ {name} ") for name in listed]
    assert commands == sorted(commands)
