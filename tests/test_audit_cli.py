"""The ``warehouse`` command as a whole (audit): shared options behave the same in every
command, and output folders that cannot be written fail before any work, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails_cleanly, run_cli

ROOT = Path(__file__).resolve().parents[1]
CQL = str(ROOT / "agents" / "weights" / "cql.json")
PPO = str(ROOT / "hierarchy" / "weights" / "ppo_dispatcher.json")
#: a one-iteration fine-tuning of the shipped CQL network on tiny, less its --out value
FINETUNE_TINY = ["train-navigator", "--algo", "ppo", "--init", CQL, "--steps", "1"]
FINETUNE_TINY += ["--rollout-steps", "4", "--scenarios", "tiny", "--no-progress", "--out"]
#: a five-step dispatcher training on tiny without warm start, less its --out value
DISPATCHER_TINY = ["train-dispatcher", "tiny", "--steps", "5", "--imitation", "0"]
DISPATCHER_TINY += ["--eval-every", "0", "--no-tensorboard", "--no-progress", "--out"]

#: a folder that exists and where nothing can be made, even by root (Linux)
UNWRITABLE = Path("/proc")
needs_proc = pytest.mark.skipif(not (UNWRITABLE / "self").exists(), reason="needs Linux /proc")


@needs_proc
@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["shadow", "tiny", "--steps", "3", "--out", "OUT"], "--out"),
        (
            [
                *DISPATCHER_TINY,
                "OUT",
            ],
            "--out",
        ),
        (
            [
                *FINETUNE_TINY,
                "OUT",
            ],
            "--out",
        ),
        (["ensemble", CQL, CQL.replace("cql.json", "cql_pibt.json"), "--out", "OUT/e"], "--out"),
        (["view", "tiny", "--headless-frames", "OUT", "--frames", "1"], "--headless-frames"),
        (
            [
                "run",
                "tiny",
                "--policy",
                "rule_based",
                "--steps",
                "3",
                "--seeds",
                "0",
                "--record",
                "OUT.npz",
            ],
            "--record",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    argv: list[str], flag: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``shadow``, ``train-dispatcher``, ``train-navigator``, ``ensemble`` and ``view
    --headless-frames`` ended in a FileNotFoundError/PermissionError traceback, after the whole
    run or training, when the output folder could not be made; ``run --record`` did the same
    after every episode had run (and the run's folder was lost with it)."""
    monkeypatch.chdir(tmp_path)
    target = str(UNWRITABLE / "no_such_folder")
    argv = [a.replace("OUT", target) for a in argv]
    line = fails_cleanly(argv, tmp_path, capsys, f"{target}")
    assert f"{flag}: cannot write into '{UNWRITABLE}'" in line, line


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--collisions", "--collisions: expected a collision mode"),
        ("--dispatcher", "--dispatcher: unknown dispatcher ''"),
        ("--navigator", "--navigator: unknown navigator ''"),
    ],
)
def test_an_empty_part_is_refused_not_ignored(
    flag: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``warehouse run --collisions ""`` (``--dispatcher ""``, ``--navigator ""``) ran the
    scenario's own parts as if the option had not been given; every other command refuses an
    empty collision mode, and an empty name is no part."""
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--policy", "rule_based", "--steps", "3", "--seeds", "0", "--out", "o"]
    fails_cleanly([*argv, flag, ""], tmp_path, capsys, expected)


def test_bench_with_an_empty_scenario_is_refused_not_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``warehouse bench --scenario ""`` timed ``small`` instead (an empty name was taken for
    no name)."""
    import warehouse.bench as bench

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bench, "run_policy_bench", lambda *a, **k: pytest.fail("benchmarked"))
    code, _, err = run_cli(["bench", "--scenario", "", "--steps", "1"], capsys)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err


