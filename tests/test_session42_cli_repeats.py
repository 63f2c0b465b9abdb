"""An option that takes one value, given twice, is a one-line error in every command.

click keeps the last value and silently drops the others: ``warehouse run tiny --steps 10 --steps
20`` ran 20 steps. Now every command refuses it (exit 2, one line naming the option, nothing
written), and an on/off flag given both ways (``--resume --no-resume``) too. Options meant to
repeat (``--set``, ``--target``) and a flag repeated the same way keep working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import fails_cleanly, run_cli


def _commands() -> dict[str, Any]:
    import typer

    from warehouse.cli.main import _register_commands, app

    _register_commands()
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _options(kind: str) -> list[tuple[str, str]]:
    """``(command, spelling)`` of every option of one value (``kind="value"``) or every on/off
    flag (``kind="on_off"``, its on spelling) of every command."""
    out = []
    for name, command in sorted(_commands().items()):
        for param in command.params:
            if param.param_type_name != "option":
                continue
            if kind == "value" and not (param.is_flag or param.multiple or param.count):
                out += [(name, spelling) for spelling in param.opts]  # (short aliases too)
            elif kind == "on_off" and param.is_flag and param.secondary_opts:
                out.append((name, param.opts[0]))
    return out


@pytest.mark.parametrize(("command", "option"), _options("value"))
def test_every_one_value_option_given_twice_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    option: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    fails_cleanly([command, option, "1", option, "2"], tmp_path, capsys, f"{option}: given twice")
    # the --opt=value spelling counts the same, and three times says so
    three = [command, f"{option}=1", option, "2", f"{option}=3"]
    assert fails_cleanly(three, tmp_path, capsys, option) == f"error: {option}: given 3 times"


@pytest.mark.parametrize(("command", "option"), _options("on_off"))
def test_an_on_off_flag_given_both_ways_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    option: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    off = f"--no-{option.removeprefix('--')}"
    line = fails_cleanly([command, off, option], tmp_path, capsys, option)
    assert line == f"error: {option}: given as {option} and {off}"


def test_the_commands_the_task_names_are_checked() -> None:
    """(The parametrized tests cover these commands' options of one value.)"""
    checked = {command for command, _ in _options("value")}
    for command in ("run", "sweep", "bench", "view", "shadow", "collect"):
        assert command in checked
    assert {"train-dispatcher", "train-navigator", "replay"} <= checked


def test_a_run_given_steps_twice_writes_nothing_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--steps", "10", "--steps=20", "--out", "out", "--seeds", "0"]
    assert fails_cleanly(argv, tmp_path, capsys, "--steps") == "error: --steps: given twice"
    assert not (tmp_path / "out").exists()


def test_repeating_options_and_flags_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["run", "tiny", "--steps", "3", "--seeds", "0", "--out", "out", "--policy", "random"]
    sets = ["--set", "fleet.robots=2", "--set", "episode.stop_when_solved=false"]
    code, _, err = run_cli(
        [*argv, *sets, "--record", "r.npz", "--no-record-preferences", "--no-record-preferences"],
        capsys,
    )
    assert code == 0, err
    code, out, err = run_cli(["validate", "--schema", "--schema"], capsys)
    assert code == 0 and "fleet.robots" in out, err


def test_help_is_still_shown_with_a_repeated_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["run", "--steps", "1", "--steps", "2", "--help"], capsys)
    assert code == 0 and "Usage:" in out and "run [OPTIONS]" in out