def test_train_dispatcher_with_an_empty_navigator_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``train-dispatcher --navigator ""`` took the empty name for the current folder, a
    checkpoint path, and ended in a ValueError traceback."""
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--navigator", "", "--steps", "5", "--out", "o"]
    fails_cleanly(argv, tmp_path, capsys, "--navigator: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "tiny", "--steps", "3", "--set", "robots=2,3", "--out", "o", "--policy"],
        ["view", "tiny", "--steps", "3", "--headless-frames", "f", "--policy"],
        ["shadow", "tiny", "--steps", "3", "--out", "o", "--candidate"],
        ["shadow", "tiny", "--steps", "3", "--out", "o", "--incumbent"],
    ],
)
def test_a_one_policy_option_says_it_takes_one(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``sweep --policy rule_based,random`` (``view``, ``shadow``) answered "unknown policy
    'rule_based,random'", as if the list were a misspelt name."""
    monkeypatch.chdir(tmp_path)
    line = fails_cleanly([*argv, "rule_based,random"], tmp_path, capsys, f"{argv[-1]}: ")
    assert "one policy" in line and "unknown" not in line, line


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "tiny", "--steps", "3", "--seeds", "0", "--out", "o", "--policy"],
        ["sweep", "tiny", "--steps", "3", "--seeds", "0", "--out", "o", "--policy"],
        ["view", "tiny", "--steps", "1", "--headless-frames", "f", "--frames", "1", "--policy"],
        ["shadow", "tiny", "--steps", "3", "--out", "o", "--incumbent"],
    ],
)
def test_a_policy_name_reads_the_same_with_spaces_around_it(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``run --policy " rule_based"`` ran rule_based (the list's names are stripped) while
    ``sweep``, ``view`` and ``shadow`` refused the same text as an unknown policy."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*argv, " rule_based "], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "tiny", "--policy", "rule_based", "--out", "o"],
        ["sweep", "tiny", "--out", "o"],
        ["collect", "tiny", "--out", "o"],
        ["shadow", "tiny", "--out", "o"],
        ["view", "tiny", "--headless-frames", "f", "--frames", "1"],
    ],
)
def test_steps_past_the_scenario_bound_are_refused_by_every_command(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """An episode is at most 10,000,000 steps (``episode.steps``): ``run`` and ``sweep`` refused
    ``--steps 10000001`` in one line, ``collect`` and ``shadow`` started the episode and
    ``view`` took it."""
    monkeypatch.chdir(tmp_path)
    expected = "--steps: Input should be less than or equal to 10000000, got 10000001"
    fails_cleanly([*argv, "--steps", "10000001"], tmp_path, capsys, expected)


@pytest.mark.parametrize(
    "argv",
    [
        [
            *DISPATCHER_TINY,
            "o",
        ],
        [
            *FINETUNE_TINY,
            "o",
        ],
    ],
)
def test_a_training_seed_past_64_bits_is_a_usage_error(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """torch seeds its generator from 64 bits: ``--seed 18446744073709551616`` ended in
    "ValueError: Overflow when unpacking long long", a traceback."""
    monkeypatch.chdir(tmp_path)
    fails_cleanly([*argv, "--seed", str(2**64)], tmp_path, capsys, "--seed: ")


@pytest.mark.parametrize("command", [["view", "tiny"], ["replay", "REC"]])
@pytest.mark.parametrize("option", ["--frames", "--every"])
def test_frame_options_without_headless_frames_are_refused(
    command: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``--frames`` and ``--every`` apply only to ``--headless-frames``; in a window they were
    silently ignored."""
    monkeypatch.chdir(tmp_path)
    if command[0] == "replay":
        code, _, err = run_cli(
            ["run", "tiny", "--policy", "rule_based", "--steps", "3", "--seeds", "0",
             "--out", "r", "--record", "rec.npz"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        command = ["replay", "rec.npz"]
    expected = f"{option}: only with --headless-frames"
    fails_cleanly([*command, option, "2"], tmp_path, capsys, expected)


def test_sweep_help_says_set_takes_a_list_of_values() -> None:
    """``warehouse sweep --help`` described ``--set`` as ``run``'s (KEY=VALUE, one value), the
    one option whose values the sweep is about."""
    import typer

    from warehouse.cli.main import _register_commands, app

    _register_commands()
    sweep = typer.main.get_command(app).commands["sweep"]  # type: ignore[attr-defined]
    (option,) = [p for p in sweep.params if p.name == "sets"]
    assert "KEY=V1,V2" in (option.help or ""), option.help


def _readme_command_lines() -> list[str]:
    """Every ``warehouse ...`` line of the README's shell blocks (continuations joined)."""
    import re

    text = (ROOT / "README.md").read_text("utf-8")
    lines, fenced = [], False
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced and line.strip().removeprefix("$ ").startswith("warehouse "):
            lines.append(line.strip().removeprefix("$ "))
    return lines


def test_every_readme_command_line_parses() -> None:
    """A new user pastes these: each names a command and only options it has, with values of
    the right type (nothing is run)."""
    import shlex

    import typer

    from warehouse.cli.main import _register_commands, app

    _register_commands()
    group = typer.main.get_command(app)
    lines = _readme_command_lines()
    assert len(lines) >= 20
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        command = group.commands[argv[0]]  # type: ignore[attr-defined]
        command.make_context(argv[0], argv[1:])  # raises on an unknown option or a bad value


def test_validate_refuses_a_setting_given_twice(tmp_path: Path, capsys) -> None:
    """``validate tiny --set robots=2 --set fleet.robots=3`` said OK for 3 robots, silently
    dropping the first value, where ``run`` (and every other command) refuses the pair."""
    argv = ["validate", "tiny", "--set", "robots=2", "--set", "fleet.robots=3"]
    fails_cleanly(argv, tmp_path, capsys, "--set fleet.robots: given twice (also as 'robots')")


class _FrozenClock:
    """``datetime`` whose ``now`` stays at one second: runs started together."""

    @staticmethod
    def now(tz: object = None) -> object:
        from datetime import datetime, timezone

        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("argv", "kind", "own_file"),
    [
        (["run", "tiny", "--policy", "rule_based", "--steps", "3", "--seeds", "0"], "tiny",
         "kpis.csv"),
        (["shadow", "tiny", "--steps", "3"], "shadow-tiny", "divergences.csv"),
    ],
)  # fmt: skip
def test_two_runs_started_in_the_same_second_keep_both_outputs(
    argv: list[str],
    kind: str,
    own_file: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    """Without ``--out`` a run writes into ``runs/STAMP-SCENARIO``, chosen when it starts. A
    second run started in the same second chose the same folder: ``run`` then failed after all
    its episodes ("written there meanwhile by another run"), its output lost; ``shadow``
    overwrote the first one's files. Now the one that finishes second takes ``STAMP-…-2``, as
    ``sweep`` does."""
    import hierarchy.shadow
    import warehouse.cli.checks as checks
    import warehouse.runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checks, "datetime", _FrozenClock)
    first = Path("runs") / f"20300102-030405-{kind}"

    def finish_first(original):  # the other run finishes while this one runs
        def wrapped(*args, **kwargs):
            result = original(*args, **kwargs)
            first.mkdir(parents=True)
            (first / "report.json").write_text("{}")
            (first / "shadow.json").write_text("{}")
            return result

        return wrapped

    monkeypatch.setattr(
        warehouse.runner, "run_experiment", finish_first(warehouse.runner.run_experiment)
    )
    monkeypatch.setattr(hierarchy.shadow, "run_shadow", finish_first(hierarchy.shadow.run_shadow))
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    second = first.with_name(first.name + "-2")
    assert sorted(p.name for p in first.iterdir()) == ["report.json", "shadow.json"]
    assert (second / own_file).is_file() and str(second) in out


def test_a_default_folder_that_fails_while_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The default folder is made before the files are written (so that of two runs ending
    together only one gets it): a failure then removes it and ``runs/`` again."""
    import warehouse.report
    from warehouse.errors import InputError

    def fail(*args: object, **kwargs: object) -> None:
        raise InputError(None, "disk", "full")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(warehouse.report, "write_outputs", fail)
    argv = ["run", "tiny", "--policy", "rule_based", "--steps", "3", "--seeds", "0"]
    fails_cleanly(argv, tmp_path, capsys, "disk: full")
